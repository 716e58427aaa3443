"""A crowd run set up from a validated scenario, its city and a plan.

Used by ``twin crowd``; the coupled city model wires the same pieces itself. Walkers come
from the evacuation order (its walkers, split once per building with the drivers:
:mod:`twin.coupling.evacuees`) and from every crowd event; venue crowds go
to their venue's exits; ground collapses close the walk links within their radius at their
time (the rule every model uses, :mod:`twin.coupling.hazards`).

Evacuees go to the city's designated shelters, the plan's ``shelters`` and the candidate
shelters the plan opens (``open_shelters``, ``open_candidates``), never farther than the
plan's ``max_shelter_distance`` of walking (3 km without a plan); those in an evacuation
route's zone walk through its waypoints to its shelter (routes for ``walk`` or ``both``).

Without flood coupling the model is given no water depths unless the scenario has no water
at all (then it is told the streets are dry), so hazard exposure is reported as not
computed rather than as 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import shapely

from twin.coupling.evacuees import split_evacuees
from twin.coupling.hazards import collapse_links
from twin.coupling.problems import locate
from twin.crowd.choice import check_memory
from twin.crowd.component import CrowdComponent
from twin.crowd.model import CrowdModel
from twin.crowd.network import WalkNetwork
from twin.crowd.params import CrowdParams
from twin.crowd.sources import (
    Destinations,
    _polygon,
    _project,
    candidate_names,
    city_shelters,
    shelters_from_plan,
    venue_crowd,
)
from twin.engine.run import Callback, Observer
from twin.engine.run import run as engine_run
from twin.engine.timeline import Event, Timeline
from twin.errors import Problem, UserInputError
from twin.random import stream
from twin.scenario.hazards import CrowdEvent, GroundCollapse, Inflow, Rainfall, SeaLevel
from twin.scenario.plan import Plan

DEFAULT_MAX_SHELTER_DISTANCE = float(Plan.model_fields["max_shelter_distance"].default)
"""Walking-distance limit to a shelter without a plan (m): the plan schema's default."""
MAX_WAYPOINT_SNAP = 250.0
"""Most distance from a route waypoint to the walk network (m)."""
SCENARIO_FIELDS = ("hazards", "demand", "time")
"""Top-level scenario fields the crowd set-up names in its problems."""
PLAN_FIELDS = ("shelters", "open_shelters", "open_candidates", "evacuation_routes")
"""Top-level plan fields the crowd set-up names in its problems."""

if TYPE_CHECKING:
    from twin.city import CityPack
    from twin.scenario.schema import Scenario


@dataclass
class CrowdRun:
    """A crowd model with its timeline of closures.

    Attributes
    ----------
    model
        The model, people and destinations added.
    closures
        ``(time s, mask of links closed from then on, name)``, in time order.
    """

    model: CrowdModel
    closures: list[tuple[float, np.ndarray, str]] = field(default_factory=list)

    def component(self, *, dt: float = 1.0, name: str = "crowd") -> CrowdComponent:
        """The model as an engine component stepping by ``dt`` (s)."""
        return CrowdComponent(self.model, dt=dt, name=name)

    def timeline(self, name: str = "crowd") -> Timeline:
        """The closures from the model's time on as engine events for component ``name``."""
        return Timeline(
            Event(float(when), name, "close_links", {"links": np.flatnonzero(mask).tolist()}, label)
            for when, mask, label in self.closures
            if when >= self.model.t
        )

    def run(
        self,
        until: float,
        *,
        dt: float = 1.0,
        chunk: float = 60.0,
        on_progress: Callable[[CrowdModel], None] | None = None,
        observers: Sequence[Observer] = (),
    ) -> None:
        """Advance to ``until`` (s) on the engine (:func:`twin.engine.run.run`), closing
        links on time, the clock stopping every ``chunk`` (s) and at each closure for the
        ``observers`` and ``on_progress(model)``. A closure at or after ``until`` is not
        applied (it would act after the run)."""
        if until <= self.model.t:
            return
        observers = list(observers)
        if on_progress is not None:
            observers.append(Callback(lambda _t, _run: on_progress(self.model)))
        engine_run(
            [self.component(dt=dt)],
            until,
            timeline=self.timeline(),
            exchange_every=chunk,
            observers=observers,
        )


