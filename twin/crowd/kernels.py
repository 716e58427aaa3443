"""Pure array functions of the crowd model: Weidmann's diagram, flood rules, FIFO admission.

Every function takes and returns numpy arrays and writes nothing else. Shapes: ``(n,)``
per link or per person as named; densities in persons/m2, speeds in m/s, depths in m.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def weidmann_factor(density: FloatArray, rho_max: float = 5.4, gamma: float = 1.913) -> FloatArray:
    """Share of the free speed walked at a density (Weidmann 1993)::

        f(rho) = 1 - exp(-gamma (1 / rho - 1 / rho_max)),  f(0) = 1,  f(rho >= rho_max) = 0

    Parameters
    ----------
    density
        Densities (persons/m2), any shape.
    rho_max
        Jam density (persons/m2).
    gamma
        Shape constant (persons/m2).

    Returns
    -------
    numpy.ndarray
        Factors in [0, 1], same shape.
    """
    rho = np.asarray(density, dtype=np.float64)
    with np.errstate(divide="ignore"):
        inv = np.where(rho > 0, 1.0 / np.maximum(rho, 1e-300), np.inf)
    return np.clip(-np.expm1(-gamma * (inv - 1.0 / rho_max)), 0.0, 1.0)


def weidmann_speed(
    density: FloatArray, v0: float = 1.34, rho_max: float = 5.4, gamma: float = 1.913
) -> FloatArray:
    """Walking speed at a density, ``v0 f(rho)`` (m/s); see :func:`weidmann_factor`."""
    return v0 * weidmann_factor(density, rho_max, gamma)


def hazard_rating(
    depth: FloatArray,
    velocity: FloatArray,
    debris_factor: float = 0.0,
    debris_depth: float = 0.25,
) -> FloatArray:
    """Flood hazard rating to people, ``d (v + 0.5) + DF`` (Defra/EA FD2321/TR2).

    Parameters
    ----------
    depth
        Water depth (m), any shape; negative values count as dry.
    velocity
        Flow speed (m/s), same shape (its magnitude is used).
    debris_factor
        ``DF`` added where ``depth > debris_depth``.
    debris_depth
        Depth above which the debris factor applies (m).

    Returns
    -------
    numpy.ndarray
        Hazard ratings (dimensionless, FD2321's units m2/s), 0 where dry.
    """
    d = np.maximum(np.asarray(depth, dtype=np.float64), 0.0)
    v = np.abs(np.asarray(velocity, dtype=np.float64))
    return d * (v + 0.5) + np.where(d > debris_depth, debris_factor, 0.0)


def wading_factor(depth: FloatArray, wading_depth: float = 0.5, factor: float = 0.5) -> FloatArray:
    """Speed multiplier in standing or moving water: 1 when dry, falling linearly with depth
    to ``factor`` at ``wading_depth`` (m) and constant beyond (an assumption; see
    :class:`twin.crowd.params.FloodRules`)."""
    d = np.clip(np.asarray(depth, dtype=np.float64) / wading_depth, 0.0, 1.0)
    return 1.0 - (1.0 - factor) * d


def rank_in_group(group: IntArray, key: FloatArray) -> tuple[IntArray, IntArray]:
    """Order items by group then by ``key`` (ties keep the input order), and number them
    within their group.

    Parameters
    ----------
    group
        Group id of each item (>= 0), shape ``(k,)``.
    key
        Finite sort key within a group (e.g. arrival time, s), shape ``(k,)``.

    Returns
    -------
    order
        Indices that sort the items, shape ``(k,)``.
    rank
        ``rank[i]`` is item ``order[i]``'s 0-based place within its group.
    """
    n = group.size
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    low = key.min()
    span = float(key.max() - low) + 1.0
    if float(group.max()) * span < 2.0**40:  # one stable sort on a combined key: exact
        order = np.argsort(group * span + (key - low), kind="stable")
    else:
        order = np.lexsort((key, group))
    g = group[order]
    starts = np.ones(n, dtype=bool)
    starts[1:] = g[1:] != g[:-1]
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    return order, np.arange(n) - first


def fifo_admit(
    up: IntArray,
    up_quota: IntArray,
    down: IntArray,
    down_quota: IntArray,
    ready: FloatArray,
) -> tuple[NDArray[np.bool_], IntArray]:
    """Which waiting people may move on this pass, first come first served.

    Each person waits at the end of an upstream queue ``up`` (a link, or a source) and wants
    to enter ``down`` (a link, or a destination). Queues release people in the order of
    ``ready`` (the time each reached the head; ties in input order), at most ``up_quota`` per
    queue; a downstream place takes at most ``down_quota``, again in ``ready`` order. Nobody
    passes the person ahead in their own queue: once one is held, everyone behind is too.

    Parameters
    ----------
    up, down
        Upstream queue and downstream place of each person, shape ``(k,)``.
    up_quota, down_quota
        Most people each queue may release / each place may take, indexed by ``up`` and
        ``down`` ids.
    ready
        Time each person reached the head of the queue (s), shape ``(k,)``.

    Returns
    -------
    moved
        Boolean mask, shape ``(k,)``: who moves.
    order
        The people sorted by (``up``, ``ready``, input order), shape ``(k,)``: passing
        the waiting people in this order next time makes the sort nearly linear.
    """
    k = up.size
    ok = np.zeros(k, dtype=bool)
    if k == 0:
        return ok, np.zeros(0, dtype=np.int64)
    order, rank = rank_in_group(up, ready)
    ok[order] = rank < up_quota[up[order]]
    idx = np.flatnonzero(ok)
    order_d, rank_d = rank_in_group(down[idx], ready[idx])
    held = np.zeros(k, dtype=bool)
    held[idx[order_d]] = rank_d >= down_quota[down[idx[order_d]]]
    ok &= ~held
    # head-of-line: walk each upstream queue in order; stop at its first held person
    bad = (~ok[order]).astype(np.int64)
    cum = np.cumsum(bad)
    first = np.arange(k) - rank
    before_group = cum[first] - bad[first]
    moved = np.zeros(k, dtype=bool)
    moved[order] = (cum - before_group) == 0
    return moved, order
