"""A crowd run set up from a validated scenario, its city and a plan.

Used by ``twin crowd``; the coupled city model wires the same pieces itself. Walkers come
from the evacuation order (its share on foot) and from every crowd event; evacuees go to
the plan's shelters (or, without any, to the city's shelter-like facilities), venue crowds
to their venue's exits; ground collapses close the walk links within their radius at their
time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from twin.crowd.model import CrowdModel
from twin.crowd.network import WalkNetwork
from twin.crowd.params import CrowdParams
from twin.crowd.sources import (
    _project,
    evacuees,
    shelters_from_facilities,
    shelters_from_plan,
    venue_crowd,
)
from twin.errors import Problem, UserInputError
from twin.scenario.hazards import CrowdEvent, GroundCollapse

if TYPE_CHECKING:
    from twin.city import CityPack
    from twin.scenario.plan import Plan
    from twin.scenario.schema import Scenario


def rng_for(seed: int, purpose: str) -> np.random.Generator:
    """The random stream of one purpose of a run (the same derivation as the response
    model's): the same ``seed`` and ``purpose`` always give the same stream."""
    key = int.from_bytes(hashlib.sha256(purpose.encode()).digest()[:8], "little")
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))


def links_near(net: WalkNetwork, x: float, y: float, radius: float) -> np.ndarray:
    """Mask of links whose straight segment passes within ``radius`` (m) of ``(x, y)``."""
    ax, ay = net.x[net.tail], net.y[net.tail]
    dx, dy = net.x[net.head] - ax, net.y[net.head] - ay
    seg2 = np.maximum(dx * dx + dy * dy, 1e-12)
    s = np.clip(((x - ax) * dx + (y - ay) * dy) / seg2, 0.0, 1.0)
    return np.hypot(ax + s * dx - x, ay + s * dy - y) <= radius


@dataclass
class CrowdRun:
    """A crowd model with its timeline of closures.

    Attributes
    ----------
    model
        The model, people and destinations added.
    closures
        ``(time s, mask of links closed from then on, name)``, in time order.
    """

    model: CrowdModel
    closures: list[tuple[float, np.ndarray, str]] = field(default_factory=list)

    def run(
        self,
        until: float,
        *,
        dt: float = 1.0,
        chunk: float = 60.0,
        on_progress: Callable[[CrowdModel], None] | None = None,
    ) -> None:
        """Advance to ``until`` (s), closing links on time, calling ``on_progress`` after
        each ``chunk`` (s)."""
        model = self.model
        pending = [c for c in self.closures if c[0] >= model.t]
        while model.t < until - 1e-9:
            stop = min(model.t + chunk, until)
            if pending and pending[0][0] <= stop:
                stop = max(pending[0][0], model.t)
            model.advance_to(stop, dt=dt)
            while pending and pending[0][0] <= model.t + 1e-9:
                _, mask, _ = pending.pop(0)
                model.set_closed(model.closed_outside | mask)
            if on_progress is not None:
                on_progress(model)


def crowd_from_scenario(
    scenario: Scenario,
    pack: CityPack,
    plan: Plan | None = None,
    params: CrowdParams | None = None,
) -> CrowdRun:
    """Set up the walkers, destinations and closures a scenario implies.

    Raises
    ------
    twin.errors.UserInputError
        If the scenario has no walkers, evacuees have no shelter, or a place is off the map.
    """
    net = WalkNetwork.from_graph(pack.walk, crs=pack.crs)
    model = CrowdModel(net, rng_for(scenario.seed, "crowd.speeds"), params)
    order = scenario.demand.evacuation
    if order is not None:
        shelters = (
            shelters_from_plan(pack, net, list(plan.shelters))
            if plan is not None and plan.shelters
            else shelters_from_facilities(pack, net)
        )
        if shelters.nodes.size == 0:
            raise UserInputError(
                Problem(
                    f"the evacuation has nowhere to go: the plan lists no shelters and "
                    f"{pack.name} has no shelter, assembly point, school or community centre",
                    field="shelters",
                    fix="add `shelters:` with locations and capacities to the plan",
                )
            )
        model.add_destinations(
            shelters.nodes, shelters.capacities, shelters.names, group="shelters"
        )
        nodes, depart = evacuees(pack, net, order, rng_for(scenario.seed, "crowd.evacuees"))
        model.add_people(nodes, depart, group="shelters")
    closures = []
    for i, hazard in enumerate(scenario.hazards):
        if isinstance(hazard, CrowdEvent):
            group = hazard.name or f"crowd event {i}"
            nodes, depart, exits = venue_crowd(
                pack, net, hazard, rng_for(scenario.seed, f"crowd.event.{i}")
            )
            model.add_destinations(exits.nodes, exits.capacities, exits.names, group=group)
            model.add_people(nodes, depart, group=group)
        elif isinstance(hazard, GroundCollapse):
            ((x, y),) = _project(pack, hazard.location)
            mask = links_near(net, x, y, hazard.radius)
            closures.append((hazard.at, mask, hazard.name or f"ground collapse {i}"))
    if model.status.size == 0:
        raise UserInputError(
            Problem(
                "the scenario sends nobody on foot: it has no crowd event and no evacuation "
                "order with walkers",
                field="hazards",
                fix="add a `crowd_event` hazard or `demand.evacuation` with car_share < 1",
            )
        )
    return CrowdRun(model, sorted(closures, key=lambda c: c[0]))
