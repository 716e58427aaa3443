"""Tiered jurisdictions: who owns which units, where each is responsible, and the ladder a
call climbs.

A plan's jurisdictions form trees of tiers (community < street < district < city). Each owns
stations (and their units); a jurisdiction's units, for a call, are those of its stations
and of every jurisdiction below it. Each road node belongs to the lowest jurisdiction whose
area holds it (:attr:`Jurisdictions.home`).

A call's **ladder** (:meth:`Jurisdictions.ladder`) is the list of unit pools it may draw
from, in order: the lowest jurisdiction holding it whose tier is allowed for its priority,
then (with mutual aid) that jurisdiction's neighbours, then its parent, the parent's
neighbours, and so on to the top. Pools are cumulative: a unit offered once stays offered.

Areas (:func:`jurisdictions_of`): a polygon or a circle from the plan, cut to the parent's
area (where sibling areas overlap, the one listed first wins); a jurisdiction without an
area takes the places of its parent's area no sibling area holds and that its own stations
(its whole subtree's) reach first, by free-flow drive time, among its siblings without
area. A top jurisdiction without an area takes every place no other top jurisdiction holds.
Places no jurisdiction holds are served by every unit of the plan. Neighbours: jurisdictions
of the same tier joined by a road link (a shared border on the road graph), plus those the
plan lists (both ways).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twin.errors import ScenarioError
from twin.scenario.plan import TIERS

if TYPE_CHECKING:
    from twin.response.build import CityNetwork
    from twin.response.units import StationSpec
    from twin.scenario.plan import Plan


@dataclass(frozen=True)
class JurisdictionSpec:
    """One jurisdiction on the road graph.

    Attributes
    ----------
    name, tier
        Name and tier (one of :data:`~twin.scenario.plan.TIERS`).
    parent
        Index of the jurisdiction it escalates to, or ``None`` at the top.
    stations
        Indices of the stations it owns itself (not those of jurisdictions below it).
    neighbours
        Indices of the jurisdictions that lend it units (mutual aid).
    """

    name: str
    tier: str
    parent: int | None = None
    stations: tuple[int, ...] = ()
    neighbours: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Step:
    """One rung of a call's ladder.

    Attributes
    ----------
    label
        What the rung is, for the log (``"Condamine (street)"``, ``"neighbours of ..."``).
    stations
        Indices of every station whose units the call may have from this rung on
        (cumulative: it holds the rungs below).
    """

    label: str
    stations: frozenset[int]


class Jurisdictions:
    """Jurisdiction trees over a road graph.

    Parameters
    ----------
    items
        The jurisdictions; a parent must be of a higher tier than its children.
    home
        For every road node, the index of the lowest jurisdiction holding it, or -1.
    n_stations
        Stations of the plan (a place outside every jurisdiction may draw on all).

    Raises
    ------
    ValueError
        A parent index out of range or of a tier not above its child's; ``home`` naming a
        jurisdiction that does not exist.
    """

    def __init__(self, items: Sequence[JurisdictionSpec], home: np.ndarray, n_stations: int):
        self.items = list(items)
        self.home = np.asarray(home, dtype=np.int64)
        self.n_stations = int(n_stations)
        n = len(self.items)
        for j in self.items:
            if j.tier not in TIERS:
                raise ValueError(f"{j.name}: unknown tier {j.tier!r}; tiers: {', '.join(TIERS)}")
            if j.parent is not None:
                if not 0 <= j.parent < n:
                    raise ValueError(f"{j.name}: parent index {j.parent} out of range")
                if TIERS.index(self.items[j.parent].tier) <= TIERS.index(j.tier):
                    raise ValueError(f"{j.name}: parent is not of a higher tier")
            if any(not 0 <= k < n for k in j.neighbours):
                raise ValueError(f"{j.name}: neighbour index out of range")
        if self.home.size and (self.home.max() >= n or self.home.min() < -1):
            raise ValueError("home names a jurisdiction that does not exist")
        owned: list[set[int]] = [set(j.stations) for j in self.items]
        for k in sorted(range(n), key=lambda k: TIERS.index(self.items[k].tier)):
            parent = self.items[k].parent  # children (lower tier) are done before parents
            if parent is not None:
                owned[parent] |= owned[k]
        self.subtree = [frozenset(s) for s in owned]
        """Stations of each jurisdiction and of every jurisdiction below it."""

    def chain(self, node: int, lowest_tier: str = TIERS[0]) -> list[int]:
        """Jurisdictions a call at ``node`` escalates through, lowest first: from the lowest
        one holding the node whose tier is ``lowest_tier`` or higher (or the top one, when
        none is that high) up to the top; empty when no jurisdiction holds the node."""
        j = int(self.home[node])
        chain = []
        while j >= 0:
            chain.append(j)
            parent = self.items[j].parent
            j = -1 if parent is None else parent
        low = TIERS.index(lowest_tier)
        start = next(
            (i for i, k in enumerate(chain) if TIERS.index(self.items[k].tier) >= low), None
        )
        return chain[len(chain) - 1 if start is None else start :] if chain else []

    def ladder(
        self, node: int, lowest_tier: str = TIERS[0], *, mutual_aid: bool = True
    ) -> list[Step]:
        """The rungs of a call at ``node`` (see the module notes): each jurisdiction of its
        :meth:`chain`, then (with ``mutual_aid``) its neighbours; a rung adding no station is
        left out. A node outside every jurisdiction gets one rung: every station."""
        chain = self.chain(node, lowest_tier)
        if not chain:
            return [Step("whole plan", frozenset(range(self.n_stations)))]
        steps: list[Step] = []
        pool: frozenset[int] = frozenset()
        for k in chain:
            j = self.items[k]
            rungs = [(f"{j.name} ({j.tier})", self.subtree[k])]
            if mutual_aid and j.neighbours:
                lent = frozenset().union(*(self.subtree[n] for n in sorted(j.neighbours)))
                rungs.append((f"neighbours of {j.name} ({j.tier})", lent))
            for label, stations in rungs:
                if not stations <= pool:
                    pool = pool | stations
                    steps.append(Step(label, pool))
        return steps or [Step(f"{self.items[chain[-1]].name} (no station)", frozenset())]


def jurisdictions_of(
    plan: Plan,
    net: CityNetwork,
    stations: Sequence[StationSpec],
    *,
    plan_file: Path | str | None = None,
) -> Jurisdictions | None:
    """The plan's jurisdictions on the road graph (see the module notes), or ``None`` when
    the plan declares none.

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
    from twin.response.build import _problem_maker

    items = plan.jurisdictions
    index = {j.name: k for k, j in enumerate(items)}
    station_index = {s.name: k for k, s in enumerate(stations)}
    parents = [None if j.parent is None else index[j.parent] for j in items]
    specs = [
        JurisdictionSpec(j.name, j.tier, parents[k], tuple(station_index[s] for s in j.stations))
        for k, j in enumerate(items)
    ]
    subtree = Jurisdictions(specs, np.full(net.travel.n_nodes, -1), len(stations)).subtree
    masks = _areas(plan, net, stations, parents, subtree)
    problems: list = []
    problem = _problem_maker(plan_file, problems)
    for k, j in enumerate(items):
        if not masks[k].any():
            within = f" within {j.parent!r}" if j.parent is not None else ""
            problem(
                ["jurisdictions", k, "area" if j.area is not None else "stations"],
                f"jurisdiction {j.name!r} holds no road node of the map{within}",
                "draw its area over streets of the city (inside its parent's area), or give "
                "it stations",
            )
    if problems:
        raise ScenarioError(problems)
    home = np.full(net.travel.n_nodes, -1, dtype=np.int64)
    for k in _top_down(items):
        home[masks[k]] = k
    neighbours = _neighbours(items, masks, net)
    for k, j in enumerate(items):
        for other in j.neighbours:
            neighbours[k].add(index[other])
            neighbours[index[other]].add(k)
    specs = [
        JurisdictionSpec(s.name, s.tier, s.parent, s.stations, frozenset(neighbours[k]))
        for k, s in enumerate(specs)
    ]
    return Jurisdictions(specs, home, len(stations))


