"""The exchange between the models of a coupled run, every interval (default 60 s).

One exchange at time ``t``, read as prose (each step a documented coupling function):

1. flood -> roads (:func:`twin.coupling.roads.flood_roads`): depth along every drive link,
   Pregnolato speed factors, closures to cars (0.3 m) and emergency vehicles (0.6 m);
   traffic gets the car factors and closures (it reroutes); vehicles on a link that has
   just closed to cars are stranded (:func:`~twin.coupling.roads.stranded_on_closing`).
   Hazard chains (:mod:`twin.coupling.chains`): each ``flood_collapse`` watch takes the
   deepest water per link; a road that collapses closes for every model from now on.
   Closures by hazards (ground collapse, wind, flood collapse, a trigger's
   ``close_road``) stay closed while the water recedes, and the chain links the run has
   reached (levee breaches, wind closures) go into the log as cause -> effect.
2. flood -> walkers (:func:`twin.coupling.walkers.walk_flood`): depth, speed and Defra
   hazard rating on every walk link; the crowd is slowed and kept off links rated at the
   avoid rating (at the hazard rating once a warning of ``warned_level`` or above is in
   force: warned walkers keep out of water that is a danger for some); people on links at
   the hazard rating are counted by class.
3. traffic -> response: live link times (traffic speed, and the water's emergency factor)
   and closures to emergency vehicles, for the dispatcher's estimates; road units drive
   as priority vehicles inside the traffic model and arrive when their vehicle does
   (:mod:`twin.coupling.unit_vehicles`, at most one exchange interval late).
4. hazards -> incidents (:mod:`twin.coupling.calls`): water rescues, stranded-vehicle
   rescues and crowd crush calls go to the response model as hazard signals, each with
   its cause in the event log.
5. crowd <-> traffic (:class:`twin.coupling.shelters.CarShelters`): evacuating cars arrived
   at a shelter are counted in with their people, in the places walkers fill too; a full
   shelter sends them on to the next one.
6. vital signs (:mod:`twin.metrics.vitals`) and triggers
   (:class:`twin.coupling.triggers.TriggerSet`): every firing is logged with its cause.

Everything the exchange keeps between intervals (previous closures, stranded vehicles,
episodes, its random stream, the inputs given to the response model) is in
:meth:`Exchange.snapshot`, so a checkpointed run resumes bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.coupling.calls import (
    Episodes,
    crowd_crush_calls,
    link_nodes,
    vehicle_rescue_calls,
    water_rescue_calls,
)
from twin.coupling.chains import ChainLink
from twin.coupling.hazards import Closure
from twin.coupling.roads import LinkState, RoadThresholds, flood_roads, sample_links_on_grid
from twin.coupling.shelters import CarShelters
from twin.coupling.triggers import TriggerSet, scenario_forecasts
from twin.coupling.twin_actions import close_road, evacuate, open_shelter
from twin.coupling.twin_hazards import closed_at
from twin.coupling.twin_setup import grid_transform
from twin.coupling.unit_vehicles import UnitVehicles
from twin.coupling.vital_signs import vital_signs
from twin.coupling.walkers import (
    WalkerRules,
    avoided_links,
    in_hazard,
    people_by_class,
    walk_flood,
)
from twin.engine.component import rng_state, set_rng_state
from twin.random import stream

if TYPE_CHECKING:
    from twin.coupling.twin_setup import TwinParts

__all__ = ["Exchange", "ExchangeRules"]


@dataclass(frozen=True)
class ExchangeRules:
    """What the exchange decides with (plan-level parameters, defaults as documented).

    Attributes
    ----------
    roads
        Closure depths per vehicle class (:class:`~twin.coupling.roads.RoadThresholds`).
    walkers
        Hazard and avoid ratings (:class:`~twin.coupling.walkers.WalkerRules`).
    warned_level
        Warning level (1 blue ... 4 red) from which walkers avoid links at the hazard
        rating (default 3, orange): an assumption of how a warning changes behaviour.
    min_factor
        Least share of free speed a unit's link time is computed with (avoids infinite
        link times on a jammed link; 0.02).
    units_in_traffic
        Road units drive as priority vehicles in the traffic model
        (:mod:`twin.coupling.unit_vehicles`; default); False: on link times only.
    """

    roads: RoadThresholds = field(default_factory=RoadThresholds)
    walkers: WalkerRules = field(default_factory=WalkerRules)
    warned_level: int = 3
    min_factor: float = 0.02
    units_in_traffic: bool = True


class Exchange:
    """The coupling hook of a :class:`twin.model.CityTwin` (see the module notes).

    Parameters
    ----------
    parts
        The run's models (:func:`twin.coupling.twin_setup.build_parts`).
    rules
        Thresholds and behaviours (default :class:`ExchangeRules()`).
    """

    def __init__(self, parts: TwinParts, rules: ExchangeRules | None = None) -> None:
        self.parts = parts
        self.rules = rules if rules is not None else ExchangeRules()
        pack = parts.pack.largest_component()
        self.drive = pack.links("drive")
        self.walk = parts.pack.links("walk")
        traffic = parts.traffic.model
        self.length = np.asarray(traffic.net.length, dtype=np.float64)
        self.free_speed = np.asarray(traffic.net.free_speed, dtype=np.float64)
        self.road_sampler = self.walk_sampler = None
        if parts.flood is not None:
            transform, shape = grid_transform(parts)
            self.road_sampler = sample_links_on_grid(self.drive, transform, shape)
            if parts.crowd is not None:
                self.walk_sampler = sample_links_on_grid(self.walk, transform, shape)
        travel = parts.response.travel
        self.edge_links = np.asarray(self._edge_links(travel), dtype=np.int64)
        node_map = np.array([travel.index.get(int(n), -1) for n in self.drive.node_ids])
        self.drive_node = node_map[np.asarray(self.drive.head, dtype=np.int64)]
        self.walk_node = np.zeros(0, dtype=np.int64)
        if parts.crowd is not None:
            self.walk_node = node_map[link_nodes(self.walk, self.drive)]
        self.units: UnitVehicles | None = None
        if self.rules.units_in_traffic:
            to_traffic = traffic.net.node_indices(travel.node_ids.tolist())
            self.units = UnitVehicles(traffic, parts.clock.env, to_traffic)
            parts.response.trips.driver = self.units
        n_drive, n_walk = self.length.size, self.walk.n_links
        self.triggers = TriggerSet(parts.plan.triggers)
        self.rng = stream(parts.seed, "coupling.calls")
        self.evacuate_rng = stream(parts.seed, "coupling.evacuate")
        # state kept between exchanges
        self.closed_cars = np.zeros(n_drive, dtype=bool)
        self.closed_emergency = np.zeros(n_drive, dtype=bool)
        self.walk_avoid = np.zeros(n_walk, dtype=bool)
        self.stranded = np.zeros(traffic.n_vehicles, dtype=bool)
        self.water_episodes = Episodes.none(n_walk)
        self.crush_episodes = Episodes.none(n_walk)
        self.hazard_calls = 0
        self.peak_depth: np.ndarray | None = None
        """Deepest water (m) per flood cell seen at any exchange so far."""
        self.people_hazard = np.zeros(4)
        self.in_hazard_people = 0.0
        self.response_inputs: list[tuple[float, np.ndarray, np.ndarray, list]] = []
        self.events: list[dict[str, Any]] = []
        self.timings = {"coupling": 0.0}
        # hazard closures (drive links in the traffic network's order, walk links)
        self.closures = list(parts.closures)
        self.walk_closures = list(parts.walk_closures)
        self.watches = list(parts.watches)
        self.added: list[dict[str, Any]] = []  # closures made during the run (checkpoint)
        self.chain_logged = 0
        self.hazard_closed = np.zeros(n_drive, dtype=bool)
        self.walk_closed = np.zeros(n_walk, dtype=bool)
        self.road_depth = np.zeros(n_drive)
        self.shelters_opened: list[str] = []
        self._grids: tuple | None = None
        self.cars: CarShelters | None = None
        crowd = parts.crowd
        if crowd is not None and "shelters" in crowd.model.dests.group_names:
            cars = parts.evacuee_vehicles
            self.cars = CarShelters(traffic, crowd.model, cars, parts.car_people, parts.car_shelter)

    def _edge_links(self, travel) -> list[int]:
        position = {
            (int(a), int(b), int(k)): i
            for i, (a, b, k) in enumerate(
                zip(
                    self.drive.node_ids[self.drive.tail],
                    self.drive.node_ids[self.drive.head],
                    self.drive.key,
                    strict=True,
                )
            )
        }
        return [position[e] for e in travel.edges]

    def log(self, t: float, source: str, kind: str, detail: str) -> None:
        """Add a line to the run's event log."""
        self.events.append({"time": float(t), "source": source, "kind": kind, "detail": detail})

    # ------------------------------------------------------------------ the exchange
    def __call__(self, t: float, components: Any = None) -> None:
        """Exchange at time ``t`` (s): see the module notes."""
        import time

        w0 = time.perf_counter()
        p = self.parts
        depth = speed = None
        if p.flood is not None:
            depth, speed = self.flood_grids(t)
            self.peak_depth = (
                depth if self.peak_depth is None else np.maximum(self.peak_depth, depth)
            )
        self._roads(t, depth)
        self._hazards(t)
        self._walkers(t, depth, speed)
        signals = self._calls(t)
        self._response(t, signals)
        self._shelters(t)
        self.timings["coupling"] += time.perf_counter() - w0

    def flood_grids(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """The flood's depth (m) and speed (m/s) grids at ``t`` (s), computed once per time
        (the speed needs the cell velocities: the exchange, the vital signs and the flood
        record share one computation)."""
        flood = self.parts.flood
        if self._grids is None or self._grids[0] != t or self._grids[3] != flood.time:
            self._grids = (float(t), flood.output("depth"), flood.output("speed"), flood.time)
        return self._grids[1], self._grids[2]

    def _roads(self, t: float, depth: np.ndarray | None) -> None:
        traffic = self.parts.traffic.model
        if depth is None or self.road_sampler is None:
            self.em_factor = np.ones(self.length.size)
            return
        before = LinkState(
            np.zeros(0), np.zeros(0), np.zeros(0), self.closed_cars, self.closed_emergency,
            np.zeros(0), np.zeros(0),
        )  # fmt: skip
        state = flood_roads(self.road_sampler, depth, self.rules.roads, before)
        self.road_depth = state.depth
        self.em_factor = state.emergency_speed_factor
        opened = self.closed_cars & ~state.closed_cars
        newly = state.closed_cars & ~self.closed_cars
        v = traffic._v
        on = v.status == 1
        link = np.where(on, v.veh_link, -1)
        caught = np.zeros(link.size, dtype=bool)
        caught[on] = newly[link[on]]
        if self.stranded.size < link.size:  # the vehicle arrays grow in blocks
            self.stranded = np.concatenate(
                [self.stranded, np.zeros(link.size - self.stranded.size, bool)]
            )
        caught &= ~self.stranded[: link.size]
        if self.units is not None:  # a unit's vehicle drives out and is rerouted
            caught &= ~self.units.mask(link.size)
        self.stranded[: link.size] |= caught
        self.newly_stranded = np.flatnonzero(caught)
        self.stranded_links = link[caught]
        traffic.speed_factor[:] = np.where(state.closed_cars, 1.0, state.speed_factor)
        if newly.any():
            traffic.close_links(np.flatnonzero(newly))
            self.log(t, "flood", "roads_closed", f"{int(newly.sum())} drive links closed to cars")
        held = opened & closed_at(self.closures, t, opened.size)
        if opened.any():
            if (opened & ~held).any():
                traffic.open_links(np.flatnonzero(opened & ~held))
            self.log(t, "flood", "roads_opened", f"{int(opened.sum())} drive links reopened")
        self.closed_cars = state.closed_cars
        self.closed_emergency = state.closed_emergency

    def _hazards(self, t: float) -> None:
        """Collapse watches, the chain log up to ``t`` and the hazard closures held."""
        from twin.coupling.chains import collapse_closure

        if self.road_sampler is not None:
            for w in self.watches:
                link = w.update(t, self.road_depth)
                if link is not None:
                    closure = collapse_closure(link, w, self.length.size)
                    walk = self.parts.walk_watch_links.get(w.field)
                    self.add_closure(closure, walk)
                    self.log(t, "chain", link.kind, _chain_text(link))
        chain = self.parts.chain
        while self.chain_logged < len(chain) and chain[self.chain_logged].time <= t + 1e-9:
            link = chain[self.chain_logged]
            self.log(link.time, "chain", link.kind, _chain_text(link))
            self.chain_logged += 1
        before = self.hazard_closed
        self.hazard_closed = closed_at(self.closures, t, self.length.size)
        traffic = self.parts.traffic.model
        ended = before & ~self.hazard_closed & ~self.closed_cars & traffic.closed
        if ended.any():  # a closure's time is up and the water does not hold the link
            traffic.open_links(np.flatnonzero(ended))
        missing = (self.hazard_closed | self.closed_cars) & ~traffic.closed
        if missing.any():  # closed by a hazard now, or reopened by a timeline event early
            traffic.close_links(np.flatnonzero(missing))

    def add_closure(self, closure: Closure, walk: np.ndarray | None = None) -> None:
        """Close ``closure``'s drive links (and the walk links ``walk``) for every model
        from its start to its end; kept in checkpoints."""
        self.closures.append(closure)
        if walk is not None:
            self.walk_closures.append(
                Closure(closure.start, closure.end, walk, closure.name, closure.field)
            )
        self.added.append(
            {
                "start": closure.start,
                "end": closure.end if math.isfinite(closure.end) else None,
                "name": closure.name,
                "field": closure.field,
                "drive": np.flatnonzero(closure.links).tolist(),
                "walk": None if walk is None else np.flatnonzero(walk).tolist(),
            }
        )

    def _walkers(self, t: float, depth, speed) -> None:
        crowd = self.parts.crowd
        if crowd is None:
            return
        m = crowd.model
        count = crowd.output("count").astype(np.float64)
        walk_hz = closed_at(self.walk_closures, t, m.net.n_links)
        ended = self.walk_closed & ~walk_hz  # closures whose time is up
        wanted = (m.closed_outside & ~self.walk_avoid & ~ended) | walk_hz
        self.walk_closed = walk_hz
        if depth is None or self.walk_sampler is None:
            if not np.array_equal(wanted, m.closed_outside):
                m.set_closed(wanted)
            self.rating = np.zeros(count.size)
            self.people_hazard = np.array([count.sum(), 0.0, 0.0, 0.0])
            self.in_hazard_people = 0.0
            return
        wf = walk_flood(self.walk_sampler, depth, speed)
        self.rating = wf.rating
        m.set_flood(wf.depth, wf.velocity)
        rules = self.rules.walkers
        threshold = rules.avoid_rating
        if self.triggers.warning_level >= self.rules.warned_level:
            threshold = rules.hazard_rating
        avoid = avoided_links(wf.rating, WalkerRules(rules.hazard_rating, threshold))
        wanted |= avoid  # closures by the timeline and by hazards stay
        if not np.array_equal(wanted, m.closed_outside):
            m.set_closed(wanted)
        self.walk_avoid = avoid
        self.people_hazard = people_by_class(count, wf.hazard_class)
        self.in_hazard_people = float(count[in_hazard(wf.rating, rules)].sum())

    def _calls(self, t: float) -> list[tuple[str, int, int, str]]:
        signals = []
        crowd = self.parts.crowd
        calls = []
        if crowd is not None and self.walk_sampler is not None:
            count = crowd.output("count").astype(np.float64)
            new, self.water_episodes = water_rescue_calls(
                t, count, self.rating, self.walk_node, self.water_episodes
            )
            calls += new
        if crowd is not None:
            new, self.crush_episodes = crowd_crush_calls(
                t, crowd.model.density(), self.walk_node, self.crush_episodes
            )
            calls += new
        if self.road_sampler is not None and self.newly_stranded.size:
            calls += vehicle_rescue_calls(
                t, self.newly_stranded, self.stranded_links, self.drive_node, self.rng,
                depth=self.road_depth,
            )  # fmt: skip
        for call in calls:
            if call.signal is None or call.node < 0:
                continue
            signals.append((call.signal, int(call.node), 1, call.key))
            self.log(t, "hazards", call.kind, call.cause)
        self.hazard_calls += len(signals)
        return signals

    def _response(self, t: float, signals: list) -> None:
        r = self.parts.response
        traffic = self.parts.traffic.model
        ratio = np.clip(traffic.speed() / np.maximum(self.free_speed, 1e-9), 0.0, 1.0)
        factor = np.where(self.closed_cars, self.em_factor, np.minimum(ratio, self.em_factor))
        factor = np.maximum(factor, self.rules.min_factor)[self.edge_links]
        times = r.travel.free_flow / factor
        closed = (self.closed_emergency | self.hazard_closed)[self.edge_links]
        self.response_inputs.append((float(t), times, closed, list(signals)))
        if self.units is not None:
            self.units.poll(t)
        apply_response_inputs(r, times, closed, signals)

    def _shelters(self, t: float) -> None:
        if self.cars is None:
            return
        taken, sent, left = self.cars.update(t)
        if sent or left:
            self.log(
                t, "crowd", "shelter_full",
                f"{taken} people by car counted in; full shelters sent {sent} on and left "
                f"{left} with no shelter in reach",
            )  # fmt: skip

    # ------------------------------------------------------------------ vital signs
    def vitals(self, t: float) -> dict[str, float]:
        """The :data:`~twin.metrics.vitals.VITALS` now (after the exchange at ``t``;
        :func:`twin.coupling.vital_signs.vital_signs`)."""
        return vital_signs(self, t)

    def evaluate_triggers(self, t: float, vitals: dict[str, float]) -> None:
        """Update the plan's triggers with the vital signs, gauges and forecasts at ``t``."""
        keys = self.triggers.keys
        if not keys:
            return
        values = {k: vitals[k] for k in keys if k in vitals}
        values.update(scenario_forecasts(self.parts.scenario, keys, t))
        for key in keys:
            if key.startswith("gauge:") and key not in values:
                values[key] = self._gauge(key[len("gauge:") :])
        for firing in self.triggers.update(t, values):
            self.log(
                t, "triggers", "fired", f"{firing.label}: {firing.condition} ({firing.values})"
            )
            for w in firing.warnings:
                self.log(t, "triggers", "warning", f"{w.level} for {w.area_name}: {w.cause}")
            for j, action in enumerate(firing.actions):
                at = f"triggers.{firing.trigger}.then.{j}"
                if action.evacuate is not None:
                    self.evacuate(t, action.evacuate, firing.label)
                elif action.close_road is not None:
                    self.close_road(t, at, firing.label)
                elif action.open_shelter is not None:
                    self.open_shelter(t, at, firing.label)

    def close_road(self, t: float, at: str, cause: str) -> None:
        """Carry out the ``close_road`` at field ``at`` from ``t`` (s)
        (:func:`twin.coupling.twin_actions.close_road`)."""
        close_road(self, t, at, cause)

    def open_shelter(self, t: float, at: str, cause: str) -> None:
        """Carry out the ``open_shelter`` at field ``at`` at ``t`` (s)
        (:func:`twin.coupling.twin_actions.open_shelter`)."""
        open_shelter(self, t, at, cause)

    def evacuate(self, t: float, order: Any, cause: str) -> tuple[int, int]:
        """Carry out an evacuation order at ``t`` (s); walkers and cars whose departure
        moved (:func:`twin.coupling.twin_actions.evacuate`)."""
        return evacuate(self, t, order, cause)

    def _gauge(self, name: str) -> float:
        p = self.parts
        gauge = next((g for g in p.scenario.flood.gauges if g.name == name), None)
        if gauge is None or p.flood is None:
            return math.nan
        from pyproj import Transformer

        x, y = Transformer.from_crs("EPSG:4326", p.pack.crs, always_xy=True).transform(
            *gauge.location
        )
        (a, b, c, d, e, f), (ny, nx) = grid_transform(p)
        col = math.floor((e * (x - c) - b * (y - f)) / (a * e - b * d))
        row = math.floor((-d * (x - c) + a * (y - f)) / (a * e - b * d))
        if not (0 <= row < ny and 0 <= col < nx):
            return math.nan
        return float(p.flood.output("depth")[row, col])

    # ------------------------------------------------------------------ state
    def snapshot(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays and JSON-ready data of the exchange's state."""
        arrays = {
            "closed_cars": self.closed_cars,
            "closed_emergency": self.closed_emergency,
            "walk_avoid": self.walk_avoid,
            "stranded": self.stranded,
            "water.since": self.water_episodes.since,
            "water.called": self.water_episodes.called,
            "crush.since": self.crush_episodes.since,
            "crush.called": self.crush_episodes.called,
            "people_hazard": self.people_hazard,
            **rng_state(self.rng, "rng"),
            **rng_state(self.evacuate_rng, "evacuate_rng"),
        }
        k = len(self.response_inputs)
        arrays["response.times"] = np.array([r[0] for r in self.response_inputs])
        arrays["response.link_times"] = (
            np.stack([r[1] for r in self.response_inputs]) if k else np.zeros((0, 0))
        )
        arrays["response.closed"] = (
            np.stack([r[2] for r in self.response_inputs]) if k else np.zeros((0, 0), bool)
        )
        data = {
            "signals": [r[3] for r in self.response_inputs],
            "triggers": self.triggers.snapshot(),
            "events": self.events,
            "hazard_calls": self.hazard_calls,
            "in_hazard_people": self.in_hazard_people,
            "added": self.added,
            "chain_logged": self.chain_logged,
            "shelters_opened": self.shelters_opened,
        }
        arrays["watches"] = np.array([w.state() for w in self.watches]).reshape(-1, 3)
        arrays["hazard_closed"] = self.hazard_closed
        arrays["walk_closed"] = self.walk_closed
        if self.peak_depth is not None:
            arrays["peak_depth"] = self.peak_depth
        if self.road_sampler is not None:
            arrays["em_factor"] = self.em_factor
            arrays["road_depth"] = getattr(self, "road_depth", np.zeros(self.length.size))
        if self.parts.crowd is not None:
            arrays["rating"] = self.rating
        if self.cars is not None:
            arrays.update(self.cars.snapshot())
        if self.units is not None:
            arrays.update(self.units.snapshot())
        return arrays, data

    def restore(self, arrays: dict[str, np.ndarray], data: dict[str, Any]) -> None:
        """Put a fresh exchange (same parts) into a snapshot's state, and replay the
        response model's inputs up to the snapshot's time on the run's clock (its SimPy
        processes cannot be stored; the same inputs at the same times rebuild them)."""
        self.closed_cars = arrays["closed_cars"].astype(bool)
        self.closed_emergency = arrays["closed_emergency"].astype(bool)
        self.walk_avoid = arrays["walk_avoid"].astype(bool)
        self.stranded = arrays["stranded"].astype(bool)
        self.water_episodes = Episodes(arrays["water.since"], arrays["water.called"].astype(bool))
        self.crush_episodes = Episodes(arrays["crush.since"], arrays["crush.called"].astype(bool))
        self.people_hazard = np.asarray(arrays["people_hazard"], dtype=np.float64)
        set_rng_state(self.rng, arrays, "rng")
        set_rng_state(self.evacuate_rng, arrays, "evacuate_rng")
        self.triggers.restore(data["triggers"])
        self.events = [dict(e) for e in data["events"]]
        self.hazard_calls = int(data["hazard_calls"])
        self.in_hazard_people = float(data["in_hazard_people"])
        for w, (since, fired, peak) in zip(self.watches, arrays["watches"].tolist(), strict=True):
            w.since, w.fired, w.peak = since, fired, peak
        for a in data["added"]:
            drive = np.zeros(self.length.size, dtype=bool)
            drive[np.asarray(a["drive"], dtype=np.int64)] = True
            walk = None
            if a["walk"] is not None:
                walk = np.zeros(self.walk.n_links, dtype=bool)
                walk[np.asarray(a["walk"], dtype=np.int64)] = True
            end = math.inf if a["end"] is None else float(a["end"])
            self.add_closure(Closure(float(a["start"]), end, drive, a["name"], a["field"]), walk)
        self.chain_logged = int(data["chain_logged"])
        self.hazard_closed = np.asarray(arrays["hazard_closed"]).astype(bool)
        self.walk_closed = np.asarray(arrays["walk_closed"]).astype(bool)
        self.shelters_opened = list(data["shelters_opened"])  # the crowd's snapshot has them
        self.peak_depth = np.asarray(arrays["peak_depth"]) if "peak_depth" in arrays else None
        if "em_factor" in arrays:
            self.em_factor = np.asarray(arrays["em_factor"])
            self.road_depth = np.asarray(arrays["road_depth"])
        else:
            self.em_factor = np.ones(self.length.size)
        if "rating" in arrays:
            self.rating = np.asarray(arrays["rating"])
        if self.cars is not None:
            self.cars.restore(arrays)
        self.newly_stranded = np.zeros(0, dtype=np.int64)
        clock = self.parts.clock
        r = self.parts.response
        self.response_inputs = []
        if self.units is not None:
            self.units.start_replay(arrays)
        for k, t in enumerate(np.asarray(arrays["response.times"]).tolist()):
            times = np.asarray(arrays["response.link_times"][k])
            closed = np.asarray(arrays["response.closed"][k]).astype(bool)
            signals = [tuple(s) for s in data["signals"][k]]
            clock.advance_to(t)
            self.response_inputs.append((t, times, closed, signals))
            if self.units is not None:
                self.units.poll(t)
            apply_response_inputs(r, times, closed, signals)
        if self.units is not None:
            self.units.end_replay()


def _chain_text(link: ChainLink) -> str:
    where = f" ({link.field})" if link.field else ""
    return f"{link.cause} -> {link.effect}{where}"


def apply_response_inputs(response, times: np.ndarray, closed: np.ndarray, signals) -> None:
    """Give the response model one exchange's road state and hazard signals."""
    from twin.response.incidents import HazardSignal

    response.update_roads(link_times=times, closed=closed)
    for kind, node, count, key in signals:
        response.signal(HazardSignal(kind, int(node), int(count), key))
