"""CrowdModel: pedestrians walking the walk network, one array entry per person.

Each person is in one of five states (:data:`PENDING` before departure, :data:`AT_NODE`
waiting at a node to enter a link, :data:`ON_LINK`, :data:`ARRIVED`, :data:`STUCK`). One
``step(dt)`` reads as its phases:

1. link densities -> speeds (Weidmann's diagram x the flood's wading factor), and link
   flow budgets grow by ``specific_capacity x width x dt``;
2. walkers advance; who reaches a link's end joins its FIFO queue at the exact time it did;
3. up to ``max_hops`` passes: everyone queued (or departing) is offered the next link of
   their route; :func:`~twin.crowd.kernels.fifo_admit` lets through as many as the upstream
   budget, the downstream budget and the downstream free space allow, in arrival order;
   who reaches their destination is counted in if it has room, else sent to the next one.
   The first pass offers every queue; later ones only the queues that moved or were just
   joined by someone who crossed a short link within the step (so space freed downstream
   reaches a held queue on the next step);
4. exposure, records and KPIs are updated; routes are refreshed on schedule or when a link
   opens or closes.

Destinations: people go to the nearest destination of their group with room (by walking
time) whose walking distance is within the group's limit (:meth:`set_max_distance`); or,
given an evacuation route (:meth:`add_route`), through its waypoints in order to its
destination. Who is given none is STUCK with a reason (:data:`~twin.crowd.choice.STUCK_REASONS`).

People entering (released at their departure time) and leaving (counted into a destination)
are counted where it happens, apart from the state array, so the two can be checked
against each other.
"""

from __future__ import annotations

import math

import numpy as np

from twin.crowd import kernels as kn
from twin.crowd.choice import (
    DESTINATIONS_FULL,  # noqa: F401  (re-exported with the other reasons)
    NO_REASON,
    NO_ROUTE,
    OUT_OF_RANGE,
    check_memory,
    choose,
)
from twin.crowd.destinations import DestinationTable
from twin.crowd.kpis import CrowdKpis, collect_kpis
from twin.crowd.network import WalkNetwork, route_tables
from twin.crowd.params import CrowdParams
from twin.crowd.records import CrowdRecords
from twin.crowd.routes import EvacuationRoutes
from twin.crowd.states import ARRIVED, AT_NODE, ON_LINK, PENDING, STUCK

_BANK = 1.0
"""Most unused inflow budget a link carries over to the next step (persons): more lets bursts
through and lowers congested speeds (checked on the Weidmann corridor)."""
_BIG = np.iinfo(np.int64).max // 4


