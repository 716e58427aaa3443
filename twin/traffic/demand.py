"""Traffic demand as arrays: trip lists, flow tables, OD slices and matrices, evacuations.

Every reader returns :class:`Trips` (node indices and departure times) ready for
:meth:`twin.traffic.TrafficModel.add_vehicles`. Places given as coordinates snap to the
nearest point on a link (a trip then starts or ends inside that link and drives only the
part of it it needs, as osmnx's ``nearest_edges`` picks a street rather than a junction)
within ``max_snap`` metres, else the reader raises a :class:`~twin.errors.UserInputError`
naming the file, row, field, the place (lon/lat) and the option that allows more.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twin.city.geometry import format_lonlat
from twin.errors import Problem, UserInputError
from twin.traffic.network import RoadNetwork

if TYPE_CHECKING:
    from twin.scenario.demand import Evacuation, OdSlice

#: Default largest distance (m) from a trip end to the node it snaps to.
MAX_SNAP_M = 250.0
#: Mean people per evacuating car (persons): an assumption of this model, not taken from
#: a published evacuation survey; the coupled run shares evacuees out over cars with it
#: (:mod:`twin.coupling.evacuees`).
PERSONS_PER_CAR = 1.5


@dataclass
class Trips:
    """Trips as arrays (length M): ``origin``/``destination`` node indices, ``depart`` (s),
    for trips that start or end inside a link, that link (-1: at the node) and where on
    it (share of its length from its upstream end; see :func:`snap_to_links`), and the
    model route each follows (-1: none; see :meth:`TrafficModel.add_route`)."""

    origin: np.ndarray
    destination: np.ndarray
    depart: np.ndarray
    origin_link: np.ndarray | None = None
    origin_at: np.ndarray | None = None
    destination_link: np.ndarray | None = None
    destination_at: np.ndarray | None = None
    route: np.ndarray | None = None

    def __post_init__(self) -> None:
        m = len(self.depart)
        for name, fill, dtype in _LINK_FIELDS:
            value = getattr(self, name)
            value = np.full(m, fill, dtype) if value is None else np.asarray(value, dtype)
            setattr(self, name, value)

    def __len__(self) -> int:
        return len(self.depart)

    @staticmethod
    def concat(parts: list[Trips]) -> Trips:
        """All trips of ``parts`` in one."""
        if not parts:
            return Trips(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
        return Trips(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS)  # type: ignore[arg-type]
        )

    def link_ends(self) -> dict[str, np.ndarray]:
        """Keyword arguments of :meth:`TrafficModel.add_vehicles` for the link ends."""
        return {
            "origin_links": self.origin_link,
            "origin_at": self.origin_at,
            "destination_links": self.destination_link,
            "destination_at": self.destination_at,
        }


_LINK_FIELDS = (
    ("origin_link", -1, np.int64),
    ("origin_at", 0.0, np.float64),
    ("destination_link", -1, np.int64),
    ("destination_at", 1.0, np.float64),
    ("route", -1, np.int64),
)
_FIELDS = ("origin", "destination", "depart", *(f for f, _, _ in _LINK_FIELDS))


@dataclass
class Snapped:
    """Points snapped to links (arrays of length K).

    Attributes
    ----------
    link
        Index of the nearest link.
    at
        Where on it, as a share of its length from its upstream end (0-1).
    distance
        Distance from the point to the link (m).
    """

    link: np.ndarray
    at: np.ndarray
    distance: np.ndarray


def snap_to_links(net: RoadNetwork, x: np.ndarray, y: np.ndarray) -> Snapped:
    """The nearest point on any link of each point ``(x, y)`` (m): the link index's lookup
    (:meth:`twin.city.links.LinkIndex.snap`; of two links at the same distance the one
    with the lower index here)."""
    index, order = net.link_index()
    link, at, dist = index.snap(x, y, rank=order)
    return Snapped(order[link].astype(np.int64), at, dist)


def far_problems(
    distance: np.ndarray,
    max_snap: float,
    describe,
    *,
    file: Path | str | None = None,
    lines: np.ndarray | None = None,
    field: str = "origin",
    limit: int = 10,
) -> list[Problem]:
    """Problems for the points farther than ``max_snap`` (m) from every road.

    ``describe(i)`` names point ``i`` for the message (what it is and its lon/lat, as the
    user wrote it); ``lines`` gives each point's line in ``file``.
    """
    far = np.flatnonzero(~(distance <= max_snap))
    problems = []
    for i in far[:limit]:
        need = 50.0 * np.ceil(distance[i] / 50.0)
        problems.append(
            Problem(
                f"{describe(i)} is {distance[i]:.0f} m from the nearest drivable road "
                f"(the limit is {max_snap:.0f} m)",
                file,
                int(lines[i]) if lines is not None else None,
                field,
                "move it next to a road, or allow it with "
                f"`twin traffic --set max_snap={need:.0f}`",
            )
        )
    if far.size > limit:
        problems.append(
            Problem(f"... and {far.size - limit} more as far from a road", file, None, field)
        )
    return problems


def snap_or_refuse(
    net: RoadNetwork,
    x: np.ndarray,
    y: np.ndarray,
    describe,
    *,
    max_snap: float = MAX_SNAP_M,
    file: Path | str | None = None,
    lines: np.ndarray | None = None,
    field: str = "origin",
) -> Snapped:
    """:func:`snap_to_links`, or an error naming every point farther than ``max_snap`` (m)
    from all roads (see :func:`far_problems` for ``describe``, ``file`` and ``lines``)."""
    snapped = snap_to_links(net, x, y)
    problems = far_problems(
        snapped.distance, max_snap, describe, file=file, lines=lines, field=field
    )
    if problems:
        raise UserInputError(problems)
    return snapped


def _to_metres(crs: str | None, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, ...]:
    if crs is None:
        raise UserInputError("coordinates in degrees need the network's CRS")
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)


def _to_lonlat(crs: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    from pyproj import Transformer

    return Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)


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
    ends: list[np.ndarray] = []
    places: list[Snapped | None] = []
    for side in ("origin", "destination"):
        snapped = None
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
            lon = _column(rows, f"{side}_lon", path, lines)
            lat = _column(rows, f"{side}_lat", path, lines)
            x, y = _to_metres(crs, lon, lat)
            snapped = snap_or_refuse(
                net,
                x,
                y,
                lambda i, s=side, lo=lon, la=lat: f"{s} {format_lonlat(lo[i], la[i])}",
                max_snap=max_snap,
                file=path,
                lines=lines,
                field=side,
            )
        elif {f"{side}_x", f"{side}_y"} <= cols:
            x = _column(rows, f"{side}_x", path, lines)
            y = _column(rows, f"{side}_y", path, lines)
            snapped = snap_or_refuse(
                net,
                x,
                y,
                lambda i, s=side, xs=x, ys=y: f"{s} ({xs[i]:.0f} m, {ys[i]:.0f} m)",
                max_snap=max_snap,
                file=path,
                lines=lines,
                field=side,
            )
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
        if snapped is not None:
            idx = (net.link_from if side == "origin" else net.link_to)[snapped.link]
        ends.append(np.asarray(idx, dtype=np.int64))
        places.append(snapped)
    return _trips_between(ends[0], ends[1], depart, places[0], places[1])


def _trips_between(
    origin: np.ndarray,
    destination: np.ndarray,
    depart: np.ndarray,
    start: Snapped | None,
    stop: Snapped | None,
) -> Trips:
    """Trips between nodes, or from/to the snapped points inside links where given."""
    return Trips(
        origin,
        destination,
        depart,
        origin_link=start.link if start is not None else None,
        origin_at=start.at if start is not None else None,
        destination_link=stop.link if stop is not None else None,
        destination_at=stop.at if stop is not None else None,
    )


def _column(rows: list[dict], name: str, path: Path, lines: np.ndarray) -> np.ndarray:
    """A CSV column as floats, or an error naming the first row that is not a number."""
    values = [r[name] for r in rows]
    bad = [i for i, text in enumerate(values) if not _is_float(text)]
    if bad:
        raise UserInputError(
            Problem(
                f"not a number: {values[bad[0]]!r}",
                path,
                int(lines[bad[0]]),
                name,
                "write a number",
            )
        )
    return np.array([float(v) for v in values])


def _is_float(text: str | None) -> bool:
    try:
        float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
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
    over its slice, between the points of the roads nearest its origin and destination."""
    flows = [(i, j, flow) for i, sl in enumerate(slices) for j, flow in enumerate(sl.flows)]
    snapped: dict[str, Snapped] = {}
    problems: list[Problem] = []
    for side in ("origin", "destination"):
        lon, lat = np.array([getattr(f, side) for *_, f in flows], dtype=float).reshape(-1, 2).T
        x, y = _to_metres(crs, lon, lat)
        snapped[side] = snap_to_links(net, x, y)
        for k, (i, j, _) in enumerate(flows):
            problems += far_problems(
                snapped[side].distance[k : k + 1],
                max_snap,
                lambda _, s=side, lo=lon[k], la=lat[k]: f"{s} {format_lonlat(lo, la)}",
                field=f"demand.od.{i}.flows.{j}.{side}",
            )
    if problems:
        raise UserInputError(problems)
    parts = []
    for k, (i, _, flow) in enumerate(flows):
        sl = slices[i]
        n = flow.vehicles
        t = sl.start + (np.arange(n) + 0.5) * (sl.end - sl.start) / max(n, 1)
        a, b = snapped["origin"].link[k], snapped["destination"].link[k]
        parts.append(
            Trips(
                np.full(n, net.link_from[a], np.int64),
                np.full(n, net.link_to[b], np.int64),
                t,
                origin_link=np.full(n, a),
                origin_at=np.full(n, snapped["origin"].at[k]),
                destination_link=np.full(n, b),
                destination_at=np.full(n, snapped["destination"].at[k]),
            )
        )
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


