"""Early-warning triggers: the plan field, the `for` hold, units, warning levels, errors."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import jsonschema
import pytest

from twin.coupling.triggers import TriggerSet, check_gauges, rain_forecast, scenario_forecasts
from twin.errors import ScenarioError
from twin.scenario import load_plan, load_scenario
from twin.scenario.plan import UnitCounts
from twin.scenario.signals import SIGNALS, allowed_signals
from twin.scenario.triggers import Trigger, UnitsMoved

PLAN = """\
version: 1
name: early warning
stations:
  - name: Fontvieille
    location: [7.4160, 43.7290]
    units: {ambulance: 2}
  - name: Condamine
    location: [7.4200, 43.7350]
    units: {ambulance: 1}
triggers:
  - when: max_depth_m > 0.3 m for 10 min
    then:
      - warning: {level: orange, message: Leave basements}
      - evacuate: {zone: [[7.41, 43.72], [7.42, 43.72], [7.42, 43.73]]}
  - when:
      signal: forecast:rain_mm_h@30min
      op: ">="
      value: 20 mm/h
      for: 5 min
    then:
      - preposition: {ambulance: 1, from: Condamine, to: Fontvieille}
      - open_shelter: Ecole de Fontvieille
"""


def _write(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _set(when: str, *, repeat: bool = False, level: str = "red") -> TriggerSet:
    return TriggerSet.from_data(
        [{"when": when, "then": [{"warning": {"level": level}}], "repeat": repeat}]
    )


def _fired_at(ts: TriggerSet, series: list[tuple[float, float]], key: str) -> list[float]:
    return [t for t, v in series for _ in ts.update(t, {key: v})]


# ----------------------------------------------------------------- the `for` hold


def test_hold_fires_after_the_duration() -> None:
    """A condition true at every update fires at the first update `for` after it began."""
    ts = _set("max_depth_m > 0.3 m for 10 min")
    series = [(t, 0.5) for t in range(0, 1501, 60)]
    assert _fired_at(ts, series, "max_depth_m") == [600.0]
    assert ts.log[0].since == 0.0
    assert ts.log[0].values == {"max_depth_m": 0.5}


def test_blip_shorter_than_the_hold_does_not_fire() -> None:
    """True for 5 min, false once, true again: the count restarts at the second rise."""
    ts = _set("max_depth_m > 0.3 m for 10 min")
    series = [(0, 0.5), (300, 0.5), (360, 0.1), (420, 0.5), (900, 0.5), (1020, 0.5)]
    assert _fired_at(ts, series, "max_depth_m") == [1020.0]
    assert ts.log[0].since == 420.0


def test_nan_breaks_the_hold() -> None:
    """An unknown value (NaN) is not a value above the threshold."""
    ts = _set("people_in_hazard >= 10 for 2 min")
    series = [(0, 12.0), (60, math.nan), (120, 12.0), (180, 12.0), (240, 12.0)]
    assert _fired_at(ts, series, "people_in_hazard") == [240.0]


def test_without_hold_fires_at_once_and_only_once() -> None:
    """No `for`: fires at the first update it holds; `repeat: false` never again."""
    ts = _set("vehicles_stranded > 5")
    series = [(0, 1.0), (60, 6.0), (120, 7.0), (180, 1.0), (240, 9.0)]
    assert _fired_at(ts, series, "vehicles_stranded") == [60.0]


def test_repeat_rearms_when_the_condition_stops_holding() -> None:
    """`repeat: true`: fires again once the condition has dropped and held anew."""
    ts = _set("open_incidents > 5 for 1 min", repeat=True)
    series = [(0, 6.0), (60, 6.0), (120, 6.0), (180, 2.0), (240, 7.0), (300, 7.0)]
    assert _fired_at(ts, series, "open_incidents") == [60.0, 300.0]


def test_docstring_example_runs() -> None:
    """The module's example (red after 10 min above 0.3 m) runs as written."""
    import doctest

    import twin.coupling.triggers as module

    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0


def test_time_may_not_go_back_and_signals_must_be_filled() -> None:
    """Programming errors of the caller are refused, not guessed around."""
    ts = _set("max_depth_m > 0.3")
    ts.update(60.0, {"max_depth_m": 0.0})
    with pytest.raises(ValueError, match="before the previous"):
        ts.update(30.0, {"max_depth_m": 0.0})
    with pytest.raises(ValueError, match="max_depth_m"):
        ts.update(90.0, {"flooded_area_m2": 0.0})


# ----------------------------------------------------------------- units


