"""A plan's dispatch section -> the response model's policy, every value explicit.

The plan schema (:class:`twin.scenario.plan.Dispatch`) holds each built-in policy's
defaults; the policies in :mod:`twin.response.policies` take explicit values. This module
fills them in (:func:`policy_options`), builds the policy a plan names, built-in or
registered (:func:`dispatch_policy`), and places a tiered plan's jurisdictions on the road
graph (:func:`jurisdictions_of`). Mistakes are raised as one
:class:`~twin.errors.ScenarioError` naming the plan's file, line and field.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.coupling.problems import problem_maker
from twin.errors import Problem, ScenarioError, UserInputError
from twin.response.jurisdictions import (
    AreaSpec,
    EmptyJurisdictionError,
    Jurisdictions,
    JurisdictionSpec,
    place_jurisdictions,
)
from twin.response.network import CityNetwork
from twin.response.policies import DispatchPolicy, make_policy
from twin.response.units import StationSpec

if TYPE_CHECKING:
    from twin.scenario.plan import Dispatch, Plan

__all__ = ["dispatch_policy", "jurisdictions_of", "plan_policy", "policy_options"]


def policy_options(dispatch: Dispatch) -> dict[str, Any]:
    """The options of a plan's dispatch rule as its policy class takes them, every one
    explicit: the schema's defaults filled in, tiered ``lowest_tier`` as three tier names
    (priority 1, 2, 3) and no ``jurisdictions`` (see :func:`dispatch_policy`); a registered
    policy's options as written.

    >>> make_policy("tiered", **policy_options(TieredDispatch(escalate_after=60)))  # doctest: +SKIP
    """
    params = dispatch.model_dump(exclude={"policy", "travel_time"})
    if dispatch.policy == "tiered":
        params["lowest_tier"] = tuple(dispatch.lowest_tier.of(p) for p in (1, 2, 3))
        params["jurisdictions"] = None
    return params


def plan_policy(
    policy: str, *, jurisdictions: Jurisdictions | None = None, **options: Any
) -> DispatchPolicy:
    """A policy as a plan's ``dispatch`` section would give it: ``options`` checked by the
    plan schema, its defaults filled in (see :func:`policy_options`).

    >>> plan_policy("tiered", escalate_after=60.0)  # doctest: +SKIP

    Raises
    ------
    pydantic.ValidationError
        Options the plan schema refuses.
    """
    from pydantic import TypeAdapter

    from twin.scenario.plan import Dispatch

    dispatch = TypeAdapter(Dispatch).validate_python({"policy": policy, **options})
    params = policy_options(dispatch)
    if jurisdictions is not None:
        params["jurisdictions"] = jurisdictions
    return make_policy(policy, **params)


def dispatch_policy(
    plan: Plan,
    net: CityNetwork,
    stations: list[StationSpec],
    *,
    plan_file: Path | str | None = None,
) -> DispatchPolicy:
    """The plan's dispatch policy, built with every value explicit (the plan schema holds the
    defaults): a built-in policy's options, or a registered policy's options as written.

    Raises
    ------
    ScenarioError
        A policy no one registered (listing those that are), or options its class refuses.
    """
    params = policy_options(plan.dispatch)
    if plan.dispatch.policy == "tiered":
        params["jurisdictions"] = jurisdictions_of(plan, net, stations, plan_file=plan_file)
    try:
        return make_policy(plan.dispatch.policy, **params)
    except UserInputError as exc:
        problems: list[Problem] = []
        problem = problem_maker(plan, plan_file, problems)
        for p in exc.problems:
            keys = ["dispatch", "policy"] if p.field == "dispatch.policy" else ["dispatch"]
            problem(keys, p.message, p.fix or "see the policy's documentation for its options")
        raise ScenarioError(problems) from None


def jurisdictions_of(
    plan: Plan,
    net: CityNetwork,
    stations: list[StationSpec],
    *,
    plan_file: Path | str | None = None,
) -> Jurisdictions | None:
    """The plan's jurisdictions on the road graph (see :mod:`twin.response.jurisdictions`),
    or ``None`` when the plan declares none.

    Parameters
    ----------
    plan
        A validated plan (its jurisdictions are consistent: known names, tiers in order,
        every station owned once).
    net
        The city's road network (free-flow travel times).
    stations
        The plan's stations on the graph, in plan order.
    plan_file
        The plan's file, for error messages.

    Raises
    ------
    ScenarioError
        A jurisdiction whose area holds no road node (within its parent's area).
    """
    if not plan.jurisdictions:
        return None
    items = plan.jurisdictions
    index = {j.name: k for k, j in enumerate(items)}
    station_index = {s.name: k for k, s in enumerate(stations)}
    specs = [
        JurisdictionSpec(
            j.name,
            j.tier,
            None if j.parent is None else index[j.parent],
            tuple(station_index[s] for s in j.stations),
            frozenset(index[n] for n in j.neighbours),
        )
        for j in items
    ]
    areas: list[AreaSpec | None] = []
    for j in items:
        if j.area is None:
            areas.append(None)
        elif j.area.polygon is not None:
            areas.append(AreaSpec(np.array([net.to_xy(*p) for p in j.area.polygon])))
        else:
            areas.append(AreaSpec(center=net.to_xy(*j.area.center), radius=j.area.radius))
    try:
        return place_jurisdictions(specs, areas, net.travel, [s.node for s in stations])
    except EmptyJurisdictionError as exc:
        problems: list[Problem] = []
        problem = problem_maker(plan, plan_file, problems)
        for k in exc.indices:
            j = items[k]
            within = f" within {j.parent!r}" if j.parent is not None else ""
            problem(
                ["jurisdictions", k, "area" if j.area is not None else "stations"],
                f"jurisdiction {j.name!r} holds no road node of the map{within}",
                "draw its area over streets of the city (inside its parent's area), or give "
                "it stations",
            )
        raise ScenarioError(problems) from None
