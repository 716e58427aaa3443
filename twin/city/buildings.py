"""Buildings: footprint, height, use and an occupant estimate, as a GeoDataFrame in metres.

Height: the ``height`` tag, else ``building:levels`` x 3 m (+ roof levels x 1.5 m), else a
default by building type. Occupants: gross floor area x occupant density by use. Both are
estimates where OSM is silent; the ``height_source`` column says which rule applied.
"""

from __future__ import annotations

import numpy as np

from twin.city.geometry import project_wkb
from twin.city.road_attrs import parse_length

STOREY_M = 3.0

#: Storeys assumed by building type when neither height nor levels is tagged.
DEFAULT_LEVELS: dict[str, float] = {
    "house": 2,
    "detached": 2,
    "semidetached_house": 2,
    "terrace": 2,
    "bungalow": 1,
    "garage": 1,
    "garages": 1,
    "shed": 1,
    "hut": 1,
    "kiosk": 1,
    "roof": 1,
    "carport": 1,
    "service": 1,
    "transformer_tower": 2,
    "apartments": 6,
    "residential": 5,
    "dormitory": 4,
    "hotel": 6,
    "commercial": 4,
    "office": 5,
    "retail": 2,
    "supermarket": 1,
    "industrial": 2,
    "warehouse": 2,
    "hospital": 5,
    "school": 3,
    "university": 4,
    "public": 3,
    "civic": 3,
    "government": 4,
    "church": 4,
    "cathedral": 6,
    "chapel": 2,
    "train_station": 2,
    "stadium": 4,
    "sports_hall": 3,
}
DEFAULT_LEVELS_OTHER = 3

#: Gross floor area per occupant (m2) by use; occupants = floor area / this. Order of
#: magnitude from planning standards (about 35 m2 per resident in European cities, 20-25 m2
#: per office worker, more for shops and warehouses); 0 means nobody is counted.
FLOOR_AREA_PER_PERSON_M2: dict[str, float] = {
    "residential": 35.0,
    "office": 20.0,
    "retail": 30.0,
    "hotel": 40.0,
    "hospital": 25.0,
    "education": 10.0,
    "public": 30.0,
    "religious": 10.0,
    "industrial": 100.0,
    "utility": 0.0,
    "other": 50.0,
}

_USE_BY_BUILDING = {
    **dict.fromkeys(
        [
            "house",
            "detached",
            "semidetached_house",
            "terrace",
            "bungalow",
            "apartments",
            "residential",
            "dormitory",
        ],
        "residential",
    ),
    **dict.fromkeys(["commercial", "office"], "office"),
    **dict.fromkeys(["retail", "supermarket", "kiosk"], "retail"),
    "hotel": "hotel",
    **dict.fromkeys(["hospital", "clinic"], "hospital"),
    **dict.fromkeys(["school", "university", "college", "kindergarten"], "education"),
    **dict.fromkeys(
        [
            "public",
            "civic",
            "government",
            "train_station",
            "stadium",
            "sports_hall",
            "museum",
        ],
        "public",
    ),
    **dict.fromkeys(["church", "cathedral", "chapel", "mosque", "synagogue"], "religious"),
    **dict.fromkeys(["industrial", "warehouse"], "industrial"),
    **dict.fromkeys(
        [
            "garage",
            "garages",
            "shed",
            "hut",
            "roof",
            "carport",
            "service",
            "transformer_tower",
            "parking",
        ],
        "utility",
    ),
}
_USE_BY_AMENITY = {
    "hospital": "hospital",
    "clinic": "hospital",
    "school": "education",
    "university": "education",
    "college": "education",
    "kindergarten": "education",
    "place_of_worship": "religious",
    "townhall": "public",
    "police": "public",
    "fire_station": "public",
    "parking": "utility",
}


def building_use(tags: dict[str, str]) -> str:
    """Use class of a building (a key of :data:`FLOOR_AREA_PER_PERSON_M2`)."""
    use = _USE_BY_BUILDING.get(tags.get("building", "yes"))
    if use:
        return use
    if tags.get("amenity") in _USE_BY_AMENITY:
        return _USE_BY_AMENITY[tags["amenity"]]
    if "shop" in tags:
        return "retail"
    if "office" in tags:
        return "office"
    if tags.get("tourism") == "hotel":
        return "hotel"
    return "other"


def building_height(tags: dict[str, str]) -> tuple[float, float, str]:
    """Height (m), storeys, and which rule gave them (``height``, ``levels`` or ``default``)."""
    height = parse_length(tags.get("height"))
    levels = None
    try:
        levels = float(tags.get("building:levels", "").replace(",", "."))
    except ValueError:
        levels = None
    if levels is not None and not levels > 0:
        levels = None
    if height is not None and height > 0:
        storeys = levels if levels else max(1.0, round(height / STOREY_M))
        return height, storeys, "height"
    if levels:
        try:
            roof = max(0.0, float(tags.get("roof:levels", "0")))
        except ValueError:
            roof = 0.0
        return levels * STOREY_M + roof * STOREY_M / 2, levels, "levels"
    storeys = float(DEFAULT_LEVELS.get(tags.get("building", "yes"), DEFAULT_LEVELS_OTHER))
    return storeys * STOREY_M, storeys, "default"


def buildings_frame(records, transformer, crs: str):
    """Project building footprints and estimate their heights and occupants.

    Parameters
    ----------
    records
        ``(osm_id, wkb_lonlat, tags)`` from :class:`twin.city.osm_read.OsmData`.
    transformer
        ``pyproj.Transformer`` from lon/lat to ``crs`` (``always_xy=True``).
    crs
        The projected CRS of the pack.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``osm_id``, ``name``, ``building``, ``use``, ``height`` (m),
        ``height_source``, ``levels``, ``footprint_area`` (m2), ``floor_area`` (m2),
        ``occupants`` (persons, float), ``geometry`` (polygons in ``crs``).
    """
    import geopandas as gpd

    rows = []
    for osm_id, wkb, tags in records:
        height, levels, source = building_height(tags)
        rows.append(
            (
                osm_id,
                tags.get("name"),
                tags.get("building", "yes"),
                building_use(tags),
                height,
                source,
                levels,
                wkb,
            )
        )
    cols = ["osm_id", "name", "building", "use", "height", "height_source", "levels"]
    if not rows:
        frame = gpd.GeoDataFrame(
            {c: [] for c in cols},
            geometry=gpd.GeoSeries([], crs=crs),
            crs=crs,
        )
        for extra in ("footprint_area", "floor_area", "occupants"):
            frame[extra] = np.array([], dtype=float)
        return frame
    geoms = project_wkb([r[-1] for r in rows], transformer)
    frame = gpd.GeoDataFrame(
        {c: [r[i] for r in rows] for i, c in enumerate(cols)}, geometry=geoms, crs=crs
    )
    frame["footprint_area"] = frame.geometry.area.to_numpy()
    frame["floor_area"] = frame["footprint_area"] * frame["levels"]
    per_person = frame["use"].map(FLOOR_AREA_PER_PERSON_M2).to_numpy()
    with np.errstate(divide="ignore"):
        occupants = np.where(per_person > 0, frame["floor_area"] / per_person, 0.0)
    frame["occupants"] = occupants
    return frame
