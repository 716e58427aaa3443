"""Bad plans are refused with the file, line, field and a fix."""

from __future__ import annotations

import textwrap

import pytest

from twin.coupling.response_setup import build_response, plan_stations
from twin.errors import ScenarioError, UserInputError
from twin.response import POLICIES, make_policy
from twin.response.network import CityNetwork
from twin.scenario import load_plan
from twin.scenario.schema import Scenario

SCENARIO = Scenario.model_validate(
    {
        "version": 1,
        "name": "medical_only",
        "city": {"name": "monaco"},
        "time": {"duration": 3600},
        "incidents": {"background": {"medical": 1.0}},
    }
)


def write_plan(tmp_path, stations: str, dispatch: str = "policy: nearest"):
    path = tmp_path / "plan.yaml"
    path.write_text(
        "version: 1\nkind: plan\nname: test\nstations:\n"
        + textwrap.indent(textwrap.dedent(stations), "  ")
        + f"dispatch:\n  {dispatch}\n"
    )
    return path


@pytest.fixture(scope="module")
def net(monaco_pack):
    return CityNetwork.from_pack(monaco_pack)


def refused(path, pack, net) -> list:
    with pytest.raises(ScenarioError) as info:
        plan_stations(load_plan(path), SCENARIO, pack, net, plan_file=path)
    return info.value.problems


def test_unknown_facility(tmp_path, monaco_pack, net):
    """A station naming a facility the map lacks: file, line 7, field, and known ids."""
    path = write_plan(
        tmp_path,
        """\
        - name: Ghost
          units: {ambulance: 1}
          facility: node/1
        """,
    )
    (problem,) = refused(path, monaco_pack, net)
    assert problem.field == "stations[0].facility"
    assert problem.line == 7
    assert "node/1" in problem.message
    assert "/" in problem.fix  # lists facility ids of the city


def test_station_off_the_road_graph(tmp_path, monaco_pack, net):
    """A station at sea, 1 km from any drivable road, is refused."""
    path = write_plan(tmp_path, "- {name: Sea, location: [7.435, 43.725], units: {ambulance: 1}}\n")
    (problem,) = refused(path, monaco_pack, net)
    assert problem.field == "stations[0].location"
    assert "m from the nearest road" in problem.message
    assert "at [7.43500, 43.72500] (lon, lat)" in problem.message  # not projected metres


def test_unit_type_no_incident_needs(tmp_path, monaco_pack, net):
    """Rescue boats in a scenario with only medical calls are refused (field and fix)."""
    path = write_plan(
        tmp_path,
        "- {name: Port, location: [7.4205, 43.7345], units: {ambulance: 1, rescue_boat: 1}}\n",
    )
    (problem,) = refused(path, monaco_pack, net)
    assert problem.field == "stations[0].units.rescue_boat"
    assert "no incident" in problem.message
    assert "medical" in problem.message


def test_unneeded_units_allowed_on_request(tmp_path, monaco_pack, net):
    """The same plan passes with allow_unneeded_units."""
    path = write_plan(
        tmp_path,
        "- {name: Port, location: [7.4205, 43.7345], units: {ambulance: 1, rescue_boat: 1}}\n",
    )
    model = build_response(
        SCENARIO, load_plan(path), monaco_pack, network=net, allow_unneeded_units=True
    )
    assert [u.type for u in model.units] == ["ambulance", "rescue_boat"]


def test_every_problem_reported_at_once(tmp_path, monaco_pack, net):
    """Two bad stations give two problems in one error."""
    path = write_plan(
        tmp_path,
        """\
        - {name: Ghost, facility: node/1, units: {ambulance: 1}}
        - {name: Sea, location: [7.435, 43.725], units: {ambulance: 1}}
        """,
    )
    assert [p.field for p in refused(path, monaco_pack, net)] == [
        "stations[0].facility",
        "stations[1].location",
    ]


def test_unknown_policy_in_plan_file(tmp_path):
    """The plan schema refuses an unknown policy and lists the valid ones."""
    path = write_plan(
        tmp_path, "- {name: A, location: [7.42, 43.73], units: {ambulance: 1}}\n", "policy: fastest"
    )
    with pytest.raises(ScenarioError) as info:
        load_plan(path)
    text = str(info.value)
    assert "fastest" in text
    assert all(name in text for name in ("nearest", "priority", "coverage", "tiered"))


def test_unknown_policy_in_registry():
    """make_policy names every registered policy when the name is unknown."""
    with pytest.raises(UserInputError) as info:
        make_policy("fastest")
    assert all(name in str(info.value) for name in POLICIES)
    assert info.value.problems[0].field == "dispatch.policy"


def test_bad_policy_parameters():
    """An unknown or invalid parameter is a user error naming the policy."""
    with pytest.raises(UserInputError, match="coverage"):
        make_policy("coverage", coverage_time=-1.0, move_up=True)
    with pytest.raises(UserInputError, match="nearest"):
        make_policy("nearest", coverage_time=300.0)
