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
"""

from __future__ import annotations

import numpy as np

from twin.crowd import kernels as kn
from twin.crowd.kpis import CrowdKpis, clearance_times
from twin.crowd.network import WalkNetwork, route_tables
from twin.crowd.params import CrowdParams

PENDING, AT_NODE, ON_LINK, ARRIVED, STUCK = 0, 1, 2, 3, 4
NO_REASON, NO_ROUTE, DESTINATIONS_FULL = 0, 1, 2
STUCK_REASONS = {
    NO_ROUTE: "no open route to any destination",
    DESTINATIONS_FULL: "every destination is full",
}


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
        # destinations
        self.dest_node = np.zeros(0, dtype=np.int64)
        self.dest_capacity = np.zeros(0)
        self.dest_group = np.zeros(0, dtype=np.int64)
        self.dest_names: list[str] = []
        self.occupancy = np.zeros(0, dtype=np.int64)
        self.overflow = np.zeros(0, dtype=np.int64)
        self.group_names: list[str] = []
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
        # routes and records
        self._dist = np.zeros((0, net.n_nodes))
        self._next = np.zeros((0, net.n_nodes), dtype=np.int64)
        self._dest_row = np.zeros(0, dtype=np.int64)
        self._next_reroute = -np.inf
        self._routes_dirty = True
        self._queue_hint = np.zeros(0, dtype=np.int64)
        self._first_pass = True
        self._active = np.zeros(net.n_links, dtype=bool)
        self.record_times: list[float] = []
        self.record_density: list[np.ndarray] = []
        self._next_record = self.t
        self.max_density = 0.0
        self.max_density_link = -1
        self.max_density_time = float("nan")
        self.crush_link_seconds = np.zeros(n_links)
        self.steps = 0
        self.person_steps = 0

    # ------------------------------------------------------------------ set-up
    def add_destinations(self, nodes, capacities=None, names=None, *, group: str) -> np.ndarray:
        """Add a group of destinations (shelters, assembly points or exits).

        Parameters
        ----------
        nodes
            Node index of each destination.
        capacities
            People each holds (inf if omitted: exits).
        names
            Names for KPIs.
        group
            Group name; people of this group go to the nearest member with room left.

        Returns
        -------
        numpy.ndarray
            Indices of the new destinations.
        """
        nodes = np.atleast_1d(np.asarray(nodes, dtype=np.int64))
        caps = np.full(nodes.size, np.inf) if capacities is None else np.asarray(capacities, float)
        if caps.shape != nodes.shape or np.any(~(caps > 0)):
            raise ValueError("capacities must be positive, one per destination")
        if group not in self.group_names:
            self.group_names.append(group)
        g = self.group_names.index(group)
        first = self.dest_node.size
        names = [f"{group}:{i}" for i in range(nodes.size)] if names is None else list(names)
        self.dest_node = np.concatenate([self.dest_node, nodes])
        self.dest_capacity = np.concatenate([self.dest_capacity, caps])
        self.dest_group = np.concatenate([self.dest_group, np.full(nodes.size, g)])
        self.dest_names += [str(n) for n in names]
        self.occupancy = np.concatenate([self.occupancy, np.zeros(nodes.size, dtype=np.int64)])
        self.overflow = np.concatenate([self.overflow, np.zeros(nodes.size, dtype=np.int64)])
        self._routes_dirty = True
        return np.arange(first, self.dest_node.size)

    def add_people(self, nodes, depart, *, group: str, free_speeds=None) -> np.ndarray:
        """Add people who leave ``nodes`` at times ``depart`` (s) for the group's destinations.

        Free speeds are drawn from N(v0, v0_sd) clipped to [v0_min, v0_max] unless given.
        Returns the new people's indices.
        """
        nodes = np.asarray(nodes, dtype=np.int64).ravel()
        depart = np.broadcast_to(np.asarray(depart, dtype=np.float64), nodes.shape)
        return self._append(
            nodes, depart, np.full(nodes.size, -1), np.zeros(nodes.size), group, free_speeds
        )

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
        if group not in self.group_names:
            raise ValueError(f"no destinations in group {group!r}; add them first")
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
        self.group = cat([self.group, np.full(n, self.group_names.index(group))])
        self.target = cat([self.target, np.full(n, -1, dtype=np.int64)])
        self.hazard_seconds = cat([self.hazard_seconds, np.zeros(n)])
        self._routes_dirty = True
        idx = np.arange(first, first + n)
        on = links >= 0
        self.count += np.bincount(links[on], minlength=self.net.n_links)
        return idx

    # ------------------------------------------------------------ from outside
    def set_flood(self, depth, velocity) -> None:
        """Set water depth (m) and speed (m/s) on every link; links whose hazard rating
        reaches ``flood.closure_rating`` close, and routes are refreshed if that changed."""
        f = self.params.flood
        self.depth = np.maximum(np.asarray(depth, dtype=np.float64), 0.0)
        self.velocity = np.abs(np.asarray(velocity, dtype=np.float64))
        self.rating = kn.hazard_rating(self.depth, self.velocity, f.debris_factor, f.debris_depth)
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

    # ---------------------------------------------------------------- stepping
    def advance_to(self, t_end: float, dt: float = 1.0) -> None:
        """Step with ``dt`` (s) until time ``t_end`` (s); the last step is shortened."""
        while self.t < t_end - 1e-9:
            self.step(min(dt, t_end - self.t))

    def step(self, dt: float) -> None:
        """Advance every person by ``dt`` seconds (see the module notes for the phases)."""
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
        n_links, n_dest = self.net.n_links, self.dest_node.size
        for _ in range(4):  # settle broken routes and overflows before admitting anyone
            cand, on_link, node = self._candidates(t_end)
            if cand.size == 0:
                return False
            tgt = self.target[cand]
            arrive = node == self.dest_node[tgt]
            nxt = np.where(arrive, -1, self._next[self._dest_row[tgt], node])
            lost = ~arrive & (nxt < 0)
            if lost.any():  # a closure broke the route, or nothing is reachable
                self._retarget(cand[lost], at=node[lost])
                continue
            left = self.dest_capacity - self.occupancy
            over = np.zeros(0, dtype=np.int64)
            if arrive.any():  # arrivals beyond a destination's room go on to the next one
                ai = np.flatnonzero(arrive)
                order, rank = kn.rank_in_group(tgt[ai], self.ready[cand[ai]])
                ai = ai[order]
                over = ai[rank >= np.where(np.isinf(left), _BIG, left)[tgt[ai]]]
            if over.size == 0:
                break
            np.add.at(self.overflow, tgt[over], 1)
            self._retarget(cand[over], at=node[over], full=np.unique(tgt[over]))
        else:
            return True
        up = np.where(on_link, self.link[cand], np.where(arrive, 2 * n_links + tgt, n_links + nxt))
        down = np.where(arrive, n_links + tgt, nxt)
        up_quota = np.full(2 * n_links + n_dest, _BIG, dtype=np.int64)
        up_quota[:n_links] = np.floor(self.out_budget)
        room = np.where(self.closed, 0, self.storage - self.count)
        down_quota = np.full(n_links + n_dest, _BIG, dtype=np.int64)
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
            np.add.at(self.occupancy, self.target[a], 1)
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

    def _retarget(self, who: np.ndarray, at: np.ndarray | None = None, full=None) -> None:
        """Send ``who`` (standing at nodes ``at``) to the nearest destination of their group
        with room left (``full``: destinations to treat as full); those with none become
        STUCK, off their link, with the reason."""
        if who.size == 0:
            return
        at = self.node[who] if at is None else at
        left = self.dest_capacity - self.occupancy
        if full is not None:
            left[full] = 0
        allowed = (self.dest_group[:, None] == self.group[who][None, :]) & (left > 0)[:, None]
        cost = np.where(allowed, self._dist[self._dest_row[:, None], at[None, :]], np.inf)
        if cost.shape[0]:
            best = np.argmin(cost, axis=0)
            found = np.isfinite(cost[best, np.arange(who.size)])
        else:
            best, found = np.zeros(who.size, dtype=np.int64), np.zeros(who.size, dtype=bool)
        self.target[who[found]] = best[found]
        s = who[~found]
        if s.size:
            on = s[self.link[s] >= 0]
            self.count -= np.bincount(self.link[on], minlength=self.net.n_links)
            self.link[s] = -1
            self.node[s] = at[~found]
            self.status[s] = STUCK
            self.reason[s] = np.where(allowed[:, ~found].any(axis=0), NO_ROUTE, DESTINATIONS_FULL)

    def _reroute(self) -> None:
        """Recompute routes on current walking times (free speed x density x water, plus the
        time to clear each link's queue); retry people stuck for want of a route."""
        p = self.params
        nodes, self._dest_row = np.unique(self.dest_node, return_inverse=True)
        speed = np.maximum(p.v0 * self._factor, p.min_speed) * self._wade
        queued = np.bincount(
            self.link[(self.status == ON_LINK) & np.isfinite(self.ready)],
            minlength=self.net.n_links,
        )
        weight = self.net.length / speed + queued / self.capacity
        self._dist, self._next = route_tables(self.net, nodes, weight, ~self.closed)
        self._next_reroute = self.t + p.reroute_interval
        self._routes_dirty = False
        retry = np.flatnonzero((self.status == STUCK) & (self.reason == NO_ROUTE))
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
        if density.size:
            i = int(np.argmax(density))
            if density[i] > self.max_density:
                self.max_density, self.max_density_link = float(density[i]), i
                self.max_density_time = self.t
            self.crush_link_seconds += (density > p.crush_density) * dt
        if self.t >= self._next_record - 1e-9:
            self.record_times.append(self.t)
            self.record_density.append(density.astype(np.float32))
            self._next_record += p.record_interval

    # ----------------------------------------------------------------- reading
    def density(self) -> np.ndarray:
        """Current density on every link (persons/m2)."""
        on = self.status == ON_LINK
        return np.bincount(self.link[on], minlength=self.net.n_links) / self.area

    def density_series(self) -> tuple[np.ndarray, np.ndarray]:
        """Recorded link densities: times (s), shape ``(r,)``, and densities (persons/m2),
        shape ``(r, n_links)``, one row every ``record_interval``."""
        rows = self.record_density or [np.zeros(self.net.n_links, dtype=np.float32)]
        return np.asarray(self.record_times), np.vstack(rows)[: len(self.record_times)]

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
        link = self.max_density_link
        where = None
        if link >= 0:
            where = (
                int(self.net.node_ids[self.net.tail[link]]),
                int(self.net.node_ids[self.net.head[link]]),
            )
        stuck = self.status == STUCK
        reasons = {
            STUCK_REASONS[r]: int(np.count_nonzero(stuck & (self.reason == r)))
            for r in STUCK_REASONS
        }
        return CrowdKpis(
            time=self.t,
            people=int(self.status.size),
            counts=self.counts(),
            clearance=clearance_times(self.arrive, self.status.size),
            destinations=[
                {
                    "name": self.dest_names[d],
                    "group": self.group_names[self.dest_group[d]],
                    "capacity": float(self.dest_capacity[d]),
                    "occupancy": int(self.occupancy[d]),
                    "overflow": int(self.overflow[d]),
                }
                for d in range(self.dest_node.size)
            ],
            stuck_reasons={k: v for k, v in reasons.items() if v},
            max_density=self.max_density,
            max_density_link=link,
            max_density_nodes=where,
            max_density_time=self.max_density_time,
            crush_link_minutes=float(self.crush_link_seconds.sum() / 60.0),
            person_minutes_in_hazard=float(self.hazard_seconds.sum() / 60.0),
        )