def crowd_from_scenario(
    scenario: Scenario,
    pack: CityPack,
    plan: Plan | None = None,
    params: CrowdParams | None = None,
    *,
    scenario_file: Path | str | None = None,
    plan_file: Path | str | None = None,
) -> CrowdRun:
    """Set up the walkers, destinations and closures a scenario implies.

    Parameters
    ----------
    scenario, pack, plan
        The validated scenario, its city and the plan (None: no plan; then only the
        city's designated shelters are open).
    params
        Model parameters (defaults if omitted).
    scenario_file, plan_file
        The files they were read from, if any: problems are then given the file and line
        of the field they name.

    Raises
    ------
    twin.errors.UserInputError
        If the scenario has no walkers, evacuees have no shelter, or a place is off the map.
    """
    try:
        return _crowd_run(scenario, pack, plan, params)
    except UserInputError as exc:
        exc = locate(exc, scenario, SCENARIO_FIELDS, file=scenario_file)
        raise locate(exc, plan, PLAN_FIELDS, file=plan_file) from None


def _crowd_run(
    scenario: Scenario, pack: CityPack, plan: Plan | None, params: CrowdParams | None
) -> CrowdRun:
    net = WalkNetwork.from_links(pack.links("walk"), crs=pack.crs)
    model = CrowdModel(net, stream(scenario.seed, "crowd.speeds"), params)
    order = scenario.demand.evacuation
    if order is not None:
        _add_evacuation(model, pack, net, order, plan, scenario.seed)
    closures = []
    for i, hazard in enumerate(scenario.hazards):
        if isinstance(hazard, CrowdEvent):
            group = hazard.name or f"crowd event {i}"
            people = model.status.size + hazard.people  # refused before any is drawn
            check_memory(people, net.n_links, net.n_nodes, 1, field=f"hazards.{i}.people")
            nodes, depart, exits = venue_crowd(
                pack,
                net,
                hazard,
                stream(scenario.seed, f"crowd.event.{i}"),
                field=f"hazards.{i}.venue",
            )
            model.add_destinations(
                exits.nodes, exits.capacities, exits.names, group=group, why=exits.why
            )
            model.add_people(nodes, depart, group=group)
        elif isinstance(hazard, GroundCollapse):
            index, order = net.link_index()
            mask = np.zeros(net.n_links, dtype=bool)
            mask[order] = collapse_links(index, pack.crs, hazard.location, hazard.radius)
            closures.append((hazard.at, mask, hazard.name or f"ground collapse {i}"))
    if model.status.size == 0:
        raise UserInputError(
            Problem(
                "the scenario sends nobody on foot: it has no crowd event and no evacuation "
                "order with walkers",
                field="hazards",
                fix="add a `crowd_event` hazard or `demand.evacuation` with car_share < 1",
            )
        )
    if not any(isinstance(h, Rainfall | Inflow | SeaLevel) for h in scenario.hazards):
        model.set_flood(np.zeros(net.n_links), np.zeros(net.n_links))  # no water anywhere
    return CrowdRun(model, sorted(closures, key=lambda c: c[0]))


def _add_evacuation(model, pack, net, order, plan: Plan | None, seed: int) -> None:
    """Shelters, distance limit, routes and evacuees of an evacuation order."""
    listed = list(plan.shelters) if plan is not None else []
    plan_shelters = shelters_from_plan(pack, net, listed)
    city = city_shelters(
        pack,
        net,
        open_all=plan is not None and plan.open_candidates,
        opened=list(plan.open_shelters) if plan is not None else [],
    )
    taken = {s.facility for s in listed if s.facility is not None}
    f = pack.facilities
    ids = set((f["osm_type"].astype(str) + "/" + f["osm_id"].astype(str)).tolist()) & taken
    keep = [not any(nm.endswith(i) for i in ids) for nm in city.names]  # listed in plan
    shelters = Destinations(
        np.concatenate([city.nodes[keep], plan_shelters.nodes]),
        np.concatenate([city.capacities[keep], plan_shelters.capacities]),
        [n for n, k in zip(city.names, keep, strict=True) if k] + plan_shelters.names,
        [w for w, k in zip(city.why or [], keep, strict=True) if k] + (plan_shelters.why or []),
    )
    if shelters.nodes.size == 0:
        raise UserInputError(_nowhere_to_go(pack, plan))
    dest = model.add_destinations(
        shelters.nodes, shelters.capacities, shelters.names, group="shelters", why=shelters.why
    )
    limit = plan.max_shelter_distance if plan is not None else DEFAULT_MAX_SHELTER_DISTANCE
    model.set_max_distance("shelters", limit)
    nodes, depart = _walkers(pack, net, order, seed)
    routes = _routes(model, pack, net, plan, dest[-len(listed) :] if listed else dest[:0], nodes)
    model.add_people(nodes, depart, group="shelters", route=routes)


