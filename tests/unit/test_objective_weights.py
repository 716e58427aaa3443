"""Objective weights carry units: the combined score is a time, and each weight says what one
unit of its KPI costs in it (issue 15: the demo's score was p90 in seconds plus twice the
unserved calls, with no unit anywhere)."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.errors import Problem, ScenarioError
from twin.experiment.report import score_formula
from twin.experiment.study import study_objectives
from twin.metrics.kpis import KPIS, weighted_score
from twin.scenario import load_scenario
from twin.scenario.options import Objectives
from twin.scenario.weights import WEIGHT_KINDS

BASE = """\
version: 1
name: test
city: {name: monaco}
time:
  duration: 1 h
objectives:
"""
SCENARIOS = Path(__file__).parents[2] / "scenarios"


def _problems(tmp_path: Path, extra: str) -> list[Problem]:
    path = tmp_path / "scenario.yaml"
    path.write_text(BASE + extra, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, check_paths=False)
    return info.value.problems


def test_weight_kinds_follow_the_kpi_units():
    """A plain factor exactly for KPIs stored in seconds; a duration for counts, shares and
    vehicle-hours (the scenario layer cannot import metrics, so this keeps them in step)."""
    for name, kind in WEIGHT_KINDS.items():
        assert (kind == "time") == (KPIS[name].unit == "s"), name
        assert {"count": "count", "share": "share", "vehicle_hours": "h"}.get(kind, "s") == KPIS[
            name
        ].unit


def test_weights_with_units_convert_to_seconds_of_score():
    """`unserved_incidents: 10 min` makes one unserved call cost 600 s; a percentage point
    within target is worth the written duration (the share is stored 0-1); a factor on a
    time KPI is kept."""
    weights = Objectives.model_validate(
        {"weights": {"response_time_p90": 1, "unserved_incidents": "10 min",
                     "share_within_target": "1 min", "vehicle_delay_hours": "30 s"}}
    ).score_weights()  # fmt: skip
    assert weights == {
        "response_time_p90": 1.0,
        "unserved_incidents": 600.0,
        "share_within_target": 6000.0,
        "vehicle_delay_hours": 30.0,
    }
    run = {"response_time_p90": 900.0, "unserved_incidents": 2.0,
           "share_within_target": 0.8, "vehicle_delay_hours": 4.0}  # fmt: skip
    # 15 min + 2 x 10 min - 80 points x 1 min + 4 x 0.5 min = -43 min
    assert weighted_score(run, weights) == pytest.approx(-43 * 60.0)


def test_score_formula_in_words_and_units():
    """The report and the CLI state the score as a formula with units."""
    weights = Objectives.model_validate(
        {"weights": {"response_time_p90": 1, "unserved_incidents": "10 min",
                     "share_within_target": "1 min"}}
    ).score_weights()  # fmt: skip
    assert score_formula(weights) == (
        "score (min) = response p90 (min) + 10 min per unserved call "
        "- 1 min per percentage point within target"
    )
    assert score_formula({"response_time_p90": 2.0, "people_exposed": 30.0}) == (
        "score (min) = 2 x response p90 (min) + 30 s per person exposed"
    )


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ("  weights: {response_time_p90: 10 min}\n", "objectives.weights.response_time_p90",
         "plain factor"),
        ("  weights: {unserved_incidents: 10 km}\n", "objectives.weights.unserved_incidents",
         "unknown unit 'km'"),
        ("  weights: {unserved_incidents: -3 min}\n", "objectives.weights.unserved_incidents",
         "cannot be negative"),
        ("  weights: {people_exposed: .inf}\n", "objectives.weights.people_exposed", "finite"),
        ("  weights: {people_exposed: [1]}\n", "objectives.weights.people_exposed",
         "a number or a duration"),
    ],
)  # fmt: skip
def test_bad_weights_are_refused_at_their_line(tmp_path: Path, extra: str, field: str, words):
    """A weight of the wrong dimension, sign or type is refused at its line and field."""
    problems = _problems(tmp_path, extra)
    assert len(problems) == 1, problems
    assert problems[0].line == 7
    assert str(problems[0].field) == field
    assert words in problems[0].message
    assert problems[0].fix


def test_bare_number_weights_still_work_with_a_deprecation_note():
    """The old form `unserved_incidents: 2.0` keeps its old meaning (2 s of score per call)
    and the study says how to write it with a unit."""
    objectives = Objectives.model_validate(
        {"weights": {"response_time_p90": 1.0, "unserved_incidents": 2.0}}
    )
    assert objectives.score_weights() == {"response_time_p90": 1.0, "unserved_incidents": 2.0}

    class Runner:
        name = "response"
        kpis = ("response_time_p90", "unserved_incidents")

    scenario = load_scenario(SCENARIOS / "monaco_busy_day.yaml", check_paths=False)
    scenario = scenario.model_copy(update={"objectives": objectives})
    _, weights, notes = study_objectives(scenario, Runner())
    assert weights == {"response_time_p90": 1.0, "unserved_incidents": 2.0}
    (note,) = notes
    assert "deprecated" in note
    assert "unserved_incidents: 2 s" in note


def test_ready_scenarios_use_weights_with_units():
    """The shipped busy-day scenario weighs an unserved call at 10 min, with no note."""
    scenario = load_scenario(SCENARIOS / "monaco_busy_day.yaml", check_paths=False)
    assert scenario.objectives.score_weights() == {
        "response_time_p90": 1.0,
        "unserved_incidents": 600.0,
    }
    assert scenario.objectives.weight_notes() == []
