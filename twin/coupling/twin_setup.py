"""Scenario + plan + city -> the parts of a coupled run (:class:`twin.model.CityTwin`).

Each model is built by its own adapter (flood: :func:`twin.coupling.flood_setup.flood_setup`,
traffic: :func:`twin.coupling.traffic_setup.traffic_from_scenario`, crowd:
:func:`twin.coupling.crowd_setup.crowd_from_scenario`, response:
:func:`twin.coupling.response_setup.build_response`); this module puts them on one clock
(the response model's SimPy environment is the run's :class:`~twin.engine.clock.Clock`),
gathers the closures of every model into one timeline, and checks what a coupled run needs
besides (triggers it can act on, water where the scenario names it).

Flood reuse: a plan cannot change the water (plans have no barriers or pumps), so the
flood of a scenario depends only on its flood inputs. :func:`flood_key` hashes them;
:class:`FloodRecord` keeps the depth and speed grids at every exchange time of a finished
run in ``<cache>/coupled_flood/<key>.npz``, and :class:`FloodReplay` plays them back as a
component, so the replications of a comparison compute one flood, not one each.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from twin.coupling.chains import ChainLink, CollapseWatch
from twin.coupling.hazards import Closure
from twin.engine.clock import Clock
from twin.engine.component import Field, field_of
from twin.engine.timeline import Event, Timeline
from twin.errors import Problem, ScenarioError

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
    "flood_key",
]

#: Trigger actions a coupled run carries out today (others are refused at set-up).
SUPPORTED_ACTIONS = ("warning", "evacuate", "close_road", "open_shelter")

_WATER = ("rainfall", "inflow", "sea_level", "river")


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
    land, wet_depth, cell_area
        Flood land mask, wet-cell depth (m) and cell area (m2), for the vital signs.
    flood_key
        Hash of the flood inputs (see :func:`flood_key`).
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
        by field ``triggers.<i>.then.<j>`` (:func:`trigger_actions`).
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


def check_plan_actions(
    plan: Plan, plan_file: Path | str | None = None, scenario: Scenario | None = None
) -> None:
    """Refuse trigger actions the coupled run does not carry out yet (one error for all).

    An ``evacuate`` order brings the scenario's own evacuation forward for the homes in
    its ``zone`` (:meth:`twin.coupling.exchange.Exchange.evacuate`): the people and the
    walk/drive split are ``demand.evacuation``'s, so an order by ``buildings``, one that
    sets its own ``compliance`` or ``car_share``, and (given ``scenario``) one in a
    scenario without ``demand.evacuation`` are refused.

    Raises
    ------
    ScenarioError
        Naming ``triggers.<i>.then.<j>`` and the supported actions.
    """
    problems = []
    for i, trigger in enumerate(plan.triggers):
        for j, action in enumerate(trigger.then):
            order = action.evacuate
            if order is not None:
                at = f"triggers.{i}.then.{j}.evacuate"
                given = order.model_fields_set
                for k in [k for k in ("buildings", "compliance", "car_share") if k in given]:
                    problems.append(
                        Problem(
                            f"the coupled run's evacuation order brings the scenario's "
                            f"evacuation forward; it cannot set {k!r}",
                            file=plan_file, field=f"{at}.{k}",
                            fix="give a `zone` (and `curve`); who leaves and who drives is "
                            "demand.evacuation's compliance and car_share",
                        )
                    )  # fmt: skip
                if scenario is not None and scenario.demand.evacuation is None:
                    problems.append(
                        Problem(
                            "the scenario has no demand.evacuation whose people to order out",
                            file=plan_file, field=at,
                            fix="add demand.evacuation (its order_time is the order without "
                            "the trigger)",
                        )
                    )  # fmt: skip
            for name in type(action).model_fields:
                if getattr(action, name) is not None and name not in SUPPORTED_ACTIONS:
                    problems.append(
                        Problem(
                            f"the coupled run cannot carry out the action {name!r} yet",
                            file=plan_file,
                            field=f"triggers.{i}.then.{j}.{name}",
                            fix=f"use {', '.join(SUPPORTED_ACTIONS)}; or run the model alone",
                        )
                    )
    if problems:
        raise ScenarioError(problems)


def flood_key(scenario: Scenario, until: float, exchange_every: float) -> str:
    """Hash of everything the flood's depth at the exchange times depends on: the city and
    its terrain options, the water hazards, the flood settings, the run's end and the
    exchange interval (a plan changes none of them)."""
    data = {
        "city": scenario.city.model_dump(mode="json"),
        "hazards": [
            h.model_dump(mode="json")
            for h in scenario.hazards
            if h.kind in (*_WATER, "drainage", "infiltration")
        ],
        "flood": scenario.flood.model_dump(mode="json"),
        "until": float(until),
        "exchange_every": float(exchange_every),
        "format": 1,
    }
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class FloodReplay:
    """A finished flood run played back: depth and speed at the recorded exchange times.

    Parameters
    ----------
    path
        A :class:`FloodRecord` file.
    name
        The component's name.
    """

    info: ClassVar[tuple[Field, ...]] = (
        Field("depth", "out", "m", "cell", "float64", "water depth at cell centres (row 0 north)"),
        Field("speed", "out", "m/s", "cell", "float64", "depth-averaged speed at cell centres"),
    )  # fmt: skip
    actions: ClassVar[dict[str, str]] = {}

    def __init__(self, path: Path | str, *, name: str = "flood") -> None:
        with np.load(path, allow_pickle=False) as data:
            self.times = np.asarray(data["times"], dtype=np.float64)
            self.depth = np.asarray(data["depth"])
            self.speed = np.asarray(data["speed"])
            self.land = np.asarray(data["land"], dtype=bool)
            self.wet_depth = float(data["wet_depth"])
            self.cell_area = float(data["cell_area"])
        self.name = name
        self._t = 0.0

    @property
    def time(self) -> float:
        """Time played back to (s)."""
        return self._t

    def sizes(self) -> dict[str, tuple[int, ...]]:
        """Cells ``(ny, nx)``."""
        return {"cell": tuple(self.depth.shape[1:])}

    def _frame(self) -> int:
        k = int(np.searchsorted(self.times, self._t + 1e-9, side="right")) - 1
        return max(k, 0)

    def advance_to(self, t: float) -> None:
        """Move to ``t`` (s); outputs are the last recorded grids at or before it."""
        self._t = float(t)

    def output(self, name: str) -> Any:
        """Depth or speed of the last recorded time at or before now."""
        field_of(self, name, "out")
        grids = self.depth if name == "depth" else self.speed
        return np.array(grids[self._frame()], dtype=np.float64)

    def set_input(self, name: str, value: Any) -> None:
        """No inputs."""
        field_of(self, name, "in")

    def inject(self, action: str, payload: Mapping[str, Any]) -> None:
        """No actions."""
        raise KeyError(f"flood has no action {action!r}")

    def vitals(self) -> dict[str, float]:
        """Deepest land cell (m)."""
        return {"max_depth_m": float(self.output("depth")[self.land].max(initial=0.0))}

    def snapshot(self) -> dict[str, Any]:
        """The time played back to."""
        return {"replay.t": self._t}

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Back to a snapshot's time."""
        self._t = float(snapshot["replay.t"])


