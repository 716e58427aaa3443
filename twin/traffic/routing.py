"""Shortest paths on current link travel times (scipy.sparse.csgraph), shared per OD pair."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from twin.traffic.kernels import walk_paths, walk_to_root

#: Sources per Dijkstra batch (bounds the (batch, N) predecessor matrix in memory).
BATCH = 256


def shortest_paths(
    n_nodes: int,
    link_from: np.ndarray,
    link_to: np.ndarray,
    cost: np.ndarray,
    starts: np.ndarray,
    targets: np.ndarray,
    *,
    reverse: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-cost link sequences for many (start, target) node pairs.

    Parameters
    ----------
    n_nodes
        Number of nodes.
    link_from, link_to
        (L,) end nodes of each link.
    cost
        (L,) travel time of each link (s); ``inf`` removes the link (closed).
    starts, targets
        (K,) node pairs; duplicates are computed once.
    reverse
        Search from the targets on the reversed graph (one tree per distinct target)
        instead of from the starts; default: whichever needs fewer searches.

    Returns
    -------
    ptr, links, found
        Path ``i`` (of input pair ``i``) is ``links[ptr[i]:ptr[i+1]]``; ``found[i]`` is false
        when the target cannot be reached.
    """
    starts = np.asarray(starts, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    usable = np.isfinite(cost)
    u, v, c = link_from[usable], link_to[usable], np.maximum(cost[usable], 1e-6)
    link = np.flatnonzero(usable).astype(np.int32)
    # keep the cheapest of parallel links, then lay the graph out as CSR by start node
    order = np.lexsort((c, v, u))
    u, v, c, link = u[order], v[order], c[order], link[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    u, v, c, link = u[first], v[first], c[first], link[first]
    graph = csr_matrix((c, (u, v)), shape=(n_nodes, n_nodes))
    csr_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.add.at(csr_ptr, u + 1, 1)
    csr_ptr = np.cumsum(csr_ptr)
    csr_col, csr_link = v.astype(np.int64), link

    # one tree per start (forward), or per target on the reversed graph when fewer
    if reverse is None:
        reverse = len(np.unique(targets)) < len(np.unique(starts))
    roots, row_of = np.unique(targets if reverse else starts, return_inverse=True)
    search = graph.T.tocsr() if reverse else graph
    walk = walk_to_root if reverse else walk_paths
    ptr_parts, link_parts = [np.zeros(1, dtype=np.int64)], []
    order_out = []
    for lo in range(0, len(roots), BATCH):
        batch = roots[lo : lo + BATCH]
        pred = dijkstra(search, indices=batch, return_predecessors=True)[1]
        sel = np.flatnonzero((row_of >= lo) & (row_of < lo + len(batch)))
        ptr, links = walk(
            pred,
            (row_of[sel] - lo).astype(np.int64),
            starts[sel].astype(np.int64),
            targets[sel].astype(np.int64),
            csr_ptr,
            csr_col,
            csr_link,
        )
        ptr_parts.append(ptr[1:] + ptr_parts[-1][-1])
        link_parts.append(links)
        order_out.append(sel)
    sel_all = np.concatenate(order_out) if order_out else np.zeros(0, dtype=np.int64)
    ptr_all = np.concatenate(ptr_parts)
    links_all = np.concatenate(link_parts) if link_parts else np.zeros(0, dtype=np.int32)
    # put the paths back in input order
    lengths = np.diff(ptr_all)
    inv = np.empty_like(sel_all)
    inv[sel_all] = np.arange(len(sel_all))
    lengths_in = lengths[inv]
    ptr_in = np.zeros(len(starts) + 1, dtype=np.int64)
    ptr_in[1:] = np.cumsum(lengths_in)
    gather = np.repeat(ptr_all[:-1][inv] - ptr_in[:-1], lengths_in) + np.arange(ptr_in[-1])
    found = (lengths_in > 0) | (starts == targets)
    return ptr_in, links_all[gather].astype(np.int32), found


def paths_for_pairs(
    n_nodes: int,
    link_from: np.ndarray,
    link_to: np.ndarray,
    cost: np.ndarray,
    starts: np.ndarray,
    targets: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shortest paths shared by every pair with the same (start, target).

    Returns
    -------
    ptr, links, found, which
        Unique paths in CSR form (``links[ptr[i]:ptr[i+1]]``), whether each was found, and
        for each input pair the index of its unique path.
    """
    key = np.asarray(starts, dtype=np.int64) * n_nodes + np.asarray(targets, dtype=np.int64)
    uniq, which = np.unique(key, return_inverse=True)
    ptr, links, found = shortest_paths(
        n_nodes, link_from, link_to, cost, uniq // n_nodes, uniq % n_nodes
    )
    return ptr, links, found, which


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
