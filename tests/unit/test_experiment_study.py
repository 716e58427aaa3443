"""Studies: content keys, common random numbers in the tasks, swept scenario variants."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.errors import ScenarioError, UserInputError
from twin.experiment.study import PlanEntry, Study, Variant, parse_param, scenario_variants
from twin.scenario.loader import load_plan, load_scenario

SCENARIOS = Path(__file__).parents[2] / "scenarios"
FLOOD = SCENARIOS / "monaco_flash_flood.yaml"


def _study(crn: bool = True) -> Study:
    scenario = load_scenario(FLOOD)
    plans = [PlanEntry.of(load_plan(p), p) for p in scenario.plans]
    return Study("compare", FLOOD, [Variant.of(scenario)], plans, base_seed=1, crn=crn)


def test_tasks_share_seeds_under_crn():
    """Every plan of a replication gets the same seed with CRN and its own without."""
    tasks = _study().tasks(range(3), "v")
    assert len(tasks) == 6
    assert tasks[0].seed == tasks[1].seed != tasks[2].seed
    free = _study(crn=False).tasks(range(1), "v")
    assert free[0].seed != free[1].seed


def test_ids_are_content_keys():
    """The same study has the same id; a run's id changes with the code version."""
    assert _study().study_id == _study().study_id
    assert _study().study_id != _study(crn=False).study_id
    assert _study().tasks(range(1), "v1")[0].run_id != _study().tasks(range(1), "v2")[0].run_id


def test_param_values_are_yaml():
    """--param values are read as YAML scalars: numbers stay numbers, units stay text."""
    assert parse_param("incidents.background.medical=0.5, 1") == (
        "incidents.background.medical",
        [0.5, 1],
    )
    assert parse_param("a.b=40 mm/h")[1] == ["40 mm/h"]
    with pytest.raises(UserInputError, match="cannot read --param"):
        parse_param("no_values=")


def test_variants_cross_params_and_select_by_kind():
    """Two params of 2 values make 4 variants; list items are found by their kind."""
    variants = scenario_variants(
        FLOOD,
        [parse_param("incidents.background.medical=0.2,0.4"),
         parse_param("hazards.rainfall.hyetograph.2.intensity=60 mm/h,120 mm/h")],
    )  # fmt: skip
    assert len(variants) == 4
    assert len({v.hash for v in variants}) == 4
    rain = variants[3].scenario.hazards[0].hyetograph[2].intensity
    assert rain == pytest.approx(120 / 3.6e6)
    assert variants[3].scenario.incidents.background.medical == 0.4


def test_bad_params_are_refused():
    """A path the scenario lacks, an invalid value and a swept city are user errors."""
    with pytest.raises(UserInputError, match="no field"):
        scenario_variants(FLOOD, [parse_param("hazards.snow.depth=1,2")])
    with pytest.raises(ScenarioError, match="with --param"):
        scenario_variants(FLOOD, [parse_param("incidents.background.medical=-1")])
    with pytest.raises(UserInputError, match="one city"):
        scenario_variants(FLOOD, [parse_param("city.name=helsinki")])


def test_from_files_is_the_study_the_parts_make():
    """Study.from_files with the scenario's plans is the study built from its parts (same
    content key, so the CLI and the Python API find each other's runs)."""
    built = Study.from_files(FLOOD, seed=1)
    assert built.study_id == _study().study_id
    assert [p.name for p in built.plans] == ["baseline", "two_stations"]
    assert built.primary == load_scenario(FLOOD).objectives.primary


def test_from_files_baseline_and_params():
    """The baseline is found by name or file; swept params may be given as text."""
    plans = [SCENARIOS / "plans" / f"monaco_{n}.yaml" for n in ("baseline", "two_stations")]
    assert Study.from_files(FLOOD, plans, baseline="two_stations").baseline == 1
    assert Study.from_files(FLOOD, plans, baseline=str(plans[1])).baseline == 1
    with pytest.raises(UserInputError, match="none of the compared plans"):
        Study.from_files(FLOOD, plans, baseline="nobody")
    sweep = Study.from_files(
        FLOOD, plans, kind="sweep", params=["incidents.background.medical=0.2,0.4"]
    )
    assert [v.label for v in sweep.variants] == [
        "incidents.background.medical=0.2",
        "incidents.background.medical=0.4",
    ]


def test_from_files_drops_weights_the_model_does_not_report():
    """The flood scenario weighs people_exposed, which the response model does not report:
    the score is left out, with a note saying why (before, the CLI printed it itself)."""
    study = Study.from_files(FLOOD, seed=1)
    assert study.weights == {}
    (note,) = study.notes
    assert "people_exposed" in note
    assert "weighted score is left out" in note
