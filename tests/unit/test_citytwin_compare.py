"""Plan comparison on the coupled twin: twin.compare with the registered ``coupled`` runner
(Monaco flash flood, 30 m, 15 min, 2 replications of 2 plans, one flood reused), and
`twin compare` failing (exit 1) when every run failed."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from twin.experiment.runners import CoupledRunner

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "monaco_flash_flood.yaml"

pytestmark = pytest.mark.usefixtures("monaco_env")


class BrokenRunner(CoupledRunner):
    """The coupled runner whose every replication raises (registered by a test)."""

    name = "broken"

    def run(self, scenario, plan, seed, prepared, *, series=True):
        raise RuntimeError("planned failure of every run")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "cache"))


def _short(folder: Path) -> Path:
    """The flash flood, 15 min on a 30 m grid, with its two plans beside it."""
    text = SCENARIO.read_text()
    for old, new in [
        ("duration: 4 h", "duration: 15 min"),
        ("resolution: 10 m", "resolution: 30 m"),
        ("start: 40 min", "start: 5 min"),  # events inside the short window
        ("order_time: 45 min", "order_time: 5 min"),
        ("{at: 55 min,", "{at: 8 min,"),
        ("{at: 1h10m,", "{at: 10 min,"),
        ("      end: 1 h", "      end: 10 min"),  # trips depart before the end
    ]:
        assert old in text, old
        text = text.replace(old, new)
    (folder / "plans").mkdir(exist_ok=True)
    for name in ("monaco_baseline.yaml", "monaco_two_stations.yaml"):
        shutil.copy(SCENARIO.parent / "plans" / name, folder / "plans" / name)
    path = folder / "flash_short.yaml"
    path.write_text(text)
    return path


def test_coupled_comparison_through_twin_compare(tmp_path):
    """Two plans, two replications each on the coupled twin: all four runs finish, every
    KPI of the coupled runner is stored per plan, and the flood is computed once (one
    record in the cache, replayed by the other three runs)."""
    import twin

    result = twin.compare(
        _short(tmp_path), n=2, model="coupled", workers=1,
        study_file=tmp_path / "study.duckdb",
    )  # fmt: skip
    p = result.progress
    assert (p.done, p.failed) == (4, 0), p.errors
    assert list(result.summary.plans) == ["baseline", "two_stations"]
    floods = list((tmp_path / "cache" / "coupled_flood").glob("*.npz"))
    assert len(floods) == 1
    from twin.experiment.store import Store

    with Store(tmp_path / "study.duckdb") as store:
        runs = store.run_table(result.study_id)
    assert len(runs) == 4
    assert set(runs["status"]) == {"finished"}
    assert np.isfinite(runs["person_minutes_in_hazard"]).all()
    assert np.isfinite(runs["vehicle_hours_lost"]).all()
    assert np.isfinite(runs["people_exposed"]).all()
    # the scenario weighs p90, people_exposed and unserved calls: all reported, so scored
    assert result.study.weights.keys() == {"response_time_p90", "people_exposed",
                                           "unserved_incidents"}  # fmt: skip
    assert "score" in result.summary.variants[0].kpis


def test_twin_compare_exits_nonzero_when_every_run_failed(tmp_path, monkeypatch):
    """Every replication failing used to exit 0 after printing the failures; now exit 1
    with one line saying so."""
    from typer.testing import CliRunner

    from twin.cli import _register, app
    from twin.experiment.runners import RUNNERS, get_runner

    monkeypatch.setitem(RUNNERS, "broken", f"{__name__}:BrokenRunner")
    get_runner.cache_clear()
    _register()
    result = CliRunner().invoke(
        app,
        ["compare", str(_short(tmp_path)), "--model", "broken", "-n", "1", "--workers", "1",
         "--study", str(tmp_path / "s.duckdb"), "--no-report"],
    )  # fmt: skip
    get_runner.cache_clear()
    assert result.exit_code == 1, result.output
    assert "every run failed (2 of 2)" in result.output
