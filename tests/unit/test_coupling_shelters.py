"""crowd <-> traffic in the coupled twin: evacuees split once per building into walkers and
drivers; drivers drive to shelters; walkers and cars fill the same places; a full shelter
sends the next arrivals on to the next one.

The coupled runs use a synthetic city (a 5 x 5 grid of streets about 100 m apart with five
apartment blocks along its western column, written as an .osm file by
tests/helpers/grid_city.py; flat, no water): the blocks are ordered out, half of the people
by car; a small shelter (30 places) at the north-east corner and a large one at the
south-east corner.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.grid_city import DLAT, DLON, LAT0, LON0, lonlat, west_blocks, write_grid_osm

N = 5
SMALL = 30  # places in the north-east shelter


ZONE = ", ".join(lonlat(i, j) for i, j in ((-0.5, -0.5), (0.6, -0.5), (0.6, 4.5), (-0.5, 4.5)))
SCENARIO = f"""\
version: 1
name: shelters
city: {{osm: t.osm, flat: true}}
time: {{duration: 1 h}}
demand:
  evacuation:
    zone: [{ZONE}]
    order_time: 0 min
    car_share: 0.5
    compliance: 0.8
    curve: {{kind: uniform, mean: 2 min}}
incidents:
  background: {{medical: 0.35}}
"""
PLAN = f"""\
version: 1
kind: plan
name: p
stations:
  - {{name: s, location: {lonlat(2, 2)}, units: {{ambulance: 1}}}}
shelters:
  - {{name: north east, location: {lonlat(4, 4)}, capacity: {SMALL}}}
  - {{name: south east, location: {lonlat(4, 0)}, capacity: 5000}}
