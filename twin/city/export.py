"""A city pack as files GIS tools open: one GeoPackage of vector layers and a GeoTIFF of
the terrain (``twin maps export``).

Layers of ``city.gpkg``, all in the pack's projected CRS (its UTM zone, metres):

* ``drive_nodes``, ``walk_nodes``: points with ``osmid`` (OSM node id), ``x``, ``y``,
  ``elevation`` and every other node attribute;
* ``drive_edges``, ``walk_edges``: lines as drawn (the way's shape, or straight where the
  graph has none), with ``u``, ``v`` (OSM node ids), ``key`` (among parallel edges),
  ``link`` (position in the pack's link index, :meth:`CityPack.links`; -1 for an edge it
  does not hold), ``way_id`` (first OSM way id) and every edge attribute. Attributes that
  hold lists for merged ways (``osmid``, ``name``, ``highway``, ``reversed``) are written
  as text joined by ``;`` for the whole column (a GeoPackage column has one type);
* ``buildings``, ``facilities``, ``landcover`` and ``places`` (if the pack has them) with
  every column of the pack's frames.

The terrain is written beside it as ``<stem>_terrain.tif`` (float32 metres above the
datum, which the file's tags name). Each file is written under a temporary name and
renamed when complete (:func:`twin.atomic.atomic_path`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.atomic import atomic_path
from twin.errors import Problem, UserInputError

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

    from twin.city.links import LinkIndex
    from twin.city.pack import CityPack
    from twin.city.terrain import TerrainGrid

#: Separator of list values written as text (merged ways' ids, names, classes).
LIST_SEPARATOR = ";"


#: The time GeoPackages record as written (``gpkg_contents.last_change``): fixed, so the
#: same data gives the same bytes (GDAL writes the current time otherwise).
GPKG_DATE = "1970-01-01T00:00:00.000Z"


@contextmanager
def fixed_gpkg_date() -> Iterator[None]:
    """GeoPackages written inside the block record :data:`GPKG_DATE` as their change time.

    Sets GDAL's ``OGR_CURRENT_DATE`` configuration option for the block and restores the
    previous value after it (GDAL's options are process-wide).
    """
    import pyogrio

    before = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_DATE})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": before})


@dataclass(frozen=True)
class CityExport:
    """What :func:`export_city` wrote.

    Attributes
    ----------
    gpkg
        The GeoPackage.
    terrain
        The terrain GeoTIFF (None when not asked for).
    layers
        ``{layer name: number of features}`` in the order written.
    """

    gpkg: Path
    terrain: Path | None
    layers: dict[str, int]


def terrain_path(gpkg: Path | str) -> Path:
    """Where the terrain of ``city.gpkg`` goes: ``city_terrain.tif`` beside it."""
    gpkg = Path(gpkg)
    return gpkg.with_name(f"{gpkg.stem}_terrain.tif")


def _as_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, list | tuple | set):
        return LIST_SEPARATOR.join(str(v) for v in value)
    return str(value)


def _column(values: list[Any]) -> list[Any]:
    """Values of one attribute, as text when they mix types or hold lists (a GeoPackage
    column has one type); ints and floats together stay numbers."""
    kinds = {type(v) for v in values if v is not None}
    if kinds <= {int, float} or (len(kinds) <= 1 and not kinds & {list, tuple, set, dict}):
        return values
    return [_as_text(v) for v in values]


def _frame(rows: list[dict[str, Any]], geometry: list, crs: str) -> gpd.GeoDataFrame:
    import geopandas as gpd

    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    columns = {name: _column([row.get(name) for row in rows]) for name in names}
    return gpd.GeoDataFrame(columns, geometry=geometry, crs=crs)


def graph_frames(
    graph: nx.MultiDiGraph, index: LinkIndex, crs: str
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Nodes and edges of a street graph as GeoDataFrames (see the module docstring).

    Parameters
    ----------
    graph
        A pack's drive or walk graph (metres in ``crs``).
    index
        The pack's link index of that graph (gives each edge its ``link`` and ``way_id``).
    crs
        The pack's CRS.
    """
    import shapely

    node_rows, points = [], []
    for node, data in graph.nodes(data=True):
        node_rows.append({"osmid": int(node), **data})
        points.append(shapely.Point(data["x"], data["y"]))
    position = {
        (u, v, k): i
        for i, (u, v, k) in enumerate(
            zip(
                index.node_ids[index.tail].tolist(),
                index.node_ids[index.head].tolist(),
                index.key.tolist(),
                strict=True,
            )
        )
    }
    way_id = index.way_id
    edge_rows, lines = [], []
    for u, v, key, data in graph.edges(keys=True, data=True):
        link = position.get((u, v, key), -1)
        attrs = {name: value for name, value in data.items() if name != "geometry"}
        edge_rows.append(
            {"u": int(u), "v": int(v), "key": int(key), "link": link,
             "way_id": int(way_id[link]) if link >= 0 else -1, **attrs}
        )  # fmt: skip
        line = data.get("geometry")
        if line is None:
            tail, head = graph.nodes[u], graph.nodes[v]
            line = shapely.LineString([(tail["x"], tail["y"]), (head["x"], head["y"])])
        lines.append(line)
    return _frame(node_rows, points, crs), _frame(edge_rows, lines, crs)


def city_layers(pack: CityPack) -> dict[str, gpd.GeoDataFrame]:
    """Every vector layer of the export, by name, in the pack's CRS."""
    layers: dict[str, gpd.GeoDataFrame] = {}
    for kind in ("drive", "walk"):
        nodes, edges = graph_frames(getattr(pack, kind), pack.links(kind), pack.crs)
        layers[f"{kind}_nodes"], layers[f"{kind}_edges"] = nodes, edges
    frames = {"buildings": pack.buildings, "facilities": pack.facilities,
              "landcover": pack.landcover, "places": pack.places}  # fmt: skip
    for name, frame in frames.items():
        if frame is not None:
            layers[name] = (
                frame.to_crs(pack.crs) if frame.crs is not None else frame.set_crs(pack.crs)
            )
    return layers


def write_terrain(terrain: TerrainGrid, path: Path | str) -> Path:
    """Write a terrain grid as a single-band float32 GeoTIFF (metres), atomically, with its
    CRS, transform, and tags ``units``, ``datum`` and ``source``."""
    import rasterio

    ny, nx = terrain.shape
    with atomic_path(path) as tmp, rasterio.open(
        tmp, "w", driver="GTiff", width=nx, height=ny, count=1, dtype="float32",
        crs=terrain.crs, transform=terrain.transform, compress="deflate",
    ) as dst:  # fmt: skip
        dst.write(terrain.elevation, 1)
        dst.set_band_description(1, "elevation (m)")
        dst.update_tags(units="m", datum=terrain.datum, source=terrain.source)
    return Path(path)


def export_city(pack: CityPack, path: Path | str, *, terrain: bool = True) -> CityExport:
    """Write a city pack as a GeoPackage (and its terrain as a GeoTIFF beside it).

    Parameters
    ----------
    pack
        The city pack.
    path
        The GeoPackage to write (``.gpkg``); replaced whole if it exists.
    terrain
        Also write the terrain to :func:`terrain_path` of ``path``.

    Returns
    -------
    CityExport
        The files written and the number of features of each layer.

    Raises
    ------
    UserInputError
        If ``path`` does not end in ``.gpkg``.
    """
    import pyogrio

    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise UserInputError(
            Problem(
                "the export is a GeoPackage: its name must end in .gpkg",
                path,
                field="--output",
                fix=f"write to {path.with_suffix('.gpkg')}",
            )
        )
    layers = city_layers(pack)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Like twin.atomic.atomic_path, but the temporary name ends in .gpkg (GDAL warns of a
    # GeoPackage under another extension).
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.part.gpkg")
    try:
        with fixed_gpkg_date():
            for name, frame in layers.items():
                pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tif = write_terrain(pack.terrain, terrain_path(path)) if terrain else None
    return CityExport(path, tif, {name: len(frame) for name, frame in layers.items()})
