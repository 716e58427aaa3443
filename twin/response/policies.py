"""Dispatch policies, plug-ins chosen by name: which waiting call a free unit takes.

A policy orders the waiting requests (:meth:`DispatchPolicy.key`) and picks one unit for a
request among the free ones (:meth:`DispatchPolicy.choose`), or none to keep it waiting.
Optional hooks: :meth:`~DispatchPolicy.retry_at` (look again at a set time),
:meth:`~DispatchPolicy.mutual_aid` (a unit from outside the plan),
:meth:`~DispatchPolicy.preempt_for` (redirect a unit already sent) and
:meth:`~DispatchPolicy.move_ups` (relocate parked units). Ties go to the unit with the
lower id, so runs are deterministic. Policies see the model through a read-only
:class:`~twin.response.dispatch.DispatchView`. Register a new policy with :func:`register`
(a plan file may then name it); :func:`make_policy` builds one by name. Parameters have no
defaults here: every value is given (a plan's defaults live in its schema,
:mod:`twin.scenario.plan`):

======== ==================================================================
nearest  first come, first served; the unit that arrives soonest
priority priority 1 first; optionally redirects units sent to priority 3
coverage soonest unit that least reduces coverage; optional move-ups
tiered   lowest allowed tier first; escalation after a wait or when no unit
         there can arrive within target; mutual aid from neighbours, then outside
======== ==================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.errors import Problem, UserInputError
from twin.plugins import DISPATCH_POLICIES
from twin.response.dispatch import DispatchView, Request
from twin.response.jurisdictions import TIERS, Jurisdictions

if TYPE_CHECKING:
    from twin.response.units import Unit


class DispatchPolicy:
    """Base policy: first come, first served; the unit that arrives soonest."""

    name = "base"
    preempts = False
    """Whether :meth:`preempt_for` may redirect units (the dispatcher asks only then)."""
    timed = False
    """Whether :meth:`retry_at` and :meth:`mutual_aid` act (the dispatcher asks only then)."""

    def key(self, request: Request) -> tuple:
        """Sort key of waiting requests: served in increasing order."""
        return (request.incident.call_time, request.seq)

    def choose(
        self,
        view: DispatchView,
        request: Request,
        units: Sequence[Unit],
        times: np.ndarray,
    ) -> Unit | None:
        """Pick a unit for ``request`` among free ``units`` with estimated arrival ``times``
        (s, finite), or ``None`` to leave it waiting."""
        return units[_argmin_by_id(times, units)]

    def retry_at(self, view: DispatchView, request: Request) -> float | None:
        """When to look again at a request :meth:`choose` left waiting (s); ``None``: only when
        a unit frees."""
        return None

    def mutual_aid(self, view: DispatchView, request: Request) -> float | None:
        """Travel time (s) of a unit from outside the plan to send to ``request`` now (no
        unit of its type is free), or ``None`` to keep it waiting."""
        return None

    def preempt_for(self, view: DispatchView, request: Request) -> Unit | None:
        """A unit on its way to a less urgent call to redirect to ``request`` (no unit of its
        type is free), or ``None``."""
        return None

    def move_ups(self, view: DispatchView) -> list[tuple[Unit, int]]:
        """Parked units to move to another station (unit, station index), after dispatch."""
        return []


def _argmin_by_id(values: np.ndarray, units: Sequence[Unit]) -> int:
    ids = np.fromiter((u.id for u in units), dtype=np.int64, count=len(units))
    return int(np.lexsort((ids, values))[0])


POLICIES: dict[str, type[DispatchPolicy]] = DISPATCH_POLICIES  # type: ignore[assignment]
"""Registered policies by name (the registry plan files may name, see
:data:`twin.plugins.DISPATCH_POLICIES`)."""


def register(name: str) -> Callable[[type[DispatchPolicy]], type[DispatchPolicy]]:
    """Class decorator: make a policy available under ``name``."""

    def add(cls: type[DispatchPolicy]) -> type[DispatchPolicy]:
        cls.name = name
        POLICIES[name] = cls
        return cls

    return add


def make_policy(name: str, **params: Any) -> DispatchPolicy:
    """Build the policy registered as ``name`` with its parameters.

    Raises
    ------
    UserInputError
        If no policy has that name (the message lists the valid ones) or a parameter is
        unknown.
    """
    valid = ", ".join(sorted(POLICIES))
    if name not in POLICIES:
        raise UserInputError(
            Problem(
                f"unknown dispatch policy {name!r}; valid policies: {valid}",
                field="dispatch.policy",
                fix=f"write one of: {valid}",
            )
        )
    try:
        return POLICIES[name](**params)
    except (TypeError, ValueError) as exc:
        raise UserInputError(
            Problem(f"bad parameters for policy {name!r}: {exc}", field="dispatch")
        ) from None


@register("nearest")
class NearestPolicy(DispatchPolicy):
    """Calls in order of arrival; send the free unit that arrives soonest."""


@register("priority")
class PriorityPolicy(DispatchPolicy):
    """Waiting calls by priority (1 first), then arrival; the unit that arrives soonest.

    Parameters
    ----------
    preempt
        Whether a priority-1 call that finds no free unit may take the unit soonest to
        arrive among those driving to priority-3 calls (not yet on scene); that call waits
        again.
    """

    def __init__(self, *, preempt: bool) -> None:
        self.preempts = bool(preempt)

    def key(self, request: Request) -> tuple:
        inc = request.incident
        return (inc.priority, inc.call_time, request.seq)

    def preempt_for(self, view, request):
        if not self.preempts or request.incident.priority != 1:
            return None
        units = [
            u
            for u in view.units
            if u.type == request.unit_type
            and u.state == "dispatched"
            and u.incident is not None
            and u.incident.priority == 3
            and u.id not in request.excluded
        ]
        if not units:
            return None
        times = np.array([view.eta(u, request.incident.node) for u in units])
        if not np.isfinite(times).any():
            return None
        return units[_argmin_by_id(times, units)]


@register("coverage")
class CoveragePolicy(DispatchPolicy):
    """Among free units that arrive within ``coverage_time``, send the one whose departure
    leaves the fewest people uncovered by the other free units of its type; if none arrives
    in time, the soonest.

    With ``move_up``, after each dispatch a parked unit moves from a station that has two or
    more parked units of its type to a station of the plan that holds that type but has no
    free one, when that raises the share of residents covered (the largest gain first; one
    move per type per dispatch round).

    Parameters
    ----------
    coverage_time
        A node is covered when a free unit can reach it within this time (s).
    move_up
        Whether parked units move between stations to fill coverage gaps.
    """

    def __init__(self, *, coverage_time: float, move_up: bool) -> None:
        if not coverage_time > 0:
            raise ValueError("coverage_time must be > 0")
        self.coverage_time = float(coverage_time)
        self.move_up = bool(move_up)

    def move_ups(self, view):
        if not self.move_up:
            return []
        moves = []
        weights = view.coverage_weights
        for type_ in sorted(view.unit_types):
            free = view.free_units(type_)
            parked: dict[int, list[Unit]] = {}
            for u in free:
                if u.state == "available":
                    parked.setdefault(u.station, []).append(u)
            donors = [u for us in parked.values() if len(us) >= 2 for u in us[1:]]
            posts = {u.station for u in free}
            empty = [
                s
                for s, station in enumerate(view.stations)
                if station.units.get(type_) and s not in posts
            ]
            if not donors or not empty:
                continue
            reach = np.vstack([view.reach_times(u) for u in free]) <= self.coverage_time
            now = weights[reach.any(axis=0)].sum()
            row = {u.id: i for i, u in enumerate(free)}
            best = (0.0, None)
            for u in donors:
                others = np.delete(reach, row[u.id], axis=0).any(axis=0)
                for s in empty:
                    there = view.times_from(type_, view.stations[s].node)
                    gain = weights[others | (there <= self.coverage_time)].sum() - now
                    if gain > best[0] + 1e-9:
                        best = (gain, (u, s))
            if best[1] is not None:
                moves.append(best[1])
        return moves

    def choose(self, view, request, units, times):
        within = np.flatnonzero(times <= self.coverage_time)
        if len(within) <= 1:
            return super().choose(view, request, units, times)
        free = view.free_units(request.unit_type)
        reach = np.vstack([view.reach_times(u) for u in free]) <= self.coverage_time
        count = reach.sum(axis=0)
        weights = view.coverage_weights
        row = {u.id: i for i, u in enumerate(free)}
        loss = np.array([weights[reach[row[units[k].id]] & (count == 1)].sum() for k in within])
        ids = np.array([units[k].id for k in within])
        best = within[np.lexsort((ids, times[within], loss))[0]]
        return units[best]


@register("tiered")
class TieredPolicy(DispatchPolicy):
    """Tiered command with escalation and mutual aid; calls by priority, then arrival.

    Each request climbs a **ladder** of unit pools (cumulative; a rung adding no unit of its
    type is left out). With ``jurisdictions`` it is
    :meth:`~twin.response.jurisdictions.Jurisdictions.ladder`: the lowest jurisdiction
    holding the call whose tier is allowed for its priority (``lowest_tier``), then with
    ``mutual_aid`` its neighbours, then its parent, the parent's neighbours, ... the top.
    Without, two rungs: the stations within ``local_radius`` drive of the call, then every
    station. At its rung a request

    * gets the free unit of the pool that arrives soonest, if one arrives within the call's
      target time;
    * moves up at once when no unit of the pool can arrive within target (free units from
      where they are, busy ones from their station: waiting for them would not help);
    * else waits for the busy units, and moves up ``escalate_after`` after it reached the
      rung.

    At the top rung it takes the soonest free unit of the pool, whatever its time; with
    ``mutual_aid`` and ``outside_aid_delay``, a request that has waited ``escalate_after``
    there gets a unit from outside the plan, arriving ``outside_aid_delay`` later. Every
    move up is logged (``escalate``).

    Parameters
    ----------
    local_radius
        Without jurisdictions: stations within this drive of the call form its local rung
        (s).
    escalate_after
        Longest wait at one rung for its busy units (s).
    mutual_aid
        Whether neighbouring jurisdictions lend units and units from outside the plan come
        last.
    lowest_tier
        Lowest tier allowed for priority 1, 2 and 3: three names of
        :data:`~twin.response.jurisdictions.TIERS`.
    outside_aid_delay
        Travel time of a unit from outside the plan (s); ``None`` for no outside aid.
    jurisdictions
        The plan's jurisdictions on the road graph, or ``None`` for the radius rule.
    """

    def __init__(
        self,
        *,
        local_radius: float,
        escalate_after: float,
        mutual_aid: bool,
        lowest_tier: Sequence[str],
        outside_aid_delay: float | None,
        jurisdictions: Jurisdictions | None,
    ) -> None:
        if not local_radius > 0:
            raise ValueError("local_radius must be > 0")
        if not escalate_after >= 0:
            raise ValueError("escalate_after must be >= 0")
        if outside_aid_delay is not None and not outside_aid_delay >= 0:
            raise ValueError("outside_aid_delay must be >= 0 or None")
        tiers = tuple(lowest_tier)
        if len(tiers) != 3 or any(t not in TIERS for t in tiers):
            raise ValueError(f"lowest_tier needs 3 of: {', '.join(TIERS)}; got {tiers!r}")
        self.local_radius = float(local_radius)
        self.escalate_after = float(escalate_after)
        self.mutual_aid_on = bool(mutual_aid)
        self.lowest_tier = tiers
        self.outside_aid_delay = None if outside_aid_delay is None else float(outside_aid_delay)
        self.jurisdictions = jurisdictions
        self.timed = True
        self._ladders: dict[tuple[int, int, str], list[tuple[str, frozenset[int]]]] = {}

    def key(self, request: Request) -> tuple:
        inc = request.incident
        return (inc.priority, inc.call_time, request.seq)

    def ladder(self, view: DispatchView, request: Request) -> list[tuple[str, frozenset[int]]]:
        """The request's rungs: ``(label, ids of the units of its type it may have)``."""
        inc = request.incident
        if self.jurisdictions is None:
            near = view.times_to(request.unit_type, inc.node)
            local = frozenset(
                s for s, st in enumerate(view.stations) if near[st.node] <= self.local_radius
            )
            steps = [("local", local), ("city", frozenset(range(len(view.stations))))]
        else:
            key = (inc.node, inc.priority, request.unit_type)
            if key in self._ladders:
                return self._ladders[key]
            steps = [
                (step.label, step.stations)
                for step in self.jurisdictions.ladder(
                    inc.node, self.lowest_tier[inc.priority - 1], mutual_aid=self.mutual_aid_on
                )
            ]
        rungs: list[tuple[str, frozenset[int]]] = []
        for label, stations in steps:
            ids = frozenset(
                u.id for u in view.units if u.type == request.unit_type and u.station in stations
            )
            if ids and (not rungs or ids != rungs[-1][1]):
                rungs.append((label, ids))
        rungs = rungs or [(steps[-1][0], frozenset())]
        if self.jurisdictions is not None:
            self._ladders[key] = rungs
        return rungs

    def _climb(self, view: DispatchView, request: Request) -> list[tuple[str, frozenset[int]]]:
        """Move the request up its ladder as far as the rules say now; its ladder."""
        rungs = self.ladder(view, request)
        if request.tier_since is None:
            request.tier_since = request.incident.call_time
        request.tier = min(request.tier, len(rungs) - 1)
        while request.tier < len(rungs) - 1:
            due = request.tier_since + self.escalate_after
            if view.now >= due:
                since = due
            elif not self._capable(view, request, rungs[request.tier][1]):
                since = view.now
            else:
                break
            request.tier, request.tier_since = request.tier + 1, since
            inc = request.incident
            view.record(
                "escalate", -1, inc.id, inc.node, f"{request.unit_type} -> "
                f"{rungs[request.tier][0]}", request.tier,
            )  # fmt: skip
        return rungs

    def _capable(self, view: DispatchView, request: Request, pool: frozenset[int]) -> bool:
        """Whether a unit of ``pool`` could arrive within target: a free one from where it
        is, a busy one (not off duty) from its station."""
        inc = request.incident
        target = view.target(inc.priority)
        to_scene = view.times_to(request.unit_type, inc.node)
        for uid in pool:
            unit = view.unit(uid)
            if uid in request.excluded or unit.state == "out_of_service":
                continue
            if unit.free:
                node, lead = unit.position(view.now)
                time = lead + to_scene[node]
            else:
                time = to_scene[unit.home]
            if time <= target:
                return True
        return False

    def choose(self, view, request, units, times):
        rungs = self._climb(view, request)
        pool = rungs[request.tier][1]
        mine = np.array([u.id in pool for u in units], dtype=bool)
        if not mine.any():
            return None
        within = mine & (times <= view.target(request.incident.priority))
        if within.any():
            pick = np.flatnonzero(within)
        elif request.tier == len(rungs) - 1:
            pick = np.flatnonzero(mine)  # top rung: the soonest, late or not
        else:
            return None  # busy units of the pool could make it: wait for them
        return units[pick[_argmin_by_id(times[pick], [units[i] for i in pick])]]

    def _outside_aid_at(self, request: Request, top: bool) -> float | None:
        if not (top and self.mutual_aid_on and self.outside_aid_delay is not None):
            return None
        return request.tier_since + self.escalate_after

    def retry_at(self, view, request):
        rungs = self._climb(view, request)
        top = request.tier == len(rungs) - 1
        at = request.tier_since + self.escalate_after if not top else None
        at = at if at is not None else self._outside_aid_at(request, top)
        return at if at is not None and at > view.now else None

    def mutual_aid(self, view, request):
        rungs = self._climb(view, request)
        at = self._outside_aid_at(request, request.tier == len(rungs) - 1)
        if at is not None and view.now >= at:
            return self.outside_aid_delay
        return None
