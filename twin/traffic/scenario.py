"""A scenario's traffic: the network, demand and road closures of a scenario, ready to run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.errors import Problem, UserInputError
from twin.traffic.demand import (
    MAX_SNAP_M,
    Trips,
    evacuation_trips,
    od_slice_trips,
    trips_csv,
)
from twin.traffic.model import TrafficModel
from twin.traffic.network import RoadNetwork

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
            out[key] = SETTINGS[key](value)
        except ValueError:
            raise UserInputError(
                Problem(f"{key} must be a number, not {value!r}", field="--set")
            ) from None
    return out


def traffic_from_scenario(
    sc: Scenario, pack: CityPack, settings: dict[str, Any] | None = None
) -> TrafficRun:
    """The traffic of scenario ``sc`` on city ``pack`` (its drive graph's largest strongly
    connected component): trips CSV, OD slices and the evacuation order as demand, ground
    collapses as closures of the links whose straight segment passes within their radius."""
    settings = dict(settings or {})
    max_snap = settings.pop("max_snap", None) or MAX_SNAP_M
    pack = pack.largest_component()
    net = RoadNetwork.from_graph(pack.drive)
    nullable = {"reroute_every", "stuck_time"}  # None switches these off
    model = TrafficModel(
        net, **{k: v for k, v in settings.items() if v is not None or k in nullable}
    )
    end = sc.time.duration
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
    late = np.flatnonzero(trips.depart >= end)
    if late.size:
        raise UserInputError(
            Problem(
                f"{late.size} trips depart at or after the scenario's end ({end:.0f} s)",
                field="demand",
                fix="make them earlier, or lengthen `time.duration`",
            )
        )
    model.add_vehicles(trips.origin, trips.destination, trips.depart)
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
    lines = [
        d.get("geometry")
        or shapely.LineString(
            [
                (net.x[net.link_from[k]], net.y[net.link_from[k]]),
                (net.x[net.link_to[k]], net.y[net.link_to[k]]),
            ]
        )
        for k, (*_, d) in enumerate(pack.drive.edges(keys=True, data=True))
    ]
    to_m = Transformer.from_crs("EPSG:4326", pack.crs, always_xy=True)
    out = []
    for i, hazard in collapses:
        centre = shapely.Point(*to_m.transform(*hazard.location))
        links = np.flatnonzero(
            shapely.distance(np.asarray(lines, dtype=object), centre) <= hazard.radius
        )
        out.append((float(hazard.at), links, hazard.name or f"hazards.{i}"))
    return sorted(out, key=lambda c: c[0])
