"""Per-face set-up of the flood grid: which faces are open, closed or boundaries, their
friction, and the lowest sea cell beside land (helpers of :class:`~twin.flood.model.FloodModel`).
"""

from __future__ import annotations

import math

import numpy as np

from twin.errors import Problem, UserInputError
from twin.flood import kernels
from twin.flood.kernels import BLOCKED, CLOSED, INTERIOR, LAND, OPEN, SEA


def face_kinds(kind: np.ndarray, edges: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Kinds of the x faces ``(ny, nx + 1)`` and y faces ``(ny + 1, nx)``.

    Interior faces between two non-blocked cells are INTERIOR unless both are sea; map
    edges next to land are OPEN or CLOSED as ``edges`` says.
    """
    ny, nx = kind.shape
    ok = kind != BLOCKED
    sea = kind == SEA
    kx = np.full((ny, nx + 1), CLOSED, np.uint8)
    ky = np.full((ny + 1, nx), CLOSED, np.uint8)
    kx[:, 1:-1] = np.where(ok[:, :-1] & ok[:, 1:] & ~(sea[:, :-1] & sea[:, 1:]), INTERIOR, CLOSED)
    ky[1:-1, :] = np.where(ok[:-1, :] & ok[1:, :] & ~(sea[:-1, :] & sea[1:, :]), INTERIOR, CLOSED)
    land = kind == LAND
    for name, faces, cells in (
        ("west", kx[:, 0], land[:, 0]),
        ("east", kx[:, -1], land[:, -1]),
        ("north", ky[0, :], land[0, :]),
        ("south", ky[-1, :], land[-1, :]),
    ):
        if edges[name] == "open":
            faces[cells] = OPEN
    return kx, ky


def face_friction(manning, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``g n^2`` on x and y faces; a face takes the mean n of its two cells."""
    ny, nx = shape
    n = np.broadcast_to(np.asarray(manning, np.float64), shape)
    if np.ndim(manning) not in (0, 2) or np.shape(manning) not in ((), shape):
        raise UserInputError(
            Problem(
                f"Manning's n must be a scalar or a {shape} array, got shape {np.shape(manning)}",
                field="flood.manning",
            )
        )
    nx_f = np.empty((ny, nx + 1))
    nx_f[:, 1:-1] = 0.5 * (n[:, :-1] + n[:, 1:])
    nx_f[:, 0], nx_f[:, -1] = n[:, 0], n[:, -1]
    ny_f = np.empty((ny + 1, nx))
    ny_f[1:-1, :] = 0.5 * (n[:-1, :] + n[1:, :])
    ny_f[0, :], ny_f[-1, :] = n[0, :], n[-1, :]
    return kernels.G * nx_f**2, kernels.G * ny_f**2


def coastal_sea_min_z(z: np.ndarray, kind: np.ndarray) -> float:
    """Lowest bed (m) among sea cells next to land (+inf without any): sets the sea's
    contribution to ``h_max`` in the time step."""
    sea = kind == SEA
    land = kind == LAND
    near = np.zeros_like(sea)
    near[1:, :] |= land[:-1, :]
    near[:-1, :] |= land[1:, :]
    near[:, 1:] |= land[:, :-1]
    near[:, :-1] |= land[:, 1:]
    coast = sea & near
    return float(z[coast].min()) if coast.any() else math.inf
