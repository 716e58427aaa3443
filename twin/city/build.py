"""Build a CityPack from an OSM file and terrain (the slow path; results are cached)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from twin.city.links import LinkIndex
from twin.city.pack import CityPack, nearest_node_ids

#: Steps reported to the progress callback, in order.
BUILD_STEPS = (
    "reading OSM",
    "drive graph",
    "walk graph",
    "buildings",
    "terrain",
    "facilities",
)


@dataclass(frozen=True)
class BuildOptions:
    """Options that change what a pack contains (they are part of its cache key).

    Attributes
    ----------
    resolution
        Terrain grid cell size (m).
    service_roads
        Include service roads (osmnx ``drive_service``) in the drive graph.
    flat
        Build without a DEM: flat terrain at ``flat_elevation`` (stated in the pack).
    flat_elevation
        Elevation of flat terrain (m).
    terrain_margin
        Margin around the data's extent covered by the terrain grid (m).
    """

    resolution: float = 10.0
    service_roads: bool = False
    flat: bool = False
    flat_elevation: float = 0.0
    terrain_margin: float = 200.0

    def as_dict(self) -> dict:
        return asdict(self)


def utm_crs(lon: float, lat: float) -> str:
    """EPSG code of the UTM zone containing a point (WGS 84 / UTM, north or south)."""
    zone = min(60, math.floor((lon + 180.0) / 6.0) + 1)
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def _add_elevations(graph, terrain) -> None:
    """Set node ``elevation`` and edge ``elevation_u``/``elevation_v``/``grade`` from terrain."""
    nodes = list(graph.nodes)
    if not nodes:
        return
    x = np.array([graph.nodes[n]["x"] for n in nodes])
    y = np.array([graph.nodes[n]["y"] for n in nodes])
    z = terrain.sample(x, y)
    for node, elevation in zip(nodes, z, strict=True):
        graph.nodes[node]["elevation"] = float(elevation)
    for u, v, data in graph.edges(data=True):
        zu, zv = graph.nodes[u]["elevation"], graph.nodes[v]["elevation"]
        data["elevation_u"] = zu
        data["elevation_v"] = zv
        data["grade"] = (zv - zu) / data["length"] if data["length"] > 0 else 0.0


def _data_bounds(graphs, buildings, bbox_xy, margin: float) -> tuple[float, float, float, float]:
    """Extent of the map (its declared box and every node and building) plus a margin (m)."""
    xs, ys = list(bbox_xy[0]), list(bbox_xy[1])
    for graph in graphs:
        for _, data in graph.nodes(data=True):
            xs.append(data["x"])
            ys.append(data["y"])
    if len(buildings):
        xmin, ymin, xmax, ymax = buildings.total_bounds
        xs += [xmin, xmax]
        ys += [ymin, ymax]
    return (min(xs) - margin, min(ys) - margin, max(xs) + margin, max(ys) + margin)


def build_city_pack(
    osm_path: Path,
    dem_paths: Sequence[Path] = (),
    *,
    name: str | None = None,
    options: BuildOptions = BuildOptions(),
    sources: dict | None = None,
    on_step: Callable[[str], None] | None = None,
) -> CityPack:
    """Build a city pack from an OSM file and DEM tiles (no caching; see :func:`load_city`).

    Parameters
    ----------
    osm_path
        ``.osm.pbf``, ``.osm`` or ``.osm.bz2`` file.
    dem_paths
        DEM files (SRTM ``.hgt``, GeoTIFF, ESRI ASCII), mosaicked; empty with
        ``options.flat`` for flat terrain.
    name
        City name; default the file's stem.
    options
        What to build (see :class:`BuildOptions`).
    sources
        Provenance recorded in the pack (files and checksums).
    on_step
        Called with each step's label (:data:`BUILD_STEPS`) as it starts.
    """
    import osmnx as ox
    from pyproj import Transformer

    from twin.city import streets
    from twin.city.buildings import buildings_frame
    from twin.city.facilities import facilities_frame
    from twin.city.geometry import landcover_frame, places_frame
    from twin.city.osm_read import read_osm
    from twin.city.store import canonical_graph
    from twin.city.terrain import flat_terrain, load_terrain
    from twin.errors import MapDataError, Problem

    step = on_step or (lambda _label: None)
    start = time.perf_counter()
    step("reading OSM")
    osm = read_osm(Path(osm_path))
    west, south, east, north = osm.bbox
    crs = utm_crs((west + east) / 2, (south + north) / 2)
    to_crs = Transformer.from_crs("EPSG:4326", crs, always_xy=True)

    graphs = {}
    for label, network in (
        ("drive graph", "drive_service" if options.service_roads else "drive"),
        ("walk graph", "walk"),
    ):
        step(label)
        graph = streets.simplify(streets.build_street_graph(osm, network), network)
        if graph.number_of_nodes() == 0:
            raise MapDataError(
                Problem(
                    f"no {network} streets in the file",
                    file=osm_path,
                    fix="use an extract that covers a city's streets",
                )
            )
        # in the order a cached pack reads back, so built and cached packs agree exactly
        graphs[label] = canonical_graph(ox.projection.project_graph(graph, to_crs=crs))
    drive, walk = graphs["drive graph"], graphs["walk graph"]

    step("buildings")
    buildings = buildings_frame(osm.buildings, to_crs, crs)
    step("terrain")
    corners = to_crs.transform([west, east, west, east], [south, south, north, north])
    bounds = _data_bounds((drive, walk), buildings, corners, options.terrain_margin)
    if options.flat:
        terrain = flat_terrain(
            bounds,
            crs,
            resolution=options.resolution,
            elevation=options.flat_elevation,
            datum=f"flat, no DEM: elevation stated as {options.flat_elevation:g} m",
        )
    elif not dem_paths:
        raise MapDataError(
            Problem(
                "no terrain given for this map",
                file=osm_path,
                field="dem",
                fix="pass --dem FILE (SRTM .hgt, GeoTIFF or ESRI ASCII), or --flat",
            )
        )
    else:
        terrain = load_terrain(dem_paths, bounds, crs, resolution=options.resolution)
    _add_elevations(drive, terrain)
    _add_elevations(walk, terrain)

    if len(buildings):
        inside = buildings.geometry.representative_point()
        buildings["ground_elevation"] = terrain.sample(inside.x.to_numpy(), inside.y.to_numpy())
    else:
        buildings["ground_elevation"] = np.array([], dtype=float)

    step("facilities")
    facilities = facilities_frame(osm.facilities, to_crs, crs, buildings)
    indexes = {
        "drive": (drive, LinkIndex.from_graph(drive, "drive")),
        "walk": (walk, LinkIndex.from_graph(walk, "walk")),
    }
    facilities["drive_node"] = nearest_node_ids(indexes["drive"][1], facilities)
    facilities["walk_node"] = nearest_node_ids(indexes["walk"][1], facilities)
    return CityPack(
        name=name or Path(osm_path).name.split(".")[0],
        crs=crs,
        drive=drive,
        walk=walk,
        buildings=buildings,
        facilities=facilities,
        terrain=terrain,
        landcover=landcover_frame(osm.landcover, to_crs, crs),
        bbox_lonlat=osm.bbox,
        places=places_frame(osm.places, to_crs, crs),
        sources={**(sources or {}), "options": options.as_dict()},
        build_seconds=time.perf_counter() - start,
        link_indexes=indexes,
    )
