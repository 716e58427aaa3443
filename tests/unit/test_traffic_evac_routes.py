"""Evacuating drivers follow a plan's evacuation routes: waypoints in order, then the route's
shelter; evacuation buildings named ``way/123`` or ``123``; the plan reaches ``twin traffic``.

The scenario tests run on a synthetic city (a 5 x 5 grid of streets about 100 m apart with
houses in its western column, written as an .osm file by tests/helpers/grid_city.py), so
no sample map is needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.grid_city import DLAT, DLON, LAT0, LON0, lonlat, west_blocks, write_grid_osm
from twin.errors import UserInputError
from twin.traffic import TrafficModel, grid_network
from twin.traffic.routing import chain_paths

N = 5


def _node(i: int, j: int) -> int:
    """Node index of grid_network(N) at column i, row j."""
    return i * N + j


# ---------------------------------------------------------------- the model and the router
def test_chain_paths_pass_the_waypoints_in_order_and_mark_them():
    """From (0,0) through (2,4) to (4,0) on a 100 m grid: 6 links to the waypoint, 12 in
    all; a pair without waypoints gets its plain shortest path (4 links)."""
    net = grid_network(N, spacing=100.0)
    starts = np.array([_node(0, 0), _node(0, 0)])
    via = np.array([[_node(2, 4)], [-1]])
    targets = np.array([_node(4, 0), _node(4, 0)])
    ptr, links, found, which, marks = chain_paths(
        net.n_nodes, net.link_from, net.link_to, net.length / 20.0, starts, via, targets
    )
    lengths = np.diff(ptr)[which]
    assert found[which].all()
    assert lengths.tolist() == [12, 4]
    assert marks[0, 0] == 6
    path = links[ptr[which[0]] : ptr[which[0] + 1]]
    assert net.link_to[path[5]] == _node(2, 4)  # the 6th link reaches the waypoint


def test_a_route_sends_a_car_through_its_waypoint():
    """Two cars from (0,0) to (4,0), one on a route via (2,4): it drives 1,200 m (600 m
    up to the waypoint, 600 m down), the other the direct 400 m."""
    net = grid_network(N, spacing=100.0)
    model = TrafficModel(net, dt=1.0)
    r = model.add_route([_node(2, 4)], name="north")
    model.add_vehicles([_node(0, 0)] * 2, [_node(4, 0)] * 2, [0.0, 0.0], route=[r, -1])
    model.advance_to(900.0)
    trips = model.trips()
    assert np.isfinite(trips.arrive).all()
    assert trips.distance.tolist() == pytest.approx([1200.0, 400.0])
    assert model.routes.following().tolist() == [1]


def test_rerouting_keeps_the_waypoints_already_passed():
    """Rerouted every 10 s, a car on a route via (2,4) then (4,4) passes each once: 600 +
    200 + 400 m, both waypoints counted as passed."""
    net = grid_network(N, spacing=100.0)
    model = TrafficModel(net, dt=1.0, reroute_every=10.0)
    r = model.add_route([_node(2, 4), _node(4, 4)], name="north")
    model.add_vehicles([_node(0, 0)], [_node(4, 0)], [0.0], route=r)
    model.advance_to(900.0)
    assert model.trips().distance[0] == pytest.approx(1200.0)
    assert model.routes.stage[0] == 2  # counted at a reroute
    assert model.waypoints_passed().tolist() == [2]


def test_an_unreachable_waypoint_is_left_and_the_car_drives_on():
    """Every link into the waypoint (2,4) closed: the car leaves the route (counted as
    dropped) and drives straight to its destination (400 m) instead of being stranded."""
    net = grid_network(N, spacing=100.0)
    model = TrafficModel(net, dt=1.0)
    model.close_links(np.flatnonzero(net.link_to == _node(2, 4)))
    r = model.add_route([_node(2, 4)], name="north")
    model.add_vehicles([_node(0, 0)], [_node(4, 0)], [0.0], route=r)
    model.advance_to(900.0)
    trips = model.trips()
    assert np.isfinite(trips.arrive[0])
    assert trips.distance[0] == pytest.approx(400.0)
    assert model.routes.dropped.tolist() == [1]
    assert model.check_conservation()["arrived"] == 1


# ---------------------------------------------------------------- a synthetic city
# west column of houses ordered out; shelters at the two eastern corners
SCENARIO = """\
version: 1
name: routes
city: {osm: t.osm, flat: true}
time: {duration: 1 h}
demand:
  evacuation:
    zone: [ZONE]
    order_time: 0 min
    car_share: 1.0
    compliance: 1.0
    curve: {kind: uniform, mean: 2 min}
