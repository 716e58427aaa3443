"""``twin demo`` on Monaco: the coupled flash-flood comparison of three plans at a small
size, its verdict and its HTML report (the Helsinki fallback is in test_maps_cli.py)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from twin.cli import _register, app

_register()


@pytest.mark.slow
def test_demo_compares_the_coupled_flash_flood_plans_and_writes_the_report(
    tmp_path, monaco_dir, monkeypatch
):
    """2 replications of baseline, early_warning and two_stations over the first 75 min on
    a 30 m grid: the size and the full-size command are printed, all 6 runs finish with one
    flood computed (the others replay it), one verdict line per plan against the baseline,
    the weighted score's formula with people exposed, and the last line is the path of
    the report, which exists and names every plan."""
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "cache"))
    study = tmp_path / "demo" / "compare.duckdb"
    args = ["-q", "demo", "--maps", str(monaco_dir.parent), "-n", "2", "--window", "75min",
            "--study", str(study)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    out = result.output
    assert result.exit_code == 0, out
    assert "Traceback" not in out
    assert "Plan comparison on the coupled twin: monaco_flash_flood.yaml" in out
    assert "Demo size: 30 m grid (the scenario: 10 m), the first 75 min of 240" in out
    assert "2 replications of 3 plans" in out
    assert "Full-size study: twin compare " in out
    assert "monaco_flash_flood.yaml --model coupled --plan " in out
    assert "failed" not in out
    words = " ".join(out.split())  # tables and verdicts wrap at the console's width
    for plan in ("early_warning", "two_stations"):  # e.g. "...: no clear difference in"
        assert re.search(rf"{plan}: [^()]*response p90[^()]* baseline \(", words), plan
    # the weighted score: the coupled twin reports every KPI the scenario weighs, so the
    # score is computed (before people_exposed was reported it was left out)
    formula = "score (min) = response p90 (min) + 1 min per person exposed + 10 min per "
    assert formula + "unserved call (lower is better)" in words
    floods = list((tmp_path / "cache" / "coupled_flood").glob("*.npz"))
    assert len(floods) == 1
    assert (tmp_path / "demo" / "monaco_flash_flood_demo.yaml").is_file()
    last = out.strip().splitlines()[-1]
    report = tmp_path / "demo" / "compare_report.html"
    assert last == f"Demo report: {report}"
    html = report.read_text(encoding="utf-8")
    for plan in ("baseline", "early_warning", "two_stations"):
        assert plan in html
    assert "OpenStreetMap contributors" in html
