"""Names are names and paths stay in their tree: what a scenario file may make a run read
or write."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from twin.errors import ScenarioError
from twin.scenario import load_plan, load_scenario
from twin.scenario.base import file_name
from twin.scenario.loader import results_folder

SCENARIO = "version: 1\nname: {name}\ncity: {{name: monaco}}\ntime: {{duration: 1 h}}\n"
PLAN = (
    "version: 1\nkind: plan\nname: {name}\n"
    "stations:\n  - {{name: s, location: [7.42, 43.73], units: {{ambulance: 1}}}}\n"
)


@pytest.mark.parametrize("name", ["/tmp/evil", "../../outside", "a\\\\b", "..", "a\\tb"])
def test_path_like_names_are_refused(tmp_path: Path, name: str) -> None:
    """A scenario or plan name holding / or \\, a control character, or only dots is refused
    on its line, saying a name is not a path."""
    for text, load in ((SCENARIO, load_scenario), (PLAN, load_plan)):
        path = tmp_path / "file.yaml"
        path.write_text(text.format(name=f'"{name}"'), encoding="utf-8")
        with pytest.raises(ScenarioError) as info:
            load(path)
        (problem,) = info.value.problems
        assert (problem.line, problem.field) == (2 if load is load_scenario else 3, "name")
        assert "a name is not a path" in problem.message


@pytest.mark.parametrize(
    ("name", "slug"),
    [("depot [temporary]", "depot_temporary"), ("[/bold]", "bold"), ("ÉQUIPE 2", "ÉQUIPE_2"),
     ("...", "unnamed"), ("a.b-c_d", "a.b-c_d")],
)  # fmt: skip
def test_file_names_are_safe(name: str, slug: str) -> None:
    """File names made of names keep letters and digits and never start with a dot."""
    assert file_name(name) == slug


def test_default_results_folder_uses_the_safe_name(tmp_path: Path) -> None:
    """The default `results/<name>` folder is made of the safe name, beside the file."""
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(name='"flood [v2]"'), encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.outputs.folder == tmp_path / "results" / "flood_v2"
    assert results_folder(scenario, path) == tmp_path / "results" / "flood_v2"


def test_plan_outside_the_scenario_tree_is_refused(tmp_path: Path) -> None:
    """`plans: [../../etc/passwd]` is refused before it is read, on its line."""
    inside = tmp_path / "a" / "b"
    inside.mkdir(parents=True)
    (tmp_path / "plan.yaml").write_text(PLAN.format(name="p"), encoding="utf-8")
    path = inside / "s.yaml"
    path.write_text(SCENARIO.format(name="s") + "plans:\n  - ../../plan.yaml\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (problem,) = info.value.problems
    assert (problem.line, problem.field) == (6, "plans[0]")
    assert "outside this file's folder" in problem.message
    assert "--plan" in (problem.fix or "")


def test_plan_below_the_scenario_is_accepted(tmp_path: Path) -> None:
    """Plans in the scenario's folder or below it load as before."""
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "p.yaml").write_text(PLAN.format(name="p"), encoding="utf-8")
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(name="s") + "plans: [plans/p.yaml]\n", encoding="utf-8")
    assert load_scenario(path).plans == [tmp_path / "plans" / "p.yaml"]


def test_output_folder_outside_needs_out(tmp_path: Path, monkeypatch) -> None:
    """`outputs.folder` outside the scenario's tree and the current folder is refused with
    its line, and accepted when the folder is given with --out."""
    scenario_dir, elsewhere, cwd = (tmp_path / d for d in ("sc", "elsewhere", "cwd"))
    for folder in (scenario_dir, elsewhere, cwd):
        folder.mkdir()
    monkeypatch.chdir(cwd)
    path = scenario_dir / "s.yaml"
    path.write_text(
        SCENARIO.format(name="s") + f"outputs:\n  folder: {elsewhere}\n", encoding="utf-8"
    )
    scenario = load_scenario(path)
    with pytest.raises(ScenarioError) as info:
        results_folder(scenario, path)
    (problem,) = info.value.problems
    assert (problem.line, problem.field) == (6, "outputs.folder")
    assert f"--out {elsewhere}" in (problem.fix or "")
    assert results_folder(scenario, path, elsewhere) == elsewhere


@pytest.mark.parametrize("where", ["../cwd/out", "sub/out"])
def test_output_folder_inside_is_accepted(tmp_path: Path, monkeypatch, where: str) -> None:
    """A folder inside the current folder or the scenario's tree needs no --out."""
    (tmp_path / "sc").mkdir()
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    path = tmp_path / "sc" / "s.yaml"
    path.write_text(SCENARIO.format(name="s") + f"outputs:\n  folder: {where}\n", encoding="utf-8")
    scenario = load_scenario(path)
    assert os.path.normpath(results_folder(scenario, path)) == os.path.normpath(
        tmp_path / "sc" / where
    )
