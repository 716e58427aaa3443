"""Hazard chains: one hazard setting off another, each step logged as cause -> effect.

Three rules, each a plain function of the hazards and the numbers a run produces:

- **Levee breach** (:func:`breach_links`): a river's levee breaches at its ``at`` time, or
  once the stage has stood above the crest for ``overtop_for`` (the time comes from the
  stage hydrograph, :func:`twin.flood.river.overtop_start`; the flood model lowers the
  crest, :class:`twin.flood.river.RiverFloodModel`).
- **Collapse under water** (:class:`CollapseWatch`, :func:`flood_collapses`): a
  ``flood_collapse`` hazard watches the drive links within its radius; once the deepest
  water on any of them has been at least ``depth`` for at least ``duration`` without a
  break (over the exchange times the depths are sampled at), the road collapses and those
  links close for good, like a ``ground_collapse`` at that time.
- **Wind closures** (:func:`wind_windows`, :func:`wind_closures`): a ``wind`` hazard's
  listed roads close when the (linearly interpolated) wind speed rises above
  ``close_above`` (fallen trees) and reopen ``clearance`` after the speed has fallen to
  ``reopen_below`` (default ``close_above``); if the wind is above ``close_above`` again
  when the clearance ends, they stay closed until the next lull.

Every firing is a :class:`ChainLink` (time, kind, cause, effect) for the run's log.
Times are seconds since the scenario start; depths metres; speeds m/s.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from twin.coupling.hazards import Closure, collapse_links, plan_closure_links

if TYPE_CHECKING:
    from twin.city.links import LinkIndex
    from twin.flood.forcing import Forcing


@dataclass(frozen=True)
class ChainLink:
    """One step of a hazard chain.

    Attributes
    ----------
    time
        When the effect happens (s since the scenario start).
    kind
        ``"levee_breach"``, ``"flood_collapse"``, ``"wind_closure"`` or ``"wind_reopen"``.
    cause
        What set it off, in words with numbers and units.
    effect
        What it does, in words.
    field
        The scenario hazard it comes from (``"hazards.3"``).
    """

    time: float
    kind: str
    cause: str
    effect: str
    field: str = ""

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready row."""
        return {
            "time_s": self.time,
            "kind": self.kind,
            "cause": self.cause,
            "effect": self.effect,
            "field": self.field,
        }


def above_intervals(
    times: Sequence[float], values: Sequence[float], threshold: float
) -> list[tuple[float, float]]:
    """Maximal intervals (s) on which a piecewise-linear series is strictly above
    ``threshold``; the series is constant after its last time (the last interval may end
    at inf) and starts at its first time."""
    t = np.asarray(times, np.float64)
    v = np.asarray(values, np.float64)
    out: list[list[float]] = []

    def add(a: float, b: float) -> None:
        if out and out[-1][1] >= a:
            out[-1][1] = max(out[-1][1], b)
        elif b > a or math.isinf(b):
            out.append([a, b])

    for i in range(len(t) - 1):
        a, b, va, vb = t[i], t[i + 1], v[i], v[i + 1]
        if va > threshold and vb > threshold:
            add(a, b)
        elif va > threshold or vb > threshold:
            tc = a + (threshold - va) / (vb - va) * (b - a)
            add(*((a, tc) if va > threshold else (tc, b)))
    if v[-1] > threshold:
        add(float(t[-1]), math.inf)
    return [(float(a), float(b)) for a, b in out]


def wind_windows(
    times: Sequence[float],
    speeds: Sequence[float],
    close_above: float,
    reopen_below: float | None = None,
    clearance: float = 0.0,
) -> list[tuple[float, float]]:
    """When listed roads are closed by the wind: ``(close, reopen)`` pairs (s; reopen inf:
    never), by the rule in the module docstring."""
    reopen_below = close_above if reopen_below is None else reopen_below
    high = above_intervals(times, speeds, close_above)
    calm_after = above_intervals(times, speeds, reopen_below)
    windows: list[tuple[float, float]] = []
    now = -math.inf
    while True:
        start = next((max(a, now) for a, b in high if b > now), None)
        if start is None:
            break
        end = start
        while True:  # the lull after `end`, then the clearance; again if windy by then
            lull = next(b for a, b in calm_after if a <= end < b)
            end = lull + clearance
            if math.isinf(end) or not any(a < end < b for a, b in high):
                break
        if windows and windows[-1][1] >= start:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
        if math.isinf(end):
            break
        now = end
    return windows


