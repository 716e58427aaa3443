"""Traffic outputs: strict JSON (no NaN), KPIs that are undefined say why, jump KPIs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from twin.atomic import write_json
from twin.traffic import TrafficModel, corridor_network, write_outputs


def _strict(text: str):
    """Parse JSON as strict parsers do: NaN and Infinity are errors."""

    def refuse(name: str):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_write_json_turns_non_finite_numbers_into_null_with_a_reason(tmp_path):
    """NaN and inf (numpy ones too) become null; a `nulls` entry says why for each."""
    path = write_json(
        tmp_path / "k.json",
        {"a": float("nan"), "b": np.float64(np.inf), "c": np.int64(3), "d": [1.0, np.nan]},
        reasons={"a": "nothing measured"},
    )
    data = _strict(path.read_text())
    assert data["a"] is None
    assert data["b"] is None
    assert data["c"] == 3
    assert data["d"] == [1.0, None]
    assert data["nulls"]["a"] == "nothing measured"
    assert data["nulls"]["b"] == "inf is not a finite number"
    assert set(data["nulls"]) == {"a", "b", "d[1]"}


def test_write_json_without_non_finite_numbers_adds_nothing(tmp_path):
    """Finite data is written as given, with no `nulls` entry."""
    data = _strict(write_json(tmp_path / "k.json", {"x": 1.5, "y": "text"}).read_text())
    assert data == {"x": 1.5, "y": "text"}


def test_kpis_json_of_a_run_with_no_completed_trip_has_no_nan(tmp_path):
    """A run stopped before any trip arrives writes null travel times, each with a reason
    (before: NaN, which strict JSON parsers reject)."""
    model = TrafficModel(corridor_network(5), dt=1.0)
    model.add_vehicles([0], [5], [0.0])
    model.advance_to(10.0)
    trips = model.trips()
    assert math.isnan(trips.kpis()["mean_travel_time_s"])
    write_outputs(tmp_path, trips, model.series, model.net.link_ids, model.net.node_ids)
    data = _strict((tmp_path / "kpis.json").read_text())
    assert data["mean_travel_time_s"] is None
    assert data["nulls"]["mean_travel_time_s"] == "no trip completed"
    assert data["nulls"]["completed_by_jump_share"] == "no trip completed"


def test_jump_kpis_count_completed_trips_that_jumped():
    """Behind a link that admits one vehicle per 200 s, heads stuck 60 s jump; the KPIs
    count the arrived trips that jumped and their share of the arrived trips."""
    cap = np.array([0.8, 0.8, 0.8, 0.005])
    model = TrafficModel(corridor_network(4, jam_density=0.1, capacity=cap), stuck_time=60.0)
    model.add_vehicles(np.zeros(50, int), np.full(50, 4), np.zeros(50))
    model.advance_to(300.0)
    trips = model.trips()
    k = trips.kpis()
    by_jump = int((trips.arrived & (trips.jumps > 0)).sum())
    assert k["completed_by_jump"] == by_jump > 0
    assert k["completed_by_jump_share"] == pytest.approx(by_jump / trips.arrived.sum())
    assert k["completed_by_jump"] < k["completed"]  # the first vehicles got through
