"""Unit travel times: shortest paths on the road graph with the current link times and closures.

Three implementations share one small interface (:class:`Travel`): :class:`RoadTravel` on a
city's drive graph (Dijkstra in :mod:`~twin.response.kernels`; full trees cached per origin
and destination until the road state changes, searches for one route stopping at its
origin), :class:`StraightTravel`, straight lines at a fixed speed (rescue boats on water),
and :class:`MatrixTravel`, a fixed origin-destination matrix for small abstract systems
(queueing-theory and hypercube checks).

Locations are integer indices ``0 .. n_nodes - 1``; :attr:`RoadTravel.node_ids` maps them to
the graph's OSM node ids.

The road state interface (what traffic and coupling call):

* :meth:`RoadTravel.set_link_times` gives the current travel time of every edge (s), in the
  order of :attr:`RoadTravel.edges`; ``None`` goes back to free flow.
* :meth:`RoadTravel.set_closed` gives a boolean mask of closed edges (same order).

Both bump :attr:`Travel.version`; the response model then reroutes units on the move.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from twin.response.kernels import shortest_paths

EMERGENCY_SPEED_FACTOR = 1.25
"""Default ratio of an emergency vehicle's speed (lights and sirens) to the link's current
speed; 1 drives at the traffic's speed."""


CACHE_BYTES = 256 * 2**20
"""Memory the shortest-path caches of one :class:`RoadTravel` may use (bytes)."""


def _remember(cache: dict, key, value, limit: int):
    """Store ``value`` under ``key``, dropping the oldest entry when ``cache`` is full."""
    if len(cache) >= limit:
        del cache[next(iter(cache))]
    cache[key] = value
    return value


@dataclass(frozen=True)
class Route:
    """A path and when each of its nodes is reached, counted from the start of the drive.

    Attributes
    ----------
    nodes
        Node indices from origin to destination (at least one).
    times
        Arrival time at each node since leaving the origin (s); ``times[0] == 0``.
    """

    nodes: np.ndarray
    times: np.ndarray

    @property
    def duration(self) -> float:
        """Time to drive the whole route (s)."""
        return float(self.times[-1])

    def locate(self, elapsed: float) -> tuple[int, float]:
        """Index in :attr:`nodes` of the next node a vehicle that left ``elapsed`` seconds ago
        reaches (or is at), and the time until then (s)."""
        k = int(np.searchsorted(self.times, elapsed, side="left"))
        if k >= len(self.nodes):
            return len(self.nodes) - 1, 0.0
        return k, float(self.times[k] - elapsed)

    def position(self, elapsed: float) -> tuple[int, float]:
        """Where a vehicle that left ``elapsed`` seconds ago will next be at a node.

        Returns
        -------
        node, wait
            The next node it reaches (or the node it is at), and the time until then (s).
        """
        k, wait = self.locate(elapsed)
        return int(self.nodes[k]), wait


class Travel:
    """Interface of travel-time providers. Subclasses set ``n_nodes`` and implement
    :meth:`times_from` and :meth:`route`."""

    n_nodes: int
    version: int = 0
    """Incremented whenever travel times change (units en route then reroute)."""

    def times_from(self, origin: int) -> np.ndarray:
        """Travel time (s) from ``origin`` to every node; ``inf`` where unreachable."""
        raise NotImplementedError

    def route(self, origin: int, destination: int) -> Route | None:
        """Fastest route, or ``None`` if ``destination`` cannot be reached."""
        raise NotImplementedError

    def times_to(self, destination: int) -> np.ndarray:
        """Travel time (s) from every node to ``destination``; ``inf`` where unreachable."""
        raise NotImplementedError

    def time(self, origin: int, destination: int) -> float:
        """Travel time (s) from one node to another; ``inf`` when unreachable."""
        return float(self.times_from(origin)[destination])

    def times_between(self, origin: int, destinations: np.ndarray) -> np.ndarray:
        """Travel time (s) from ``origin`` to each of ``destinations``; ``inf`` where
        unreachable."""
        return self.times_from(origin)[np.asarray(destinations, dtype=np.int64)]

    def path_times(self, nodes: np.ndarray) -> np.ndarray:
        """Arrival time (s) at each node of a path driven now, from its first node; ``inf``
        from a closed or missing link on."""
        raise NotImplementedError

    def nearest_time(self, sources: np.ndarray, limit: float) -> np.ndarray:
        """Time (s) from the nearest of ``sources`` to every node; ``inf`` beyond ``limit``."""
        best = np.full(self.n_nodes, np.inf)
        for source in np.unique(sources):
            best = np.minimum(best, self.times_from(int(source)))
        best[best > limit] = np.inf
        return best