def _top_down(items) -> list[int]:
    """Indices from the highest tier down, in plan order within a tier."""
    return sorted(range(len(items)), key=lambda k: (-TIERS.index(items[k].tier), k))


def _areas(plan, net, stations, parents, subtree) -> list[np.ndarray]:
    """Road nodes each jurisdiction holds (boolean masks), parents before children."""
    import shapely
    from pyproj import Transformer

    to_xy = Transformer.from_crs("EPSG:4326", net.crs, always_xy=True).transform
    x, y = net.travel.xy[:, 0], net.travel.xy[:, 1]
    n = net.travel.n_nodes
    items = plan.jurisdictions
    masks = [np.zeros(n, dtype=bool) for _ in items]
    drawn = {}
    for k, j in enumerate(items):
        if j.area is None:
            continue
        if j.area.polygon is not None:
            xs, ys = to_xy(*np.array(j.area.polygon, dtype=float).T)
            drawn[k] = shapely.contains_xy(shapely.Polygon(np.column_stack([xs, ys])), x, y)
        else:
            cx, cy = to_xy(*j.area.center)
            drawn[k] = np.hypot(x - cx, y - cy) <= j.area.radius
    groups: dict[int | None, list[int]] = {}
    for k in _top_down(items):
        groups.setdefault(parents[k], []).append(k)
    for parent, children in sorted(groups.items(), key=lambda g: _depth(g[0], parents)):
        room = np.ones(n, dtype=bool) if parent is None else masks[parent].copy()
        children = sorted(children)  # plan order: the first listed wins an overlap
        for k in children:
            if k in drawn:
                masks[k] = drawn[k] & room
                room &= ~masks[k]
        rest = [k for k in children if k not in drawn]
        if parent is None:
            for k in rest:  # at most one top jurisdiction without an area (plan check)
                masks[k] = room
            continue
        if not rest:
            continue
        times = np.vstack(
            [
                net.travel.nearest_time(
                    np.array([stations[s].node for s in sorted(subtree[k])], dtype=np.int64),
                    np.inf,
                )
                for k in rest
            ]
        )
        first = np.argmin(times, axis=0)
        reached = np.isfinite(times.min(axis=0)) & room
        for row, k in enumerate(rest):
            masks[k] = reached & (first == row)
    return masks


def _depth(k: int | None, parents) -> int:
    depth = 0
    while k is not None:
        k, depth = parents[k], depth + 1
    return depth


def _neighbours(items, masks, net) -> list[set[int]]:
    """Jurisdictions of the same tier joined by a road link."""
    u, v = net.travel.edge_nodes
    found: list[set[int]] = [set() for _ in items]
    for tier in TIERS:
        label = np.full(net.travel.n_nodes, -1, dtype=np.int64)
        for k, j in enumerate(items):
            if j.tier == tier:
                label[masks[k]] = k
        a, b = label[u], label[v]
        cross = (a >= 0) & (b >= 0) & (a != b)
        for p, q in set(zip(a[cross].tolist(), b[cross].tolist(), strict=True)):
            found[p].add(q)
            found[q].add(p)
    return found
