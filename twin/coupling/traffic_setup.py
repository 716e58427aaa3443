"""A scenario's traffic: the network, demand and road closures of a scenario, ready to run."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.city.geometry import format_lonlat
from twin.coupling.evacuees import split_evacuees
from twin.coupling.hazards import collapse_closures
from twin.coupling.od_zones import od_matrix_demand
from twin.coupling.problems import locate
from twin.coupling.shelters import (
    MAX_SHELTER_SNAP,
    nearest_shelters,
    shelter_junctions,
)
from twin.coupling.shelters import max_drive as shelter_drive
from twin.engine.run import Observer
from twin.engine.run import run as engine_run
from twin.engine.timeline import Event, Timeline
from twin.errors import Problem, UserInputError
from twin.random import stream
from twin.traffic.budget import check_vehicles
from twin.traffic.component import TrafficComponent
from twin.traffic.demand import (
    MAX_SNAP_M,
    PERSONS_PER_CAR,
    Trips,
    evacuation_cars,
    od_slice_trips,
    trips_csv,
)
from twin.traffic.model import TrafficModel
from twin.traffic.network import RoadNetwork
from twin.traffic.settings import SETTING_EXAMPLES

if TYPE_CHECKING:
    from twin.city.pack import CityPack
    from twin.scenario.plan import Plan
    from twin.scenario.schema import Scenario

#: Model settings ``twin traffic --set`` accepts, with their types.
SETTINGS: dict[str, type] = {
    "dt": float,
    "route_slice": float,
    "reroute_every": float,
    "record_every": float,
    "priority_share": float,
    "stuck_time": float,
    "max_snap": float,
}

#: A sensible value of each setting, for error messages.
_EXAMPLES = {**SETTING_EXAMPLES, "max_snap": 500}

SCENARIO_FIELDS = ("demand", "hazards", "time")
"""Top-level scenario fields the traffic set-up names in its problems."""
PLAN_FIELDS = ("evacuation_routes", "shelters")
"""Top-level plan fields the traffic set-up names in its problems."""


@dataclass
class TrafficRun:
    """A traffic model with the scenario's demand loaded and its closures scheduled.

    Attributes
    ----------
    model
        The model, vehicles added.
    closures
        ``(time_s, link indices, name)`` of road closures, in time order.
    duration
        The scenario's duration (s).
    evacuees
        Indices of the vehicles of the scenario's evacuation order (``demand.evacuation``).
    people
        People in each of those vehicles (the split, :mod:`twin.coupling.evacuees`).
    shelter
        The shelter each drives to (index into the ``shelters`` given to
        :func:`traffic_from_scenario`; -1: none, the zone's edge).
    """

    model: TrafficModel
    closures: list[tuple[float, np.ndarray, str]] = field(default_factory=list)
    duration: float = 0.0
    evacuees: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    people: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    shelter: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def component(self, name: str = "traffic") -> TrafficComponent:
        """The model as an engine component (see :mod:`twin.engine.component`)."""
        return TrafficComponent(self.model, name=name)

    def timeline(self, name: str = "traffic") -> Timeline:
        """The closures as engine events for the component ``name``."""
        return Timeline(
            Event(float(when), name, "close_links", {"links": links.tolist()}, label)
            for when, links, label in self.closures
        )

    def run(self, until: float | None = None, observers: Sequence[Observer] = ()) -> None:
        """Advance to ``until`` (default: the scenario's end) on the engine
        (:func:`twin.engine.run.run`), closing roads on time: a closure at time ``t``
        acts after the last step at or before ``t``; one at or after ``until`` never."""
        end = self.duration if until is None else until
        if end > self.model.time:
            engine_run([self.component()], end, timeline=self.timeline(), observers=observers)


def parse_settings(pairs: list[str]) -> dict[str, Any]:
    """``["dt=2", "reroute_every=none"]`` -> keyword arguments, checked against SETTINGS."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or key not in SETTINGS:
            raise UserInputError(
                Problem(
                    f"unknown setting {pair!r}",
                    field="--set",
                    fix=f"use KEY=VALUE with KEY one of {', '.join(SETTINGS)}",
                )
            )
        if value.strip().lower() in ("none", "off", ""):
            out[key] = None
            continue
        try:
            number = SETTINGS[key](value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or (key == "max_snap" and number <= 0):
            raise UserInputError(
                Problem(
                    f"{key} must be a finite number{' > 0' if key == 'max_snap' else ''}, "
                    f"not {value!r}",
                    field="--set",
                    fix=f"give e.g. `--set {key}={_EXAMPLES[key]}`",
                )
            )
        out[key] = number
    return out


def traffic_from_scenario(
    sc: Scenario,
    pack: CityPack,
    settings: dict[str, Any] | None = None,
    *,
    path: Path | str | None = None,
    plan: Plan | None = None,
    plan_path: Path | str | None = None,
    shelters: np.ndarray | None = None,
    max_drive: float | None = None,
) -> TrafficRun:
    """The traffic of scenario ``sc`` on city ``pack`` (its drive graph's largest strongly
    connected component): trips CSV, OD slices and the evacuation order as demand, ground
    collapses as closures of the links whose drawn shape passes within their radius.

    Parameters
    ----------
    sc, pack
        The scenario and its city.
    settings
        Model settings (see :data:`SETTINGS`; ``max_snap`` in m).
    path
        The scenario's file, named in problems with its fields when ``sc`` was built in
        code (a loaded scenario knows its file and lines: :func:`twin.scenario.problems.where`).
    plan, plan_path
        A plan whose evacuation routes for cars evacuating drivers follow (see
        :func:`driving_routes`), and its file (likewise).
    shelters
        ``(K, 2)`` places (m, the pack's CRS) of the shelters evacuating drivers go to, the
        nearest by road within ``max_drive`` (m; default the plan's ``max_shelter_drive``,
        :func:`twin.coupling.shelters.max_drive`) (:func:`twin.coupling.shelters.nearest_shelters`);
        None: drivers leave for the zone's edge. Drivers on a plan's route go to its shelter.

    The evacuation's drivers are the split's (:func:`twin.coupling.evacuees.split_evacuees`),
    the same the crowd set-up takes its walkers from.

    Raises
    ------
    twin.errors.UserInputError
        If the scenario has no vehicles, a place is too far from every road, or the
        vehicles would not fit in memory.
    """
    try:
        limit = shelter_drive(plan) if max_drive is None else max_drive
        return _traffic(sc, pack, dict(settings or {}), plan, shelters, limit)
    except UserInputError as exc:
        exc = locate(exc, plan, PLAN_FIELDS, file=plan_path)
        raise locate(exc, sc, SCENARIO_FIELDS, file=path) from None


def _planned_vehicles(sc: Scenario, pack: CityPack) -> tuple[float, str]:
    """Vehicles the scenario's OD slices and evacuation will add, and the field with the
    most, before any is drawn; for the evacuation an upper bound (the expected cars if every
    building of the city were ordered to leave)."""
    counts = {
        f"demand.od.{i}.flows.{j}.vehicles": float(flow.vehicles)
        for i, sl in enumerate(sc.demand.od)
        for j, flow in enumerate(sl.flows)
    }
    evac = sc.demand.evacuation
    if evac is not None:
        people = float(np.nansum(pack.buildings["occupants"].to_numpy(dtype=float)))
        counts["demand.evacuation"] = people * evac.compliance * evac.car_share / PERSONS_PER_CAR
    if not counts:
        return 0.0, "demand"
    return sum(counts.values()), max(counts, key=counts.__getitem__)


def _traffic(
    sc: Scenario, pack: CityPack, settings: dict[str, Any], plan, shelters, max_drive: float
) -> TrafficRun:
    max_snap = settings.pop("max_snap", None) or MAX_SNAP_M
    pack = pack.largest_component()
    net = RoadNetwork.from_links(pack.links("drive"))
    nullable = {"reroute_every", "stuck_time"}  # None switches these off
    model = TrafficModel(
        net, **{k: v for k, v in settings.items() if v is not None or k in nullable}
    )
    end = sc.time.duration
    planned, biggest = _planned_vehicles(sc, pack)
    check_vehicles(planned, model.max_memory_bytes, field=biggest)
    rng = stream(sc.seed, "traffic.evacuation")  # the evacuation trips' own stream
    parts: list[Trips] = []
    demand = sc.demand
    if demand.trips is not None:
        parts.append(trips_csv(demand.trips, net, crs=pack.crs, end=end, max_snap=max_snap))
    if demand.od:
        parts.append(od_slice_trips(demand.od, net, pack.crs, max_snap=max_snap))
    if demand.od_matrix:  # zones of a layer, trips from a CSV (twin.coupling.od_zones)
        od_rng = stream(sc.seed, "traffic.od_matrix")
        parts.append(od_matrix_demand(demand.od_matrix, net, pack.crs, od_rng))
    people = shelter = np.zeros(0, dtype=np.int64)
    if demand.evacuation is not None:
        split = split_evacuees(pack, demand.evacuation, sc.seed)
        evac, kept = evacuation_cars(
            demand.evacuation, pack.buildings, net, pack.crs, rng, end=end,
            max_snap=max_snap, cars=split.cars,
        )  # fmt: skip
        people = split.car_people[kept]
        evac, shelter = _to_shelters(net, evac, shelters, max_drive)
        routed = driving_routes(plan, pack, net, model, evac, max_snap=max_snap)
        shelter = _route_shelters(net, routed, shelters, shelter)
        parts.append(routed)
    trips = Trips.concat(parts)
    if len(trips) == 0:
        raise UserInputError(
            Problem(
                "the scenario sends no vehicle: it has no trip file, no OD flow with "
                "vehicles and no evacuation order with cars",
                field="demand",
                fix="add `demand.trips`, `demand.od` or `demand.evacuation` (car_share > 0)",
            )
        )
    late = np.flatnonzero(trips.depart >= end)
    if late.size:
        raise UserInputError(
            Problem(
                f"{late.size} trips depart at or after the scenario's end ({end:.0f} s)",
                field="demand",
                fix="make them earlier, or lengthen `time.duration`",
            )
        )
    ids = model.add_vehicles(
        trips.origin, trips.destination, trips.depart, **trips.link_ends(), route=trips.route
    )
    n_evac = len(parts[-1]) if demand.evacuation is not None else 0  # concatenated last
    evacuees = np.asarray(ids, dtype=np.int64)[len(ids) - n_evac :]
    return TrafficRun(model, _closures(sc, pack, net), end, evacuees, people, shelter)


def _to_shelters(
    net: RoadNetwork, trips: Trips, shelters: np.ndarray | None, limit: float
) -> tuple[Trips, np.ndarray]:
    """Evacuating trips sent to the shelter nearest their start by road within ``limit``
    (m), and each trip's shelter (-1: none; the trip keeps its destination)."""
    none = np.full(len(trips), -1, dtype=np.int64)
    if shelters is None or len(trips) == 0:
        return trips, none
    junction = shelter_junctions(net, shelters)
    on = trips.origin_link >= 0
    link = np.maximum(trips.origin_link, 0)
    start = np.where(on, net.link_to[link], trips.origin)
    extra = np.where(on, (1.0 - trips.origin_at) * net.length[link], 0.0)
    k, _ = nearest_shelters(net, start, extra, junction, limit=limit)
    go = k >= 0
    trips = replace(
        trips,
        destination=np.where(go, junction[np.maximum(k, 0)], trips.destination),
        destination_link=np.where(go, -1, trips.destination_link),
        destination_at=np.where(go, 1.0, trips.destination_at),
    )
    return trips, k


def _route_shelters(
    net: RoadNetwork, trips: Trips, shelters: np.ndarray | None, shelter: np.ndarray
) -> np.ndarray:
    """``shelter`` with each trip on a plan's route given the shelter nearest its route's
    end junction (straight line), if within :data:`~twin.coupling.shelters.MAX_SHELTER_SNAP`
    (-1: the route ends at none of ``shelters``)."""
    if shelters is None or len(trips) == 0 or len(shelters) == 0:
        return shelter
    routed = trips.route >= 0
    end = trips.destination
    gap = np.hypot(
        net.x[end][:, None] - shelters[None, :, 0], net.y[end][:, None] - shelters[None, :, 1]
    )
    k = np.argmin(gap, axis=1)
    near = gap[np.arange(k.size), k] <= MAX_SHELTER_SNAP
    return np.where(routed, np.where(near, k, -1), shelter)


def _closures(
    sc: Scenario, pack: CityPack, net: RoadNetwork
) -> list[tuple[float, np.ndarray, str]]:
    """Ground collapses as ``(time, links, name)``, by the one rule of
    :mod:`twin.coupling.hazards` (links whose drawn geometry passes within the radius)."""
    index, order = net.link_index()
    return [
        (c.start, np.sort(order[np.flatnonzero(c.links)]), c.name or c.field)
        for c in collapse_closures(sc.hazards, index, pack.crs)
    ]


#: Most distance from an evacuation route's waypoint to a junction of the drive network (m),
#: as the crowd model's limit to its walk network.
MAX_WAYPOINT_SNAP = 250.0
#: A ``[lon, lat]`` in a plan's ``open_shelters`` names the candidate nearest it within this
#: (m), as for walkers.
MAX_OPEN_SNAP = 250.0


def _shelter_sites(plan: Plan, pack: CityPack, to_m) -> tuple[np.ndarray, list[str]]:
    """Where the plan's evacuees may go, ``(K, 2)`` metres and names: the plan's ``shelters``,
    the city's designated shelters and the candidates the plan opens (``open_candidates``,
    ``open_shelters``), those with room, as the crowd model's shelters."""
    f = pack.facilities
    ids = (f["osm_type"].astype(str) + "/" + f["osm_id"].astype(str)).tolist()
    fx, fy = f.geometry.x.to_numpy(), f.geometry.y.to_numpy()
    xy, names = [], []
    for s in plan.shelters:
        if s.location is not None:
            xy.append(to_m.transform(*s.location))
        elif s.facility in ids:
            i = ids.index(s.facility)
            xy.append((fx[i], fy[i]))
        else:
            continue  # a facility the map lacks: the shelter's own error (twin validate)
        names.append(s.name)
    status = f["status"].astype(str).to_numpy() if "status" in f else np.full(len(f), "")
    chosen = status == "shelter"
    if plan.open_candidates:
        chosen |= status == "candidate"
    lowered = [n.casefold() if isinstance(n, str) else "" for n in f.get("name", [""] * len(f))]
    for entry in plan.open_shelters:
        if isinstance(entry, str):
            hit = [
                i
                for i, (o, n) in enumerate(zip(ids, lowered, strict=True))
                if entry == o or entry.casefold() == n
            ]
        else:
            x, y = to_m.transform(*entry)
            d = np.where(status != "", np.hypot(fx - x, fy - y), np.inf)
            hit = [int(np.argmin(d))] if d.size and d.min() <= MAX_OPEN_SNAP else []
        chosen[[i for i in hit if status[i] != ""]] = True
    room = np.nan_to_num(f["capacity"].to_numpy(dtype=float)) >= 1 if "capacity" in f else chosen
    for i in np.flatnonzero(chosen & room):
        xy.append((fx[i], fy[i]))
        names.append(ids[i])
    return np.asarray(xy, dtype=float).reshape(-1, 2), names


def driving_routes(
    plan: Plan | None,
    pack: CityPack,
    net: RoadNetwork,
    model: TrafficModel,
    trips: Trips,
    *,
    max_snap: float = MAX_SNAP_M,
) -> Trips:
    """Send evacuating drivers along the plan's evacuation routes for cars (``mode`` car or
    both), by the rule walkers follow (:mod:`twin.coupling.crowd_setup`): a driver whose trip
    starts inside a route's ``zone`` takes the first such route; any other takes the
    zone-less route whose first waypoint is nearest its start (straight line), if there is
    one. A route passes its waypoints (each snapped to the nearest junction of the drive
    network, within :data:`MAX_WAYPOINT_SNAP`) and ends at its ``shelter`` (the plan
    shelter named, else of the shelters evacuees may use the one nearest its last waypoint,
    straight line), at the junction nearest it (within ``max_snap``). The routes are added
    to ``model``; the trips are returned with their ``route`` and new destinations.

    Raises
    ------
    twin.errors.UserInputError
        Naming every waypoint or shelter too far from the roads, and a route with no shelter.
    """
    import shapely
    from pyproj import Transformer

    routes = [
        (i, r) for i, r in enumerate(plan.evacuation_routes if plan else []) if r.mode != "walk"
    ]
    if not routes or len(trips) == 0:
        return trips
    to_m = Transformer.from_crs("EPSG:4326", pack.crs, always_xy=True)
    links = net.link_index()[0]  # its nodes are the network's, in order
    sites, site_names = _shelter_sites(plan, pack, to_m)
    on_link = trips.origin_link >= 0
    sx, sy = net.x[trips.origin].astype(float), net.y[trips.origin].astype(float)
    starts = shapely.line_interpolate_point(
        net.link_lines()[trips.origin_link[on_link]], trips.origin_at[on_link], normalized=True
    )
    sx[on_link], sy[on_link] = shapely.get_x(starts), shapely.get_y(starts)
    route = np.full(len(trips), -1, dtype=np.int64)
    dest = trips.destination.copy()
    free = np.ones(len(trips), dtype=bool)
    zone_less, problems = [], []
    for i, r in routes:
        field = f"evacuation_routes.{i}"
        wx, wy = to_m.transform(*np.asarray(r.waypoints, dtype=float).T)
        via, dist = links.nearest_nodes(wx, wy)
        for j in np.flatnonzero(dist > MAX_WAYPOINT_SNAP):
            problems.append(
                Problem(
                    f"route {r.name!r}: waypoint {j + 1} at {format_lonlat(*r.waypoints[j])} is "
                    f"{dist[j]:.0f} m from the nearest junction of the roads "
                    f"(at most {MAX_WAYPOINT_SNAP:.0f} m)",
                    field=f"{field}.waypoints.{j}",
                    fix="put each waypoint on a drivable street, or make the route `mode: walk`",
                )
            )
        if r.shelter is not None and r.shelter in site_names:
            k = site_names.index(r.shelter)
        elif r.shelter is None and len(sites):
            k = int(np.argmin(np.hypot(sites[:, 0] - net.x[via[-1]], sites[:, 1] - net.y[via[-1]])))
        else:
            problems.append(
                Problem(
                    f"route {r.name!r} leads to no shelter drivers can find"
                    + (f" ({r.shelter!r} is not placed on the map)" if r.shelter else ""),
                    field=f"{field}.shelter",
                    fix="list the shelter in `shelters:` with a `location` or a facility "
                    "of the map",
                )
            )
            continue
        (end,), (gap,) = links.nearest_nodes(*np.asarray(sites[k], dtype=float))
        if gap > max_snap:
            problems.append(
                Problem(
                    f"route {r.name!r}: shelter {site_names[k]} is {gap:.0f} m from the "
                    f"nearest junction of the roads (the limit is {max_snap:.0f} m)",
                    field=f"{field}.shelter",
                    fix=f"name a shelter near a road, or `twin traffic --set "
                    f"max_snap={50.0 * np.ceil(gap / 50.0):.0f}`",
                )
            )
        if problems:
            continue
        index = model.add_route(via, name=r.name)
        if r.zone is not None:
            poly = shapely.Polygon(np.column_stack(to_m.transform(*np.asarray(r.zone).T)))
            inside = free & shapely.contains_xy(poly.buffer(0), sx, sy)
            route[inside], dest[inside] = index, end
            free &= ~inside
        else:
            zone_less.append((index, int(via[0]), int(end)))
    if problems:
        raise UserInputError(problems)
    if zone_less:  # the zone-less route whose first waypoint is nearest each start
        first = np.array([v for _, v, _ in zone_less])
        d = np.hypot(sx[:, None] - net.x[first][None, :], sy[:, None] - net.y[first][None, :])
        pick = np.argmin(d, axis=1)
        route[free] = np.array([k for k, _, _ in zone_less])[pick[free]]
        dest[free] = np.array([e for _, _, e in zone_less])[pick[free]]
    routed = route >= 0
    return replace(
        trips,
        destination=dest,
        destination_link=np.where(routed, -1, trips.destination_link),
        destination_at=np.where(routed, 1.0, trips.destination_at),
        route=route,
    )
