"""What the response model takes from a scenario on a real map: residents, hospitals and
scripted places, each checked (Monaco pack)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from twin.coupling.response_setup import MAX_EXPECTED_CALLS, build_response, residents_for_rates
from twin.errors import ScenarioError
from twin.response.kpis import NO_HOSPITAL
from twin.response.network import CityNetwork
from twin.scenario.plan import Plan
from twin.scenario.schema import Scenario

PLAN = Plan.model_validate(
    {
        "version": 1,
        "name": "p",
        "stations": [
            {"name": "C", "location": [7.4205, 43.7345], "units": {"ambulance": 3}},
            {"name": "F", "location": [7.4160, 43.7295], "units": {"ambulance": 2}},
        ],
    }
)


def scenario(**extra) -> Scenario:
    data = {
        "version": 1,
        "name": "t",
        "city": {"name": "monaco"},
        "time": {"duration": 6 * 3600},
        "incidents": {"background": {"medical": 2.0}},
    }
    return Scenario.model_validate({**data, **extra})


@pytest.fixture(scope="module")
def net(monaco_pack):
    return CityNetwork.from_pack(monaco_pack)


@pytest.fixture(scope="module")
def no_hospital_pack(monaco_pack):
    facilities = monaco_pack.facilities
    return dataclasses.replace(monaco_pack, facilities=facilities[facilities["kind"] != "hospital"])


def test_no_hospital_is_reported_not_zero(no_hospital_pack):
    """Without a hospital, overflow is not computed (None with the reason), the patients
    left at the scene are counted, the log says it once, and its replay agrees."""
    model = build_response(scenario(), PLAN, no_hospital_pack, seed=3)
    kpis = model.run(6 * 3600.0)
    assert kpis.hospital_overflow is None
    assert kpis.hospital_note == NO_HOSPITAL
    assert kpis.untransported > 0
    assert kpis.as_dict()["hospital_overflow"] is None
    said = [e for e in model.events if e.event == "no_hospital"]
    assert [(e.time, e.detail) for e in said] == [(0.0, NO_HOSPITAL)]
    left = [e for e in model.events if e.event == "untransported"]
    assert len(left) == kpis.untransported
    assert not [e for e in model.events if e.detail == "at_hospital"]
    assert model.replay() == kpis


def test_with_hospitals_overflow_is_a_count(monaco_pack, net):
    """With the map's hospitals, overflow is a number and every patient is transported."""
    kpis = build_response(scenario(), PLAN, monaco_pack, seed=3, network=net).run(6 * 3600.0)
    assert kpis.hospital_overflow == 0
    assert kpis.hospital_note is None
    assert kpis.untransported == 0


def test_population_overrides_the_mapped_residents(monaco_pack, net):
    """`population: 8 x the mapped estimate` gives about 8 times the calls. Over a day the
    counts are Poisson with means of about 150 and 1,200: the log of their ratio has a
    standard deviation of 0.09, so 5-12 (log 8 -/+ 0.47, 0.41) holds at > 4 sigma."""
    day = {"duration": 86400}
    mapped, source = residents_for_rates(scenario(), net)
    assert mapped == pytest.approx(net.population.sum())
    assert source == "estimated from the occupants of mapped buildings"
    sc = scenario(population=round(8 * mapped), time=day)
    assert residents_for_rates(sc, net) == (round(8 * mapped), "the scenario's `population`")
    counts = []
    for s in (scenario(time=day), sc):
        model = build_response(s, PLAN, monaco_pack, seed=5, network=net, coverage_interval=None)
        model.run(86400.0)
        counts.append(len(model.incidents))
    assert 5 < counts[1] / counts[0] < 12, counts


def test_map_without_residents_needs_population(monaco_pack):
    """Rates per resident on a map whose buildings hold nobody are refused, naming
    `population`; with it, calls are spread evenly over the road nodes."""
    buildings = monaco_pack.buildings.assign(occupants=0.0)
    empty = dataclasses.replace(monaco_pack, buildings=buildings)
    with pytest.raises(ScenarioError) as info:
        build_response(scenario(), PLAN, empty)
    (problem,) = info.value.problems
    assert problem.field == "incidents.background"
    assert "population" in (problem.fix or "")
    model = build_response(scenario(population=38_000), PLAN, empty, seed=1)
    model.run(3600.0)
    assert model.incidents
    weights = model.coverage_weights
    assert np.all(weights == 0)  # the spread of coverage still follows mapped residents


def test_too_many_expected_calls_are_refused(monaco_pack, net, tmp_path: Path):
    """A rate that would make over a million calls is refused before running, with the
    scenario file's line."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "version: 1\nname: t\ncity: {name: monaco}\ntime: {duration: 300 d}\n"
        "population: 40000000\nincidents:\n  background: {medical: 100}\n"
    )
    from twin.scenario import load_scenario

    sc = load_scenario(path)
    with pytest.raises(ScenarioError) as info:
        build_response(sc, PLAN, monaco_pack, network=net, scenario_file=path)
    (problem,) = info.value.problems
    assert (problem.file, problem.line, problem.field) == (path, 7, "incidents.background")
    assert f"at most {MAX_EXPECTED_CALLS:,} calls" in problem.message


@pytest.mark.parametrize(
    ("where", "words"),
    [([13.40, 48.00], "km outside the map"), ([43.7345, 7.4205], "swapped")],
)
def test_scripted_incident_off_the_map_is_an_error(monaco_pack, net, where, words):
    """A scripted incident 680 km away, or with lat and lon swapped, is refused (it was
    snapped to a Monaco node), quoting lon/lat."""
    sc = scenario(
        incidents={"scripted": [{"at": 60, "type": "medical", "priority": 1, "location": where}]}
    )
    with pytest.raises(ScenarioError) as info:
        build_response(sc, PLAN, monaco_pack, network=net)
    (problem,) = info.value.problems
    assert problem.field == "incidents.scripted[0].location"
    assert words in problem.message
    assert "(lon, lat)" in problem.message
