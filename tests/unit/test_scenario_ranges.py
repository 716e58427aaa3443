"""Every quantity has a finite, plausible range: values that would hang a run are refused."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from twin.errors import Problem, ScenarioError
from twin.scenario import load_plan, load_scenario

BASE = """\
version: 1
name: test
city: {name: monaco}
time:
  duration: 1 h
"""


def _problems(tmp_path: Path, extra: str, base: str = BASE) -> list[Problem]:
    path = tmp_path / "scenario.yaml"
    path.write_text(base + textwrap.dedent(extra), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, check_paths=False)
    return info.value.problems


@pytest.mark.parametrize(
    ("extra", "line", "field", "words"),
    [
        (
            "incidents:\n  background: {medical: .inf}\n",
            7,
            "incidents.background.medical",
            "finite",
        ),
        ("incidents:\n  background: {fire: 1e300}\n", 7, "incidents.background.fire", "<= 100"),
        (
            "hazards:\n  - kind: rainfall\n    hyetograph:\n"
            "      - {at: 0, intensity: 1e300 mm/h}\n",
            9,
            "hazards[0].hyetograph[0].intensity",
            "at most 2000 mm/h",
        ),
        (
            "hazards:\n  - kind: inflow\n    name: a\n    location: [7.42, 43.73]\n"
            "    hydrograph: [{at: 0, discharge: 1e9}]\n",
            10,
            "hazards[0].hydrograph",
            "at most 300000 m3/s",
        ),
        ("seed: 99999999999999999999999\n", 6, "seed", "<= 9223372036854775807"),
        (
            "objectives:\n  weights: {hospital_overflow: .nan}\n",
            7,
            "objectives.weights.hospital_overflow",
            "finite",
        ),
        (
            "objectives:\n  weights: {unserved_incidents: -1}\n",
            7,
            "objectives.weights.unserved_incidents",
            ">= 0",
        ),
        ("flood:\n  alpha: .nan\n", 7, "flood.alpha", "finite"),
    ],
)
def test_implausible_values_are_refused_with_their_line(
    tmp_path: Path, extra: str, line: int, field: str, words: str
) -> None:
    """Each value is refused with the line and field it is on, saying the limit."""
    problems = _problems(tmp_path, extra)
    assert len(problems) == 1, problems
    assert problems[0].line == line
    assert str(problems[0].field).startswith(field)
    assert words in problems[0].message


def test_huge_duration_is_refused(tmp_path: Path) -> None:
    """A duration of 1e300 s (which made `twin respond` hang) is beyond a year."""
    problems = _problems(tmp_path, "", base=BASE.replace("1 h", "1e300"))
    assert [(p.line, p.field) for p in problems] == [(5, "time.duration")]
    assert "at most 366 d" in problems[0].message


def test_limits_are_inclusive(tmp_path: Path) -> None:
    """The bounds themselves are accepted: 366 d, 2000 mm/h, 100 calls per 1000 a day."""
    path = tmp_path / "scenario.yaml"
    path.write_text(
        BASE.replace("1 h", "366 d")
        + "incidents:\n  background: {medical: 100}\n"
        + "hazards:\n  - kind: rainfall\n    hyetograph: [{at: 0, intensity: 2000 mm/h}]\n",
        encoding="utf-8",
    )
    scenario = load_scenario(path, check_paths=False)
    assert scenario.time.duration == 366 * 86400.0
    assert scenario.incidents.background.medical == 100.0


def test_unit_counts_and_capacities_are_bounded(tmp_path: Path) -> None:
    """A million ambulances at a station, or a shelter for 1e12 people, is refused."""
    path = tmp_path / "plan.yaml"
    path.write_text(
        "version: 1\nkind: plan\nname: p\n"
        "stations:\n  - {name: s, location: [7.42, 43.73], units: {ambulance: 1000000}}\n"
        "shelters:\n  - {name: h, location: [7.42, 43.73], capacity: 1000000000000}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as info:
        load_plan(path)
    fields = [(p.line, p.field) for p in info.value.problems]
    assert fields == [(5, "stations[0].units.ambulance"), (7, "shelters[0].capacity")]
