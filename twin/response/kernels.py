"""Shortest-path kernel for unit travel: Dijkstra on a CSR graph that stops early.

:func:`shortest_paths` is a pure array function (numba): from one or more sources it settles
nodes in order of travel time and stops when every target is settled or the next node lies
beyond ``limit``, so a route to a nearby place explores only the nearby graph. Times it
returns are exact where finite; ``inf`` marks nodes it did not settle.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def _push(keys, vals, size, key, val):
    """Add (key, val) to the binary min-heap held in ``keys``/``vals`` of ``size`` items."""
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


@nb.njit(cache=True)
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


@nb.njit(cache=True)
def shortest_paths(indptr, indices, weights, sources, limit, targets):
    """Travel times and shortest-path tree from the nearest of ``sources``.

    Parameters
    ----------
    indptr, indices, weights
        The graph in CSR form: the edges out of node ``u`` go to
        ``indices[indptr[u]:indptr[u + 1]]`` and take ``weights[...]`` (s, > 0; ``inf`` for
        a closed edge). Shapes (n + 1,), (m,), (m,).
    sources
        Start nodes (int64, shape (k,), k >= 1), all at time 0.
    limit
        Nodes farther than this are not settled (s; ``inf`` for no limit).
    targets
        Nodes (int64, shape (t,)); the search stops once all are settled. Empty: settle
        every node within ``limit``.

    Returns
    -------
    dist : ndarray (n,)
        Time from the nearest source (s); ``inf`` for nodes not settled.
    pred : ndarray (n,)
        Previous node on the fastest path from a source (-1 for sources and nodes not
        settled).
    """
    n = indptr.shape[0] - 1
    dist = np.full(n, np.inf)
    pred = np.full(n, -1, np.int64)
    done = np.zeros(n, np.bool_)
    wanted = np.zeros(n, np.bool_)
    left = 0
    for t in targets:
        if not wanted[t]:
            wanted[t] = True
            left += 1
    capacity = indices.shape[0] + sources.shape[0] + 1
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
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            nd = d + weights[e]
            if nd < dist[v] and nd <= limit:
                dist[v] = nd
                pred[v] = u
                size = _push(keys, vals, size, nd, v)
    for v in range(n):
        if not done[v]:
            dist[v] = np.inf
            pred[v] = -1
    return dist, pred
