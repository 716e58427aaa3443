"""Traffic inputs: CSV networks and demand, snapping, and the errors bad input raises."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin.errors import UserInputError
from twin.traffic import (
    RoadNetwork,
    flow_demand_csv,
    grid_network,
    od_matrix_trips,
    random_trips,
    trips_csv,
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def net():
    return grid_network(3, spacing=100.0)


def test_csv_network_has_uxsim_capacity_and_wave_speed(tmp_path):
    """1 lane, 20 m/s, 0.2 veh/m with a 1 s reaction time: w = 5 m/s, q = 0.8 veh/s."""
    _write(tmp_path / "nodes.csv", "name,x_m,y_m\na,0,0\nb,500,0\n")
    _write(
        tmp_path / "links.csv",
        "name,from,to,length_m,free_flow_speed_mps,jam_density_vpm_per_lane,lanes\n"
        "ab,a,b,500,20,0.2,2\n",
    )
    net = RoadNetwork.from_csv(tmp_path)
    assert net.wave_speed[0] == pytest.approx(5.0)
    assert net.capacity[0] == pytest.approx(1.6)
    assert net.storage[0] == 200


def test_csv_network_names_an_unknown_node(tmp_path):
    """A link to a node missing from nodes.csv is an error naming the file and line."""
    _write(tmp_path / "nodes.csv", "name,x_m,y_m\na,0,0\n")
    _write(
        tmp_path / "links.csv",
        "name,from,to,length_m,free_flow_speed_mps,jam_density_vpm_per_lane,lanes\n"
        "ab,a,zz,500,20,0.2,1\n",
    )
    with pytest.raises(UserInputError, match=r"links.csv:2: to: link node 'zz'"):
        RoadNetwork.from_csv(tmp_path)


def test_grid11_demand_has_60984_vehicles(grid11_dir):
    """The grid11 flow table gives 484 OD pairs x 126 vehicles, 1/0.035 s apart."""
    net = RoadNetwork.from_csv(grid11_dir)
    trips = flow_demand_csv(grid11_dir / "demand.csv", net)
    assert (net.n_nodes, net.n_links, len(trips)) == (121, 440, 60984)
    first = trips.depart[:126]
    assert np.allclose(np.diff(first), 1 / 0.035)


def test_trip_list_by_node_id(tmp_path, net):
    """Rows with node ids become trips between those nodes."""
    path = _write(tmp_path / "t.csv", "departure,origin,destination\n5,n0_0,n2_2\n")
    trips = trips_csv(path, net)
    assert trips.origin.tolist() == [net.node_index("n0_0")]
    assert trips.destination.tolist() == [net.node_index("n2_2")]
    assert trips.depart.tolist() == [5.0]


def test_trip_list_unknown_node_names_the_row(tmp_path, net):
    """An origin that is not a node of the drivable graph is an error naming the line."""
    path = _write(tmp_path / "t.csv", "departure,origin,destination\n5,n0_0,n2_2\n6,nope,n0_0\n")
    with pytest.raises(UserInputError, match=r"t.csv:3: origin: node 'nope'"):
        trips_csv(path, net)


def test_trip_list_snaps_points_within_the_limit(tmp_path, net):
    """Points in metres snap to the nearest road: (3, 4) to the x = 0 street 4 m from its
    corner, (198, 201) to the street y = 200 (1 m away) two metres from its corner; one too
    far is an error naming its line, the point and the setting to change."""
    text = "departure,origin_x,origin_y,destination_x,destination_y\n0,3,4,198,201\n"
    trips = trips_csv(_write(tmp_path / "ok.csv", text), net, max_snap=10.0)
    a, b = int(trips.origin_link[0]), int(trips.destination_link[0])
    assert net.x[net.link_from[a]] == net.x[net.link_to[a]] == 0.0
    assert trips.origin_at[0] * 100.0 == pytest.approx(abs(4.0 - net.y[net.link_from[a]]))
    assert net.y[net.link_from[b]] == net.y[net.link_to[b]] == 200.0
    assert trips.destination_at[0] * 100.0 == pytest.approx(abs(198.0 - net.x[net.link_from[b]]))
    assert trips.origin[0] == net.link_from[a]
    assert trips.destination[0] == net.link_to[b]
    far = text + "0,3,4,900,900\n"
    with pytest.raises(
        UserInputError,
        match=r"far.csv:3: destination: destination \(900 m, 900 m\) is 990 m from the "
        r"nearest drivable road \(the limit is 10 m\).*--set max_snap=1000",
    ):
        trips_csv(_write(tmp_path / "far.csv", far), net, max_snap=10.0)


def test_trip_list_departure_outside_the_run(tmp_path, net):
    """A departure at or after the end of the run is an error naming the line."""
    path = _write(
        tmp_path / "t.csv", "departure,origin,destination\n10,n0_0,n1_1\n9000,n0_0,n1_1\n"
    )
    with pytest.raises(UserInputError, match=r"t.csv:3: departure: departure 9000.0 s is outside"):
        trips_csv(path, net, start=0.0, end=3600.0)


def test_trip_list_lonlat_needs_degrees_to_metres(tmp_path):
    """Lon/lat columns are projected with the network's CRS before snapping."""
    net = grid_network(2, spacing=100.0)
    net.x = net.x + 500000.0  # UTM zone 32 easting near 9 E
    net.y = net.y + 4840000.0
    path = _write(
        tmp_path / "t.csv",
        "departure,origin_lon,origin_lat,destination_lon,destination_lat\n0,9,43.7,9,43.7\n",
    )
    with pytest.raises(UserInputError, match=r"origin \[9.00000, 43.70000\] \(lon, lat\) is \d+ m"):
        trips_csv(path, net, crs="EPSG:32632", max_snap=50.0)


