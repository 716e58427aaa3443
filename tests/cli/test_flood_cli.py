"""``twin flood SCENARIO``: a scenario's flood end to end on Monaco, and its input errors."""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

SCENARIO = """\
version: 1
name: flood_cli_test
city: {{name: monaco}}
time: {{duration: 10 min}}
hazards:
  - kind: rainfall
    hyetograph:
      - {{at: 0, intensity: 50 mm/h}}
  - kind: inflow
    name: burst main
    location: {inflow}
    start: 1 min
    hydrograph:
      - {{at: 0, discharge: 2 m3/s}}
      - {{at: 5 min, discharge: 2 m3/s}}
  - kind: sea_level
    levels:
      - {{at: 0, level: 0.2 m}}
flood:
  output_interval: 5 min
  gauges:
    - {{name: port, location: [7.4233, 43.7350]}}
outputs: {{folder: out}}
"""
OPEN_LAND = "[7.42378, 43.73912]"
ON_A_BUILDING = "[7.4238, 43.7392]"


def _app():
    from twin.cli import _register, app

    _register()
    return app


def _write(tmp_path, inflow: str):
    path = tmp_path / "flood.yaml"
    path.write_text(SCENARIO.format(inflow=inflow), encoding="utf-8")
    return path


def test_flood_command_writes_maps_gauges_and_a_closed_balance(tmp_path, monaco_dir):
    path = _write(tmp_path, OPEN_LAND)
    result = CliRunner().invoke(
        _app(), ["flood", str(path), "--maps", str(monaco_dir.parent), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "flood"
    names = {p.name for p in folder.iterdir()}
    assert {"max_depth.tif", "first_wet.tif", "gauges.csv", "volume_balance.csv"} <= names
    assert not [n for n in names if n.endswith(".part")]
    with (folder / "volume_balance.csv").open() as f:
        rows = list(csv.DictReader(f))
    last = rows[-1]
    assert float(last["time_s"]) == pytest.approx(600.0)
    rain = float(last["rain_m3"])
    # 50 mm/h for 10 min over the land cells of a ~3.8 km x 3.6 km grid: tens of 1000s m3
    assert 1e4 < rain < 1e5
    # 2 m3/s from 1 min to the hydrograph's end at 6 min (none after it)
    assert float(last["inflow_m3"]) == pytest.approx(2.0 * 300.0, rel=1e-6)
    assert abs(float(last["error_m3"])) < 1e-6 * rain
    with (folder / "gauges.csv").open() as f:
        gauges = list(csv.DictReader(f))
    assert "port_level_m" in gauges[0]
    assert float(gauges[-1]["time_s"]) == pytest.approx(600.0)


def test_inflow_on_a_building_names_the_scenario_line(tmp_path, monaco_dir):
    path = _write(tmp_path, ON_A_BUILDING)
    result = CliRunner().invoke(
        _app(), ["flood", str(path), "--maps", str(monaco_dir.parent), "--no-progress"]
    )
    assert result.exit_code == 2
    line = SCENARIO.splitlines().index("    location: {inflow}") + 1
    assert f"flood.yaml:{line}: hazards.1.location" in result.output
    assert "building" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out" / "flood").exists()


@pytest.mark.parametrize("until", ["inf", "nan", "-5"])
def test_until_must_be_a_finite_positive_time(tmp_path, until):
    """Issue 11: ``--until inf`` gave a traceback and ``nan``/``-5`` a silent empty run;
    now one line naming the option, exit 2, before the city is even loaded."""
    path = _write(tmp_path, OPEN_LAND)
    result = CliRunner().invoke(_app(), ["flood", str(path), "--until", until])
    assert result.exit_code == 2
    assert "--until" in result.output
    assert "not a positive duration" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