def _walkers(pack, net, order, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Start node and departure time (s) of each evacuee on foot: the walkers of the split
    the traffic set-up shares (:func:`twin.coupling.evacuees.split_evacuees`), each leaving
    from the walk node nearest its building (representative point) at ``order_time`` plus
    a delay drawn from ``order.curve`` (stream ``crowd.evacuees``)."""
    heads = split_evacuees(pack, order, seed).walkers
    where = "demand.evacuation." + ("zone" if order.zone is not None else "buildings")
    check_memory(int(heads.sum()), net.n_links, net.n_nodes, 1, field=where)
    homes = np.flatnonzero(heads > 0)
    nodes = np.zeros(0, dtype=np.int64)
    if homes.size:
        pts = pack.buildings.geometry.iloc[homes].representative_point()
        node, _ = net.nearest_nodes(pts.x.to_numpy(), pts.y.to_numpy())
        nodes = np.repeat(np.asarray(node, dtype=np.int64), heads[homes])
    depart = order.order_time + order.curve.delays(nodes.size, stream(seed, "crowd.evacuees"))
    return nodes, depart


def _nowhere_to_go(pack: CityPack, plan: Plan | None) -> Problem:
    """Why an evacuation has no shelter, and how to open one."""
    candidates = candidate_names(pack)
    if candidates:
        shown = ", ".join(candidates[:5])
        more = f" and {len(candidates) - 5} more" if len(candidates) > 5 else ""
        how = (
            "open candidate shelters with the plan field `open_shelters: [name or OSM id]` "
            f"(candidates of {pack.name}: {shown}{more}) or `open_candidates: true`, or list "
            "the plan's own `shelters:`"
        )
    else:
        how = f"{pack.name} maps no candidate shelter either: list `shelters:` in the plan"
    if plan is None:
        return Problem(
            f"the evacuation has nowhere to go: {pack.name} maps no designated shelter and "
            "no plan was given to open one",
            field="demand.evacuation",
            fix=f"pass --plan PLAN.yaml (or list it under the scenario's `plans:`); in it, {how}",
        )
    return Problem(
        f"the evacuation has nowhere to go: {pack.name} maps no designated shelter and plan "
        f"{plan.name!r} lists no shelter and opens no candidate",
        field="open_shelters",
        fix=how,
    )


def _routes(model, pack, net, plan: Plan | None, listed: np.ndarray, origins) -> np.ndarray:
    """Add the plan's walking routes to ``model``; the route of each origin (-1: none).

    ``listed`` are the destination indices of the plan's ``shelters``, in order.
    """
    route = np.full(origins.size, -1, dtype=np.int64)
    if plan is None:
        return route
    names = [s.name for s in plan.shelters]
    zone_less, problems = [], []
    free = np.ones(origins.size, dtype=bool)
    for i, r in enumerate(plan.evacuation_routes):
        if r.mode == "car":
            continue
        field = f"evacuation_routes.{i}"
        xy = _project(pack, r.waypoints)
        via, dist = net.nearest_nodes(xy[:, 0], xy[:, 1])
        far = np.flatnonzero(dist > MAX_WAYPOINT_SNAP)
        for j in far:
            problems.append(
                Problem(
                    f"route {r.name!r}: waypoint {j + 1} is {dist[j]:.0f} m from the nearest "
                    f"walkway (at most {MAX_WAYPOINT_SNAP:.0f} m)",
                    field=f"{field}.waypoints.{j}",
                    fix="put each waypoint on a street or path of the city",
                )
            )
        if far.size:
            continue
        if r.shelter is not None:
            target = int(listed[names.index(r.shelter)])
        else:  # the destination nearest (straight line) the last waypoint
            d = np.hypot(
                net.x[model.dests.node] - net.x[via[-1]], net.y[model.dests.node] - net.y[via[-1]]
            )
            target = int(np.argmin(d))
        k = model.add_route(via, target, name=r.name)
        if r.zone is not None:
            poly = _polygon(pack, r.zone, f"{field}.zone")
            inside = free & shapely.contains_xy(poly, net.x[origins], net.y[origins])
            route[inside] = k
            free &= ~inside
        else:
            zone_less.append((k, via[0]))
    if problems:
        raise UserInputError(problems)
    if zone_less:  # the zone-less route whose first waypoint is nearest each home
        first = np.array([v for _, v in zone_less])
        d = np.hypot(
            net.x[origins][:, None] - net.x[first][None, :],
            net.y[origins][:, None] - net.y[first][None, :],
        )
        pick = np.array([k for k, _ in zone_less])[np.argmin(d, axis=1)]
        route[free] = pick[free]
    return route
