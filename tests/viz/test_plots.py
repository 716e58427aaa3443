"""viz.plots draws each plot from real small outputs of the run commands (Monaco)."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from viz import plots


def _png_ok(fig) -> None:
    from PIL import Image

    image = Image.open(io.BytesIO(plots.png_bytes(fig)))
    assert image.size[0] > 300
    assert image.size[1] > 200


def test_gauge_depths_draws_each_gauge_from_the_csv(outputs):
    path = outputs / "flood" / "gauges.csv"
    table = pd.read_csv(path)
    fig = plots.gauge_depths(path)
    lines = fig.axes[0].get_lines()
    gauges = [c for c in table.columns if c.endswith("_depth_m")]
    assert len(lines) == len(gauges) == 3
    for line, column in zip(lines, gauges, strict=True):
        np.testing.assert_array_equal(line.get_ydata(), table[column].to_numpy())
        np.testing.assert_array_equal(line.get_xdata(), table["time_s"].to_numpy() / 60)
    _png_ok(fig)


def test_vital_signs_mark_the_trigger_and_the_warning(outputs):
    """The fixture's trigger fires at 180 s: a dashed line at 3 min on every panel, and
    the yellow warning (level 2) colours the background from 3 min on."""
    folder = outputs / "run"
    fig = plots.vital_signs(folder / "vitals.csv", folder / "events.csv")
    firings = plots.trigger_firings(folder / "events.csv")
    assert list(firings["time"]) == [180.0]
    for ax in fig.axes:
        dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
        assert [ln.get_xdata()[0] for ln in dashed] == [3.0]
        spans = [p for p in ax.patches if p.get_facecolor()[:3] != (1, 1, 1)]
        starts = sorted(p.get_x() for p in spans)
        assert starts[0] == 3.0
        assert len(spans) == 7
        assert all(np.allclose(p.get_facecolor()[:3], (1.0, 245 / 255, 157 / 255)) for p in spans)
    _png_ok(fig)


def test_response_cdfs_agree_with_the_response_kpis(outputs):
    folders = {p: outputs / "respond" / p for p in ("baseline", "two_stations")}
    for folder in folders.values():
        kpis = json.loads((folder / "kpis.json").read_text())
        times = plots.response_times(folder / "events.csv")
        assert len(times) == kpis["incidents"]
        assert np.isfinite(times).sum() == kpis["served"]
        assert np.percentile(times[np.isfinite(times)], 90) == pytest.approx(
            kpis["response_p90"], rel=1e-12
        )
    fig = plots.response_cdfs(
        {p: f / "events.csv" for p, f in folders.items()}, {"priority 1 target": 480.0}
    )
    ax = fig.axes[0]
    curves = [ln for ln in ax.get_lines() if ln.get_label() in folders or "calls" in ln.get_label()]
    assert len(curves) == 2
    target = [ln for ln in ax.get_lines() if ln.get_label() == "priority 1 target"]
    assert target[0].get_xdata()[0] == 8.0
    _png_ok(fig)


def test_evacuation_curve_reaches_the_share_arrived(outputs):
    folder = outputs / "crowd" / "stadium_response"
    kpis = json.loads((folder / "kpis.json").read_text())
    fig = plots.evacuation_curve({"stadium_response": folder / "clearance.csv"})
    curve = fig.axes[0].get_lines()[0]
    table = pd.read_csv(folder / "clearance.csv")
    assert curve.get_ydata()[-1] == pytest.approx(table["arrived"].iloc[-1] / kpis["people"])
    assert 0 < curve.get_ydata()[-1] < 1  # 15 min: some arrived, not all 15000
    assert np.all(np.diff(curve.get_ydata()) >= 0)
    _png_ok(fig)


def test_mfd_draws_one_point_per_record_time(outputs):
    paths = {p: outputs / "traffic" / p / "mfd.csv" for p in ("baseline", "two_stations")}
    fig = plots.mfd(paths)
    for line, path in zip(fig.axes[0].get_lines(), paths.values(), strict=True):
        table = pd.read_csv(path)
        np.testing.assert_array_equal(line.get_xdata(), table["density_veh_km"].to_numpy())
        np.testing.assert_array_equal(line.get_ydata(), table["flow_veh_h"].to_numpy())
    _png_ok(fig)


def test_forest_plot_shows_the_paired_differences_of_the_study(outputs):
    from twin.experiment.report import summarize
    from twin.experiment.store import Store

    with Store(outputs / "study.duckdb", read_only=True) as store:
        study_id = store.studies()[0]["study_id"]
        summary = summarize(store, study_id)
    fig = plots.forest(summary)
    kpis = summary.variants[0].kpis
    shown = [k for k, rows in kpis.items() if any(r.diff_t is not None for r in rows)]
    assert len(fig.axes) == len(shown) >= 3
    row = next(r for r in kpis["response_time_p90"] if r.diff_t is not None)
    ax = fig.axes[shown.index("response_time_p90")]
    assert ax.get_yticklabels()[0].get_text() == row.plan == "two_stations"
    centre = ax.get_lines()[0].get_xdata()[0]
    assert centre == pytest.approx(row.diff_t.mean)
    _png_ok(fig)