class CrowdModel:
    """Pedestrians on a walk network with destinations, queues and flood coupling.

    Parameters
    ----------
    net
        The walk network.
    rng
        Random generator for the free speeds (the only randomness of the model).
    params
        Walking, capacity and flood parameters.
    t0
        Start time (s).

    Notes
    -----
    Add destinations with :meth:`add_destinations` and people with :meth:`add_people`
    (or :meth:`place_people` for people already on a link), then call :meth:`advance_to`.
    Set flood conditions with :meth:`set_flood` and closures with :meth:`set_closed`.
    """

    def __init__(
        self,
        net: WalkNetwork,
        rng: np.random.Generator,
        params: CrowdParams | None = None,
        *,
        t0: float = 0.0,
    ) -> None:
        self.net = net
        self.params = p = params or CrowdParams()
        self.rng = rng
        self.t = float(t0)
        n_links = net.n_links
        self.area = net.width * np.maximum(net.length, p.min_cell_length)
        self.storage = np.maximum(np.floor(p.storage_density * self.area), 1.0)
        self.capacity = p.specific_capacity * net.width
        rho = np.linspace(0.01, p.rho_max, 2000)
        self._rho_crit = float(rho[np.argmax(rho * kn.weidmann_factor(rho, p.rho_max, p.gamma))])
        self.out_budget = np.zeros(n_links)
        self.in_budget = np.zeros(n_links)
        self.count = np.zeros(n_links, dtype=np.int64)
        self.depth = np.zeros(n_links)
        self.velocity = np.zeros(n_links)
        self.rating = np.zeros(n_links)
        self.closed_outside = np.zeros(n_links, dtype=bool)
        self.closed = np.zeros(n_links, dtype=bool)
        self.dests = DestinationTable()
        self.routes = EvacuationRoutes()
        # people
        self.status = np.zeros(0, dtype=np.int8)
        self.reason = np.zeros(0, dtype=np.int8)
        self.link = np.zeros(0, dtype=np.int64)
        self.node = np.zeros(0, dtype=np.int64)
        self.pos = np.zeros(0)
        self.ready = np.zeros(0)
        self.v0 = np.zeros(0)
        self.depart = np.zeros(0)
        self.arrive = np.zeros(0)
        self.group = np.zeros(0, dtype=np.int64)
        self.target = np.zeros(0, dtype=np.int64)
        self.hazard_seconds = np.zeros(0)
        self.route = np.zeros(0, dtype=np.int64)
        self.stage = np.zeros(0, dtype=np.int64)
        # counted where they happen, apart from ``status``
        self.released = 0
        self.arrivals = 0
        # routes and records
        self._dist = np.zeros((0, net.n_nodes))
        self._next = np.zeros((0, net.n_nodes), dtype=np.int64)
        self._dest_row = np.zeros(0, dtype=np.int64)
        self._dist_m: np.ndarray | None = None
        self._next_reroute = -np.inf
        self._routes_dirty = True
        self._queue_hint = np.zeros(0, dtype=np.int64)
        self._first_pass = True
        self._active = np.zeros(net.n_links, dtype=bool)
        self.records = CrowdRecords(n_links, self.t, p.record_interval, p.crush_density)
        self.flood_coupled = False
        self.steps = 0
        self.person_steps = 0

    # ------------------------------------------------------------------ set-up
    def add_destinations(
        self, nodes, capacities=None, names=None, *, group: str, why=None
    ) -> np.ndarray:
        """Add a group of destinations (shelters, assembly points or exits); the arguments
        are those of :meth:`~twin.crowd.destinations.DestinationTable.add`. Returns the new
        destinations' indices."""
        idx = self.dests.add(nodes, capacities, names, group=group, why=why)
        self._routes_dirty = True
        self._dist_m = None
        return idx

    def set_max_distance(self, group: str, metres: float) -> None:
        """Send people of ``group`` only to destinations at most ``metres`` of walking on open
        links from where they stand when they choose (inf: no limit; the default)."""
        self.dests.set_max_distance(group, metres)
        self._dist_m = None

    def add_route(self, waypoints, destination: int, *, name: str) -> int:
        """Add an evacuation route: its people walk to the ``waypoints`` (node indices) in
        order, then to ``destination`` (a destination index). Returns the route's index for
        :meth:`add_people`.

        If the route's destination is full or out of reach (closed links, beyond the
        group's distance limit) when they choose, they leave the route and go to the nearest
        destination of their group instead; they are counted in ``routes.dropped``.
        """
        k = self.routes.add(
            waypoints, destination, name=name, n_nodes=self.net.n_nodes, n_dest=self.dests.size
        )
        self._routes_dirty = True
        self._dist_m = None
        return k

    def add_people(self, nodes, depart, *, group: str, free_speeds=None, route=None) -> np.ndarray:
        """Add people who leave ``nodes`` at times ``depart`` (s) for the group's destinations.

        Free speeds are drawn from N(v0, v0_sd) clipped to [v0_min, v0_max] unless given.
        ``route`` (one index from :meth:`add_route`, or one per person, -1 for none) sends
        them along an evacuation route. Returns the new people's indices.
        """
        nodes = np.asarray(nodes, dtype=np.int64).ravel()
        depart = np.broadcast_to(np.asarray(depart, dtype=np.float64), nodes.shape)
        idx = self._append(
            nodes, depart, np.full(nodes.size, -1), np.zeros(nodes.size), group, free_speeds
        )
        if route is not None:
            route = np.broadcast_to(np.asarray(route, dtype=np.int64), nodes.shape)
            if route.size and route.max() >= self.routes.size:
                raise ValueError("a route index names no route; add it first")
            self.route[idx] = route
        return idx

    def place_people(self, links, pos, *, group: str, free_speeds=None) -> np.ndarray:
        """Put people on ``links`` at distances ``pos`` (m from the link's start), walking now."""
        links = np.asarray(links, dtype=np.int64).ravel()
        pos = np.broadcast_to(np.asarray(pos, dtype=np.float64), links.shape)
        idx = self._append(
            self.net.tail[links],
            np.full(links.size, self.t),
            links,
            np.minimum(pos, self.net.length[links]),
            group,
            free_speeds,
        )
        self.status[idx] = ON_LINK
        return idx

    def _append(self, nodes, depart, links, pos, group, free_speeds) -> np.ndarray:
        p = self.params
        n = nodes.size
        g = self.dests.group_index(group)
        check_memory(
            self.status.size + n,
            self.net.n_links,
            self.net.n_nodes,
            self.dests.size + self.routes.n_waypoints,
        )
        if free_speeds is None:
            free_speeds = np.clip(self.rng.normal(p.v0, p.v0_sd, n), p.v0_min, p.v0_max)
        first = self.status.size
        cat = np.concatenate
        self.status = cat([self.status, np.full(n, PENDING, dtype=np.int8)])
        self.reason = cat([self.reason, np.zeros(n, dtype=np.int8)])
        self.link = cat([self.link, links.astype(np.int64)])
        self.node = cat([self.node, nodes])
        self.pos = cat([self.pos, pos])
        self.ready = cat([self.ready, np.full(n, np.inf)])
        self.v0 = cat([self.v0, np.broadcast_to(np.asarray(free_speeds, float), (n,))])
        self.depart = cat([self.depart, depart])
        self.arrive = cat([self.arrive, np.full(n, np.nan)])
        self.group = cat([self.group, np.full(n, g)])
        self.target = cat([self.target, np.full(n, -1, dtype=np.int64)])
        self.hazard_seconds = cat([self.hazard_seconds, np.zeros(n)])
        self._routes_dirty = True
        self.route = cat([self.route, np.full(n, -1, dtype=np.int64)])
        self.stage = cat([self.stage, np.zeros(n, dtype=np.int64)])
        idx = np.arange(first, first + n)
        on = links >= 0
        self.count += np.bincount(links[on], minlength=self.net.n_links)
        self.released += int(np.count_nonzero(on))
        return idx

    # ------------------------------------------------------------ from outside
    def set_flood(self, depth, velocity) -> None:
        """Set water depth (m) and speed (m/s) on every link; links whose hazard rating
        reaches ``flood.closure_rating`` close, and routes are refreshed if that changed."""
        f = self.params.flood
        self.depth = np.maximum(np.asarray(depth, dtype=np.float64), 0.0)
        self.velocity = np.abs(np.asarray(velocity, dtype=np.float64))
        self.rating = kn.hazard_rating(self.depth, self.velocity, f.debris_factor, f.debris_depth)
        self.flood_coupled = True
        self._update_closed()

    def set_closed(self, closed) -> None:
        """Close links for reasons other than water (collapse, cordon); True = impassable."""
        self.closed_outside = np.asarray(closed, dtype=bool).copy()
        self._update_closed()

    def _update_closed(self) -> None:
        closed = self.closed_outside | (self.rating >= self.params.flood.closure_rating)
        if not np.array_equal(closed, self.closed):
            self.closed = closed
            self._routes_dirty = True
            self._dist_m = None

    # ---------------------------------------------------------------- stepping
    def advance_to(self, t_end: float, dt: float = 1.0) -> None:
        """Step with ``dt`` (s) until time ``t_end`` (s); the last step is shortened.

        Raises
        ------
        ValueError
            If ``dt`` is not a finite number > 0 or ``t_end`` is not finite.
        """
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"time step must be a finite number of seconds > 0, got {dt!r}")
        if not math.isfinite(t_end):
            raise ValueError(f"end time must be a finite number of seconds, got {t_end!r}")
        while self.t < t_end - 1e-9:
            self.step(min(dt, t_end - self.t))

    def step(self, dt: float) -> None:
        """Advance every person by ``dt`` seconds (see the module notes for the phases)."""
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"time step must be a finite number of seconds > 0, got {dt!r}")
        p = self.params
        t_end = self.t + dt
        on = np.flatnonzero(self.status == ON_LINK)
        self.count = np.bincount(self.link[on], minlength=self.net.n_links)
        density = self.count / self.area
        factor = kn.weidmann_factor(density, p.rho_max, p.gamma)
        wade = kn.wading_factor(self.depth, p.flood.wading_depth, p.flood.wading_factor)
        self._factor, self._wade = factor, wade
        grow = self.capacity * dt
        self.out_budget = np.minimum(self.out_budget + grow, grow + 1.0)
        # a congested link takes in no more than it passes on (the supply of the cell
        # transmission model): without this, congested flow is unstable
        flow = density * np.maximum(p.v0 * factor, p.min_speed) * self.net.width
        supply = np.where(density > self._rho_crit, np.minimum(flow, self.capacity), self.capacity)
        self.in_budget = np.minimum(self.in_budget + supply * dt, supply * dt + _BANK)
        if self._routes_dirty or self.t >= self._next_reroute:
            self._reroute()
        self._walk(on, dt, t_end)
        self._first_pass = True
        for _ in range(p.max_hops):
            if not self._transfer(t_end):
                break
        self._account(on, density, dt)
        self.t = t_end
        self.steps += 1
        self.person_steps += on.size

    def _speed(self, people: np.ndarray, links: np.ndarray) -> np.ndarray:
        v = np.maximum(self.v0[people] * self._factor[links], self.params.min_speed)
        return v * self._wade[links]

    def _walk(self, on: np.ndarray, dt: float, t_end: float) -> None:
        moving = on[np.isinf(self.ready[on])]
        links = self.link[moving]
        v = self._speed(moving, links)
        new = self.pos[moving] + v * dt
        length = self.net.length[links]
        done = new >= length
        who = moving[done]
        self.ready[who] = t_end - (new[done] - length[done]) / v[done]
        self.pos[moving] = np.minimum(new, length)

    def _candidates(self, t_end: float):
        """Everyone queued at a link's end or waiting at a node, with where they stand."""
        st = self.status
        due = (st == PENDING) & (self.depart < t_end)
        if due.any():
            who = np.flatnonzero(due)
            st[who] = AT_NODE
            self.ready[who] = self.depart[who]
            self.released += who.size
            self._retarget(who)
        on = st == ON_LINK
        mask = (on | (st == AT_NODE)) & (self.ready < t_end)
        if not self._first_pass:  # later passes: only queues that changed in the last one
            mask &= ~on | self._active[np.maximum(self.link, 0)]
        # last pass's queue order first: the sort in fifo_admit then sees long sorted runs
        kept = self._queue_hint[mask[self._queue_hint]]
        mask[kept] = False
        cand = np.concatenate([kept, np.flatnonzero(mask)])
        on_link = st[cand] == ON_LINK
        # queues of links with no release budget left cannot move this pass
        spent = on_link & (self.out_budget[np.maximum(self.link[cand], 0)] < 1.0)
        if spent.any():
            cand, on_link = cand[~spent], on_link[~spent]
        node = np.where(on_link, self.net.head[np.maximum(self.link[cand], 0)], self.node[cand])
        return cand, on_link, node

    def _transfer(self, t_end: float) -> bool:
        """One pass of queue release; returns whether anyone moved."""
        n_links, dests = self.net.n_links, self.dests
        for _ in range(4):  # settle broken routes and overflows before admitting anyone
            cand, on_link, node = self._candidates(t_end)
            if cand.size == 0:
                return False
            tgt = self.target[cand]
            row, on_way = self._goal(cand, node)
            arrive = ~on_way & (node == dests.node[tgt])
            nxt = np.where(arrive, -1, self._next[row, node])
            lost = ~arrive & (nxt < 0)
            if lost.any():  # a closure broke the route, or nothing is reachable
                self.routes.drop(self.route[cand[lost & on_way]])
                self.route[cand[lost]] = -1
                self._retarget(cand[lost], at=node[lost])
                continue
            left = dests.room()
            over = np.zeros(0, dtype=np.int64)
            if arrive.any():  # arrivals beyond a destination's room go on to the next one
                ai = np.flatnonzero(arrive)
                order, rank = kn.rank_in_group(tgt[ai], self.ready[cand[ai]])
                ai = ai[order]
                over = ai[rank >= np.where(np.isinf(left), _BIG, left)[tgt[ai]]]
            if over.size == 0:
                break
            np.add.at(dests.overflow, tgt[over], 1)
            self.route[cand[over]] = -1  # a route ends at its destination, full or not
            self._retarget(cand[over], at=node[over], full=np.unique(tgt[over]))
        else:
            return True
        up = np.where(on_link, self.link[cand], np.where(arrive, 2 * n_links + tgt, n_links + nxt))
        down = np.where(arrive, n_links + tgt, nxt)
        up_quota = np.full(2 * n_links + dests.size, _BIG, dtype=np.int64)
        up_quota[:n_links] = np.floor(self.out_budget)
        room = np.where(self.closed, 0, self.storage - self.count)
        down_quota = np.full(n_links + dests.size, _BIG, dtype=np.int64)
        down_quota[:n_links] = np.maximum(np.minimum(np.floor(self.in_budget), room), 0)
        moved, order = kn.fifo_admit(up, up_quota, down, down_quota, self.ready[cand])
        if self._first_pass:  # it holds every queue; later passes hold the unspent ones
            self._queue_hint, self._first_pass = cand[order], False
        if not moved.any():
            return False
        who, downs, arr = cand[moved], down[moved], arrive[moved]
        out_n = np.bincount(up[moved][on_link[moved]], minlength=n_links)[:n_links]
        self._active = out_n > 0
        self.out_budget -= out_n
        self.count -= out_n
        st = self.status
        if arr.any():
            a = who[arr]
            st[a] = ARRIVED
            self.arrive[a] = np.maximum(self.ready[a], self.t)
            self.node[a] = node[moved][arr]
            self.link[a] = -1
            np.add.at(dests.occupancy, self.target[a], 1)
            self.arrivals += a.size
        w, dl = who[~arr], downs[~arr]
        if w.size:
            in_n = np.bincount(dl, minlength=n_links)
            self.in_budget -= in_n
            self.count += in_n
            st[w] = ON_LINK
            self.link[w] = dl
            start = np.maximum(self.ready[w], self.t)
            v = self._speed(w, dl)
            finish = start + self.net.length[dl] / v
            through = finish < t_end
            self.pos[w] = np.where(through, self.net.length[dl], v * (t_end - start))
            self.ready[w] = np.where(through, finish, np.inf)
            self._active[dl[through]] = True
        return True

    def _goal(self, cand: np.ndarray, node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Route-table row each of ``cand`` (standing at ``node``) heads for, and whether it
        is a waypoint of their evacuation route (passing the waypoints they stand on)."""
        row = self._dest_row[self.target[cand]]
        on_way = np.zeros(cand.size, dtype=bool)
        routed = np.flatnonzero(self.route[cand] >= 0)
        if routed.size == 0:
            return row, on_way
        who = cand[routed]
        self.stage[who], via = self.routes.next_waypoint(
            self.route[who], self.stage[who], node[routed]
        )
        on_way[routed] = way = via >= 0
        row[routed[way]] = via[way]
        return row, on_way

    def _retarget(self, who: np.ndarray, at: np.ndarray | None = None, full=None) -> None:
        """Send ``who`` (standing at nodes ``at``) to their route's destination if it has room
        and is within reach, else to the nearest destination of their group with room within
        the group's distance limit (``full``: destinations to treat as full); those given
        none become STUCK, off their link, with the reason."""
        if who.size == 0:
            return
        at = self.node[who] if at is None else at
        left = self.dests.room(full)
        limit = self.dests.group_limit[self.group[who]]
        need_dist = bool(np.isfinite(limit).any())
        if need_dist and self._dist_m is None:
            self._distances()
        routed = np.flatnonzero(self.route[who] >= 0)
        if routed.size:
            r = self.route[who[routed]]
            keep = self.routes.still_open(
                r, self.stage[who[routed]], at[routed], room=left, time_to=self._dist,
                dest_row=self._dest_row, metres_to=self._dist_m if need_dist else None,
                limit=limit[routed],
            )  # fmt: skip
            self.target[who[routed[keep]]] = self.routes.dest[r[keep]]
            drop = routed[~keep]
            self.routes.drop(self.route[who[drop]])
            self.route[who[drop]] = -1
            rest = np.ones(who.size, dtype=bool)
            rest[routed[keep]] = False
            who, at, limit = who[rest], at[rest], limit[rest]
            if who.size == 0:
                return
        allowed = (self.dests.group[:, None] == self.group[who][None, :]) & (left > 0)[:, None]
        rows = self._dest_row[:, None]
        cost = self._dist[rows, at[None, :]]
        dist = self._dist_m[rows, at[None, :]] if need_dist else None
        best, found, reason = choose(allowed, cost, dist, limit)
        self.target[who[found]] = best[found]
        s = who[~found]
        if s.size:
            on = s[self.link[s] >= 0]
            self.count -= np.bincount(self.link[on], minlength=self.net.n_links)
            self.link[s] = -1
            self.node[s] = at[~found]
            self.status[s] = STUCK
            self.reason[s] = reason[~found]

    def _distances(self) -> None:
        """Walking distances (m) on open links to every destination and waypoint, and what
        is left of each route after each of its waypoints."""
        nodes = self._targets
        self._dist_m, _ = route_tables(self.net, nodes, self.net.length, ~self.closed)
        self.routes.measure(self._dist_m, nodes, self._dest_row)

    def _reroute(self) -> None:
        """Recompute routes on current walking times (free speed x density x water, plus the
        time to clear each link's queue); retry people stuck for want of a route."""
        p = self.params
        nodes, self._dest_row = self.routes.target_rows(self.dests.node)
        self._targets = nodes
        speed = np.maximum(p.v0 * self._factor, p.min_speed) * self._wade
        queued = np.bincount(
            self.link[(self.status == ON_LINK) & np.isfinite(self.ready)],
            minlength=self.net.n_links,
        )
        weight = self.net.length / speed + queued / self.capacity
        self._dist, self._next = route_tables(self.net, nodes, weight, ~self.closed)
        self._next_reroute = self.t + p.reroute_interval
        self._routes_dirty = False
        if self._dist_m is not None and self._dist_m.shape[0] != nodes.size:
            self._dist_m = None
        stuck = self.status == STUCK
        retry = np.flatnonzero(stuck & ((self.reason == NO_ROUTE) | (self.reason == OUT_OF_RANGE)))
        if retry.size:
            self.status[retry] = AT_NODE
            self.reason[retry] = NO_REASON
            self.ready[retry] = self.t
            self._retarget(retry)

    def _account(self, on: np.ndarray, density: np.ndarray, dt: float) -> None:
        p = self.params
        hazardous = self.rating >= p.flood.hazard_rating
        if hazardous.any() and on.size:
            self.hazard_seconds[on[hazardous[self.link[on]]]] += dt
        self.records.observe(self.t, density, dt, self._flow_counts)

    def _flow_counts(self) -> tuple[int, int, int, int]:
        """People released, arrived, stuck and walking (at a node or on a link) now."""
        c = np.bincount(self.status, minlength=5)
        return self.released, self.arrivals, int(c[STUCK]), int(c[AT_NODE] + c[ON_LINK])

    # ----------------------------------------------------------------- reading
    def density(self) -> np.ndarray:
        """Current density on every link (persons/m2)."""
        on = self.status == ON_LINK
        return np.bincount(self.link[on], minlength=self.net.n_links) / self.area

    def density_series(self) -> tuple[np.ndarray, np.ndarray]:
        """Recorded link densities: times (s), shape ``(r,)``, and densities (persons/m2),
        shape ``(r, n_links)``, one row every ``record_interval``."""
        return self.records.density_series()

    def counts(self) -> dict[str, int]:
        """People by state: pending, at_node, on_link, arrived, stuck and total."""
        c = np.bincount(self.status, minlength=5)
        names = ("pending", "at_node", "on_link", "arrived", "stuck")
        out = {name: int(c[i]) for i, name in enumerate(names)}
        out["total"] = int(self.status.size)
        return out

    def in_hazard(self) -> int:
        """People now on links whose hazard rating is at least ``flood.hazard_rating``."""
        on = self.status == ON_LINK
        return int(np.count_nonzero(self.rating[self.link[on]] >= self.params.flood.hazard_rating))

    def crush_links(self) -> np.ndarray:
        """Links now above ``crush_density``."""
        return np.flatnonzero(self.density() > self.params.crush_density)

    def kpis(self) -> CrowdKpis:
        """Key results so far (see :class:`~twin.crowd.kpis.CrowdKpis`)."""
        return collect_kpis(self)
