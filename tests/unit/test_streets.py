"""Street graphs from a small hand-made OSM file: filters, one-ways, simplification."""

import bz2

import networkx as nx
import pytest

from twin.city.osm_read import read_osm
from twin.city.streets import build_street_graph, simplify, way_in_network

# Nodes roughly 100 m apart along a parallel at 43.73 N (1e-3 deg lon ~ 80 m).
NODES = {1: (7.420, 43.730), 2: (7.421, 43.730), 3: (7.422, 43.730), 4: (7.423, 43.730),
         5: (7.422, 43.731), 6: (7.422, 43.729), 7: (7.4225, 43.7293), 8: (7.4227, 43.7293),
         9: (7.4227, 43.7295), 10: (7.4225, 43.7295), 11: (7.42255, 43.72935)}  # fmt: skip
WAYS = [
    (100, [1, 2, 3], {"highway": "primary", "maxspeed": "50", "lanes": "2", "name": "Main"}),
    (101, [3, 4], {"highway": "residential", "oneway": "yes"}),
    (102, [3, 5], {"highway": "residential", "oneway": "-1"}),
    (103, [3, 6], {"highway": "footway"}),
    (104, [4, 6], {"highway": "service", "service": "parking_aisle"}),
    (105, [4, 5], {"highway": "tertiary", "access": "private"}),
    (200, [7, 8, 9, 10, 7], {"building": "hospital", "amenity": "hospital", "height": "20"}),
]
HOSPITAL_NODE = (11, {"amenity": "hospital", "name": "Hospital node"})


def write_osm(path, compress=False):
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    for nid, (lon, lat) in NODES.items():
        tags = HOSPITAL_NODE[1] if nid == HOSPITAL_NODE[0] else {}
        inner = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<node id="{nid}" version="1" lat="{lat}" lon="{lon}">{inner}</node>')
    for wid, refs, tags in WAYS:
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        tg = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{wid}" version="1">{nds}{tg}</way>')
    lines.append("</osm>")
    text = "\n".join(lines).encode()
    path.write_bytes(bz2.compress(text) if compress else text)
    return path


@pytest.fixture
def osm(tmp_path):
    return read_osm(write_osm(tmp_path / "tiny.osm"))


def test_reader_keeps_streets_buildings_and_facilities(osm):
    assert {w[0] for w in osm.ways} == {100, 101, 102, 103, 104, 105}
    assert [b[0] for b in osm.buildings] == [200]
    kinds = sorted((f[0], f[2]) for f in osm.facilities)
    assert kinds == [("node", "hospital"), ("way", "hospital")]


def test_bz2_reads_the_same(tmp_path, osm):
    compressed = read_osm(write_osm(tmp_path / "tiny.osm.bz2", compress=True))
    assert compressed.ways == osm.ways
    assert compressed.node_lonlat == osm.node_lonlat


def test_network_filters_follow_osmnx():
    assert way_in_network({"highway": "primary"}, "drive")
    assert not way_in_network({"highway": "footway"}, "drive")
    assert not way_in_network({"highway": "service"}, "drive")
    assert way_in_network({"highway": "service"}, "drive_service")
    assert not way_in_network({"highway": "service", "service": "parking_aisle"}, "drive_service")
    assert not way_in_network({"highway": "primary", "access": "private"}, "drive")
    assert not way_in_network({"highway": "motorway"}, "walk")
    assert way_in_network({"highway": "footway"}, "walk")
    assert not way_in_network({"building": "yes"}, "walk")


def test_drive_graph_oneways_and_exclusions(osm):
    graph = build_street_graph(osm, "drive")
    edges = set(graph.edges())
    assert {(1, 2), (2, 1), (2, 3), (3, 2), (3, 4), (5, 3)} == edges


def test_walk_graph_is_bidirectional_and_has_widths(osm):
    graph = build_street_graph(osm, "walk")
    assert graph.has_edge(4, 3)
    assert graph.has_edge(3, 5)
    assert graph.has_edge(6, 3)
    assert not graph.has_edge(4, 5)  # private
    assert graph.edges[3, 6, 0]["width"] == 2.0


def test_simplify_merges_chains_and_keeps_travel_time(osm):
    raw = build_street_graph(osm, "drive")
    simple = simplify(raw, "drive")
    assert 2 not in simple
    data = simple.edges[1, 3, 0]
    assert data["length"] == pytest.approx(
        raw.edges[1, 2, 0]["length"] + raw.edges[2, 3, 0]["length"]
    )
    assert data["travel_time"] == pytest.approx(data["length"] / (50 / 3.6))
    assert data["speed"] == pytest.approx(50 / 3.6)
    assert data["lanes"] == 1
    assert data["capacity"] == pytest.approx(1800.0)
    assert data["storage"] == pytest.approx(data["length"] / 7.5)
    # the 80 m segments: 1e-3 deg of longitude at 43.73 N is ~80.4 m
    assert data["length"] == pytest.approx(2 * 80.4, rel=0.01)
    assert nx.is_weakly_connected(simple)


def test_tiny_pack_flat_with_stated_elevation_and_merged_facility(tmp_path):
    from twin.city import load_city

    pack = load_city(write_osm(tmp_path / "tiny.osm"), flat=True, flat_elevation=5.0)
    assert pack.terrain.is_flat
    assert (pack.terrain.elevation == 5.0).all()
    assert "5 m" in pack.terrain.datum
    assert all(d["elevation"] == 5.0 for _, d in pack.drive.nodes(data=True))
    # the hospital node lies inside the hospital building: one facility, not two
    assert list(pack.facilities["kind"]) == ["hospital"]
    assert pack.buildings["height"].tolist() == [20.0]
    assert pack.buildings["height_source"].tolist() == ["height"]
