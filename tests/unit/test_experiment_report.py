"""The study report with more than two plans: Holm-adjusted p-values in the table, the
method and the score's formula stated, bootstraps reproducible from the study's seed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from twin.experiment.report import VERDICT_HEADER, summarize, verdict_rows, write_html
from twin.experiment.store import RunResult, Store
from twin.experiment.study import PlanEntry, Study, Variant
from twin.metrics.stats import compare_to_baseline
from twin.scenario.plan import Plan
from twin.scenario.schema import Scenario

REPS = 12
EFFECT = {"base": 0.0, "same": 0.0, "better": -120.0, "also_same": 0.0}  # s


def _plan(name: str) -> PlanEntry:
    return PlanEntry.of(
        Plan.model_validate(
            {"version": 1, "name": name,
             "stations": [{"name": "a", "location": [7.42, 43.73], "units": {"ambulance": 1}}]}
        )
    )  # fmt: skip


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, str, np.ndarray]:
    """A 4-plan study whose KPIs are written straight into a real store (no model runs)."""
    scenario = Scenario.model_validate(
        {"version": 1, "name": "s", "city": {"name": "monaco"}, "time": {"duration": 3600},
         "objectives": {"weights": {"response_time_p90": 1, "unserved_incidents": "10 min"}}}
    )  # fmt: skip
    study = Study(
        "compare", Path("s.yaml"), [Variant.of(scenario)], [_plan(n) for n in EFFECT],
        base_seed=7, weights=scenario.objectives.score_weights(),
    )  # fmt: skip
    rng = np.random.default_rng(11)
    shared = rng.lognormal(np.log(600.0), 0.4, REPS)
    p90 = shared[:, None] + np.array(list(EFFECT.values())) + rng.normal(0, 30, (REPS, 4))
    unserved = rng.integers(0, 3, (REPS, 4)).astype(float)
    tasks = study.tasks(range(REPS), "v")
    path = tmp_path / "r.duckdb"
    with Store(path) as store:
        store.save_study(study, tasks)
        items = [
            (RunResult(t.run_id, "finished",
                       {"response_time_p90": p90[t.replication, t.plan],
                        "unserved_incidents": unserved[t.replication, t.plan]},
                       {}, None, 1, "here", datetime(2026, 1, 1), 0.1, 0.05, "v"),
             "response", study.variants[0].hash, study.plans[t.plan].hash, t.seed)
            for t in tasks
        ]  # fmt: skip
        store.record_many(items)
    return path, study.study_id, p90


def test_table_shows_holm_adjusted_p_values(stored):
    """The verdict table has a `p (Holm)` column holding the Holm-adjusted paired-t
    p-values, intervals at the Bonferroni level 1 - 0.05/3; only `better` is called."""
    path, study_id, p90 = stored
    with Store(path, read_only=True) as store:
        summary = summarize(store, study_id)
    rows = verdict_rows(summary)
    column = VERDICT_HEADER.index("p (Holm)")
    expected = compare_to_baseline(p90, 0, 0.95, resamples=100)
    for row, c in zip(rows[1:], expected[1:], strict=True):
        assert row[column] == ("<0.001" if c.p_adjusted < 0.001 else f"{c.p_adjusted:.3f}")
    assert rows[0][column] == "-"
    primary = summary.variants[0].kpis["response_time_p90"]
    assert primary[2].diff_t.level == pytest.approx(1 - 0.05 / 3)
    verdicts = summary.variants[0].verdict
    assert verdicts[1].startswith("better cuts response p90")
    assert "Holm-adjusted p" in verdicts[1]
    assert verdicts[0].startswith("same: no clear difference")


def test_report_states_method_and_score_formula_and_is_reproducible(stored, tmp_path):
    """The HTML says Holm and Bonferroni and gives the score's formula in units; summaries
    of the same study are identical (bootstraps draw from the study's seed)."""
    path, study_id, _ = stored
    with Store(path, read_only=True) as store:
        first, second = summarize(store, study_id), summarize(store, study_id)
    assert first.variants == second.variants
    assert first.formula == "score (min) = response p90 (min) + 10 min per unserved call"
    text = write_html(first, tmp_path / "s.html").read_text(encoding="utf-8")
    assert "Holm-adjusted over the 3 comparisons" in text
    assert "Bonferroni level 98.33 %" in text
    assert "score (min) = response p90 (min) + 10 min per unserved call" in text
    assert "<th>p (Holm)</th>" in text
    assert "score" in first.variants[0].kpis  # the weighted score is summarised too
