"""Every run command's outputs open in GIS tools: GeoPackage layers with geometry and the
pack's CRS (pyogrio/geopandas), link layers that join back to the city pack by OSM ids,
points that lie on the map, and run.json beside them (Monaco, short runs)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.runs import run_into

#: Monaco's projected CRS (UTM 32N), the pack's.
CRS = "EPSG:32632"

TRAFFIC = """\
version: 1
name: outputs_traffic
city: {name: monaco}
time: {start: 2024-10-17T14:00:00, duration: 10 min}
hazards:
  - kind: ground_collapse
    at: 2 min
    location: [7.4182, 43.7300]
    radius: 15 m
demand:
  od:
    - start: 0 min
      end: 5 min
      flows:
        - {origin: [7.4145, 43.7268], destination: [7.4246, 43.7384], vehicles: 40}
"""


def _inside(lon: np.ndarray, lat: np.ndarray, pack) -> bool:
    west, south, east, north = pack.extent_lonlat()
    return bool(((lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)).all())


@pytest.fixture(scope="module")
def traffic_out(tmp_path_factory, monaco_dir) -> Path:
    folder = tmp_path_factory.mktemp("traffic")
    scenario = folder / "s.yaml"
    scenario.write_text(TRAFFIC)
    out = folder / "out"
    result = run_into("traffic", scenario, out)
    assert result.exit_code == 0, result.output
    return out


def test_traffic_link_layer_joins_the_pack_by_osm_ids(traffic_out, monaco_pack):
    """link_results: one row per link and record time in the pack's CRS; each row's (u, v)
    OSM node ids and way id are those of its link in the pack's drive index, and its
    geometry is that link's drawing."""
    import geopandas as gpd
    import pyogrio

    assert pyogrio.list_layers(traffic_out / "traffic.gpkg")[:, 0].tolist() == [
        "link_results",
        "trips",
    ]
    layer = gpd.read_file(traffic_out / "traffic.gpkg", layer="link_results")
    assert layer.crs == CRS
    index = monaco_pack.links("drive")
    ids = index.node_ids
    position = {
        edge: i
        for i, edge in enumerate(
            zip(ids[index.tail].tolist(), ids[index.head].tolist(), index.key.tolist(), strict=True)
        )
    }
    series = np.load(traffic_out / "link_series.npz")
    n_links = series["link_id"].size
    assert len(layer) == series["time"].size * n_links
    # every link of the run (the largest strongly connected part) is an edge of the pack
    edges = zip(layer["u"].tolist(), layer["v"].tolist(), layer["key"].tolist(), strict=True)
    link = np.array([position[edge] for edge in edges])
    assert (layer["way_id"].to_numpy() == index.way_id[link]).all()
    first = layer["time_s"].to_numpy() == 0.0
    assert first.sum() == n_links
    drawn = gpd.GeoSeries(index.lines()[link[first]], crs=CRS)
    assert layer.geometry[first].reset_index(drop=True).geom_equals_exact(drawn, 1e-6).all()
    # the collapse at 2 min closes links; they are closed with speed index 0 afterwards
    closed = layer[layer["closed"]]
    assert len(closed) > 0
    assert (closed["speed_index"] == 0).all()
    assert closed["time_s"].min() >= 120.0
    assert ((layer["speed_index"] >= 0) & (layer["speed_index"] <= 1.0 + 1e-6)).all()
    # the time field is the scenario's clock (start 14:00)
    times = layer["time"].dt.tz_localize(None) if layer["time"].dt.tz else layer["time"]
    assert str(times.min()) == "2024-10-17 14:00:00"


def test_traffic_trips_have_coordinates_on_the_map(traffic_out, monaco_pack):
    """trips.csv gains origin/destination lon/lat on the map; the trips layer's lines run
    from the origin's node to the destination's node."""
    import geopandas as gpd
    import pandas as pd

    trips = pd.read_csv(traffic_out / "trips.csv")
    assert len(trips) == 40
    assert _inside(trips["origin_lon"].to_numpy(), trips["origin_lat"].to_numpy(), monaco_pack)
    assert _inside(
        trips["destination_lon"].to_numpy(), trips["destination_lat"].to_numpy(), monaco_pack
    )
    lines = gpd.read_file(traffic_out / "traffic.gpkg", layer="trips")
    assert lines.crs == CRS
    assert len(lines) == 40
    start = lines.geometry.to_crs("EPSG:4326").apply(lambda g: g.coords[0])
    assert np.allclose([p[0] for p in start], trips["origin_lon"], atol=1e-6)
    assert (lines["origin"].to_numpy() == trips["origin"].to_numpy()).all()


def test_traffic_series_as_parquet(traffic_out):
    """link_series.parquet holds the npz's series in long form (time x link)."""
    import pyarrow.parquet as pq

    table = pq.read_table(traffic_out / "link_series.parquet").to_pandas()
    series = np.load(traffic_out / "link_series.npz")
    assert len(table) == series["vehicles"].size
    assert (table["vehicles"].to_numpy() == series["vehicles"].ravel()).all()
    assert (table["closed"].to_numpy() == series["closed"].ravel()).all()
    assert json.loads((traffic_out / "run.json").read_text())["scenario"]["name"] == (
        "outputs_traffic"
    )


