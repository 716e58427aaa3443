"""Where walkers go: the nearest destination with room within a walking-distance limit, and
the memory a crowd of a given size needs (checked before anything is allocated).

Pure functions on arrays; :class:`~twin.crowd.CrowdModel` calls them when people depart,
find their destination full, or lose their route.
"""

from __future__ import annotations

import os

import numpy as np

from twin.errors import Problem, UserInputError

NO_REASON, NO_ROUTE, DESTINATIONS_FULL, OUT_OF_RANGE = 0, 1, 2, 3
"""Why a person could not be given a destination (the model's ``reason`` codes)."""

STUCK_REASONS = {
    NO_ROUTE: "no open route to any destination",
    DESTINATIONS_FULL: "every destination is full",
    OUT_OF_RANGE: "no destination with room within the walking-distance limit",
}
"""Words for each reason, as printed and written in the KPIs."""

BYTES_PER_PERSON = 2 * 1 + 12 * 8
"""Bytes of the per-person state arrays (2 int8 and 12 8-byte arrays of the model)."""
WORKING_FACTOR = 4.0
"""Peak use as a multiple of the state: growing the arrays copies them, and a step holds
temporaries (candidates, routes, speeds) of about the same size again."""


def choose(
    allowed: np.ndarray,
    cost: np.ndarray,
    distance: np.ndarray | None,
    limit: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The destination of least cost for each person, among those allowed and within reach.

    Parameters
    ----------
    allowed
        ``allowed[d, i]``: destination ``d`` is of person ``i``'s group and has room,
        shape ``(n_dest, n)``.
    cost
        Walking time from each person to each destination (s; inf: no route), same shape.
    distance
        Walking distance on open links (m; inf: no route), same shape; None when no limit
        applies.
    limit
        Most walking distance each person may be sent (m; inf: no limit), shape ``(n,)``.

    Returns
    -------
    best, found, reason
        Chosen destination index (meaningful where ``found``), whether one was found, and
        for the others why not: :data:`DESTINATIONS_FULL` (none of the group has room),
        :data:`NO_ROUTE` (none with room is reachable) or :data:`OUT_OF_RANGE` (some are
        reachable, all farther than the limit).
    """
    n = allowed.shape[1]
    reach = allowed & np.isfinite(cost)
    ok = reach if distance is None else reach & (distance <= limit[None, :])
    if allowed.shape[0] == 0:
        zero = np.zeros(n, dtype=np.int64)
        return zero, np.zeros(n, dtype=bool), np.full(n, DESTINATIONS_FULL, dtype=np.int8)
    best = np.argmin(np.where(ok, cost, np.inf), axis=0)
    found = ok.any(axis=0)
    reason = np.where(
        ~allowed.any(axis=0),
        DESTINATIONS_FULL,
        np.where(reach.any(axis=0), OUT_OF_RANGE, NO_ROUTE),
    ).astype(np.int8)
    reason[found] = NO_REASON
    return best, found, reason


def memory_limit() -> int:
    """Most bytes a crowd run may plan to use: half the machine's physical memory (the rest
    is left to the city pack, other models and the system)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume 8 GiB
        total = 8 * 2**30
    return int(total // 2)


def memory_estimate(people: float, n_links: int, n_nodes: int, n_targets: int) -> float:
    """Bytes a model of ``people`` walkers needs at its peak (see :data:`WORKING_FACTOR`):
    per-person state, per-link arrays and the route tables (two ``n_targets x n_nodes``
    tables of 8 bytes each, twice with a distance limit)."""
    per_person = BYTES_PER_PERSON * WORKING_FACTOR * float(people)
    tables = 4 * 8.0 * n_targets * n_nodes
    return per_person + tables + 16 * 8.0 * n_links


def check_memory(
    people: float,
    n_links: int,
    n_nodes: int,
    n_targets: int,
    *,
    field: str = "people",
    limit: int | None = None,
) -> None:
    """Refuse a crowd that would not fit in memory, before anything is allocated.

    Raises
    ------
    twin.errors.UserInputError
        With the estimate and the limit, naming ``field``.
    """
    limit = memory_limit() if limit is None else limit
    need = memory_estimate(people, n_links, n_nodes, n_targets)
    if need > limit:
        fit = max(
            int(
                (limit - (need - BYTES_PER_PERSON * WORKING_FACTOR * people))
                / (BYTES_PER_PERSON * WORKING_FACTOR)
            ),
            0,
        )
        raise UserInputError(
            Problem(
                f"{people:,.0f} walkers need about {need / 2**30:.1f} GiB of memory "
                f"(limit {limit / 2**30:.1f} GiB, half of this machine's memory)",
                field=field,
                fix=f"use at most about {fit:,} walkers, or run on a larger machine",
            )
        )
