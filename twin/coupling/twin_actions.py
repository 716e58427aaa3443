"""A plan's trigger actions in the coupled twin: checked and resolved at set-up, carried
out at run time.

At set-up :func:`check_plan_actions` refuses actions the coupled run cannot carry out and
:func:`trigger_actions` resolves each ``close_road`` and ``open_shelter`` on the map (a
road or shelter that is not there is refused before the run). When a trigger fires, the
exchange (:meth:`twin.coupling.exchange.Exchange.evaluate_triggers`) carries its actions
out through :func:`close_road`, :func:`open_shelter` and :func:`evacuate`; each is logged
with its cause.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.coupling.hazards import Closure
from twin.errors import Problem, ScenarioError

if TYPE_CHECKING:
    from twin.city.pack import CityPack
    from twin.coupling.exchange import Exchange
    from twin.scenario.plan import Plan
    from twin.scenario.schema import Scenario

__all__ = [
    "SUPPORTED_ACTIONS",
    "RoadAction",
    "ShelterAction",
    "check_plan_actions",
    "close_road",
    "evacuate",
    "open_shelter",
    "trigger_actions",
]

#: Trigger actions a coupled run carries out today (others are refused at set-up).
SUPPORTED_ACTIONS = ("warning", "evacuate", "close_road", "open_shelter")


def check_plan_actions(
    plan: Plan, plan_file: Path | str | None = None, scenario: Scenario | None = None
) -> None:
    """Refuse trigger actions the coupled run does not carry out yet (one error for all).

    An ``evacuate`` order brings the scenario's own evacuation forward for the homes in
    its ``zone`` (:func:`evacuate`): the people and the
    walk/drive split are ``demand.evacuation``'s, so an order by ``buildings``, one that
    sets its own ``compliance`` or ``car_share``, and (given ``scenario``) one in a
    scenario without ``demand.evacuation`` are refused.

    Raises
    ------
    ScenarioError
        Naming ``triggers.<i>.then.<j>`` and the supported actions.
    """
    problems = []
    for i, trigger in enumerate(plan.triggers):
        for j, action in enumerate(trigger.then):
            order = action.evacuate
            if order is not None:
                at = f"triggers.{i}.then.{j}.evacuate"
                given = order.model_fields_set
                for k in [k for k in ("buildings", "compliance", "car_share") if k in given]:
                    problems.append(
                        Problem(
                            f"the coupled run's evacuation order brings the scenario's "
                            f"evacuation forward; it cannot set {k!r}",
                            file=plan_file, field=f"{at}.{k}",
                            fix="give a `zone` (and `curve`); who leaves and who drives is "
                            "demand.evacuation's compliance and car_share",
                        )
                    )  # fmt: skip
                if scenario is not None and scenario.demand.evacuation is None:
                    problems.append(
                        Problem(
                            "the scenario has no demand.evacuation whose people to order out",
                            file=plan_file, field=at,
                            fix="add demand.evacuation (its order_time is the order without "
                            "the trigger)",
                        )
                    )  # fmt: skip
            for name in type(action).model_fields:
                if getattr(action, name) is not None and name not in SUPPORTED_ACTIONS:
                    problems.append(
                        Problem(
                            f"the coupled run cannot carry out the action {name!r} yet",
                            file=plan_file,
                            field=f"triggers.{i}.then.{j}.{name}",
                            fix=f"use {', '.join(SUPPORTED_ACTIONS)}; or run the model alone",
                        )
                    )
    if problems:
        raise ScenarioError(problems)


@dataclass(frozen=True)
class RoadAction:
    """A trigger's ``close_road`` on the run's networks: drive links (traffic network
    order), walk links (or ``None`` when the road is not walkable), how long (s; inf: to
    the end) and its name."""

    drive: np.ndarray
    walk: np.ndarray | None
    duration: float
    name: str


@dataclass(frozen=True)
class ShelterAction:
    """A trigger's ``open_shelter``: the crowd destinations it adds (walk nodes, capacities
    in people, names, why), none when the shelter is open from the start."""

    nodes: np.ndarray
    capacities: np.ndarray
    names: list[str]
    why: list[str]


def trigger_actions(
    plan: Plan, pack: CityPack, drive_net: Any, crowd_run: Any = None
) -> dict[str, RoadAction | ShelterAction]:
    """Resolve the plan's ``close_road`` and ``open_shelter`` trigger actions on the map
    (so that a road or shelter that is not there is refused before the run).

    A road closes by the one rule (:func:`twin.coupling.hazards.plan_closure_links`) on the
    drive links and, where the road is walkable, on the walk links. A shelter is a
    candidate of the city (:func:`twin.crowd.sources.city_shelters`, by name, OSM id or
    the nearest to a lon/lat) that the crowd's shelters do not hold yet.

    Raises
    ------
    twin.errors.UserInputError
        Naming ``triggers.<i>.then.<j>.close_road.road|location`` or
        ``triggers.<i>.then.<j>.open_shelter``; an ``open_shelter`` in a run nobody walks.
    """
    from twin.coupling.hazards import plan_closure_links
    from twin.crowd.sources import city_shelters
    from twin.errors import UserInputError

    out: dict[str, RoadAction | ShelterAction] = {}
    index, order = drive_net.link_index()
    for i, trigger in enumerate(plan.triggers):
        for j, action in enumerate(trigger.then):
            at = f"triggers.{i}.then.{j}"
            road = action.close_road
            if road is not None:
                f = f"{at}.close_road"
                kw = {"road": road.road, "location": road.location}
                mask = np.zeros(drive_net.n_links, dtype=bool)
                mask[order] = plan_closure_links(index, pack.crs, **kw, field=f)
                walk = None
                if crowd_run is not None:
                    wnet = crowd_run.model.net
                    windex, worder = wnet.link_index()
                    try:
                        wmask = plan_closure_links(windex, pack.crs, **kw, field=f)
                    except UserInputError:
                        wmask = None  # not a walkable street: cars only
                    if wmask is not None:
                        walk = np.zeros(wnet.n_links, dtype=bool)
                        walk[worder] = wmask
                duration = math.inf if road.duration is None else float(road.duration)
                name = road.name or road.road or f
                out[at] = RoadAction(mask, walk, duration, str(name))
            entry = action.open_shelter
            if entry is not None:
                f = f"{at}.open_shelter"
                if crowd_run is None:
                    raise UserInputError(
                        Problem("nobody walks in this run, so no shelter can be opened",
                                field=f, fix="add demand.evacuation, or drop the action")
                    )  # fmt: skip
                wnet = crowd_run.model.net
                found = city_shelters(pack, wnet, opened=[entry], field=f)
                held = set(crowd_run.model.dests.names)
                keep = [k for k, nm in enumerate(found.names) if nm not in held]
                why = found.why or [""] * len(found.names)
                out[at] = ShelterAction(
                    found.nodes[keep],
                    found.capacities[keep],
                    [found.names[k] for k in keep],
                    [why[k] for k in keep],
                )
    return out


def close_road(ex: Exchange, t: float, at: str, cause: str) -> None:
    """Carry out the trigger action at field ``at`` (a ``close_road``): its drive links
    (and walk links) close for traffic, the crowd and the response from ``t`` (s) for
    its duration (:class:`RoadAction`); logged with its
    cause."""
    action = ex.parts.actions[at]
    closure = Closure(float(t), float(t) + action.duration, action.drive, action.name, at)
    ex.add_closure(closure, action.walk)
    ex.hazard_closed |= action.drive
    traffic = ex.parts.traffic.model
    shut = action.drive & ~traffic.closed
    if shut.any():
        traffic.close_links(np.flatnonzero(shut))
    crowd = ex.parts.crowd
    if crowd is not None and action.walk is not None:
        crowd.model.set_closed(crowd.model.closed_outside | action.walk)
    until = "the end" if not math.isfinite(action.duration) else f"{action.duration:g} s"
    ex.log(
        t, "triggers", "road_closed",
        f"{action.name}: {int(action.drive.sum())} drive links closed for {until}: {cause}",
    )  # fmt: skip


def open_shelter(ex: Exchange, t: float, at: str, cause: str) -> None:
    """Carry out the trigger action at field ``at`` (an ``open_shelter``): its shelter
    joins the crowd's shelters from ``t`` (s) (walkers choosing a shelter from then on
    may go there); logged with its cause. A shelter open already is logged, not added
    twice."""
    action = ex.parts.actions[at]
    m = ex.parts.crowd.model
    new = [k for k, nm in enumerate(action.names) if nm not in m.dests.names]
    if new:
        m.add_destinations(
            action.nodes[new], action.capacities[new], [action.names[k] for k in new],
            group="shelters", why=[action.why[k] for k in new],
        )  # fmt: skip
        ex.shelters_opened += [action.names[k] for k in new]
    people = int(action.capacities[new].sum()) if new else 0
    what = ", ".join(action.names[k] for k in new) or "no new shelter (open already)"
    ex.log(t, "triggers", "shelter_opened", f"{what} ({people} places): {cause}")


def evacuate(ex: Exchange, t: float, order: Any, cause: str) -> tuple[int, int]:
    """Carry out a trigger's evacuation order at ``t`` (s): the scenario's evacuees
    (``demand.evacuation``, already split once into walkers and drivers) whose home
    lies inside the order's ``zone`` and who have not left yet leave at ``t`` plus a
    delay drawn from the order's ``curve`` (stream ``coupling.evacuate``), or at their
    scheduled time if that is earlier. Homes: a driver's origin node, a walker's start
    node (a driver who starts inside a link: the point that share along the link's
    chord). Logged with its cause.

    Returns
    -------
    tuple of int
        Walkers and cars whose departure moved.
    """
    import shapely
    from pyproj import Transformer

    p = ex.parts
    to = Transformer.from_crs("EPSG:4326", p.pack.crs, always_xy=True)
    xs, ys = to.transform(*np.asarray(order.zone, dtype=np.float64).T)
    zone = shapely.Polygon(np.column_stack([xs, ys]))
    walkers = cars = 0
    if p.crowd is not None and p.evacuee_people.size:
        m = p.crowd.model
        who = p.evacuee_people
        who = who[(m.status[who] == 0) & (m.depart[who] > t)]  # not left yet
        node = m.node[who]
        inside = shapely.contains_xy(zone, m.net.x[node], m.net.y[node])
        who = who[inside]
        new = t + order.curve.delays(who.size, ex.evacuate_rng)
        moved = new < m.depart[who]
        m.depart[who[moved]] = new[moved]
        walkers = int(moved.sum())
    cars_all = p.evacuee_vehicles
    if cars_all.size:
        traffic = p.traffic.model
        net = traffic.net
        v = traffic._v
        first, at = v.first_link[cars_all], v.start_at[cars_all]
        a = np.where(first >= 0, net.link_from[np.maximum(first, 0)], v.origin[cars_all])
        b = np.where(first >= 0, net.link_to[np.maximum(first, 0)], a)
        hx = net.x[a] + at * (net.x[b] - net.x[a])  # along the chord of the first link
        hy = net.y[a] + at * (net.y[b] - net.y[a])
        inside = shapely.contains_xy(zone, hx, hy)
        ids = cars_all[inside]
        new = t + order.curve.delays(ids.size, ex.evacuate_rng)
        cars = int(traffic.depart_earlier(ids, new).size)
    ex.log(
        t, "triggers", "evacuation_order",
        f"{walkers} walkers and {cars} cars leave from {t:.0f} s (was later): {cause}",
    )  # fmt: skip
    return walkers, cars
