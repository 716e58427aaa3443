"""What a unit does once dispatched, as SimPy processes: drive to the scene, work, take a
patient to hospital, drive home; rerouting on the way when the roads change.

:class:`UnitTrips` is a part of :class:`~twin.response.model.ResponseModel` (which it
extends); it uses the model's clock, travel, hospitals, log and state bookkeeping.
"""

from __future__ import annotations

import numpy as np
import simpy

from twin.response.incidents import Incident
from twin.response.kpis import NO_HOSPITAL
from twin.response.policies import Request
from twin.response.travel import Route
from twin.response.units import Unit, choose_hospital


class UnitTrips:
    """The unit processes of the response model (a mixin of ``ResponseModel``)."""

    def _job(self, unit: Unit, req: Request, start: tuple[int, float]):
        inc = req.incident
        to_scene = True
        try:
            arrived = yield from self._drive(unit, inc.node, start)
            to_scene = False
            if not arrived:
                self._log("unreachable", unit.id, inc.id, unit.node, "no route to the scene")
                unit.incident = None
                req.excluded.add(unit.id)
                if self._reachable(req):
                    self.pending.append(req)  # another unit may get there
                else:
                    self._give_up(inc, f"no {req.unit_type} can reach it by road")
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
            self._poke()
            yield from self._home_leg(unit)
        except simpy.Interrupt as stop:
            if stop.cause != "dispatch":  # pragma: no cover - no other cause reaches here
                raise
            if to_scene:  # redirected to a more urgent call: this one waits again
                self.pending.append(req)
                self._poke()

    def _go_home(self, unit: Unit):
        try:
            yield from self._home_leg(unit)
        except simpy.Interrupt as stop:
            if stop.cause != "dispatch":  # pragma: no cover - no other cause reaches here
                raise

    def _home_leg(self, unit: Unit):
        home = yield from self._drive(unit, unit.home, (unit.node, 0.0))
        if not home:
            self._log("unreachable", unit.id, -1, unit.node, "no route home")
        self._set_state(unit, "available", -1)
        if unit.off_until > self.env.now:
            self._go_off_duty(unit)
        self._poke()

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