class FloodRecord:
    """Records the flood's depth and speed at every exchange of a run, and stores them
    (compressed) once the run reached its end.

    Parameters
    ----------
    path
        Where the record goes.
    land, wet_depth, cell_area
        The flood's land mask, wet depth (m) and cell area (m2) (stored with the grids).
    """

    def __init__(self, path: Path, land: np.ndarray, wet_depth: float, cell_area: float) -> None:
        self.path = Path(path)
        self.land = land
        self.wet_depth = wet_depth
        self.cell_area = cell_area
        self.times: list[float] = []
        self.depth: list[np.ndarray] = []
        self.speed: list[np.ndarray] = []

    def add(self, t: float, depth: np.ndarray, speed: np.ndarray) -> None:
        """Keep the grids at exchange time ``t`` (s)."""
        self.times.append(float(t))
        self.depth.append(np.asarray(depth, dtype=np.float64))
        self.speed.append(np.asarray(speed, dtype=np.float64))

    def save(self, start: float) -> Path:
        """Write the record (with the grids at ``start`` first) atomically."""
        from twin.atomic import atomic_path

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(
                fh,
                times=np.asarray(self.times, dtype=np.float64),
                depth=np.stack(self.depth),
                speed=np.stack(self.speed),
                land=self.land,
                wet_depth=np.float64(self.wet_depth),
                cell_area=np.float64(self.cell_area),
            )
        return self.path


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
    from twin.coupling.response_setup import build_response
    from twin.coupling.traffic_setup import traffic_from_scenario
    from twin.errors import UserInputError
    from twin.flood.build import flood_model
    from twin.flood.component import FloodComponent
    from twin.flood.kernels import LAND

    check_plan_actions(plan, plan_file, scenario)
    seed = scenario.seed if seed is None else int(seed)
    sc = scenario.model_copy(update={"seed": seed})
    end = float(sc.time.duration if until is None else until)
    water = any(h.kind in _WATER for h in sc.hazards)
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
                if scenario_file is None:
                    raise
                raise locate_in_scenario(exc, scenario_file) from None
            flood = FloodComponent(model)
            land = model.kind == LAND
            wet_depth = float(model.config.wet_depth)
            cell_area = float(model.spec.resolution) ** 2
            grid = model.spec
    traffic_run = traffic_from_scenario(
        sc, pack, path=scenario_file, plan=plan, plan_path=plan_file
    )
    crowd_run = None
    if sc.demand.evacuation is not None or any(h.kind == "crowd_event" for h in sc.hazards):
        crowd_run = crowd_from_scenario(
            sc, pack, plan, scenario_file=scenario_file, plan_file=plan_file
        )
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
        if scenario_file is None:
            raise
        raise locate_in_scenario(exc, scenario_file) from None
    events += hz.events
    try:
        actions = trigger_actions(plan, pack, traffic_run.model.net, crowd_run)
    except UserInputError as exc:
        if plan_file is None:
            raise
        raise _locate(exc, plan_file, "triggers") from None
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


