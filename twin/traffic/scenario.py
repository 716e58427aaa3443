"""A scenario's traffic: the network, demand and road closures of a scenario, ready to run."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.errors import Problem, UserInputError
from twin.traffic.budget import check_vehicles
from twin.traffic.demand import (
    MAX_SNAP_M,
    PERSONS_PER_CAR,
    Trips,
    evacuation_trips,
    od_slice_trips,
    trips_csv,
)
from twin.traffic.model import TrafficModel
from twin.traffic.network import RoadNetwork
from twin.traffic.settings import SETTING_EXAMPLES

if TYPE_CHECKING:
    from twin.city.pack import CityPack
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
    """

    model: TrafficModel
    closures: list[tuple[float, np.ndarray, str]] = field(default_factory=list)
    duration: float = 0.0

    def run(self, until: float | None = None, progress: Callable[[float], None] | None = None):
        """Advance to ``until`` (default: the scenario's end), closing roads on time."""
        end = self.duration if until is None else until
        for when, links, _ in self.closures:
            if when >= end:
                break
            if when > self.model.time:
                self.model.advance_to(when, progress)
            self.model.close_links(links)
        self.model.advance_to(end, progress)


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
        The scenario's file: problems with its fields then name the file and line.

    Raises
    ------
    twin.errors.UserInputError
        If the scenario has no vehicles, a place is too far from every road, or the
        vehicles would not fit in memory.
    """
    try:
        return _traffic(sc, pack, dict(settings or {}))
    except UserInputError as exc:
        if path is None:
            raise
        raise locate_in_scenario(exc, path) from None


def locate_in_scenario(exc: UserInputError, path: Path | str) -> UserInputError:
    """The same problems, those naming a scenario field (``demand.od.0.flows.1.origin``)
    given the scenario file and the line of the deepest key found in it."""
    from twin.scenario._problems import line_of
    from twin.scenario.loader import read_yaml

    try:
        tree = read_yaml(path)
    except UserInputError:
        return exc
    problems = []
    for problem in exc.problems:
        field = problem.field or ""
        if problem.file is None and field.split(".")[0] in ("demand", "hazards", "time"):
            keys = [int(k) if k.isdigit() else k for k in re.split(r"[.\[\]]+", field) if k]
            problem = replace(problem, file=path, line=line_of(tree, keys))
        problems.append(problem)
    return type(exc)(problems)


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


def _traffic(sc: Scenario, pack: CityPack, settings: dict[str, Any]) -> TrafficRun:
    max_snap = settings.pop("max_snap", None) or MAX_SNAP_M
    pack = pack.largest_component()
    net = RoadNetwork.from_graph(pack.drive)
    nullable = {"reroute_every", "stuck_time"}  # None switches these off
    model = TrafficModel(
        net, **{k: v for k, v in settings.items() if v is not None or k in nullable}
    )
    end = sc.time.duration
    planned, biggest = _planned_vehicles(sc, pack)
    check_vehicles(planned, model.max_memory_bytes, field=biggest)
    rng = np.random.default_rng([sc.seed, 4])  # the traffic demand's own stream
    parts: list[Trips] = []
    demand = sc.demand
    if demand.trips is not None:
        parts.append(trips_csv(demand.trips, net, crs=pack.crs, end=end, max_snap=max_snap))
    if demand.od:
        parts.append(od_slice_trips(demand.od, net, pack.crs, max_snap=max_snap))
    if demand.evacuation is not None:
        parts.append(
            evacuation_trips(
                demand.evacuation, pack.buildings, net, pack.crs, rng, end=end, max_snap=max_snap
            )
        )
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
    model.add_vehicles(trips.origin, trips.destination, trips.depart, **trips.link_ends())
    return TrafficRun(model, _closures(sc, pack, net), end)


def _closures(
    sc: Scenario, pack: CityPack, net: RoadNetwork
) -> list[tuple[float, np.ndarray, str]]:
    """Ground collapses as ``(time, links, name)``: links whose drawn geometry (or straight
    segment, where the graph has none) passes within the collapse's radius."""
    import shapely
    from pyproj import Transformer

    collapses = [(i, h) for i, h in enumerate(sc.hazards) if h.kind == "ground_collapse"]
    if not collapses:
        return []
    lines = net.link_lines()
    to_m = Transformer.from_crs("EPSG:4326", pack.crs, always_xy=True)
    out = []
    for i, hazard in collapses:
        centre = shapely.Point(*to_m.transform(*hazard.location))
        links = np.flatnonzero(shapely.distance(lines, centre) <= hazard.radius)
        out.append((float(hazard.at), links, hazard.name or f"hazards.{i}"))
    return sorted(out, key=lambda c: c[0])
