"""TrafficModel rules, one per test: free flow, closures, stranding, priority, speed factor."""

from __future__ import annotations

import numpy as np
import pytest

from twin.errors import UserInputError
from twin.traffic import TrafficModel, corridor_network, grid_network


def _link(net, a, b):
    return int(np.flatnonzero((net.link_from == a) & (net.link_to == b))[0])


def test_a_lone_vehicle_drives_at_free_speed():
    """One vehicle over 5 x 100 m at 20 m/s arrives after exactly 25 s."""
    model = TrafficModel(corridor_network(5), dt=1.0)
    model.add_vehicles([0], [5], [3.5])
    model.advance_to(60.0)
    trips = model.trips()
    assert trips.travel_time[0] == pytest.approx(25.0)
    assert trips.delay[0] == pytest.approx(0.0)
    assert trips.distance[0] == pytest.approx(500.0)


def test_vehicles_leave_no_faster_than_capacity():
    """100 vehicles released at once leave a 0.5 veh/s link 2 s apart."""
    model = TrafficModel(corridor_network(2, capacity=0.5), dt=1.0)
    model.add_vehicles(np.zeros(100, int), np.full(100, 2), np.zeros(100))
    model.advance_to(400.0)
    arrive = np.sort(model.trips().arrive)
    assert np.allclose(np.diff(arrive), 2.0)


def test_a_full_link_blocks_its_upstream_link():
    """Behind a link that admits one vehicle per 200 s, the links upstream fill to their
    storage and the rest of the vehicles wait at the origin."""
    cap = np.array([0.8, 0.8, 0.8, 0.005])
    net = corridor_network(4, jam_density=0.1, capacity=cap)  # 10 vehicles per link
    model = TrafficModel(net, dt=1.0, stuck_time=None)
    model.add_vehicles(np.zeros(50, int), np.full(50, 4), np.zeros(50))
    model.advance_to(150.0)
    assert model.vehicles_on_links()[:3].tolist() == [10, 10, 10]
    assert model.check_conservation()["waiting"] == 50 - 30 - model.arrived


def test_a_stuck_vehicle_jumps_past_full_links_and_is_counted():
    """With a stuck time of 60 s, heads behind a full link jump to their destination (the
    only link with room is past it); no link ever holds more than its storage."""
    cap = np.array([0.8, 0.8, 0.8, 0.005])
    net = corridor_network(4, jam_density=0.1, capacity=cap)
    model = TrafficModel(net, dt=1.0, stuck_time=60.0)
    model.add_vehicles(np.zeros(50, int), np.full(50, 4), np.zeros(50))
    for _ in range(300):
        model.step()
        assert np.all(model.vehicles_on_links() <= 10)
    trips = model.trips()
    assert model.jumps == trips.jumps.sum() > 0
    assert trips.arrived.sum() > 2  # without jumps only 2 get through in 300 s
    assert np.allclose(trips.distance[trips.arrived], 400.0)


def test_closing_a_link_reroutes_the_vehicles_that_would_use_it():
    """Vehicles routed through a link closed mid-run take another way and all arrive."""
    net = grid_network(3)
    a, b = net.node_index("n0_0"), net.node_index("n2_0")
    shut = _link(net, net.node_index("n1_0"), b)
    model = TrafficModel(net, dt=1.0)
    model.add_vehicles(np.full(40, a), np.full(40, b), np.linspace(0, 200, 40))
    model.advance_to(60.0)
    entered_before = model.n_in[shut]
    model.close_links([shut])
    model.advance_to(1500.0)
    trips = model.trips()
    assert trips.arrived.all()
    assert model.n_in[shut] == entered_before  # nobody entered after the closure
    assert (trips.distance > 2000.0).sum() >= 30  # the detour is 4 km long


def test_vehicles_without_a_route_are_stranded_not_dropped():
    """Closing the only way strands the vehicles behind it, with a reason, and counts them."""
    model = TrafficModel(corridor_network(4), dt=1.0)
    model.add_vehicles(np.zeros(10, int), np.full(10, 4), np.arange(10.0) * 10)
    model.advance_to(30.0)
    model.close_links([3])
    model.advance_to(600.0)
    trips = model.trips()
    counts = model.check_conservation()
    assert counts["arrived"] + counts["stranded"] == 10
    assert counts["stranded"] > 0
    assert set(trips.reason[trips.status == 3]) == {2}


