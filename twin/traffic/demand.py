"""Traffic demand as arrays: trip lists, flow tables, OD slices and matrices, evacuations.

Every reader returns :class:`Trips` (node indices and departure times) ready for
:meth:`twin.traffic.TrafficModel.add_vehicles`. Places given as coordinates snap to the
nearest network node within ``max_snap`` metres, else the reader raises a
:class:`~twin.errors.UserInputError` naming the file, row and field.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

from twin.errors import Problem, UserInputError
from twin.traffic.network import RoadNetwork

if TYPE_CHECKING:
    from twin.scenario.demand import Evacuation, OdSlice

#: Default largest distance (m) from a trip end to the node it snaps to.
MAX_SNAP_M = 250.0
#: People per evacuating car.
PERSONS_PER_CAR = 1.5


@dataclass
class Trips:
    """Trips as arrays (length M): ``origin``/``destination`` node indices, ``depart`` (s)."""

    origin: np.ndarray
    destination: np.ndarray
    depart: np.ndarray

    def __len__(self) -> int:
        return len(self.depart)

    @staticmethod
    def concat(parts: list[Trips]) -> Trips:
        """All trips of ``parts`` in one."""
        if not parts:
            return Trips(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
        return Trips(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("origin", "destination", "depart")
            )
        )


def snap(
    net: RoadNetwork,
    x: np.ndarray,
    y: np.ndarray,
    *,
    max_snap: float = MAX_SNAP_M,
    file: Path | str | None = None,
    lines: np.ndarray | None = None,
    field: str = "origin",
) -> np.ndarray:
    """Nearest node index of each point (m), or an error naming every point too far away."""
    dist, idx = cKDTree(np.column_stack([net.x, net.y])).query(np.column_stack([x, y]))
    far = np.flatnonzero(dist > max_snap)
    if far.size:
        raise UserInputError(
            [
                Problem(
                    f"{field} is {dist[i]:.0f} m from the nearest drivable node "
                    f"(the limit is {max_snap:.0f} m)",
                    file,
                    int(lines[i]) if lines is not None else None,
                    field,
                    "move it onto the road network, or raise max_snap",
                )
                for i in far[:10]
            ]
        )
    return idx.astype(np.int64)


def _to_metres(crs: str | None, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, ...]:
    if crs is None:
        raise UserInputError("coordinates in degrees need the network's CRS")
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)


def _check_window(depart, start, end, file, lines, field="departure") -> None:
    bad = np.flatnonzero((depart < start) | (depart >= end) | ~np.isfinite(depart))
    if bad.size:
        raise UserInputError(
            [
                Problem(
                    f"departure {depart[i]:.1f} s is outside the run [{start:.0f}, {end:.0f}) s",
                    file,
                    int(lines[i]) if lines is not None else None,
                    field,
                    "depart within the scenario's time window",
                )
                for i in bad[:10]
            ]
        )


def trips_csv(
    path: Path | str,
    net: RoadNetwork,
    *,
    crs: str | None = None,
    start: float = 0.0,
    end: float = np.inf,
    max_snap: float = MAX_SNAP_M,
) -> Trips:
    """Read a trip list: one trip per row with a ``departure`` column (s) and either node ids
    (``origin``, ``destination``), lon/lat (``origin_lon``, ``origin_lat``,
    ``destination_lon``, ``destination_lat``; needs ``crs``) or metres (``origin_x`` ...)."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(Problem("trip file not found", path, fix="check the path"))
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        cols = set(reader.fieldnames or [])
        rows = list(reader)
    lines = np.arange(len(rows)) + 2
    if "departure" not in cols:
        raise UserInputError(Problem("no `departure` column", path, 1, fix="add it (s)"))
    try:
        depart = np.array([float(r["departure"]) for r in rows])
    except ValueError as exc:
        bad = next(i for i, r in enumerate(rows) if not _is_float(r["departure"]))
        raise UserInputError(
            Problem(f"not a number: {exc}", path, int(lines[bad]), "departure")
        ) from None
    _check_window(depart, start, end, path, lines)
    ends = []
    for side in ("origin", "destination"):
        if side in cols:
            idx = net.node_indices([_node_id(r[side], net) for r in rows])
            bad = np.flatnonzero(idx < 0)
            if bad.size:
                raise UserInputError(
                    [
                        Problem(
                            f"node {rows[i][side]!r} is not on the drivable graph",
                            path,
                            int(lines[i]),
                            side,
                            "use a node id of the network",
                        )
                        for i in bad[:10]
                    ]
                )
        elif {f"{side}_lon", f"{side}_lat"} <= cols:
            lon = np.array([float(r[f"{side}_lon"]) for r in rows])
            lat = np.array([float(r[f"{side}_lat"]) for r in rows])
            x, y = _to_metres(crs, lon, lat)
            idx = snap(net, x, y, max_snap=max_snap, file=path, lines=lines, field=side)
        elif {f"{side}_x", f"{side}_y"} <= cols:
            x = np.array([float(r[f"{side}_x"]) for r in rows])
            y = np.array([float(r[f"{side}_y"]) for r in rows])
            idx = snap(net, x, y, max_snap=max_snap, file=path, lines=lines, field=side)
        else:
            raise UserInputError(
                Problem(
                    f"no {side} columns",
                    path,
                    1,
                    side,
                    f"add `{side}` (node id) or `{side}_lon`/`{side}_lat`",
                )
            )
        ends.append(idx)
    return Trips(ends[0], ends[1], depart)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _node_id(text: str, net: RoadNetwork):
    """A CSV cell as the network's node id type (OSM ids are integers)."""
    if net.node_ids.dtype.kind in "iu":
        try:
            return int(text)
        except ValueError:
            return text
    return text


