"""Waypoint routes of the traffic model: vehicles that drive through given nodes in order.

An evacuation route is a list of waypoint nodes; a vehicle on it drives to waypoint 0, then
1, and so on, and past the last one to its own destination. The router builds such a path
leg by leg (:func:`twin.traffic.routing.chain_paths`) and says how many links of the path
lead to each waypoint (its *marks*); when the vehicle is routed again (a closure, periodic
rerouting) the waypoints whose mark it has driven past count as passed (its *stage*), and
the new path goes through the others only. A vehicle whose remaining waypoints cannot be
reached any more leaves the route (counted in :attr:`RouteBook.dropped`) and drives
straight to its destination.
"""

from __future__ import annotations

import numpy as np

NEVER = np.iinfo(np.int64).max
"""Mark of a waypoint not on the vehicle's current path."""


class RouteBook:
    """Routes (waypoint nodes) and, per vehicle, the route followed and the waypoints passed.

    Attributes
    ----------
    via
        Waypoint nodes of each route, padded with -1, shape ``(n_routes, w)``, ``w >= 1``.
    length
        Waypoints of each route, shape ``(n_routes,)``.
    names
        Name of each route.
    dropped
        Vehicles that left each route before its last waypoint, shape ``(n_routes,)``.
    route
        Route of each vehicle (-1: none), shape ``(n_vehicles,)``.
    stage
        Waypoints of its route each vehicle has passed, shape ``(n_vehicles,)``.
    mark
        Links of each vehicle's current path up to (and including) the one that reaches its
        ``k``-th remaining waypoint (:data:`NEVER`: not on the path), shape
        ``(n_vehicles, w)``.
    """

    def __init__(self) -> None:
        self.via = np.full((0, 1), -1, dtype=np.int64)
        self.length = np.zeros(0, dtype=np.int64)
        self.names: list[str] = []
        self.dropped = np.zeros(0, dtype=np.int64)
        self.route = np.zeros(0, dtype=np.int64)
        self.stage = np.zeros(0, dtype=np.int64)
        self.mark = np.full((0, 1), NEVER, dtype=np.int64)

    @property
    def size(self) -> int:
        """Number of routes."""
        return int(self.length.size)

    def add(self, waypoints, *, name: str, n_nodes: int) -> int:
        """Add a route through ``waypoints`` (node indices, in driving order); its index.

        Raises
        ------
        ValueError
            If a waypoint is not a node of the network, or there is none.
        """
        via = np.atleast_1d(np.asarray(waypoints, dtype=np.int64))
        if via.size == 0 or via.min() < 0 or via.max() >= n_nodes:
            raise ValueError("a route needs waypoints that are nodes of the network")
        width = max(self.via.shape[1], via.size)
        grown = np.full((self.size + 1, width), -1, dtype=np.int64)
        grown[:-1, : self.via.shape[1]] = self.via
        grown[-1, : via.size] = via
        self.via = grown
        if width > self.mark.shape[1]:
            mark = np.full((self.mark.shape[0], width), NEVER, dtype=np.int64)
            mark[:, : self.mark.shape[1]] = self.mark
            self.mark = mark
        self.length = np.append(self.length, via.size)
        self.dropped = np.append(self.dropped, 0)
        self.names.append(str(name))
        return self.size - 1

    def add_vehicles(self, first: int, m: int, route=None) -> None:
        """Book vehicles ``first .. first + m - 1`` on ``route`` (one index, or one per
        vehicle; -1 or None: no route). Arrays grow by doubling.

        Raises
        ------
        ValueError
            If a route index names no route.
        """
        r = np.full(m, -1, dtype=np.int64)
        if route is not None:
            r[:] = np.broadcast_to(np.asarray(route, dtype=np.int64), (m,))
            if m and (r.max() >= self.size or r.min() < -1):
                raise ValueError("a route index names no route; add it with add_route first")
        end = first + m
        if end > self.route.size:
            new = max(end, 2 * self.route.size, 1024)
            self.route = np.concatenate([self.route, np.full(new - self.route.size, -1)])
            self.stage = np.concatenate([self.stage, np.zeros(new - self.stage.size, np.int64)])
            pad = np.full((new - self.mark.shape[0], self.mark.shape[1]), NEVER, dtype=np.int64)
            self.mark = np.concatenate([self.mark, pad])
        self.route[first:end], self.stage[first:end], self.mark[first:end] = r, 0, NEVER

    def remaining(self, vehicles: np.ndarray) -> np.ndarray:
        """Waypoints still to pass of each of ``vehicles``, in order, padded with -1, shape
        ``(k, w)`` (``w = 0`` when there are no routes)."""
        if self.size == 0 or vehicles.size == 0:
            return np.zeros((vehicles.size, 0), dtype=np.int64)
        r = self.route[vehicles]
        width = self.via.shape[1]
        col = self.stage[vehicles][:, None] + np.arange(width)[None, :]
        left = (r[:, None] >= 0) & (col < self.length[np.maximum(r, 0)][:, None])
        return np.where(left, self.via[np.maximum(r, 0)[:, None], np.minimum(col, width - 1)], -1)

    def passed(self, vehicles: np.ndarray, driven: np.ndarray) -> np.ndarray:
        """Waypoints of their routes ``vehicles`` have passed once they have driven
        ``driven`` links of their current path (0 off any route)."""
        if self.size == 0 or vehicles.size == 0:
            return np.zeros(vehicles.size, dtype=np.int64)
        return self.stage[vehicles] + (self.mark[vehicles] <= driven[:, None]).sum(axis=1)

    def advance(self, vehicles: np.ndarray, driven: np.ndarray) -> None:
        """Count the waypoints ``vehicles`` reach once they have driven ``driven`` links of
        their current path (the node where they are routed again) as passed."""
        if self.size == 0 or vehicles.size == 0:
            return
        self.stage[vehicles] = self.passed(vehicles, driven)
        self.mark[vehicles] = NEVER

    def set_marks(self, vehicles: np.ndarray, marks: np.ndarray, via: np.ndarray) -> None:
        """Set the marks of ``vehicles`` on their new paths, shape ``(k, w')`` with
        ``w' <= w``, for their remaining waypoints ``via`` (same shape, -1: none)."""
        if self.size == 0 or vehicles.size == 0:
            return
        self.mark[vehicles] = NEVER
        self.mark[vehicles, : marks.shape[1]] = np.where(via >= 0, marks, NEVER)

    def drop(self, vehicles: np.ndarray) -> None:
        """``vehicles`` leave their routes (counted per route in :attr:`dropped`)."""
        r = self.route[vehicles]
        np.add.at(self.dropped, r[r >= 0], 1)
        self.route[vehicles] = -1
        self.mark[vehicles] = NEVER

    def following(self) -> np.ndarray:
        """Vehicles on each route (not dropped), shape ``(n_routes,)``."""
        r = self.route[self.route >= 0]  # unused slots hold -1
        return np.bincount(r, minlength=self.size).astype(np.int64)