def test_unreachable_destination_is_stranded_at_departure():
    """A trip against a one-way corridor has no route: stranded with reason 1."""
    model = TrafficModel(corridor_network(3), dt=1.0)
    model.add_vehicles([3], [0], [0.0])
    model.advance_to(10.0)
    trips = model.trips()
    assert trips.status[0] == 3
    assert trips.reason[0] == 1


def _priority_delay(share: float) -> float:
    cap = np.array([0.8, 0.8, 0.2, 0.8])
    net = corridor_network(4, length=1000.0, capacity=cap)  # a queue of ~100 on link 1
    model = TrafficModel(net, dt=1.0, priority_share=share)
    model.add_vehicles(np.zeros(150, int), np.full(150, 4), np.arange(150) / 0.8)
    model.advance_to(100.0)
    ambulance = model.add_vehicles([0], [4], [100.0], priority=True)[0]
    car = model.add_vehicles([0], [4], [100.0])[0]
    model.advance_to(2000.0)
    delay = model.trips().delay
    return float(delay[ambulance]), float(delay[car])


def test_priority_vehicles_pass_a_share_of_the_queue():
    """Behind a queue of ~100 cars, an ambulance that waits behind 0 % of it is delayed a few
    seconds, one at 50 % about half as long as a car, one at 100 % as long as a car."""
    amb, car = _priority_delay(0.0)
    assert car > 300.0
    assert amb < 5.0
    amb, car = _priority_delay(0.5)
    assert amb == pytest.approx(0.5 * car, rel=0.2)  # measured 130 s vs 310 s
    amb, car = _priority_delay(1.0)
    assert car - 6.0 <= amb <= car  # the car leaves one bottleneck headway (5 s) later


def test_speed_factor_slows_new_entries():
    """Halving a link's speed factor doubles its free-flow time for vehicles entering it."""
    model = TrafficModel(corridor_network(2), dt=1.0)
    model.speed_factor[1] = 0.5
    model.add_vehicles([0], [2], [0.0])
    model.advance_to(100.0)
    assert model.trips().travel_time[0] == pytest.approx(5.0 + 10.0)


def test_zero_speed_factor_closes_a_link():
    """A factor of 0 (e.g. deep water) closes the link."""
    model = TrafficModel(corridor_network(2), dt=1.0)
    model.speed_factor[0] = 0.0
    model.step()
    assert model.closed[0]


def test_link_state_reads_queue_density_and_speed():
    """A standing queue shows up in queue length, density and a lower speed."""
    cap = np.array([0.8, 0.1])
    model = TrafficModel(corridor_network(2, capacity=cap), dt=1.0)
    model.add_vehicles(np.zeros(15, int), np.full(15, 2), np.zeros(15))
    model.advance_to(30.0)
    assert model.queue_length()[0] > 5
    assert model.density()[0] == pytest.approx(model.vehicles_on_links()[0] / 100.0)
    assert model.speed()[0] < 20.0
    assert model.speed()[1] == pytest.approx(20.0)


def test_departure_before_the_model_time_is_refused():
    """Injecting a vehicle in the past is a user error naming the trip."""
    model = TrafficModel(corridor_network(2), dt=1.0)
    model.advance_to(50.0)
    with pytest.raises(UserInputError, match=r"trip 0 departs at 10\.0 s"):
        model.add_vehicles([0], [2], [10.0])


def test_results_are_deterministic():
    """The same inputs give identical trip records."""
    net = grid_network(4)
    rng = np.random.default_rng(1)
    o, d = rng.integers(0, 16, 300), rng.integers(0, 16, 300)
    t = np.sort(rng.uniform(0, 600, 300))
    runs = []
    for _ in range(2):
        model = TrafficModel(net, dt=1.0, reroute_every=120.0)
        model.add_vehicles(o, d, t)
        model.advance_to(2000.0)
        runs.append(model.trips().arrive)
    assert np.array_equal(runs[0], runs[1], equal_nan=True)


