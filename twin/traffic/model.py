"""TrafficModel: vehicles on a RoadNetwork, stepped with the link transmission model.

>>> from twin.traffic import TrafficModel, grid_network
>>> net = grid_network(3)
>>> model = TrafficModel(net, dt=1.0)
>>> ids = model.add_vehicles([0], [8], [0.0])
>>> model.advance_to(600.0)
>>> int(model.trips().arrived.sum())
1

State others read (numpy arrays, one value per link): :meth:`speed`, :meth:`density`,
:meth:`queue_length`, :attr:`closed`. State others write: :attr:`speed_factor` (0-1, e.g.
from flood depth) and :attr:`closed` (or :meth:`close_links`); changes take effect at the
next step, and vehicles whose remaining path uses a newly closed link are rerouted.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from twin.errors import UserInputError
from twin.traffic import insertion
from twin.traffic import kernels as kern
from twin.traffic.conservation import check_conservation
from twin.traffic.network import RoadNetwork
from twin.traffic.outputs import LinkSeries, TripRecords
from twin.traffic.routing import chain_paths, wrap_paths
from twin.traffic.settings import check_settings
from twin.traffic.vehicles import VehicleArrays
from twin.traffic.waypoints import RouteBook


class TrafficModel:
    """Vehicle-resolved mesoscopic traffic on a road network (see :mod:`twin.traffic.kernels`).

    Parameters
    ----------
    network
        The links and nodes.
    dt
        Step (s): how often blocked vehicles are looked at again; times stay continuous.
    route_slice
        Vehicles departing in the same slice (s) with the same origin and destination share
        one route, computed on the travel times at the slice start.
    reroute_every
        If given (s), every vehicle en route takes the current shortest path this often.
    record_every
        Interval of the link time series (s); a multiple of ``dt``.
    priority_share
        Share of the queue ahead of them that priority vehicles still wait behind (0-1).
    stuck_time
        A vehicle that has waited this long (s) at a link's end behind a full link jumps
        along its path to the first link with room (gridlock relief, as SUMO's
        time-to-teleport; counted in :attr:`jumps`); None: never.
    max_memory_bytes
        Refuse to add vehicles whose state would need more memory (estimated before
        allocating, see :mod:`twin.traffic.budget`); None: half of the memory available.
    """

    def __init__(
        self,
        network: RoadNetwork,
        *,
        dt: float = 1.0,
        route_slice: float = 300.0,
        reroute_every: float | None = None,
        record_every: float = 60.0,
        priority_share: float = 0.2,
        stuck_time: float | None = 300.0,
        max_memory_bytes: int | None = None,
    ) -> None:
        check_settings(
            dt=dt,
            route_slice=route_slice,
            reroute_every=reroute_every,
            record_every=record_every,
            priority_share=priority_share,
            stuck_time=stuck_time,
        )
        self.net = network
        self.dt = float(dt)
        self.route_slice = float(route_slice)
        self.reroute_every = reroute_every
        self.record_every = float(record_every)
        self.priority_share = float(priority_share)
        self.stuck_time = np.inf if stuck_time is None else float(stuck_time)
        self.max_memory_bytes = max_memory_bytes
        self.time = 0.0
        self._steps = 0
        n_l, n_n = network.n_links, network.n_nodes
        self.speed_factor = np.ones(n_l)
        self.closed = np.zeros(n_l, dtype=np.bool_)
        self._closed_seen = self.closed.copy()
        self._factor_seen = self.speed_factor.copy()
        # network-derived arrays
        order = np.argsort(network.link_to, kind="stable")
        self._in_ptr = np.zeros(n_n + 1, dtype=np.int64)
        np.add.at(self._in_ptr, network.link_to.astype(np.int64) + 1, 1)
        self._in_ptr = np.cumsum(self._in_ptr)
        self._in_links = order.astype(np.int64)
        self._store = network.storage
        self._hist_ptr = np.concatenate([[0], np.cumsum(self._store)[:-1]]).astype(np.int64)
        self._ring_cap = self._store.copy()
        self._ring_ptr = np.concatenate([[0], np.cumsum(self._ring_cap)[:-1]]).astype(np.int64)
        self._base_free = network.length / network.free_speed
        self._wave_time = network.length / network.wave_speed
        self._free_time = self._base_free.copy()
        self._headway = 1.0 / network.capacity
        out_cap = np.zeros(n_n)
        np.add.at(out_cap, network.link_from, network.capacity)
        self._orig_headway = 1.0 / np.maximum(out_cap, 1e-9)
        # link state
        self._ring = np.full(int(self._ring_cap.sum()), -1, dtype=np.int64)
        self._exit_hist = np.full(int(self._store.sum()), -np.inf)
        self.n_in = np.zeros(n_l, dtype=np.int64)
        self.n_out = np.zeros(n_l, dtype=np.int64)
        self._last_in = np.full(n_l, -np.inf)
        self._last_out = np.full(n_l, -np.inf)
        self._orig_last = np.full(n_n, -np.inf)
        self._orig_head = np.full(n_n, -1, dtype=np.int64)
        self._head_ready = np.full(n_l, np.inf)
        self._head_next = np.full(n_l, -1, dtype=np.int64)
        # vehicles (grown on demand)
        self.n_vehicles = 0
        self._v = VehicleArrays(0)
        self._counters = np.zeros(4, dtype=np.int64)  # slots kern.C_*, counted in the kernel
        self._added = 0  # vehicles given to add_vehicles
        self.routes = RouteBook()  # waypoint routes (evacuation routes) and who follows them
        self._inside_links = False  # whether some trip starts or ends inside a link
        self._stranded_unreleased = 0  # stranded before leaving their origin queue
        # paths
        self._path_ptr = np.zeros(1, dtype=np.int64)
        self._path_links = np.zeros(0, dtype=np.int32)
        self._compacted_size = 1 << 16
        self._routed_until = -np.inf
        self._next_reroute = reroute_every if reroute_every else np.inf
        self.series = LinkSeries(network.length)
        self._record()

    # ------------------------------------------------------------------ demand
    def add_route(self, waypoints, *, name: str) -> int:
        """Add a route through ``waypoints`` (node indices, in order) for
        :meth:`add_vehicles`' ``route``: its vehicles drive through them, then on to their
        own destinations. Returns the route's index."""
        return self.routes.add(waypoints, name=name, n_nodes=self.net.n_nodes)

    def add_vehicles(
        self,
        origins,
        destinations,
        departures,
        priority=False,
        *,
        origin_links=None,
        origin_at=None,
        destination_links=None,
        destination_at=None,
        route=None,
    ) -> np.ndarray:
        """Add vehicles that depart from node ``origins`` to node ``destinations``, or from
        and to points inside links.

        Parameters
        ----------
        origins, destinations
            (M,) node indices (see :meth:`RoadNetwork.node_index`); where a trip starts
            (ends) inside a link, the link's upstream (downstream) node.
        departures
            (M,) departure times (s), not before the model's current time.
        priority
            Bool or (M,) bools: emergency vehicles that pass queues (see ``priority_share``).
        origin_links, origin_at
            (M,) link each trip starts on (-1: at its origin node) and where on it, as a
            share of its length from its upstream end (0-1): the trip enters that link
            from its upstream node and drives the rest of it (see
            :func:`twin.traffic.demand.snap_to_links`).
        destination_links, destination_at
            (M,) link each trip ends on (-1: at its destination node) and where on it
            (0-1): the trip's last link, driven up to that point.
        route
            Index (or (M,) indices; -1: none) of a route from :meth:`add_route` the trips
            follow: they pass its waypoints in order before heading to their destination;
            if a waypoint cannot be reached any more they leave the route (counted in
            ``routes.dropped``) and drive straight there.

        Returns
        -------
        numpy.ndarray
            (M,) ids of the new vehicles (indices into the trip records).
        """
        return insertion.add_vehicles(
            self, origins, destinations, departures, priority,
            origin_links=origin_links, origin_at=origin_at,
            destination_links=destination_links, destination_at=destination_at, route=route,
        )  # fmt: skip

    def _rebuild_origin_queues(self) -> None:
        insertion.rebuild_origin_queues(self)

    def depart_earlier(self, vehicles, departures) -> np.ndarray:
        """Move the departure of ``vehicles`` not yet in their origin queue to
        ``departures`` (s, not before now) where that is earlier (an evacuation order
        brought forward). Returns the ids whose departure moved.

        Vehicles already queued, on the road or done keep theirs; the moved ones get a
        route at once (the planning window may not have reached their old time).
        """
        return insertion.depart_earlier(self, vehicles, departures)

    def redirect(self, vehicles, destinations) -> np.ndarray:
        """Send ``vehicles`` to new destination nodes ``destinations`` (an emergency unit
        sent elsewhere on its way). Those waiting or on a link take the current shortest
        path from their origin (not yet left) or from the end of their link (reason 2,
        stranded, if none is left); arrived and stranded ones keep theirs. A trip that
        ended inside a link now ends at the node. Returns the ids redirected."""
        return insertion.redirect(self, vehicles, destinations)

    # ------------------------------------------------------------------ routing
    def travel_times(self, *, queue: np.ndarray | None = None) -> np.ndarray:
        """(L,) current link travel time estimate (s): free flow plus queue over capacity;
        ``inf`` on closed links. ``queue``: :meth:`queue_length` now, if already counted."""
        tt = self._free_time + (self.queue_length() if queue is None else queue) * self._headway
        return np.where(self.closed, np.inf, tt)

    def _assign(self, vehicles: np.ndarray, starts: np.ndarray, reason: np.ndarray) -> None:
        """Give ``vehicles`` the current shortest path from node ``starts`` to their
        destination; those with none left are stranded with ``reason``.

        A trip that starts inside a link and has not left its origin yet takes that link
        first (the search starts at its end); one that ends inside a link takes that link
        last (the search ends at its start); one that starts and ends on the same link,
        its end ahead of its start, drives only that link. A trip on a route passes the
        route's waypoints it has not passed yet (see :mod:`twin.traffic.waypoints`).
        """
        if vehicles.size == 0:
            return
        v, net = self._v, self.net
        if self.routes.size:  # waypoints driven past on the old path
            had = vehicles[v.path_id[vehicles] >= 0]
            self.routes.advance(had, v.pos[had])
        via = self.routes.remaining(vehicles)  # (k, 0) when there are no routes
        head = tail = None  # links before and after the searched part (-1: none)
        targets = v.dest[vehicles]
        if self._inside_links:  # only then may a trip start or end inside a link
            starts, targets, head, tail = self._link_ends(vehicles, starts, via)
        args = (net.n_nodes, net.link_from, net.link_to, self.travel_times(), starts)
        ptr, links, found, which, marks = chain_paths(*args, via, targets)
        if via.shape[1]:
            broken = ~found[which] & (via >= 0).any(axis=1)
            if broken.any():  # a waypoint out of reach: leave the route, drive straight on
                self.routes.drop(vehicles[broken])
                via[broken] = -1
                ptr, links, found, which, marks = chain_paths(*args, via, targets)
            pre = np.zeros(vehicles.size, np.int64) if head is None else head >= 0
            self.routes.set_marks(vehicles, marks + pre[:, None], via)
        ok = found[which]
        if head is not None and tail is not None:
            ok &= ~((head >= 0) & self.closed[np.maximum(head, 0)])
            ok &= ~((tail >= 0) & self.closed[np.maximum(tail, 0)])
            if (head >= 0).any() or (tail >= 0).any():
                ptr, links, which = wrap_paths(ptr, links, which, head, tail)
        if len(self._path_links) + len(links) > 4 * self._compacted_size:
            self._compact_paths()
        base = len(self._path_ptr) - 1
        self._path_ptr = np.concatenate([self._path_ptr, self._path_ptr[-1] + ptr[1:]])
        self._path_links = np.concatenate([self._path_links, links])
        v.path_id[vehicles[ok]] = base + which[ok]
        v.pos[vehicles[ok]] = 0
        lost = vehicles[~ok]
        v.status[lost] = kern.STRANDED
        v.reason[lost] = reason[~ok]
        unreleased = lost[v.veh_link[lost] < 0]
        v.t_arrive[unreleased] = self.time
        self._stranded_unreleased += unreleased.size
        self._refresh_heads()

    def _link_ends(self, vehicles, starts, via) -> tuple[np.ndarray, ...]:
        """Search starts and targets of ``vehicles`` (routed from node ``starts``) whose trips
        may start or end inside links, and the links to put before (``head``) and after
        (``tail``) the path found (-1: none); see :meth:`_assign`."""
        v, net = self._v, self.net
        first, last = v.first_link[vehicles], v.last_link[vehicles]
        pre = (v.veh_link[vehicles] < 0) & (first >= 0)
        same = pre & (last == first) & (v.end_at[vehicles] >= v.start_at[vehicles])
        same &= ~(via >= 0).any(axis=1)
        post = (last >= 0) & ~same
        targets = np.where(last >= 0, net.link_from[np.maximum(last, 0)], v.dest[vehicles])
        starts = np.where(same, targets, np.where(pre, net.link_to[np.maximum(first, 0)], starts))
        return starts, targets, np.where(pre, first, -1), np.where(post, last, -1)

    def _refresh_heads(self) -> None:
        v = self._v
        kern.refresh_heads(
            self._ring,
            self._ring_ptr,
            self._ring_cap,
            self.n_in,
            self.n_out,
            v.vi,
            v.vf,
            self._path_ptr,
            self._path_links,
            self._head_ready,
            self._head_next,
        )

    def _compact_paths(self) -> None:
        """Drop paths no vehicle still follows and renumber the others."""
        v, n = self._v, self.n_vehicles
        live = (v.path_id[:n] >= 0) & (
            (v.status[:n] == kern.WAITING) | (v.status[:n] == kern.ON_LINK)
        )
        used, new_id = np.unique(v.path_id[:n][live], return_inverse=True)
        lengths = np.diff(self._path_ptr)[used]
        ptr = np.zeros(len(used) + 1, dtype=np.int64)
        ptr[1:] = np.cumsum(lengths)
        gather = np.repeat(self._path_ptr[used] - ptr[:-1], lengths) + np.arange(ptr[-1])
        self._path_links = self._path_links[gather]
        self._path_ptr = ptr
        ids = v.path_id[:n]
        ids[~live] = -1
        ids[live] = new_id
        self._compacted_size = max(len(self._path_links), 1 << 16)

    def _plan(self, *, until: float | None, reroute: str | None) -> None:
        """Route in one search: vehicles without a route departing before ``until`` (reason
        1 if none), and those with one (waiting, or en route short of their path's last link;
        reason 2 if none left): all of them (``reroute="all"``) or those whose remaining path
        uses a closed link (``"closed"``)."""
        v, n = self._v, self.n_vehicles
        new = np.zeros(n, dtype=bool)
        if until is not None:
            new = kern.unrouted_before(v.vi, v.vf, n, until)
        again = np.zeros(n, dtype=bool)
        if reroute is not None and len(self._path_ptr) > 1:
            again = kern.can_reroute(v.vi, n, self._path_ptr)
            if reroute == "closed":
                last = kern.last_flagged(self._path_ptr, self._path_links, self.closed)
                again &= last[np.maximum(v.path_id[:n], 0)] >= v.pos[:n]
        todo = np.flatnonzero(new | again)
        if todo.size == 0:
            return
        link = v.veh_link[todo]
        starts = np.where(link >= 0, self.net.link_to[np.maximum(link, 0)], v.origin[todo])
        self._assign(todo, starts, np.where(new[todo], 1, 2).astype(np.int8))
        if np.any(v.status[todo] == kern.STRANDED):
            self._rebuild_origin_queues()

    # ------------------------------------------------------------------ closures, factors
    def close_links(self, links) -> None:
        """Close links (no vehicle may enter; those on them drain out); reroutes at once."""
        self.closed[np.asarray(links, dtype=np.int64)] = True
        self._apply_changes()

    def open_links(self, links) -> None:
        """Reopen links; routes are not changed until the next (re)routing."""
        self.closed[np.asarray(links, dtype=np.int64)] = False
        self._apply_changes()

    def _apply_changes(self) -> None:
        if not np.array_equal(self.speed_factor, self._factor_seen):
            f = np.clip(self.speed_factor, 0.0, 1.0)
            vf = self.net.free_speed * np.maximum(f, 1e-3)
            w, kj = self.net.wave_speed, self.net.jam_density
            self._free_time = self.net.length / vf
            self._headway = (vf + w) / (kj * vf * w)
            self.closed |= f <= 0.0
            self._factor_seen = self.speed_factor.copy()
        newly = self.closed & ~self._closed_seen
        self._closed_seen = self.closed.copy()
        if newly.any():
            self._plan(until=None, reroute="closed")

    # ------------------------------------------------------------------ stepping
    def step(self, dt: float | None = None) -> None:
        """Advance one step (``dt`` must equal the model's step if given)."""
        if dt is not None and abs(dt - self.dt) > 1e-9:
            raise UserInputError(f"step({dt}) differs from the model's dt = {self.dt} s")
        self.advance_to(self.time + self.dt)

    def advance_to(self, t_end: float, progress: Callable[[float], None] | None = None) -> None:
        """Run until time ``t_end`` (s), rounded to whole steps; ``progress(t)`` is called at
        each record interval."""
        n_target = round(t_end / self.dt)
        while self._steps < n_target:
            self._apply_changes()
            until = None
            if self.time >= self._routed_until - 1e-9:
                start = self._routed_until if np.isfinite(self._routed_until) else self.time
                self._routed_until = max(start, self.time) + self.route_slice
                until = self._routed_until
            reroute = None
            if self.time >= self._next_reroute - 1e-9:
                reroute = "all"
                self._next_reroute += self.reroute_every
            if until is not None or reroute is not None:
                self._plan(until=until, reroute=reroute)
            bounds = [
                self._routed_until,
                self._next_reroute,
                self.series.next_time(self.record_every),
            ]
            n_next = min([n_target] + [round(b / self.dt) for b in bounds if np.isfinite(b)])
            n_next = max(n_next, self._steps + 1)
            self._run(n_next - self._steps)
            if self.time >= self.series.next_time(self.record_every) - 1e-9:
                self._record()
                if progress is not None:
                    progress(self.time)

    def _run(self, n_steps: int) -> None:
        v, net = self._v, self.net
        kern.run_steps(
            self.time,
            n_steps,
            self.dt,
            kern.LinkArrays(
                self._in_ptr, self._in_links, net.length, self._base_free, self._free_time,
                self._headway, self._wave_time, self._store, self._hist_ptr, self._ring_ptr,
                self._ring_cap, self.closed, self._orig_headway,
            ),
            kern.LinkState(
                self._ring, self._exit_hist, self.n_in, self.n_out, self._last_in,
                self._last_out, self._head_ready, self._head_next, self._orig_head,
                self._orig_last, self._counters,
            ),
            kern.VehicleArrays(v.vi, v.vf, self._path_ptr, self._path_links),
            self.priority_share,
            self.stuck_time,
        )  # fmt: skip
        self._steps += n_steps
        self.time = self._steps * self.dt

    def _record(self) -> None:
        queue = self.queue_length()  # counted once for the queues and the speeds
        self.series.add(
            self.time, self.n_in, self.n_out, queue, self.speed(queue=queue), self.closed
        )

    @property
    def arrived(self) -> int:
        """Vehicles that reached their destination so far."""
        return int(self._counters[0])

    @property
    def jumps(self) -> int:
        """Gridlock jumps so far (see ``stuck_time``)."""
        return int(self._counters[1])

    # ------------------------------------------------------------------ state others read
    def vehicles_on_links(self) -> np.ndarray:
        """(L,) vehicles on each link (veh)."""
        return self.n_in - self.n_out

    def density(self) -> np.ndarray:
        """(L,) vehicles per metre of link, all lanes (veh/m)."""
        return self.vehicles_on_links() / self.net.length

    def queue_length(self) -> np.ndarray:
        """(L,) vehicles that reached the end of the link and wait to leave it (veh)."""
        return kern.queue_counts(
            self.time,
            self._ring,
            self._ring_ptr,
            self._ring_cap,
            self.n_in,
            self.n_out,
            self._v.vf,
        )

    def speed(self, *, queue: np.ndarray | None = None) -> np.ndarray:
        """(L,) expected traversal speed for a vehicle entering now (m/s): length over
        free-flow time plus queue delay; 0 on closed links (``queue``: see
        :meth:`travel_times`)."""
        with np.errstate(divide="ignore"):
            return np.where(self.closed, 0.0, self.net.length / self.travel_times(queue=queue))

    def waypoints_passed(self) -> np.ndarray:
        """(N,) waypoints of its route (see :meth:`add_route`) each vehicle has passed so
        far (0 for vehicles on none)."""
        ids = np.arange(self.n_vehicles)
        return self.routes.passed(ids, np.where(self._v.path_id[ids] >= 0, self._v.pos[ids], -1))

    # ------------------------------------------------------------------ checks and results
    def check_conservation(self) -> dict[str, int]:
        """Count vehicles in and out by separate paths and check none was created or lost
        (see :func:`twin.traffic.conservation.check_conservation`).

        Raises
        ------
        RuntimeError
            If the counts disagree (a bug, never a user error).
        """
        return check_conservation(self)

    def trips(self) -> TripRecords:
        """Per-vehicle trip records at the current time."""
        v, n = self._v, self.n_vehicles
        return TripRecords(
            origin=v.origin[:n].copy(),
            destination=v.dest[:n].copy(),
            depart=v.t_depart[:n].copy(),
            arrive=np.where(v.status[:n] == kern.ARRIVED, v.t_arrive[:n], np.nan),
            distance=v.dist[:n].copy(),
            free_time=v.free_sum[:n].copy(),
            status=v.status[:n].astype(np.int8),
            reason=v.reason[:n].copy(),
            priority=v.priority[:n].astype(bool),
            jumps=v.jumps[:n].astype(np.int32),
            now=self.time,
        )