RESPOND = """\
version: 1
kind: scenario
name: outputs_respond
city: {name: monaco}
time: {duration: 2 h}
seed: 4
incidents:
  background: {medical: 1.0, traffic_accident: 0.2}
"""

PLAN = """\
version: 1
kind: plan
name: two
stations:
  - {name: Condamine, location: [7.4205, 43.7345], units: {ambulance: 2, police: 1}}
dispatch: {policy: nearest}
"""


def test_respond_events_lie_on_the_map(tmp_path, monaco_dir, monaco_pack):
    """events.csv gives each event with a node its lon, lat and OSM node id (a node of the
    pack's drive graph, at that place); events.gpkg holds them as points in the pack's CRS."""
    import geopandas as gpd
    import pandas as pd

    (tmp_path / "s.yaml").write_text(RESPOND)
    (tmp_path / "p.yaml").write_text(PLAN)
    out = tmp_path / "out"
    result = run_into("respond", tmp_path / "s.yaml", out, plan=tmp_path / "p.yaml")
    assert result.exit_code == 0, result.output
    events = pd.read_csv(out / "two" / "events.csv")
    assert list(events.columns[4:8]) == ["node", "lon", "lat", "osm_node"]
    placed = events[events["node"] >= 0]
    assert (placed["event"] == "call").sum() > 0
    assert placed["lon"].notna().all()
    assert _inside(placed["lon"].to_numpy(), placed["lat"].to_numpy(), monaco_pack)
    graph = monaco_pack.drive
    for osm, lon, lat in placed[["osm_node", "lon", "lat"]].head(20).itertuples(index=False):
        node = graph.nodes[int(osm)]
        x, y = gpd.points_from_xy([lon], [lat], crs="EPSG:4326").to_crs(CRS)[0].coords[0]
        assert abs(node["x"] - x) < 0.01  # m: 7 decimals of a degree are about 1 cm
        assert abs(node["y"] - y) < 0.01
    layer = gpd.read_file(out / "two" / "events.gpkg", layer="events")
    assert layer.crs == CRS
    assert len(layer) == len(placed)
    assert (layer["osm_node"].to_numpy() == placed["osm_node"].to_numpy()).all()


CROWD = """\
version: 1
name: outputs_crowd
city: {name: monaco}
time: {start: 2024-10-19T21:45:00, duration: 10 min}
hazards:
  - kind: crowd_event
    name: stadium
    venue: [[7.4145, 43.7268], [7.4170, 43.7268], [7.4170, 43.7285], [7.4145, 43.7285]]
    people: 500
    start: 0 min
    duration: 5 min
"""


def test_crowd_densities_and_shelters_as_layers(tmp_path, monaco_dir, monaco_pack):
    """crowd.gpkg: link_density rows equal link_density.parquet's (same links by OSM ids,
    same densities) with walk-link drawings of the pack; shelters are points on the map with
    shelters.csv's occupancy; run.json names the scenario and the pack."""
    import geopandas as gpd
    import pandas as pd

    from twin.manifest import pack_hash

    (tmp_path / "s.yaml").write_text(CROWD)
    out = tmp_path / "out"
    result = run_into("crowd", tmp_path / "s.yaml", out)
    assert result.exit_code == 0, result.output
    dens = gpd.read_file(out / "crowd.gpkg", layer="link_density")
    table = pd.read_parquet(out / "link_density.parquet")
    assert dens.crs == CRS
    assert len(dens) == len(table) > 0
    assert (dens["u"].to_numpy() == table["u"].to_numpy()).all()
    assert (dens["v"].to_numpy() == table["v"].to_numpy()).all()
    assert np.allclose(dens["density"], table["density"], rtol=1e-6)  # float32 in the parquet
    index = monaco_pack.links("walk")
    ids = index.node_ids
    position = {
        edge: i
        for i, edge in enumerate(
            zip(ids[index.tail].tolist(), ids[index.head].tolist(), index.key.tolist(), strict=True)
        )
    }
    edges = zip(dens["u"].tolist(), dens["v"].tolist(), dens["key"].tolist(), strict=True)
    link = np.array([position[edge] for edge in edges])
    assert (dens["way_id"].to_numpy() == index.way_id[link]).all()
    drawn = gpd.GeoSeries(index.lines()[link], crs=CRS)
    assert dens.geometry.geom_equals_exact(drawn, 1e-6).all()
    shelters = gpd.read_file(out / "crowd.gpkg", layer="shelters")
    listed = pd.read_csv(out / "shelters.csv")
    assert shelters.crs == CRS
    assert shelters["name"].tolist() == listed["name"].tolist()
    assert (shelters["occupancy"].to_numpy() == listed["occupancy"].to_numpy()).all()
    assert shelters["occupancy"].sum() > 0
    lonlat = shelters.geometry.to_crs("EPSG:4326")
    assert _inside(lonlat.x.to_numpy(), lonlat.y.to_numpy(), monaco_pack)
    record = json.loads((out / "run.json").read_text())
    assert record["scenario"]["name"] == "outputs_crowd"
    assert record["pack_hash"] == pack_hash(monaco_pack)
