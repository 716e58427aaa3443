"""Vehicle paths on current link travel times: the city router's shortest paths
(:mod:`twin.city.routing`, shared per OD pair) wrapped with a vehicle's current and last
link, and chained through waypoints."""

from __future__ import annotations

import numpy as np

from twin.city.routing import paths_for_pairs, shortest_paths

__all__ = ["chain_paths", "paths_for_pairs", "shortest_paths", "wrap_paths"]


def wrap_paths(
    ptr: np.ndarray, links: np.ndarray, which: np.ndarray, head: np.ndarray, tail: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paths ``head + route + tail``: each vehicle's route (``links[ptr[w]:ptr[w+1]]`` with
    ``w = which[i]``) with link ``head[i]`` before it and ``tail[i]`` after it (-1: none),
    each distinct combination stored once.

    Returns
    -------
    ptr, links, which
        The new paths in CSR form and each vehicle's index among them.
    """
    combos, which = np.unique(np.column_stack([which, head, tail]), axis=0, return_inverse=True)
    which = which.reshape(-1)
    route, h, t = combos.T
    n_route = np.diff(ptr)[route]
    has_h, has_t = h >= 0, t >= 0
    new_ptr = np.zeros(len(combos) + 1, dtype=np.int64)
    new_ptr[1:] = np.cumsum(has_h + n_route + has_t)
    out = np.empty(new_ptr[-1], dtype=np.int32)
    out[new_ptr[:-1][has_h]] = h[has_h]
    out[new_ptr[1:][has_t] - 1] = t[has_t]
    within = np.arange(n_route.sum()) - np.repeat(np.cumsum(n_route) - n_route, n_route)
    out[np.repeat(new_ptr[:-1] + has_h, n_route) + within] = links[
        np.repeat(ptr[:-1][route], n_route) + within
    ]
    return new_ptr, out, which


def chain_paths(
    n_nodes: int,
    link_from: np.ndarray,
    link_to: np.ndarray,
    cost: np.ndarray,
    starts: np.ndarray,
    via: np.ndarray,
    targets: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shortest paths from each start through its waypoints, in order, to its target: one
    leg per stretch, all legs found in one search (:func:`paths_for_pairs`).

    Parameters
    ----------
    n_nodes, link_from, link_to, cost
        As :func:`shortest_paths`.
    starts, targets
        (K,) node pairs.
    via
        (K, w) waypoint nodes of each pair in order, padded with -1 (``w`` may be 0).

    Returns
    -------
    ptr, links, found, which, marks
        Unique paths in CSR form, whether each was found (every leg), each pair's path
        index, and (K, w) the number of links of its path that lead to each waypoint
        (0: the start is the waypoint); meaningless where ``via`` is -1.
    """
    starts = np.asarray(starts, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    k, w = via.shape
    if w == 0 or not (via >= 0).any():
        ptr, links, found, which = paths_for_pairs(
            n_nodes, link_from, link_to, cost, starts, targets
        )
        return ptr, links, found, which, np.zeros((k, w), dtype=np.int64)
    chain = np.column_stack([starts, via, targets])
    for col in range(1, w + 1):  # padding repeats the node before it: empty legs
        chain[:, col] = np.where(chain[:, col] < 0, chain[:, col - 1], chain[:, col])
    uniq, which = np.unique(chain, axis=0, return_inverse=True)
    which = which.reshape(-1)
    leg_ptr, leg_links, leg_found, leg = paths_for_pairs(
        n_nodes, link_from, link_to, cost, uniq[:, :-1].ravel(), uniq[:, 1:].ravel()
    )
    leg = leg.reshape(len(uniq), w + 1)
    n_leg = np.diff(leg_ptr)[leg]
    found = leg_found[leg].all(axis=1)
    flat, n = leg.ravel(), n_leg.ravel()
    within = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    links = leg_links[np.repeat(leg_ptr[:-1][flat], n) + within]
    ptr = np.zeros(len(uniq) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(n_leg.sum(axis=1))
    marks = np.cumsum(n_leg, axis=1)[:, :w]
    return ptr, links.astype(np.int32), found, which, marks[which]
