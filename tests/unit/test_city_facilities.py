"""Which OSM objects are emergency facilities, their status and capacity (synthetic .osm)."""

import pytest

from twin.city.facilities import CAPACITY_BOUNDS, capacity_estimate
from twin.city.osm_read import facility_kind, read_osm

# A 3 x 3 street grid about 80 m apart at 43.73 N (1e-3 deg of longitude ~ 80 m).
GRID = {10 * i + j: (7.420 + 1e-3 * i, 43.730 + 7e-4 * j) for i in range(3) for j in range(3)}
STREETS = [
    (1000 + i, [10 * i + j for j in range(3)], {"highway": "residential", "name": f"Rue {i}"})
    for i in range(3)
] + [
    (1100 + j, [10 * i + j for i in range(3)], {"highway": "residential", "name": f"Av {j}"})
    for j in range(3)
]


def write_osm(path, points=(), areas=()):
    """Write an .osm file: the street grid, facility nodes ``(id, lon, lat, tags)`` and
    closed ways ``(id, [(lon, lat), ...], tags)``."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']

    def node(nid, lon, lat, tags=None):
        inner = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in (tags or {}).items())
        lines.append(f'<node id="{nid}" version="1" lat="{lat}" lon="{lon}">{inner}</node>')

    for nid, (lon, lat) in GRID.items():
        node(nid, lon, lat)
    for nid, lon, lat, tags in points:
        node(nid, lon, lat, tags)
    ways = list(STREETS)
    for wid, ring, tags in areas:
        refs = []
        for k, (lon, lat) in enumerate(ring):
            node(wid * 10 + k, lon, lat)
            refs.append(wid * 10 + k)
        ways.append((wid, [*refs, refs[0]], tags))
    for wid, refs, tags in ways:
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        tg = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{wid}" version="1">{nds}{tg}</way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines))
    return path


def square(lon, lat, side_deg):
    return [(lon, lat), (lon + side_deg, lat), (lon + side_deg, lat + side_deg),
            (lon, lat + side_deg)]  # fmt: skip


@pytest.mark.parametrize(
    ("tags", "kind"),
    [
        ({"amenity": "shelter", "shelter_type": "public_transport"}, None),
        ({"amenity": "shelter", "shelter_type": "picnic_shelter"}, None),
        ({"amenity": "shelter", "shelter_type": "basic_hut"}, None),
        ({"amenity": "shelter", "shelter_type": "rock_shelter"}, None),
        ({"amenity": "shelter"}, None),  # OSM's default shelter_type is weather_shelter
        ({"amenity": "shelter", "emergency": "yes"}, "shelter"),
        ({"amenity": "shelter", "shelter_type": "emergency_shelter"}, "shelter"),
        ({"social_facility": "shelter"}, "shelter"),
        ({"emergency": "assembly_point"}, "assembly_point"),
        ({"amenity": "hospital"}, "hospital"),
        ({"amenity": "hospital", "historic": "building"}, None),
        ({"amenity": "hospital", "disused": "yes"}, None),
        ({"disused:amenity": "hospital", "amenity": "hospital"}, None),
        ({"was:healthcare": "hospital", "healthcare": "hospital"}, None),
        ({"abandoned:amenity": "hospital"}, None),
        ({"amenity": "hospital", "building": "ruins"}, None),
        ({"amenity": "hospital", "was:name": "Old name"}, "hospital"),  # a renamed hospital
        ({"amenity": "school"}, "school"),
    ],
)
def test_facility_kind(tags, kind):
    assert facility_kind(tags) == kind


def test_capacity_bounds_and_sources():
    # a 380 m2 clinic building used to give 3.8 beds: now the smallest general hospital
    assert capacity_estimate("hospital", {}, 380.0, 0.0) == (25.0, "floor_area_bounded")
    assert capacity_estimate("hospital", {}, 30_000.0, 0.0) == (300.0, "floor_area")
    assert capacity_estimate("hospital", {}, 0.0, 0.0) == (25.0, "assumed")
    assert capacity_estimate("hospital", {"beds": "420"}, 0.0, 0.0) == (420.0, "tagged")
    assert capacity_estimate("hospital", {"beds": "90000"}, 0.0, 0.0) == (1500.0, "tagged_capped")
    # a 135,000 m2 school gave 19,367 persons: bounded
    assert capacity_estimate("school", {}, 135_000.0, 0.0) == (1000.0, "floor_area_bounded")
    assert capacity_estimate("school", {}, 7000.0, 0.0) == (1000.0, "floor_area")
    assert capacity_estimate("fire_station", {}, 5000.0, 0.0)[1] == "none"
    for kind, (low, high) in CAPACITY_BOUNDS.items():
        for floor in (1.0, 1e3, 1e5, 1e7):
            value, _ = capacity_estimate(kind, {}, floor, floor)
            assert low <= value <= high


def test_pack_marks_designated_and_candidate_shelters(tmp_path):
    from twin.city import load_city

    points = [
        (101, 7.4205, 43.7303, {"amenity": "shelter", "shelter_type": "public_transport"}),
        (102, 7.4215, 43.7303, {"amenity": "shelter", "shelter_type": "picnic_shelter"}),
        (103, 7.4205, 43.7310, {"emergency": "assembly_point", "name": "Place"}),
        (104, 7.4215, 43.7310, {"social_facility": "shelter", "capacity": "80"}),
        (105, 7.4212, 43.7312, {"amenity": "school", "name": "Ecole"}),
        (106, 7.4202, 43.7312, {"amenity": "hospital", "historic": "yes", "name": "Old"}),
    ]
    areas = [
        (
            9000,
            square(7.4203, 43.7301, 2e-4),
            {"amenity": "hospital", "building": "yes", "name": "Clinic", "building:levels": "1"},
        )
    ]
    pack = load_city(write_osm(tmp_path / "t.osm", points, areas), flat=True, use_cache=False)
    f = pack.facilities.set_index("osm_id")
    assert sorted(f.index) == [103, 104, 105, 9000]
    assert f.loc[103, "status"] == "shelter"
    assert f.loc[104, "status"] == "shelter"
    assert (f.loc[104, "capacity"], f.loc[104, "capacity_source"]) == (80.0, "tagged")
    assert f.loc[105, "status"] == "candidate"
    assert f.loc[9000, "status"] == "service"
    assert f.loc[9000, "capacity_source"] == "floor_area_bounded"  # ~16 x 22 m: 25 beds
    assert f.loc[9000, "capacity"] == 25.0


def test_streets_without_point_facilities_build(tmp_path):
    """Used to fail in shapely.points([]) with a traceback."""
    from twin.city import load_city

    areas = [(9000, square(7.4203, 43.7301, 2e-4), {"amenity": "police", "building": "yes"})]
    pack = load_city(write_osm(tmp_path / "p.osm", (), areas), flat=True, use_cache=False)
    assert list(pack.facilities["kind"]) == ["police"]
    pack = load_city(write_osm(tmp_path / "none.osm"), flat=True, use_cache=False)
    assert len(pack.facilities) == 0
    assert read_osm(tmp_path / "none.osm").facilities == []
