"""Every kind of mistake in a scenario file: each is reported with file, line, field and fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from twin.errors import Problem, ScenarioError
from twin.scenario import load_plan, load_scenario, validate_file

GOOD = """\
version: 1
name: test
city: {name: monaco}
time:
  duration: 1 h
hazards:
  - kind: rainfall
    hyetograph:
      - {at: 0, intensity: 10 mm/h}
      - {at: 10 min, intensity: 20}
"""


def _write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _problems(path: Path) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value.problems


def _only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def test_good_file_loads(tmp_path: Path) -> None:
    """The base text of these tests is valid."""
    scenario = load_scenario(_write(tmp_path, GOOD))
    assert scenario.time.duration == 3600.0


def test_yaml_syntax_error(tmp_path: Path) -> None:
    """A YAML syntax error names the file, the line and the parser's complaint."""
    path = _write(tmp_path, GOOD.replace("time:\n", "time: [\n"))
    problem = _only(_problems(path))
    assert problem.file == path
    assert problem.line == 6  # where the parser noticed; the message says where it began
    assert "YAML syntax error" in problem.message
    assert "while parsing a flow sequence at line 4" in problem.message
    assert "indentation" in (problem.fix or "")
    assert "scenario.yaml:6" in str(problem)


def test_duplicate_key(tmp_path: Path) -> None:
    """A key given twice is reported on the second occurrence."""
    path = _write(tmp_path, GOOD + "name: again\n")
    problem = _only(_problems(path))
    assert problem.line == 11
    assert "duplicate key" in problem.message
    assert "remove or rename" in (problem.fix or "")


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    """An unknown key gets a 'did you mean' from the names allowed at its level."""
    path = _write(tmp_path, GOOD.replace("  duration: 1 h", "  duration: 1 h\n  durration: 2 h"))
    problem = _only(_problems(path))
    assert problem.line == 6
    assert problem.field == "time.durration"
    assert "did you mean 'duration'?" in problem.message
    assert problem.fix == "rename it to `duration`"


def test_unknown_key_without_close_match_lists_allowed(tmp_path: Path) -> None:
    """Without a close name, the fix lists the fields allowed there."""
    path = _write(tmp_path, GOOD + "zzz: 1\n")
    problem = _only(_problems(path))
    assert problem.field == "zzz"
    assert "fields allowed here: kind, version, name, description, city" in (problem.fix or "")


def test_wrong_type_names_expected_type(tmp_path: Path) -> None:
    """A value of the wrong type says which type was expected."""
    path = _write(tmp_path, GOOD + "seed: lots\n")
    problem = _only(_problems(path))
    assert problem.line == 11
    assert problem.field == "seed"
    assert "expected a whole number, got 'lots'" in problem.message
    assert problem.fix


def test_mapping_expected(tmp_path: Path) -> None:
    """A scalar where a section belongs is named as needing a mapping."""
    path = _write(tmp_path, GOOD + "flood: 3\n")
    problem = _only(_problems(path))
    assert problem.field == "flood"
    assert "expected a mapping" in problem.message


def test_negative_duration(tmp_path: Path) -> None:
    """A negative duration is refused at its line."""
    path = _write(tmp_path, GOOD.replace("duration: 1 h", "duration: -1 h"))
    problem = _only(_problems(path))
    assert (problem.line, problem.field) == (5, "time.duration")
    assert "cannot be negative" in problem.message
    assert "0 or more" in (problem.fix or "")


def test_zero_duration(tmp_path: Path) -> None:
    """A scenario must last more than 0 s."""
    path = _write(tmp_path, GOOD.replace("duration: 1 h", "duration: 0 s"))
    problem = _only(_problems(path))
    assert problem.field == "time.duration"
    assert "greater than 0" in problem.message


def test_bad_unit(tmp_path: Path) -> None:
    """An unknown unit is named with the accepted ones, at the entry's line."""
    path = _write(tmp_path, GOOD.replace("intensity: 20}", "intensity: 20 mm/hour}"))
    problem = _only(_problems(path))
    assert (problem.line, problem.field) == (10, "hazards[0].hyetograph[1].intensity")
    assert "unknown unit 'mm/hour'" in problem.message
    assert "accepted units: mm/h" in problem.message
    assert "50 mm/h" in (problem.fix or "")