"""
ZONE = ", ".join(lonlat(i, j) for i, j in ((-0.5, -0.5), (0.6, -0.5), (0.6, 4.5), (-0.5, 4.5)))


def _plan(routes: str) -> str:
    return (
        "version: 1\nkind: plan\nname: p\n"
        f"stations:\n  - {{name: s, location: {lonlat(2, 2)}, units: {{ambulance: 1}}}}\n"
        "shelters:\n"
        f"  - {{name: north east, location: {lonlat(4, 4)}, capacity: 500}}\n"
        f"  - {{name: south east, location: {lonlat(4, 0)}, capacity: 500}}\n"
        f"evacuation_routes:\n{routes}"
    )


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """The synthetic city's folder (t.osm, s.yaml) and its pack."""
    from twin.city import load_city

    folder = tmp_path_factory.mktemp("routes")
    pack = load_city(
        write_grid_osm(folder / "t.osm", N, west_blocks(N)), flat=True, use_cache=False
    )
    (folder / "s.yaml").write_text(SCENARIO.replace("ZONE", ZONE), encoding="utf-8")
    return folder, pack


def _run(city, routes: str | None, name: str = "p.yaml"):
    """The traffic run of the scenario with a plan holding ``routes`` (None: no plan)."""
    from twin.coupling.traffic_setup import traffic_from_scenario
    from twin.scenario.loader import load_plan, load_scenario

    folder, pack = city
    plan = plan_path = None
    if routes is not None:
        plan_path = folder / name
        plan_path.write_text(_plan(routes), encoding="utf-8")
        plan = load_plan(plan_path)
    sc = load_scenario(folder / "s.yaml")
    return traffic_from_scenario(sc, pack, path=folder / "s.yaml", plan=plan, plan_path=plan_path)


def _junction(run, city, i: int, j: int) -> int:
    """Index of the drive node nearest the grid junction (i, j)."""
    from pyproj import Transformer

    net = run.model.net
    to_m = Transformer.from_crs("EPSG:4326", city[1].crs, always_xy=True)
    x, y = to_m.transform(LON0 + DLON * i, LAT0 + DLAT * j)
    return int(np.argmin(np.hypot(net.x - x, net.y - y)))


def test_without_a_route_drivers_leave_the_zone_by_the_nearest_way(city):
    """No plan, or a plan whose only route is for walkers: the same trips, each to the
    nearest junction outside the zone (column 1), none on a route."""
    plain = _run(city, None)
    walk = _run(
        city,
        f"  - {{name: w, mode: walk, waypoints: [{lonlat(2, 4)}, {lonlat(3, 4)}], "
        "shelter: north east}\n",
        "walk.yaml",
    )
    a, b = plain.model.trips(), walk.model.trips()
    assert len(a.depart) > 20
    np.testing.assert_array_equal(a.destination, b.destination)
    np.testing.assert_array_equal(a.depart, b.depart)
    assert walk.model.routes.size == 0
    column_1 = {_junction(plain, city, 1, j) for j in range(N)}
    assert set(a.destination.tolist()) <= column_1


def test_a_car_route_sends_every_driver_through_its_waypoint_to_its_shelter(city):
    """A zone-less car route via the junctions (2, 4) and (3, 4) to the north-east shelter: every
    evacuating car now ends at that shelter's junction, has passed both waypoints, and drives
    farther than without the route."""
    plain = _run(city, None)
    routed = _run(
        city,
        f"  - {{name: n, mode: car, waypoints: [{lonlat(2, 4)}, {lonlat(3, 4)}], "
        "shelter: north east}\n",
    )
    for run in (plain, routed):
        run.run()
    a, b = plain.model.trips(), routed.model.trips()
    shelter = _junction(routed, city, 4, 4)
    assert (b.destination == shelter).all()
    assert np.isfinite(b.arrive).all()
    n = len(b.depart)
    assert routed.model.waypoints_passed().tolist() == [2] * n
    assert routed.model.routes.following().tolist() == [n]
    assert b.distance.mean() > a.distance.mean() + 300.0  # at least 3 more blocks each