def building_key(ref: str, known: set[str]) -> str:
    """The ``osm_id`` a building reference names: ``ref`` itself if it is one of ``known``,
    else its number after ``type/`` (``"way/123"`` -> ``"123"``: packs store bare numbers
    while scenarios and ``twin validate`` write ``way/123``)."""
    ref = str(ref).strip()
    return ref if ref in known else ref.rpartition("/")[2]


def evacuation_trips(
    evac: Evacuation,
    buildings,
    net: RoadNetwork,
    crs: str,
    rng: np.random.Generator,
    *,
    end: float = np.inf,
    max_snap: float = MAX_SNAP_M,
    cars: np.ndarray | None = None,
) -> Trips:
    """Car trips out of an evacuation zone.

    Each ordered building (in ``evac.zone`` or listed in ``evac.buildings`` by OSM id,
    ``"way/123"`` or ``"123"``, see :func:`building_key`) sends ``cars[b]`` cars if
    ``cars`` (one count per row of ``buildings``) is given, else
    ``occupants x compliance x car_share / 1.5`` cars (rounded stochastically), from the
    nearest point of a road (within ``max_snap`` m, else an error naming the building, its
    OSM id and lon/lat) to the nearest node outside the zone (the zone's edge); departures
    follow the order time plus the departure curve; departures at or after ``end`` are
    dropped from the run and counted in the returned trips' absence (they never start).
    """
    return evacuation_cars(evac, buildings, net, crs, rng, end=end, max_snap=max_snap, cars=cars)[0]


