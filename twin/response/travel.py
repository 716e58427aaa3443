"""Unit travel times: shortest paths on the road graph with the current link times and closures.

Three implementations share one small interface (:class:`Travel`): :class:`RoadTravel` on a
city's drive link index (:mod:`twin.city.links`) with the one router
(:mod:`twin.city.routing`; full trees cached per origin and destination until the road
state changes, searches for one route stopping at its origin), :class:`StraightTravel`,
straight lines at a fixed speed (rescue boats on water), and :class:`MatrixTravel`, a fixed
origin-destination matrix for small abstract systems (queueing-theory and hypercube
checks).

Locations are integer indices ``0 .. n_nodes - 1``, the link index's node numbers;
:attr:`RoadTravel.node_ids` maps them to OSM node ids.

The road state interface (what traffic and coupling call):

* :meth:`RoadTravel.set_link_times` gives the current travel time of every link (s), in the
  order of :attr:`RoadTravel.edges` (the link index's order); ``None`` goes back to free flow.
* :meth:`RoadTravel.set_closed` gives a boolean mask of closed links (same order).

Both bump :attr:`Travel.version`; the response model then reroutes units on the move.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from twin.city.routing import shortest_tree, tree_path

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
    """Shortest-time paths on a city's drive link index, cached per origin and destination.

    The network is the one link index of the city (:mod:`twin.city.links`: the links every
    model drives or walks on, in its stated order) and the searches are the one router's
    (:func:`twin.city.routing.shortest_tree`); nearest nodes come from the index's k-d tree.
    Parallel links are all searched; the fastest open one wins.

    Parameters
    ----------
    network
        The drive :class:`~twin.city.links.LinkIndex` (free-flow time of a link: its
        length over its speed), or a networkx (Multi)DiGraph with node ``x``/``y`` (m) and
        edge ``travel_time`` (s, free flow), indexed by
        :meth:`~twin.city.links.LinkIndex.from_graph` (small hand-made networks).
    free_flow
        Free-flow time of each link (s, in the index's order), instead of the above.
    speed_factor
        Emergency speed factor: every link time is divided by it (default
        :data:`EMERGENCY_SPEED_FACTOR`).
    """

    def __init__(
        self,
        network,
        *,
        free_flow: np.ndarray | None = None,
        speed_factor: float = EMERGENCY_SPEED_FACTOR,
    ) -> None:
        from twin.city.links import LinkIndex

        if not speed_factor > 0:
            raise ValueError(f"speed_factor must be > 0, got {speed_factor!r}")
        links = network if isinstance(network, LinkIndex) else LinkIndex.from_graph(network, "")
        self.links = links
        """The link index searched (node and link order of every array here)."""
        self.node_ids = links.node_ids
        self.index = links.node_index()
        self.xy = np.column_stack([links.x, links.y])
        self.edges = list(
            zip(
                links.node_ids[links.tail].tolist(),
                links.node_ids[links.head].tolist(),
                links.key.tolist(),
                strict=True,
            )
        )
        """The links ``(u, v, key)`` by OSM node ids: the order of link-time and closure
        arrays (the link index's order)."""
        self.way_ids = _way_ids(links)
        """OSM way id(s) of each link (an int, or a list when it merges several), -1 when
        unknown."""
        if free_flow is None:
            if isinstance(network, LinkIndex):
                free_flow = links.length / links.speed
            else:
                times = {
                    (int(u), int(v), int(k)): float(t)
                    for u, v, k, t in network.edges(keys=True, data="travel_time")
                }
                free_flow = np.array([times[e] for e in self.edges], dtype=float)
        self.free_flow = np.asarray(free_flow, dtype=float)
        if self.free_flow.shape != (links.n_links,) or not np.all(self.free_flow > 0):
            raise ValueError(f"need {links.n_links} free-flow link times > 0")
        self._u, self._v = links.tail, links.head
        self.speed_factor = float(speed_factor)
        self.n_nodes = n = links.n_nodes
        # Node pairs (u, v) in order, for the time of a given path (the fastest open link).
        keys = self._u * n + self._v
        pairs, slot = np.unique(keys, return_inverse=True)
        self._pairs = pairs
        self._order = np.argsort(slot, kind="stable")
        self._starts = np.flatnonzero(np.r_[True, np.diff(slot[self._order]) != 0])
        self._link_times = self.free_flow.copy()
        self._closed = np.zeros(links.n_links, dtype=bool)
        self._rebuild()

    @property
    def edge_nodes(self) -> tuple[np.ndarray, np.ndarray]:
        """Start and end node index of every link (in :attr:`edges` order)."""
        return self._u, self._v

    @property
    def link_times(self) -> np.ndarray:
        """Current travel time of each link for ordinary traffic (s), before the speed factor."""
        return self._link_times

    @property
    def closed(self) -> np.ndarray:
        """Boolean mask of closed links."""
        return self._closed

    def set_link_times(self, times: np.ndarray | None) -> None:
        """Set the current travel time of every link (s, in :attr:`edges` order).

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
        """Close the links where ``closed`` is true (in :attr:`edges` order); ``None`` opens all."""
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
        self._weights = np.maximum(weights, 1e-9, out=weights)
        self._slot_times = np.minimum.reduceat(self._weights[self._order], self._starts)
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
        """The router's tree (:func:`twin.city.routing.shortest_tree`) from ``sources``, or
        into them (``reverse``: times *to* the sources, ``pred`` the link each node leaves
        by); it stops once every target is settled."""
        return shortest_tree(
            self.links, self._weights, sources, reverse=reverse, limit=limit, targets=targets
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
        path = np.r_[origin, self._v[tree_path(self.links, pred, origin, reverse=True)]]
        return Route(path.astype(np.int64), dist[origin] - dist[path])

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
        """Nearest node index of each point (m, the index's CRS) and the distance to it (m):
        the link index's one lookup (:meth:`~twin.city.links.LinkIndex.nearest_nodes`)."""
        return self.links.nearest_nodes(x, y)


def _way_ids(links) -> list:
    """OSM way id(s) of each link of ``links``: an int, a list of several, or -1."""
    counts = np.diff(links.way_offsets)
    ids = links.way_ids.tolist()
    starts = links.way_offsets[:-1].tolist()
    return [
        -1 if c == 0 else ids[s] if c == 1 else ids[s : s + c]
        for s, c in zip(starts, counts.tolist(), strict=True)
    ]
