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

Areas (:func:`place_jurisdictions`): a polygon or a circle (:class:`AreaSpec`), cut to the parent's
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
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from twin.response.travel import RoadTravel

TIERS: tuple[str, ...] = ("community", "street", "district", "city")
"""Levels of command, lowest first (the plan schema's ``Tier`` names; a test holds them
equal)."""


@dataclass(frozen=True)
class JurisdictionSpec:
    """One jurisdiction on the road graph.

    Attributes
    ----------
    name, tier
        Name and tier (one of :data:`TIERS`).
    parent
        Index of the jurisdiction it escalates to, or ``None`` at the top.
    stations
        Indices of the stations it owns itself (not those of jurisdictions below it).
    neighbours
        Indices of the jurisdictions that lend it units (mutual aid); those given to
        :func:`place_jurisdictions` are the listed ones, it adds those sharing a border.
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


@dataclass(frozen=True)
class AreaSpec:
    """Where a jurisdiction is responsible, in the road graph's projected metres: a polygon,
    or a circle.

    Attributes
    ----------
    polygon
        Corners, shape ``(k, 2)`` (m), or ``None`` for a circle.
    center, radius
        Centre (m) and radius (m) of a circular area (when ``polygon`` is ``None``).
    """

    polygon: np.ndarray | None = None
    center: tuple[float, float] | None = None
    radius: float | None = None

    def __post_init__(self) -> None:
        if (self.polygon is None) == (self.center is None or self.radius is None):
            raise ValueError("an area is a polygon, or a center with a radius")


class EmptyJurisdictionError(ValueError):
    """Jurisdictions whose area holds no road node; :attr:`indices` says which."""

    def __init__(self, indices: Sequence[int]) -> None:
        self.indices = tuple(indices)
        super().__init__(f"jurisdictions {list(self.indices)} hold no road node")


def place_jurisdictions(
    specs: Sequence[JurisdictionSpec],
    areas: Sequence[AreaSpec | None],
    travel: RoadTravel,
    station_nodes: Sequence[int],
) -> Jurisdictions:
    """Jurisdictions on the road graph (see the module notes).

    Parameters
    ----------
    specs
        The jurisdictions (consistent: parents of higher tiers, every station owned once),
        with the neighbours listed by the plan.
    areas
        Each one's drawn area, or ``None``.
    travel
        The road graph, with free-flow travel times.
    station_nodes
        Road node of every station, in station index order.

    Raises
    ------
    EmptyJurisdictionError
        Naming the jurisdictions whose area holds no road node (within its parent's area).
    """
    n_stations = len(station_nodes)
    subtree = Jurisdictions(specs, np.full(travel.n_nodes, -1), n_stations).subtree
    masks = _areas(specs, areas, travel, station_nodes, subtree)
    empty = [k for k in range(len(specs)) if not masks[k].any()]
    if empty:
        raise EmptyJurisdictionError(empty)
    home = np.full(travel.n_nodes, -1, dtype=np.int64)
    for k in _top_down(specs):
        home[masks[k]] = k
    neighbours = _neighbours(specs, masks, travel)
    for k, j in enumerate(specs):
        for other in j.neighbours:
            neighbours[k].add(other)
            neighbours[other].add(k)
    placed = [
        JurisdictionSpec(s.name, s.tier, s.parent, s.stations, frozenset(neighbours[k]))
        for k, s in enumerate(specs)
    ]
    return Jurisdictions(placed, home, n_stations)


def _top_down(items) -> list[int]:
    """Indices from the highest tier down, in plan order within a tier."""
    return sorted(range(len(items)), key=lambda k: (-TIERS.index(items[k].tier), k))


def _areas(items, areas, travel, station_nodes, subtree) -> list[np.ndarray]:
    """Road nodes each jurisdiction holds (boolean masks), parents before children."""
    import shapely

    x, y = travel.xy[:, 0], travel.xy[:, 1]
    n = travel.n_nodes
    parents = [j.parent for j in items]
    masks = [np.zeros(n, dtype=bool) for _ in items]
    drawn = {}
    for k, area in enumerate(areas):
        if area is None:
            continue
        if area.polygon is not None:
            drawn[k] = shapely.contains_xy(shapely.Polygon(np.asarray(area.polygon)), x, y)
        else:
            cx, cy = area.center
            drawn[k] = np.hypot(x - cx, y - cy) <= area.radius
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
                travel.nearest_time(
                    np.array([station_nodes[s] for s in sorted(subtree[k])], dtype=np.int64),
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


def _neighbours(items, masks, travel) -> list[set[int]]:
    """Jurisdictions of the same tier joined by a road link."""
    u, v = travel.edge_nodes
    found: list[set[int]] = [set() for _ in items]
    for tier in TIERS:
        label = np.full(travel.n_nodes, -1, dtype=np.int64)
        for k, j in enumerate(items):
            if j.tier == tier:
                label[masks[k]] = k
        a, b = label[u], label[v]
        cross = (a >= 0) & (b >= 0) & (a != b)
        for p, q in set(zip(a[cross].tolist(), b[cross].tolist(), strict=True)):
            found[p].add(q)
            found[q].add(p)
    return found
