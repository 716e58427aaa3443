"""``twin run --csv/--no-csv`` and the scenario's ``outputs.csv``: the vital signs and the
event log are always Parquet; CSV copies sit beside them unless the flag or the file says
no (Monaco flash flood at 30 m over its first 2 min, early-warning plan)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from twin.cli import _register, app

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "monaco_flash_flood.yaml"
EARLY = ROOT / "scenarios" / "plans" / "monaco_early_warning.yaml"
TABLES = ("vitals", "events")

pytestmark = pytest.mark.usefixtures("monaco_env")

_register()


def _no_csv_scenario(folder: Path) -> Path:
    """The flash flood scenario with ``outputs.csv: false`` in the file itself."""
    text = SCENARIO.read_text()
    start = text.index("\nplans:")  # the listed plans are not used (--plan) and would
    end = text.index("\noutputs:")  # be outside the copy's folder tree
    text = text[:start] + text[end:]
    assert "  events: true\n" in text
    text = text.replace("  events: true\n", "  events: true\n  csv: false\n", 1)
    path = folder / "no_csv.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def runs(monaco_env, tmp_path_factory):
    """Three short runs: the file as it is, the file with --no-csv, and a file that says
    ``outputs.csv: false`` with no flag."""
    folder = tmp_path_factory.mktemp("csv")
    cases = {
        "default": (SCENARIO, []),
        "flag": (SCENARIO, ["--no-csv"]),
        "file": (_no_csv_scenario(folder), []),
    }
    results = {}
    for name, (scenario, flags) in cases.items():
        out = folder / name
        args = ["run", str(scenario), "--plan", str(EARLY), "--seed", "1", "--until", "2min",
                "--resolution", "30", "--out", str(out), "--no-progress", "--no-report",
                *flags]  # fmt: skip
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        results[name] = out
    return results


def test_default_writes_parquet_and_csv(runs):
    """outputs.csv defaults to true: vitals and events as Parquet and as CSV, the same rows;
    run.json records the choice."""
    out = runs["default"]
    for name in TABLES:
        table = pd.read_parquet(out / f"{name}.parquet")
        text = pd.read_csv(out / f"{name}.csv", keep_default_na=False, na_values=["", "nan"])
        pd.testing.assert_frame_equal(table, text)
    vitals = pd.read_parquet(out / "vitals.parquet")
    assert list(vitals["time [s]"]) == [0.0, 60.0, 120.0]  # one row per 1-min exchange
    assert json.loads((out / "run.json").read_text())["scenario"]["outputs"]["csv"] is True


@pytest.mark.parametrize("case", ["flag", "file"])
def test_no_csv_writes_parquet_only(runs, case):
    """--no-csv, or outputs.csv: false in the scenario file with no flag: Parquet tables
    holding the default run's rows, no CSV anywhere in the folder; run.json says false."""
    out = runs[case]
    assert sorted(p.name for p in out.rglob("*.csv")) == []
    for name in TABLES:
        pd.testing.assert_frame_equal(
            pd.read_parquet(out / f"{name}.parquet"),
            pd.read_parquet(runs["default"] / f"{name}.parquet"),
        )
    assert json.loads((out / "run.json").read_text())["scenario"]["outputs"]["csv"] is False


@pytest.mark.parametrize(
    ("command", "plan"), [("flood", False), ("traffic", True), ("crowd", True)]
)
def test_single_model_commands_honour_the_file(tmp_path, command, plan):
    """outputs.csv: false in the scenario file, no flag: twin flood, traffic and crowd leave
    their series as Parquet only (respond: tests/unit/test_tables.py; run: above)."""
    from twin.tables import SERIES

    scenario = _no_csv_scenario(tmp_path)
    scenario.write_text(scenario.read_text().replace("resolution: 10 m", "resolution: 30 m"))
    out = tmp_path / command
    args = [command, str(scenario), *(["--plan", str(EARLY)] if plan else []),
            "--until", "5min", "--out", str(out), "--no-progress"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.rglob("*.csv")) == []
    tables = {p.name for p in out.rglob("*.parquet")}
    expected = {name.replace(".csv", ".parquet") for name in SERIES[command]}
    assert expected <= tables, tables
    manifest = json.loads(next(out.rglob("run.json")).read_text())
    assert manifest["scenario"]["outputs"]["csv"] is False


def test_run_from_its_manifest_gives_the_same_bytes(runs, tmp_path):
    """twin run --from-manifest run.json --out NEW reruns the recorded scenario, plan,
    seed (1) and end (2 min): kpis.json and both tables byte for byte; without --out it
    is refused (exit 2, no traceback)."""
    first = runs["default"]
    again = tmp_path / "again"
    args = ["run", "--from-manifest", str(first / "run.json"), "--out", str(again),
            "--no-progress", "--no-report"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    for name in ("kpis.json", "vitals.parquet", "events.parquet", "vitals.csv", "events.csv"):
        assert (again / name).read_bytes() == (first / name).read_bytes(), name
    record = json.loads((again / "run.json").read_text())
    assert record["seed"] == 1
    assert record["extra"]["until_s"] == 120.0
    refused = CliRunner().invoke(app, [*args[:3], "--no-progress"])
    assert refused.exit_code == 2, refused.output
    assert "needs its own output folder" in refused.output
    assert "Traceback" not in refused.output
