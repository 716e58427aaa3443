"""Emergency-relevant facilities: hospitals, fire stations, police, shelters, assembly points.

Capacity is taken from tags where present (``beds`` for hospitals, ``capacity`` otherwise)
and estimated from the floor area of the buildings a facility occupies where not; the
``capacity_source`` column says which (``tagged``, ``floor_area``, ``default`` or ``none``).
"""

from __future__ import annotations

import numpy as np

from twin.city.geometry import project, project_wkb

#: Gross floor area per hospital bed (m2): 80-120 m2 in hospital planning guides.
HOSPITAL_M2_PER_BED = 100.0
#: Covered floor area per sheltered person (m2): the Sphere Handbook's minimum, 3.5 m2.
SHELTER_M2_PER_PERSON = 3.5
#: Open ground per person at an assembly point (m2).
ASSEMBLY_M2_PER_PERSON = 1.0
#: Used when a facility is a bare point outside any building (persons or beds).
DEFAULT_CAPACITY = {"hospital": 50.0, "shelter": 100.0, "school": 300.0,
                    "community_centre": 150.0, "assembly_point": 500.0}  # fmt: skip
SHELTER_KINDS = ("shelter", "school", "community_centre")


def _int_tag(tags: dict[str, str], key: str) -> float | None:
    try:
        value = float(tags.get(key, "").split(";")[0])
    except ValueError:
        return None
    return value if value > 0 else None


def _capacity(kind: str, tags: dict[str, str], floor_area: float, area: float):
    if kind in ("fire_station", "police"):
        return np.nan, "none"
    tagged = _int_tag(tags, "beds") if kind == "hospital" else None
    tagged = tagged or _int_tag(tags, "capacity")
    if tagged:
        return tagged, "tagged"
    if kind == "hospital" and floor_area > 0:
        return floor_area / HOSPITAL_M2_PER_BED, "floor_area"
    if kind in SHELTER_KINDS and floor_area > 0:
        return floor_area / SHELTER_M2_PER_PERSON, "floor_area"
    if kind == "assembly_point" and area > 0:
        return area / ASSEMBLY_M2_PER_PERSON, "floor_area"
    return DEFAULT_CAPACITY[kind], "default"


def facilities_frame(records, transformer, crs: str, buildings):
    """Project facilities, merge duplicates and estimate capacities.

    Parameters
    ----------
    records
        ``(osm_type, osm_id, kind, lon, lat, wkb_or_None, tags)`` from
        :class:`twin.city.osm_read.OsmData`.
    transformer
        ``pyproj.Transformer`` lon/lat -> ``crs`` (``always_xy=True``).
    crs
        The projected CRS of the pack.
    buildings
        The pack's buildings (:func:`twin.city.buildings.buildings_frame`), used for floor
        areas.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per facility: ``kind``, ``name``, ``osm_type``, ``osm_id``, ``area`` (m2 of
        its polygon, 0 for points), ``floor_area`` (m2 of buildings it occupies),
        ``capacity`` (beds or persons; NaN for stations), ``capacity_source``, geometry = a
        point inside it (metres, ``crs``). A point tagged like a polygon it lies in is dropped.
    """
    import geopandas as gpd
    import shapely

    polys = [r for r in records if r[5] is not None]
    points = [r for r in records if r[5] is None]
    poly_geoms = project_wkb([r[5] for r in polys], transformer)
    point_geoms = project(shapely.points([(r[3], r[4]) for r in points]), transformer)

    rows = []
    for rec, geom in zip(polys, poly_geoms, strict=True):
        rows.append((rec, geom, shapely.point_on_surface(geom)))
    for rec, point in zip(points, point_geoms, strict=True):
        dup = any(
            other[2] == rec[2] and shapely.contains(geom, point)
            for other, geom in zip(polys, poly_geoms, strict=True)
        )
        if not dup:
            rows.append((rec, None, point))

    building_points = shapely.point_on_surface(buildings.geometry.to_numpy())
    building_tree = shapely.STRtree(buildings.geometry.to_numpy())
    floor = buildings["floor_area"].to_numpy()
    table = {k: [] for k in ("kind", "name", "osm_type", "osm_id", "area", "floor_area",
                             "capacity", "capacity_source")}  # fmt: skip
    geometry = []
    for rec, poly, point in rows:
        osm_type, osm_id, kind, _, _, _, tags = rec
        if poly is not None:
            inside = shapely.contains(poly, building_points)
            floor_area = float(floor[inside].sum())
            area = float(poly.area)
        else:
            hits = building_tree.query(point, predicate="within")
            floor_area = float(floor[hits].sum())
            area = 0.0
        capacity, source = _capacity(kind, tags, floor_area, area)
        for key, value in zip(
            table,
            (kind, tags.get("name"), osm_type, osm_id, area, floor_area, capacity, source),
            strict=True,
        ):
            table[key].append(value)
        geometry.append(point)
    return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geometry, crs=crs), crs=crs)
