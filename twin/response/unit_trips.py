"""What a unit does once dispatched, as SimPy processes: drive to the scene, work, take a
patient to hospital, drive home; rerouting on the way when the roads change.

:class:`UnitTrips` is composed into :class:`~twin.response.model.ResponseModel`
(``model.trips``). It is given what it uses (the clock, how each unit type moves, the
dispatcher's travel estimates, the hospitals, the log and state changes) and tells the
dispatcher what it cannot handle itself (a scene out of reach, a unit redirected, a unit
parked again) through :class:`TripEvents`. It counts the transport outcomes
(:attr:`~UnitTrips.overflow`, :attr:`~UnitTrips.diversions`,
:attr:`~UnitTrips.untransported`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np
import simpy

from twin.response.kpis import NO_HOSPITAL
from twin.response.travel import Route
from twin.response.units import WATER_UNITS, Hospital, Unit, choose_hospital

if TYPE_CHECKING:
    from twin.response.dispatch import Request
    from twin.response.incidents import Incident
    from twin.response.travel import Travel


class TripEvents(Protocol):
    """What the dispatcher does when a trip ends in a way the trip cannot settle."""

    def scene_unreachable(self, unit: Unit, request: Request) -> None:
        """``unit`` found no road to the request's scene (it is back in its hands)."""

    def redirected(self, request: Request) -> None:
        """The unit sent to ``request`` was taken for a more urgent call: it waits again."""

    def parked(self, unit: Unit) -> None:
        """``unit`` is back at its station."""

    def poke(self) -> None:
        """A unit became free to take calls: look at the waiting ones."""


class Driver(Protocol):
    """Drives road units elsewhere (a traffic model, in a coupled run) and says when they
    arrive: their arrival is then decided outside the response model."""

    def drive(self, unit: Unit, origin: int, destination: int) -> simpy.Event | None:
        """Start ``unit``'s drive now from node ``origin`` (where the response model
        thinks it is; the driver may know better) to node ``destination``. Returns an
        event that succeeds with ``(arrived, node)`` (whether it reached the destination,
        and the node it stopped at), or ``None`` to let the unit drive itself."""


