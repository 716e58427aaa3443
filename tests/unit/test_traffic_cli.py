"""``twin traffic SCENARIO`` and the scenario wiring: demand, closures, outputs, settings."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from twin.coupling.traffic_setup import parse_settings
from twin.errors import UserInputError

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
    assert "trips.csv:4: origin: origin [7.50000, 43.80000] (lon, lat) is" in text
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


def _scenario_with(tmp_path, demand: str):
    path = tmp_path / "s2.yaml"
    path.write_text(
        "version: 1\nname: t2\ncity: {name: monaco}\ntime: {duration: 30 min}\n" + demand
    )
    return path


def test_no_demand_is_refused_and_writes_nothing(tmp_path, monaco_dir):
    """A scenario that sends no vehicle exits 2 with a clear message and no kpis.json
    (it used to run and write NaN into kpis.json)."""
    path = _scenario_with(tmp_path, "")
    out = tmp_path / "o"
    result = _invoke(["traffic", str(path), "--out", str(out), "--no-progress"])
    assert result.exit_code == 2
    assert "the scenario sends no vehicle" in result.output.replace("\n", "")
    assert not (out / "kpis.json").exists()


def test_nan_step_is_a_clear_error(scenario, tmp_path):
    """`--set dt=nan` exits 2 naming the setting (it used to print a traceback)."""
    result = _invoke(["traffic", str(scenario), "--set", "dt=nan", "--no-progress"])
    assert result.exit_code == 2
    assert "dt must be a finite number, not 'nan'" in result.output.replace("\n", "")


def test_too_many_vehicles_are_refused_with_the_estimate(tmp_path, monaco_dir, monkeypatch):
    """OD flows needing more memory than half of what is available are refused before
    allocating, naming the scenario line of the biggest flow, the estimate and the limit
    (1e9 vehicles used to end in a MemoryError traceback; the schema now caps a flow at
    1e6, so the machine is made to report 1 GB free)."""
    from twin.traffic import budget

    monkeypatch.setattr(budget, "available_memory", lambda: 10**9)
    demand = (
        "demand:\n  od:\n    - start: 0 min\n      end: 10 min\n      flows:\n"
        "        - {origin: [7.4145, 43.7268], destination: [7.4246, 43.7384], "
        "vehicles: 1000000}\n"
    )
    result = _invoke(["traffic", str(_scenario_with(tmp_path, demand)), "--no-progress"])
    assert result.exit_code == 2
    text = result.output.replace("\n", "")
    assert "s2.yaml:10: demand.od.0.flows.0.vehicles: 1,000,000 vehicles would need" in text
    assert "about 1.0 GB of memory (1000 bytes each), more than the 0.5 GB allowed" in text


def test_od_place_off_the_map_names_the_scenario_line_and_lonlat(tmp_path, monaco_dir):
    """An OD origin far from every road names the scenario file and line, the field, the
    place in lon/lat and the setting that would allow it."""
    demand = (
        "demand:\n  od:\n    - start: 0 min\n      end: 10 min\n      flows:\n"
        "        - {origin: [7.5, 43.8], destination: [7.4246, 43.7384], vehicles: 5}\n"
    )
    result = _invoke(["traffic", str(_scenario_with(tmp_path, demand)), "--no-progress"])
    assert result.exit_code == 2
    text = result.output.replace("\n", "")
    assert "s2.yaml:10: demand.od.0.flows.0.origin: origin [7.50000, 43.80000] (lon, lat)" in text
    assert "--set max_snap=" in text


def test_evacuation_building_far_from_roads_is_named(monaco_pack, tmp_path, monaco_dir):
    """With a 1 m snap limit the zone's buildings are too far from the roads: the error
    names the scenario line of the zone, each building's OSM id and lon/lat."""
    from twin.coupling.traffic_setup import traffic_from_scenario
    from twin.scenario.loader import load_scenario

    demand = (
        "demand:\n  evacuation:\n"
        "    zone: [[7.4145, 43.7268], [7.4170, 43.7268], [7.4170, 43.7285], [7.4145, 43.7285]]\n"
        "    order_time: 2 min\n"
    )
    path = _scenario_with(tmp_path, demand)
    with pytest.raises(UserInputError) as err:
        traffic_from_scenario(load_scenario(path), monaco_pack, {"max_snap": 1.0}, path=path)
    first = err.value.problems[0]
    assert (first.line, first.field) == (7, "demand.evacuation.zone")
    pattern = r"building \d+ \(OSM id \d+\) at \[7\.41\d+, 43\.72\d+\] \(lon, lat\) is \d+ m from"
    assert re.match(pattern, first.message)


def test_read_only_out_folder_exits_2_with_one_line_before_the_run(tmp_path):
    """--out inside a folder the user may not write in: exit 2 with one line naming the
    folder, no traceback, before the city is loaded or anything simulated (the scenario's
    city does not exist: reaching it would end in another error). Run as a separate process,
    as the unprivileged user ``nobody`` when the tests run as root (for whom permission bits
    do not apply)."""
    import os
    import subprocess
    import sys
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="twin-ro-"))  # /tmp: reachable by nobody
    try:
        root.chmod(0o755)
        (root / "s.yaml").write_text(
            "version: 1\nname: ro\ncity: {name: nowhere}\ntime: {duration: 10 min}\n"
            "demand:\n  od:\n    - {start: 0 min, end: 5 min, flows: [{origin: [7.4145, "
            "43.7268], destination: [7.4246, 43.7384], vehicles: 10}]}\n"
        )
        numba = root / "numba"  # numba's cache must be writable where the user runs
        numba.mkdir()
        ro = root / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        user = []
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")  # util-linux
            if setpriv is None:
                pytest.skip("running as root without setpriv to drop privileges")
            os.chown(numba, 65534, 65534)
            user = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
        env = {**os.environ, "COLUMNS": "1000", "NUMBA_CACHE_DIR": str(numba)}
        env.update(TWIN_CACHE_DIR=str(root / "cache"), HOME=str(root))
        code = "from twin.cli import main; main()"
        args = ["traffic", str(root / "s.yaml"), "--out", str(ro / "out"), "--no-progress"]
        result = subprocess.run(
            [*user, sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        output = (result.stdout + result.stderr).strip()
        assert result.returncode == 2, output
        assert "Traceback" not in output
        assert output.splitlines() == [output]
        assert f"{ro / 'out'}: --out: cannot write in the output folder" in output
        assert not (ro / "out").exists()
    finally:
        (root / "ro").chmod(0o755)
        shutil.rmtree(root, ignore_errors=True)
