"""KPIs from the facts of a run, and the event log written to CSV and read back."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from twin.coupling.response_setup import plan_policy
from twin.response import (
    BackgroundDemand,
    IncidentProfile,
    LogEvent,
    MatrixTravel,
    ResponseModel,
    StationSpec,
    kpis_from_log,
    write_log,
)
from twin.response.kpis import summarize


def test_summarize_by_hand():
    """Four calls: responses 100, 300, 1000 s and one unserved; targets 480/900/1800 s."""
    calls = [(0, "medical", 1, 0.0), (1, "medical", 1, 10.0), (2, "fire", 2, 20.0)]
    calls.append((3, "fire", 3, 30.0))
    arrivals = {0: 100.0, 1: 310.0, 2: 1020.0}
    kpis = summarize(
        calls, arrivals, {3: "waiting at end"}, [50.0, 0.0], {"ambulance": [1.0, 0.5]}, 1, 2,
        100.0, (480.0, 900.0, 1800.0),
    )  # fmt: skip
    assert (kpis.incidents, kpis.served, kpis.unserved, kpis.late) == (4, 3, 1, 1)
    assert kpis.response_p50 == 300.0
    assert kpis.response_p90 == pytest.approx(np.percentile([100, 300, 1000], 90))
    assert kpis.within_target_by_priority == {1: 1.0, 2: 0.0, 3: 0.0}
    assert kpis.within_target_by_type == {"fire": 0.0, "medical": 1.0}
    assert kpis.utilisation == (0.5, 0.0)
    assert (kpis.coverage_mean, kpis.coverage_min) == ({"ambulance": 0.75}, {"ambulance": 0.5})
    assert (kpis.hospital_overflow, kpis.diversions) == (1, 2)


def test_log_file_replays_to_the_same_kpis(tmp_path):
    """The CSV log, read back, gives the KPIs of the run."""
    profile = IncidentProfile({"ambulance": 1}, (0.5, 0.3, 0.2), 900.0, 1.0, 0.0)
    travel = MatrixTravel(np.array([[0.0, 200.0], [200.0, 0.0]]))
    model = ResponseModel(
        travel,
        [StationSpec("s", 0, {"ambulance": 2})],
        policy=plan_policy("priority"),
        seed=2,
        background=BackgroundDemand({"medical": 1 / 600}, np.array([1.0, 2.0])),
        profiles={"medical": profile},
        coverage_interval=120.0,
    )
    kpis = model.run(86400.0)
    path = write_log(model.events, tmp_path / "events.csv")
    with path.open() as f:
        rows = [
            LogEvent(float(r["time"]), r["event"], int(r["unit"]), int(r["incident"]),
                     int(r["node"]), r["detail"], float(r["value"]))
            for r in csv.DictReader(f)
        ]  # fmt: skip
    assert rows == model.events
    assert kpis_from_log(rows, 2, 86400.0, model.targets) == kpis
    assert kpis.incidents > 100