def test_non_increasing_hyetograph(tmp_path: Path) -> None:
    """Hyetograph times that do not increase are reported at the offending entry."""
    path = _write(tmp_path, GOOD.replace("at: 10 min", "at: 0"))
    problem = _only(_problems(path))
    assert (problem.line, problem.field) == (10, "hazards[0].hyetograph[1].at")
    assert "strictly increase" in problem.message
    assert "sort" in (problem.fix or "")


def test_hyetograph_must_start_at_zero(tmp_path: Path) -> None:
    """The first hyetograph entry must be at 0."""
    path = _write(tmp_path, GOOD.replace("{at: 0,", "{at: 5 min,"))
    problem = _only(_problems(path))
    assert (problem.line, problem.field) == (9, "hazards[0].hyetograph[0].at")
    assert "`at: 0`" in (problem.fix or "")


def test_negative_intensity(tmp_path: Path) -> None:
    """Rain intensity cannot be negative."""
    path = _write(tmp_path, GOOD.replace("intensity: 20}", "intensity: -20}"))
    problem = _only(_problems(path))
    assert (problem.line, problem.field) == (10, "hazards[0].hyetograph[1].intensity")
    assert "cannot be negative" in problem.message


def test_missing_required_field(tmp_path: Path) -> None:
    """A missing field is reported at its parent's line with an example to add."""
    path = _write(tmp_path, GOOD.replace("  duration: 1 h\n", "  start: 2024-01-01T00:00:00\n"))
    problem = _only(_problems(path))
    assert (problem.line, problem.field) == (4, "time.duration")
    assert "missing required field `duration`" in problem.message
    assert problem.fix == "add `duration: 6 h`"


def test_wrong_version(tmp_path: Path) -> None:
    """An unknown version says which versions are supported."""
    path = _write(tmp_path, GOOD.replace("version: 1", "version: 3"))
    problem = _only(_problems(path))
    assert (problem.line, problem.field) == (1, "version")
    assert "version 3 is not supported; supported versions: 1" in problem.message
    assert "version: 1" in (problem.fix or "")


def test_missing_version(tmp_path: Path) -> None:
    """Leaving out the version is an error with a fix."""
    path = _write(tmp_path, GOOD.replace("version: 1\n", ""))
    problem = _only(_problems(path))
    assert problem.field == "version"
    assert problem.fix == "add `version: 1`"


def test_unknown_hazard_kind(tmp_path: Path) -> None:
    """A misspelt hazard kind is pointed at, with the right spelling."""
    path = _write(tmp_path, GOOD.replace("kind: rainfall", "kind: rainfal"))
    problem = _only(_problems(path))
    assert (problem.line, problem.field) == (7, "hazards[0].kind")
    assert "did you mean 'rainfall'?" in problem.message
    assert "sea_level" in (problem.fix or "")


