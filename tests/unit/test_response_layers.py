"""How the response package is put together (issue 13): plain inputs, no scenario schema, no
import circles, unit trips composed, policies on a read-only view with explicit values.

import-linter (``make lint``) checks the layers without the imports made for type hints;
the graph here counts every import, ``if TYPE_CHECKING:`` and function-level ones too.
"""

from __future__ import annotations

import ast
import inspect
import typing
from pathlib import Path

import numpy as np
import pytest

import twin.response
from twin.coupling.response_setup import plan_policy, policy_options
from twin.response import (
    IncidentProfile,
    MatrixTravel,
    ResponseModel,
    ScriptedCall,
    StationSpec,
    make_policy,
)
from twin.response.dispatch import DispatchView
from twin.response.incidents import UNIT_TYPES
from twin.response.jurisdictions import TIERS
from twin.response.policies import POLICIES
from twin.response.unit_trips import UnitTrips
from twin.scenario import plan as schema

PACKAGE = Path(twin.response.__file__).parent
OUTSIDE = ("twin.scenario", "twin.coupling", "twin.flood", "twin.traffic", "twin.crowd")
"""What the response model may not import: the schema, its adapters, other models."""


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, wherever the import statement is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def graph() -> dict[str, set[str]]:
    """Modules of twin.response -> the modules of twin.response they import."""
    names = {p.stem for p in PACKAGE.glob("*.py")}
    edges = {}
    for name in names:
        modules = imports_of(PACKAGE / f"{name}.py")
        inside = {m.split(".")[2] for m in modules if m.startswith("twin.response.")}
        edges[name] = {m for m in inside & names if m != name} if name != "__init__" else set()
    return edges


def test_the_model_never_imports_the_scenario_or_other_models():
    bad = {
        (path.name, module)
        for path in PACKAGE.glob("*.py")
        for module in imports_of(path)
        if module.startswith(OUTSIDE)
    }
    assert bad == set()


def test_no_import_circle_inside_the_package():
    """Depth-first search for a cycle (the package's own __init__ left out: it re-exports)."""
    edges = graph()
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return [*path, node, nxt]
            if nxt not in state and (cycle := visit(nxt, [*path, node])):
                return cycle
        state[node] = 2
        return None

    cycles = [c for n in sorted(edges) if n not in state and (c := visit(n, []))]
    assert cycles == []


def test_vocabularies_match_the_plan_schema():
    """Unit types and tiers are the model's own words; the schema must use the same."""
    assert typing.get_args(schema.UnitType) == UNIT_TYPES
    assert TIERS == schema.TIERS == typing.get_args(schema.Tier)


@pytest.mark.parametrize("dispatch", [schema.NearestDispatch, schema.PriorityDispatch,
                                      schema.CoverageDispatch, schema.TieredDispatch])  # fmt: skip
def test_policy_values_come_from_the_schema_alone(dispatch):
    """A built-in policy has no default of its own: every parameter is one option of its
    plan section (tiered adds the jurisdictions), and the schema's defaults build it."""
    built = dispatch()
    init = POLICIES[built.policy].__init__
    params = {} if init is object.__init__ else inspect.signature(init).parameters
    given = [p for n, p in params.items() if n != "self"]
    assert all(p.default is inspect.Parameter.empty for p in given)
    assert {p.name for p in given} == set(policy_options(built))
    assert type(make_policy(built.policy, **policy_options(built))) is POLICIES[built.policy]


def test_unit_trips_are_composed_and_policies_get_a_read_only_view():
    profile = {"medical": IncidentProfile({"ambulance": 1}, (1.0, 0.0, 0.0), 60.0, 1e-9)}
    seen = []

    class Spy(type(plan_policy("nearest"))):
        def choose(self, view, request, units, times):
            seen.append((view, view.now))
            return super().choose(view, request, units, times)

    model = ResponseModel(
        MatrixTravel(np.array([[0.0, 100.0], [100.0, 0.0]])),
        [StationSpec("s", 0, {"ambulance": 1})],
        policy=Spy(),
        scripted=[ScriptedCall(10.0, "medical", 1, 1)],
        profiles=profile,
        coverage_interval=None,
    )
    assert UnitTrips not in type(model).__mro__
    assert isinstance(model.trips, UnitTrips)
    model.run(1000.0)
    assert model.incidents[0].response_time == 100.0
    assert len(seen) == 1
    view, when = seen[0]
    assert type(view) is DispatchView
    assert when == 10.0  # the view's clock is the model's: the call came at 10 s
    assert not hasattr(view, "pending")
    assert not hasattr(view, "env")
    with pytest.raises(ValueError, match="read-only"):
        view.coverage_weights[0] = 5.0
    with pytest.raises(AttributeError):
        view.extra = 1  # slots: nothing can be attached
