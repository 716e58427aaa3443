"""Emergency-relevant facilities: hospitals, fire stations, police, shelters, assembly points.

Each facility has a ``status``: ``service`` (hospitals, fire stations, police),
``shelter`` (designated emergency shelters and assembly points) or ``candidate`` (schools
and community centres: places a city may open as shelters; only a plan opens them).

Capacity (beds for hospitals, persons otherwise; none for stations) and the rule that gave
it, in the ``capacity_source`` column (see :data:`CAPACITY_SOURCES`):

- ``tagged``: the ``beds`` tag (hospitals) or ``capacity`` tag (others);
  ``tagged_capped`` when the tag exceeds the kind's upper bound (a typo or a campus total).
- ``floor_area``: the floor area of the buildings the facility occupies divided by an area
  per bed or person; ``floor_area_bounded`` when the estimate fell outside the kind's
  bounds (:data:`CAPACITY_BOUNDS`) and was clamped to them.
- ``assumed``: no tag and no building mapped: a stated typical value
  (:data:`ASSUMED_CAPACITY`).

Areas per bed or person: hospitals 100 m2 gross floor area per bed (80-120 m2 in hospital
planning guides); shelters 3.5 m2 of covered area per person (the Sphere Handbook's
minimum), counting half of a candidate building's gross floor area as usable (an
assumption: classrooms and halls, not corridors, stairs and toilets); assembly points
1 m2 of open ground per person. Bounds: a hospital has 25 to 1,500 beds (25 is the
US critical-access hospital limit, the smallest class of general hospital; 1,500 caps a
campus polygon whose floor area counts offices and car parks); the person bounds are this
project's assumptions, chosen so that no single building receives more evacuees than a large
sports hall holds.
"""

from __future__ import annotations

import numpy as np

from twin.city.geometry import project, project_wkb

#: Gross floor area per hospital bed (m2): 80-120 m2 in hospital planning guides.
HOSPITAL_M2_PER_BED = 100.0
#: Covered floor area per sheltered person (m2): the Sphere Handbook's minimum, 3.5 m2.
SHELTER_M2_PER_PERSON = 3.5
#: Share of a candidate shelter's gross floor area usable for sheltering (assumption).
CANDIDATE_USABLE_SHARE = 0.5
#: Open ground per person at an assembly point (m2).
ASSEMBLY_M2_PER_PERSON = 1.0
#: Plausible range of capacities by kind (beds or persons): estimates are clamped to it,
#: tags are capped at its upper end.
CAPACITY_BOUNDS: dict[str, tuple[float, float]] = {
    "hospital": (25.0, 1500.0),
    "shelter": (10.0, 2000.0),
    "assembly_point": (10.0, 5000.0),
    "school": (10.0, 1000.0),
    "community_centre": (10.0, 500.0),
}
#: Used when a facility is a bare point outside any building (beds or persons).
ASSUMED_CAPACITY = {"hospital": 25.0, "shelter": 100.0, "school": 300.0,
                    "community_centre": 150.0, "assembly_point": 500.0}  # fmt: skip
#: What each ``capacity_source`` value means (printed under ``twin maps facilities``).
CAPACITY_SOURCES = {
    "tagged": "from the beds (hospitals) or capacity tag",
    "tagged_capped": "tag above the kind's upper bound, capped",
    "floor_area": "floor area / 100 m2 per bed (hospitals), / 3.5 m2 per person of half the "
    "floor area (shelters, candidates), / 1 m2 per person (assembly points)",
    "floor_area_bounded": "floor-area estimate clamped to the kind's bounds",
    "assumed": "no tag and no building mapped: a typical value",
    "none": "stations have no capacity",
}
#: ``status`` by kind.
STATUS_BY_KIND = {"hospital": "service", "fire_station": "service", "police": "service",
                  "shelter": "shelter", "assembly_point": "shelter",
                  "school": "candidate", "community_centre": "candidate"}  # fmt: skip
SHELTER_KINDS = ("shelter", "school", "community_centre")
COLUMNS = ("kind", "status", "name", "osm_type", "osm_id", "area", "floor_area", "capacity",
           "capacity_source")  # fmt: skip


def _number_tag(tags: dict[str, str], key: str) -> float | None:
    try:
        value = float(str(tags.get(key, "")).split(";")[0])
    except ValueError:
        return None
    return value if np.isfinite(value) and value > 0 else None


def capacity_estimate(
    kind: str, tags: dict[str, str], floor_area: float, area: float
) -> tuple[float, str]:
    """Capacity of one facility (beds or persons; NaN for stations) and its source.

    Parameters
    ----------
    kind
        Facility kind (:func:`twin.city.osm_read.facility_kind`).
    tags
        The facility's OSM tags.
    floor_area
        Gross floor area of the buildings it occupies (m2).
    area
        Area of its own polygon (m2; 0 for a point).

    Returns
    -------
    capacity, source
        See the module docstring for the rules and :data:`CAPACITY_SOURCES`.
    """
    if kind not in CAPACITY_BOUNDS:
        return np.nan, "none"
    low, high = CAPACITY_BOUNDS[kind]
    tagged = _number_tag(tags, "beds" if kind == "hospital" else "capacity")
    if tagged is not None:
        return (high, "tagged_capped") if tagged > high else (tagged, "tagged")
    if kind == "hospital" and floor_area > 0:
        estimate = floor_area / HOSPITAL_M2_PER_BED
    elif kind == "shelter" and floor_area > 0:
        estimate = floor_area / SHELTER_M2_PER_PERSON
    elif kind in SHELTER_KINDS and floor_area > 0:
        estimate = floor_area * CANDIDATE_USABLE_SHARE / SHELTER_M2_PER_PERSON
    elif kind == "assembly_point" and area > 0:
        estimate = area / ASSEMBLY_M2_PER_PERSON
    else:
        return ASSUMED_CAPACITY[kind], "assumed"
    bounded = min(max(estimate, low), high)
    return bounded, "floor_area" if bounded == estimate else "floor_area_bounded"


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
        One row per facility: ``kind``, ``status``, ``name``, ``osm_type``, ``osm_id``,
        ``area`` (m2 of
        its polygon, 0 for points), ``floor_area`` (m2 of buildings it occupies),
        ``capacity`` (beds or persons; NaN for stations), ``capacity_source``, geometry = a
        point inside it (metres, ``crs``). A point tagged like a polygon it lies in is dropped.
    """
    import geopandas as gpd
    import shapely

    polys = [r for r in records if r[5] is not None]
    points = [r for r in records if r[5] is None]
    poly_geoms = project_wkb([r[5] for r in polys], transformer) if polys else []
    point_geoms = (
        project(shapely.points([(r[3], r[4]) for r in points]), transformer) if points else []
    )

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
    table: dict[str, list] = {k: [] for k in COLUMNS}
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
        capacity, source = capacity_estimate(kind, tags, floor_area, area)
        values = (kind, STATUS_BY_KIND[kind], tags.get("name"), osm_type, osm_id, area,
                  floor_area, capacity, source)  # fmt: skip
        for key, value in zip(table, values, strict=True):
            table[key].append(value)
        geometry.append(point)
    frame = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geometry, crs=crs), crs=crs)
    dtypes = {"osm_id": "int64", "area": "float64", "floor_area": "float64",
              "capacity": "float64"}  # fmt: skip
    return frame.astype(dtypes)
