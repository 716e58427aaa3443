"""Model results as layers GIS tools open: link, trip, shelter and event layers of one
GeoPackage per run, with geometry, the city's CRS and OSM ids.

The models keep plain indices (link ``i``, node ``n``); this module turns them into
geometry through the network's arrays (its link index when it came from a city pack) and
writes GeoPackages atomically. Layers are in the pack's projected CRS (metres); tables that
carry coordinates for spreadsheets give them as ``lon``/``lat`` (WGS 84 degrees).

Time in layers: ``time_s`` (seconds since the run start, float) and ``time`` (a date-time:
the scenario's ``time.start`` plus ``time_s``, or :data:`EPOCH` plus ``time_s`` when the
scenario gives no start), which QGIS's temporal controller takes as "single field with
date/time". Link layers are long: one row per link and record time.

Files (see :func:`write_traffic_geo`, :func:`write_crowd_geo`, :func:`write_events_geo`):

* ``traffic.gpkg``: ``link_results`` (lines; ``time_s``, ``time``, ``link`` (index in the
  run's network), ``way_id``, ``u``, ``v`` (OSM node ids), ``key`` (the city graph's edge
  is ``(u, v, key)``), ``vehicles``, ``queue``, ``outflow_vph``, ``speed_mps``,
  ``speed_index`` (speed over free speed, 0-1; 0 when closed), ``closed``) and ``trips``
  (origin-destination lines; ``vehicle``, ``origin``, ``destination`` (OSM node ids),
  times, ``status``);
* ``crowd.gpkg``: ``link_density`` (lines; ``time_s``, ``time``, ``link``, ``way_id``,
  ``u``, ``v``, ``density`` in persons/m2; rows where it is above 0) and ``shelters``
  (points; ``name``, ``group``, ``capacity``, ``occupancy``, ``overflow``, ``osm_node``);
* ``events.gpkg``: ``events`` (points of the response log's events that have a node).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twin.city.export import fixed_gpkg_date
from twin.city.geometry import to_lonlat
from twin.errors import Problem, UserInputError

if TYPE_CHECKING:
    import geopandas as gpd

    from twin.crowd.kpis import CrowdKpis
    from twin.crowd.model import CrowdModel
    from twin.response.kpis import LogEvent
    from twin.response.network import CityNetwork
    from twin.traffic.model import TrafficModel
    from twin.traffic.outputs import TripRecords

#: Date-time of ``time_s = 0`` when the scenario gives no start (UTC).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class NodePlaces:
    """Where a network's nodes are, for output tables.

    Attributes
    ----------
    osm_id
        (N,) int64 OSM node id (or the network's own id) of each node index.
    x, y
        (N,) projected coordinates (m, in ``crs``).
    lon, lat
        (N,) WGS 84 coordinates (degrees).
    crs
        The projected CRS.
    """

    osm_id: np.ndarray
    x: np.ndarray
    y: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    crs: str

    @classmethod
    def of(cls, node_ids, x, y, crs: str) -> NodePlaces:
        """Places of nodes given by id and projected coordinates (m in ``crs``)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        lon, lat = to_lonlat(crs, x, y)
        return cls(np.asarray(node_ids).astype(np.int64), x, y, lon, lat, crs)


@dataclass(frozen=True)
class LinkGeometry:
    """Links as drawn with their OSM ids, for link layers.

    Attributes
    ----------
    lines
        (L,) shapely LineStrings (m), tail to head.
    u, v
        (L,) OSM node ids of each link's tail and head.
    key
        (L,) key among parallel links (0 where the network has no keys); with ``u`` and
        ``v`` it names the edge of the city pack's graph.
    way_id
        (L,) first OSM way id of each link (-1: none, e.g. a synthetic network).
    crs
        The projected CRS.
    """

    lines: np.ndarray
    u: np.ndarray
    v: np.ndarray
    key: np.ndarray
    way_id: np.ndarray
    crs: str


def clock(times_s: np.ndarray, start: datetime | None) -> np.ndarray:
    """Date-times (numpy ``datetime64[ms]``, UTC, no zone) of run times in seconds: the
    scenario's ``start`` plus the time, or :data:`EPOCH` plus it."""
    base = (start or EPOCH).astimezone(UTC).replace(tzinfo=None)
    ms = np.round(np.asarray(times_s, dtype=np.float64) * 1000.0).astype(np.int64)
    return np.datetime64(base, "ms") + ms.astype("timedelta64[ms]")


def write_gpkg(path: Path | str, layers: dict[str, gpd.GeoDataFrame]) -> Path:
    """Write ``layers`` (name -> frame, in order) as one GeoPackage, whole or not at all.

    The temporary ends in ``.gpkg`` (GDAL warns of a GeoPackage under another extension) and
    is renamed to ``path`` once every layer is written; on any error it is deleted.

    Raises
    ------
    twin.errors.UserInputError
        If the file cannot be written (disk full, no permission).
    """
    import pyogrio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.part.gpkg")
    try:
        with fixed_gpkg_date():
            for name, frame in layers.items():
                pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserInputError(
            Problem(
                f"could not write {path}: {exc.strerror or exc}",
                field="--out",
                fix="free disk space or choose another folder with `--out DIR`",
            )
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _frame(columns: dict[str, np.ndarray], geometry, crs: str) -> gpd.GeoDataFrame:
    import geopandas as gpd

    return gpd.GeoDataFrame(columns, geometry=geometry, crs=crs)


def link_time_frame(
    links: LinkGeometry,
    times_s: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    values: dict[str, np.ndarray],
    start: datetime | None,
) -> gpd.GeoDataFrame:
    """One row per (record time, link) pair given as ``rows`` (time index) and ``cols``
    (link index), with the link's geometry and ids and ``values`` (arrays over the pairs)."""
    t = np.asarray(times_s, dtype=np.float64)[rows]
    columns = {
        "time_s": t,
        "time": clock(t, start),
        "link": cols.astype(np.int64),
        "way_id": links.way_id[cols],
        "u": links.u[cols],
        "v": links.v[cols],
        "key": links.key[cols],
        **values,
    }
    return _frame(columns, links.lines[cols], links.crs)


def traffic_links(model: TrafficModel, crs: str) -> LinkGeometry:
    """The traffic network's links as drawn, with OSM ids (its city link index's way ids)."""
    net = model.net
    if net.links is not None:
        way, key = net.links.way_id, net.links.key
    else:
        way, key = np.full(net.n_links, -1, np.int64), np.zeros(net.n_links, np.int64)
    ids = np.asarray(net.node_ids).astype(np.int64)
    return LinkGeometry(net.link_lines(), ids[net.link_from], ids[net.link_to], key, way, crs)


def traffic_places(model: TrafficModel, crs: str) -> NodePlaces:
    """Places of the traffic network's nodes."""
    return NodePlaces.of(model.net.node_ids, model.net.x, model.net.y, crs)


def write_traffic_geo(
    folder: Path | str,
    model: TrafficModel,
    trips: TripRecords,
    crs: str,
    *,
    start: datetime | None = None,
) -> Path:
    """Write ``traffic.gpkg`` (layers ``link_results`` and ``trips``, see the module notes)
    to ``folder``; returns its path."""
    import shapely

    from twin.traffic.outputs import STATUS_NAMES

    links = traffic_links(model, crs)
    places = traffic_places(model, crs)
    a = model.series.arrays()
    n_t, n_l = a["vehicles"].shape
    rows, cols = np.divmod(np.arange(n_t * n_l), n_l)
    free = model.net.free_speed
    values = {
        "vehicles": a["vehicles"][rows, cols].astype(np.int32),
        "queue": a["queue"][rows, cols].astype(np.int32),
        "outflow_vph": a["outflow_vph"][rows, cols].astype(np.float64),
        "speed_mps": a["speed"][rows, cols].astype(np.float64),
        "speed_index": (a["speed"] / free)[rows, cols].astype(np.float64),
        "closed": a["closed"][rows, cols].astype(bool),
    }
    link_layer = link_time_frame(links, a["time"], rows, cols, values, start)
    o, d = trips.origin.astype(np.int64), trips.destination.astype(np.int64)
    ends = np.stack(
        [np.column_stack([places.x[o], places.y[o]]), np.column_stack([places.x[d], places.y[d]])],
        axis=1,
    )
    od = shapely.linestrings(ends) if o.size else np.empty(0, dtype=object)
    status = np.array([STATUS_NAMES[s] for s in range(len(STATUS_NAMES))])
    trip_layer = _frame(
        {
            "vehicle": np.arange(o.size, dtype=np.int64),
            "origin": places.osm_id[o],
            "destination": places.osm_id[d],
            "depart_s": trips.depart.astype(np.float64),
            "arrive_s": trips.arrive.astype(np.float64),
            "status": status[trips.status.astype(np.int64)],
            "priority": trips.priority.astype(bool),
        },
        od,
        crs,
    )
    return write_gpkg(
        Path(folder) / "traffic.gpkg", {"link_results": link_layer, "trips": trip_layer}
    )


def crowd_links(model: CrowdModel, crs: str) -> LinkGeometry:
    """The walk network's links as drawn (straight where it has no link index), with ids."""
    import shapely

    net = model.net
    ids = np.asarray(net.node_ids).astype(np.int64)
    if net.links is not None and net.links.n_links == net.n_links:
        lines, way, key = net.links.lines(), net.links.way_id, net.links.key
    else:
        a = np.column_stack([net.x[net.tail], net.y[net.tail]])
        b = np.column_stack([net.x[net.head], net.y[net.head]])
        lines = shapely.linestrings(np.stack([a, b], axis=1))
        way = np.full(net.n_links, -1, dtype=np.int64)
        key = np.zeros(net.n_links, dtype=np.int64)
    return LinkGeometry(lines, ids[net.tail], ids[net.head], key, way, crs)


def write_crowd_geo(
    folder: Path | str,
    model: CrowdModel,
    kpis: CrowdKpis,
    crs: str,
    *,
    start: datetime | None = None,
) -> Path:
    """Write ``crowd.gpkg`` (layers ``link_density`` and ``shelters``, see the module notes)
    to ``folder``; returns its path."""
    import shapely

    net = model.net
    links = crowd_links(model, crs)
    times, dens = model.density_series()
    rows, cols = np.nonzero(dens > 0)
    density = link_time_frame(
        links, times, rows, cols, {"density": dens[rows, cols].astype(np.float64)}, start
    )
    dests = model.dests
    node = dests.node.astype(np.int64)
    rows_k = kpis.destinations
    shelters = _frame(
        {
            "name": np.array([d["name"] for d in rows_k], dtype=object),
            "group": np.array([d["group"] for d in rows_k], dtype=object),
            "capacity": np.array([d["capacity"] for d in rows_k], dtype=np.float64),
            "occupancy": np.array([d["occupancy"] for d in rows_k], dtype=np.int64),
            "overflow": np.array([d["overflow"] for d in rows_k], dtype=np.int64),
            "osm_node": np.asarray(net.node_ids).astype(np.int64)[node],
        },
        shapely.points(net.x[node], net.y[node]),
        crs,
    )
    return write_gpkg(Path(folder) / "crowd.gpkg", {"link_density": density, "shelters": shelters})


def response_places(network: CityNetwork) -> NodePlaces:
    """Places of the road nodes the response model's events name (its travel graph's node
    indices)."""
    travel = network.travel
    return NodePlaces.of(travel.node_ids, travel.xy[:, 0], travel.xy[:, 1], network.crs)


def write_events_geo(
    folder: Path | str,
    events: list[LogEvent],
    places: NodePlaces,
    *,
    start: datetime | None = None,
) -> Path:
    """Write ``events.gpkg``: the response log's events that have a road node, as points
    (``time_s``, ``time``, ``event``, ``unit``, ``incident``, ``osm_node``, ``detail``,
    ``value``); returns its path."""
    import shapely

    kept = [e for e in events if e.node >= 0]
    node = np.array([e.node for e in kept], dtype=np.int64)
    t = np.array([e.time for e in kept], dtype=np.float64)
    layer = _frame(
        {
            "time_s": t,
            "time": clock(t, start),
            "event": np.array([e.event for e in kept], dtype=object),
            "unit": np.array([e.unit for e in kept], dtype=np.int64),
            "incident": np.array([e.incident for e in kept], dtype=np.int64),
            "osm_node": places.osm_id[node],
            "detail": np.array([e.detail for e in kept], dtype=object),
            "value": np.array([e.value for e in kept], dtype=np.float64),
        },
        shapely.points(places.x[node], places.y[node]),
        places.crs,
    )
    return write_gpkg(Path(folder) / "events.gpkg", {"events": layer})
