"""Threads under load: a run uses the cores it may use (``--threads`` / ``TWIN_THREADS``),
and each experiment worker limits its numba threads to its share of them."""

from __future__ import annotations

import pytest

from twin.errors import UserInputError
from twin.experiment.driver import check_study, run_study
from twin.experiment.executors import LocalExecutor
from twin.experiment.runners import RUNNERS, get_runner
from twin.experiment.store import Store
from twin.experiment.study import PlanEntry, Study, Variant
from twin.scenario.plan import Plan
from twin.scenario.schema import Scenario
from twin.threads import thread_count, usable_cores, worker_share


def test_thread_count_prefers_option_then_env_then_cores(monkeypatch):
    """``--threads`` wins, then ``TWIN_THREADS``, then the process's CPUs."""
    monkeypatch.delenv("TWIN_THREADS", raising=False)
    assert thread_count() == usable_cores()
    monkeypatch.setenv("TWIN_THREADS", "3")
    assert thread_count() == 3
    assert thread_count(1) == 1


@pytest.mark.parametrize("text", ["0", "-2", "many"])
def test_bad_thread_setting_is_a_user_error(monkeypatch, text):
    """A ``TWIN_THREADS`` that is no whole number >= 1 names the variable and the fix."""
    monkeypatch.setenv("TWIN_THREADS", text)
    with pytest.raises(UserInputError, match="TWIN_THREADS"):
        thread_count()


def test_worker_share_is_at_least_one():
    """Cores split among workers, never below one thread each."""
    assert worker_share(8, 2) == 4
    assert worker_share(2, 3) == 1


def test_workers_use_their_share_of_the_cores(tmp_path, monkeypatch, monaco_pack):
    """Two workers given two cores run numba on one thread each; before, each worker used
    every core. (On a one-core machine the count is 1 either way.)"""
    monkeypatch.setitem(RUNNERS, "threads", "experiment_helpers:ThreadsRunner")
    get_runner.cache_clear()
    scenario = Scenario.model_validate(
        {"version": 1, "name": "threads", "city": {"name": "monaco"},
         "time": {"duration": "1 h"}, "seed": 1, "incidents": {"background": {"medical": 0.5}}}
    )  # fmt: skip
    plan = Plan.model_validate(
        {"version": 1, "name": "one",
         "stations": [{"name": "C", "location": [7.4205, 43.7345], "units": {"ambulance": 1}}]}
    )  # fmt: skip
    study = Study("compare", "t.yaml", [Variant.of(scenario)], [PlanEntry.of(plan)],
                  runner="threads", primary="numba_threads")  # fmt: skip
    prepared = check_study(study, monaco_pack)
    executor = LocalExecutor(2, threads=2)
    assert executor.threads == 1
    with Store(tmp_path / "t.duckdb") as store:
        run_study(study, store, executor, prepared, replications=4)
        values = store.values(study.study_id, 1, 1)
    get_runner.cache_clear()
    assert values["numba_threads"].shape == (1, 4, 1)
    assert (values["numba_threads"] == 1).all()


def test_workers_see_the_cache_folder_set_after_the_fork_server_started(tmp_path, monkeypatch):
    """The fork server keeps the environment of its first start; a cache folder set later
    (a second study in the same process, a test's own cache) must still reach the workers.
    Before, they wrote the flood cache under the folder of the first start."""
    from twin.settings import cache_dir

    LocalExecutor(1, threads=1)  # the fork server runs from here on
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "later"))
    monkeypatch.delenv("TWIN_DATA_DIR", raising=False)
    executor = LocalExecutor(1, threads=1)
    executor.start("k", None)
    try:
        assert executor._pool.submit(cache_dir).result(timeout=120) == tmp_path / "later"
    finally:
        executor.close()
