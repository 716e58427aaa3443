"""Resume: a study hit by a killed worker and then stopped half way by Ctrl-C ends, after
rerunning the same command, with exactly the runs and KPIs of an uninterrupted study, none
duplicated.

The command runs as a real ``twin compare`` subprocess with two local workers; the
reference is every run of the same study computed in this process with the same runner.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import psutil
import pytest

from twin.experiment.runners import code_version, get_runner
from twin.experiment.study import PlanEntry, Study, scenario_variants
from twin.scenario.loader import load_plan

TWIN = Path(sys.executable).parent / "twin"
REPLICATIONS = 16
SCENARIO = """\
version: 1
kind: scenario
name: resume_test
city: {name: monaco}
time: {duration: 7 d}  # runs long enough (~0.1 s) to interrupt half way
seed: 9
incidents:
  background: {medical: 0.5, traffic_accident: 0.1}
"""
PLAN = """\
version: 1
kind: plan
name: {name}
stations:
  - {{name: Condamine, location: [7.4205, 43.7345], units: {{ambulance: {n}, police: 1}}}}
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory, maps_folders, monaco_dir):
    path = tmp_path_factory.mktemp("resume")
    (path / "scenario.yaml").write_text(SCENARIO)
    (path / "a.yaml").write_text(PLAN.format(name="two", n=2))
    (path / "b.yaml").write_text(PLAN.format(name="three", n=3))
    return path


@pytest.fixture(scope="module")
def reference(folder, monaco_pack):
    """KPIs of every run, by (plan, replication), computed here without interruption."""
    plans = [PlanEntry.of(load_plan(folder / f), folder / f) for f in ("a.yaml", "b.yaml")]
    study = Study("compare", folder / "scenario.yaml",
                  scenario_variants(folder / "scenario.yaml", []), plans, base_seed=9)  # fmt: skip
    runner = get_runner("response")
    prepared = runner.prepare(monaco_pack)
    out = {}
    for task in study.tasks(range(REPLICATIONS), code_version("response")):
        kpis = runner.run(task.scenario, task.plan_model, task.seed, prepared, series=False).kpis
        out[(plans[task.plan].name, task.replication)] = kpis
    return out


def _command(folder: Path, study: Path) -> list[str]:
    return [str(TWIN), "compare", str(folder / "scenario.yaml"), "--plans",
            str(folder / "a.yaml"), str(folder / "b.yaml"), "-n", str(REPLICATIONS), "-j", "2",
            "--study", str(study), "--no-progress"]  # fmt: skip


def _env(maps_folders) -> dict[str, str]:
    return {**os.environ, "TWIN_MAPS": os.pathsep.join(str(f) for f in maps_folders),
            "COLUMNS": "160"}  # fmt: skip


def _wait_for_series(study: Path, count: int, proc: subprocess.Popen, timeout: float = 90):
    """Wait until ``count`` runs have written their series (or the command ends)."""
    series = study.with_name(study.stem + ".series")
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if series.is_dir() and len(list(series.glob("*.parquet"))) >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"no {count} runs within {timeout} s (exit {proc.poll()})")


def _stored(study: Path) -> tuple[dict, int, int]:
    with duckdb.connect(str(study), read_only=True) as con:
        rows = con.execute(
            """SELECT p.name, sr.replication, k.kpi, k.value FROM study_runs sr
               JOIN runs r USING (run_id) JOIN plans p ON p.plan_hash = r.plan_hash
               JOIN kpis k USING (run_id) WHERE r.status = 'finished'"""
        ).fetchall()
        n_runs = con.execute("SELECT count(*) FROM runs").fetchone()[0]
        n_finished = con.execute("SELECT count(*) FROM runs WHERE status = 'finished'").fetchone()[
            0
        ]
    out: dict = {}
    for plan, rep, kpi, value in rows:
        out.setdefault((plan, rep), {})[kpi] = np.nan if value is None else value
    return out, n_runs, n_finished


def _assert_equal(stored: dict, reference: dict) -> None:
    assert stored.keys() == reference.keys()
    for key, kpis in reference.items():
        for name, value in kpis.items():
            got = stored[key][name]
            assert got == value or (np.isnan(got) and np.isnan(value)), (key, name, got, value)


@pytest.mark.slow
def test_killed_worker_and_ctrl_c_then_rerun_equal_uninterrupted(folder, reference, maps_folders):
    """A worker killed mid-study: its runs are retried on a fresh pool and the study goes
    on (more runs finish). SIGINT later: exit 130 with a resume hint, only finished runs
    stored. The rerun reuses them, computes the rest, and the study equals the reference,
    every run once."""
    study = folder / "resume.duckdb"
    proc = subprocess.Popen(_command(folder, study), env=_env(maps_folders),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    _wait_for_series(study, 3, proc)
    workers = [w for c in psutil.Process(proc.pid).children() for w in c.children()]
    assert workers, "no worker processes found"
    workers[0].kill()
    _wait_for_series(study, 10, proc)  # raises if the study died with its worker
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run the same command again" in err
    assert "Traceback" not in err
    stored, n_runs, n_finished = _stored(study)
    assert 0 < n_finished < 2 * REPLICATIONS, "interrupt came too late to test resuming"
    assert n_runs == n_finished  # nothing partial, nothing failed
    done = subprocess.run(_command(folder, study), env=_env(maps_folders), capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"reused {n_finished} finished runs" in done.stderr
    stored, n_runs, n_finished = _stored(study)
    assert n_runs == n_finished == 2 * REPLICATIONS
    _assert_equal(stored, reference)
