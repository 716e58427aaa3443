"""Dask for real: a scheduler and two workers on 127.0.0.1 (separate processes started with
the ``dask`` command of this environment) run a small study, and the KPIs equal, run for
run, those of :func:`~twin.experiment.executors.execute` called here: the function local
worker processes run (tests/validation/test_experiment_resume.py checks the local pool
against the same in-process results)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from twin.experiment.driver import check_study, run_study, setup_key
from twin.experiment.executors import DaskExecutor, execute
from twin.experiment.runners import code_version
from twin.experiment.store import Store
from twin.experiment.study import PlanEntry, Study, Variant
from twin.scenario.plan import Plan
from twin.scenario.schema import Scenario

DASK = Path(sys.executable).parent / "dask"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """``dask scheduler`` and two ``dask worker --nthreads 1`` processes; torn down after."""
    folder = tmp_path_factory.mktemp("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    common = {"cwd": folder, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                          "--no-dashboard"], **common)
    ]  # fmt: skip
    try:
        for i in range(2):
            procs.append(
                subprocess.Popen([str(DASK), "worker", address, "--nthreads", "1",
                                  "--nworkers", "1", "--no-dashboard", "--name", f"w{i}",
                                  "--local-directory", str(folder)], **common)
            )  # fmt: skip
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _study() -> Study:
    scenario = Scenario.model_validate(
        {"version": 1, "name": "dask", "city": {"name": "monaco"}, "time": {"duration": "6 h"},
         "seed": 21, "incidents": {"background": {"medical": 0.6, "traffic_accident": 0.1}}}
    )  # fmt: skip
    plans = [
        PlanEntry.of(Plan.model_validate(
            {"version": 1, "name": name,
             "stations": [{"name": "Condamine", "location": [7.4205, 43.7345],
                           "units": {"ambulance": n, "police": 1}}]}))
        for name, n in (("two", 2), ("three", 3))
    ]  # fmt: skip
    return Study("compare", "dask.yaml", [Variant.of(scenario)], plans, base_seed=21)


@pytest.mark.slow
def test_dask_equals_local(cluster, tmp_path, monaco_pack):
    """Four replications of two plans through the Dask workers give the same KPIs as the
    local worker function, and both Dask workers took part."""
    study = _study()
    prepared = check_study(study, monaco_pack)
    deadline = time.monotonic() + 60
    executor = DaskExecutor(cluster, timeout=30)
    while executor.workers < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert executor.workers == 2
    with Store(tmp_path / "dask.duckdb") as store:
        run_study(study, store, executor, prepared, replications=4)
        remote = store.run_table(study.study_id).set_index("run_id")
    assert len(remote) == 8
    assert (remote["status"] == "finished").all()
    assert remote["worker"].nunique() == 2
    for task in study.tasks(range(4), code_version("response")):
        local = execute(task, setup_key(study), prepared)
        assert local.ok, local.error
        for name, value in local.kpis.items():
            assert remote.loc[task.run_id, name] == value, (task.replication, name)
