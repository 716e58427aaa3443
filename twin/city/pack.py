"""CityPack: everything the simulation models need to know about one city, in metres."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.city.links import KINDS, LinkIndex
from twin.city.streets import largest_component

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

    from twin.city.terrain import TerrainGrid

OSM_ATTRIBUTION = "(c) OpenStreetMap contributors, ODbL 1.0"


@dataclass
class CityPack:
    """A city ready for simulation: street graphs, buildings, facilities and terrain.

    Everything is projected to one metric CRS (the local UTM zone).

    Attributes
    ----------
    name
        City name (catalogue name or the OSM file's stem).
    crs
        Projected CRS of every geometry and coordinate, e.g. ``"EPSG:32632"``.
    drive
        Directed road graph (osmnx conventions). Nodes: ``x``, ``y`` (m), ``elevation``
        (m). Edges: ``length`` (m), ``speed`` (free speed, m/s), ``travel_time`` (s),
        ``lanes`` (per direction), ``capacity`` (veh/h), ``storage`` (veh when jammed),
        ``elevation_u``/``elevation_v`` (m), ``grade`` (rise / length), ``highway``.
    walk
        Walk graph (both directions of every walkable way): ``length`` (m), ``width``
        (nominal, m), ``effective_width`` (m), elevations and grade as above.
    buildings
        GeoDataFrame (see :func:`twin.city.buildings.buildings_frame`) plus
        ``ground_elevation`` (m, terrain at a point inside the footprint).
    facilities
        GeoDataFrame (see :func:`twin.city.facilities.facilities_frame`) plus
        ``drive_node``/``walk_node``: nearest node of each graph.
    terrain
        Elevation grid in the same CRS.
    landcover
        Parks, woods and water areas: GeoDataFrame with ``cover`` in ``parks``, ``forest``,
        ``water`` (used for flood roughness).
    bbox_lonlat
        ``(west, south, east, north)`` of the source file (its header's box if it has one),
        degrees; :meth:`extent_lonlat` is the extent of the data itself.
    places
        Named points that are not facilities (squares, stops, shops, landmarks):
        GeoDataFrame with ``osm_id``, ``name``, ``what`` (main tag) and point geometry
        (searched by ``twin maps where``); None for packs built without them.
    sources
        Input files with their SHA-256 and the build options: the provenance of the pack.
    build_seconds
        Wall time of the build that made this pack (s).
    link_indexes
        ``{"drive": (graph, LinkIndex), "walk": ...}``: the link index of each graph, built
        with the pack and stored with it; read it with :meth:`links`.
    """

    name: str
    crs: str
    drive: nx.MultiDiGraph
    walk: nx.MultiDiGraph
    buildings: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    terrain: TerrainGrid
    landcover: gpd.GeoDataFrame
    bbox_lonlat: tuple[float, float, float, float]
    places: gpd.GeoDataFrame | None = None
    sources: dict[str, Any] = field(default_factory=dict)
    build_seconds: float = float("nan")
    attribution: str = OSM_ATTRIBUTION
    link_indexes: dict[str, tuple[nx.MultiDiGraph, LinkIndex]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def links(self, kind: str) -> LinkIndex:
        """The link index of the ``"drive"`` or ``"walk"`` graph (see
        :mod:`twin.city.links`): the stored one, or built once from the graph if the pack
        has none for it (a pack made by hand, or a graph replaced since)."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        graph = getattr(self, kind)
        stored = self.link_indexes.get(kind)
        if stored is None or stored[0] is not graph:
            self.link_indexes[kind] = (graph, LinkIndex.from_graph(graph, kind))
        return self.link_indexes[kind][1]

    def largest_component(self) -> CityPack:
        """A pack whose drive graph is its largest strongly connected component (every node
        reaches every other) and whose walk graph is its largest connected component; their
        link indexes are the pack's restricted to those nodes (same link order)."""
        facilities = self.facilities.copy()
        indexes = {}
        for kind, strongly in (("drive", True), ("walk", False)):
            graph = largest_component(getattr(self, kind), strongly=strongly)
            index = self.links(kind)
            keep = np.isin(index.node_ids, np.fromiter(graph.nodes, dtype=np.int64))
            indexes[kind] = (graph, index.subset(keep))
            facilities[f"{kind}_node"] = nearest_node_ids(indexes[kind][1], facilities)
        return dataclasses.replace(
            self,
            drive=indexes["drive"][0],
            walk=indexes["walk"][0],
            facilities=facilities,
            link_indexes=indexes,
        )

    def extent_lonlat(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` in degrees of the data itself: every node of the
        drive and walk graphs and every building (not the file header's box)."""
        return self._extent

    @cached_property
    def _extent(self) -> tuple[float, float, float, float]:
        from twin.city.geometry import to_lonlat

        xs, ys = [], []
        for graph in (self.drive, self.walk):
            xs += [d["x"] for _, d in graph.nodes(data=True)]
            ys += [d["y"] for _, d in graph.nodes(data=True)]
        if len(self.buildings):
            xmin, ymin, xmax, ymax = self.buildings.total_bounds
            xs += [xmin, xmax, xmin, xmax]
            ys += [ymin, ymin, ymax, ymax]
        if not xs:
            return tuple(float(v) for v in self.bbox_lonlat)
        lon, lat = to_lonlat(self.crs, xs, ys)
        return (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))

    def summary(self) -> dict[str, Any]:
        """Counts and extents for people: the numbers ``twin maps info`` prints."""
        km_by_class: dict[str, float] = {}
        for _, _, data in self.drive.edges(data=True):
            cls = data["highway"]
            cls = cls[0] if isinstance(cls, list) else cls
            km_by_class[cls] = km_by_class.get(cls, 0.0) + data["length"] / 1000.0
        scc = largest_component(self.drive, strongly=True)
        walk_cc = largest_component(self.walk, strongly=False)
        elev = self.terrain.elevation
        heights = self.buildings["height_source"].value_counts().to_dict()
        return {
            "name": self.name,
            "crs": self.crs,
            "drive_nodes": self.drive.number_of_nodes(),
            "drive_edges": self.drive.number_of_edges(),
            "drive_km": sum(km_by_class.values()),
            "drive_km_by_class": dict(sorted(km_by_class.items(), key=lambda kv: -kv[1])),
            "drive_largest_scc_nodes": scc.number_of_nodes(),
            "walk_nodes": self.walk.number_of_nodes(),
            "walk_edges": self.walk.number_of_edges(),
            "walk_km": sum(d for _, _, d in self.walk.edges(data="length")) / 1000.0,
            "walk_largest_component_nodes": walk_cc.number_of_nodes(),
            "buildings": len(self.buildings),
            "buildings_height_from": {str(k): int(v) for k, v in heights.items()},
            "occupants": float(self.buildings["occupants"].sum()),
            "facilities": {
                str(k): int(v) for k, v in self.facilities["kind"].value_counts().items()
            },
            "landcover": {
                str(k): int(v) for k, v in self.landcover["cover"].value_counts().items()
            },
            "terrain_shape": tuple(int(n) for n in elev.shape),
            "terrain_resolution_m": float(self.terrain.resolution),
            "terrain_min_m": float(np.min(elev)),
            "terrain_max_m": float(np.max(elev)),
            "terrain_datum": self.terrain.datum,
            "terrain_flat": self.terrain.is_flat,
            "terrain_voids_filled": int(self.terrain.voids_filled),
            "bbox_lonlat": tuple(float(v) for v in self.bbox_lonlat),
            "extent_lonlat": self.extent_lonlat(),
            "build_seconds": float(self.build_seconds),
            "attribution": self.attribution,
        }


def nearest_node_ids(index: LinkIndex, points_frame) -> np.ndarray:
    """OSM id of the index's node nearest each geometry's centroid (metres, same CRS)."""
    if index.n_nodes == 0 or len(points_frame) == 0:
        return np.zeros(len(points_frame), dtype=np.int64)
    centres = points_frame.geometry.centroid
    nearest, _ = index.nearest_nodes(centres.x.to_numpy(), centres.y.to_numpy())
    return index.node_ids[nearest]
