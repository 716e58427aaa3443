"""The scenario's hazard chains on a coupled run's networks.

Ground collapses, wind closures (fallen trees) and ``flood_collapse`` watches become
:class:`~twin.coupling.hazards.Closure` masks over the traffic network's links and the
crowd's walk links, by the one rule of :mod:`twin.coupling.hazards`
(:func:`hazard_closures`, at set-up); :func:`closed_at` says which links they hold closed
at a time (the exchange, every interval). Levee breaches and wind closures known at the
start go into the chain log (:mod:`twin.coupling.chains`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.coupling.chains import ChainLink, CollapseWatch
from twin.coupling.hazards import Closure
from twin.engine.timeline import Event

if TYPE_CHECKING:
    from twin.city.pack import CityPack
    from twin.scenario.schema import Scenario

__all__ = ["HazardClosures", "closed_at", "hazard_closures"]


@dataclass
class HazardClosures:
    """What :func:`hazard_closures` finds (see :class:`TwinParts` for the fields);
    ``events`` are the wind closures and reopenings as engine events for the traffic and
    crowd components."""

    closures: list[Closure]
    walk_closures: list[Closure]
    watches: list[CollapseWatch]
    walk_watch_links: dict[str, np.ndarray]
    chain: list[ChainLink]
    events: list[Event]


def hazard_closures(
    scenario: Scenario, pack: CityPack, drive_net: Any, crowd_run: Any = None
) -> HazardClosures:
    """The scenario's hazard chains on the run's networks, by the one rule of
    :mod:`twin.coupling.hazards`: ground collapses and wind closures (the same
    :class:`~twin.coupling.hazards.Closure` type) over the traffic network's links
    (``drive_net``, a :class:`twin.traffic.network.RoadNetwork`) and the crowd's walk links,
    the ``flood_collapse`` watches, and the chain log of levee breaches
    (:func:`twin.coupling.chains.breach_links`) and wind closures
    (:func:`twin.coupling.chains.wind_closures`).

    Raises
    ------
    twin.errors.UserInputError
        A wind hazard's road that is not on the map (naming ``hazards.<i>.roads.<k>``).
    """
    from twin.coupling import chains
    from twin.coupling.flood_setup import forcing_from_hazards
    from twin.coupling.hazards import collapse_closures, collapse_links

    index, order = drive_net.link_index()
    n = int(drive_net.n_links)

    def on_net(c: Closure, order: np.ndarray, n: int) -> Closure:
        mask = np.zeros(n, dtype=bool)
        mask[order] = c.links
        return Closure(c.start, c.end, mask, c.name, c.field)

    wind, wind_log = chains.wind_closures(scenario.hazards, index, pack.crs)
    collapses = collapse_closures(scenario.hazards, index, pack.crs)
    closures = [on_net(c, order, n) for c in collapses + wind]
    watches = chains.collapse_watches(scenario.hazards, index, pack.crs)
    for w in watches:
        w.links = np.sort(order[w.links])
    events = _closure_events(wind, order, "traffic")
    walk_closures: list[Closure] = []
    walk_watch: dict[str, np.ndarray] = {}
    if crowd_run is not None:
        wnet = crowd_run.model.net
        windex, worder = wnet.link_index()
        wn = int(wnet.n_links)
        wwind, _ = chains.wind_closures(scenario.hazards, windex, pack.crs)
        wcollapses = collapse_closures(scenario.hazards, windex, pack.crs)
        walk_closures = [on_net(c, worder, wn) for c in wcollapses + wwind]
        events += _closure_events(wwind, worder, "crowd")
        for i, h in enumerate(scenario.hazards):
            if getattr(h, "kind", None) == "flood_collapse":
                mask = np.zeros(wn, dtype=bool)
                mask[worder] = collapse_links(windex, pack.crs, h.location, h.radius)
                walk_watch[f"hazards.{i}"] = mask
    chain = sorted(
        chains.breach_links(forcing_from_hazards(scenario.hazards)) + wind_log,
        key=lambda c: c.time,
    )
    return HazardClosures(closures, walk_closures, watches, walk_watch, chain, events)


def _closure_events(closures: list[Closure], order: np.ndarray, target: str) -> list[Event]:
    """Closures over a link index as close/open events of a component whose links are
    ``order`` (index position -> the component's link)."""
    out = []
    for c in closures:
        links = np.sort(order[np.flatnonzero(c.links)]).tolist()
        label = c.name or c.field
        out.append(Event(float(c.start), target, "close_links", {"links": links}, label))
        if math.isfinite(c.end):
            out.append(Event(float(c.end), target, "open_links", {"links": links}, label))
    return out


def closed_at(closures: list[Closure], t: float, n: int) -> np.ndarray:
    """(n,) bool: the links the ``closures`` hold closed at ``t`` (s; start <= t < end)."""
    out = np.zeros(n, dtype=bool)
    for c in closures:
        if c.start <= t + 1e-9 and t < c.end:
            out |= c.links
    return out
