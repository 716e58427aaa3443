"""Scenario and plans against their city: every place checked at once, as each model uses it.

:func:`check_on_city` is what ``twin validate`` runs after the schema check. It gathers every
problem instead of stopping at the first, each naming its file, line and field:

* every ``[lon, lat]`` lies on the map (else how far away it is, and whether it fits with its
  two numbers swapped: :func:`twin.city.geometry.describe_point_problem`);
* response: stations and scripted incidents within
  :data:`~twin.coupling.response_setup.MAX_SNAP` of the roads units use (the largest
  strongly connected part of the drive graph, so they are reachable), facilities that
  exist, closures on a road, units some incident needs, jurisdictions holding roads, a
  dispatch policy that is registered and takes the plan's options;
* traffic: origins and destinations within :data:`SNAP_LIMIT` of a drivable link;
* crowd: shelters and venues within :data:`SNAP_LIMIT` of the largest walkable part;
* flood: inflows not inside a building (water cannot enter an obstacle cell);
* evacuation orders naming buildings the map has.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel

from twin.coupling.problems import Report, problem_maker
from twin.errors import Problem, ScenarioError

if TYPE_CHECKING:
    from twin.city.pack import CityPack
    from twin.scenario.plan import Plan
    from twin.scenario.schema import Scenario

SNAP_LIMIT = 250.0
"""Farthest (m) a traffic origin or destination may be from a drivable link, and a shelter or
venue from the walkable network: the run commands' default limit."""


def _reporter(model: BaseModel, file: Path | str, problems: list[Problem]) -> Report:
    """A report adding problems at fields of ``model``, loaded from ``file``."""
    return problem_maker(model, file, problems)


def places(model: BaseModel, keys: tuple[str | int, ...] = ()) -> Iterator[tuple[list, tuple]]:
    """Every ``(lon, lat)`` pair of a scenario or plan model, with the keys of its field.

    A polygon or line yields each corner (keys end with the corner's index).
    """
    for name in type(model).model_fields:
        yield from _places_in(getattr(model, name), (*keys, name))


def _places_in(value: Any, keys: tuple[str | int, ...]) -> Iterator[tuple[list, tuple]]:
    if isinstance(value, BaseModel):
        yield from places(value, keys)
    elif isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, float) for v in value):
        yield list(keys), value
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _places_in(item, (*keys, i))


def _off_map(model: BaseModel, pack: CityPack, report: Report) -> set[tuple]:
    """Report places off the map (one per field: a polygon's first bad corner); return the
    keys of the fields reported, so snapping checks skip them."""
    from twin.city.geometry import describe_point_problem

    done: set[tuple] = set()
    for keys, (lon, lat) in places(model):
        field = tuple(keys[:-1]) if isinstance(keys[-1], int) else tuple(keys)
        if field in done:
            continue
        text = describe_point_problem(pack, lon, lat)
        if text is not None:
            done.add(field)
            report(
                keys,
                text,
                f"give a place in {pack.name} as [lon, lat]; `twin maps where NAME` finds "
                "named places",
            )
    return done


def _to_xy(pack: CityPack, lonlat: Sequence[float]) -> tuple[float, float]:
    from pyproj import Transformer

    to_xy = Transformer.from_crs("EPSG:4326", pack.crs, always_xy=True).transform
    x, y = to_xy(float(lonlat[0]), float(lonlat[1]))
    return float(x), float(y)


def _link_distance(segments: tuple[np.ndarray, np.ndarray], x: float, y: float) -> float:
    """Distance (m) from (x, y) to the nearest of straight segments ``a[i] -> b[i]``."""
    a, b = segments
    d = b - a
    length2 = np.maximum((d * d).sum(axis=1), 1e-12)
    t = np.clip(((x - a[:, 0]) * d[:, 0] + (y - a[:, 1]) * d[:, 1]) / length2, 0.0, 1.0)
    return float(np.min(np.hypot(a[:, 0] + t * d[:, 0] - x, a[:, 1] + t * d[:, 1] - y)))


def _segments(graph) -> tuple[np.ndarray, np.ndarray]:
    xy = {n: (d["x"], d["y"]) for n, d in graph.nodes(data=True)}
    pairs = [(xy[u], xy[v]) for u, v in graph.edges()]
    if not pairs:
        return np.zeros((0, 2)), np.zeros((0, 2))
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def _node_distance(nodes: np.ndarray, x: float, y: float) -> float:
    if len(nodes) == 0:
        return float("inf")
    return float(np.min(np.hypot(nodes[:, 0] - x, nodes[:, 1] - y)))