@pytest.mark.parametrize(
    ("when", "key", "threshold"),
    [
        ("max_depth_m > 0.3 m", "max_depth_m", 0.3),
        ("max_depth_m > 30 cm", "max_depth_m", 0.3),
        ("max_depth_m > 0.3", "max_depth_m", 0.3),  # bare: the signal's unit
        ("km_closed_cars > 500 m", "km_closed_cars", 0.5),
        ("km_closed_cars > 2", "km_closed_cars", 2.0),
        ("flooded_area_m2 >= 5 ha", "flooded_area_m2", 50_000.0),
        ("shelter_load > 80 %", "shelter_load", 0.8),
        ("network_speed_index < 0.6", "network_speed_index", 0.6),
        ("forecast:rain_mm_h@30min > 20 mm/h", "forecast:rain_mm_h@1800s", 20.0),
        ("forecast:rain_mm_h@1h > 0.5 mm/min", "forecast:rain_mm_h@3600s", 30.0),
        ("forecast:rain_mm_h > 20", "forecast:rain_mm_h@0s", 20.0),
        ("gauge:harbour > 50 cm", "gauge:harbour", 0.5),
        ('gauge:"Port Hercule" > 1 m', "gauge:Port Hercule", 1.0),
        ("warning_level >= orange", "warning_level", 3.0),
        ("warning_level >= 3", "warning_level", 3.0),
        ("units_available <= 1", "units_available", 1.0),
    ],
)
def test_thresholds_are_read_in_the_signals_unit(when: str, key: str, threshold: float) -> None:
    """Values with units are converted to the unit the signal is filed in."""
    condition = Trigger.model_validate({"when": when, "then": [{"open_shelter": "x"}]}).when
    assert condition.key == key
    assert condition.threshold == pytest.approx(threshold, rel=1e-12)  # unit factors only


def test_durations_with_units_and_the_mapping_form() -> None:
    """`for 1h30m` and the mapping form with `for: 90 min` are the same condition."""
    text = Trigger.model_validate(
        {"when": "max_depth_m > 0.3 m for 1h30m", "then": [{"open_shelter": "x"}]}
    ).when
    mapping = Trigger.model_validate(
        {
            "when": {"signal": "max_depth_m", "op": ">", "value": "30 cm", "for": "90 min"},
            "then": [{"open_shelter": "x"}],
        }
    ).when
    assert text.hold == mapping.hold == 5400.0
    assert str(text) == str(mapping) == "max_depth_m > 0.3 m for 1 h 30 min"


def test_rain_forecast_reads_the_hyetograph_ahead() -> None:
    """20 mm/h from 30 min on: seen 30 min ahead at t=0, not by a reading at t=0."""
    mm_h = 1e-3 / 3600.0
    steps = [[(0.0, 5 * mm_h), (1800.0, 20 * mm_h), (3600.0, 0.0)]]
    assert rain_forecast(steps, 0.0) == pytest.approx(5.0)
    assert rain_forecast(steps, 0.0 + 1800.0) == pytest.approx(20.0)
    assert rain_forecast(steps, 4000.0) == 0.0


def test_scenario_forecasts_fill_the_forecast_keys(tmp_path: Path) -> None:
    """The scenario's hyetograph read 30 min ahead gives the trigger its value."""
    path = _write(
        tmp_path,
        """\
        version: 1
        name: rain
        city: {name: monaco}
        time: {duration: 2 h}
        hazards:
          - kind: rainfall
            hyetograph:
              - {at: 0, intensity: 5 mm/h}
              - {at: 40 min, intensity: 60 mm/h}
        """,
        "scenario.yaml",
    )
    scenario = load_scenario(path, check_paths=False)
    ts = _set("forecast:rain_mm_h@30min > 20 mm/h")
    fired = []
    for t in range(0, 3601, 300):
        fired += ts.update(t, scenario_forecasts(scenario, ts.keys, t))
    assert [f.time for f in fired] == [600.0]  # 10 min + 30 min lead = the 40 min step


# ----------------------------------------------------------------- warning levels


def test_levels_only_go_up_unless_lowered_explicitly() -> None:
    """Orange then yellow keeps orange; yellow with `lower: true` lowers; none clears."""
    ts = TriggerSet.from_data(
        [
            {"when": "max_depth_m > 0.3", "then": [{"warning": {"level": "orange"}}]},
            {"when": "max_depth_m > 0.5", "then": [{"warning": {"level": "yellow"}}]},
            {
                "when": "max_depth_m > 0.7",
                "then": [{"warning": {"level": "yellow", "lower": True}}],
            },
            {"when": "max_depth_m > 0.9", "then": [{"warning": {"level": "none", "lower": True}}]},
        ]
    )
    levels = []
    for t, depth in enumerate([0.4, 0.6, 0.8, 1.0]):
        ts.update(float(t), {"max_depth_m": depth})
        levels.append(ts.warning_level_name)
    assert levels == ["orange", "orange", "yellow", "none"]
    assert [f.warnings and f.warnings[0].level for f in ts.log] == ["orange", (), "yellow", "none"]


