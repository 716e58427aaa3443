"""Read an OpenStreetMap file once and keep what a city pack needs: streets, buildings, facilities.

One pass of pyosmium over ``.osm.pbf``, ``.osm`` or ``.osm.bz2`` (areas assembled from
closed ways and multipolygon relations by libosmium) yields plain Python records; nothing
here knows about graphs or projections.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twin.errors import MapDataError, Problem

OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz")

# Tags kept on street ways (the rest are dropped to keep packs small).
WAY_TAGS = (
    "highway",
    "name",
    "ref",
    "oneway",
    "junction",
    "lanes",
    "lanes:forward",
    "lanes:backward",
    "maxspeed",
    "maxspeed:forward",
    "maxspeed:backward",
    "access",
    "motor_vehicle",
    "motorcar",
    "foot",
    "service",
    "area",
    "width",
    "est_width",
    "sidewalk",
    "sidewalk:both",
    "sidewalk:left",
    "sidewalk:right",
    "tunnel",
    "bridge",
)

BUILDING_TAGS = (
    "building",
    "height",
    "building:levels",
    "roof:levels",
    "min_height",
    "amenity",
    "shop",
    "office",
    "tourism",
    "leisure",
    "name",
    "beds",
    "capacity",
    "emergency",
    "healthcare",
    "social_facility",
)


#: Tags that say what a named node is (first match names it in ``twin maps where``).
PLACE_KEYS = (
    "place", "amenity", "tourism", "historic", "leisure", "shop", "office",
    "public_transport", "railway", "highway", "natural", "man_made", "building",
)  # fmt: skip

#: Land-cover classes (flood roughness) by tag value; first match wins.
LANDCOVER_BY_TAG: dict[str, dict[str, str]] = {
    "natural": {"water": "water", "wood": "forest", "scrub": "forest", "grassland": "parks",
                "heath": "parks", "beach": "parks"},
    "landuse": {"forest": "forest", "grass": "parks", "meadow": "parks", "recreation_ground":
                "parks", "village_green": "parks", "cemetery": "parks", "allotments": "parks",
                "orchard": "parks", "vineyard": "parks", "basin": "water", "reservoir": "water"},
    "leisure": {"park": "parks", "garden": "parks", "pitch": "parks", "golf_course": "parks",
                "nature_reserve": "forest"},
    "waterway": {"riverbank": "water", "dock": "water"},
}  # fmt: skip


def landcover_class(tags) -> str | None:
    """``parks``, ``forest`` or ``water`` for an area whose tags say so, else None."""
    for key, classes in LANDCOVER_BY_TAG.items():
        value = tags.get(key)
        if value in classes:
            return classes[value]
    return None


#: ``shelter_type`` values of ``amenity=shelter`` that are not emergency shelters: shelters
#: from weather at stops, picnic sites and on trails (OSM wiki, Tag:amenity=shelter).
NOT_EMERGENCY_SHELTER_TYPES = frozenset({
    "public_transport", "picnic_shelter", "weather_shelter", "basic_hut", "lean_to",
    "rock_shelter", "sun_shelter", "field_shelter", "wildlife_hide", "gazebo", "pavilion",
    "changing_rooms", "smoking_shelter", "parking", "bicycle_parking", "hut",
})  # fmt: skip
#: Lifecycle prefixes (OSM wiki, Lifecycle prefix): ``disused:amenity=hospital`` and the like
#: describe something that is no longer (or not yet) in service.
LIFECYCLE_PREFIXES = ("disused", "abandoned", "was", "demolished", "razed", "removed",
                      "destroyed", "ruins", "construction", "proposed", "planned")  # fmt: skip
#: Keys whose lifecycle-prefixed form marks a facility as out of service.
_FACILITY_KEYS = ("amenity", "healthcare", "emergency", "social_facility", "building")


def out_of_service(tags) -> bool:
    """Whether tags describe a facility that is not in service: a lifecycle-prefixed
    facility key (``disused:amenity``, ``was:healthcare``, ...), a lifecycle flag
    (``disused=yes``, ``abandoned=yes``, ...), ``building=ruins``, or any ``historic`` tag."""
    if tags.get("historic", "no") != "no" or tags.get("building") == "ruins":
        return True
    for prefix in LIFECYCLE_PREFIXES:
        if tags.get(prefix, "no") != "no":
            return True
        if any(f"{prefix}:{key}" in tags for key in _FACILITY_KEYS):
            return True
    return False


def facility_kind(tags) -> str | None:
    """Which emergency-relevant facility an object is, from its tags, or None.

    Kinds: ``hospital``, ``fire_station``, ``police``, designated emergency places
    (``assembly_point`` for ``emergency=assembly_point``; ``shelter`` for
    ``social_facility=shelter``, ``amenity=refugee_site``, ``emergency=shelter`` or
    ``amenity=shelter`` with ``emergency=yes|designated`` or a ``shelter_type`` that is not in
    :data:`NOT_EMERGENCY_SHELTER_TYPES`; an untyped ``amenity=shelter`` is a weather shelter,
    OSM's default), and candidate shelters that a plan may open: ``school``,
    ``community_centre``. Objects out of service (:func:`out_of_service`) are None.
    """
    if out_of_service(tags):
        return None
    amenity = tags.get("amenity")
    emergency = tags.get("emergency", "no")
    if amenity == "hospital" or tags.get("healthcare") == "hospital":
        return "hospital"
    if amenity in ("fire_station", "police", "school", "community_centre"):
        return amenity
    if emergency == "assembly_point":
        return "assembly_point"
    if tags.get("social_facility") == "shelter" or amenity == "refugee_site":
        return "shelter"
    if emergency == "shelter":
        return "shelter"
    if amenity == "shelter":
        shelter_type = tags.get("shelter_type")
        if emergency in ("yes", "designated"):
            return "shelter"
        if shelter_type is not None and shelter_type not in NOT_EMERGENCY_SHELTER_TYPES:
            return "shelter"
    return None


@dataclass
class OsmData:
    """What was read from one OSM file.

    Attributes
    ----------
    node_lonlat
        Longitude and latitude (degrees) of every node used by a street way, by OSM id.
    ways
        Street ways: ``(way_id, node_ids, tags)`` for every way with a ``highway`` tag.
    buildings
        ``(osm_id, wkb_polygon_lonlat, tags)`` for every building area.
    facilities
        ``(osm_type, osm_id, kind, lon, lat, wkb_or_None, tags)``: points and areas whose tags
        make them a facility (see :func:`facility_kind`); areas carry their polygon.
    landcover
        ``(osm_id, wkb_polygon_lonlat, class)`` for parks, woods and water areas
        (see :func:`landcover_class`).
    places
        ``(osm_id, lon, lat, name, what)`` for named nodes that are not facilities (squares,
        stops, shops, landmarks), ``what`` being their main tag (``amenity=townhall``).
    bbox
        ``(west, south, east, north)`` in degrees: the file header's box if it has one,
        else the extent of the streets read.
    """

    path: Path
    node_lonlat: dict[int, tuple[float, float]] = field(default_factory=dict)
    ways: list[tuple[int, list[int], dict[str, str]]] = field(default_factory=list)
    buildings: list[tuple[int, bytes, dict[str, str]]] = field(default_factory=list)
    facilities: list[tuple[str, int, str, float, float, bytes | None, dict[str, str]]] = field(
        default_factory=list
    )
    landcover: list[tuple[int, bytes, str]] = field(default_factory=list)
    places: list[tuple[int, float, float, str, str]] = field(default_factory=list)
    bbox: tuple[float, float, float, float] | None = None


def _keep(tags, keys: tuple[str, ...]) -> dict[str, str]:
    return {k: tags[k] for k in keys if k in tags}


def _add_street(data: OsmData, way, tags: dict[str, str]) -> None:
    """Keep a street way; an extract clipped at its border leaves nodes without a location,
    and the way is split there rather than joined across the gap."""
    run: list[int] = []
    for node in way.nodes:
        if node.location.valid():
            data.node_lonlat[node.ref] = (node.location.lon, node.location.lat)
            run.append(node.ref)
            continue
        if len(run) >= 2:
            data.ways.append((way.id, run, tags))
        run = []
    if len(run) >= 2:
        data.ways.append((way.id, run, tags))


def check_osm_path(path: Path) -> Path:
    """Raise a clear error if ``path`` is not an existing OSM file of a known format."""
    path = Path(path)
    if not path.exists():
        raise MapDataError(
            Problem(
                "OSM file not found",
                file=path,
                fix="check the path, or put the file in a folder on the maps path "
                "(--maps DIR or TWIN_MAPS); `twin maps list` shows known cities",
            )
        )
    if not path.name.lower().endswith(OSM_SUFFIXES):
        raise MapDataError(
            Problem(
                f"unknown OSM file type (expected one of {', '.join(OSM_SUFFIXES)})",
                file=path,
                fix="convert it with osmium (`osmium cat IN -o OUT.osm.pbf`)",
            )
        )
    return path


def read_osm(path: Path) -> OsmData:
    """Read streets, buildings and facilities from an OSM file in one pass.

    Parameters
    ----------
    path
        ``.osm.pbf``, ``.osm`` or ``.osm.bz2`` file.

    Raises
    ------
    MapDataError
        The file is missing, of an unknown type, truncated or corrupt, or holds no streets.
    """
    import osmium

    path = check_osm_path(path)
    data = OsmData(path=path)
    wkb = osmium.geom.WKBFactory()
    try:
        reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
        box = reader.header().box()
        reader.close()
        if box.valid():
            data.bbox = (
                box.bottom_left.lon,
                box.bottom_left.lat,
                box.top_right.lon,
                box.top_right.lat,
            )
        processor = osmium.FileProcessor(str(path)).with_locations().with_areas()
        for obj in processor:
            tags = obj.tags
            if obj.is_way():
                if "highway" in tags:
                    _add_street(data, obj, _keep(tags, WAY_TAGS))
            elif obj.is_area():
                kind = facility_kind(tags)
                building = tags.get("building")
                cover = landcover_class(tags) if building is None else None
                if building is None and kind is None and cover is None:
                    continue
                try:
                    geom = bytes.fromhex(wkb.create_multipolygon(obj))
                except RuntimeError:  # broken multipolygon in the data: skip it
                    continue
                osm_type = "way" if obj.from_way() else "relation"
                if building not in (None, "no"):
                    data.buildings.append((obj.orig_id(), geom, _keep(tags, BUILDING_TAGS)))
                if kind is not None:
                    data.facilities.append(
                        (osm_type, obj.orig_id(), kind, np.nan, np.nan, geom, dict(tags))
                    )
                if cover is not None:
                    data.landcover.append((obj.orig_id(), geom, cover))
            elif obj.is_node() and len(tags) > 0:
                kind = facility_kind(tags)
                loc = obj.location
                if kind is not None:
                    data.facilities.append(
                        ("node", obj.id, kind, loc.lon, loc.lat, None, dict(tags))
                    )
                elif "name" in tags and loc.valid():
                    what = next((f"{k}={tags[k]}" for k in PLACE_KEYS if k in tags), "named")
                    data.places.append((obj.id, loc.lon, loc.lat, tags["name"], what))
    except RuntimeError as exc:
        raise MapDataError(
            Problem(
                f"cannot read OSM data ({exc})",
                file=path,
                fix="the file is truncated or corrupt: download it again and check its SHA-256",
            )
        ) from None
    if not data.ways:
        raise MapDataError(
            Problem(
                "the file holds no streets (no ways with a highway tag)",
                file=path,
                fix="use an extract that covers a city, with its ways and nodes",
            )
        )
    if data.bbox is None:
        lonlat = np.array(list(data.node_lonlat.values()))
        data.bbox = (*lonlat.min(axis=0), *lonlat.max(axis=0))
    return data