def evacuation_cars(
    evac: Evacuation,
    buildings,
    net: RoadNetwork,
    crs: str,
    rng: np.random.Generator,
    *,
    end: float = np.inf,
    max_snap: float = MAX_SNAP_M,
    cars: np.ndarray | None = None,
) -> tuple[Trips, np.ndarray]:
    """:func:`evacuation_trips`, and which of the cars drawn (in building order, the
    cars of a building together) depart before ``end`` (the trips returned).

    Raises
    ------
    ValueError
        If ``cars`` has not one count per building, or gives cars to a building the order
        does not cover.
    """
    import shapely

    if evac.zone is not None:
        zx, zy = _to_metres(crs, *np.asarray(evac.zone, dtype=float).T)
        zone = shapely.Polygon(np.column_stack([zx, zy]))
        centroids = buildings.geometry.representative_point()
        inside = shapely.contains_xy(zone, centroids.x.to_numpy(), centroids.y.to_numpy())
    else:
        ids = buildings["osm_id"].astype(str)
        known = set(ids)
        wanted = {ref: building_key(ref, known) for ref in evac.buildings or []}
        inside = ids.isin(set(wanted.values())).to_numpy()
        chosen = buildings[inside]
        missing = [ref for ref, key in wanted.items() if key not in known]
        if missing:
            raise UserInputError(
                Problem(
                    f"unknown building(s) {missing[:5]}",
                    field="demand.evacuation.buildings",
                    fix="use OSM ids of the map's buildings, e.g. 'way/123456' or '123456'",
                )
            )
        zone = (
            shapely.GeometryCollection(list(chosen.geometry)).convex_hull if len(chosen) else None
        )  # buildings may be multipolygons
    chosen = buildings[inside]
    if cars is None:
        cars_f = chosen["occupants"].to_numpy() * evac.compliance * evac.car_share
        cars_f = cars_f / PERSONS_PER_CAR
        cars = np.floor(cars_f + rng.random(len(cars_f))).astype(np.int64)
    else:
        given = np.asarray(cars, dtype=np.int64)
        if given.shape != (len(buildings),) or given[~inside].any():
            raise ValueError("cars must give one count per building, 0 outside the order")
        cars = given[inside]
    pts = chosen.geometry.representative_point()
    px, py = pts.x.to_numpy(), pts.y.to_numpy()
    lon, lat = _to_lonlat(crs, px, py)
    osm = chosen["osm_id"].astype(str).to_numpy() if "osm_id" in chosen else None
    rows = chosen.index.to_numpy()

    def building(i: int) -> str:
        name = f"building {rows[i]}" + (f" (OSM id {osm[i]})" if osm is not None else "")
        return f"{name} at {format_lonlat(lon[i], lat[i])}"

    home = snap_or_refuse(
        net,
        px,
        py,
        building,
        max_snap=max_snap,
        field="demand.evacuation." + ("zone" if evac.zone is not None else "buildings"),
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
    near, _ = net.link_index()[0].nearest_nodes(px, py, among=outside)
    origin_link = np.repeat(home.link, cars)
    origin_at = np.repeat(home.at, cars)
    dest = np.repeat(near, cars)
    depart = evac.order_time + evac.curve.delays(int(cars.sum()), rng)
    keep = depart < end
    trips = Trips(
        net.link_from[origin_link[keep]].astype(np.int64),
        dest[keep],
        depart[keep],
        origin_link=origin_link[keep],
        origin_at=origin_at[keep],
    )
    return trips, keep
