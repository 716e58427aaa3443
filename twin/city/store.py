"""A CityPack as plain data files (no pickle): Parquet tables, GeoParquet frames, an ``.npz``.

One pack is a set of named byte blobs (:data:`PACK_FILES` plus a JSON manifest written by
:mod:`twin.city.cache`): graphs as Parquet tables of nodes and edges whose attribute
columns keep their Python types (ints, floats, bools, strings, WKB geometries; lists such
as osmnx's merged ``osmid`` as JSON text), the GeoDataFrames as GeoParquet, and the terrain
as an ``.npz`` read with ``allow_pickle=False``, as is the link index of each graph
(:class:`twin.city.links.LinkIndex`, one ``.npz`` of plain arrays per graph). Nothing read
here can run code.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import networkx as nx

    from twin.city.pack import CityPack

#: Blobs of one stored pack, by file name.
PACK_FILES = (
    "drive_nodes.parquet",
    "drive_edges.parquet",
    "walk_nodes.parquet",
    "walk_edges.parquet",
    "buildings.parquet",
    "facilities.parquet",
    "landcover.parquet",
    "places.parquet",
    "terrain.npz",
    "drive_links.npz",
    "walk_links.npz",
)
_KINDS_KEY = b"twin.kinds"


def _column_kind(values: list) -> str:
    """How a column of attribute values is stored: bool, int, float, str, wkb or json."""
    import shapely

    present = [v for v in values if v is not None]
    if not present:
        return "json"
    if all(isinstance(v, bool | np.bool_) for v in present):
        return "bool"
    if all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in present):
        return "int"
    if all(isinstance(v, float | int | np.floating | np.integer) for v in present) and not any(
        isinstance(v, bool) for v in present
    ):
        return "float"
    if all(isinstance(v, str) for v in present):
        return "str"
    if all(isinstance(v, shapely.Geometry) for v in present):
        return "wkb"
    return "json"


def _encode(values: list, kind: str):
    import pyarrow as pa
    import shapely

    if kind == "bool":
        return pa.array([None if v is None else bool(v) for v in values], type=pa.bool_())
    if kind == "int":
        return pa.array([None if v is None else int(v) for v in values], type=pa.int64())
    if kind == "float":
        return pa.array([None if v is None else float(v) for v in values], type=pa.float64())
    if kind == "str":
        return pa.array(values, type=pa.string())
    if kind == "wkb":
        return pa.array(
            [None if v is None else shapely.to_wkb(v) for v in values], type=pa.binary()
        )
    return pa.array([None if v is None else json.dumps(v) for v in values], type=pa.string())


def _decode(column, kind: str) -> list:
    import shapely

    values = column.to_pylist()
    if kind == "wkb":
        present = [i for i, v in enumerate(values) if v is not None]
        geoms = shapely.from_wkb([values[i] for i in present]) if present else []
        for i, geom in zip(present, geoms, strict=True):
            values[i] = geom
    elif kind == "json":
        values = [None if v is None else json.loads(v) for v in values]
    return values


def _table(ids: dict[str, list], rows: list[dict]) -> bytes:
    """Parquet bytes of id columns (int64) and attribute columns (missing -> null).

    An attribute's scalar values go to a typed column ``a:KEY``; list values (osmnx's merged
    ``osmid``, ``highway``, ``name``) go to a JSON text column ``l:KEY`` beside it.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    arrays, names, kinds = [], [], {}
    for name, values in ids.items():
        arrays.append(pa.array(values, type=pa.int64()))
        names.append(name)
    for key in keys:
        values = [row.get(key) for row in rows]
        scalars = [None if isinstance(v, list) else v for v in values]
        kinds[key] = _column_kind(scalars)
        arrays.append(_encode(scalars, kinds[key]))
        names.append(f"a:{key}")
        if any(isinstance(v, list) for v in values):
            lists = [json.dumps(v) if isinstance(v, list) else None for v in values]
            arrays.append(pa.array(lists, type=pa.string()))
            names.append(f"l:{key}")
    table = pa.Table.from_arrays(arrays, names=names)
    table = table.replace_schema_metadata({_KINDS_KEY: json.dumps(kinds).encode()})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _read_table(data: bytes, ids: tuple[str, ...]) -> tuple[list[list[int]], list[dict]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(pa.BufferReader(data))
    kinds = json.loads(table.schema.metadata[_KINDS_KEY])
    id_columns = [table.column(name).to_pylist() for name in ids]
    rows: list[dict] = [{} for _ in range(table.num_rows)]
    columns = set(table.column_names)
    for key, kind in kinds.items():
        for row, value in zip(rows, _decode(table.column(f"a:{key}"), kind), strict=True):
            if value is not None:
                row[key] = value
        if f"l:{key}" in columns:
            for row, text in zip(rows, table.column(f"l:{key}").to_pylist(), strict=True):
                if text is not None:
                    row[key] = json.loads(text)
    return id_columns, rows


def canonical_graph(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """The same graph rebuilt in a fixed order (nodes as listed, edges by tail in node order),
    which is the order a graph read from the cache has, so built and cached packs agree
    edge for edge, predecessor lists included."""
    import networkx as nx

    out = nx.MultiDiGraph(**graph.graph)
    out.add_nodes_from(graph.nodes(data=True))
    out.add_edges_from(graph.edges(keys=True, data=True))
    return out


def graph_blobs(graph: nx.MultiDiGraph) -> tuple[bytes, bytes]:
    """Parquet bytes of a graph's nodes (``id`` + attributes) and edges (``u``, ``v``,
    ``key`` + attributes)."""
    nodes = list(graph.nodes(data=True))
    edges = list(graph.edges(keys=True, data=True))
    node_blob = _table({"id": [n for n, _ in nodes]}, [d for _, d in nodes])
    edge_blob = _table(
        {"u": [e[0] for e in edges], "v": [e[1] for e in edges], "key": [e[2] for e in edges]},
        [e[3] for e in edges],
    )
    return node_blob, edge_blob


def graph_from_blobs(
    nodes: bytes, edges: bytes, attrs: dict[str, Any], crs=None
) -> nx.MultiDiGraph:
    """Inverse of :func:`graph_blobs`; ``attrs`` become the graph's attributes (``crs`` as a
    pyproj CRS, as osmnx keeps it: ``crs`` if given, else parsed from ``attrs``)."""
    import networkx as nx
    import pyproj

    graph_attrs = dict(attrs)
    if "crs" in graph_attrs:
        graph_attrs["crs"] = crs or pyproj.CRS.from_user_input(graph_attrs["crs"])
    graph = nx.MultiDiGraph(**graph_attrs)
    (ids,), node_rows = _read_table(nodes, ("id",))
    graph.add_nodes_from(zip(ids, node_rows, strict=True))
    (us, vs, keys), edge_rows = _read_table(edges, ("u", "v", "key"))
    graph.add_edges_from(zip(us, vs, keys, edge_rows, strict=True))
    return graph


def graph_attrs(graph: nx.MultiDiGraph) -> dict[str, Any]:
    """A graph's attributes as JSON values (a CRS as its string)."""
    out = {}
    for key, value in graph.graph.items():
        out[key] = value.to_string() if hasattr(value, "to_wkt") else value
    return json.loads(json.dumps(out))


def frame_blob(frame) -> bytes:
    """GeoParquet bytes of a GeoDataFrame, without its CRS (the pack's manifest holds it:
    parsing a PROJJSON CRS per frame took longer than reading the frame)."""
    sink = io.BytesIO()
    frame.set_crs(None, allow_override=True).to_parquet(sink)
    return sink.getvalue()


def frame_from_blob(data: bytes, crs):
    """Inverse of :func:`frame_blob`; ``crs`` (a ``pyproj.CRS``) is set on the frame."""
    import geopandas as gpd

    return gpd.read_parquet(io.BytesIO(data)).set_crs(crs, allow_override=True)


def pack_blobs(pack: CityPack) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The files of a pack and the metadata that goes with them into the manifest."""
    from twin.city.geometry import places_frame

    blobs: dict[str, bytes] = {}
    blobs["drive_nodes.parquet"], blobs["drive_edges.parquet"] = graph_blobs(pack.drive)
    blobs["walk_nodes.parquet"], blobs["walk_edges.parquet"] = graph_blobs(pack.walk)
    places = pack.places if pack.places is not None else places_frame([], None, pack.crs)
    for name, frame in (
        ("buildings", pack.buildings),
        ("facilities", pack.facilities),
        ("landcover", pack.landcover),
        ("places", places),
    ):
        blobs[f"{name}.parquet"] = frame_blob(frame)
    sink = io.BytesIO()
    np.savez(sink, elevation=pack.terrain.elevation)
    blobs["terrain.npz"] = sink.getvalue()
    for kind in ("drive", "walk"):
        blobs[f"{kind}_links.npz"] = pack.links(kind).to_npz()
    terrain = pack.terrain
    meta = {
        "name": pack.name,
        "crs": pack.crs,
        "bbox_lonlat": [float(v) for v in pack.bbox_lonlat],
        "sources": pack.sources,
        "build_seconds": float(pack.build_seconds),
        "attribution": pack.attribution,
        "graphs": {"drive": graph_attrs(pack.drive), "walk": graph_attrs(pack.walk)},
        "terrain": {
            "x0": float(terrain.x0),
            "y0": float(terrain.y0),
            "resolution": float(terrain.resolution),
            "crs": terrain.crs,
            "datum": terrain.datum,
            "source": terrain.source,
            "voids_filled": int(terrain.voids_filled),
        },
    }
    return blobs, json.loads(json.dumps(meta))


def pack_from_blobs(blobs: dict[str, bytes], meta: dict[str, Any]) -> CityPack:
    """Inverse of :func:`pack_blobs`; raises on anything malformed (the caller rebuilds)."""
    import pyproj

    from twin.city.links import LinkIndex
    from twin.city.pack import CityPack
    from twin.city.terrain import TerrainGrid

    crs = str(meta["crs"])
    crs_object = pyproj.CRS.from_user_input(crs)
    with np.load(io.BytesIO(blobs["terrain.npz"]), allow_pickle=False) as archive:
        elevation = archive["elevation"]
    t = meta["terrain"]
    terrain = TerrainGrid(
        elevation,
        x0=float(t["x0"]),
        y0=float(t["y0"]),
        resolution=float(t["resolution"]),
        crs=str(t["crs"]),
        datum=str(t["datum"]),
        source=str(t["source"]),
        voids_filled=int(t["voids_filled"]),
    )
    graphs = {
        name: graph_from_blobs(
            blobs[f"{name}_nodes.parquet"],
            blobs[f"{name}_edges.parquet"],
            meta["graphs"][name],
            crs=crs_object if meta["graphs"][name].get("crs") == crs else None,
        )
        for name in ("drive", "walk")
    }
    indexes = {}
    for name, graph in graphs.items():
        index = LinkIndex.from_npz(blobs[f"{name}_links.npz"])
        if index.n_nodes != graph.number_of_nodes() or index.n_links != graph.number_of_edges():
            raise ValueError(f"{name}_links.npz does not match the {name} graph")
        indexes[name] = (graph, index)
    west, south, east, north = (float(v) for v in meta["bbox_lonlat"])
    return CityPack(
        name=str(meta["name"]),
        crs=crs,
        drive=graphs["drive"],
        walk=graphs["walk"],
        buildings=frame_from_blob(blobs["buildings.parquet"], crs_object),
        facilities=frame_from_blob(blobs["facilities.parquet"], crs_object),
        terrain=terrain,
        landcover=frame_from_blob(blobs["landcover.parquet"], crs_object),
        bbox_lonlat=(west, south, east, north),
        places=frame_from_blob(blobs["places.parquet"], crs_object),
        sources=dict(meta["sources"]),
        build_seconds=float(meta["build_seconds"]),
        attribution=str(meta["attribution"]),
        link_indexes=indexes,
    )
