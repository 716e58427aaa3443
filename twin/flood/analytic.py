"""Analytical solutions the flood model is checked against (see tests/validation).

Each returns depths (m) for positions ``x`` (m) at time ``t`` (s); ``g`` is
:data:`twin.flood.kernels.G`.
"""

from __future__ import annotations

import numpy as np

from twin.flood.kernels import G


def ritter(x: np.ndarray, t: float, h0: float, x_dam: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Dam break on a dry, flat, frictionless bed (Ritter 1892).

    Still water of depth ``h0`` fills ``x < x_dam`` at ``t = 0``. With ``c0 = sqrt(g h0)``
    and ``s = (x - x_dam) / t``::

        h = h0,                       u = 0                  for s <= -c0
        h = (2 c0 - s)^2 / (9 g),     u = 2 / 3 (s + c0)     for -c0 < s < 2 c0
        h = 0,                        u = 0                  for s >= 2 c0

    The front runs at ``2 c0`` with infinite Froude number; at the dam ``h = 4/9 h0``.

    Returns
    -------
    h, u : ndarray
        Depth (m) and velocity (m/s).
    """
    x = np.asarray(x, dtype=np.float64)
    c0 = np.sqrt(G * h0)
    s = (x - x_dam) / t
    h = np.where(s <= -c0, h0, np.where(s >= 2 * c0, 0.0, (2 * c0 - s) ** 2 / (9 * G)))
    u = np.where((s > -c0) & (s < 2 * c0), 2.0 / 3.0 * (s + c0), 0.0)
    return h, u


def hunter_wavefront(x: np.ndarray, t: float, u: float, n: float) -> np.ndarray:
    """Wave front advancing at constant speed over a flat, frictional, dry plane.

    Hunter et al. (2005, Adv. Water Resour. 28) for the diffusion wave, used by Bates et
    al. (2010) and de Almeida et al. (2012) to test the local inertial scheme: with a
    depth ``h(0, t)`` imposed upstream so that the front moves at ``u``::

        h(x, t) = (7/3 n^2 u^2 (u t - x))^(3/7)   for x < u t, else 0

    (the integration constant of the original is 0: the front starts at ``x = 0``).
    """
    x = np.asarray(x, dtype=np.float64)
    behind = np.maximum(u * t - x, 0.0)
    return (7.0 / 3.0 * n * n * u * u * behind) ** (3.0 / 7.0)


def normal_depth(q: float, n: float, slope: float) -> float:
    """Manning's normal depth (m) of a wide sheet carrying ``q`` (m2/s) down ``slope``:
    ``q = h^(5/3) sqrt(S) / n``, so ``h = (n q / sqrt(S))^(3/5)``."""
    return float((n * q / np.sqrt(slope)) ** 0.6)
