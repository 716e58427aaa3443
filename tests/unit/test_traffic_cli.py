"""``twin traffic SCENARIO`` and the scenario wiring: demand, closures, outputs, settings."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from twin.errors import UserInputError
from twin.traffic.scenario import parse_settings

SCENARIO = """\
version: 1
name: traffic_test
city: {name: monaco}
time: {duration: 30 min}
hazards:
  - kind: ground_collapse
    at: 5 min
    location: [7.4182, 43.7300]
    radius: 15 m
demand:
  trips: trips.csv
  od:
    - start: 0 min
      end: 10 min
      flows:
        - {origin: [7.4145, 43.7268], destination: [7.4246, 43.7384], vehicles: 100}
  evacuation:
    zone: [[7.4145, 43.7268], [7.4170, 43.7268], [7.4170, 43.7285], [7.4145, 43.7285]]
    order_time: 2 min
    curve: {kind: uniform, mean: 3 min}
"""
TRIPS = """\
departure,origin_lon,origin_lat,destination_lon,destination_lat
0,7.4145,43.7268,7.4246,43.7384
60,7.4246,43.7384,7.4145,43.7268
"""


@pytest.fixture
def scenario(tmp_path, monaco_dir):
    (tmp_path / "trips.csv").write_text(TRIPS)
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    return path


def _invoke(args):
    from twin.cli import _register, app

    _register()
    import twin.cli.traffic_cmds  # noqa: F401

    return CliRunner().invoke(app, args)


def test_traffic_command_writes_outputs(scenario, tmp_path):
    """The command runs every demand source, closes the collapsed road and writes files."""
    out = tmp_path / "out"
    result = _invoke(["traffic", str(scenario), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    kpis = json.loads((out / "kpis.json").read_text())
    assert kpis["vehicles"] > 102  # 2 listed + 100 OD + the evacuees' cars
    assert kpis["completed"] + kpis["en_route"] + kpis["stranded"] == kpis["vehicles"]
    assert "closed at 5 min: hazards.0" in result.output
    rows = (out / "trips.csv").read_text().splitlines()
    assert len(rows) == kpis["vehicles"] + 1
    series = np.load(out / "link_series.npz")
    assert series["vehicles"].shape[1] == series["link_id"].size
    assert (out / "mfd.csv").read_text().startswith("time_s,density_veh_km,flow_veh_h")
    assert not list(out.glob(".*.part"))


def test_trip_off_the_map_is_a_clear_error(scenario, tmp_path):
    """A trip far from any road exits with status 2 and names the file, line and field."""
    (tmp_path / "trips.csv").write_text(TRIPS + "0,7.5,43.8,7.4246,43.7384\n")
    result = _invoke(["traffic", str(scenario), "--out", str(tmp_path / "o"), "--no-progress"])
    assert result.exit_code == 2
    text = result.output.replace("\n", "")
    assert "trips.csv:4: origin: origin [7.50000, 43.80000] is" in text
    assert "--set max_snap=" in text


def test_settings_are_checked():
    """--set takes known keys with numbers; 'none' switches optional ones off."""
    assert parse_settings(["dt=2", "reroute_every=none"]) == {"dt": 2.0, "reroute_every": None}
    with pytest.raises(UserInputError, match="unknown setting 'speed=3'"):
        parse_settings(["speed=3"])
    with pytest.raises(UserInputError, match="dt must be a finite number, not 'fast'"):
        parse_settings(["dt=fast"])
    with pytest.raises(UserInputError, match=r"dt must be a finite number, not 'nan'.*--set dt=1"):
        parse_settings(["dt=nan"])
    with pytest.raises(UserInputError, match="max_snap must be a finite number > 0"):
        parse_settings(["max_snap=-5"])
