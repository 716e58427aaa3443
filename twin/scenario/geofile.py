"""Places and areas read from a GeoPackage or GeoJSON layer instead of written inline.

Planners draw evacuation zones, venues, stations, closures and shelters in QGIS. Wherever a
scenario or plan takes a place (``[lon, lat]``), a line or an area (a list of corners), it
also takes a reference to one feature of a vector layer::

    zone: {file: zones.gpkg, layer: evac, where: {name: A}}
    location: {file: stations.geojson, where: {id: 3}}

``file`` is relative to the scenario or plan file's folder; ``layer`` may be left out when
the file holds one layer; ``where`` picks the feature by attribute values (every pair must
match) and may be left out when the layer holds one feature. The feature is reprojected
from the layer's CRS to WGS84 and becomes the inline form, so everything after validation
(set-ups, manifests, ``--set``) sees plain ``[lon, lat]`` coordinates.

Coordinates are rounded to :data:`DIGITS` decimals of a degree (about 0.1 mm): below the
precision of any map, and enough that a layer saved in a projected CRS (EPSG:3857, UTM)
gives the same numbers as the inline form its points were drawn from.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo
from pydantic_core import PydanticCustomError

GeometryKind = Literal["point", "line", "area"]
"""What a field takes: a place, a line or an area."""

DIGITS = 9
"""Decimals of a degree kept from a layer's coordinates (1e-9 deg, about 0.1 mm)."""

_KEYS = ("file", "layer", "where")
_SHAPES: dict[str, tuple[str, ...]] = {
    "point": ("Point", "MultiPoint"),
    "line": ("LineString", "MultiLineString"),
    "area": ("Polygon", "MultiPolygon"),
}
_DRAW = {"point": "a point", "line": "a line", "area": "a polygon"}


class FeatureRef(BaseModel):
    """One feature of a GeoPackage or GeoJSON layer, used as a place, line or area (this
    model documents the form in the JSON Schema; :func:`from_layer` reads it)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    file: Path = Field(examples=["zones.gpkg"])
    """GeoPackage (.gpkg) or GeoJSON (.geojson) file, relative to this file's folder."""
    layer: str | None = None
    """Layer of the file; may be left out when the file holds one layer."""
    where: dict[str, str | int | float | bool] = Field(
        default_factory=dict, examples=[{"name": "A"}]
    )
    """Attribute values that pick the feature (each must match); may be left out when the
    layer holds one feature."""


def _fail(kind: str, message: str, fix: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message, {"fix": fix})


def _parse(value: dict[str, Any], info: ValidationInfo) -> tuple[Path, str | None, dict]:
    unknown = [k for k in value if k not in _KEYS]
    if unknown:
        raise _fail(
            "feature_ref",
            f"unknown key `{unknown[0]}` in a layer reference",
            "a layer reference has `file`, optional `layer` and optional `where`, e.g. "
            "{file: zones.gpkg, layer: evac, where: {name: A}}",
        )
    file, layer, where = value.get("file"), value.get("layer"), value.get("where") or {}
    if not isinstance(file, str) or not file.strip():
        raise _fail(
            "feature_ref",
            "`file` of a layer reference is not a path",
            "write e.g. `file: zones.gpkg` (relative to this file's folder)",
        )
    if layer is not None and not isinstance(layer, str):
        raise _fail("feature_ref", f"`layer` {layer!r} is not a name", "write the layer's name")
    if not isinstance(where, dict) or not all(
        isinstance(v, str | int | float | bool) for v in where.values()
    ):
        raise _fail(
            "feature_ref",
            "`where` of a layer reference is not a mapping of attribute values",
            "write e.g. `where: {name: A}`",
        )
    path = Path(file).expanduser()
    base = (info.context or {}).get("base_dir")
    if base is not None and not path.is_absolute():
        path = Path(base) / path
    return path, layer, {str(k): v for k, v in where.items()}


@lru_cache(maxsize=32)
def _read(path: Path, layer: str | None, stamp: tuple[int, int]) -> Any:
    """The layer as a GeoDataFrame in WGS84 (cached by path, layer and the file's
    modification time and size, ``stamp``)."""
    import pyogrio

    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # GDAL's errors: not a vector file, corrupt
        raise _fail(
            "layer_file",
            f"cannot read {path} as a vector layer: {exc}",
            "give a GeoPackage (.gpkg) or GeoJSON (.geojson) file saved by QGIS or GDAL",
        ) from None
    if layer is None:
        if len(layers) != 1:
            raise _fail(
                "layer_choice",
                f"{path.name} holds {len(layers)} layers: {', '.join(layers)}",
                f"name one with `layer:` (e.g. `layer: {layers[0] if layers else 'zones'}`)",
            )
        layer = layers[0]
    elif layer not in layers:
        raise _fail(
            "unknown_layer",
            f"{path.name} has no layer {layer!r}; its layers: {', '.join(layers)}",
            "spell `layer` as QGIS lists it in the file",
        )
    frame = pyogrio.read_dataframe(path, layer=layer)
    if frame.crs is None:
        raise _fail(
            "no_crs",
            f"layer {layer!r} of {path.name} has no coordinate reference system",
            "set the layer's CRS in QGIS (Layer Properties > Source) and save it again",
        )
    frame = frame.to_crs("EPSG:4326")
    frame.attrs["layer"] = layer
    return frame


