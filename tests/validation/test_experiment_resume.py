"""Resume: a study stopped half way (a killed worker, then Ctrl-C; SIGTERM; SIGKILL of the
``twin compare`` driver itself) ends, after rerunning the same command, with exactly the
runs and KPIs of an uninterrupted study, none duplicated.

The command runs as a real ``twin compare`` subprocess with two local workers; the
reference is every run of the same study computed in this process with the same runner.
Nothing races the clock: the driver's test hook (``TWIN_STUDY_HOLD``) pauses the study at
chosen counts of stored runs and says so in a file, and the test acts only then, so every
signal lands mid-study however fast or slow the machine is.
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


def _wait_for_hold(study: Path, proc: subprocess.Popen, timeout: float = 300) -> int:
    """Wait until the driver holds (its ``.hold`` file appears); return the runs stored.
    ``timeout`` only bounds a broken run; the test never depends on timing."""
    hold = study.with_suffix(".hold")
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if hold.is_file() and hold.read_text():
            return int(hold.read_text())
        time.sleep(0.02)
    _, err = proc.communicate() if proc.poll() is not None else ("", "")
    raise AssertionError(f"the study did not hold (exit {proc.poll()}): {err[-2000:]}")


def _default_sigint() -> None:
    """In the child: Ctrl-C as a terminal delivers it. A test run started in the background
    of a non-interactive shell inherits SIGINT ignored, and so would ``twin compare``."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(folder: Path, study: Path, maps_folders, hold: str) -> subprocess.Popen:
    env = {**_env(maps_folders), "TWIN_STUDY_HOLD": hold}
    return subprocess.Popen(_command(folder, study), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)  # fmt: skip


def _resume_equals_reference(folder, study, maps_folders, reference) -> None:
    """Rerun the same command (no hold): the finished runs are reused, the rest computed,
    and the study equals the uninterrupted reference, every run once."""
    _, _, before = _stored(study)
    done = subprocess.run(_command(folder, study), env=_env(maps_folders), capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"reused {before} finished runs" in done.stderr
    stored, n_runs, n_finished = _stored(study)
    assert n_runs == n_finished == 2 * REPLICATIONS
    _assert_equal(stored, reference)


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
    proc = _start(folder, study, maps_folders, "3,10")
    first = _wait_for_hold(study, proc)
    workers = [w for c in psutil.Process(proc.pid).children() for w in c.children()]
    assert workers, "no worker processes found"
    workers[0].kill()
    workers[0].wait(timeout=30)
    study.with_suffix(".hold").unlink()  # go on
    second = _wait_for_hold(study, proc)  # raises if the study died with its worker
    assert 3 <= first < second < 2 * REPLICATIONS
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)  # bounds a hang only (a worker still compiling)
    assert proc.returncode == 130, err
    assert "run the same command again" in err
    assert "Traceback" not in err
    _, n_runs, n_finished = _stored(study)
    assert n_finished == second  # what was stored when held; nothing after the signal
    assert n_runs == n_finished  # nothing partial, nothing failed
    _resume_equals_reference(folder, study, maps_folders, reference)


@pytest.mark.slow
def test_sigterm_stops_like_ctrl_c_then_rerun_equal_uninterrupted(folder, reference, maps_folders):
    """SIGTERM (a scheduler or ``kill`` stopping the job) is handled like Ctrl-C: finished
    runs stored, a resume hint, exit 143, no traceback; the rerun completes the study."""
    study = folder / "term.duckdb"
    proc = _start(folder, study, maps_folders, "6")
    held = _wait_for_hold(study, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)  # bounds a hang only (a worker still compiling)
    assert proc.returncode == 143, err
    assert "run the same command again" in err
    assert "Traceback" not in err
    _, n_runs, n_finished = _stored(study)
    assert n_runs == n_finished == held
    _resume_equals_reference(folder, study, maps_folders, reference)


@pytest.mark.slow
def test_sigkill_of_the_driver_then_rerun_equal_uninterrupted(folder, reference, maps_folders):
    """SIGKILL of ``twin compare`` itself (no handler runs): its workers go away with it,
    the database keeps the runs committed before the kill, and the rerun completes the
    study equal to the reference."""
    study = folder / "kill.duckdb"
    proc = _start(folder, study, maps_folders, "6")
    held = _wait_for_hold(study, proc)
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.kill()
    proc.communicate(timeout=300)  # bounds a hang only
    assert proc.returncode == -signal.SIGKILL
    _, alive = psutil.wait_procs(children, timeout=300)
    assert not alive, f"processes left behind by the killed driver: {alive}"
    _, n_runs, n_finished = _stored(study)
    assert n_runs == n_finished == held
    _resume_equals_reference(folder, study, maps_folders, reference)
