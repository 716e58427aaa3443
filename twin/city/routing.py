"""The one router: shortest paths over a street network's links (CSR arrays).

Every model routes through this module, on plain arrays of links (``tail``, ``head``,
a cost per link in seconds or metres; ``inf`` closes a link):

- :func:`shortest_tree`: one search from one or more nodes (or, ``reverse=True``, towards
  them) over a :class:`~twin.city.links.LinkIndex` with a weight array, stopping early
  once every target is settled or beyond a cost ``limit``; returns the cost to every node
  and the link by which each was reached (:func:`tree_path` reads a path from it). For
  the few searches of unit travel (response) and one-off questions.
- :func:`shortest_paths` / :func:`paths_for_pairs`: many (start, target) pairs at once,
  one tree per distinct start (or target), link sequences out (traffic).
- :func:`route_tables`: least cost from every node to each of some targets and the first
  link to take (crowd).

The batch searches run scipy's Dijkstra (``scipy.sparse.csgraph``) on the CSR matrix of
the cheapest link between each pair of nodes and read the link sequences with the numba
walk below (:func:`walk_paths`, from either end); :func:`shortest_tree` is a numba Dijkstra
with a binary heap that stops early.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

if TYPE_CHECKING:
    from collections.abc import Sequence

    from twin.city.links import LinkIndex

#: Sources per Dijkstra batch (bounds the (batch, N) predecessor matrix in memory).
BATCH = 256


# ------------------------------------------------------------------ one early-stopping tree
@numba.njit(cache=True)
def _push(keys, vals, size, key, val):
    """Add (key, val) to the binary min-heap in ``keys``/``vals`` of ``size`` items."""
    i = size
    keys[i] = key
    vals[i] = val
    while i > 0:
        parent = (i - 1) >> 1
        if keys[parent] <= keys[i]:
            break
        keys[parent], keys[i] = keys[i], keys[parent]
        vals[parent], vals[i] = vals[i], vals[parent]
        i = parent
    return size + 1


@numba.njit(cache=True)
def _pop(keys, vals, size):
    """Remove the smallest item of the heap; returns (key, val, new size)."""
    key, val = keys[0], vals[0]
    size -= 1
    keys[0], vals[0] = keys[size], vals[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and keys[left + 1] < keys[left]:
            child = left + 1
        if keys[i] <= keys[child]:
            break
        keys[i], keys[child] = keys[child], keys[i]
        vals[i], vals[child] = vals[child], vals[i]
        i = child
    return key, val, size


@numba.njit(cache=True)
def dijkstra_tree(ptr, links, other, weight, sources, limit, targets):
    """Dijkstra from ``sources`` over links grouped by node, stopping early.

    Parameters
    ----------
    ptr, links
        (N+1,), (L,): the links to follow from node ``u`` are ``links[ptr[u]:ptr[u+1]]``.
    other
        (L,) the node each link leads to (its head; its tail for a reversed search).
    weight
        (L,) cost of each link (> 0; ``inf``: closed).
    sources
        (k,) int64 start nodes, all at cost 0.
    limit
        Nodes costing more are not settled (``inf``: no limit).
    targets
        (t,) int64; the search stops once all are settled (empty: settle all in reach).

    Returns
    -------
    dist, pred
        (N,) cost from the nearest source (``inf``: not settled) and the link by which each
        node was reached (-1 for sources and nodes not settled).
    """
    n = ptr.shape[0] - 1
    dist = np.full(n, np.inf)
    pred = np.full(n, -1, np.int64)
    done = np.zeros(n, np.bool_)
    wanted = np.zeros(n, np.bool_)
    left = 0
    for t in targets:
        if not wanted[t]:
            wanted[t] = True
            left += 1
    capacity = links.shape[0] + sources.shape[0] + 1
    keys = np.empty(capacity)
    vals = np.empty(capacity, np.int64)
    size = 0
    for s in sources:
        if dist[s] > 0.0:
            dist[s] = 0.0
            size = _push(keys, vals, size, 0.0, s)
    while size > 0:
        d, u, size = _pop(keys, vals, size)
        if done[u] or d > dist[u]:
            continue
        done[u] = True
        if wanted[u]:
            left -= 1
            if left == 0:
                break
        for j in range(ptr[u], ptr[u + 1]):
            e = links[j]
            v = other[e]
            nd = d + weight[e]
            if nd < dist[v] and nd <= limit:
                dist[v] = nd
                pred[v] = e
                size = _push(keys, vals, size, nd, v)
    for v in range(n):
        if not done[v]:
            dist[v] = np.inf
            pred[v] = -1
    return dist, pred


def shortest_tree(
    links: LinkIndex,
    weight: np.ndarray,
    sources: int | Sequence[int] | np.ndarray,
    *,
    reverse: bool = False,
    limit: float = np.inf,
    targets: Sequence[int] | np.ndarray = (),
) -> tuple[np.ndarray, np.ndarray]:
    """Shortest-path tree from the nearest of ``sources`` (to them, if ``reverse``).

    Parameters
    ----------
    links
        The network (its CSR arrays; node indices 0 .. N-1).
    weight
        (L,) cost of each link in the index's order (s or m, > 0; ``inf``: closed).
    sources
        Node index or indices, all at cost 0.
    reverse
        Search the reversed links: ``dist[n]`` is then the cost from ``n`` to the nearest
        source and ``pred[n]`` the first link of that path.
    limit
        Nodes costing more than this are not settled (``inf`` there).
    targets
        Stop once every one of these nodes is settled (one-to-one and one-to-many
        searches stop early); empty: settle every node in reach.

    Returns
    -------
    dist, pred
        (N,) cost (``inf``: not settled) and the link by which each node is reached from
        the tree's root (``reverse``: the link it leaves by towards the root); -1 at the
        roots and nodes not settled.
    """
    if reverse:
        ptr, order = links.incoming()
        other = links.tail
    else:
        ptr, order = links.offsets, np.arange(links.n_links, dtype=np.int64)
        other = links.head
    return dijkstra_tree(
        ptr,
        order.astype(np.int64),
        other.astype(np.int64),
        np.ascontiguousarray(weight, dtype=np.float64),
        np.atleast_1d(np.asarray(sources, dtype=np.int64)),
        float(limit),
        np.atleast_1d(np.asarray(targets, dtype=np.int64)),
    )


def tree_path(links: LinkIndex, pred: np.ndarray, node: int, *, reverse: bool = False):
    """(k,) link indices of the tree's path between its root and ``node``: from the root to
    ``node``, or (``reverse``) from ``node`` to the root; empty at a root or when ``node``
    was not reached (check its ``dist``)."""
    out = []
    step = links.head if reverse else links.tail
    while pred[node] >= 0:
        out.append(int(pred[node]))
        node = int(step[pred[node]])
    return np.array(out if reverse else out[::-1], dtype=np.int64)


# ------------------------------------------------------------------ many pairs at once
@numba.njit(cache=True)
def walk_paths(pred, rows, starts, targets, csr_ptr, csr_col, csr_link, to_root=False):
    """Link sequences of shortest paths from a predecessor matrix.

    Parameters
    ----------
    pred
        (R, N) predecessor matrix from ``scipy.sparse.csgraph.dijkstra`` (-9999: none).
    rows, starts, targets
        (K,) row of ``pred`` and start and target node of each wanted path.
    csr_ptr, csr_col, csr_link
        The routing graph in CSR form: out-neighbours of each node and the link used.
    to_root
        False: the searches were rooted at the starts (``pred[row, x]`` is the node before
        ``x``), so each path is walked back from its target. True: they were rooted at the
        targets on the reversed graph (``pred[row, x]`` is the node after ``x`` on its way
        to the root), so each path is walked on from its start.

    Returns
    -------
    ptr, links
        Path ``i`` is ``links[ptr[i]:ptr[i+1]]``, from start to target; an empty path with
        ``ptr[i] == ptr[i+1]`` and ``starts[i] != targets[i]`` means no route.
    """
    k = rows.shape[0]
    walk_from = starts if to_root else targets
    root = targets if to_root else starts
    lengths = np.zeros(k, dtype=np.int64)
    for i in range(k):
        node = walk_from[i]
        n = 0
        while node != root[i] and node >= 0:
            node = pred[rows[i], node]
            n += 1
        lengths[i] = n if node == root[i] else 0
    ptr = np.zeros(k + 1, dtype=np.int64)
    for i in range(k):
        ptr[i + 1] = ptr[i] + lengths[i]
    links = np.empty(ptr[k], dtype=np.int32)
    for i in range(k):
        node = walk_from[i]
        for step in range(lengths[i]):
            nxt = pred[rows[i], node]
            tail, head = (node, nxt) if to_root else (nxt, node)
            for e in range(csr_ptr[tail], csr_ptr[tail + 1]):
                if csr_col[e] == head:
                    links[ptr[i] + step if to_root else ptr[i + 1] - 1 - step] = csr_link[e]
                    break
            node = nxt
    return ptr, links


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
    ptr_parts, link_parts = [np.zeros(1, dtype=np.int64)], []
    order_out = []
    for lo in range(0, len(roots), BATCH):
        batch = roots[lo : lo + BATCH]
        pred = dijkstra(search, indices=batch, return_predecessors=True)[1]
        sel = np.flatnonzero((row_of >= lo) & (row_of < lo + len(batch)))
        ptr, links = walk_paths(
            pred,
            (row_of[sel] - lo).astype(np.int64),
            starts[sel].astype(np.int64),
            targets[sel].astype(np.int64),
            csr_ptr,
            csr_col,
            csr_link,
            reverse,
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


# ------------------------------------------------------------------ tables towards targets
def cheapest_links(
    n_nodes: int, tail: np.ndarray, head: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ``tail * n_nodes + head`` keys and the lightest link of each node pair (of
    equal weights the lower link index)."""
    key = tail * n_nodes + head
    order = np.lexsort((weight, key))
    keys = key[order]
    first = np.ones(keys.size, dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return keys[first], order[first]


def route_tables(
    n_nodes: int,
    tail: np.ndarray,
    head: np.ndarray,
    targets: np.ndarray,
    weight: np.ndarray,
    usable: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Least costs to each target node and the next link to take.

    Parameters
    ----------
    n_nodes, tail, head
        The network: (L,) start and end node of each link.
    targets
        Target node indices, shape ``(d,)``.
    weight
        Cost of each link (s or m), shape ``(L,)``, > 0.
    usable
        Which links may be used, shape ``(L,)``.

    Returns
    -------
    dist
        ``dist[i, n]``: least cost from node ``n`` to ``targets[i]`` (inf if none),
        shape ``(d, n_nodes)``.
    next_link
        ``next_link[i, n]``: the first link of that route (-1 at the target or if none).
    """
    n = n_nodes
    ok = usable & np.isfinite(weight)
    keys, links = cheapest_links(n, tail, head, np.where(ok, weight, np.inf))
    links = links[ok[links]]
    keys = tail[links] * n + head[links]
    w = np.maximum(weight[links], 1e-6)
    # reversed graph: a search from the target follows links backwards
    rev = csr_matrix((w, (head[links], tail[links])), shape=(n, n))
    targets = np.asarray(targets, dtype=np.int64)
    if targets.size == 0:
        return np.zeros((0, n)), np.zeros((0, n), dtype=np.int64)
    dist, pred = dijkstra(rev, directed=True, indices=targets, return_predecessors=True)
    nxt = np.full(pred.shape, -1, dtype=np.int64)
    has = pred >= 0
    rows, cols = np.nonzero(has)
    want = cols * n + pred[rows, cols]
    pos = np.searchsorted(keys, want)
    nxt[rows, cols] = links[np.minimum(pos, links.size - 1)]
    return dist, nxt
