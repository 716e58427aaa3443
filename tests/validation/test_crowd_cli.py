"""`twin crowd` as a new user runs it on Monaco: the scenario's own `plans:` when no --plan
is given, and every plan's set-up mistake reported with its file, line and a fix before
anything runs or any output folder is made.

Monaco maps no designated shelter, so an evacuation with no plan (or a plan that opens
none) has nowhere to go; the fix must name the plan fields that open candidate shelters.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twin.cli import _register, app, crowd_cmds  # noqa: F401  (registers the command)
from twin.coupling.crowd_setup import crowd_from_scenario
from twin.errors import UserInputError
from twin.scenario.loader import load_scenario
from twin.scenario.problems import adopt

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
FLOOD = SCENARIOS / "monaco_flash_flood.yaml"
STADIUM = SCENARIOS / "monaco_stadium_exit.yaml"
BASELINE = SCENARIOS / "plans" / "monaco_baseline.yaml"


def _crowd(monaco_dir, monkeypatch, *args) -> tuple[int, str]:
    """Run `twin crowd ARGS --no-progress`; exit code and output with whitespace joined
    (the console wraps long lines)."""
    monkeypatch.setenv("TWIN_MAPS", str(monaco_dir.parent))
    _register()
    result = CliRunner().invoke(app, ["crowd", *map(str, args), "--no-progress"])
    return result.exit_code, " ".join(result.output.split())


def _line(path: Path, pattern: str) -> int:
    """1-based line of the first line of ``path`` matching ``pattern``."""
    lines = path.read_text().splitlines()
    return next(i for i, text in enumerate(lines, 1) if re.match(pattern, text))


def _without_plans(tmp_path: Path) -> Path:
    """The flash-flood scenario without its `plans:` list."""
    text = re.sub(r"\nplans:.*?\n\n", "\n\n", FLOOD.read_text(), flags=re.S)
    assert "monaco_baseline" not in text
    path = tmp_path / "flood_no_plans.yaml"
    path.write_text(text)
    return path


def _plan_without_shelters(tmp_path: Path) -> Path:
    """The baseline plan, named `no_shelters`, without `shelters:` and `open_shelters:`."""
    text = re.sub(r"\nshelters:.*?\nmax_shelter", "\nmax_shelter", BASELINE.read_text(), flags=re.S)
    text = text.replace("name: baseline", "name: no_shelters")
    assert "Stade Louis II" not in text
    assert "open_shelters:" not in text
    path = tmp_path / "no_shelters.yaml"
    path.write_text(text)
    return path


def test_without_plan_the_scenarios_plans_run(monaco_dir, monkeypatch, tmp_path):
    """No --plan: each plan of the scenario's `plans:` runs into its own folder."""
    code, out = _crowd(monaco_dir, monkeypatch, FLOOD, "--out", tmp_path, "--until", "600")
    assert code == 0, out
    assert "plan baseline" in out
    assert "plan two_stations" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline", "two_stations"]
    assert all((tmp_path / name / "kpis.json").is_file() for name in ("baseline", "two_stations"))


def test_no_plan_and_no_shelter_names_the_plan_fields_that_open_one(
    monaco_dir, monkeypatch, tmp_path
):
    """An evacuation with no plan on a city without designated shelters is refused at
    `demand.evacuation` (file and line), the fix naming --plan, `open_shelters`,
    `open_candidates` and Monaco's candidates; no output folder is made."""
    scenario = _without_plans(tmp_path)
    out_dir = tmp_path / "out"
    code, out = _crowd(monaco_dir, monkeypatch, scenario, "--out", out_dir)
    assert code == 2, out
    assert f":{_line(scenario, r'  evacuation:')}: demand.evacuation:" in out
    assert "no plan was given" in out
    for words in ("--plan", "`plans:`", "open_shelters", "open_candidates: true", "Condamine"):
        assert words in out
    assert not out_dir.exists()


def test_every_plans_mistakes_come_before_any_run(monaco_dir, monkeypatch, tmp_path):
    """With a good plan and one that opens no shelter, nothing runs: the error names the
    second plan's file and its `open_shelters` fix, and no output folder is made."""
    bad = _plan_without_shelters(tmp_path)
    out_dir = tmp_path / "out"
    code, out = _crowd(
        monaco_dir, monkeypatch, FLOOD, "--plan", BASELINE, "--plan", bad, "--out", out_dir
    )
    assert code == 2, out
    assert "no_shelters.yaml" in out
    assert "open_shelters:" in out
    assert "plan 'no_shelters' lists no shelter and opens no candidate" in out
    assert "open_candidates: true" in out
    assert "crowd after" not in out  # the good plan did not run first
    assert not out_dir.exists()


def test_json_with_several_plans_is_refused(monaco_dir, monkeypatch, tmp_path):
    """--json holds one run's KPIs: with the scenario's two plans it is refused (it kept
    the last plan's KPIs only before), and with one plan it is written."""
    target = tmp_path / "k.json"
    code, out = _crowd(monaco_dir, monkeypatch, FLOOD, "--out", tmp_path, "--json", target)
    assert code == 2, out
    assert "--json" in out
    assert "2 plans" in out
    assert not target.exists()
    code, out = _crowd(
        monaco_dir, monkeypatch, FLOOD, "--plan", BASELINE, "--out", tmp_path,
        "--until", "600", "--json", target,
    )  # fmt: skip
    assert code == 0, out
    assert json.loads(target.read_text())["time"] == 600.0


def test_a_venue_off_the_map_is_located_in_the_scenario(monaco_pack):
    """A crowd event's venue off the map is named `hazards.0.venue` (it was
    `hazards.crowd_event.venue`, no index) with the scenario file and the venue's line."""
    sc = load_scenario(STADIUM)
    far = [[7.0, 43.0], [7.01, 43.0], [7.01, 43.01]]
    moved = sc.model_copy(update={"hazards": [sc.hazards[0].model_copy(update={"venue": far})]})
    adopt(moved, sc)  # the copy keeps the lines of the file it was loaded from
    with pytest.raises(UserInputError) as err:
        crowd_from_scenario(moved, monaco_pack, scenario_file=STADIUM)
    (problem,) = err.value.problems
    assert (problem.file, problem.field) == (STADIUM, "hazards.0.venue")
    assert problem.line == _line(STADIUM, r"\s+venue:")