class UnitTrips:
    """The unit processes of the response model.

    Parameters
    ----------
    env
        The model's clock.
    travel_for
        How units of a type move (roads, or water for boats).
    estimator
        Travel times the dispatcher ranks hospitals by.
    hospitals
        Where ambulances take patients; without any, patients are counted untransported.
    record
        Appends an event to the model's log (``record(event, unit, incident, node,
        detail)``).
    set_state
        Changes a unit's state (``set_state(unit, state, incident_id)``), checked and logged.
    events
        The dispatcher's side of a trip (see :class:`TripEvents`).
    """

    def __init__(
        self,
        env: simpy.Environment,
        *,
        travel_for: Callable[[str], Travel],
        estimator: Travel,
        hospitals: Sequence[Hospital],
        record: Callable[..., None],
        set_state: Callable[[Unit, str, int], None],
        events: TripEvents,
    ) -> None:
        self.env = env
        self.travel_for = travel_for
        self.estimator = estimator
        self.hospitals = list(hospitals)
        self._log = record
        self._set_state = set_state
        self._events = events
        self.overflow = 0
        """Patients brought to a hospital while every one was on diversion."""
        self.diversions = 0
        """Patients taken past a full hospital to another."""
        self.untransported = 0
        """Patients who needed a hospital where the map has none."""
        self.driver: Driver | None = None
        """Who drives road units, if not the response model itself (see :class:`Driver`)."""

    def job(self, unit: Unit, req: Request, start: tuple[int, float]):
        """SimPy process: serve ``req`` from ``start`` (next node, time to reach it), then
        drive home; a ``"dispatch"`` interrupt redirects the unit."""
        inc = req.incident
        to_scene = True
        try:
            arrived = yield from self._drive(unit, inc.node, start)
            to_scene = False
            if not arrived:
                self._log("unreachable", unit.id, inc.id, unit.node, "no route to the scene")
                unit.incident = None
                req.excluded.add(unit.id)
                self._events.scene_unreachable(unit, req)  # another unit may get there
            else:
                self._set_state(unit, "on_scene", inc.id)
                inc.arrivals.append(self.env.now)
                if inc.first_arrival is None and inc.unserved is None:
                    inc.first_arrival = self.env.now
                yield self.env.timeout(inc.on_scene)
                transport = inc.transport and not inc.transported
                if unit.type == "ambulance" and transport:
                    inc.transported = True  # one ambulance takes the patient
                    if self.hospitals:
                        yield from self._transport(unit, inc)
                    else:  # counted, and said once at the start of the log
                        self.untransported += 1
                        self._log("untransported", unit.id, inc.id, unit.node, NO_HOSPITAL)
            unit.incident = None
            self._set_state(unit, "returning", inc.id)
            self._events.poke()
            yield from self._home_leg(unit)
        except simpy.Interrupt as stop:
            if stop.cause != "dispatch":  # pragma: no cover - no other cause reaches here
                raise
            if to_scene:  # redirected to a more urgent call: this one waits again
                self._events.redirected(req)

    def go_home(self, unit: Unit):
        """SimPy process: drive home (a move-up); a ``"dispatch"`` interrupt stops it."""
        try:
            yield from self._home_leg(unit)
        except simpy.Interrupt as stop:
            if stop.cause != "dispatch":  # pragma: no cover - no other cause reaches here
                raise

    def _home_leg(self, unit: Unit):
        home = yield from self._drive(unit, unit.home, (unit.node, 0.0))
        if not home:
            self._log("unreachable", unit.id, -1, unit.node, "no route home")
        self._events.parked(unit)

    def _transport(self, unit: Unit, inc: Incident):
        ends = np.array([h.node for h in self.hospitals], dtype=np.int64)
        times = self.estimator.times_between(unit.node, ends).tolist()
        hospital, outcome = choose_hospital(self.hospitals, times, self.env.now)
        if hospital is None:
            self._log("unreachable", unit.id, inc.id, unit.node, "no hospital reachable")
            return
        if outcome == "overflow":
            self.overflow += 1
        elif outcome == "divert":
            self.diversions += 1
        if outcome != "nearest":
            self._log(outcome, unit.id, inc.id, hospital.node, hospital.name)
        hospital.admit(self.env.now)  # booked when the ambulance leaves the scene
        self._set_state(unit, "transporting", inc.id)
        arrived = yield from self._drive(unit, hospital.node, (unit.node, 0.0))
        if not arrived:
            self._log("unreachable", unit.id, inc.id, unit.node, "hospital cut off")
            return
        self._set_state(unit, "at_hospital", inc.id)
        yield self.env.timeout(inc.handover)

    def _drive(self, unit: Unit, dest: int, start: tuple[int, float]):
        """Drive to ``dest`` from ``start`` (next node, time to reach it). When the road state
        changes the unit finishes its link, then keeps its path with the new link times, or
        takes a new fastest route if a link ahead closed. Returns whether it arrived."""
        node, lead = start
        if self.driver is not None and unit.type not in WATER_UNITS:
            done = self.driver.drive(unit, node, dest)
            if done is not None:
                return (yield from self._driven(unit, node, dest, done))
        if node == dest and not lead:
            unit.route, unit.node = None, dest
            return True
        route, travel = None, self.travel_for(unit.type)
        while True:
            if route is None:
                route = travel.route(node, dest)
            if route is None:
                unit.route, unit.node = None, node
                if lead:
                    yield self.env.timeout(lead)
                return False
            unit.route, unit.route_start = route, self.env.now + lead
            try:
                yield self.env.timeout(lead + route.duration)
            except simpy.Interrupt as change:
                if change.cause != "reroute":
                    raise
                k, lead = route.locate(self.env.now - unit.route_start)
                node, rest = int(route.nodes[k]), route.nodes[k:]
                times = travel.path_times(rest)
                route = Route(rest, times) if np.isfinite(times[-1]) else None
                continue
            unit.route, unit.node = None, dest
            return True

    def _driven(self, unit: Unit, node: int, dest: int, done: simpy.Event):
        """Wait for the :attr:`driver` to bring ``unit`` from ``node`` to ``dest``. The
        route the roads give is kept as the unit's expected position for the dispatcher;
        road changes do not matter here (the driver reroutes). Returns whether it arrived."""
        route = self.travel_for(unit.type).route(node, dest) if node != dest else None
        unit.route, unit.route_start = route, self.env.now
        while True:
            try:
                arrived, at = yield done
                break
            except simpy.Interrupt as change:
                if change.cause != "reroute":
                    raise
        unit.route, unit.node = None, int(at)
        return bool(arrived)
