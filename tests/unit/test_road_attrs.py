"""Segment attributes from OSM tags: parsing and defaults."""

import pytest

from twin.city import road_attrs as ra
from twin.city.buildings import building_height, building_use


@pytest.mark.parametrize(
    ("value", "expected_kmh"),
    [
        ("50", 50.0),
        ("50 km/h", 50.0),
        ("30 mph", 30 * 1.609344),
        ("FR:urban", 50.0),
        ("DE:zone30", 30.0),
        ("50;30", 30.0),
        ("walk", 7.0),
    ],
)
def test_parse_speed(value, expected_kmh):
    assert ra.parse_speed(value) == pytest.approx(expected_kmh / 3.6, rel=1e-6)


@pytest.mark.parametrize("value", [None, "", "none", "signals", "-5"])
def test_parse_speed_unknown_is_none(value):
    assert ra.parse_speed(value) is None


@pytest.mark.parametrize(
    ("value", "metres"),
    [("12", 12.0), ("12.5 m", 12.5), ("3,5", 3.5), ("40 ft", 12.192), ("6'6\"", 1.9812)],
)
def test_parse_length(value, metres):
    assert ra.parse_length(value) == pytest.approx(metres, rel=1e-6)


def test_free_speed_defaults_by_class_and_tag_wins():
    assert ra.free_speed({"highway": "residential"}) == pytest.approx(30 / 3.6)
    assert ra.free_speed({"highway": "primary_link"}) == pytest.approx(50 / 3.6)
    assert ra.free_speed({"highway": "residential", "maxspeed": "20"}) == pytest.approx(20 / 3.6)
    tags = {"highway": "primary", "maxspeed": "50", "maxspeed:backward": "30"}
    assert ra.free_speed(tags, forward=False) == pytest.approx(30 / 3.6)


def test_lanes_split_between_directions():
    assert ra.lanes_per_direction({"highway": "primary", "lanes": "4"}, oneway=False) == 2
    assert ra.lanes_per_direction({"highway": "primary", "lanes": "3"}, oneway=True) == 3
    assert ra.lanes_per_direction({"highway": "primary", "lanes": "1"}, oneway=False) == 1
    tags = {"highway": "primary", "lanes": "3", "lanes:forward": "2", "lanes:backward": "1"}
    assert ra.lanes_per_direction(tags, oneway=False, forward=False) == 1
    assert ra.lanes_per_direction({"highway": "motorway"}, oneway=True) == 2


def test_jam_storage_scales_with_length_and_lanes():
    assert ra.jam_storage(75.0, 2) == pytest.approx(20.0)
    assert ra.jam_storage(1.0, 1) == 1.0


def test_walk_width_from_tags_sidewalks_and_defaults():
    assert ra.walk_width({"highway": "footway", "width": "3"}) == 3.0
    assert ra.walk_width({"highway": "footway"}) == 2.0
    assert ra.walk_width({"highway": "residential", "sidewalk": "both"}) == 3.0
    assert ra.walk_width({"highway": "residential"}) == ra.SIDEWALK_WIDTH_M
    assert ra.effective_width(2.0) == pytest.approx(1.7)
    assert ra.effective_width(0.3) == ra.MIN_EFFECTIVE_WIDTH_M


def test_building_height_rules_in_order():
    assert building_height({"building": "yes", "height": "25", "building:levels": "3"})[0] == 25
    assert building_height({"building": "yes", "building:levels": "4"}) == (12.0, 4.0, "levels")
    height, levels, source = building_height({"building": "house"})
    assert (height, levels, source) == (6.0, 2.0, "default")
    assert building_height({"building": "yes", "height": "junk"})[2] == "default"
    assert building_height({"building": "yes", "building:levels": "0"})[2] == "default"


def test_building_use():
    assert building_use({"building": "apartments"}) == "residential"
    assert building_use({"building": "yes", "amenity": "hospital"}) == "hospital"
    assert building_use({"building": "yes", "shop": "bakery"}) == "retail"
    assert building_use({"building": "yes"}) == "other"
