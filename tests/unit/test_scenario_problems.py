"""twin.scenario.problems.where: a loaded model's fields located without re-reading YAML."""

from __future__ import annotations

import gc
import pickle
from pathlib import Path

from twin.experiment.study import scenario_variants
from twin.scenario import problems
from twin.scenario.loader import load_plan, load_scenario
from twin.scenario.plan import Plan
from twin.scenario.problems import problem_at, source_of, where

SCENARIO = """\
version: 1
kind: scenario
name: lines
city: {name: monaco}
time: {duration: 2 h}
incidents:
  background: {medical: 0.5}
objectives:
  primary: response_time_p90
  weights: {response_time_p90: 1.0}
"""

PLAN = """\
version: 1
kind: plan
name: two
stations:
  - name: A
    location: [7.4205, 43.7345]
    units: {ambulance: 1}
  - name: B
    location: [7.4160, 43.7295]
    units: {ambulance: 1}
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_where_names_file_and_line(tmp_path):
    """A field's line is the line its key is on; list items are found by index."""
    path = _write(tmp_path, "p.yaml", PLAN)
    plan = load_plan(path)
    assert where(plan, ["stations", 1, "location"]) == (path, 9)
    assert where(plan, ["name"]) == (path, 3)


def test_missing_key_gives_deepest_present_line(tmp_path):
    """A key the file does not have (a default) points at the deepest key it has."""
    path = _write(tmp_path, "s.yaml", SCENARIO)
    scenario = load_scenario(path)
    assert where(scenario, ["objectives", "targets", "priority_1"]) == (path, 8)


def test_no_yaml_is_read_again(tmp_path):
    """The positions are kept from the load: the file may be gone (or changed) when a
    problem is found later, and the line is still the loaded one. Before, each caller read
    the YAML again, so a deleted file gave no line and an edited one a wrong line."""
    path = _write(tmp_path, "s.yaml", SCENARIO)
    scenario = load_scenario(path)
    path.write_text("# edited after loading\n" * 5 + SCENARIO, encoding="utf-8")
    assert where(scenario, ["objectives", "primary"]) == (path, 9)
    path.unlink()
    problem = problem_at(scenario, ["objectives", "primary"], "bad", "fix it")
    assert (problem.file, problem.line, problem.field) == (path, 9, "objectives.primary")


def test_model_built_in_code_has_no_line():
    """A model not loaded from a file has no line; the file given as a fallback is named."""
    station = {"name": "A", "location": [7.42, 43.73], "units": {"ambulance": 1}}
    plan = Plan.model_validate({"version": 1, "name": "x", "stations": [station]})
    assert where(plan, ["stations", 0]) == (None, None)
    assert where(plan, ["stations", 0], file="given.yaml") == (Path("given.yaml"), None)


def test_a_pickled_copy_has_no_source(tmp_path):
    """Sources stay in the process that loaded the file (workers get plain models)."""
    plan = load_plan(_write(tmp_path, "p.yaml", PLAN))
    assert source_of(pickle.loads(pickle.dumps(plan))) is None
    assert source_of(plan) is not None


def test_sources_leave_with_their_models(tmp_path):
    """The registry holds no model alive: an entry goes when its model is collected."""
    path = _write(tmp_path, "p.yaml", PLAN)
    before = len(problems._SOURCES)
    plan = load_plan(path)
    assert len(problems._SOURCES) == before + 1
    del plan
    gc.collect()
    assert len(problems._SOURCES) == before


def test_swept_variants_point_at_the_scenario_file(tmp_path):
    """A sweep's variants are new models; they keep the lines of the file they came from."""
    path = _write(tmp_path, "s.yaml", SCENARIO)
    variants = scenario_variants(path, [("incidents.background.medical", [0.2, 0.4])])
    for variant in variants:
        assert where(variant.scenario, ["incidents", "background", "medical"]) == (path, 7)


def test_private_module_is_a_shim():
    """twin.scenario._problems re-exports the public module (for packages not yet switched)."""
    from twin.scenario import _problems

    assert _problems.line_of is problems.line_of
    assert _problems.problems_from is problems.problems_from
    assert _problems.where is problems.where