@dataclass(frozen=True)
class RoadAction:
    """A trigger's ``close_road`` on the run's networks: drive links (traffic network
    order), walk links (or ``None`` when the road is not walkable), how long (s; inf: to
    the end) and its name."""

    drive: np.ndarray
    walk: np.ndarray | None
    duration: float
    name: str


@dataclass(frozen=True)
class ShelterAction:
    """A trigger's ``open_shelter``: the crowd destinations it adds (walk nodes, capacities
    in people, names, why), none when the shelter is open from the start."""

    nodes: np.ndarray
    capacities: np.ndarray
    names: list[str]
    why: list[str]


def trigger_actions(
    plan: Plan, pack: CityPack, drive_net: Any, crowd_run: Any = None
) -> dict[str, RoadAction | ShelterAction]:
    """Resolve the plan's ``close_road`` and ``open_shelter`` trigger actions on the map
    (so that a road or shelter that is not there is refused before the run).

    A road closes by the one rule (:func:`twin.coupling.hazards.plan_closure_links`) on the
    drive links and, where the road is walkable, on the walk links. A shelter is a
    candidate of the city (:func:`twin.crowd.sources.city_shelters`, by name, OSM id or
    the nearest to a lon/lat) that the crowd's shelters do not hold yet.

    Raises
    ------
    twin.errors.UserInputError
        Naming ``triggers.<i>.then.<j>.close_road.road|location`` or
        ``triggers.<i>.then.<j>.open_shelter``; an ``open_shelter`` in a run nobody walks.
    """
    from twin.coupling.hazards import plan_closure_links
    from twin.crowd.sources import city_shelters
    from twin.errors import UserInputError

    out: dict[str, RoadAction | ShelterAction] = {}
    index, order = drive_net.link_index()
    for i, trigger in enumerate(plan.triggers):
        for j, action in enumerate(trigger.then):
            at = f"triggers.{i}.then.{j}"
            road = action.close_road
            if road is not None:
                f = f"{at}.close_road"
                kw = {"road": road.road, "location": road.location}
                mask = np.zeros(drive_net.n_links, dtype=bool)
                mask[order] = plan_closure_links(index, pack.crs, **kw, field=f)
                walk = None
                if crowd_run is not None:
                    wnet = crowd_run.model.net
                    windex, worder = wnet.link_index()
                    try:
                        wmask = plan_closure_links(windex, pack.crs, **kw, field=f)
                    except UserInputError:
                        wmask = None  # not a walkable street: cars only
                    if wmask is not None:
                        walk = np.zeros(wnet.n_links, dtype=bool)
                        walk[worder] = wmask
                duration = math.inf if road.duration is None else float(road.duration)
                name = road.name or road.road or f
                out[at] = RoadAction(mask, walk, duration, str(name))
            entry = action.open_shelter
            if entry is not None:
                f = f"{at}.open_shelter"
                if crowd_run is None:
                    raise UserInputError(
                        Problem("nobody walks in this run, so no shelter can be opened",
                                field=f, fix="add demand.evacuation, or drop the action")
                    )  # fmt: skip
                wnet = crowd_run.model.net
                found = city_shelters(pack, wnet, opened=[entry], field=f)
                held = set(crowd_run.model.dests.names)
                keep = [k for k, nm in enumerate(found.names) if nm not in held]
                why = found.why or [""] * len(found.names)
                out[at] = ShelterAction(
                    found.nodes[keep],
                    found.capacities[keep],
                    [found.names[k] for k in keep],
                    [why[k] for k in keep],
                )
    return out


