"""Evacuation routes: waypoints walked in order, then on to a destination.

A route is a list of waypoint nodes and one destination. Its people head for waypoint 0,
then 1, and so on; past the last they head for the destination. Who leaves a route on the
way (its destination full or out of reach) is counted in ``dropped``.

:class:`~twin.crowd.CrowdModel` holds one :class:`EvacuationRoutes` and keeps per person
the route followed (-1: none) and the ``stage``: how many of its waypoints they have passed.
Route tables are indexed by *rows*: one per distinct node that is a destination or a
waypoint (see :meth:`EvacuationRoutes.target_rows`).
"""

from __future__ import annotations

import numpy as np


class EvacuationRoutes:
    """The evacuation routes of a crowd model, one array entry per route.

    Attributes
    ----------
    via
        Waypoint nodes of each route, padded with -1, shape ``(n_routes, w)`` with
        ``w >= 1`` the most waypoints of any route.
    length
        Waypoints of each route, shape ``(n_routes,)``.
    dest
        Destination index of each route, shape ``(n_routes,)``.
    names
        Name of each route.
    dropped
        People who left each route before its destination, shape ``(n_routes,)``.
    via_row
        Route-table row of each waypoint, shape of ``via`` (0 where padded); set by
        :meth:`target_rows`.
    rest
        Walking distance (m) left from waypoint ``k`` of route ``r`` through the later ones
        to its destination, ``rest[r, k]`` (0 at ``k = length[r]``), shape ``(n_routes, w + 1)``;
        set by :meth:`measure`.
    """

    def __init__(self) -> None:
        self.via = np.full((0, 1), -1, dtype=np.int64)
        self.length = np.zeros(0, dtype=np.int64)
        self.dest = np.zeros(0, dtype=np.int64)
        self.names: list[str] = []
        self.dropped = np.zeros(0, dtype=np.int64)
        self.via_row = np.zeros((0, 1), dtype=np.int64)
        self.rest = np.zeros((0, 1))

    @property
    def size(self) -> int:
        """Number of routes."""
        return int(self.length.size)

    @property
    def n_waypoints(self) -> int:
        """Waypoints of all routes together."""
        return int(self.length.sum())

    def add(self, waypoints, destination: int, *, name: str, n_nodes: int, n_dest: int) -> int:
        """Add a route through ``waypoints`` (node indices, in order) to ``destination``.

        Parameters
        ----------
        waypoints
            Node indices, in walking order (may be empty: straight to the destination).
        destination
            Destination index.
        name
            Route name, for the KPIs.
        n_nodes
            Nodes of the network (waypoints must be below it).
        n_dest
            Destinations defined so far (``destination`` must be below it).

        Returns
        -------
        int
            The new route's index.

        Raises
        ------
        ValueError
            If the destination or a waypoint does not exist.
        """
        via = np.atleast_1d(np.asarray(waypoints, dtype=np.int64))
        if not 0 <= destination < n_dest:
            raise ValueError(f"no destination {destination}; add it first")
        if via.size and (via.min() < 0 or via.max() >= n_nodes):
            raise ValueError("a waypoint is not a node of the network")
        width = max(self.via.shape[1], via.size, 1)
        grown = np.full((self.length.size + 1, width), -1, dtype=np.int64)
        grown[:-1, : self.via.shape[1]] = self.via
        grown[-1, : via.size] = via
        self.via = grown
        self.length = np.append(self.length, via.size)
        self.dest = np.append(self.dest, int(destination))
        self.dropped = np.append(self.dropped, 0)
        self.names.append(str(name))
        return self.length.size - 1

    def drop(self, routes: np.ndarray) -> None:
        """Count one person leaving each entry of ``routes`` (route indices, repeats add)."""
        np.add.at(self.dropped, routes, 1)

    def target_rows(self, dest_node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The nodes route tables are needed to, and the row of each destination; sets
        :attr:`via_row`.

        Parameters
        ----------
        dest_node
            Node of each destination, shape ``(n_dest,)``.

        Returns
        -------
        nodes, dest_row
            Distinct destination and waypoint nodes, sorted (one table row each), and the
            row of each destination, shape ``(n_dest,)``.
        """
        padded = self.via >= 0
        nodes, inverse = np.unique(
            np.concatenate([dest_node, self.via[padded]]), return_inverse=True
        )
        self.via_row = np.zeros(self.via.shape, dtype=np.int64)
        self.via_row[padded] = inverse[dest_node.size :]
        return nodes, inverse[: dest_node.size]

    def next_waypoint(
        self, route: np.ndarray, stage: np.ndarray, node: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Where people on ``route`` at ``stage``, standing at ``node``, head next.

        They first pass every waypoint they stand on (consecutive waypoints may share a
        node).

        Parameters
        ----------
        route, stage, node
            Route index, waypoints passed and current node of each person, shape ``(n,)``.

        Returns
        -------
        stage, row
            Waypoints passed after that, and the route-table row of the next waypoint
            (-1 once all are passed: they head for the route's destination).
        """
        stage = stage.copy()
        last = self.via.shape[1] - 1
        for _ in range(last + 1):
            there = (stage < self.length[route]) & (
                self.via[route, np.minimum(stage, last)] == node
            )
            if not there.any():
                break
            stage[there] += 1
        way = stage < self.length[route]
        row = np.where(way, self.via_row[route, np.minimum(stage, last)], -1)
        return stage, row

    def still_open(
        self,
        route: np.ndarray,
        stage: np.ndarray,
        at: np.ndarray,
        *,
        room: np.ndarray,
        time_to: np.ndarray,
        dest_row: np.ndarray,
        metres_to: np.ndarray | None = None,
        limit: np.ndarray | None = None,
    ) -> np.ndarray:
        """Whether people on ``route`` at ``stage``, standing at node ``at``, keep to it: its
        destination has room, its next leg is reachable, and (given ``metres_to``) the
        walk left, through the remaining waypoints, is within ``limit``.

        Parameters
        ----------
        route, stage, at
            Route index, waypoints passed and current node of each person, shape ``(n,)``.
        room
            Room left at each destination (persons; 0 or less: full).
        time_to
            Walking time (s) from every node to each table row (inf: no route), shape
            ``(n_rows, n_nodes)``.
        dest_row
            Table row of each destination.
        metres_to
            Walking distance (m) on open links, same shape as ``time_to``; None: no limit.
        limit
            Most walking distance of each person (m), shape ``(n,)``; with ``metres_to``.

        Returns
        -------
        numpy.ndarray
            Boolean, shape ``(n,)``.
        """
        last = self.via.shape[1] - 1
        row = np.where(
            stage < self.length[route],
            self.via_row[route, np.minimum(stage, last)],
            dest_row[self.dest[route]],
        )
        keep = (room[self.dest[route]] > 0) & np.isfinite(time_to[row, at])
        if metres_to is not None:
            keep &= metres_to[row, at] + self.rest[route, stage] <= limit
        return keep

    def measure(self, dist_m: np.ndarray, nodes: np.ndarray, dest_row: np.ndarray) -> None:
        """Set :attr:`rest` from walking distances on open links.

        Parameters
        ----------
        dist_m
            Walking distance (m) from every node to each table row, shape
            ``(n_rows, n_nodes)`` (inf: no route).
        nodes
            Node of each table row, shape ``(n_rows,)``.
        dest_row
            Row of each destination.
        """
        n_routes, width = self.via.shape
        rest = np.zeros((n_routes, width + 1))
        for r in range(n_routes):
            legs = [*self.via_row[r, : self.length[r]], dest_row[self.dest[r]]]
            for k in range(len(legs) - 2, -1, -1):  # waypoint k to k + 1, then on to the end
                step = dist_m[legs[k + 1], nodes[legs[k]]]
                rest[r, k] = rest[r, k + 1] + step
        self.rest = rest
