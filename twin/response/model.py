"""The response model: incident generators, a dispatch center and units as SimPy processes.

>>> model = ResponseModel(travel, stations, policy=make_policy("nearest"), seed=1,
...                       background=demand)  # doctest: +SKIP
>>> model.run(86400.0).response_p90  # doctest: +SKIP

Clock: seconds since the run start. Processes:

* :func:`~twin.response.incidents.background_calls` draws Poisson calls (stream
  ``"incidents"``), :func:`~twin.response.incidents.scripted_calls` replays the scripted
  list (stream ``"scripted"``); :meth:`ResponseModel.signal` turns hazard signals
  into calls (stream ``"hazards"``). None of them reads the plan, so every plan sees the same
  calls for a seed.
* ``_dispatcher`` wakes when a call arrives or a unit frees and lets the policy match
  waiting requests (one per unit needed) to free units.
* ``trips.job`` (:mod:`~twin.response.unit_trips`) drives a unit to the scene, keeps it
  there, takes the patient to hospital when the call says so, and drives it home; a unit
  on its way home may be sent to a new call, and (with a preempting policy) a unit on its
  way to a call may be redirected to a more urgent one, the first call then waiting
  again. Policies may also move parked units between stations (coverage move-ups).
  Policies see the model through a read-only :class:`~twin.response.dispatch.DispatchView`
  (:attr:`ResponseModel.view`).
* ``_sampler`` records coverage every ``coverage_interval``.

Units drive the road state they are given (:meth:`ResponseModel.update_roads`); when it
changes, every unit on the move finishes its current link, then keeps its path at the new
link times or, if a link ahead closed, reroutes; a unit that can no longer reach the scene
reports it and the call is offered to another unit. Rescue boats move on ``water`` (e.g.
straight lines over flood water) when given. Time-based policies (tiered escalation,
outside aid) ask to be woken at set times (:meth:`DispatchPolicy.retry_at`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import EllipsisType

import numpy as np
import simpy

from twin.random import stream
from twin.response.dispatch import DispatchView, Request
from twin.response.incidents import (
    HAZARD_SIGNALS,
    PROFILES,
    BackgroundDemand,
    HazardSignal,
    Incident,
    IncidentProfile,
    ScriptedCall,
    background_calls,
    draw_incident,
    scripted_calls,
)
from twin.response.kpis import (
    NO_HOSPITAL,
    LogEvent,
    ResponseKpis,
    kpis_from_log,
    summarize,
)
from twin.response.policies import DispatchPolicy
from twin.response.travel import RoadTravel, Travel
from twin.response.unit_trips import UnitTrips
from twin.response.units import (
    TRANSITIONS,
    WATER_UNITS,
    Hospital,
    StationSpec,
    Unit,
)


class ResponseModel:
    """One replication of the response model.

    Parameters
    ----------
    travel
        Road state units drive on (:class:`~twin.response.travel.Travel`).
    stations
        Stations with their node and units; units get ids in station, then type order.
    policy
        Dispatch policy (see :func:`~twin.response.policies.make_policy`).
    seed
        Run seed; every random stream derives from it.
    background
        Poisson background calls, or ``None``.
    scripted
        Calls at fixed times.
    hospitals
        Where ambulances take patients; without any, transports are skipped.
    profiles
        Incident profiles by type (default :data:`~twin.response.incidents.PROFILES`).
    targets
        Target response time of priority 1, 2 and 3 (s).
    estimator
        Travel times the dispatcher ranks units by (default ``travel``; a free-flow copy for
        plans that dispatch on free-flow times).
    coverage_weights
        Residents at each node, for coverage (default: the background weights, else 1).
    coverage_interval
        Time between coverage samples (s); ``None`` for none.
    env
        The SimPy environment to live in (the twin's shared clock); default a new one.
    water
        How units of :data:`~twin.response.units.WATER_UNITS` (rescue boats) move, e.g. a
        :class:`~twin.response.travel.StraightTravel` over flood water; default the roads.
    """

    def __init__(
        self,
        travel: Travel,
        stations: Sequence[StationSpec],
        *,
        policy: DispatchPolicy,
        seed: int = 0,
        background: BackgroundDemand | None = None,
        scripted: Sequence[ScriptedCall] = (),
        hospitals: Sequence[Hospital] = (),
        profiles: dict[str, IncidentProfile] = PROFILES,
        targets: tuple[float, float, float] = (480.0, 900.0, 1800.0),
        estimator: Travel | None = None,
        coverage_weights: np.ndarray | None = None,
        coverage_interval: float | None = 300.0,
        env: simpy.Environment | None = None,
        water: Travel | None = None,
    ) -> None:
        self.env = env or simpy.Environment()
        self.travel = travel
        self.estimator = estimator or travel
        self.water = water
        self.stations = list(stations)
        self.policy = policy
        self.profiles = profiles
        self.targets = tuple(float(t) for t in targets)
        self.hospitals = list(hospitals)
        self.units: list[Unit] = []
        for s, station in enumerate(self.stations):
            for type_, count in sorted(station.units.items()):
                for k in range(count):
                    self.units.append(
                        Unit(len(self.units), type_, s, station.node, f"{station.name}/{type_}{k}")
                    )
        self.unit_types = {u.type for u in self.units}
        if coverage_weights is None:
            coverage_weights = background.weights if background is not None else None
        if coverage_weights is None:
            coverage_weights = np.ones(travel.n_nodes)
        self.coverage_weights = np.asarray(coverage_weights, dtype=float)
        self.incidents: list[Incident] = []
        self.pending: list[Request] = []
        self.events: list[LogEvent] = []
        self.trips = UnitTrips(
            self.env,
            travel_for=self.travel_for,
            estimator=self.estimator,
            hospitals=self.hospitals,
            record=self.record,
            set_state=self._set_state,
            events=self,
        )
        """The unit processes (drive, work, transport, home) and transport counts."""
        self.view = DispatchView(
            lambda: self.env.now,
            self.units,
            self.stations,
            frozenset(self.unit_types),
            self.targets,
            self.coverage_weights,
            self.estimator_for,
            self.record,
        )
        """What the dispatch policy sees of the model."""
        self._seq = 0
        self._wake = self.env.event()
        self._coverage: dict[str, list[float]] = {t: [] for t in sorted(self.unit_types)}
        self._hazard_rng = stream(seed, "hazards")
        self._signal_keys: set[str] = set()
        self.env.process(self._dispatcher())
        if background is not None and background.total_rate > 0:
            self.env.process(
                background_calls(self, background, stream(seed, "incidents"), profiles)
            )
        if scripted:
            self.env.process(scripted_calls(self, scripted, stream(seed, "scripted"), profiles))
        if coverage_interval:
            self.env.process(self._sampler(float(coverage_interval)))
        for unit in self.units:
            self._log("state", unit.id, -1, unit.node, "available")
        if not self.hospitals:
            self._log("no_hospital", -1, -1, -1, NO_HOSPITAL)

    # ------------------------------------------------------------------ queries
    @property
    def now(self) -> float:
        """Current simulated time (s)."""
        return self.env.now

    def travel_for(self, unit_type: str) -> Travel:
        """How units of a type move: :attr:`water` for boats when given, else the roads."""
        return self.water if self.water and unit_type in WATER_UNITS else self.travel

    def estimator_for(self, unit_type: str) -> Travel:
        """Travel times the dispatcher ranks units of a type by (boats: :attr:`water`)."""
        return self.water if self.water and unit_type in WATER_UNITS else self.estimator

    def target(self, priority: int) -> float:
        """Target response time of a priority (s)."""
        return self.targets[priority - 1]

    def free_units(self, unit_type: str) -> list[Unit]:
        """Units of a type that can take a call now, by id."""
        return [u for u in self.units if u.type == unit_type and u.free]

    # ------------------------------------------------------------------ inputs
    def call(self, incident: Incident) -> Incident:
        """Register a call now: log it, queue one request per unit it needs, wake dispatch."""
        self.incidents.append(incident)
        self._log("call", -1, incident.id, incident.node, incident.type, incident.priority)
        self.release(incident)
        if not any(t in self.unit_types for t in incident.needs):
            missing = ", ".join(sorted(incident.needs))
            self._unserved(incident, f"no {missing} in the plan")
        return incident

    def signal(self, signal: HazardSignal) -> list[Incident]:
        """Turn a hazard signal into calls now (see :data:`HAZARD_SIGNALS`); none when its
        ``key`` was signalled before. Returns the new calls."""
        if signal.key is not None:
            if signal.key in self._signal_keys:
                return []
            self._signal_keys.add(signal.key)
        type_, priority = HAZARD_SIGNALS[signal.kind]
        self._log("signal", -1, -1, signal.node, signal.kind, signal.count)
        return [
            self.call(
                draw_incident(
                    self._hazard_rng.random(4),
                    len(self.incidents),
                    type_,
                    signal.node,
                    self.env.now,
                    priority=priority,
                    source=signal.kind,
                    profiles=self.profiles,
                )
            )
            for _ in range(signal.count)
        ]

    def schedule(self, at: float, action: Callable[[], object]) -> None:
        """Call ``action()`` at time ``at`` (s; now if already past): a timeline of hazard
        signals and road changes."""
        event = self.env.timeout(max(at - self.env.now, 0.0))
        event.callbacks.append(lambda _e: action())

    def signal_at(self, at: float, signal: HazardSignal) -> None:
        """Raise a hazard signal at time ``at`` (s)."""
        self.schedule(at, lambda: self.signal(signal))

    def out_of_service(self, unit_id: int, start: float, end: float) -> None:
        """Take a unit off duty from ``start`` to ``end`` (s): a shift change, a crew break,
        maintenance. A unit busy at ``start`` goes off duty when it next parks."""
        if not end > start:
            raise ValueError(f"out of service ends ({end}) before it starts ({start})")
        unit = self.units[unit_id]

        def begin() -> None:
            unit.off_until = end
            if unit.state == "available":
                self._go_off_duty(unit)

        self.schedule(start, begin)

    def _go_off_duty(self, unit: Unit) -> None:
        self._set_state(unit, "out_of_service", -1)

        def back(_event) -> None:
            self._set_state(unit, "available", -1)
            self._poke()

        self.env.timeout(unit.off_until - self.env.now).callbacks.append(back)

    def update_roads(
        self,
        link_times: np.ndarray | EllipsisType | None = ...,
        closed: np.ndarray | EllipsisType | None = ...,
    ) -> None:
        """Give the current road state (:class:`~twin.response.travel.RoadTravel` only).

        Parameters
        ----------
        link_times
            Travel time of every edge (s, in ``travel.edges`` order) for ordinary traffic;
            ``None`` for free flow; omitted (``...``) to keep the current ones.
        closed
            Mask of closed edges (same order); ``None`` opens all; omitted to keep.

        Units on the move finish the link they are on; from its end they keep their path at
        the new link times, or take a new route if a link ahead is closed.
        """
        if not isinstance(self.travel, RoadTravel):
            raise TypeError("update_roads needs a RoadTravel")
        if link_times is not ...:
            self.travel.set_link_times(link_times)
        if closed is not ...:
            self.travel.set_closed(closed)
        self._log("roads", -1, -1, -1, "update", float(np.sum(self.travel.closed)))
        for unit in self.units:
            if unit.route is not None and unit.process is not None and unit.process.is_alive:
                unit.process.interrupt("reroute")

    def run(self, until: float) -> ResponseKpis:
        """Run to ``until`` (s since start) and close the run (see :meth:`finish`).

        Returns
        -------
        ResponseKpis
            The KPIs over ``[0, until]``.
        """
        self.advance(until)
        return self.finish()

    def advance(self, until: float) -> None:
        """Simulate up to time ``until`` (s); call repeatedly to run in chunks."""
        if until > self.env.now:
            self.env.run(until=until)

    def finish(self) -> ResponseKpis:
        """End the run now: calls no unit reached are reported unserved with why; KPIs."""
        until = self.env.now
        for inc in self.incidents:
            if inc.first_arrival is None and inc.unserved is None:
                sent = any(u.incident is inc for u in self.units)
                self._unserved(inc, "unit en route at end" if sent else "waiting at end")
        self.horizon = float(until)
        return self.kpis()

    # ------------------------------------------------------------------ outputs
    def kpis(self) -> ResponseKpis:
        """KPIs from the live objects, over ``[0, horizon]`` (after :meth:`run`)."""
        busy = [
            u.busy_time + (self.horizon - u.since if u.state not in _IDLE else 0.0)
            for u in self.units
        ]
        calls = [(i.id, i.type, i.priority, i.call_time) for i in self.incidents]
        arrivals = {i.id: i.first_arrival for i in self.incidents if i.first_arrival is not None}
        unserved = {i.id: i.unserved for i in self.incidents if i.unserved is not None}
        return summarize(
            calls,
            arrivals,
            unserved,
            busy,
            self._coverage,
            self.trips.overflow,
            self.trips.diversions,
            self.horizon,
            self.targets,
            untransported=self.trips.untransported,
            hospitals=bool(self.hospitals),
        )

    def replay(self) -> ResponseKpis:
        """KPIs recomputed from the event log alone."""
        return kpis_from_log(self.events, len(self.units), self.horizon, self.targets)

    # ------------------------------------------------------------------ processes
    def _sampler(self, interval: float):
        while True:
            for type_ in self._coverage:
                free = self.free_units(type_)
                if free:  # from the next node each free unit reaches
                    nodes = np.array([u.position(self.env.now)[0] for u in free])
                    best = self.estimator_for(type_).nearest_time(nodes, self.targets[0])
                    covered = self.coverage_weights[best <= self.targets[0]].sum()
                    share = float(covered / max(self.coverage_weights.sum(), 1e-12))
                else:
                    share = 0.0
                self._coverage[type_].append(share)
                self._log("coverage", -1, -1, -1, type_, share)
            yield self.env.timeout(interval)

    def _dispatcher(self):
        while True:
            yield self._wake
            self._wake = self.env.event()
            self._dispatch_round()

    def _dispatch_round(self) -> None:
        self._match()
        for unit, station in self.policy.move_ups(self.view):
            self._relocate(unit, station)

    def _match(self) -> None:
        """Offer waiting requests, in the policy's order, to the free units."""
        if not self.pending:
            return
        free: dict[str, list[Unit]] = {}
        for u in self.units:
            if u.free:
                free.setdefault(u.type, []).append(u)
        policy = self.policy
        if not (free or policy.preempts or policy.timed):
            return
        for req in sorted(self.pending, key=policy.key):
            if req.incident.unserved is not None:
                self.pending.remove(req)
                continue
            if free.get(req.unit_type):
                self._offer(req, free[req.unit_type])
            elif not self._outside_aid(req) and policy.preempts:  # none free: redirect?
                unit = policy.preempt_for(self.view, req)
                if unit is not None:
                    self.pending.remove(req)
                    self._assign(unit, req)
            if policy.timed and any(r is req for r in self.pending):
                self._schedule_retry(req)

    def _schedule_retry(self, req: Request) -> None:
        """Wake the dispatcher when the policy wants another look at ``req``."""
        at = self.policy.retry_at(self.view, req)
        if at is not None and at > self.env.now and at != req.retry_at:
            req.retry_at = at
            self.env.timeout(at - self.env.now).callbacks.append(lambda _e: self._poke())

    def _outside_aid(self, req: Request) -> bool:
        """Send a unit from outside the plan if the (time-based) policy says so now; it
        arrives the policy's delay (s) from now. Returns whether one was sent."""
        delay = self.policy.mutual_aid(self.view, req) if self.policy.timed else None
        if delay is None:
            return False
        self.pending.remove(req)
        inc = req.incident
        self._log("mutual_aid", -1, inc.id, inc.node, req.unit_type, delay)

        def arrive(_event) -> None:
            self._log("aid_arrival", -1, inc.id, inc.node, req.unit_type)
            inc.arrivals.append(self.env.now)
            if inc.first_arrival is None and inc.unserved is None:
                inc.first_arrival = self.env.now

        self.env.timeout(delay).callbacks.append(arrive)
        return True

    def _offer(self, req: Request, free: list[Unit]) -> None:
        """Let the policy pick one of ``free`` (removed from it) for ``req``, or wait."""
        inc = req.incident
        units = [u for u in free if u.id not in req.excluded]
        if not units:
            return
        to_scene = self.estimator_for(req.unit_type).times_to(inc.node)
        now = self.env.now
        times = np.array([lead + to_scene[node] for node, lead in (u.position(now) for u in units)])
        ok = np.isfinite(times)
        if not ok.any():
            if not self._reachable(req):
                self.pending.remove(req)
                self._give_up(inc, f"no {req.unit_type} can reach it by road")
            return
        units = [u for u, k in zip(units, ok, strict=True) if k]
        unit = self.policy.choose(self.view, req, units, times[ok])
        if unit is None:  # left waiting: a time-based policy may call outside help
            self._outside_aid(req)
            return
        self.pending.remove(req)
        free.remove(unit)
        self._assign(unit, req)

    def _reachable(self, req: Request) -> bool:
        """Whether some unit of the request's type could reach the call from its station."""
        return any(
            np.isfinite(self.travel_for(u.type).time(u.home, req.incident.node))
            for u in self.units
            if u.type == req.unit_type and u.id not in req.excluded
        )

    def _assign(self, unit: Unit, req: Request) -> None:
        """Send ``unit`` to ``req`` from where it is (parked, driving home or, when
        redirected, driving to a less urgent call)."""
        start = unit.position(self.env.now)
        if unit.process is not None and unit.process.is_alive:
            unit.process.interrupt("dispatch")
        unit.route, unit.node = None, start[0]
        unit.incident = req.incident
        self._set_state(unit, "dispatched", req.incident.id)
        unit.process = self.env.process(self.trips.job(unit, req, start))

    def _relocate(self, unit: Unit, station: int) -> None:
        """Move a parked unit to another station (a coverage move-up); it stays free."""
        unit.station, unit.home = station, self.stations[station].node
        self._log("move_up", unit.id, -1, unit.home, self.stations[station].name)
        self._set_state(unit, "returning", -1)
        unit.process = self.env.process(self.trips.go_home(unit))

    # ------------------------------------------------------------------ trip events
    def scene_unreachable(self, unit: Unit, request: Request) -> None:
        """``unit`` found no road to the scene: offer the request again, or give up."""
        if self._reachable(request):
            self.pending.append(request)
        else:
            self._give_up(request.incident, f"no {request.unit_type} can reach it by road")

    def redirected(self, request: Request) -> None:
        """The unit sent to ``request`` went to a more urgent call: it waits again."""
        self.pending.append(request)
        self._poke()

    def parked(self, unit: Unit) -> None:
        """``unit`` is home: available (or off duty when due), and dispatch looks again."""
        self._set_state(unit, "available", -1)
        if unit.off_until > self.env.now:
            self._go_off_duty(unit)
        self._poke()

    def poke(self) -> None:
        """Wake the dispatcher (a unit is free, or a call came)."""
        self._poke()

    def release(self, incident: Incident) -> None:
        """Queue the call for the dispatcher: a request per unit it needs (of the plan's
        types), as when it came in; wake the dispatcher."""
        for type_, count in sorted(incident.needs.items()):
            for _ in range(count if type_ in self.unit_types else 0):
                self.pending.append(Request(incident, type_, self._seq))
                self._seq += 1
        self._poke()

    # ------------------------------------------------------------------ bookkeeping
    def _poke(self) -> None:
        if not self._wake.triggered:
            self._wake.succeed()

    def _set_state(self, unit: Unit, state: str, incident: int) -> None:
        if state not in TRANSITIONS[unit.state] and state != unit.state:
            raise RuntimeError(f"unit {unit.name}: {unit.state} -> {state} is not allowed")
        if unit.state not in _IDLE:
            unit.busy_time += self.env.now - unit.since
        unit.state, unit.since = state, self.env.now
        self._log("state", unit.id, incident, unit.node, state)

    def _give_up(self, inc: Incident, reason: str) -> None:
        """Report ``inc`` unserved unless a unit may still come (another request of it is
        waiting, a unit is on its way, or one has arrived)."""
        if inc.first_arrival is not None or inc.unserved is not None:
            return
        if any(r.incident is inc for r in self.pending) or any(
            u.incident is inc for u in self.units
        ):
            return
        self._unserved(inc, reason)

    def _unserved(self, inc: Incident, reason: str) -> None:
        inc.unserved = reason
        self._log("unserved", -1, inc.id, inc.node, reason)

    def record(
        self, event: str, unit: int, incident: int, node: int, detail: str, value: float = 0.0
    ) -> None:
        """Append an event to the log now (for policies; see
        :data:`~twin.response.kpis.EVENTS`)."""
        self.events.append(LogEvent(self.env.now, event, unit, incident, int(node), detail, value))

    _log = record


_IDLE = frozenset({"available", "out_of_service"})