def test_kpis_and_mfd_add_up():
    """KPIs count every vehicle; the MFD's flow integrates to the vehicle-km driven."""
    net = grid_network(4)
    model = TrafficModel(net, dt=1.0, record_every=60.0)
    rng = np.random.default_rng(2)
    o = rng.integers(0, 16, 200)
    d = (o + rng.integers(1, 16, 200)) % 16
    model.add_vehicles(o, d, np.sort(rng.uniform(0, 600, 200)))
    model.advance_to(3000.0)
    trips = model.trips()
    k = trips.kpis()
    assert k["completed"] + k["en_route"] + k["waiting"] + k["stranded"] == 200
    mfd = model.series.mfd()
    vkm = (mfd["flow"] * np.diff(np.r_[0.0, mfd["time"]]) / 3600).sum() * net.length.sum() / 1000
    assert vkm == pytest.approx(trips.distance.sum() / 1000.0, rel=1e-6)


def test_conservation_catches_a_vehicle_released_but_never_placed():
    """A vehicle counted out of its origin queue that is on no link and never arrived is
    caught, though its status still says waiting (the old per-status sum missed it)."""
    from twin.traffic import kernels as kern

    model = TrafficModel(corridor_network(3), dt=1.0)
    model.add_vehicles(np.zeros(5, int), np.full(5, 3), np.full(5, 100.0))
    model.advance_to(10.0)
    assert model.check_conservation()["waiting"] == 5
    head = model._orig_head[0]
    model._orig_head[0] = model._v.queue_next[head]  # what a buggy release would do
    model._counters[kern.C_DEPARTED] += 1
    with pytest.raises(RuntimeError, match="departures 1 != arrivals"):
        model.check_conservation()


@pytest.mark.parametrize("dt", [float("nan"), float("inf"), 0.0, -1.0])
def test_non_finite_or_non_positive_step_is_refused(dt):
    """dt must be a finite time > 0 s (nan used to pass `dt <= 0` and run nothing)."""
    with pytest.raises(UserInputError, match=r"dt must be a finite time > 0 s.*--set dt=1"):
        TrafficModel(corridor_network(2), dt=dt)


def test_priority_share_outside_zero_to_one_is_refused():
    """priority_share is a share."""
    with pytest.raises(UserInputError, match="priority_share must be a share"):
        TrafficModel(corridor_network(2), priority_share=1.5)


def test_too_many_vehicles_are_refused_before_allocating():
    """A billion vehicles are refused with the memory estimate and the limit, before any
    array is grown (it used to end in a MemoryError traceback)."""
    model = TrafficModel(corridor_network(2), max_memory_bytes=10**9)
    origins = np.broadcast_to(np.int64(0), (10**9,))  # no memory behind these
    with pytest.raises(
        UserInputError, match=r"1,000,000,000 vehicles would need about 1,000\.0 GB"
    ):
        model.add_vehicles(
            origins, np.broadcast_to(np.int64(2), (10**9,)), np.broadcast_to(0.0, (10**9,))
        )
    assert model.n_vehicles == 0
    assert model._v.size == 0


def test_memory_per_vehicle_stays_below_the_estimate():
    """The peak memory of adding, running and recording 200,000 vehicles, per vehicle,
    stays below budget.BYTES_PER_VEHICLE (so the refusal above is not too lenient)."""
    import tracemalloc

    from twin.traffic.budget import BYTES_PER_VEHICLE
    from twin.traffic.demand import random_trips

    net = grid_network(5)
    trips = random_trips(net, 200_000, 0.0, 600.0, np.random.default_rng(0))
    tracemalloc.start()
    model = TrafficModel(net, dt=1.0, record_every=600.0)
    model.add_vehicles(trips.origin, trips.destination, trips.depart)
    model.advance_to(60.0)
    model.trips().kpis()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak / 200_000 < BYTES_PER_VEHICLE
