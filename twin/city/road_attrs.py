"""Traffic and walking attributes of one street segment, from its OSM tags.

Each function takes a way's tags and returns SI values; defaults by road class are in the
tables below, with where they come from. All of it is per direction of travel.
"""

from __future__ import annotations

import re

KMH = 1.0 / 3.6  # m/s per km/h
MPH = 0.44704  # m/s per mph

#: Free speed (km/h) by highway class when ``maxspeed`` is missing: typical European urban
#: limits (50 km/h arterials, 30 km/h local streets, 10 km/h living streets).
DEFAULT_SPEED_KMH: dict[str, float] = {
    "motorway": 110.0,
    "trunk": 90.0,
    "primary": 50.0,
    "secondary": 50.0,
    "tertiary": 50.0,
    "unclassified": 40.0,
    "residential": 30.0,
    "living_street": 10.0,
    "service": 20.0,
    "road": 30.0,
}

#: Implicit speed limits written as ``maxspeed=CC:zone`` (km/h).
IMPLICIT_SPEED_KMH: dict[str, float] = {
    "urban": 50.0,
    "rural": 80.0,
    "motorway": 130.0,
    "trunk": 110.0,
    "living_street": 20.0,
    "walk": 7.0,
    "zone30": 30.0,
    "zone20": 20.0,
    "bicycle_road": 30.0,
}

#: Lanes per direction by class when ``lanes`` is missing.
DEFAULT_LANES: dict[str, int] = {"motorway": 2, "trunk": 2}

#: Saturation flow per lane (veh/h) by class: HCM 2010 base rates (1,900 pc/h/ln for
#: signalised arterials, 2,000-2,200 on freeways) reduced for urban friction on minor roads.
LANE_CAPACITY_VEH_H: dict[str, float] = {
    "motorway": 2000.0,
    "trunk": 1900.0,
    "primary": 1800.0,
    "secondary": 1600.0,
    "tertiary": 1400.0,
    "unclassified": 1000.0,
    "residential": 900.0,
    "road": 900.0,
    "service": 600.0,
    "living_street": 400.0,
}

#: Space one stopped vehicle takes in a queue (m): car length plus gap.
JAM_SPACING_M = 7.5

#: Nominal width (m) of the walkable part of each class when ``width`` is missing.
#: Footways 2 m, stepped paths 1.5 m, pedestrian streets 6 m; roads open to cars count
#: their sidewalks (1.5 m each) or, with no sidewalk tagged, 1.5 m of usable edge.
DEFAULT_WALK_WIDTH_M: dict[str, float] = {
    "footway": 2.0,
    "pedestrian": 6.0,
    "path": 1.5,
    "steps": 1.5,
    "corridor": 2.0,
    "living_street": 4.0,
    "track": 2.5,
    "cycleway": 1.5,
    "bridleway": 1.5,
}
SIDEWALK_WIDTH_M = 1.5

#: Boundary layer subtracted on each side to get the effective width a crowd uses (m):
#: SFPE Handbook (Nelson & Mowrer), 0.15 m for walls and kerbs.
BOUNDARY_LAYER_M = 0.15
MIN_EFFECTIVE_WIDTH_M = 0.5

_NUMBER = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*(.*)$")


def highway_class(tags: dict[str, str]) -> str:
    """The road class with ``_link`` folded in (``primary_link`` -> ``primary``)."""
    return tags.get("highway", "road").removesuffix("_link")


def parse_speed(value: str | None) -> float | None:
    """Parse an OSM ``maxspeed`` value to m/s; None if missing or not understood.

    Understands ``50``, ``50 km/h``, ``30 mph``, ``FR:urban``, ``walk`` and lists such as
    ``50;30`` (the lowest is taken: the limit that binds).
    """
    if not value:
        return None
    speeds = []
    for part in value.split(";"):
        part = part.strip().lower()
        if ":" in part and not part[0].isdigit():
            part = part.split(":", 1)[1]
        if part in IMPLICIT_SPEED_KMH:
            speeds.append(IMPLICIT_SPEED_KMH[part] * KMH)
            continue
        match = _NUMBER.match(part)
        if not match:
            continue
        number = float(match.group(1).replace(",", "."))
        unit = match.group(2).strip()
        if number <= 0:
            continue
        if unit in ("", "km/h", "kmh", "kph"):
            speeds.append(number * KMH)
        elif unit == "mph":
            speeds.append(number * MPH)
        elif unit == "knots":
            speeds.append(number * 0.514444)
    return min(speeds) if speeds else None


