"""`twin validate` and `twin schema` from the command line: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twin.cli import _register, app

_register()
runner = CliRunner()
SCENARIOS = Path(__file__).parents[2] / "scenarios"
FLOOD = SCENARIOS / "monaco_flash_flood.yaml"


def test_valid_scenario_exits_0_with_a_summary() -> None:
    """A valid scenario prints what it holds, its plans included, and exits 0."""
    result = runner.invoke(app, ["validate", str(FLOOD)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "scenario 'monaco_flash_flood'" in out
    assert "monaco (catalogue)" in out
    assert "4 h" in out
    assert "rainfall: peak 90 mm/h" in out
    assert "baseline: 1 station(s)" in out
    assert "two_stations: 2 station(s)" in out
    assert "Traceback" not in out


def test_several_files_at_once(tmp_path: Path) -> None:
    """Scenario and plan files can be checked together (every ready one, against its map:
    the synthetic valley's files are generated on a folder added to the maps path)."""
    from twin.city.synthetic import generate

    generate("valley", tmp_path)
    files = [str(p) for p in sorted(SCENARIOS.rglob("*.yaml"))]
    result = runner.invoke(app, ["validate", *files, "--maps", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "plan 'two_stations'" in result.output


def test_invalid_file_exits_2_listing_every_problem(tmp_path: Path) -> None:
    """An invalid file prints each problem with file:line, field and fix, and exits 2."""
    path = tmp_path / "bad.yaml"
    path.write_text(
        "version: 1\nname: x\ncity: {name: monaco}\ntime:\n  duration: -1 h\nseeed: 3\n"
    )
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    out = result.output
    assert "2 problems" in out
    assert f"{path}:5: time.duration: a duration cannot be negative" in out
    assert f"{path}:6: seeed: unknown field `seeed`; did you mean 'seed'?" in out
    assert "fix: rename it to `seed`" in out
    assert "Traceback" not in out


def test_one_bad_file_among_good_ones(tmp_path: Path) -> None:
    """Good files are still summarised; the exit status says one failed."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nkind: plan\nname: p\nstations: [\n")
    result = runner.invoke(app, ["validate", str(FLOOD), str(bad)])
    assert result.exit_code == 2
    assert "scenario 'monaco_flash_flood'" in result.output
    assert "YAML syntax error" in result.output
    assert "1 of 2 file(s) invalid" in result.output


def test_missing_file_exits_2(tmp_path: Path) -> None:
    """A file that does not exist is a user error, not a crash."""
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "file not found" in result.output
    assert "Traceback" not in result.output


def test_bad_plan_of_a_scenario_is_reported(tmp_path: Path) -> None:
    """Problems in a scenario's plan files are shown under the scenario, with their file."""
    (tmp_path / "p.yaml").write_text("version: 1\nname: p\nstations:\n  - {name: a}\n")
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "version: 1\nname: s\ncity: {name: monaco}\ntime: {duration: 1 h}\nplans: [p.yaml]\n"
    )
    result = runner.invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 2
    assert f"{tmp_path / 'p.yaml'}:4: stations[0].units: missing required field" in result.output


@pytest.mark.parametrize("args", [[], ["--out", "sub/dir"]])
def test_schema_writes_both_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    """`twin schema` writes the two JSON Schemas (into --out, created if needed)."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["schema", *args])
    assert result.exit_code == 0, result.output
    folder = tmp_path / (args[1] if args else ".")
    for name in ("scenario.schema.json", "plan.schema.json"):
        schema = json.loads((folder / name).read_text())
        assert schema["$schema"].endswith("2020-12/schema")
        assert "version" in schema["required"]


MAP_SCENARIO = """\
version: 1
name: places
city: {name: monaco}
time: {duration: 2 h}
hazards:
  - kind: inflow
    name: burst main
    location: [7.41446581, 43.727537]
    hydrograph: [{at: 0, discharge: 1}]
demand:
  od:
    - start: 0
      end: 1 h
      flows:
        - {origin: [7.4070, 43.7510], destination: [7.4160, 43.7285], vehicles: 10}
incidents:
  scripted:
    - {at: 10 min, type: medical, priority: 1, location: [13.40, 48.00]}
    - {at: 20 min, type: medical, priority: 2, location: [7.4070, 43.7510]}
plans: [plan.yaml]
"""

MAP_PLAN = """\
version: 1
kind: plan
name: p
stations:
  - {name: swapped, location: [43.7345, 7.4205], units: {ambulance: 1}}
  - {name: good, location: [7.4160, 43.7295], units: {ambulance: 1}}
shelters:
  - {name: hill, location: [7.4070, 43.7510], capacity: 100}
"""


@pytest.fixture
def map_files(tmp_path: Path, monaco_dir) -> Path:
    (tmp_path / "plan.yaml").write_text(MAP_PLAN)
    (tmp_path / "s.yaml").write_text(MAP_SCENARIO)
    return tmp_path


def test_places_are_checked_against_the_map_all_at_once(map_files: Path) -> None:
    """Every place problem of a scenario and its plan is listed with file:line and lon/lat:
    an inflow inside a building, an OD origin and an incident 1.7 km from any road, an
    incident 680 km away, a station with lat and lon swapped, an unreachable shelter."""
    scenario, plan = map_files / "s.yaml", map_files / "plan.yaml"
    result = runner.invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 2, result.output
    out = " ".join(result.output.split())  # rich wraps long lines
    assert "6 problems" in out
    assert f"{scenario}:8: hazards[0].location: inflow 'burst main'" in out
    assert "inside building 132382779" in out
    assert f"{scenario}:15: demand.od[0].flows[0].origin: origin [7.40700, 43.75100]" in out
    assert f"{scenario}:18: incidents.scripted[0].location: [13.40000, 48.00000] (lon, lat)" in out
    assert "km outside the map" in out
    assert f"{scenario}:19: incidents.scripted[1].location: scripted incident 2 at" in out
    assert f"{plan}:5: stations[0].location:" in out
    assert "with the numbers swapped, [7.42050, 43.73450] (lon, lat) lies in the map" in out
    assert f"{plan}:8: shelters[0].location: shelter 'hill'" in out
    assert "Traceback" not in out


def test_no_city_checks_the_files_only(map_files: Path) -> None:
    """`--no-city` skips the map: the same files pass the schema check."""
    (map_files / "s.yaml").write_text(MAP_SCENARIO + "population: 38000\n")
    result = runner.invoke(app, ["validate", "--no-city", str(map_files / "s.yaml")])
    assert result.exit_code == 0, result.output
    assert "scenario 'places'" in result.output
    assert "38,000 residents" in result.output