def test_od_matrix_unknown_zone_is_named():
    """An OD matrix row naming an unknown zone is an error listing the known ones."""
    zones = {"north": np.array([0, 1]), "south": np.array([7, 8])}
    rows = [(0.0, 600.0, "north", "south", 10), (0.0, 600.0, "north", "east", 5)]
    with pytest.raises(UserInputError, match=r"unknown zone 'east'.*north, south"):
        od_matrix_trips(zones, rows, np.random.default_rng(0))


def test_od_matrix_spreads_departures_over_the_slice():
    """Each row's vehicles depart evenly over its slice from nodes of its zones."""
    zones = {"north": np.array([0, 1]), "south": np.array([7, 8])}
    trips = od_matrix_trips(zones, [(600.0, 1200.0, "north", "south", 6)], np.random.default_rng(0))
    assert np.allclose(trips.depart, 600 + 50 + 100 * np.arange(6))
    assert set(trips.origin) <= {0, 1}
    assert set(trips.destination) <= {7, 8}


def test_random_trips_never_start_where_they_end(net):
    """Random trips have distinct ends and sorted departures in the window."""
    trips = random_trips(net, 500, 0.0, 3600.0, np.random.default_rng(3))
    assert np.all(trips.origin != trips.destination)
    assert np.all(np.diff(trips.depart) >= 0)
    assert trips.depart.max() < 3600.0


@pytest.mark.parametrize("kind", ["rayleigh", "exponential", "uniform"])
def test_departure_curves_have_the_stated_mean(kind):
    """Delays drawn from each departure curve average the curve's mean (1 %)."""
    from twin.scenario.demand import DepartureCurve

    delays = DepartureCurve(kind=kind, mean=600.0).delays(200_000, np.random.default_rng(0))
    assert delays.min() >= 0.0
    assert delays.mean() == pytest.approx(600.0, rel=0.01)


def test_evacuation_sends_cars_from_the_zone_to_outside_it(monaco_pack):
    """Buildings in the zone send occupants x compliance x car share / 1.5 cars (rounded
    at random), each to a node outside the zone, departing after the order."""
    import shapely
    from pyproj import Transformer

    from twin.scenario.demand import Evacuation
    from twin.traffic.demand import evacuation_trips

    pack = monaco_pack.largest_component()
    net = RoadNetwork.from_graph(pack.drive)
    zone = [[7.4145, 43.7268], [7.4170, 43.7268], [7.4170, 43.7285], [7.4145, 43.7285]]
    evac = Evacuation(zone=zone, order_time=600.0, compliance=0.8, car_share=0.5)
    trips = evacuation_trips(evac, pack.buildings, net, pack.crs, np.random.default_rng(0))
    to_m = Transformer.from_crs("EPSG:4326", pack.crs, always_xy=True)
    poly = shapely.Polygon([to_m.transform(*p) for p in zone])
    inside = shapely.contains_xy(
        poly, pack.buildings.representative_point().x, pack.buildings.representative_point().y
    )
    expected = pack.buildings["occupants"].to_numpy()[inside].sum() * 0.8 * 0.5 / 1.5
    assert len(trips) == pytest.approx(expected, rel=0.05, abs=5)
    assert len(trips) > 50
    assert not shapely.contains_xy(poly, net.x[trips.destination], net.y[trips.destination]).any()
    assert trips.depart.min() >= 600.0


def test_evacuation_from_a_building_far_from_junctions_but_near_a_road(monaco_pack):
    """Monaco's building 128840977 is 277 m from the nearest junction but 146 m from a road
    (measured): its evacuation starts on that road (it used to be refused as too far from
    the nearest node, limit 250 m). It is a multipolygon, which listed buildings may be
    (their zone's hull used to raise a shapely ValueError)."""
    from scipy.spatial import cKDTree

    from twin.scenario.demand import Evacuation
    from twin.traffic.demand import evacuation_trips, snap_to_links

    pack = monaco_pack.largest_component()
    net = RoadNetwork.from_graph(pack.drive)
    row = pack.buildings[pack.buildings["osm_id"].astype(str) == "128840977"]
    point = row.geometry.representative_point()
    x, y = point.x.to_numpy(), point.y.to_numpy()
    to_node = cKDTree(np.column_stack([net.x, net.y])).query(np.column_stack([x, y]))[0][0]
    to_road = snap_to_links(net, x, y).distance[0]
    assert to_node == pytest.approx(277.0, abs=1.0)
    assert to_road == pytest.approx(146.0, abs=1.0)
    evac = Evacuation(buildings=["128840977"], order_time=0.0, car_share=1.0)
    trips = evacuation_trips(evac, pack.buildings, net, pack.crs, np.random.default_rng(0))
    assert len(trips) > 0
    assert np.all(trips.origin_link == snap_to_links(net, x, y).link[0])
