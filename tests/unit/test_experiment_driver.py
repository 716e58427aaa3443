"""Running a study: finished runs reused, a failed run retried once then recorded, the
precision rule adding replications; on the response model with local worker processes."""

from __future__ import annotations

import numpy as np
import pytest

from twin.experiment.driver import check_study, run_study
from twin.experiment.executors import LocalExecutor
from twin.experiment.runners import RUNNERS, get_runner
from twin.experiment.store import Store
from twin.experiment.study import PlanEntry, Study, Variant
from twin.metrics.stats import SequentialRule, paired_t
from twin.scenario.plan import Plan
from twin.scenario.schema import Scenario

SCENARIO = {
    "version": 1,
    "name": "driver",
    "city": {"name": "monaco"},
    "time": {"duration": "4 h"},
    "seed": 3,
    "incidents": {"background": {"medical": 0.5, "traffic_accident": 0.1}},
}


def _plan(name: str, ambulances: int) -> PlanEntry:
    return PlanEntry.of(
        Plan.model_validate(
            {
                "version": 1,
                "name": name,
                "stations": [{"name": "Condamine", "location": [7.4205, 43.7345],
                              "units": {"ambulance": ambulances, "police": 1}}],
            }
        )
    )  # fmt: skip


def _study(runner: str = "response", plans=None) -> Study:
    scenario = Scenario.model_validate(SCENARIO)
    plans = plans or [_plan("two", 2), _plan("three", 3)]
    return Study("compare", "driver.yaml", [Variant.of(scenario)], plans, runner=runner,
                 base_seed=3)  # fmt: skip


def test_failed_run_is_retried_once_then_recorded(tmp_path, monkeypatch, monaco_pack):
    """A run failing once succeeds on its retry; a run failing twice is stored as failed
    with its error; the others finish; a rerun reuses the finished ones only."""
    monkeypatch.setitem(RUNNERS, "flaky", "experiment_helpers:FlakyRunner")
    study = _study("flaky", [_plan("one", 1)])
    monkeypatch.setenv("FLAKY_ONCE", str(study.seed(1, 0)))
    monkeypatch.setenv("FLAKY_ALWAYS", str(study.seed(2, 0)))
    monkeypatch.setenv("FLAKY_DIR", str(tmp_path))
    prepared = check_study(study, monaco_pack)
    with Store(tmp_path / "s.duckdb") as store:
        first = run_study(study, store, LocalExecutor(1), prepared, replications=4)
        runs = store.run_table(study.study_id).set_index("replication")
        again = run_study(study, store, LocalExecutor(1), prepared, replications=4)
    assert (first.done, first.failed, first.reused) == (3, 1, 0)
    assert list(runs["status"]) == ["finished", "finished", "failed", "finished"]
    assert list(runs["attempts"]) == [1, 2, 2, 1]
    assert "RuntimeError: planned failure" in runs.loc[2, "error"]
    assert np.isfinite(runs.loc[1, "response_time_p90"])
    assert (again.reused, again.done, again.failed) == (3, 0, 1)
    assert "planned failure" in first.errors[0]


def test_precision_rule_adds_replications(tmp_path, monaco_pack):
    """With a 4-min precision on the p90 difference the study grows past its first batch
    until the paired-t half-width is met (about 15-25 replications here, below the cap)."""
    study = _study()
    prepared = check_study(study, monaco_pack)
    rule = SequentialRule(precision=240.0, start=4, max_replications=60)
    with Store(tmp_path / "p.duckdb") as store:
        progress = run_study(study, store, LocalExecutor(2), prepared, rule=rule)
        x = store.values(study.study_id, 1, 2)["response_time_p90"][0]
    assert 4 < progress.replications < 60
    assert x.shape[0] == progress.replications
    assert paired_t(x[:, 0], x[:, 1]).half_width <= 240.0


def test_plan_for_another_city_is_refused(monaco_pack):
    """Stations outside the map (a Helsinki plan on Monaco) are refused before any run."""
    from twin.errors import ScenarioError

    helsinki = PlanEntry.of(
        Plan.model_validate(
            {"version": 1, "name": "helsinki",
             "stations": [{"name": "Kallio", "location": [24.95, 60.18],
                           "units": {"ambulance": 1}}]}
        )
    )  # fmt: skip
    with pytest.raises(ScenarioError, match="another city"):
        check_study(_study(plans=[_plan("one", 1), helsinki]), monaco_pack)


def test_only_registered_runners_can_be_named(monkeypatch):
    """An import path is no runner name: ``os:getcwd`` is refused (nothing imported or
    called) with the registered names listed; a name registered in-process is allowed."""
    from twin.errors import UserInputError

    with pytest.raises(UserInputError, match="unknown model 'os:getcwd'") as info:
        get_runner("os:getcwd")
    assert "use one of: coupled, response" in str(info.value)
    monkeypatch.setitem(RUNNERS, "flaky", "experiment_helpers:FlakyRunner")
    get_runner.cache_clear()
    assert get_runner("flaky").name == "flaky"
    get_runner.cache_clear()