def _check_scenario(
    scenario: Scenario, pack: CityPack, net, report: Report, skip: set[tuple]
) -> None:
    import shapely
    from shapely.geometry import Point, Polygon

    from twin.city.geometry import format_lonlat
    from twin.coupling.response_setup import scripted_calls

    def fresh(keys: list) -> bool:
        return tuple(keys) not in skip

    # response: scripted incidents on the roads units use (off-map ones are reported already)
    def response_report(keys: list, message: str, fix: str) -> None:
        if fresh(keys):
            report(keys, message, fix)

    scripted_calls(scenario, pack, net, response_report)
    # traffic: OD trips start and end on a drivable link
    drive = _segments(pack.drive)
    for s, od in enumerate(scenario.demand.od):
        for f, flow in enumerate(od.flows):
            for end in ("origin", "destination"):
                keys = ["demand", "od", s, "flows", f, end]
                if not fresh(keys):
                    continue
                distance = _link_distance(drive, *_to_xy(pack, getattr(flow, end)))
                if distance > SNAP_LIMIT:
                    report(
                        keys,
                        f"{end} {format_lonlat(*getattr(flow, end))} is {distance:.0f} m from "
                        f"the nearest drivable road (traffic takes at most {SNAP_LIMIT:.0f} m)",
                        "move it next to a drivable street, or raise the limit with "
                        "`--set max_snap=...` on twin traffic",
                    )
    walk = pack.largest_component().walk
    walk_nodes = np.array([(d["x"], d["y"]) for _, d in walk.nodes(data=True)], dtype=float)
    footprints = pack.buildings.geometry
    for h, hazard in enumerate(scenario.hazards):
        if hazard.kind == "crowd_event":
            keys = ["hazards", h, "venue"]
            if not fresh(keys):
                continue
            venue = Polygon([_to_xy(pack, p) for p in hazard.venue])
            distance = float("inf")
            if len(walk_nodes):
                distance = float(shapely.distance(venue, shapely.points(walk_nodes)).min())
            if distance > SNAP_LIMIT:
                report(
                    keys,
                    f"venue {hazard.name or h!r} is {distance:.0f} m from the walkable network "
                    "(people leaving it could not walk anywhere)",
                    "outline the venue where its exits meet footpaths or streets",
                )
        elif hazard.kind == "inflow":
            points = [hazard.location] if hazard.location is not None else list(hazard.line)
            field = "location" if hazard.location is not None else "line"
            for k, lonlat in enumerate(points):
                keys = ["hazards", h, field] + ([k] if field == "line" else [])
                if not fresh(keys[:3]):
                    break
                inside = footprints.contains(Point(_to_xy(pack, lonlat)))
                if inside.any():
                    osm = pack.buildings.loc[inside.to_numpy(), "osm_id"].iloc[0]
                    report(
                        keys,
                        f"inflow {hazard.name!r} enters at {format_lonlat(*lonlat)}, inside "
                        f"building {osm} (a wall to the flood model: no water would enter)",
                        "move the point onto a street or open ground next to the building",
                    )
                    break
    evacuation = scenario.demand.evacuation
    if evacuation is not None and evacuation.buildings:
        known = {str(b) for b in pack.buildings["osm_id"]}
        for b, ref in enumerate(evacuation.buildings):
            if ref not in known and ref.partition("/")[2] not in known:
                report(
                    ["demand", "evacuation", "buildings", b],
                    f"building {ref!r} is not a building of the {pack.name} map",
                    "use OSM ids of mapped buildings (e.g. 'way/123456'), or a `zone`",
                )


def _check_plan(
    scenario: Scenario, plan: Plan, plan_file: Path, pack: CityPack, net, report: Report, skip
) -> list[Problem]:
    from twin.city.geometry import format_lonlat
    from twin.coupling.response_setup import closure_timeline, dispatch_policy, plan_stations

    def stations_and_policy() -> None:
        # unneeded units are a run option (--allow-unneeded-units), not a place problem
        stations = plan_stations(
            plan, scenario, pack, net, plan_file=plan_file, allow_unneeded_units=True
        )
        dispatch_policy(plan, net, stations, plan_file=plan_file)

    problems: list[Problem] = []
    for check in (
        stations_and_policy,
        lambda: closure_timeline(scenario, plan, net, plan_file=plan_file),
    ):
        try:
            check()
        except ScenarioError as exc:
            problems += [p for p in exc.problems if not _skipped(p, skip)]
    walk = pack.largest_component().walk
    walk_nodes = np.array([(d["x"], d["y"]) for _, d in walk.nodes(data=True)], dtype=float)
    for i, shelter in enumerate(plan.shelters):
        keys = ["shelters", i, "location"]
        if shelter.location is None or tuple(keys) in skip:
            continue
        distance = _node_distance(walk_nodes, *_to_xy(pack, shelter.location))
        if distance > SNAP_LIMIT:
            report(
                keys,
                f"shelter {shelter.name!r} at {format_lonlat(*shelter.location)} is "
                f"{distance:.0f} m from the walkable network evacuees can use (at most "
                f"{SNAP_LIMIT:.0f} m): no one could reach it",
                "move it next to a street or footpath, or give `facility`",
            )
    return problems


def _skipped(problem: Problem, skip: set[tuple]) -> bool:
    return any(problem.field == _path(keys) for keys in skip)


def _path(keys: tuple) -> str:
    from twin.scenario.problems import field_path

    return field_path(list(keys))


def check_on_city(
    scenario: Scenario,
    scenario_file: Path | str,
    plans: Sequence[tuple[Path, Plan]],
    pack: CityPack,
) -> list[Problem]:
    """Every problem of a scenario and its plans on their city, sorted by file and line.

    Parameters
    ----------
    scenario, scenario_file
        The validated scenario and its file.
    plans
        ``(file, plan)`` of each plan to check with it.
    pack
        The scenario's city.

    Returns
    -------
    list of Problem
        Empty when everything fits.
    """
    from twin.response.network import CityNetwork

    problems: list[Problem] = []
    report = _reporter(scenario, scenario_file, problems)
    skip = _off_map(scenario, pack, report)
    net = CityNetwork.from_pack(pack)
    _check_scenario(scenario, pack, net, report, skip)
    for plan_file, plan in plans:
        plan_problems: list[Problem] = []
        plan_report = _reporter(plan, plan_file, plan_problems)
        plan_skip = _off_map(plan, pack, plan_report)
        plan_problems += _check_plan(scenario, plan, plan_file, pack, net, plan_report, plan_skip)
        problems += plan_problems
    unique: list[Problem] = []
    for p in problems:
        if p not in unique:
            unique.append(p)
    return sorted(unique, key=lambda p: (str(p.file), p.line or 0))
