"""Where walkers go: distance limits, evacuation routes, refused time steps and crowds too
large for memory, hazard exposure reported only when computed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.crowd import CrowdModel, CrowdParams
from twin.crowd.choice import OUT_OF_RANGE, check_memory
from twin.crowd.geometry import corridor, grid_city
from twin.crowd.model import ON_LINK, STUCK
from twin.errors import UserInputError


def _corridor_model(limit: float | None) -> CrowdModel:
    """A 600 m corridor, shelters 100 m (10 places) and 500 m (100 places) along it."""
    net = corridor(600.0, 2.0)
    model = CrowdModel(net, np.random.default_rng(0))
    model.add_destinations([10, 50], [10, 100], ["near", "far"], group="s", why="designated")
    if limit is not None:
        model.set_max_distance("s", limit)
    model.add_people(np.zeros(30, dtype=int), np.linspace(0, 10, 30), group="s")
    return model


def test_no_shelter_beyond_the_walking_distance_limit():
    """With a 300 m limit, 10 fill the near shelter and 20 are stuck for want of a shelter
    within reach (from where they stand when the near one is full, the far one is 400 m
    off); without a limit all 30 arrive."""
    model = _corridor_model(300.0)
    model.advance_to(600.0)
    k = model.kpis()
    assert [d["occupancy"] for d in k.destinations] == [10, 0]
    assert k.counts["stuck"] == 20
    assert np.all(model.reason[model.status == STUCK] == OUT_OF_RANGE)
    assert k.unfinished == {"no destination with room within the walking-distance limit": 20}
    free = _corridor_model(None)
    free.advance_to(2400.0)  # the slowest walk 0.3 m/s
    assert [d["occupancy"] for d in free.kpis().destinations] == [10, 20]


def _grid_route_model(route: bool, capacity: int = 100):
    """A 6 x 6 grid (30 m blocks); 40 people at node 0; shelter A at node 5 (150 m),
    shelter B at node 35 (300 m); the route passes node 30 (the far corner) to B."""
    net = grid_city(6, 30.0, 2.0)
    model = CrowdModel(net, np.random.default_rng(1))
    _, b = model.add_destinations([5, 35], [100, capacity], ["A", "B"], group="s")
    r = model.add_route([30], b, name="via the west side") if route else None
    model.add_people(np.zeros(40, dtype=int), np.linspace(0, 20, 40), group="s", route=r)
    return net, model


def test_an_evacuation_route_changes_where_people_go_and_passes_its_waypoints():
    """Without the route everyone goes to the nearer shelter A; with it, everyone walks
    through node 30 to shelter B."""
    net, plain = _grid_route_model(route=False)
    plain.advance_to(900.0)
    assert [d["occupancy"] for d in plain.kpis().destinations] == [40, 0]
    net, routed = _grid_route_model(route=True)
    passed = np.zeros(40, dtype=bool)
    while routed.t < 900.0:
        routed.step(1.0)
        on = routed.status == ON_LINK
        passed[on] |= net.tail[routed.link[on]] == 30
    k = routed.kpis()
    assert [d["occupancy"] for d in k.destinations] == [0, 40]
    assert passed.all()
    assert k.routes == [
        {"name": "via the west side", "destination": "B", "following": 40, "dropped": 0}
    ]


def test_a_full_route_destination_sends_the_rest_to_the_nearest():
    """B holds 15: 15 arrive by the route, the other 25 go on to A."""
    _, model = _grid_route_model(route=True, capacity=15)
    model.advance_to(1500.0)
    k = model.kpis()
    assert [d["occupancy"] for d in k.destinations] == [25, 15]
    assert k.counts["arrived"] == 40


@pytest.mark.parametrize(
    ("dt", "until"), [(0.0, 10.0), (-1.0, 10.0), (math.nan, 10.0), (1.0, math.inf)]
)
def test_bad_time_steps_are_refused(dt, until):
    """A zero, negative or NaN step would hang or do nothing; an infinite end never ends."""
    _, model = _grid_route_model(route=False)
    with pytest.raises(ValueError, match="finite"):
        model.advance_to(until, dt=dt)
    assert model.t == 0.0


def test_crowd_too_large_for_memory_is_refused_with_the_estimate():
    """1e8 walkers are refused before allocation, with the estimate and the limit in GiB."""
    with pytest.raises(UserInputError) as err:
        check_memory(1e8, 40_000, 20_000, 10, limit=8 * 2**30, field="hazards.0.people")
    text = str(err.value)
    assert "100,000,000 walkers need about 36.5 GiB" in text
    assert "limit 8.0 GiB" in text
    assert "hazards.0.people" in text
    check_memory(1e5, 40_000, 20_000, 10, limit=8 * 2**30)  # fits


def test_hazard_exposure_is_not_computed_without_flood():
    """Without set_flood the exposure is None with a note; with dry streets it is 0."""
    _, model = _grid_route_model(route=False)
    model.advance_to(60.0)
    k = model.kpis()
    assert k.person_minutes_in_hazard is None
    assert k.hazard_note == "not computed (flood not coupled)"
    assert k.as_dict()["person_minutes_in_hazard"] is None
    model.set_flood(np.zeros(model.net.n_links), np.zeros(model.net.n_links))
    model.advance_to(120.0)
    assert model.kpis().person_minutes_in_hazard == 0.0


def test_entering_and_leaving_are_counted_apart_from_the_states():
    """Released people (counted at release) are those whose departure time passed (from
    the inputs); arrivals (counted at arrival) equal occupancies and arrival times; the
    difference is who is stuck, on links (per-link counts) or waiting at nodes."""
    net = grid_city(6, 30.0, 1.5)
    rng = np.random.default_rng(3)
    model = CrowdModel(net, rng, CrowdParams())
    model.add_destinations([0, 35], [60, 400], group="s")
    depart = rng.uniform(0, 200, 300)
    model.add_people(rng.integers(0, 36, 300), depart, group="s")
    for _ in range(600):
        model.step(1.0)
        assert model.released == np.count_nonzero(depart < model.t)
        arrived = np.count_nonzero(np.isfinite(model.arrive))
        assert model.arrivals == model.dests.occupancy.sum() == arrived
        stuck = np.count_nonzero(model.status == STUCK)
        off_links = (model.link < 0) & np.isnan(model.arrive) & (depart < model.t)
        waiting = np.count_nonzero(off_links) - stuck
        assert model.released - model.arrivals - stuck == model.count.sum() + waiting
    assert model.arrivals >= 290  # the counts were checked while most people moved