def flow_demand_csv(path: Path | str, net: RoadNetwork) -> Trips:
    """Read a flow table (``orig``, ``dest``, ``t_start_s``, ``t_end_s``, ``flow_vps``): each
    row departs ``floor(flow x duration)`` vehicles evenly spaced ``1 / flow`` apart from
    ``t_start_s`` (the grid11 benchmark's format, as UXsim's ``adddemand`` reads it)."""
    path = Path(path)
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    o = net.node_indices([r["orig"] for r in rows])
    d = net.node_indices([r["dest"] for r in rows])
    bad = np.flatnonzero((o < 0) | (d < 0))
    if bad.size:
        raise UserInputError(Problem("unknown node", path, int(bad[0]) + 2, "orig/dest"))
    t0 = np.array([float(r["t_start_s"]) for r in rows])
    t1 = np.array([float(r["t_end_s"]) for r in rows])
    flow = np.array([float(r["flow_vps"]) for r in rows])
    n = np.floor(flow * (t1 - t0) + 1e-9).astype(np.int64)
    row = np.repeat(np.arange(len(rows)), n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    return Trips(o[row], d[row], t0[row] + k / flow[row])


def od_slice_trips(
    slices: list[OdSlice], net: RoadNetwork, crs: str, *, max_snap: float = MAX_SNAP_M
) -> Trips:
    """Trips of the scenario's OD slices (``demand.od``): each flow's vehicles depart evenly
    over its slice, between the nodes nearest its origin and destination."""
    parts = []
    for i, sl in enumerate(slices):
        for j, flow in enumerate(sl.flows):
            ends = []
            for side in ("origin", "destination"):
                lon, lat = getattr(flow, side)
                x, y = _to_metres(crs, np.array([lon]), np.array([lat]))
                ends.append(
                    snap(
                        net,
                        np.asarray(x),
                        np.asarray(y),
                        max_snap=max_snap,
                        field=f"demand.od.{i}.flows.{j}.{side}",
                    )[0]
                )
            n = flow.vehicles
            t = sl.start + (np.arange(n) + 0.5) * (sl.end - sl.start) / max(n, 1)
            parts.append(Trips(np.full(n, ends[0]), np.full(n, ends[1]), t))
    return Trips.concat(parts)


def od_matrix_trips(
    zones: dict[str, np.ndarray],
    rows: list[tuple[float, float, str, str, int]],
    rng: np.random.Generator,
) -> Trips:
    """Trips of a time-sliced OD matrix between zones.

    Parameters
    ----------
    zones
        Zone name -> node indices of the zone; each trip starts and ends at a node drawn
        uniformly from its zones.
    rows
        ``(start_s, end_s, origin_zone, destination_zone, vehicles)``; the vehicles depart
        evenly over ``[start, end)``.
    rng
        Generator of the node draws.
    """
    problems = [
        Problem(
            f"unknown zone {name!r}",
            line=i + 1,
            field=side,
            fix=f"use one of {', '.join(sorted(zones))}",
        )
        for i, (_, _, oz, dz, _) in enumerate(rows)
        for side, name in (("origin", oz), ("destination", dz))
        if name not in zones
    ]
    if problems:
        raise UserInputError(problems)
    parts = []
    for start, end, oz, dz, n in rows:
        t = start + (np.arange(n) + 0.5) * (end - start) / max(n, 1)
        parts.append(Trips(rng.choice(zones[oz], n), rng.choice(zones[dz], n), t))
    return Trips.concat(parts)


def random_trips(
    net: RoadNetwork, n: int, start: float, end: float, rng: np.random.Generator
) -> Trips:
    """``n`` trips between distinct random nodes departing uniformly in ``[start, end)``."""
    o = rng.integers(0, net.n_nodes, n)
    d = (o + rng.integers(1, net.n_nodes, n)) % net.n_nodes
    return Trips(o, d, np.sort(rng.uniform(start, end, n)))


def evacuation_trips(
    evac: Evacuation,
    buildings,
    net: RoadNetwork,
    crs: str,
    rng: np.random.Generator,
    *,
    end: float = np.inf,
    max_snap: float = MAX_SNAP_M,
) -> Trips:
    """Car trips out of an evacuation zone.

    Each ordered building (in ``evac.zone`` or listed in ``evac.buildings``) sends
    ``occupants x compliance x car_share / 1.5`` cars (rounded stochastically) from its
    nearest node to the nearest node outside the zone (the zone's edge); departures follow
    the order time plus the departure curve; departures at or after ``end`` are dropped
    from the run and counted in the returned trips' absence (they never start).
    """
    import shapely

    if evac.zone is not None:
        zx, zy = _to_metres(crs, *np.asarray(evac.zone, dtype=float).T)
        zone = shapely.Polygon(np.column_stack([zx, zy]))
        centroids = buildings.geometry.representative_point()
        inside = shapely.contains_xy(zone, centroids.x.to_numpy(), centroids.y.to_numpy())
        chosen = buildings[inside]
    else:
        wanted = set(evac.buildings or [])
        chosen = buildings[buildings["osm_id"].astype(str).isin(wanted)]
        missing = wanted - set(chosen["osm_id"].astype(str))
        if missing:
            raise UserInputError(
                Problem(
                    f"unknown building(s) {sorted(missing)[:5]}",
                    field="demand.evacuation.buildings",
                    fix="use OSM ids of the map",
                )
            )
        zone = shapely.MultiPolygon(list(chosen.geometry)).convex_hull if len(chosen) else None
    cars_f = chosen["occupants"].to_numpy() * evac.compliance * evac.car_share / PERSONS_PER_CAR
    cars = np.floor(cars_f + rng.random(len(cars_f))).astype(np.int64)
    pts = chosen.geometry.representative_point()
    home = snap(
        net, pts.x.to_numpy(), pts.y.to_numpy(), max_snap=max_snap, field="demand.evacuation"
    )
    outside = np.ones(net.n_nodes, dtype=bool)
    if zone is not None:
        outside = ~shapely.contains_xy(zone, net.x, net.y)
    if not outside.any():
        raise UserInputError(
            Problem(
                "the evacuation zone covers the whole road network",
                field="demand.evacuation.zone",
                fix="draw a smaller zone",
            )
        )
    out_idx = np.flatnonzero(outside)
    _, near = cKDTree(np.column_stack([net.x[out_idx], net.y[out_idx]])).query(
        np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
    )
    origin = np.repeat(home, cars)
    dest = np.repeat(out_idx[near], cars)
    depart = evac.order_time + evac.curve.delays(int(cars.sum()), rng)
    keep = depart < end
    return Trips(origin[keep], dest[keep], depart[keep])
