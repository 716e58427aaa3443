"""The results store: a run is finished only with its KPIs, nothing half-written."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from twin.errors import UserInputError
from twin.experiment.store import RunResult, Store
from twin.experiment.study import PlanEntry, Study, Variant
from twin.scenario.plan import Plan
from twin.scenario.schema import Scenario


@pytest.fixture
def study() -> Study:
    scenario = Scenario.model_validate(
        {"version": 1, "name": "s", "city": {"name": "monaco"}, "time": {"duration": 3600}}
    )
    plan = Plan.model_validate(
        {"version": 1, "name": "p",
         "stations": [{"name": "a", "location": [7.42, 43.73], "units": {"ambulance": 1}}]}
    )  # fmt: skip
    return Study("compare", Path("s.yaml"), [Variant.of(scenario)], [PlanEntry.of(plan)])


def _result(run_id: str, kpis: dict, series: dict | None = None) -> RunResult:
    return RunResult(run_id, "finished", kpis, series or {}, None, 1, "here", datetime(2026, 1, 1),
                     0.1, 0.05, "v")  # fmt: skip


def _record(store: Store, study: Study, result: RunResult) -> None:
    store.record(result, runner="response", scenario_hash=study.variants[0].hash,
                 plan_hash=study.plans[0].hash, seed=1)  # fmt: skip


def test_record_and_read_back(tmp_path, study):
    """KPIs come back by variant, replication and plan; the series is a Parquet file."""
    tasks = study.tasks(range(2), "v")
    with Store(tmp_path / "r.duckdb") as store:
        store.save_study(study, tasks)
        series = {"time": np.arange(3.0), "busy_units": np.array([0.0, 1.0, 1.0])}
        _record(store, study, _result(tasks[1].run_id, {"response_time_p90": 300.0}, series))
        assert store.finished(t.run_id for t in tasks) == {tasks[1].run_id}
        values = store.values(study.study_id, 1, 1)["response_time_p90"]
        table = store.run_table(study.study_id)
    assert values.shape == (1, 2, 1)
    assert values[0, 1, 0] == 300.0
    assert np.isnan(values[0, 0, 0])
    assert list(table["status"]) == ["finished"]
    written = pq.read_table(tmp_path / table["series_file"][0]).to_pydict()
    assert written["busy_units"] == [0.0, 1.0, 1.0]


def test_failed_write_leaves_no_finished_run(tmp_path, study):
    """If storing the KPIs fails half way, the run is not recorded at all (rolled back)."""
    task = study.tasks(range(1), "v")[0]
    with Store(tmp_path / "r.duckdb") as store:
        store.save_study(study, [task])
        with pytest.raises((TypeError, ValueError)):
            _record(store, study, _result(task.run_id, {"a": 1.0, "b": "not a number"}))
        assert store.finished([task.run_id]) == set()
        assert store.con.execute("SELECT count(*) FROM kpis").fetchone()[0] == 0
        assert store.con.execute("SELECT count(*) FROM runs").fetchone()[0] == 0


def test_rerecording_replaces(tmp_path, study):
    """Recording a run again (a failed run retried later) keeps one row and the new KPIs."""
    task = study.tasks(range(1), "v")[0]
    with Store(tmp_path / "r.duckdb") as store:
        store.save_study(study, [task])
        _record(store, study, _result(task.run_id, {"x": 1.0}))
        _record(store, study, _result(task.run_id, {"x": 2.0}))
        assert store.con.execute("SELECT count(*), max(value) FROM kpis").fetchone() == (1, 2.0)
        assert store.con.execute("SELECT count(*) FROM runs").fetchone()[0] == 1


def test_missing_file_is_a_user_error(tmp_path):
    """Reading a results file that does not exist says so."""
    with pytest.raises(UserInputError, match="results file not found"):
        Store(tmp_path / "none.duckdb", read_only=True)


def test_series_left_half_written_are_removed_on_next_open(tmp_path):
    """A ``.part`` series file left by a process killed mid-write is deleted when the
    store is next opened for writing (the writer holds the lock); finished series and
    other files stay, and a read-only open deletes nothing."""
    path = tmp_path / "s.duckdb"
    Store(path).close()
    series = path.with_name("s.series")
    series.mkdir()
    stale = series / ".0123abcd.parquet.5f3e9a1b2c3d.part"
    stale.write_bytes(b"PAR1 half")
    kept = series / "0123abcd.parquet"
    kept.write_bytes(b"PAR1")
    with Store(path, read_only=True):
        assert stale.exists()
    with Store(path) as store:
        assert store.series_dir == series
    assert not stale.exists()
    assert kept.exists()


def test_not_a_database_names_the_cause(tmp_path):
    """A --study file that is not DuckDB is not reported as a lock held by another twin."""
    path = tmp_path / "notes.duckdb"
    path.write_text("my notes")
    with pytest.raises(UserInputError, match="not a results database") as info:
        Store(path)
    assert "close the other" not in str(info.value)
    assert path.read_text() == "my notes"
