"""CrowdModel rules on small networks: conservation, capacities, closures, flood, stuck."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.crowd import CrowdModel, CrowdParams
from twin.crowd.geometry import corridor, grid_city
from twin.crowd.kpis import clearance_times
from twin.crowd.model import ARRIVED, NO_ROUTE, ON_LINK, STUCK


def _grid_model(seed=0, n=6, people=300, params=None):
    net = grid_city(n, 30.0, 1.5)
    rng = np.random.default_rng(seed)
    model = CrowdModel(net, rng, params)
    model.add_destinations([0, n * n - 1], [people // 3, people], group="shelters")
    model.add_people(rng.integers(0, n * n, people), rng.uniform(0, 120, people), group="shelters")
    return net, model


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 1000), closed_share=st.floats(0, 0.4))
def test_nobody_is_lost_and_links_never_overfill(seed, closed_share):
    """Every step: people released (counted at release) are those whose departure time
    passed, arrivals (counted at arrival) match the shelters' occupancies, link counts
    match who is on them, and no link holds more than its storage; random closures only
    move people to `stuck`."""
    net, model = _grid_model(seed)
    depart = model.depart.copy()
    model.set_closed(np.random.default_rng(seed).random(net.n_links) < closed_share)
    for _ in range(200):
        model.step(1.0)
        assert model.released == np.count_nonzero(depart < model.t)
        assert model.arrivals == model.dests.occupancy.sum()
        assert model.arrivals == np.count_nonzero(np.isfinite(model.arrive))
        on = model.status == ON_LINK
        np.testing.assert_array_equal(
            np.bincount(model.link[on], minlength=net.n_links), model.count
        )
        assert np.all(model.count <= model.storage)
    assert np.all(model.dests.occupancy <= model.dests.capacity)


def test_full_shelter_overflows_to_the_next():
    """30 people, the near shelter holds 10: 10 there, 20 at the far one, overflow counted."""
    net = corridor(100.0, 2.0)
    model = CrowdModel(net, np.random.default_rng(0))
    model.add_destinations([5, 10], [10, 100], ["near", "far"], group="s")
    model.add_people(np.zeros(30, dtype=int), np.linspace(0, 10, 30), group="s")
    model.advance_to(400.0)
    k = model.kpis()
    assert [d["occupancy"] for d in k.destinations] == [10, 20]
    assert k.destinations[0]["overflow"] == 20
    assert k.counts["arrived"] == 30


def test_no_one_enters_a_link_after_it_closes_and_all_still_arrive():
    """Closing a link on the shortest route reroutes walkers around it."""
    net = grid_city(4, 40.0, 2.0)
    model = CrowdModel(net, np.random.default_rng(0))
    model.add_destinations([15], group="s")
    model.add_people(np.zeros(50, dtype=int), np.linspace(0, 60, 50), group="s")
    model.advance_to(20.0)
    first = model._next[0, 0]
    second = model._next[0, net.head[first]]
    closed = np.zeros(net.n_links, dtype=bool)
    closed[[first, second]] = True
    before = model.link == second
    model.set_closed(closed)
    while model.t < 600:
        model.step(1.0)
        entered = (model.link == second) & ~before
        assert not entered.any()
    assert model.counts()["arrived"] == 50


def test_unreachable_people_are_stuck_with_a_reason_and_retry_when_opened():
    """A closed only link leaves people stuck (no route); reopening lets them through."""
    net = corridor(40.0, 2.0)
    model = CrowdModel(net, np.random.default_rng(0))
    model.add_destinations([net.n_nodes - 1], group="s")
    closed = np.zeros(net.n_links, dtype=bool)
    closed[2] = True
    model.set_closed(closed)
    model.add_people(np.zeros(5, dtype=int), 0.0, group="s")
    model.advance_to(30.0)
    assert np.all(model.status == STUCK)
    assert np.all(model.reason == NO_ROUTE)
    assert model.kpis().stuck_reasons == {"no open route to any destination": 5}
    model.set_closed(np.zeros(net.n_links, dtype=bool))
    model.advance_to(200.0)
    assert np.all(model.status == ARRIVED)


def test_flood_closes_slows_and_counts_exposure():
    """HR >= 1.25 closes a link; shallower water slows walkers by the wading factor and
    counts person-minutes in hazard when HR >= 0.75."""
    params = CrowdParams(v0_sd=0.0)
    net = corridor(100.0, 5.0, link_length=100.0)
    times = {}
    for depth in (0.0, 0.5):
        model = CrowdModel(net, np.random.default_rng(0), params)
        model.add_destinations([1], group="s")
        model.set_flood(np.full(1, depth), np.full(1, 1.0))  # HR = 0.75 at 0.5 m
        model.add_people([0], 0.0, group="s")
        model.advance_to(400.0, dt=0.5)
        times[depth] = model.arrive[0]
        if depth:
            assert model.kpis().person_minutes_in_hazard == pytest.approx(times[depth] / 60, 0.02)
            model.set_flood(np.full(1, 1.0), np.full(1, 1.0))
            assert model.closed[0]
    assert times[0.0] == pytest.approx(100 / 1.34, rel=0.01)
    assert times[0.5] == pytest.approx(2 * times[0.0], rel=0.01)


def test_same_seed_same_kpis():
    """A run is reproducible from its generators."""
    runs = []
    for _ in range(2):
        _, model = _grid_model(seed=7)
        model.advance_to(300.0)
        runs.append(model.kpis().as_dict())
    assert json.dumps(runs[0], sort_keys=True) == json.dumps(runs[1], sort_keys=True)


def test_clearance_times_count_everyone():
    """Shares refer to all people, arrived or not: NaN until the share has arrived."""
    c = clearance_times(np.array([10.0, 20.0, np.nan, 40.0]), 4)
    assert c["t50"] == 20.0
    assert np.isnan(c["t90"])
    assert np.isnan(c["t100"])


def test_density_series_and_crush_links():
    """Densities are recorded every interval; a packed link is flagged as a crush risk."""
    net = corridor(20.0, 1.0, link_length=10.0)
    model = CrowdModel(net, np.random.default_rng(0), CrowdParams(record_interval=10.0))
    model.add_destinations([2], group="s")
    model.place_people(np.zeros(50, dtype=int), np.linspace(0, 9, 50), group="s")
    assert model.crush_links().tolist() == [0]  # 50 people on 10 m2
    model.advance_to(30.0)
    times, dens = model.density_series()
    np.testing.assert_allclose(times, [0.0, 10.0, 20.0])
    assert dens.shape == (3, net.n_links)
    assert dens[0, 0] == pytest.approx(5.0)
    assert model.kpis().max_density == pytest.approx(5.0)