class MatrixTravel(Travel):
    """Fixed travel times between abstract locations (a direct hop each).

    Parameters
    ----------
    matrix
        Square array of travel times (s); ``matrix[i, j]`` from ``i`` to ``j``; ``inf`` for
        no connection.
    """

    def __init__(self, matrix: np.ndarray) -> None:
        matrix = np.asarray(matrix, dtype=float)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"travel matrix must be square, got shape {matrix.shape}")
        if np.any(matrix < 0):
            raise ValueError("travel times must be >= 0")
        self.matrix = matrix
        self.n_nodes = matrix.shape[0]

    def times_from(self, origin: int) -> np.ndarray:
        return self.matrix[origin]

    def times_to(self, destination: int) -> np.ndarray:
        return self.matrix[:, destination]

    def path_times(self, nodes: np.ndarray) -> np.ndarray:
        return np.r_[0.0, np.cumsum(self.matrix[nodes[:-1], nodes[1:]])]

    def route(self, origin: int, destination: int) -> Route | None:
        t = self.matrix[origin, destination]
        if not np.isfinite(t):
            return None
        if origin == destination:
            return Route(np.array([origin]), np.zeros(1))
        return Route(np.array([origin, destination]), np.array([0.0, t]))


class StraightTravel(Travel):
    """Straight lines between node positions at a fixed speed: rescue boats on flood water
    or along the shore.

    Water has no streets: a boat goes straight from where it is to where it is sent. It
    ignores buildings and dry land in between (a boat on a trailer or carried past them
    would take longer), so its times are a lower bound; closures do not stop it.

    Parameters
    ----------
    xy
        Node positions (m), shape (n, 2).
    speed
        Speed (m/s, > 0).
    """

    def __init__(self, xy: np.ndarray, speed: float) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed!r}")
        self.xy = np.asarray(xy, dtype=float)
        self.speed = float(speed)
        self.n_nodes = len(self.xy)

    def times_from(self, origin: int) -> np.ndarray:
        d = self.xy - self.xy[origin]
        return np.hypot(d[:, 0], d[:, 1]) / self.speed

    times_to = times_from  # straight lines are the same both ways

    def path_times(self, nodes: np.ndarray) -> np.ndarray:
        d = np.diff(self.xy[np.asarray(nodes, dtype=np.int64)], axis=0)
        return np.r_[0.0, np.cumsum(np.hypot(d[:, 0], d[:, 1]) / self.speed)]

    def route(self, origin: int, destination: int) -> Route | None:
        if origin == destination:
            return Route(np.array([origin]), np.zeros(1))
        nodes = np.array([origin, destination])
        return Route(nodes, self.path_times(nodes))


