"""Geometry helpers shared by the city builders: WKB in lon/lat -> shapely in metres."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def project(geometries, transformer):
    """Transform shapely geometries (array) with a ``pyproj.Transformer`` (always_xy)."""
    import shapely

    return shapely.transform(
        geometries, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )


def project_wkb(wkbs: Sequence[bytes], transformer):
    """Polygons from lon/lat WKB, projected and made valid (numpy array of geometries)."""
    import shapely

    return shapely.make_valid(project(shapely.from_wkb(list(wkbs)), transformer))


def places_frame(records, transformer, crs: str):
    """Named points as a GeoDataFrame (``osm_id``, ``name``, ``what``, point in metres).

    Parameters
    ----------
    records
        ``(osm_id, lon, lat, name, what)`` from :class:`twin.city.osm_read.OsmData`.
    transformer, crs
        ``pyproj.Transformer`` lon/lat -> ``crs`` (always_xy) and the pack's CRS.
    """
    import geopandas as gpd
    import shapely

    points = (
        project(shapely.points([(r[1], r[2]) for r in records]), transformer) if records else []
    )
    return gpd.GeoDataFrame(
        {
            "osm_id": np.array([r[0] for r in records], dtype=np.int64),
            "name": [r[3] for r in records],
            "what": [r[4] for r in records],
        },
        geometry=gpd.GeoSeries(points, crs=crs),
        crs=crs,
    )


def landcover_frame(records, transformer, crs: str):
    """Parks, woods and water areas as a GeoDataFrame (``osm_id``, ``cover``, geometry in m).

    Parameters
    ----------
    records
        ``(osm_id, wkb_lonlat, cover)`` from :class:`twin.city.osm_read.OsmData`.
    transformer, crs
        ``pyproj.Transformer`` lon/lat -> ``crs`` (always_xy) and the pack's CRS.
    """
    import geopandas as gpd

    geoms = project_wkb([r[1] for r in records], transformer) if records else []
    return gpd.GeoDataFrame(
        {"osm_id": [r[0] for r in records], "cover": [r[2] for r in records]},
        geometry=gpd.GeoSeries(geoms, crs=crs),
        crs=crs,
    )


def to_lonlat(crs: str, x, y) -> tuple[np.ndarray, np.ndarray]:
    """Projected coordinates (metres in ``crs``) to longitude and latitude (degrees)."""
    from pyproj import Transformer

    to_wgs84 = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon), np.asarray(lat)


def format_lonlat(lon: float, lat: float) -> str:
    """A point for people: ``[7.42050, 43.73010] (lon, lat)``, as scenario files write it."""
    return f"[{lon:.5f}, {lat:.5f}] (lon, lat)"


def format_point(crs: str, x: float, y: float) -> str:
    """A projected point (metres in ``crs``) written as lon/lat for messages."""
    lon, lat = to_lonlat(crs, x, y)
    return format_lonlat(float(lon), float(lat))


#: Metres per degree of latitude, and of longitude at the equator (WGS 84, mean values).
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON = 111_320.0


def _distance_to_box_m(lon: float, lat: float, box: tuple[float, float, float, float]) -> float:
    """Approximate distance (m) from a point to a lon/lat box (0 inside): equirectangular,
    good to a few per cent at city scale, enough to say "680 km away"."""
    west, south, east, north = box
    dlon = lon - min(max(lon, west), east)
    dlat = lat - min(max(lat, south), north)
    mid = np.radians(min(max(lat, south), north))
    return float(np.hypot(dlon * _M_PER_DEG_LON * np.cos(mid), dlat * _M_PER_DEG_LAT))


def _extent_of(area, crs: str | None) -> tuple[float, float, float, float]:
    if hasattr(area, "extent_lonlat"):
        return tuple(area.extent_lonlat())
    west, south, east, north = (float(v) for v in area)
    if crs is None:
        return west, south, east, north
    lon, lat = to_lonlat(crs, [west, east, west, east], [south, south, north, north])
    return float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())


def describe_point_problem(
    area, lon: float, lat: float, *, crs: str | None = None, margin_m: float = 200.0
) -> str | None:
    """What is wrong with a ``[lon, lat]`` a user wrote for this map, or None if it fits.

    Parameters
    ----------
    area
        A :class:`~twin.city.pack.CityPack` (its data's extent is used), or a box
        ``(west, south, east, north)``: degrees, or metres in ``crs`` when ``crs`` is given.
    lon, lat
        The point as written (degrees).
    crs
        CRS of a box given in metres.
    margin_m
        How far outside the extent a point still fits (m).

    Returns
    -------
    str or None
        None when the point lies within ``margin_m`` of the extent; else a sentence for an
        error message: how far away the point is, the map's extent, and, when the point fits
        only with its two numbers swapped, that it looks like ``[lat, lon]``.
    """
    box = _extent_of(area, crs)
    where = f"the map covers lon {box[0]:.4f} to {box[2]:.4f}, lat {box[1]:.4f} to {box[3]:.4f}"
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        return f"[{lon}, {lat}] is not a pair of numbers; {where}"
    if not (np.isfinite(lon) and np.isfinite(lat)):
        return f"[{lon}, {lat}] is not a finite point; {where}"
    swapped_fits = abs(lon) <= 90.0 and _distance_to_box_m(lat, lon, box) <= margin_m
    swap_note = (
        f"; with the numbers swapped, {format_lonlat(lat, lon)} lies in the map: write "
        "locations as [lon, lat]"
        if swapped_fits
        else ""
    )
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        return f"{format_lonlat(lon, lat)} is not a valid lon/lat point; {where}{swap_note}"
    distance = _distance_to_box_m(lon, lat, box)
    if distance <= margin_m:
        return None
    far = f"{distance / 1000:,.1f} km" if distance >= 1000 else f"{distance:.0f} m"
    return f"{format_lonlat(lon, lat)} is {far} outside the map; {where}{swap_note}"
