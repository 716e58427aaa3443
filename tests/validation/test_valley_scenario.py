"""The river-levee ready scenario (scenarios/valley_levee.yaml) on the synthetic valley.

The city is the catalogue's `valley`, generated into a temporary maps folder and found
through ``--maps`` like any catalogue city. The flood check runs a copy of the scenario on
a 20 m grid (the ready file says 10 m) for its first hour, which keeps it cheap: the stage
tops the levee crest (23.0 m) at 40 min, the levee breaches after 5 min of overtopping
(45 min) and the town floods.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from twin.city.synthetic import VALLEY, generate

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "valley_levee.yaml"
PLANS = ("valley_no_warning.yaml", "valley_early_evacuation.yaml")
BREACH_S = 2700.0  # 40 min to reach the crest + 5 min of overtopping
UNTIL_S = 3600.0
TOWN_GAUGES = ("First Street", "Valley Road")


def _app():
    from twin.cli import _register, app

    _register()
    return app


@pytest.fixture(scope="module")
def maps_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("maps")
    generate("valley", folder)
    return folder


def test_the_ready_scenario_and_its_plans_validate_on_the_generated_city(maps_dir) -> None:
    """`twin validate` with the city check (places on the map, stations at facilities)."""
    result = CliRunner().invoke(_app(), ["validate", str(SCENARIO), "--maps", str(maps_dir)])
    assert result.exit_code == 0, result.output
    assert "valley (catalogue)" in result.output


def test_the_breach_starts_after_five_minutes_of_overtopping() -> None:
    """The scenario's breach time, from its own hydrograph and crest."""
    from twin.flood.river import overtop_start
    from twin.scenario import load_scenario

    river = next(h for h in load_scenario(SCENARIO).hazards if h.kind == "river")
    (levee,) = river.levees
    times = [p.at for p in river.stage]
    levels = [p.level for p in river.stage]
    start = overtop_start(times, levels, levee.crest, levee.breach.overtop_for)
    assert start == pytest.approx(BREACH_S)


@pytest.fixture(scope="module")
def flood_run(maps_dir, tmp_path_factory) -> Path:
    """`twin flood` on a 20 m copy of the scenario for its first hour."""
    folder = tmp_path_factory.mktemp("valley")
    (folder / "plans").mkdir()
    for name in PLANS:
        shutil.copy(REPO / "scenarios" / "plans" / name, folder / "plans" / name)
    text = SCENARIO.read_text(encoding="utf-8")
    assert "  resolution: 10 m\n" in text
    path = folder / "valley_levee.yaml"
    path.write_text(text.replace("  resolution: 10 m\n", "  resolution: 20 m\n"), "utf-8")
    out = folder / "out"
    args = ["flood", str(path), "--until", str(UNTIL_S), "--out", str(out),
            "--maps", str(maps_dir), "--no-snapshots", "--no-progress"]  # fmt: skip
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    return out


def _gauges(out: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    with (out / "gauges.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    times = np.array([float(r["time_s"]) for r in rows])
    depths = {
        key.removesuffix("_depth_m"): np.array([float(r[key]) for r in rows])
        for key in rows[0]
        if key.endswith("_depth_m")
    }
    return times, depths


def test_the_town_is_dry_until_the_breach_and_wet_after_it(flood_run) -> None:
    """Depth at the town's gauges is exactly 0 up to the breach (the local rain is within
    the drains' capacity; what overtops the crest before the breach stays in the toe
    ditch), and above 0.1 m at First Street by the end of the hour."""
    times, depth = _gauges(flood_run)
    before = times <= BREACH_S
    assert before.sum() >= 40  # a reading a minute
    for name in TOWN_GAUGES:
        assert np.all(depth[name][before] == 0.0), name
    assert depth["Toe ditch"][before].max() > 0.0  # the levee was overtopped before it broke
    assert depth["First Street"][-1] > 0.1


def test_no_cell_behind_the_levee_is_wet_before_the_breach(flood_run) -> None:
    """first_wet.tif: every cell east of the toe ditch (the floodplain and the town) that
    gets wet does so after the breach starts, and the town's floodplain does get wet."""
    import rasterio

    with rasterio.open(flood_run / "first_wet.tif") as data:
        first = data.read(1).astype(np.float64)
        nodata = data.nodata
        transform = data.transform
    if nodata is not None and not np.isnan(nodata):
        first[first == nodata] = np.nan
    nx = first.shape[1]
    cols = np.arange(nx) + 0.5
    x_local = transform.c + transform.a * cols - VALLEY.easting
    behind = np.broadcast_to(x_local > 390.0, first.shape) & (
        np.broadcast_to(x_local < VALLEY.hill_x, first.shape)
    )
    wet_behind = first[behind & np.isfinite(first)]
    assert wet_behind.size > 50  # 20 m cells: over 2 ha of the floodplain flooded
    assert wet_behind.min() > BREACH_S
