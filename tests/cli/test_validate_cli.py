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


def test_several_files_at_once() -> None:
    """Scenario and plan files can be checked together."""
    files = [str(p) for p in sorted(SCENARIOS.rglob("*.yaml"))]
    result = runner.invoke(app, ["validate", *files])
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