def test_all_clear_without_lower_is_refused() -> None:
    """`level: none` could never act without `lower: true`, so it is an error, not a no-op."""
    with pytest.raises(ScenarioError, match="needs `lower: true`"):
        _set("max_depth_m < 0.1", level="none")


def test_warning_level_is_a_signal_seen_at_the_next_update() -> None:
    """A trigger on warning_level reads the board; a warning issued now is seen next."""
    ts = TriggerSet.from_data(
        [
            {"when": "max_depth_m > 0.3", "then": [{"warning": {"level": "red"}}]},
            {"when": "warning_level >= orange", "then": [{"open_shelter": "school"}]},
        ]
    )
    first = ts.update(0.0, {"max_depth_m": 0.5})
    second = ts.update(60.0, {"max_depth_m": 0.5})
    assert [f.trigger for f in first] == [0]
    assert [f.trigger for f in second] == [1]
    assert second[0].values == {"warning_level": 4.0}


def test_areas_have_their_own_levels() -> None:
    """A yellow warning for one area is not swallowed by an orange one elsewhere."""
    area = {"name": "Port", "center": [7.42, 43.735], "radius": "500 m"}
    ts = TriggerSet.from_data(
        [
            {"when": "max_depth_m > 0.3", "then": [{"warning": {"level": "orange"}}]},
            {"when": "max_depth_m > 0.3", "then": [{"warning": {"level": "yellow", "area": area}}]},
        ]
    )
    ts.update(0.0, {"max_depth_m": 1.0})
    assert ts.board.levels == {"whole map": "orange", "Port": "yellow"}
    assert ts.warning_level == 3


def test_snapshot_restore_continues_the_same() -> None:
    """A set restored from a JSON round trip of a snapshot fires as the straight one."""
    data = [
        {"when": "max_depth_m > 0.3 for 5 min", "then": [{"warning": {"level": "orange"}}]},
        {"when": "max_depth_m > 0.6 for 5 min", "then": [{"warning": {"level": "red"}}]},
    ]
    depths = [0.0, 0.4, 0.5, 0.7, 0.7, 0.7, 0.8, 0.9, 0.9, 0.9, 0.9, 0.9]
    straight, first = TriggerSet.from_data(data), TriggerSet.from_data(data)
    for k, d in enumerate(depths):
        straight.update(k * 120.0, {"max_depth_m": d})
    for k, d in enumerate(depths[:5]):
        first.update(k * 120.0, {"max_depth_m": d})
    resumed = TriggerSet.from_data(data)
    resumed.restore(json.loads(json.dumps(first.snapshot())))
    for k, d in enumerate(depths[5:], start=5):
        resumed.update(k * 120.0, {"max_depth_m": d})
    assert [f.as_dict() for f in resumed.log] == [f.as_dict() for f in straight.log]
    assert [(f.time, f.trigger) for f in straight.log] == [(480.0, 0), (720.0, 1)]
    assert resumed.board.levels == straight.board.levels == {"whole map": "red"}


# ----------------------------------------------------------------- plan files


def test_plan_with_triggers_loads(tmp_path: Path) -> None:
    """Both condition forms and every action kind of the example load."""
    plan = load_plan(_write(tmp_path, PLAN))
    assert [t.when.key for t in plan.triggers] == ["max_depth_m", "forecast:rain_mm_h@1800s"]
    assert [a.kind for a in plan.triggers[0].then] == ["warning", "evacuate"]
    assert plan.triggers[1].then[0].preposition.source == "Condamine"
    assert TriggerSet(plan.triggers).keys == ["forecast:rain_mm_h@1800s", "max_depth_m"]


def test_unknown_signal_names_file_line_and_the_allowed_signals(tmp_path: Path) -> None:
    """A misspelt signal: file:line of `when`, a suggestion, every allowed signal."""
    path = _write(tmp_path, PLAN.replace("max_depth_m > 0.3 m", "max_dept_m > 0.3 m"))
    with pytest.raises(ScenarioError) as info:
        load_plan(path)
    (problem,) = info.value.problems
    assert (problem.file, problem.line) == (path, 11)
    assert "unknown signal 'max_dept_m'; did you mean 'max_depth_m'?" in problem.message
    for name in allowed_signals():
        assert name in (problem.fix or "")
    assert f"{path}:11" in str(info.value)