@dataclass
class HazardClosures:
    """What :func:`hazard_closures` finds (see :class:`TwinParts` for the fields);
    ``events`` are the wind closures and reopenings as engine events for the traffic and
    crowd components."""

    closures: list[Closure]
    walk_closures: list[Closure]
    watches: list[CollapseWatch]
    walk_watch_links: dict[str, np.ndarray]
    chain: list[ChainLink]
    events: list[Event]


def hazard_closures(
    scenario: Scenario, pack: CityPack, drive_net: Any, crowd_run: Any = None
) -> HazardClosures:
    """The scenario's hazard chains on the run's networks, by the one rule of
    :mod:`twin.coupling.hazards`: ground collapses and wind closures (the same
    :class:`~twin.coupling.hazards.Closure` type) over the traffic network's links
    (``drive_net``, a :class:`twin.traffic.network.RoadNetwork`) and the crowd's walk links,
    the ``flood_collapse`` watches, and the chain log of levee breaches
    (:func:`twin.coupling.chains.breach_links`) and wind closures
    (:func:`twin.coupling.chains.wind_closures`).

    Raises
    ------
    twin.errors.UserInputError
        A wind hazard's road that is not on the map (naming ``hazards.<i>.roads.<k>``).
    """
    from twin.coupling import chains
    from twin.coupling.flood_setup import forcing_from_hazards
    from twin.coupling.hazards import collapse_closures, collapse_links

    index, order = drive_net.link_index()
    n = int(drive_net.n_links)

    def on_net(c: Closure, order: np.ndarray, n: int) -> Closure:
        mask = np.zeros(n, dtype=bool)
        mask[order] = c.links
        return Closure(c.start, c.end, mask, c.name, c.field)

    wind, wind_log = chains.wind_closures(scenario.hazards, index, pack.crs)
    collapses = collapse_closures(scenario.hazards, index, pack.crs)
    closures = [on_net(c, order, n) for c in collapses + wind]
    watches = chains.collapse_watches(scenario.hazards, index, pack.crs)
    for w in watches:
        w.links = np.sort(order[w.links])
    events = _closure_events(wind, order, "traffic")
    walk_closures: list[Closure] = []
    walk_watch: dict[str, np.ndarray] = {}
    if crowd_run is not None:
        wnet = crowd_run.model.net
        windex, worder = wnet.link_index()
        wn = int(wnet.n_links)
        wwind, _ = chains.wind_closures(scenario.hazards, windex, pack.crs)
        wcollapses = collapse_closures(scenario.hazards, windex, pack.crs)
        walk_closures = [on_net(c, worder, wn) for c in wcollapses + wwind]
        events += _closure_events(wwind, worder, "crowd")
        for i, h in enumerate(scenario.hazards):
            if getattr(h, "kind", None) == "flood_collapse":
                mask = np.zeros(wn, dtype=bool)
                mask[worder] = collapse_links(windex, pack.crs, h.location, h.radius)
                walk_watch[f"hazards.{i}"] = mask
    chain = sorted(
        chains.breach_links(forcing_from_hazards(scenario.hazards)) + wind_log,
        key=lambda c: c.time,
    )
    return HazardClosures(closures, walk_closures, watches, walk_watch, chain, events)


def _locate(exc: Any, path: Path | str, head: str) -> Any:
    """The same problems, those under the top-level field ``head`` given ``path`` and the
    line of the deepest key found there."""
    from dataclasses import replace

    from twin.errors import UserInputError
    from twin.scenario._problems import line_of
    from twin.scenario.loader import read_yaml

    try:
        tree = read_yaml(path)
    except UserInputError:
        return exc
    problems = []
    for problem in exc.problems:
        f = problem.field or ""
        if problem.file is None and f.split(".")[0] == head:
            keys = [int(k) if k.isdigit() else k for k in f.split(".")]
            problem = replace(problem, file=path, line=line_of(tree, keys))
        problems.append(problem)
    return UserInputError(problems)


def _closure_events(closures: list[Closure], order: np.ndarray, target: str) -> list[Event]:
    """Closures over a link index as close/open events of a component whose links are
    ``order`` (index position -> the component's link)."""
    out = []
    for c in closures:
        links = np.sort(order[np.flatnonzero(c.links)]).tolist()
        label = c.name or c.field
        out.append(Event(float(c.start), target, "close_links", {"links": links}, label))
        if math.isfinite(c.end):
            out.append(Event(float(c.end), target, "open_links", {"links": links}, label))
    return out


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