def parse_length(value: str | None) -> float | None:
    """Parse an OSM length (``height``, ``width``) to metres; None if missing or not understood.

    Understands ``12``, ``12.5 m``, ``3,5``, ``40 ft``, ``40'``, ``6'6"``.
    """
    if not value:
        return None
    text = value.strip().lower().split(";")[0]
    feet = re.match(r"^\s*([0-9.]+)\s*'\s*(?:([0-9.]+)\s*\")?\s*$", text)
    if feet:
        inches = float(feet.group(2) or 0.0)
        return float(feet.group(1)) * 0.3048 + inches * 0.0254
    match = _NUMBER.match(text)
    if not match:
        return None
    number = float(match.group(1).replace(",", "."))
    unit = match.group(2).strip()
    if unit in ("", "m", "meter", "meters", "metre", "metres"):
        return number
    if unit in ("ft", "feet"):
        return number * 0.3048
    if unit == "cm":
        return number / 100.0
    if unit == "km":
        return number * 1000.0
    return None


def _parse_int(value: str | None) -> int | None:
    if not value:
        return None
    try:
        numbers = [float(v) for v in value.replace(",", ".").split(";")]
    except ValueError:
        return None
    n = round(min(numbers))
    return n if n > 0 else None


def free_speed(tags: dict[str, str], *, forward: bool = True) -> float:
    """Free-flow speed (m/s): the tagged limit, else the class default."""
    directional = tags.get("maxspeed:forward" if forward else "maxspeed:backward")
    speed = parse_speed(directional) or parse_speed(tags.get("maxspeed"))
    if speed is None:
        speed = DEFAULT_SPEED_KMH.get(highway_class(tags), 30.0) * KMH
    return speed


def lanes_per_direction(tags: dict[str, str], *, oneway: bool, forward: bool = True) -> int:
    """Lanes in the direction of travel (>= 1).

    ``lanes:forward``/``lanes:backward`` win; else ``lanes`` (all of them on a one-way road,
    half of them rounded down, at least one, on a two-way road); else the class default.
    """
    directional = _parse_int(tags.get("lanes:forward" if forward else "lanes:backward"))
    if directional:
        return directional
    total = _parse_int(tags.get("lanes"))
    if total:
        return total if oneway else max(1, total // 2)
    return DEFAULT_LANES.get(highway_class(tags), 1)


def lane_capacity(tags: dict[str, str]) -> float:
    """Capacity of one lane (veh/h) by class."""
    return LANE_CAPACITY_VEH_H.get(highway_class(tags), 900.0)


def jam_storage(length_m: float, lanes: int) -> float:
    """Vehicles a segment holds when jammed: length x lanes / jam spacing, at least 1."""
    return max(1.0, length_m * lanes / JAM_SPACING_M)


def walk_width(tags: dict[str, str]) -> float:
    """Nominal width (m) available to pedestrians on a way.

    Pedestrian-only ways: ``width`` (or ``est_width``) else the class default. Roads open to
    cars: the tagged sidewalks (1.5 m each) or, when none is tagged, one 1.5 m verge.
    """
    cls = highway_class(tags)
    tagged = parse_length(tags.get("width")) or parse_length(tags.get("est_width"))
    if cls in DEFAULT_WALK_WIDTH_M:
        return tagged if tagged and tagged > 0 else DEFAULT_WALK_WIDTH_M[cls]
    sidewalk = tags.get("sidewalk:both") or tags.get("sidewalk")
    if sidewalk == "both":
        return 2 * SIDEWALK_WIDTH_M
    if sidewalk in ("left", "right", "yes"):
        return SIDEWALK_WIDTH_M
    left = tags.get("sidewalk:left") == "yes"
    right = tags.get("sidewalk:right") == "yes"
    if left or right:
        return SIDEWALK_WIDTH_M * (left + right)
    return SIDEWALK_WIDTH_M


def effective_width(nominal_m: float) -> float:
    """Width a crowd uses: nominal minus a boundary layer on each side (m)."""
    return max(MIN_EFFECTIVE_WIDTH_M, nominal_m - 2 * BOUNDARY_LAYER_M)
