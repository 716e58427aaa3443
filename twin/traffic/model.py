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
from typing import ClassVar

import numpy as np

from twin.errors import Problem, UserInputError
from twin.traffic import kernels as kern
from twin.traffic.network import RoadNetwork
from twin.traffic.outputs import LinkSeries, TripRecords
from twin.traffic.routing import paths_for_pairs


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
    ) -> None:
        if dt <= 0 or route_slice <= 0 or record_every <= 0:
            raise UserInputError("dt, route_slice and record_every must be positive (s)")
        self.net = network
        self.dt = float(dt)
        self.route_slice = float(route_slice)
        self.reroute_every = reroute_every
        self.record_every = float(record_every)
        self.priority_share = float(priority_share)
        self.stuck_time = np.inf if stuck_time is None else float(stuck_time)
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
        self._v = _VehicleArrays(0)
        self._counters = np.zeros(2, dtype=np.int64)
        # paths
        self._path_ptr = np.zeros(1, dtype=np.int64)
        self._path_links = np.zeros(0, dtype=np.int32)
        self._compacted_size = 1 << 16
        self._routed_until = -np.inf
        self._next_reroute = reroute_every if reroute_every else np.inf
        self.series = LinkSeries(network.length)
        self._record()

    # ------------------------------------------------------------------ demand
    def add_vehicles(
        self,
        origins,
        destinations,
        departures,
        priority=False,
    ) -> np.ndarray:
        """Add vehicles that depart from node ``origins`` to node ``destinations``.

        Parameters
        ----------
        origins, destinations
            (M,) node indices (see :meth:`RoadNetwork.node_index`).
        departures
            (M,) departure times (s), not before the model's current time.
        priority
            Bool or (M,) bools: emergency vehicles that pass queues (see ``priority_share``).

        Returns
        -------
        numpy.ndarray
            (M,) ids of the new vehicles (indices into the trip records).
        """
        o = np.atleast_1d(np.asarray(origins, dtype=np.int64))
        d = np.atleast_1d(np.asarray(destinations, dtype=np.int64))
        t = np.atleast_1d(np.asarray(departures, dtype=np.float64))
        if not (len(o) == len(d) == len(t)):
            raise UserInputError("origins, destinations and departures differ in length")
        bad_node = np.flatnonzero((o < 0) | (o >= self.net.n_nodes) | (d < 0))
        bad_node = np.union1d(bad_node, np.flatnonzero(d >= self.net.n_nodes))
        if bad_node.size:
            raise UserInputError(
                Problem(f"trip {int(bad_node[0])}: node index out of range", fix="snap first")
            )
        early = np.flatnonzero(t < self.time - 1e-9)
        if early.size:
            raise UserInputError(
                Problem(
                    f"trip {int(early[0])} departs at {t[early[0]]:.1f} s, before the model's "
                    f"time {self.time:.1f} s",
                    field="departure",
                    fix="inject vehicles at or after the current time",
                )
            )
        m = len(o)
        ids = np.arange(self.n_vehicles, self.n_vehicles + m)
        self._v.grow(self.n_vehicles + m)
        v = self._v
        v.origin[ids], v.dest[ids], v.t_depart[ids], v.t_ready[ids] = o, d, t, t
        v.priority[ids] = np.broadcast_to(np.asarray(priority, dtype=np.bool_), (m,))
        v.status[ids], v.veh_link[ids], v.path_id[ids] = kern.WAITING, -1, -1
        self.n_vehicles += m
        self._rebuild_origin_queues()
        if np.isfinite(self._routed_until):
            self._plan(until=self._routed_until, reroute=None)
        return ids

    def _rebuild_origin_queues(self) -> None:
        v, n = self._v, self.n_vehicles
        waiting = np.flatnonzero(v.status[:n] == kern.WAITING)
        order = waiting[np.lexsort((waiting, v.t_depart[waiting], v.origin[waiting]))]
        v.queue_next[order] = -1
        same = v.origin[order[1:]] == v.origin[order[:-1]]
        v.queue_next[order[:-1][same]] = order[1:][same]
        self._orig_head[:] = -1
        if order.size:
            first = np.ones(order.size, dtype=bool)
            first[1:] = ~same
            self._orig_head[v.origin[order[first]]] = order[first]

    # ------------------------------------------------------------------ routing
    def travel_times(self) -> np.ndarray:
        """(L,) current link travel time estimate (s): free flow plus queue over capacity;
        ``inf`` on closed links."""
        tt = self._free_time + self.queue_length() * self._headway
        return np.where(self.closed, np.inf, tt)

    def _assign(self, vehicles: np.ndarray, starts: np.ndarray, reason: np.ndarray) -> None:
        """Give ``vehicles`` the current shortest path from node ``starts`` to their
        destination; those with none left are stranded with ``reason``."""
        if vehicles.size == 0:
            return
        v = self._v
        net = self.net
        ptr, links, found, which = paths_for_pairs(
            net.n_nodes,
            net.link_from,
            net.link_to,
            self.travel_times(),
            starts,
            v.dest[vehicles],
        )
        if len(self._path_links) + len(links) > 4 * self._compacted_size:
            self._compact_paths()
        base = len(self._path_ptr) - 1
        self._path_ptr = np.concatenate([self._path_ptr, self._path_ptr[-1] + ptr[1:]])
        self._path_links = np.concatenate([self._path_links, links])
        ok = found[which]
        v.path_id[vehicles[ok]] = base + which[ok]
        v.pos[vehicles[ok]] = 0
        lost = vehicles[~ok]
        v.status[lost] = kern.STRANDED
        v.reason[lost] = reason[~ok]
        v.t_arrive[lost[v.veh_link[lost] < 0]] = self.time
        self._refresh_heads()

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
        1 if none), and those with one (waiting or en route; reason 2 if none left): all of
        them (``reroute="all"``) or those whose remaining path uses a closed link
        (``"closed"``)."""
        v, n = self._v, self.n_vehicles
        status, has_path = v.status[:n], v.path_id[:n] >= 0
        new = np.zeros(n, dtype=bool)
        if until is not None:
            new = ~has_path & (status == kern.WAITING) & (v.t_depart[:n] < until)
        again = np.zeros(n, dtype=bool)
        if reroute is not None and len(self._path_ptr) > 1:
            again = has_path & ((status == kern.WAITING) | (status == kern.ON_LINK))
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
            self._in_ptr,
            self._in_links,
            net.length,
            self._base_free,
            self._free_time,
            self._headway,
            self._wave_time,
            self._store,
            self._hist_ptr,
            self._ring_ptr,
            self._ring_cap,
            self.closed,
            self._orig_headway,
            self._ring,
            self._exit_hist,
            self.n_in,
            self.n_out,
            self._last_in,
            self._last_out,
            self._head_ready,
            self._head_next,
            self._orig_head,
            self._orig_last,
            v.vi,
            v.vf,
            self._path_ptr,
            self._path_links,
            self.priority_share,
            self.stuck_time,
            self._counters,
        )
        self._steps += n_steps
        self.time = self._steps * self.dt

    def _record(self) -> None:
        self.series.add(self.time, self.n_in, self.n_out, self.queue_length())

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

    def speed(self) -> np.ndarray:
        """(L,) expected traversal speed for a vehicle entering now (m/s): length over
        free-flow time plus queue delay; 0 on closed links."""
        with np.errstate(divide="ignore"):
            return np.where(self.closed, 0.0, self.net.length / self.travel_times())

    # ------------------------------------------------------------------ checks and results
    def check_conservation(self) -> dict[str, int]:
        """Count vehicles by state and check none was created or lost.

        Returns
        -------
        dict
            Vehicles ``waiting``, ``on_links``, ``arrived``, ``stranded`` and ``total``.

        Raises
        ------
        RuntimeError
            If the counts disagree (a bug, never a user error).
        """
        v, n = self._v, self.n_vehicles
        status = v.status[:n]
        on_links = int((v.veh_link[:n] >= 0).sum())
        counts = {
            "waiting": int((status == kern.WAITING).sum()),
            "on_links": on_links,
            "arrived": int((status == kern.ARRIVED).sum()),
            "stranded": int(((status == kern.STRANDED) & (v.veh_link[:n] < 0)).sum()),
            "total": n,
        }
        problems = []
        if counts["waiting"] + on_links + counts["arrived"] + counts["stranded"] != n:
            problems.append(f"states do not add up: {counts}")
        if int((self.n_in - self.n_out).sum()) != on_links:
            problems.append("link counters disagree with vehicle positions")
        if counts["arrived"] != self.arrived:
            problems.append("arrivals counted twice or missed")
        if np.any(self.n_in - self.n_out > self._store) or np.any(self.n_out > self.n_in):
            problems.append("a link holds more than its storage or fewer than none")
        if problems:
            raise RuntimeError("; ".join(problems))
        return counts

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


class _VehicleArrays:
    """Per-vehicle state, grown by doubling (indices are vehicle ids).

    Hot fields live packed in ``vi`` (int64) and ``vf`` (float64), one row per vehicle (see
    :mod:`twin.traffic.kernels` for the columns); attributes such as ``status`` are column
    views of them. ``origin``, ``dest`` and ``reason`` are separate arrays.
    """

    INT_COLS: ClassVar[dict[str, int]] = {
        "status": kern.I_STATUS,
        "veh_link": kern.I_LINK,
        "path_id": kern.I_PATH,
        "pos": kern.I_POS,
        "queue_next": kern.I_QNEXT,
        "priority": kern.I_PRIO,
        "jumps": kern.I_JUMPS,
    }
    INT_FILL = (kern.WAITING, -1, -1, 0, -1, 0, 0)
    FLOAT_COLS: ClassVar[dict[str, int]] = {
        "t_ready": kern.F_READY,
        "t_depart": kern.F_DEPART,
        "t_arrive": kern.F_ARRIVE,
        "dist": kern.F_DIST,
        "free_sum": kern.F_FREE,
    }
    FLOAT_FILL = (0.0, 0.0, np.nan, 0.0, 0.0)

    def __init__(self, size: int) -> None:
        self.size = 0
        self.vi = np.zeros((0, len(self.INT_COLS)), dtype=np.int64)
        self.vf = np.zeros((0, 5))
        self.origin = np.zeros(0, dtype=np.int64)
        self.dest = np.zeros(0, dtype=np.int64)
        self.reason = np.zeros(0, dtype=np.int8)
        self._views()
        self.grow(size)

    def _views(self) -> None:
        for name, col in self.INT_COLS.items():
            setattr(self, name, self.vi[:, col])
        for name, col in self.FLOAT_COLS.items():
            setattr(self, name, self.vf[:, col])

    def grow(self, needed: int) -> None:
        if needed <= self.size:
            return
        new = max(needed, 2 * self.size, 1024)
        vi = np.empty((new, len(self.INT_COLS)), dtype=np.int64)
        vi[:] = self.INT_FILL
        vi[: self.size] = self.vi
        vf = np.empty((new, 5))
        vf[:] = self.FLOAT_FILL
        vf[: self.size] = self.vf
        self.vi, self.vf = vi, vf
        for name in ("origin", "dest", "reason"):
            old = getattr(self, name)
            arr = np.zeros(new, dtype=old.dtype)
            arr[: self.size] = old
            setattr(self, name, arr)
        self.size = new
        self._views()