def _feature(frame: Any, path: Path, where: dict[str, Any]) -> Any:
    layer = frame.attrs["layer"]
    missing = [k for k in where if k not in frame.columns or k == "geometry"]
    if missing:
        fields = ", ".join(c for c in frame.columns if c != "geometry") or "none"
        raise _fail(
            "unknown_attribute",
            f"layer {layer!r} of {path.name} has no attribute {missing[0]!r}; its attributes: "
            f"{fields}",
            "pick the feature by one of the layer's attributes",
        )
    chosen = frame
    for key, want in where.items():
        column = chosen[key]
        chosen = chosen[(column == want) | (column.astype(str) == str(want))]
    said = ", ".join(f"{k} = {v!r}" for k, v in where.items())
    if len(chosen) != 1:
        if not where:
            raise _fail(
                "feature_choice",
                f"layer {layer!r} of {path.name} holds {len(frame)} features",
                "pick one with `where:` (e.g. `where: {name: A}`)",
            )
        raise _fail(
            "feature_choice",
            f"{'no feature' if len(chosen) == 0 else f'{len(chosen)} features'} of layer "
            f"{layer!r} in {path.name} {'has' if len(chosen) == 0 else 'have'} {said}",
            "check the values in QGIS's attribute table"
            if len(chosen) == 0
            else "add attributes to `where` until one feature matches",
        )
    return chosen.geometry.iloc[0]


def _coordinates(geom: Any, kind: str, layer: str, path: Path) -> Any:
    types = _SHAPES[kind]
    if geom is None or geom.is_empty or geom.geom_type not in types:
        got = "no geometry" if geom is None or geom.is_empty else f"a {geom.geom_type}"
        raise _fail(
            "geometry_type",
            f"the feature of layer {layer!r} in {path.name} is {got}; this field takes "
            f"{_DRAW[kind]}",
            f"draw {_DRAW[kind]} ({' or one-part '.join(types)}) in a layer of that type",
        )
    if geom.geom_type.startswith("Multi"):
        if len(geom.geoms) != 1:
            raise _fail(
                "geometry_parts",
                f"the feature of layer {layer!r} in {path.name} has {len(geom.geoms)} parts",
                "split it into one feature per part and pick one, or merge the parts in QGIS",
            )
        geom = geom.geoms[0]
    if kind == "area":
        if len(geom.interiors):
            raise _fail(
                "geometry_holes",
                f"the polygon of layer {layer!r} in {path.name} has holes",
                "draw the area without holes (QGIS: Vector > Geometry Tools > Delete Holes)",
            )
        points = list(geom.exterior.coords)[:-1]  # the inline form is closed implicitly
    else:
        points = list(geom.coords)
    rounded = [(round(float(p[0]), DIGITS), round(float(p[1]), DIGITS)) for p in points]
    return rounded[0] if kind == "point" else [list(p) for p in rounded]


def from_layer(kind: GeometryKind) -> Any:
    """A before-validator that turns a layer reference (a mapping with ``file``) into the
    inline form of ``kind``: ``(lon, lat)`` for a point, a list of ``[lon, lat]`` for a line
    or an area; other values pass unchanged.

    Raises
    ------
    PydanticCustomError
        Naming the file and layer with a fix: a missing or unreadable file, an unknown
        layer or attribute, no or several matching features, the wrong geometry type, or
        a layer without CRS.
    """

    def convert(value: Any, info: ValidationInfo) -> Any:
        if not (isinstance(value, dict) and "file" in value):
            return value
        path, layer, where = _parse(value, info)
        if not path.is_file():
            base = (info.context or {}).get("base_dir")
            raise _fail(
                "path_not_found",
                f"file not found: {path}" + (f" (looked in {base})" if base else ""),
                "check the spelling; relative paths start at the folder of this file",
            )
        stat = path.stat()
        frame = _read(path.resolve(), layer, (stat.st_mtime_ns, stat.st_size))
        geom = _feature(frame, path, where)
        return _coordinates(geom, kind, frame.attrs["layer"], path)

    return convert


def read_zones(path: Path, layer: str | None, name: str) -> dict[str, list[tuple[float, float]]]:
    """Every feature of a polygon layer as a zone: its ``name`` attribute -> its outer ring
    ``[(lon, lat), ...]`` in WGS84 (not closed), in the layer's order.

    Parameters
    ----------
    path
        The GeoPackage or GeoJSON file.
    layer
        Its layer; may be None when the file holds one.
    name
        The attribute naming each zone (as an OD matrix writes it).

    Raises
    ------
    PydanticCustomError
        If the file cannot be read, the layer or attribute is unknown, the layer has no CRS,
        a name is empty or repeated, or a feature is not a polygon of one part without holes.
    """
    stat = Path(path).stat()
    frame = _read(Path(path).resolve(), layer, (stat.st_mtime_ns, stat.st_size))
    layer = frame.attrs["layer"]
    if name not in frame.columns or name == "geometry":
        fields = ", ".join(c for c in frame.columns if c != "geometry") or "none"
        raise _fail(
            "unknown_attribute",
            f"layer {layer!r} of {path.name} has no attribute {name!r}; its attributes: {fields}",
            "set `name` to the attribute that holds the zones' names",
        )
    zones: dict[str, list[tuple[float, float]]] = {}
    for value, geom in zip(frame[name], frame.geometry, strict=True):
        if value is None or str(value).strip() == "" or str(value) == "nan":
            raise _fail(
                "zone_name",
                f"a zone of layer {layer!r} in {path.name} has no {name}",
                "give every zone a name in QGIS's attribute table",
            )
        key = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        if key in zones:
            raise _fail(
                "zone_name",
                f"two zones of layer {layer!r} in {path.name} are named {key!r}",
                "give each zone its own name, or merge the two",
            )
        zones[key] = [tuple(p) for p in _coordinates(geom, "area", layer, path)]
    if not zones:
        raise _fail("zone_name", f"layer {layer!r} of {path.name} is empty", "draw the zones")
    return zones
