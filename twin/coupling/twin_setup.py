"""Scenario + plan + city -> the parts of a coupled run (:class:`twin.model.CityTwin`).

Each model is built by its own adapter (flood: :func:`twin.coupling.flood_setup.flood_setup`,
traffic: :func:`twin.coupling.traffic_setup.traffic_from_scenario`, crowd:
:func:`twin.coupling.crowd_setup.crowd_from_scenario`, response:
:func:`twin.coupling.response_setup.build_response`); this module puts them on one clock
(the response model's SimPy environment is the run's :class:`~twin.engine.clock.Clock`),
gathers the closures of every model into one timeline, and checks what a coupled run needs
besides (triggers it can act on, water where the scenario names it).

The pieces live beside it: flood reuse (:mod:`twin.coupling.flood_reuse`), the
scenario's hazard chains on the networks (:mod:`twin.coupling.twin_hazards`) and the plan's
trigger actions (:mod:`twin.coupling.twin_actions`); their names are importable from here
too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.coupling.chains import ChainLink, CollapseWatch
from twin.coupling.flood_reuse import WATER, FloodRecord, FloodReplay, flood_key
from twin.coupling.hazards import Closure
from twin.coupling.twin_actions import SUPPORTED_ACTIONS, check_plan_actions, trigger_actions
from twin.coupling.twin_hazards import hazard_closures
from twin.engine.clock import Clock
from twin.engine.timeline import Event, Timeline
from twin.errors import Problem

if TYPE_CHECKING:
    from twin.city.pack import CityPack
    from twin.crowd.component import CrowdComponent
    from twin.response.model import ResponseModel
    from twin.scenario.plan import Plan
    from twin.scenario.schema import Scenario
    from twin.traffic.component import TrafficComponent

__all__ = [
    "SUPPORTED_ACTIONS",
    "FloodRecord",
    "FloodReplay",
    "TwinParts",
    "build_parts",
    "check_plan_actions",
    "check_water_on_map",
    "flood_key",
]


@dataclass
class TwinParts:
    """Everything a :class:`~twin.model.CityTwin` runs, built from plain inputs.

    Attributes
    ----------
    scenario, plan, pack
        The validated scenario and plan and the scenario's city.
    seed
        The run seed.
    clock
        The one clock (the response model's environment).
    flood
        The flood component (live or replayed), or ``None`` when the scenario has no water.
    traffic, crowd
        The traffic and crowd components (``crowd`` None when nobody walks).
    response
        The response model, living on ``clock``.
    timeline
        The scenario's closures for traffic and crowd.
    evacuee_people, evacuee_vehicles
        Crowd persons and traffic vehicles of the scenario's evacuation order.
    car_people, car_shelter
        People in each of those vehicles, and the crowd shelter each drives to (index among
        the ``"shelters"`` destinations at set-up; -1: the zone's edge).
    land, wet_depth, cell_area
        Flood land mask, wet-cell depth (m) and cell area (m2), for the vital signs.
    flood_key
        Hash of the flood inputs (see :func:`twin.coupling.flood_reuse.flood_key`).
    grid
        The live flood's grid spec (``None`` when replayed or without water).
    closures, walk_closures
        Ground-collapse and wind closures over the traffic network's links (its order,
        which is the drive link index's) and over the crowd's walk links, for the exchange
        to hold against the flood's reopening and to give the response model.
    watches
        One :class:`~twin.coupling.chains.CollapseWatch` per ``flood_collapse`` hazard
        (links in the traffic network's order); ``walk_watch_links`` the walk links each
        closes (by the watch's field).
    chain
        Hazard chain links known at the start (levee breaches, wind closures and
        reopenings), in time order; the exchange logs each when the run reaches it.
    actions
        The plan's ``close_road`` and ``open_shelter`` trigger actions resolved on the map,
        by field ``triggers.<i>.then.<j>`` (:func:`twin.coupling.twin_actions.trigger_actions`).
    """

    scenario: Scenario
    plan: Plan
    pack: CityPack
    seed: int
    clock: Clock
    flood: Any
    traffic: TrafficComponent
    crowd: CrowdComponent | None
    response: ResponseModel
    timeline: Timeline
    evacuee_people: np.ndarray
    evacuee_vehicles: np.ndarray
    land: np.ndarray | None = None
    wet_depth: float = 0.01
    cell_area: float = 0.0
    flood_key: str = ""
    grid: Any = field(default=None)
    closures: list[Closure] = field(default_factory=list)
    walk_closures: list[Closure] = field(default_factory=list)
    watches: list[CollapseWatch] = field(default_factory=list)
    walk_watch_links: dict[str, np.ndarray] = field(default_factory=dict)
    chain: list[ChainLink] = field(default_factory=list)
    actions: dict[str, Any] = field(default_factory=dict)
    car_people: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    car_shelter: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def build_parts(
    scenario: Scenario,
    plan: Plan,
    pack: CityPack,
    *,
    seed: int | None = None,
    until: float | None = None,
    exchange_every: float = 60.0,
    flood_cache: Path | str | None = None,
    scenario_file: Path | str | None = None,
    plan_file: Path | str | None = None,
) -> TwinParts:
    """Build every model of a coupled run of ``scenario`` under ``plan`` on ``pack``.

    Parameters
    ----------
    scenario, plan, pack
        The validated scenario and plan and the scenario's city.
    seed
        Run seed (default the scenario's); every model's random streams derive from it.
    until
        End of the run (s; default the scenario's duration): part of the flood key.
    exchange_every
        Exchange interval (s): part of the flood key.
    flood_cache
        Folder of recorded floods to reuse (``None``: always compute the flood).
    scenario_file, plan_file
        The files, for the lines of problems.

    Raises
    ------
    ScenarioError
        A trigger action the run cannot carry out, or any model's set-up problem.
    """
    from twin.coupling.crowd_setup import crowd_from_scenario
    from twin.coupling.flood_setup import flood_setup, locate_in_scenario
    from twin.coupling.problems import locate
    from twin.coupling.response_setup import build_response
    from twin.coupling.traffic_setup import traffic_from_scenario
    from twin.errors import UserInputError
    from twin.flood.build import flood_model
    from twin.flood.component import FloodComponent
    from twin.flood.kernels import LAND

    check_plan_actions(plan, plan_file, scenario)
    try:
        check_water_on_map(scenario, pack)
    except UserInputError as exc:
        raise locate_in_scenario(exc, scenario, scenario_file) from None
    seed = scenario.seed if seed is None else int(seed)
    sc = scenario.model_copy(update={"seed": seed})
    end = float(sc.time.duration if until is None else until)
    water = any(h.kind in WATER for h in sc.hazards)
    flood = land = grid = None
    wet_depth, cell_area, key = 0.01, 0.0, ""
    if water:
        key = flood_key(sc, end, exchange_every)
        cached = Path(flood_cache) / "coupled_flood" / f"{key}.npz" if flood_cache else None
        if cached is not None and cached.is_file():
            flood = FloodReplay(cached)
            land, wet_depth, cell_area = flood.land, flood.wet_depth, flood.cell_area
        else:
            try:
                setup = flood_setup(sc, pack)
                model = flood_model(
                    setup.terrain, setup.forcing, setup.config, buildings=setup.buildings
                )
            except UserInputError as exc:
                raise locate_in_scenario(exc, scenario, scenario_file) from None
            flood = FloodComponent(model)
            land = model.kind == LAND
            wet_depth = float(model.config.wet_depth)
            cell_area = float(model.spec.resolution) ** 2
            grid = model.spec
    crowd_run = None
    if sc.demand.evacuation is not None or any(h.kind == "crowd_event" for h in sc.hazards):
        crowd_run = crowd_from_scenario(
            sc, pack, plan, scenario_file=scenario_file, plan_file=plan_file
        )
    traffic_run = traffic_from_scenario(
        sc, pack, path=scenario_file, plan=plan, plan_path=plan_file,
        shelters=None if crowd_run is None else shelter_places(crowd_run.model),
    )  # fmt: skip
    response = build_response(
        sc, plan, pack, seed=seed, plan_file=plan_file, scenario_file=scenario_file
    )
    clock = Clock(0.0, env=response.env)
    events: list[Event] = list(traffic_run.timeline())
    people = np.zeros(0, dtype=np.int64)
    crowd = None
    if crowd_run is not None:
        crowd = crowd_run.component(dt=1.0)
        events += list(crowd_run.timeline())
        names = crowd_run.model.dests.group_names
        if "shelters" in names:
            people = np.flatnonzero(crowd_run.model.group == names.index("shelters"))
    if grid is None and flood is not None and not isinstance(flood, FloodReplay):
        grid = flood.model.spec
    try:
        hz = hazard_closures(sc, pack, traffic_run.model.net, crowd_run)
    except UserInputError as exc:
        raise locate_in_scenario(exc, scenario, scenario_file) from None
    events += hz.events
    try:
        actions = trigger_actions(plan, pack, traffic_run.model.net, crowd_run)
    except UserInputError as exc:
        raise locate(exc, plan, ("triggers",), file=plan_file) from None
    return TwinParts(
        scenario=sc,
        plan=plan,
        pack=pack,
        seed=seed,
        clock=clock,
        flood=flood,
        traffic=traffic_run.component(),
        crowd=crowd,
        response=response,
        timeline=Timeline(events),
        evacuee_people=people.astype(np.int64),
        evacuee_vehicles=np.asarray(traffic_run.evacuees, dtype=np.int64),
        car_people=np.asarray(traffic_run.people, dtype=np.int64),
        car_shelter=np.asarray(traffic_run.shelter, dtype=np.int64),
        land=land,
        wet_depth=wet_depth,
        cell_area=cell_area,
        flood_key=key,
        grid=grid,
        closures=hz.closures,
        walk_closures=hz.walk_closures,
        watches=hz.watches,
        walk_watch_links=hz.walk_watch_links,
        chain=hz.chain,
        actions=actions,
    )


def check_water_on_map(scenario: Scenario, pack: CityPack) -> None:
    """Refuse a sea named where the map has none: a ``sea_level`` hazard (storm surge) on
    flat terrain (no DEM: every cell at one elevation) has no coast to raise, since flat
    ground is either all above the sea (no sea cell) or all at or below it (the whole map
    sea); the flood model would say the latter about ``flood.sea_elevation``.

    Raises
    ------
    twin.errors.UserInputError
        Naming ``hazards.<i>`` of the ``sea_level`` hazard.
    """
    from twin.errors import UserInputError

    z = np.asarray(pack.terrain.elevation, dtype=np.float64)
    finite = z[np.isfinite(z)]
    if finite.size and finite.max() > finite.min():
        return
    for i, h in enumerate(scenario.hazards):
        if h.kind == "sea_level":
            raise UserInputError(
                Problem(
                    f"a sea level is given but city {scenario.city.name!r} has no sea: its "
                    "terrain is flat (no elevation model), so there is no coast to raise",
                    field=f"hazards.{i}",
                    fix="remove the sea_level hazard, or use a coastal city with an "
                    "elevation model (e.g. monaco)",
                )
            )


def shelter_places(crowd: Any) -> np.ndarray | None:
    """``(K, 2)`` places (m) of a crowd model's shelters (its ``"shelters"`` destinations,
    in order), where evacuating drivers go too; None when it has none."""
    d = crowd.dests
    if "shelters" not in d.group_names:
        return None
    node = d.node[d.group == d.group_names.index("shelters")]
    return np.column_stack([crowd.net.x[node], crowd.net.y[node]])


def grid_transform(parts: TwinParts) -> tuple[tuple[float, ...], tuple[int, int]]:
    """The flood grid's affine transform (six numbers) and shape, live or replayed (the
    replay's grid is the terrain of the scenario's city at its resolution)."""
    if parts.grid is not None:
        return tuple(parts.grid.transform)[:6], tuple(parts.grid.shape)
    from twin.coupling.flood_setup import clip_to_area
    from twin.flood.grid import GridSpec

    terrain, _ = clip_to_area(parts.pack.terrain, parts.scenario.flood.area)
    spec = GridSpec.from_terrain(terrain)
    return tuple(spec.transform)[:6], tuple(spec.shape)


def seconds(value: float) -> float:
    """A finite number of seconds, or NaN."""
    return float(value) if math.isfinite(value) else math.nan
