"""Scenario + plan + city -> the response model's inputs, and the model built from them.

The scenario and plan speak the user's language (places in lon/lat, facilities by OSM id,
dispatch options with defaults, jurisdictions with areas); the response model
(:mod:`twin.response`) takes plain inputs: stations on road nodes, calls, hospitals, a
policy built with explicit values, closed-link masks. This module is the one place that
translates, and the one that checks a plan against its city; the dispatch section (policy,
options, jurisdictions) is translated by :mod:`twin.coupling.response_dispatch`, whose
functions are re-exported here.

Every mistake a user can make here (a station naming a facility the city lacks or placed off
the road graph, units no incident can need, a dispatch policy no one registered) is gathered
and raised as one :class:`~twin.errors.ScenarioError` naming the file, line, field and a
fix.

>>> model = build_response(scenario, plan, pack)  # doctest: +SKIP
>>> kpis = model.run(scenario.time.duration)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twin.city.geometry import describe_point_problem, format_lonlat
from twin.coupling.problems import problem_maker
from twin.coupling.response_dispatch import (
    dispatch_policy,
    jurisdictions_of,
    plan_policy,
    policy_options,
)
from twin.errors import Problem, ScenarioError, UserInputError
from twin.response.incidents import (
    BackgroundDemand,
    HazardSignal,
    ScriptedCall,
    unit_types_needed,
)
from twin.response.model import ResponseModel
from twin.response.network import CityNetwork, hospitals_of
from twin.response.travel import StraightTravel
from twin.response.units import BOAT_SPEED, WATER_UNITS, StationSpec
from twin.scenario.quantities import humanize_duration

if TYPE_CHECKING:
    from twin.city.pack import CityPack
    from twin.engine.run import Observer, RunResult
    from twin.scenario.plan import Plan
    from twin.scenario.schema import Scenario

__all__ = [
    "DEFAULT_FACILITY_UNITS",
    "HAZARD_INCIDENTS",
    "MAX_EXPECTED_CALLS",
    "MAX_SNAP",
    "CityNetwork",
    "build_response",
    "closure_timeline",
    "dispatch_policy",
    "facility_plan",
    "hospitals_of",
    "incident_types",
    "jurisdictions_of",
    "plan_policy",
    "plan_stations",
    "policy_options",
    "residents_for_rates",
    "run_response",
    "scripted_calls",
]

MAX_SNAP = 250.0
"""Farthest a station or incident may be from the nearest drivable road node (m)."""

MAX_EXPECTED_CALLS = 1_000_000
"""Most calls a run may expect (background rates x residents x duration, plus scripted
ones): beyond it a run would take hours and the event log gigabytes."""

HAZARD_INCIDENTS: dict[str, set[str]] = {
    "rainfall": {"water_rescue", "rescue"},
    "inflow": {"water_rescue", "rescue"},
    "sea_level": {"water_rescue", "rescue"},
    "crowd_event": {"crowd_crush"},
    "ground_collapse": {"structural"},
}
"""Incident types each scenario hazard kind can raise (through hazard signals)."""


def incident_types(scenario: Scenario) -> set[str]:
    """Incident types a scenario can produce: background, scripted and hazard-driven."""
    types = {t for t, r in scenario.incidents.background.model_dump().items() if r > 0}
    types |= {s.type for s in scenario.incidents.scripted}
    for hazard in scenario.hazards:
        types |= HAZARD_INCIDENTS.get(hazard.kind, set())
    return types


def _facility_node(pack: CityPack, net: CityNetwork, ref: str) -> tuple[int, float] | None:
    kind, _, number = ref.partition("/")
    rows = pack.facilities[
        (pack.facilities["osm_type"] == kind) & (pack.facilities["osm_id"].astype(str) == number)
    ]
    if rows.empty:
        return None
    point = rows.geometry.iloc[0].centroid
    node, distance = net.travel.nearest(np.array([point.x]), np.array([point.y]))
    return int(node[0]), float(distance[0])


def plan_stations(
    plan: Plan,
    scenario: Scenario,
    pack: CityPack,
    net: CityNetwork,
    *,
    plan_file: Path | str | None = None,
    allow_unneeded_units: bool = False,
) -> list[StationSpec]:
    """Stations of a plan on the road graph, after checking them.

    Raises
    ------
    ScenarioError
        With every problem: unknown facility, station off the road graph, units no incident
        of the scenario needs (unless ``allow_unneeded_units``).
    """
    problems: list[Problem] = []
    problem = problem_maker(plan, plan_file, problems)

    stations: list[StationSpec] = []
    for i, station in enumerate(plan.stations):
        if station.facility is not None:
            found = _facility_node(pack, net, station.facility)
            if found is None:
                known = _facility_examples(pack)
                problem(
                    ["stations", i, "facility"],
                    f"station {station.name!r} names facility {station.facility!r}, which "
                    f"the {pack.name} map does not have",
                    f"use one of the city's facilities ({known}), or give `location`",
                )
                continue
            node, distance = found
        else:
            off_map = describe_point_problem(pack, *station.location)
            if off_map is not None:
                problem(
                    ["stations", i, "location"],
                    f"station {station.name!r}: {off_map}",
                    f"give a place in {pack.name}, or `facility` (see `twin maps facilities`)",
                )
                continue
            node, distance = net.snap(station.location)
        if distance > MAX_SNAP:
            problem(
                ["stations", i, "location" if station.facility is None else "facility"],
                f"station {station.name!r}"
                + (f" at {format_lonlat(*station.location)}" if station.location else "")
                + f" is {distance:.0f} m from the nearest road units can use (at most "
                f"{MAX_SNAP:.0f} m)",
                "move it next to a drivable street of the city",
            )
            continue
        units = {k: v for k, v in station.units.model_dump().items() if v}
        stations.append(StationSpec(station.name, node, units))
    needed = unit_types_needed(incident_types(scenario))
    if not allow_unneeded_units:
        for i, station in enumerate(plan.stations):
            for type_, count in station.units.model_dump().items():
                if count and type_ not in needed:
                    problem(
                        ["stations", i, "units", type_],
                        f"station {station.name!r} has {type_} units, but no incident of "
                        f"scenario {scenario.name!r} needs one (it can raise: "
                        f"{', '.join(sorted(incident_types(scenario))) or 'none'})",
                        f"remove the {type_} units, or add incidents that need them",
                    )
    if problems:
        raise ScenarioError(problems)
    return stations


def _facility_examples(pack: CityPack) -> str:
    rows = pack.facilities[pack.facilities["kind"].isin(["fire_station", "hospital", "police"])]
    refs = [f"{t}/{i}" for t, i in zip(rows["osm_type"], rows["osm_id"], strict=True)][:4]
    return ", ".join(refs) + (", ..." if len(rows) > 4 else "") if refs else "none"


def residents_for_rates(
    scenario: Scenario, net: CityNetwork, residents: float | None = None
) -> tuple[float, str]:
    """How many residents background incident rates scale with, and where the number is from.

    ``residents`` (given by the caller) wins, then the scenario's ``population``, then the
    map's estimate (occupants of the mapped buildings, which undercounts where buildings are
    poorly mapped).

    Returns
    -------
    residents, source
        The number, and a few words saying which one it is.
    """
    if residents is not None:
        return float(residents), "given by the caller"
    if scenario.population is not None:
        return float(scenario.population), "the scenario's `population`"
    return float(net.population.sum()), "estimated from the occupants of mapped buildings"


def _background(
    scenario: Scenario,
    net: CityNetwork,
    residents: float | None,
    problem,
) -> BackgroundDemand | None:
    """Background demand over the residents (see :func:`residents_for_rates`), refusing a
    map without residents and runs expecting more than :data:`MAX_EXPECTED_CALLS` calls."""
    rates = scenario.incidents.background.model_dump()
    if not any(rates.values()):
        return BackgroundDemand.per_resident(rates, net.population)
    total, source = residents_for_rates(scenario, net, residents)
    mapped = float(net.population.sum())
    if total <= 0:
        problem(
            ["incidents", "background"],
            "background incident rates are per resident, but the map's buildings hold no "
            "residents (no mapped homes) and the scenario gives no `population`",
            "add `population: <residents>` to the scenario (e.g. from the census)",
        )
        return None
    expected = sum(rates.values()) / 1000.0 * total * scenario.time.duration / 86400.0
    if expected > MAX_EXPECTED_CALLS:
        problem(
            ["incidents", "background"],
            f"these rates would make about {expected:,.0f} calls over "
            f"{humanize_duration(scenario.time.duration)} for {total:,.0f} residents ({source});"
            f" a run takes at most {MAX_EXPECTED_CALLS:,} calls",
            "lower the rates (calls per 1000 residents per day), the duration or `population`",
        )
        return None
    # The map's buildings give the spread; an empty map spreads residents evenly.
    weights = net.population if mapped > 0 else np.ones_like(net.population)
    return BackgroundDemand.per_resident(rates, weights * (total / weights.sum()))


def scripted_calls(
    scenario: Scenario, pack: CityPack, net: CityNetwork, problem
) -> list[ScriptedCall]:
    """The scenario's scripted incidents on the road graph; each one off the map or farther
    than :data:`MAX_SNAP` from a road units can use is passed to ``problem(keys, message,
    fix)`` and left out."""
    scripted = []
    for i, s in enumerate(scenario.incidents.scripted):
        keys: list[str | int] = ["incidents", "scripted", i, "location"]
        off_map = describe_point_problem(pack, *s.location)
        if off_map is not None:
            problem(keys, f"scripted incident {i + 1}: {off_map}", f"give a place in {pack.name}")
            continue
        node, distance = net.snap(s.location)
        if distance > MAX_SNAP:
            problem(
                keys,
                f"scripted incident {i + 1} at {format_lonlat(*s.location)} is {distance:.0f} m "
                f"from the nearest road units can use (at most {MAX_SNAP:.0f} m)",
                "move it next to a drivable street of the city",
            )
            continue
        scripted.append(ScriptedCall(s.at, s.type, s.priority, node, s.description))
    return scripted


def build_response(
    scenario: Scenario,
    plan: Plan,
    pack: CityPack,
    *,
    seed: int | None = None,
    plan_file: Path | str | None = None,
    allow_unneeded_units: bool = False,
    network: CityNetwork | None = None,
    coverage_interval: float | None = 300.0,
    residents: float | None = None,
    scenario_file: Path | str | None = None,
) -> ResponseModel:
    """A response model for a scenario and a plan on a city (free-flow roads; rescue boats
    go straight over water at :data:`~twin.response.units.BOAT_SPEED`).

    Parameters
    ----------
    scenario, plan, pack
        Validated scenario and plan, and the scenario's city.
    seed
        Run seed (default: the scenario's).
    plan_file
        The plan's file, for error messages.
    allow_unneeded_units
        Accept units no incident of the scenario needs.
    network
        A prebuilt :class:`CityNetwork` of ``pack`` (saves rebuilding it per replication);
        the model drives a fresh copy of its roads, so runs do not disturb each other.
    coverage_interval
        Time between coverage samples (s).
    residents
        Scale the map's residents to this total (same spread) for background calls, e.g.
        to load a small map like a big city; default the scenario's ``population``, else
        the map's own estimate (see :func:`residents_for_rates`).
    scenario_file
        The scenario's file, for error messages.

    Raises
    ------
    ScenarioError
        For mistakes in the plan (see :func:`plan_stations`, :func:`dispatch_policy` and
        :func:`jurisdictions_of`) and in the scenario: a
        scripted incident off the map or far from roads, background rates on a map without
        residents, or more than :data:`MAX_EXPECTED_CALLS` expected calls.
    """
    net = network or CityNetwork.from_pack(pack)
    scenario_problems: list[Problem] = []
    problem = problem_maker(scenario, scenario_file, scenario_problems)
    background = _background(scenario, net, residents, problem)
    scripted = scripted_calls(scenario, pack, net, problem)
    if scenario_problems:
        raise ScenarioError(scenario_problems)
    stations = plan_stations(
        plan, scenario, pack, net, plan_file=plan_file, allow_unneeded_units=allow_unneeded_units
    )
    policy = dispatch_policy(plan, net, stations, plan_file=plan_file)
    estimator = None
    if plan.dispatch.travel_time == "free_flow":
        estimator = net.travel.fresh()  # never given live times: free-flow speeds
    t = scenario.objectives.targets
    water = None  # rescue boats go straight over water
    if any(WATER_UNITS & set(s.units) for s in stations):
        water = StraightTravel(net.travel.xy, BOAT_SPEED)
    model = ResponseModel(
        net.travel.fresh(),
        stations,
        policy=policy,
        seed=scenario.seed if seed is None else seed,
        background=background,
        scripted=scripted,
        hospitals=hospitals_of(pack, net),
        targets=(t.priority_1, t.priority_2, t.priority_3),
        estimator=estimator,
        coverage_weights=net.population,
        coverage_interval=coverage_interval,
        water=water,
    )
    for hazard in scenario.hazards:
        if hazard.kind == "ground_collapse":
            node, _ = net.snap(hazard.location)
            model.signal_at(hazard.at, HazardSignal("ground_collapse", node))
    for at, closed in closure_timeline(scenario, plan, net, plan_file=plan_file):
        model.schedule(at, lambda closed=closed: model.update_roads(closed=closed))
    return model


def run_response(
    model: ResponseModel,
    until: float,
    *,
    stops: int = 100,
    observers: Sequence[Observer] = (),
) -> RunResult:
    """Run a response model alone to ``until`` (s) on the engine, on ONE environment: the
    engine's clock adopts the model's SimPy environment (the processes of its incident
    generators, dispatch centre and units), so the clock and the model cannot disagree on
    the time and there is no second event loop to keep in step.

    Parameters
    ----------
    model
        A model from :func:`build_response`, not yet run.
    until
        End time (s since the scenario start).
    stops
        Times the clock stops on the way (a progress bar moves this often).
    observers
        Engine observers (progress bars, writers).
    """
    from twin.engine.clock import Clock
    from twin.engine.run import run
    from twin.response.component import ResponseComponent

    start = float(model.env.now)
    return run(
        [ResponseComponent(model)],
        until,
        clock=Clock(start, env=model.env),
        exchange_every=(until - start) / max(1, stops),
        observers=observers,
    )


def closure_timeline(
    scenario: Scenario, plan: Plan, net: CityNetwork, *, plan_file: Path | str | None = None
) -> list[tuple[float, np.ndarray]]:
    """When the set of closed links changes, and the closed-edge mask (over
    ``net.travel.edges``) from then on.

    The rule is every model's (:mod:`twin.coupling.hazards`, on the drive link index): a
    ground collapse closes every link whose drawn geometry passes within its radius, from
    its time on; a plan closure given by ``location`` closes the link nearest to it (both
    directions) from ``start`` to ``end``, one given by OSM way (``road``) that way's links.

    Raises
    ------
    ScenarioError
        A closure farther than :data:`MAX_SNAP` from every road, or naming a way the drive
        graph lacks.
    """
    from twin.coupling import hazards

    index = net.links
    if index is None or net.edge_links is None:
        raise ValueError("closures need the network's link index (CityNetwork.from_pack)")
    closures = hazards.collapse_closures(scenario.hazards, index, net.crs)
    problems: list[Problem] = []
    problem = problem_maker(plan, plan_file, problems)
    for i, closure in enumerate(plan.closures):
        end = np.inf if closure.end is None else float(closure.end)
        if closure.location is not None:
            x, y = net.to_xy(*closure.location)
            _, _, (distance,) = index.snap(np.array([x]), np.array([y]))
            if distance > MAX_SNAP:
                problem(
                    ["closures", i, "location"],
                    f"closure {closure.name!r} at {format_lonlat(*closure.location)} is "
                    f"{distance:.0f} m from the nearest road (at most {MAX_SNAP:.0f} m)",
                    "put it on the road to close",
                )
                continue
        try:
            mask = hazards.plan_closure_links(
                index,
                net.crs,
                road=closure.road,
                location=closure.location,
                field=f"closures.{i}",
                max_snap=MAX_SNAP,
            )
        except UserInputError:
            problem(
                ["closures", i, "road"],
                f"closure {closure.name!r} names road {closure.road!r}, which is not a "
                "drivable road of the map",
                "write `road: way/<OSM id>` of a drivable street, or `location`",
            )
            continue
        closures.append(hazards.Closure(closure.start, end, mask, closure.name, f"closures.{i}"))
    if problems:
        raise ScenarioError(problems)
    return [(t, closed[net.edge_links]) for t, closed in hazards.timeline(closures, index.n_links)]


DEFAULT_FACILITY_UNITS: dict[str, dict[str, int]] = {
    "fire_station": {"fire_engine": 2, "ambulance": 2},
    "police": {"police": 1},
}
"""Units a plan built from the map's facilities puts at each facility kind."""


def facility_plan(
    pack: CityPack,
    *,
    units: dict[str, dict[str, int]] | None = None,
    dispatch: dict | None = None,
    name: str = "osm_stations",
) -> Plan:
    """A plan whose stations are the city's facilities found in OSM.

    Parameters
    ----------
    pack
        The city.
    units
        Units per facility kind (default :data:`DEFAULT_FACILITY_UNITS`: fire stations hold
        engines and ambulances, police stations a car).
    dispatch
        The plan's ``dispatch`` section (default nearest).
    name
        Plan name.
    """
    from twin.scenario.plan import Plan

    units = DEFAULT_FACILITY_UNITS if units is None else units
    rows = pack.facilities[pack.facilities["kind"].isin(list(units))]
    stations = []
    for kind, osm_type, osm_id, label in zip(
        rows["kind"], rows["osm_type"], rows["osm_id"], rows["name"], strict=True
    ):
        ref = f"{osm_type}/{osm_id}"
        title = label if isinstance(label, str) else kind
        stations.append({"name": f"{title} ({ref})", "facility": ref, "units": units[kind]})
    return Plan.model_validate(
        {
            "version": 1,
            "name": name,
            "stations": stations,
            "dispatch": dispatch or {"policy": "nearest"},
        }
    )
