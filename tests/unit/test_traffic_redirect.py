"""TrafficModel.redirect: a vehicle on its way gets a new destination (an emergency unit
sent elsewhere), one rule per test."""

from __future__ import annotations

import numpy as np
import pytest

from twin.traffic import TrafficModel, grid_network


def test_a_vehicle_on_a_link_is_sent_back_to_its_origin():
    """On a 3 x 3 grid of 100 m links at 20 m/s, a vehicle bound from node 0 to node 2
    (0 -> 1 -> 2) and redirected at 7 s (on link 1 -> 2) to node 0 drives that link to its
    end (10 s) and back: 10 s + 10 s = 20 s, 400 m."""
    model = TrafficModel(grid_network(3, spacing=100.0), dt=1.0)
    (vid,) = model.add_vehicles([0], [2], [0.0])
    model.advance_to(7.0)
    assert model.redirect([vid], [0]).tolist() == [vid]
    model.advance_to(60.0)
    trips = model.trips()
    assert trips.destination[vid] == 0
    assert trips.arrive[vid] == pytest.approx(20.0)
    assert trips.distance[vid] == pytest.approx(400.0)
    model.check_conservation()


def test_a_waiting_vehicle_takes_its_new_destination():
    """A vehicle not yet departed (leaves at 100 s) redirected to node 2 drives 200 m."""
    model = TrafficModel(grid_network(3, spacing=100.0), dt=1.0)
    (vid,) = model.add_vehicles([0], [8], [100.0])
    model.redirect([vid], [2])
    model.advance_to(200.0)
    trips = model.trips()
    assert trips.arrive[vid] == pytest.approx(110.0)
    assert trips.distance[vid] == pytest.approx(200.0)


def test_arrived_vehicles_are_not_redirected():
    """An arrived vehicle keeps its trip; nothing is returned for it."""
    model = TrafficModel(grid_network(3, spacing=100.0), dt=1.0)
    (vid,) = model.add_vehicles([0], [1], [0.0])
    model.advance_to(60.0)
    assert model.redirect([vid], [8]).size == 0
    assert model.trips().destination[vid] == 1
    assert np.isfinite(model.trips().arrive[vid])
