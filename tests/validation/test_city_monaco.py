"""Monaco's city pack from the real OSM extract and SRTM tile (the foundation's acceptance).

Scale references for the drive graph, none of them ours: osmnx's own drive graph of this
extract has about 430-740 nodes and 750-1,320 edges without/with service roads, and SUMO's
netconvert makes 479 junctions and 817 edges.
"""

import math

import numpy as np
import pytest
from pyproj import Transformer


def test_drive_graph_scale_and_connectivity(monaco_pack):
    summary = monaco_pack.summary()
    assert summary["drive_nodes"] > 400
    assert summary["drive_edges"] > 700
    assert summary["drive_largest_scc_nodes"] >= 0.8 * summary["drive_nodes"]
    assert 60.0 <= summary["drive_km"] <= 150.0


def test_every_drive_edge_has_positive_finite_attributes(monaco_pack):
    for _, _, data in monaco_pack.drive.edges(data=True):
        for key in ("length", "speed", "capacity", "storage", "travel_time", "lanes"):
            value = data[key]
            assert math.isfinite(value), (key, data)
            assert value > 0, (key, data)
        assert math.isfinite(data["elevation_u"])
        assert math.isfinite(data["grade"])


def test_pack_restricts_to_largest_strongly_connected_component(monaco_pack):
    import networkx as nx

    restricted = monaco_pack.largest_component()
    assert nx.is_strongly_connected(restricted.drive)
    assert restricted.drive.number_of_nodes() >= 0.8 * monaco_pack.drive.number_of_nodes()
    assert set(restricted.facilities["drive_node"]) <= set(restricted.drive.nodes)


def test_projected_to_utm_32n(monaco_pack):
    assert monaco_pack.crs == "EPSG:32632"


def test_terrain_spans_the_city_and_has_sea_and_hills(monaco_pack):
    terrain = monaco_pack.terrain
    xmin, ymin, xmax, ymax = terrain.bounds
    west, south, east, north = monaco_pack.bbox_lonlat
    to_utm = Transformer.from_crs("EPSG:4326", monaco_pack.crs, always_xy=True)
    xs, ys = to_utm.transform([west, east, west, east], [south, south, north, north])
    assert xmin <= min(xs)
    assert xmax >= max(xs)
    assert ymin <= min(ys)
    assert ymax >= max(ys)
    assert terrain.resolution == 10.0
    assert not np.isnan(terrain.elevation).any()
    assert abs(float(terrain.elevation.min())) <= 5.0
    assert float(terrain.elevation.max()) > 100.0


def test_node_elevations_come_from_the_terrain(monaco_pack):
    nodes = list(monaco_pack.drive.nodes(data=True))
    x = np.array([d["x"] for _, d in nodes])
    y = np.array([d["y"] for _, d in nodes])
    z = np.array([d["elevation"] for _, d in nodes])
    assert np.allclose(z, monaco_pack.terrain.sample(x, y))
    assert z.min() > -5.0
    assert z.max() > 50.0


def test_buildings_heights_and_tagged_ones_honoured(monaco_pack):
    b = monaco_pack.buildings
    assert len(b) >= 1000
    assert (b["height"] > 0).all()
    tagged = b[b["height_source"] == "height"]
    assert len(tagged) >= 30  # the extract has 38 buildings with a height tag
    assert (b.loc[b["height_source"] == "levels", "height"] >= 3.0).all()
    assert (b["occupants"] >= 0).all()
    assert b["occupants"].sum() > 10_000


def test_facilities_include_hospitals_with_capacity(monaco_pack):
    f = monaco_pack.facilities
    hospitals = f[f["kind"] == "hospital"]
    assert len(hospitals) >= 1
    assert (hospitals["capacity"] > 0).all()
    assert {"fire_station", "police"} <= set(f["kind"])
    assert set(f["drive_node"]) <= set(monaco_pack.drive.nodes)


def test_cached_load_returns_the_same_pack(monaco_pack, maps_folders):
    from twin.city import load_city

    again = load_city("monaco", maps=maps_folders)
    # build_seconds differs when another xdist worker built (and cached) the pack.
    ignore = {"build_seconds"}
    first = {k: v for k, v in monaco_pack.summary().items() if k not in ignore}
    second = {k: v for k, v in again.summary().items() if k not in ignore}
    assert second == first


@pytest.mark.parametrize("suffix", [".osm", ".osm.bz2"])
def test_osm_xml_formats_give_the_same_graph(monaco_dir, tmp_path, suffix):
    """The same extract as XML (and bz2 XML) builds the same drive graph as the PBF."""
    import osmium

    from twin.city.osm_read import read_osm
    from twin.city.streets import build_street_graph, simplify

    xml = tmp_path / f"monaco{suffix}"
    with osmium.SimpleWriter(str(xml)) as writer:
        for obj in osmium.FileProcessor(str(monaco_dir / "monaco-2021-11.osm.pbf")):
            writer.add(obj)
    pbf_graph = simplify(
        build_street_graph(read_osm(monaco_dir / "monaco-2021-11.osm.pbf"), "drive"), "drive"
    )
    xml_graph = simplify(build_street_graph(read_osm(xml), "drive"), "drive")
    assert set(xml_graph.edges()) == set(pbf_graph.edges())


def test_landcover_for_flood_roughness(monaco_pack):
    cover = monaco_pack.landcover
    assert set(cover["cover"]) <= {"parks", "forest", "water"}
    assert (cover["cover"] == "parks").sum() >= 10  # Monaco's gardens: Saint-Martin, Japanese...
    assert (cover.geometry.area > 0).all()
