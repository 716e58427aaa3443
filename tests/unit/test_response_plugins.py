"""A dispatch policy registered by code can be named in a plan file, and runs.

The plan schema knows the built-in policies' options; any other name must be registered
(``twin.response.policies.register``), else the plan is refused listing every name a plan
may use.
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from twin.coupling.response_setup import build_response
from twin.errors import ScenarioError
from twin.response.dispatch import DispatchView
from twin.response.network import CityNetwork
from twin.response.policies import POLICIES, DispatchPolicy, register
from twin.scenario import load_plan
from twin.scenario.jsonschema import SCHEMA_DIR
from twin.scenario.schema import Scenario

PLAN = """\
version: 1
name: custom
stations:
  - name: C
    location: [7.4205, 43.7345]
    units: {{ambulance: 2}}
  - name: F
    location: [7.4160, 43.7295]
    units: {{ambulance: 1}}
dispatch:
  policy: {policy}
{options}"""


class HighestIdPolicy(DispatchPolicy):
    """Sends the free unit with the highest id whose arrival is within ``limit`` (s), else
    the soonest: unlike any built-in policy, so a run shows it was used."""

    def __init__(self, *, limit: float) -> None:
        if not limit > 0:
            raise ValueError("limit must be > 0")
        self.limit = float(limit)
        self.choices: list[int] = []
        self.views: set[type] = set()

    def choose(self, view, request, units, times):
        self.views.add(type(view))
        within = [u for u, t in zip(units, times, strict=True) if t <= self.limit]
        unit = (
            max(within, key=lambda u: u.id)
            if within
            else super().choose(view, request, units, times)
        )
        self.choices.append(unit.id)
        return unit


@pytest.fixture
def highest_id():
    """``highest_id`` registered for one test, then removed (the registry is global)."""
    register("highest_id")(HighestIdPolicy)
    yield HighestIdPolicy
    POLICIES.pop("highest_id", None)


def plan_file(tmp_path: Path, policy: str, options: str = "") -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN.format(policy=policy, options=textwrap.indent(options, "  ")))
    return path


SCENARIO = Scenario.model_validate(
    {
        "version": 1,
        "name": "t",
        "city": {"name": "monaco"},
        "time": {"duration": 12 * 3600},
        "incidents": {"background": {"medical": 0.5}},
    }
)


@pytest.fixture(scope="module")
def net(monaco_pack):
    return CityNetwork.from_pack(monaco_pack)


def test_a_registered_policy_named_in_a_plan_runs(highest_id, tmp_path, monaco_pack, net):
    """The plan names the policy and its option; the run dispatches with it, seeing only the
    read-only view."""
    path = plan_file(tmp_path, "highest_id", "limit: 900\n")
    plan = load_plan(path)
    assert plan.dispatch.policy == "highest_id"
    model = build_response(SCENARIO, plan, monaco_pack, seed=3, network=net, plan_file=path)
    assert isinstance(model.policy, HighestIdPolicy)
    assert model.policy.limit == 900.0
    kpis = model.run(SCENARIO.time.duration)
    assert kpis.incidents > 10
    assert kpis.served == kpis.incidents
    assert model.policy.views == {DispatchView}
    # units 0, 1 at C, unit 2 at F: highest id first, so F's unit takes the most calls
    sent = Counter(model.policy.choices)
    assert len(model.policy.choices) == kpis.incidents
    assert sent[2] == max(sent.values())


def test_the_same_plan_is_refused_before_the_policy_is_registered(tmp_path):
    """Unknown names are refused at load time with every name a plan may use."""
    with pytest.raises(ScenarioError) as info:
        load_plan(plan_file(tmp_path, "highest_id", "limit: 60\n"))
    problem = info.value.problems[0]
    assert (problem.field, problem.line) == ("dispatch.policy", 11)
    assert problem.message == "unknown policy 'highest_id'"
    assert problem.fix == "use one of: nearest, priority, coverage, tiered"


def test_a_misspelt_registered_name_is_suggested(highest_id, tmp_path):
    with pytest.raises(ScenarioError) as info:
        load_plan(plan_file(tmp_path, "highest_ip", "limit: 60\n"))
    problem = info.value.problems[0]
    assert problem.message == "unknown policy 'highest_ip'; did you mean 'highest_id'?"
    assert problem.fix == "use one of: nearest, priority, coverage, tiered, highest_id"


def test_options_the_policy_refuses_name_the_plan_line(highest_id, tmp_path, monaco_pack, net):
    """Options of a registered policy are checked by its class: an unknown or bad one is a
    plan error at `dispatch`."""
    for options in ("limit: 60\nspeed: 3\n", "limit: -1\n"):
        path = plan_file(tmp_path, "highest_id", options)
        with pytest.raises(ScenarioError) as info:
            build_response(SCENARIO, load_plan(path), monaco_pack, network=net, plan_file=path)
        problem = info.value.problems[0]
        assert (problem.file, problem.field, problem.line) == (path, "dispatch", 10)
        assert "highest_id" in problem.message


def test_built_in_options_are_still_checked_by_the_schema(highest_id, tmp_path):
    """A built-in policy keeps its own options' validation (no free-form options)."""
    with pytest.raises(ScenarioError, match="unknown field `limit`"):
        load_plan(plan_file(tmp_path, "nearest", "limit: 60\n"))


def test_json_schema_takes_registered_and_built_in_policies(tmp_path):
    """Editors' JSON Schema: a plan naming a registered policy validates, built-in plans
    match exactly one dispatch rule, and a built-in policy with a foreign option fails."""
    from ruamel.yaml import YAML

    schema = json.loads((SCHEMA_DIR / "plan.schema.json").read_text())
    yaml = YAML(typ="safe")
    for policy, options, valid in [
        ("highest_id", "limit: 60\n", True),
        ("tiered", "escalate_after: 60\n", True),
        ("nearest", "", True),
        ("nearest", "limit: 60\n", False),
    ]:
        data = yaml.load(PLAN.format(policy=policy, options=textwrap.indent(options, "  ")))
        errors = list(jsonschema.Draft202012Validator(schema).iter_errors(data))
        assert (not errors) == valid, (policy, options, errors)
    for path in sorted(Path("scenarios/plans").glob("*.yaml")):
        jsonschema.validate(yaml.load(path.read_text()), schema)