def test_bad_unit_and_bad_operator_name_their_lines(tmp_path: Path) -> None:
    """A unit the signal cannot take, and `=` for `==`, each at its own line."""
    text = PLAN.replace("value: 20 mm/h", "value: 20 m").replace("> 0.3 m for", "= 0.3 m for")
    with pytest.raises(ScenarioError) as info:
        load_plan(_write(tmp_path, text))
    problems = info.value.problems
    assert [p.line for p in problems] == [11, 18]
    assert "operator '='" in problems[0].message
    assert "unknown unit 'm' for a rain rate" in problems[1].message
    assert problems[1].field == "triggers[1].when.value"


def test_warning_level_refuses_other_values() -> None:
    """A level is a name or a whole rank 0-4: purple, 2.5 and 5 are refused."""
    for value in ("purple", "2.5", "5", 5):
        with pytest.raises(ValueError, match="warning_level is compared with a level"):
            Trigger.model_validate(
                {
                    "when": {"signal": "warning_level", "op": ">=", "value": value},
                    "then": [{"open_shelter": "x"}],
                }
            )


def test_count_signal_refuses_a_unit(tmp_path: Path) -> None:
    """people_in_hazard is a count: `5 m` is refused with the signal's unit named."""
    text = PLAN.replace("max_depth_m > 0.3 m for", "people_in_hazard > 5 m for")
    with pytest.raises(ScenarioError, match="a number of people"):
        load_plan(_write(tmp_path, text))


def test_preposition_to_an_unknown_station(tmp_path: Path) -> None:
    """A station the plan does not list is named with its line and the plan's stations."""
    path = _write(tmp_path, PLAN.replace("to: Fontvieille}", "to: Fontvielle}"))
    with pytest.raises(ScenarioError) as info:
        load_plan(path)
    (problem,) = info.value.problems
    assert problem.line == 21
    assert "did you mean 'Fontvieille'?" in problem.message
    assert problem.field == "triggers[1].then[0].preposition.to"


def test_one_action_per_entry(tmp_path: Path) -> None:
    """An action entry with two kinds is refused."""
    text = PLAN.replace(
        "      - open_shelter: Ecole de Fontvieille\n",
        "      - {open_shelter: Ecole, warning: {level: red}}\n",
    )
    with pytest.raises(ScenarioError, match="exactly one of warning"):
        load_plan(_write(tmp_path, text))


def test_unknown_gauge_names_the_plan_line_and_the_scenarios_gauges(tmp_path: Path) -> None:
    """A trigger on a gauge the scenario lacks is caught when plan and scenario meet."""
    path = _write(tmp_path, PLAN.replace("max_depth_m > 0.3 m", "gauge:harbor > 0.3 m"))
    plan = load_plan(path)
    check_gauges(load_plan(_write(tmp_path, PLAN, "other.yaml")), [])  # no gauge watched
    with pytest.raises(ScenarioError) as info:
        check_gauges(plan, ["harbour", "tunnel"])
    (problem,) = info.value.problems
    assert (problem.file, problem.line) == (path, 11)
    assert "gauges: harbour, tunnel" in problem.message


def test_plan_json_schema_takes_both_forms(tmp_path: Path) -> None:
    """The committed JSON Schema (for editors) accepts the example's triggers."""
    from ruamel.yaml import YAML

    schema = json.loads((Path(__file__).parents[2] / "twin/scenario/plan.schema.json").read_text())
    jsonschema.validate(YAML(typ="safe").load(PLAN), schema)
    bad = YAML(typ="safe").load(PLAN.replace('op: ">="', 'op: "=>"'))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_registry_and_unit_kinds_agree_with_the_plan() -> None:
    """Every signal has a unit and a description; moved units are the stations' kinds."""
    assert len(SIGNALS) == 14
    assert all(s.unit and s.description for s in SIGNALS.values())
    assert set(UnitsMoved.model_fields) == set(UnitCounts.model_fields)


def test_readme_example_is_a_valid_plan_section(tmp_path: Path) -> None:
    """The `triggers:` block of scenarios/README.md loads in a plan with its station."""
    readme = (Path(__file__).parents[2] / "scenarios/README.md").read_text(encoding="utf-8")
    block = readme.split("```yaml\ntriggers:\n", 1)[1].split("```", 1)[0]
    head = PLAN.split("triggers:\n", 1)[0]
    plan = load_plan(_write(tmp_path, head + "triggers:\n" + block))
    assert [str(t.when) for t in plan.triggers] == [
        "forecast:rain_mm_h@1800s > 20 mm/h for 10 min",
        "max_depth_m > 0.3 m for 5 min",
    ]
    assert [a.kind for a in plan.triggers[1].then] == ["warning", "evacuate", "open_shelter"]
