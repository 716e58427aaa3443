"""A place by name: geocoded and queried through osmnx's request layer, saved as ``.osm``.

The Overpass query selects what a city pack reads, built from the reader's own tag tables
(:func:`place_filters`), so a fetched place has streets, buildings, land cover (for flood
roughness), facilities and named places. Nothing here runs against the network in tests:
they check the query offline and serve osmnx a local HTTP server on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from twin.atomic import atomic_path
from twin.errors import MapDataError, Problem
from twin.settings import data_dir

#: Facility tags (see :func:`twin.city.osm_read.facility_kind`): any value listed selects it;
#: the reader then decides (a weather ``amenity=shelter`` is fetched and left out there).
FACILITY_TAGS: dict[str, tuple[str, ...]] = {
    "amenity": ("hospital", "fire_station", "police", "school", "community_centre", "shelter",
                "refugee_site"),
    "healthcare": ("hospital",),
    "emergency": ("assembly_point", "shelter"),
    "social_facility": ("shelter",),
}  # fmt: skip


@dataclass(frozen=True)
class TagFilter:
    """One Overpass selection: OSM element types with a tag key (any value, or these)."""

    types: tuple[str, ...]
    key: str
    values: tuple[str, ...] | None = None

    def overpass(self, area: str) -> str:
        """The Overpass QL statements, one per type, restricted to ``area``."""
        if self.values is None:
            tag = f'["{self.key}"]'
        elif len(self.values) == 1:
            tag = f'["{self.key}"="{self.values[0]}"]'
        else:
            tag = f'["{self.key}"~"^({"|".join(self.values)})$"]'
        return "".join(f"{kind}{tag}{area};" for kind in self.types)

    def selects(self, kind: str, tags: dict[str, str]) -> bool:
        """Whether an element of type ``kind`` with ``tags`` is selected (as Overpass would)."""
        if kind not in self.types or self.key not in tags:
            return False
        return self.values is None or tags[self.key] in self.values


def place_filters() -> list[TagFilter]:
    """What a city pack reads, as Overpass selections (built from the reader's own tables):
    streets, buildings, land cover (flood roughness), facilities and named nodes."""
    from twin.city.osm_read import LANDCOVER_BY_TAG

    areas = ("way", "relation")
    filters = [TagFilter(("way",), "highway"), TagFilter(areas, "building")]
    filters += [TagFilter(areas, key, tuple(sorted(classes)))
                for key, classes in LANDCOVER_BY_TAG.items()]  # fmt: skip
    filters += [TagFilter(("node", *areas), key, values)
                for key, values in FACILITY_TAGS.items()]  # fmt: skip
    filters.append(TagFilter(("node",), "name"))  # places: squares, stops, landmarks
    return filters


def overpass_query(area: str, settings: str = "[out:json][timeout:180]") -> str:
    """Overpass QL for every :func:`place_filters` selection in ``area``, with the nodes of
    its ways and the members of its relations.

    Parameters
    ----------
    area
        An Overpass area clause: ``(poly:"lat lon lat lon ...")`` or ``(south,west,north,east)``.
    settings
        The query's settings statement (osmnx's ``[out:json][timeout:...]``).
    """
    body = "".join(f.overpass(area) for f in place_filters())
    return f"{settings};({body});(._;>;);out body;"


def overpass_to_osm_xml(
    elements: list[dict], bounds: tuple[float, float, float, float]
) -> Iterator[str]:
    """OSM XML lines (``.osm``) for Overpass JSON ``elements``: nodes, ways then relations,
    each by id, as libosmium expects; ``bounds`` (west, south, east, north) in degrees."""
    from xml.sax.saxutils import quoteattr

    def tags(element: dict) -> list[str]:
        return [f"  <tag k={quoteattr(str(k))} v={quoteattr(str(v))}/>"
                for k, v in element.get("tags", {}).items()]  # fmt: skip

    west, south, east, north = bounds
    yield "<?xml version='1.0' encoding='UTF-8'?>"
    yield '<osm version="0.6" generator="twin maps fetch --place (Overpass API)">'
    yield f'<bounds minlat="{south}" minlon="{west}" maxlat="{north}" maxlon="{east}"/>'
    order = {"node": 0, "way": 1, "relation": 2}
    for e in sorted(elements, key=lambda e: (order.get(e["type"], 3), e["id"])):
        if e["type"] == "node":
            inner = tags(e)
            head = f'<node id="{e["id"]}" lat="{e["lat"]}" lon="{e["lon"]}"'
            yield f"{head}>\n" + "\n".join(inner) + "\n</node>" if inner else f"{head}/>"
        elif e["type"] == "way":
            refs = [f'  <nd ref="{ref}"/>' for ref in e.get("nodes", [])]
            yield f'<way id="{e["id"]}">\n' + "\n".join(refs + tags(e)) + "\n</way>"
        elif e["type"] == "relation":
            members = [f'  <member type="{m["type"]}" ref="{m["ref"]}" '
                       f"role={quoteattr(m.get('role', ''))}/>"
                       for m in e.get("members", [])]  # fmt: skip
            yield f'<relation id="{e["id"]}">\n' + "\n".join(members + tags(e)) + "\n</relation>"
    yield "</osm>"


def _osmnx_failure(what: str, exc: BaseException) -> MapDataError:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return MapDataError(
        Problem(
            f"{what} failed: {reason}",
            fix="check the place name and the internet connection (osmnx's settings "
            "nominatim_url and overpass_url name the servers); or download an extract and "
            "pass it as an OSM file path",
        )
    )


def fetch_place(place: str, dest: Path | None = None) -> Path:
    """Geocode a place with osmnx and save what a city pack reads as ``dest/places/<slug>.osm``.

    Needs internet: Nominatim and Overpass through osmnx's request layer and settings
    (servers, user agent, rate-limit pauses, retries on HTTP 429/504, large areas split
    into several queries; responses cached under the twin cache folder). The query selects
    :func:`place_filters` (streets, buildings, land cover, facilities, named nodes). The
    saved file is read like any OSM file; terrain must be given separately (``--dem``) or
    the city is built flat. Overpass bounds its answer's size and time (osmnx's
    ``overpass_memory`` and ``requests_timeout`` settings).

    Raises
    ------
    MapDataError
        The place is not found, a server is unreachable or answers an error, or Overpass
        reports a partial answer; in one line.
    """
    from collections import OrderedDict

    import osmnx as ox
    from osmnx import _overpass

    from twin.settings import cache_dir

    previous = ox.settings.cache_folder
    ox.settings.cache_folder = str(cache_dir() / "overpass")  # not ./cache where twin runs
    try:
        try:
            area = ox.geocode_to_gdf(place)
        except (OSError, ValueError, TypeError) as exc:  # requests' errors are OSErrors
            raise _osmnx_failure(f"geocoding {place!r}", exc) from None
        polygon = area.geometry.iloc[0]
        bounds = tuple(float(v) for v in area.total_bounds)
        elements: dict[tuple[str, int], dict] = {}
        for coords in _overpass._make_overpass_polygon_coord_strs(polygon):
            query = overpass_query(f'(poly:"{coords}")', _overpass._make_overpass_settings())
            answer = _overpass._overpass_request(OrderedDict(data=query))
            remark = str(answer.get("remark", ""))
            if "error" in remark.lower():
                raise MapDataError(
                    Problem(
                        f"Overpass answered only in part: {remark}",
                        fix="try again later, or a smaller place",
                    )
                )
            for element in answer.get("elements", []):
                elements[element["type"], element["id"]] = element
    except MapDataError:
        raise
    except (OSError, ValueError) as exc:  # osmnx's response errors are ValueErrors
        raise _osmnx_failure(f"the Overpass query for {place!r}", exc) from None
    finally:
        ox.settings.cache_folder = previous
    if not any(kind == "way" for kind, _ in elements):
        raise MapDataError(
            Problem(f"Overpass found no streets in {place!r}", fix="check the place name")
        )
    slug = "".join(c if c.isalnum() else "-" for c in place.lower()).strip("-") or "place"
    target = (dest or data_dir()) / "places" / f"{slug}.osm"
    with atomic_path(target) as tmp, tmp.open("w", encoding="utf-8") as out:
        for line in overpass_to_osm_xml(list(elements.values()), bounds):
            out.write(line + "\n")
    return target
