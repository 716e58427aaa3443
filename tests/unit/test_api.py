"""The Python API (twin.load_city, load_scenario, run, compare, sweep) on the Monaco busy day.

The CLI's compare and sweep call these same functions (tests/cli/test_compare_cli.py covers
their printing); here they are driven from Python as a notebook or a web app would.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

import twin
from twin.errors import ScenarioError, UserInputError
from twin.experiment.store import Store

BUSY_DAY = Path(__file__).parents[2] / "scenarios" / "monaco_busy_day.yaml"


@pytest.fixture(scope="module")
def compared(tmp_path_factory, monaco_dir, maps_folders):
    """``twin.compare`` of the busy day's two plans, 2 replications (4 runs)."""
    folder = tmp_path_factory.mktemp("api")
    return twin.compare(
        BUSY_DAY, n=2, seed=1, study_file=folder / "c.duckdb", workers=1, maps=maps_folders
    )


def test_import_twin_loads_no_model_code():
    """``import twin`` stays light: the verbs and numpy are imported on first use."""
    code = (
        "import sys, twin; "
        "print(sorted(m for m in sys.modules if m.startswith(('numpy', 'twin.'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
    assert set(twin.__all__) >= {"load_city", "load_scenario", "run", "compare", "sweep"}


def test_compare_runs_and_summarises(compared):
    """Both plans run 2 replications; means come back by plan in seconds; files are there."""
    assert compared.progress.done == 4
    assert compared.progress.failed == 0
    means = compared.means()  # the scenario's primary KPI, response_time_p90
    assert set(means) == {"baseline", "two_stations"}
    assert all(60 < m < 3600 for m in means.values())  # a p90 response of 1 to 60 min
    assert compared.path.is_file()
    assert compared.html.is_file()
    assert compared.summary.variants[0].replications == 2


def test_compare_again_reuses_the_runs(compared, maps_folders):
    """The same call again finds the study in its file and computes nothing."""
    again = twin.compare(
        BUSY_DAY, n=2, seed=1, study_file=compared.path, workers=1, maps=maps_folders
    )
    assert (again.progress.reused, again.progress.done) == (4, 0)
    assert again.study_id == compared.study_id
    assert again.means() == compared.means()


def test_run_is_replication_zero_of_the_study(compared, maps_folders):
    """``twin.run`` with a replication's seed gives the KPIs the study stored for it."""
    scenario = twin.load_scenario(BUSY_DAY)
    city = twin.load_city(scenario, maps=maps_folders)
    seed = compared.study.seed(0, 0)
    out = twin.run(scenario, seed=seed, city=city)  # plan: the scenario's first (baseline)
    with Store(compared.path, read_only=True) as store:
        stored = store.values(compared.study_id, 1, 2)
    for name, value in out.kpis.items():
        expected = float(stored[name][0, 0, 0])  # variant 0, replication 0, plan 0
        assert value == expected or (math.isnan(value) and math.isnan(expected)), name


def test_sweep_crosses_variants(tmp_path, maps_folders, monaco_dir):
    """A sweep over two call rates gives two variants; twice the calls, more incidents."""
    result = twin.sweep(
        BUSY_DAY,
        params={"incidents.background.medical": [0.35, 1.4]},
        n=1,
        seed=1,
        study_file=tmp_path / "w.duckdb",
        workers=1,
        maps=maps_folders,
    )
    assert [v.label for v in result.summary.variants] == [
        "incidents.background.medical=0.35",
        "incidents.background.medical=1.4",
    ]
    low, high = (result.means("incidents", variant=v)["baseline"] for v in (0, 1))
    assert high > low


def test_sweep_needs_params():
    """A sweep over nothing is refused before anything is loaded."""
    with pytest.raises(UserInputError, match="nothing to sweep"):
        twin.sweep(BUSY_DAY, params={})


@pytest.mark.parametrize("seed", [-1, 1.5, True])
def test_run_refuses_a_bad_seed(seed):
    """A run seed is a whole number 0 or more."""
    with pytest.raises(UserInputError, match="whole number"):
        twin.run(BUSY_DAY, seed=seed)


def test_study_from_files_locates_an_unreported_objective(tmp_path):
    """The scenario's primary KPI that the model does not report names its file and line."""
    text = BUSY_DAY.read_text().replace("primary: response_time_p90", "primary: people_exposed")
    bad = tmp_path / "busy.yaml"
    bad.write_text(text)
    (tmp_path / "plans").mkdir()
    for plan in ("monaco_baseline.yaml", "monaco_two_stations.yaml"):
        (tmp_path / "plans" / plan).write_text((BUSY_DAY.parent / "plans" / plan).read_text())
    with pytest.raises(UserInputError) as info:
        twin.compare(bad, n=1, study_file=tmp_path / "x.duckdb")
    (problem,) = info.value.problems
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "primary: people_exposed" in t)
    assert (problem.file, problem.line, problem.field) == (bad, line, "objectives.primary")


def test_load_scenario_reports_problems(tmp_path):
    """An invalid scenario is one error naming the file and line."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nkind: scenario\nname: x\ncity: {name: monaco}\ntime: {}\n")
    with pytest.raises(ScenarioError) as info:
        twin.load_scenario(bad)
    assert info.value.problems[0].file == bad