def wind_closures(
    hazards: Iterable, links: LinkIndex, crs: str
) -> tuple[list[Closure], list[ChainLink]]:
    """The ``wind`` hazards' closures over a link index and their chain log.

    Each listed road is an OSM way (``"way/123"``: all its links) or a lon/lat point (the
    nearest link both ways, :func:`twin.coupling.hazards.plan_closure_links`).
    """
    closures: list[Closure] = []
    log: list[ChainLink] = []
    for i, h in enumerate(hazards):
        if getattr(h, "kind", None) != "wind":
            continue
        where = f"hazards.{i}"
        mask = np.zeros(links.n_links, dtype=bool)
        for k, road in enumerate(h.roads):
            f = f"{where}.roads.{k}"
            if isinstance(road, str):
                mask |= plan_closure_links(links, crs, road=road, field=f)
            else:
                mask |= plan_closure_links(links, crs, location=road, field=f)
        times = [p.at for p in h.speeds]
        speeds = [p.speed for p in h.speeds]
        reopen = h.close_above if h.reopen_below is None else h.reopen_below
        name = h.name or "wind"
        for start, end in wind_windows(times, speeds, h.close_above, reopen, h.clearance):
            closures.append(Closure(start, end, mask.copy(), name, where))
            n = int(mask.sum())
            log.append(
                ChainLink(
                    start,
                    "wind_closure",
                    f"{name}: wind above {h.close_above:g} m/s",
                    f"fallen trees close {n} links of {len(h.roads)} listed roads",
                    where,
                )
            )
            if math.isfinite(end):
                log.append(
                    ChainLink(
                        end,
                        "wind_reopen",
                        f"{name}: wind at or below {reopen:g} m/s, then "
                        f"{h.clearance / 60:g} min to clear the trees",
                        f"{n} links reopen",
                        where,
                    )
                )
    return closures, sorted(log, key=lambda c: c.time)


def breach_links(forcing: Forcing) -> list[ChainLink]:
    """Levee breaches of the forcing's rivers as chain links, in time order."""
    log = []
    for river in forcing.rivers:
        for k, levee in enumerate(river.levees):
            start = river.breach_time(levee)
            if start is None:
                continue
            b = levee.breach
            if b.at is not None:
                cause = f"{river.title}: breach scheduled at {b.at / 60:g} min"
            else:
                cause = (
                    f"{river.title}: stage above the levee crest {levee.crest:g} m for "
                    f"{b.overtop_for / 60:g} min"
                )
            log.append(
                ChainLink(
                    start,
                    "levee_breach",
                    cause,
                    f"levee {k} breaches over {b.width:g} m at {tuple(b.location)}, the crest "
                    f"sinks over {b.growth / 60:g} min",
                    f"{river.name}.levees.{k}",
                )
            )
    return sorted(log, key=lambda c: c.time)


@dataclass
class CollapseWatch:
    """Follows one ``flood_collapse`` hazard over exchanges.

    Parameters
    ----------
    links
        Indices of the watched links (drive index).
    depth
        Depth (m) that undermines the road.
    duration
        How long (s) it must stand without a break.
    name, field
        For the log and the closure.
    """

    links: np.ndarray
    depth: float
    duration: float
    name: str = "flood collapse"
    field: str = ""
    since: float = math.nan  # first sample of the current spell at or above depth
    fired: float = math.nan  # when it collapsed
    peak: float = 0.0

    def update(self, t: float, link_depth: np.ndarray) -> ChainLink | None:
        """Take the deepest water (m) per link at time ``t`` (s); the chain link if the
        road collapses now."""
        if not math.isnan(self.fired):
            return None
        deepest = float(np.max(link_depth[self.links], initial=0.0))
        if deepest < self.depth:
            self.since, self.peak = math.nan, 0.0
            return None
        if math.isnan(self.since):
            self.since = t
        self.peak = max(self.peak, deepest)
        if t - self.since < self.duration:
            return None
        self.fired = t
        return ChainLink(
            t,
            "flood_collapse",
            f"water at least {self.depth:g} m deep (up to {self.peak:.2f} m) on the road for "
            f"{(t - self.since) / 60:g} min",
            f"{self.name}: the road collapses, {self.links.size} links close",
            self.field,
        )

    def state(self) -> tuple[float, float, float]:
        """(since, fired, peak): what a checkpoint keeps."""
        return self.since, self.fired, self.peak


def collapse_watches(hazards: Iterable, links: LinkIndex, crs: str) -> list[CollapseWatch]:
    """One watch per ``flood_collapse`` hazard, over the links within its radius."""
    out = []
    for i, h in enumerate(hazards):
        if getattr(h, "kind", None) != "flood_collapse":
            continue
        mask = collapse_links(links, crs, h.location, h.radius)
        out.append(
            CollapseWatch(
                np.flatnonzero(mask), h.depth, h.duration, h.name or "flood collapse",
                f"hazards.{i}",
            )
        )  # fmt: skip
    return out


def flood_collapses(
    times: Sequence[float], link_depths: np.ndarray, watches: Sequence[CollapseWatch]
) -> list[ChainLink]:
    """Collapse events from a per-link depth series: ``link_depths[k]`` is the deepest water
    (m) on every link at ``times[k]`` (s). Fresh copies of ``watches`` are used."""
    fresh = [CollapseWatch(w.links, w.depth, w.duration, w.name, w.field) for w in watches]
    out = []
    for t, depth in zip(times, np.asarray(link_depths), strict=True):
        for w in fresh:
            link = w.update(float(t), depth)
            if link is not None:
                out.append(link)
    return out


def collapse_closure(link: ChainLink, watch: CollapseWatch, n_links: int) -> Closure:
    """The closure a fired watch makes: its links, from the collapse on, for good."""
    mask = np.zeros(n_links, dtype=bool)
    mask[watch.links] = True
    return Closure(link.time, math.inf, mask, watch.name, watch.field)