class RoadTravel(Travel):
    """Shortest-time paths on a directed road graph, cached per origin and destination.

    Parameters
    ----------
    graph
        A networkx (Multi)DiGraph with node ``x``/``y`` (m) and edge ``travel_time`` (s, free
        flow). Parallel edges keep the fastest.
    speed_factor
        Emergency speed factor: every link time is divided by it (default
        :data:`EMERGENCY_SPEED_FACTOR`).
    """

    def __init__(self, graph, *, speed_factor: float = EMERGENCY_SPEED_FACTOR) -> None:
        if not speed_factor > 0:
            raise ValueError(f"speed_factor must be > 0, got {speed_factor!r}")
        self.node_ids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
        self.index = {int(n): i for i, n in enumerate(self.node_ids)}
        self.xy = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in self.node_ids])
        edges = list(graph.edges(keys=True, data="travel_time"))
        self.way_ids = [d for *_, d in graph.edges(keys=True, data="osmid", default=-1)]
        """OSM way id(s) of each edge (an int or a list), -1 when unknown."""
        self.edges = [(int(u), int(v), k) for u, v, k, _ in edges]
        """The graph's edges ``(u, v, key)``: the order of link-time and closure arrays."""
        self._u = np.array([self.index[u] for u, _, _, _ in edges], dtype=np.int64)
        self._v = np.array([self.index[v] for _, v, _, _ in edges], dtype=np.int64)
        self.free_flow = np.array([float(t) for *_, t in edges])
        self.speed_factor = float(speed_factor)
        self.n_nodes = n = len(self.node_ids)
        # Fixed sparsity pattern: one slot per (u, v) pair, holding the fastest open edge.
        pairs, slot = np.unique(self._u * n + self._v, return_inverse=True)
        self._pairs = pairs
        self._order = np.argsort(slot, kind="stable")
        self._starts = np.flatnonzero(np.r_[True, np.diff(slot[self._order]) != 0])
        slot_u, slot_v = pairs // n, pairs % n
        self._pattern = (slot_v, np.r_[0, np.cumsum(np.bincount(slot_u, minlength=n))])
        self._flip = np.lexsort((slot_u, slot_v))  # slots in (v, u) order: the reverse graph
        self._reverse_pattern = (
            slot_u[self._flip],
            np.r_[0, np.cumsum(np.bincount(slot_v, minlength=n))],
        )
        self._one_per_slot = len(pairs) == len(edges)
        self._link_times = self.free_flow.copy()
        self._closed = np.zeros(len(edges), dtype=bool)
        self._rebuild()

    @property
    def edge_nodes(self) -> tuple[np.ndarray, np.ndarray]:
        """Start and end node index of every edge (in :attr:`edges` order)."""
        return self._u, self._v

    @property
    def link_times(self) -> np.ndarray:
        """Current travel time of each edge for ordinary traffic (s), before the speed factor."""
        return self._link_times

    @property
    def closed(self) -> np.ndarray:
        """Boolean mask of closed edges."""
        return self._closed

    def set_link_times(self, times: np.ndarray | None) -> None:
        """Set the current travel time of every edge (s, in :attr:`edges` order).

        ``None`` restores free flow. Times must be positive; use :meth:`set_closed` to close.
        """
        if times is None:
            times = self.free_flow
        times = np.asarray(times, dtype=float)
        if times.shape != self.free_flow.shape:
            raise ValueError(f"need {len(self.free_flow)} link times, got {times.shape}")
        if not np.all(times > 0):
            raise ValueError("link times must be > 0 (close a link with set_closed)")
        self._link_times = times.copy()
        self._rebuild()

    def set_closed(self, closed: np.ndarray | None) -> None:
        """Close the edges where ``closed`` is true (in :attr:`edges` order); ``None`` opens all."""
        mask = np.zeros(len(self.free_flow), bool) if closed is None else np.asarray(closed, bool)
        if mask.shape != self.free_flow.shape:
            raise ValueError(f"need {len(self.free_flow)} closure flags, got {mask.shape}")
        self._closed = mask.copy()
        self._rebuild()

    def fresh(self) -> RoadTravel:
        """A copy at free flow with every link open, for one run. It shares the shortest-path
        cache with this one while both are at free flow (replications pay Dijkstra once)."""
        twin = copy.copy(self)
        if self._closed.any() or not np.array_equal(self._link_times, self.free_flow):
            twin._link_times = self.free_flow.copy()
            twin._closed = np.zeros_like(self._closed)
            twin._rebuild()
        return twin

    def _rebuild(self) -> None:
        weights = self._link_times / self.speed_factor
        if self._closed.any():
            weights[self._closed] = np.inf
        if self._one_per_slot:  # no parallel edges: one edge per slot
            data = weights[self._order]
        else:
            data = np.minimum.reduceat(weights[self._order], self._starts)
        self._slot_times = np.maximum(data, 1e-9, out=data)
        self._reverse = None
        self._cache: dict[int, np.ndarray] = {}
        self._cache_to: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._partial_to: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._cache_near: dict[tuple, np.ndarray] = {}
        self.version += 1

    @property
    def cache_limit(self) -> int:
        """Most origins (and destinations) whose shortest paths are kept: about 256 MB."""
        return max(16, CACHE_BYTES // (12 * max(self.n_nodes, 1)))

    def _search(
        self,
        sources,
        *,
        reverse: bool = False,
        limit: float = np.inf,
        targets=(),
    ) -> tuple[np.ndarray, np.ndarray]:
        """Dijkstra (:func:`~twin.response.kernels.shortest_paths`) from ``sources`` on the
        graph, or on the reversed graph (times *to* the sources); it stops once every
        target is settled."""
        indices, indptr = self._reverse_pattern if reverse else self._pattern
        weights = self._slot_times
        if reverse:
            if self._reverse is None:  # built on the first search of a road state
                self._reverse = self._slot_times[self._flip]
            weights = self._reverse
        return shortest_paths(
            indptr,
            indices,
            weights,
            np.atleast_1d(np.asarray(sources, dtype=np.int64)),
            float(limit),
            np.atleast_1d(np.asarray(targets, dtype=np.int64)),
        )

    def times_from(self, origin: int) -> np.ndarray:
        hit = self._cache.get(origin)
        if hit is None:
            hit = _remember(self._cache, origin, self._search(origin)[0], self.cache_limit)
        return hit

    def time(self, origin: int, destination: int) -> float:
        """Travel time (s) from one node to another; ``inf`` when unreachable. Uses a cached
        tree when there is one, else a search that stops at ``destination``."""
        return float(self.times_between(origin, np.array([destination]))[0])

    def times_between(self, origin: int, destinations: np.ndarray) -> np.ndarray:
        """Travel time (s) from ``origin`` to each of ``destinations`` (``inf`` where
        unreachable): from a cached tree, else one search that stops once all are reached."""
        destinations = np.asarray(destinations, dtype=np.int64)
        hit = self._cache.get(origin)
        if hit is not None:
            return hit[destinations]
        if len(destinations) == 1 and int(destinations[0]) in self._cache_to:
            return self._cache_to[int(destinations[0])][0][[origin]]
        return self._search(origin, targets=destinations)[0][destinations]

    def _solve_to(self, destination: int) -> tuple[np.ndarray, np.ndarray]:
        hit = self._cache_to.get(destination)
        if hit is None:
            hit = _remember(
                self._cache_to,
                destination,
                self._search(destination, reverse=True),
                self.cache_limit,
            )
        return hit

    def times_to(self, destination: int) -> np.ndarray:
        """Travel time (s) from every node to ``destination``: one Dijkstra on the reversed
        graph ranks every unit for a call and routes all of them there; cached."""
        return self._solve_to(destination)[0]

    def route(self, origin: int, destination: int) -> Route | None:
        """Fastest route, read from the shortest-path tree into ``destination``: the full
        one when cached (shared by every unit driving there until the road state changes),
        else a search from ``destination`` that stops once it reaches ``origin``."""
        tree = self._cache_to.get(destination)
        if tree is None:
            tree = self._partial_to.get(destination)
            if tree is None or not np.isfinite(tree[0][origin]):
                tree = self._search(destination, reverse=True, targets=[origin])
                _remember(self._partial_to, destination, tree, self.cache_limit)
        dist, pred = tree
        if not np.isfinite(dist[origin]):
            return None
        nodes = [origin]
        while nodes[-1] != destination:
            nodes.append(int(pred[nodes[-1]]))
        path = np.array(nodes, dtype=np.int64)
        return Route(path, dist[origin] - dist[path])

    def nearest_time(self, sources: np.ndarray, limit: float) -> np.ndarray:
        """Time (s) from the nearest of ``sources`` to every node, ``inf`` beyond ``limit``
        (one multi-source Dijkstra, cached until the road state changes)."""
        key = (tuple(np.unique(sources).tolist()), float(limit))
        hit = self._cache_near.get(key)
        if hit is None:
            if not key[0]:
                hit = np.full(self.n_nodes, np.inf)
            else:
                hit = self._search(list(key[0]), limit=limit)[0]
            _remember(self._cache_near, key, hit, self.cache_limit)
        return hit

    def path_times(self, nodes: np.ndarray) -> np.ndarray:
        keys = nodes[:-1] * self.n_nodes + nodes[1:]
        slots = np.minimum(np.searchsorted(self._pairs, keys), len(self._pairs) - 1)
        times = np.where(self._pairs[slots] == keys, self._slot_times[slots], np.inf)
        return np.r_[0.0, np.cumsum(times)]

    def nearest(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node index of each point (m, the graph's CRS) and the distance to it (m)."""
        from scipy.spatial import cKDTree

        if not hasattr(self, "_tree"):
            self._tree = cKDTree(self.xy)
        distance, index = self._tree.query(np.column_stack([np.ravel(x), np.ravel(y)]))
        return index.astype(np.int64), distance