def test_zones_and_nearest_first_waypoints_split_drivers_as_for_walkers(city):
    """A route whose zone holds the two southern houses takes their drivers (to the
    south-east shelter, no shelter named: the one nearest its last waypoint (3, 1)); the
    others
    take the zone-less route whose first waypoint is nearest their start."""
    south = ", ".join(lonlat(i, j) for i, j in ((-0.5, -0.5), (0.6, -0.5), (0.6, 1.5), (-0.5, 1.5)))
    routes = (
        f"  - {{name: far, mode: both, waypoints: [{lonlat(3, 4)}, {lonlat(4, 4)}], "
        "shelter: north east}\n"
        f"  - {{name: south, mode: car, waypoints: [{lonlat(3, 0)}, {lonlat(3, 1)}], "
        f"zone: [{south}]}}\n"
        f"  - {{name: near, mode: car, waypoints: [{lonlat(1, 3)}, {lonlat(1, 4)}], "
        "shelter: north east}\n"
    )
    run = _run(city, routes, "zones.yaml")
    model = run.model
    n = model.n_vehicles
    route = model.routes.route[:n]
    trips = model.trips()
    y0 = _junction(run, city, 0, 2)
    start_y = model.net.y[trips.origin]
    south_side = start_y < model.net.y[y0] - 50.0
    assert model.routes.names == ["far", "south", "near"]
    assert south_side.any()
    assert (~south_side).any()
    assert (route[south_side] == 1).all()
    assert (route[~south_side] == 2).all()  # (1, 3) is nearer these houses than (3, 4)
    assert (trips.destination[south_side] == _junction(run, city, 4, 0)).all()
    assert (trips.destination[~south_side] == _junction(run, city, 4, 4)).all()


def test_a_waypoint_far_from_the_roads_names_the_plan_line(city):
    """A waypoint 1 km north of the grid: refused with the plan file, line and field."""
    with pytest.raises(UserInputError) as err:
        _run(
            city,
            f"  - {{name: n, mode: car, waypoints: [{lonlat(2, 15)}, {lonlat(2, 4)}], "
            "shelter: north east}\n",
            "far.yaml",
        )
    problem = err.value.problems[0]
    assert problem.field == "evacuation_routes.0.waypoints.0"
    assert Path(problem.file).name == "far.yaml"
    assert problem.line == 10
    assert "from the nearest junction of the roads (at most 250 m)" in problem.message


# ---------------------------------------------------------------- evacuation building ids
def test_listed_buildings_may_be_written_with_or_without_their_type(city):
    """``way/2003`` and ``2003`` name the same building: the same trips; an unknown
    ``way/1`` is refused in the form the user wrote it."""
    from twin.scenario.demand import Evacuation
    from twin.traffic import RoadNetwork
    from twin.traffic.demand import evacuation_trips

    _, pack = city
    pack = pack.largest_component()
    net = RoadNetwork.from_graph(pack.drive)

    def trips(ids):
        evac = Evacuation(buildings=ids, order_time=0.0, car_share=1.0)
        return evacuation_trips(evac, pack.buildings, net, pack.crs, np.random.default_rng(0))

    bare, typed = trips(["2003"]), trips(["way/2003"])
    assert len(bare) > 0
    np.testing.assert_array_equal(bare.origin_link, typed.origin_link)
    np.testing.assert_array_equal(bare.depart, typed.depart)
    with pytest.raises(UserInputError, match=r"unknown building\(s\) \['way/1'\]"):
        trips(["way/2003", "way/1"])


# ---------------------------------------------------------------- the command
def test_twin_traffic_plan_option_writes_per_plan_and_reports_the_route(city, tmp_path):
    """``twin traffic --plan`` runs the plan's routes: its outputs go to a folder named
    after the plan inside --out, and the route's cars are reported."""
    import json

    from typer.testing import CliRunner

    from twin.cli import _register, app

    _register()
    folder, _ = city
    plan = folder / "cli.yaml"
    plan.write_text(
        _plan(
            f"  - {{name: up north, mode: car, waypoints: [{lonlat(2, 4)}, {lonlat(3, 4)}], "
            "shelter: north east}\n"
        ).replace("name: p\n", "name: depot [temporary]\n"),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    args = ["traffic", str(folder / "s.yaml"), "--plan", str(plan), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--no-progress"])
    assert result.exit_code == 0, result.output
    kpis = json.loads((out / "depot_temporary" / "kpis.json").read_text())
    text = " ".join(result.output.split())
    assert f"route up north: cars following (left it) │ {kpis['vehicles']} (0)" in text
    assert "plan depot [temporary]" in text