def test_bad_choice_suggests(tmp_path: Path) -> None:
    """A value outside a fixed set of choices gets a suggestion and the choices."""
    path = _write(tmp_path, GOOD + "flood: {buildings: raise}\n")
    problem = _only(_problems(path))
    assert problem.field == "flood.buildings"
    assert "did you mean 'raised'?" in problem.message
    assert problem.fix == "use one of: obstacles, raised, ignore"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Several mistakes come back together, sorted by line, each with a fix."""
    text = GOOD.replace("version: 1", "version: 2").replace("intensity: 20}", "intensity: -1}")
    path = _write(tmp_path, text + "seed: -3\nreplicatons: 2\n")
    problems = _problems(path)
    assert [p.line for p in problems] == [1, 10, 11, 12]
    assert all(p.fix and p.file == path for p in problems)


def test_missing_file(tmp_path: Path) -> None:
    """A file that does not exist is a ScenarioError, not an OSError."""
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "nope.yaml")


def test_missing_plan_file(tmp_path: Path) -> None:
    """A plan path that does not exist is reported at its line."""
    path = _write(tmp_path, GOOD + "plans:\n  - plans/a.yaml\n")
    problem = _only(_problems(path))
    assert (problem.line, problem.field) == (12, "plans[0]")
    assert "file not found" in problem.message
    assert str(tmp_path / "plans" / "a.yaml") in problem.message


def test_missing_trips_csv(tmp_path: Path) -> None:
    """A missing trips CSV is reported at its line."""
    path = _write(tmp_path, GOOD + "demand:\n  trips: trips.csv\n")
    problem = _only(_problems(path))
    assert (problem.line, problem.field) == (12, "demand.trips")


def test_empty_file(tmp_path: Path) -> None:
    """An empty file says so."""
    path = _write(tmp_path, "# nothing\n")
    assert "empty" in _only(_problems(path)).message


def test_top_level_list(tmp_path: Path) -> None:
    """A file whose top level is not a mapping says what is expected."""
    path = _write(tmp_path, "- a\n- b\n")
    assert "mapping" in _only(_problems(path)).message


def test_event_after_end(tmp_path: Path) -> None:
    """A scripted event after the end of the run is refused at its line."""
    text = GOOD + (
        "incidents:\n  scripted:\n"
        "    - {at: 2 h, type: fire, priority: 1, location: [7.42, 43.73]}\n"
    )
    problem = _only(_problems(_write(tmp_path, text)))
    assert (problem.line, problem.field) == (13, "incidents.scripted[0].at")
    assert "after the scenario ends" in problem.message


def test_plan_errors(tmp_path: Path) -> None:
    """Plan files report like scenarios: duplicates, unknown policies, missing units."""
    path = _write(
        tmp_path,
        """\
        version: 1
        name: p
        stations:
          - {name: a, location: [7.42, 43.73], units: {ambulance: 1}}
          - {name: a, location: [7.42, 43.73], units: {ambulanse: 1}}
        dispatch: {policy: nearst}
        """,
        "plan.yaml",
    )
    with pytest.raises(ScenarioError) as info:
        load_plan(path)
    text = str(info.value)
    assert "plan.yaml:5: stations[1].units.ambulanse" in text
    assert "did you mean 'ambulance'?" in text
    assert "plan.yaml:6: dispatch.policy: unknown policy 'nearst'" in text


def test_plan_given_as_scenario(tmp_path: Path) -> None:
    """Loading a plan file as a scenario says what it is."""
    path = _write(tmp_path, "version: 1\nkind: plan\nname: p\nstations: []\n")
    problem = _only(_problems(path))
    assert "this is a plan file" in problem.message


def test_unknown_file_kind(tmp_path: Path) -> None:
    """A misspelt `kind` at the top is caught with a suggestion."""
    path = _write(tmp_path, "version: 1\nkind: scenaro\n")
    with pytest.raises(ScenarioError, match="did you mean 'scenario'"):
        validate_file(path)


def test_undecidable_kind(tmp_path: Path) -> None:
    """A file with neither scenario nor plan keys asks for a `kind`."""
    path = _write(tmp_path, "version: 1\nname: x\n")
    with pytest.raises(ScenarioError, match="kind: scenario"):
        validate_file(path)


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    """A "billion laughs" file (9^9 values through nested aliases) is refused, not expanded."""
    lines = ["version: 1", "kind: scenario", "name: bomb", 'a0: &a0 ["lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    path = _write(tmp_path, "\n".join(lines) + "\n")
    problem = _only(_problems(path))
    assert problem.file == path
    assert "more than 500,000 values" in problem.message
    assert "aliases" in problem.message


def test_tree_holding_itself_is_refused() -> None:
    """A tree that holds itself (ruamel reads `&d [1, *d]` as [1, None], but a tree built
    in code may) is refused by `plain` instead of recursing forever."""
    from twin.scenario.loader import TooManyValuesError, plain

    loop: list = [1]
    loop.append(loop)
    with pytest.raises(TooManyValuesError, match="inside themselves"):
        plain({"a": loop})


def test_plain_aliases_still_work(tmp_path: Path) -> None:
    """Ordinary anchors and aliases (a place reused) are expanded as before."""
    text = GOOD + "incidents:\n  scripted:\n"
    text += "    - {at: 0, type: fire, priority: 1, location: &p [7.42, 43.73]}\n"
    text += "    - {at: 60, type: fire, priority: 2, location: *p}\n"
    scenario = load_scenario(_write(tmp_path, text))
    assert scenario.incidents.scripted[1].location == (7.42, 43.73)


def test_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    """A file over 1 MiB is refused before it is parsed, saying the limit."""
    path = _write(tmp_path, GOOD + "# padding\n" * 120_000)
    problem = _only(_problems(path))
    assert "larger than 1024 KiB" in problem.message
    assert "CSV" in (problem.fix or "")