"""


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """The synthetic city's folder (t.osm, s.yaml, p.yaml) with its own cache."""
    folder = tmp_path_factory.mktemp("shelters")
    write_grid_osm(folder / "t.osm", N, west_blocks(N))
    (folder / "s.yaml").write_text(SCENARIO, encoding="utf-8")
    (folder / "p.yaml").write_text(PLAN, encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.setenv("TWIN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield folder
    mp.undo()


def _twin(city):
    from twin.model import CityTwin

    return CityTwin.from_files(city / "s.yaml", city / "p.yaml", seed=3)


@pytest.fixture(scope="module")
def run(city):
    """The coupled run to its end (1 h)."""
    twin = _twin(city)
    twin.run()
    return twin


def _shelters(twin):
    d = twin.parts.crowd.model.dests
    return d, np.flatnonzero(d.group == d.group_names.index("shelters"))


# ---------------------------------------------------------------- places shared
def test_cars_take_places_in_arrival_order_and_the_rest_overflow():
    """A shelter of 5 places with 2 walkers in: cars bringing 2, 3 and 1 people get 2, 1
    and 0 places (3 left); the other shelter, with no limit, takes its car's 4."""
    from twin.crowd.destinations import DestinationTable

    d = DestinationTable()
    d.add([1, 2], [5, np.inf], group="shelters")
    d.occupancy[0] = 2
    taken = d.admit_by_car([0, 1, 0, 0], [2, 4, 3, 1])
    assert taken.tolist() == [2, 4, 1, 0]
    assert d.by_car.tolist() == [3, 4]
    assert d.overflow_by_car.tolist() == [3, 0]
    assert d.room().tolist() == [0.0, np.inf]


def test_a_walker_finds_the_places_cars_took_full():
    """One shelter of 3 places 100 m down a corridor, a second farther on; cars take 2
    places before anyone walks: of 3 walkers the first gets the last place and two go on
    to the second shelter (counted as overflow at the first)."""
    from twin.crowd.model import CrowdModel
    from twin.crowd.network import WalkNetwork

    net = WalkNetwork.from_arrays(
        [0, 1], [1, 2], [100.0, 100.0], [3.0, 3.0], [0.0, 100.0, 200.0], [0.0, 0.0, 0.0]
    )
    model = CrowdModel(net, np.random.default_rng(0))
    model.add_destinations([1, 2], [3, 100], group="shelters")
    model.dests.admit_by_car([0], [2])
    model.add_people([0, 0, 0], [0.0, 1.0, 2.0], group="shelters")
    model.advance_to(600.0)
    d = model.dests
    assert d.occupancy.tolist() == [1, 2]
    assert d.overflow.tolist() == [2, 0]
    assert d.occupancy[0] + d.by_car[0] == 3


def test_the_nearest_shelter_by_road_within_the_limit():
    """On a 100 m grid from (0,0): shelters at (0,3) (300 m) and (4,4) (800 m) -> the
    first; with it off the roads (-1) the second; with a 500 m limit and only the second,
    none (-1: the car keeps its way out of the zone)."""
    from twin.coupling.shelters import nearest_shelters
    from twin.traffic import grid_network

    net = grid_network(5, spacing=100.0)
    start, extra = np.array([0]), np.array([0.0])
    k, dist = nearest_shelters(net, start, extra, np.array([3, 24]))
    assert k.tolist() == [0]
    assert dist.tolist() == pytest.approx([300.0])
    k, dist = nearest_shelters(net, start, extra, np.array([-1, 24]))
    assert k.tolist() == [1]
    assert dist.tolist() == pytest.approx([800.0])
    k, _ = nearest_shelters(net, start, extra, np.array([-1, 24]), limit=500.0)
    assert k.tolist() == [-1]


# ---------------------------------------------------------------- the split, once
def test_evacuees_split_once_into_walkers_and_car_people(run):
    """Walkers in the crowd model plus the people in the evacuating cars of the traffic
    model (each counted in its own model) are the evacuees once: the ordered occupants
    times compliance, rounded once per building (within one person per building); every
    car carries 1 or more, 1.5 on average within rounding."""
    from twin.coupling.evacuees import ordered_buildings

    p = run.parts
    walkers = int(
        np.count_nonzero(p.crowd.model.group == _shelters(run)[0].group_names.index("shelters"))
    )
    cars = p.evacuee_vehicles
    people = run.exchange.cars.load[cars]
    inside, _ = ordered_buildings(p.pack, p.scenario.demand.evacuation)
    occupants = p.pack.buildings["occupants"].to_numpy(float)[inside]
    ordered = occupants.sum() * p.scenario.demand.evacuation.compliance
    total = walkers + int(people.sum())
    assert walkers > 100
    assert cars.size > 50
    assert abs(total - ordered) <= inside.sum()
    assert (people >= 1).all()
    assert people.mean() == pytest.approx(1.5, abs=0.1)  # 1.5: PERSONS_PER_CAR
    # the KPIs' evacuees are the same people: 95 % of them out of the zone in the run
    assert np.isfinite(run.kpis()["time_to_95_evacuated"])
    assert run.rows[-1]["people_out_of_zone"] <= total


def test_the_split_is_the_same_for_both_models_and_adds_up_per_building(city):
    """split_evacuees with one seed is one split: walkers + people by car = evacuees in
    every building, cars <= people by car, and a second call gives the same arrays."""
    from twin.coupling.city_setup import scenario_city
    from twin.coupling.evacuees import split_evacuees
    from twin.scenario.loader import load_scenario

    sc = load_scenario(city / "s.yaml")
    pack = scenario_city(sc)
    a = split_evacuees(pack, sc.demand.evacuation, 3)
    b = split_evacuees(pack, sc.demand.evacuation, 3)
    for name in ("evacuees", "walkers", "cars", "car_people"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(a.walkers + a.people_by_car, a.evacuees)
    per_building = np.bincount(
        np.repeat(np.arange(a.cars.size), a.cars), weights=a.car_people, minlength=a.cars.size
    )
    np.testing.assert_array_equal(per_building.astype(np.int64), a.people_by_car)
    assert (a.cars <= a.people_by_car).all()
    assert a.evacuees.sum() > 0


# ---------------------------------------------------------------- drivers to shelters
def test_drivers_drive_to_the_shelter_nearest_by_road(run):
    """Every evacuating car heads for a shelter's junction, the one nearest its start by
    road: the cars from the northern blocks to the north-east, the southern to the
    south-east."""
    from twin.coupling.shelters import road_distances, shelter_junctions
    from twin.coupling.twin_setup import shelter_places

    p = run.parts
    net = p.traffic.model.net
    junction = shelter_junctions(net, shelter_places(p.crowd.model))
    assert (junction >= 0).all()
    cars = p.evacuee_vehicles
    trips = p.traffic.model.trips()
    first = p.traffic.model._v.first_link[cars]
    start = net.link_to[first]  # every evacuating car starts inside a link
    dist = road_distances(net, junction)[:, start]
    nearest = junction[np.argmin(dist, axis=0)]
    assert (trips.destination[cars] == nearest).all()
    north = net.y[start] > np.median(net.y)
    assert (nearest[north] == junction[0]).all()
    assert (nearest[net.y[start] < np.percentile(net.y, 25)] == junction[1]).all()


def test_walkers_and_cars_fill_the_same_places_and_full_sends_cars_on(run):
    """The cars reach the small shelter first and take its 30 places: the walkers who
    reach it later find it full (counted as overflow, sent on; without the shared places
    they would have been let in); the cars' overflow drives on to the large shelter in new
    trips; every person by car is in a shelter, on the way to the next one or reported
    unsheltered; shelter overflow counts both modes."""
    d, sel = _shelters(run)
    small, large = sel
    cars = run.exchange.cars
    assert d.by_car[small] == SMALL
    assert d.occupancy[small] == 0
    assert d.overflow[small] > 0  # walkers turned away by places cars took
    assert d.overflow_by_car[small] > 0
    assert cars.continued > 0
    traffic = run.parts.traffic.model
    status = traffic._v.status[: traffic.n_vehicles]
    onward = np.flatnonzero(cars.load == 0)
    onward = onward[cars.people[onward] > 0]  # sent on and not counted in yet
    arrived_on = np.flatnonzero((cars.load == 0) & cars.done)
    assert (cars.target[arrived_on] == large).all()
    load = cars.load[run.parts.evacuee_vehicles]
    not_arrived = cars.people[run.parts.evacuee_vehicles][status[run.parts.evacuee_vehicles] != 2]
    accounted = d.by_car[sel].sum() + cars.people[onward].sum() + cars.unsheltered
    assert accounted + not_arrived.sum() == load.sum()
    k = run.kpis()
    assert k["shelter_overflow"] == d.overflow.sum() + d.overflow_by_car.sum()
    sheltered_walkers = np.count_nonzero(run.parts.crowd.model.status == 3)
    assert run.rows[-1]["people_sheltered"] == sheltered_walkers + d.by_car[sel].sum()
    assert run.rows[-1]["shelter_load"] == pytest.approx(
        (d.occupancy[sel].sum() + d.by_car[sel].sum()) / d.capacity[sel].sum()
    )


def test_drivers_on_a_plan_route_count_in_at_its_shelter(city):
    """A car route for the southern blocks' zone via (3, 1) and (3, 4) to the north-east
    shelter: their cars head there and are given that shelter (index 0), though the
    south-east one is nearer by road; the other cars keep the shelter nearest by road."""
    from pyproj import Transformer

    from twin.coupling.city_setup import scenario_city
    from twin.coupling.traffic_setup import traffic_from_scenario
    from twin.scenario.loader import load_plan, load_scenario

    south = ", ".join(lonlat(i, j) for i, j in ((-0.5, -0.5), (0.6, -0.5), (0.6, 1.5), (-0.5, 1.5)))
    (city / "route.yaml").write_text(
        PLAN + "evacuation_routes:\n"
        f"  - {{name: r, mode: car, waypoints: [{lonlat(3, 1)}, {lonlat(3, 4)}], "
        f"shelter: north east, zone: [{south}]}}\n",
        encoding="utf-8",
    )
    sc = load_scenario(city / "s.yaml")
    pack = scenario_city(sc)
    to = Transformer.from_crs("EPSG:4326", pack.crs, always_xy=True)
    places = np.array([to.transform(*xy) for xy in ((LON0 + 4 * DLON, LAT0 + 4 * DLAT),
                                                    (LON0 + 4 * DLON, LAT0))])  # fmt: skip
    run = traffic_from_scenario(sc, pack, plan=load_plan(city / "route.yaml"), shelters=places)
    routed = run.model.routes.route[run.evacuees] >= 0
    assert routed.any()
    assert (~routed).any()
    assert (run.shelter[routed] == 0).all()
    assert (run.shelter[~routed] >= 0).all()
    assert run.people.size == run.evacuees.size


def test_checkpoint_with_cars_sent_on_resumes_identically(city, run, tmp_path):
    """Checkpoint at 5 min, when full shelters have already sent cars on (new trips in
    traffic, people aboard them), restore into a fresh twin, run on: the same KPIs, vital
    signs, shelter counts by mode and the same people aboard every vehicle."""
    first = _twin(city)
    while first.now < 300.0:
        first.step()
    assert first.exchange.cars.continued > 0
    path = first.checkpoint(tmp_path / "ck.npz")
    resumed = _twin(city)
    resumed.restore(path)
    resumed.run()
    assert resumed.kpis() == pytest.approx(run.kpis(), nan_ok=True, rel=0, abs=0)
    assert resumed.vital_table() == run.vital_table()
    a, b = resumed.parts.crowd.model.dests, run.parts.crowd.model.dests
    for name in ("occupancy", "by_car", "overflow", "overflow_by_car"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(resumed.exchange.cars.people, run.exchange.cars.people)
    assert resumed.exchange.cars.continued == run.exchange.cars.continued


def test_a_smaller_drive_limit_sends_fewer_drivers_to_the_far_shelter(city):
    """The plan's max_shelter_drive: with none each of the 285 cars is given a shelter
    (its nearest junction 401-502 m by road after the link it starts in); with 550 m only
    172 are (the others leave for the zone's edge), with 450 m none (the rest of the start
    link adds to the 401 m); every car given one is within the limit. The coupled twin's
    full shelters send cars on within the same limit."""
    from pyproj import Transformer

    from twin.coupling.city_setup import scenario_city
    from twin.coupling.shelters import road_distances, shelter_junctions
    from twin.coupling.traffic_setup import traffic_from_scenario
    from twin.scenario.loader import load_plan, load_scenario

    sc = load_scenario(city / "s.yaml")
    pack = scenario_city(sc)
    to = Transformer.from_crs("EPSG:4326", pack.crs, always_xy=True)
    places = np.array([to.transform(*xy) for xy in ((LON0 + 4 * DLON, LAT0 + 4 * DLAT),
                                                    (LON0 + 4 * DLON, LAT0))])  # fmt: skip
    given = {}
    for limit in (None, "550 m", "450 m"):
        path = city / f"limit_{len(given)}.yaml"
        path.write_text(PLAN + ("" if limit is None else f"max_shelter_drive: {limit}\n"))
        plan = load_plan(path)
        run = traffic_from_scenario(sc, pack, plan=plan, shelters=places)
        net = run.model.net
        first = run.model._v.first_link[run.evacuees]
        junction = shelter_junctions(net, places)
        dist = road_distances(net, junction)[:, net.link_to[first]]
        sent = run.shelter >= 0
        drive = dist[run.shelter[sent], np.flatnonzero(sent)]
        assert (drive <= (plan.max_shelter_drive or np.inf)).all()
        given[limit] = int(sent.sum())
    assert given[None] == len(run.evacuees) == 285
    assert (given["550 m"], given["450 m"]) == (172, 0)
    from twin.model import CityTwin

    twin = CityTwin.from_files(city / "s.yaml", city / "limit_2.yaml", seed=3, until=60.0)
    assert twin.exchange.cars.limit == 450.0
