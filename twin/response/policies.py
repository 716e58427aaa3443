"""Dispatch policies, plug-ins chosen by name: which waiting call a free unit takes.

A policy orders the waiting requests (:meth:`DispatchPolicy.key`) and picks one unit for a
request among the free ones (:meth:`DispatchPolicy.choose`), or none to keep it waiting.
Optional hooks: :meth:`~DispatchPolicy.retry_at` (look again at a set time),
:meth:`~DispatchPolicy.mutual_aid` (a unit from outside the plan),
:meth:`~DispatchPolicy.preempt_for` (redirect a unit already sent) and
:meth:`~DispatchPolicy.move_ups` (relocate parked units). Ties go to the unit with the
lower id, so runs are deterministic. Register a new policy with :func:`register`;
:func:`make_policy` builds one by name:

======== ==================================================================
nearest  first come, first served; the unit that arrives soonest
priority priority 1 first; optionally redirects units sent to priority 3
coverage soonest unit that least reduces coverage; optional move-ups
tiered   local stations first, city tier after a wait, then mutual aid
======== ==================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.errors import Problem, UserInputError

if TYPE_CHECKING:
    from twin.response.incidents import Incident
    from twin.response.model import ResponseModel
    from twin.response.units import Unit


@dataclass(eq=False)
class Request:
    """One unit of one type wanted at an incident.

    Attributes
    ----------
    incident, unit_type
        The call and the kind of unit it needs.
    seq
        Creation order (breaks ties between requests of the same call time).
    excluded
        Ids of units that found the scene unreachable.
    retry_at
        When the dispatcher will look at it again for a time-based rule (tiered
        escalation, mutual aid), or ``None``.
    """

    incident: Incident
    unit_type: str
    seq: int
    excluded: set[int] = field(default_factory=set)
    retry_at: float | None = None


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
        model: ResponseModel,
        request: Request,
        units: Sequence[Unit],
        times: np.ndarray,
    ) -> Unit | None:
        """Pick a unit for ``request`` among free ``units`` with estimated arrival ``times``
        (s, finite), or ``None`` to leave it waiting."""
        return units[_argmin_by_id(times, units)]

    def retry_at(self, model: ResponseModel, request: Request) -> float | None:
        """When to look again at a request :meth:`choose` left waiting (s); ``None``: only when
        a unit frees."""
        return None

    def mutual_aid(self, model: ResponseModel, request: Request) -> float | None:
        """Travel time (s) of a unit from outside the plan to send to ``request`` now (no
        unit of its type is free), or ``None`` to keep it waiting."""
        return None

    def preempt_for(self, model: ResponseModel, request: Request) -> Unit | None:
        """A unit on its way to a less urgent call to redirect to ``request`` (no unit of its
        type is free), or ``None``."""
        return None

    def move_ups(self, model: ResponseModel) -> list[tuple[Unit, int]]:
        """Parked units to move to another station (unit, station index), after dispatch."""
        return []


def _argmin_by_id(values: np.ndarray, units: Sequence[Unit]) -> int:
    ids = np.fromiter((u.id for u in units), dtype=np.int64, count=len(units))
    return int(np.lexsort((ids, values))[0])


MUTUAL_AID_DELAY = 1200.0
"""Travel time of a mutual-aid unit from a neighbouring jurisdiction (s; 20 min). An
assumption of the model; plan files cannot set it yet."""

POLICIES: dict[str, type[DispatchPolicy]] = {}
"""Registered policies by name."""


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

    def __init__(self, preempt: bool = False) -> None:
        self.preempts = bool(preempt)

    def key(self, request: Request) -> tuple:
        inc = request.incident
        return (inc.priority, inc.call_time, request.seq)

    def preempt_for(self, model, request):
        if not self.preempts or request.incident.priority != 1:
            return None
        units = [
            u
            for u in model.units
            if u.type == request.unit_type
            and u.state == "dispatched"
            and u.incident is not None
            and u.incident.priority == 3
            and u.id not in request.excluded
        ]
        if not units:
            return None
        times = np.array([model.eta(u, request.incident.node) for u in units])
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

    def __init__(self, coverage_time: float = 480.0, move_up: bool = True) -> None:
        if not coverage_time > 0:
            raise ValueError("coverage_time must be > 0")
        self.coverage_time = float(coverage_time)
        self.move_up = move_up

    def move_ups(self, model):
        if not self.move_up:
            return []
        moves = []
        weights = model.coverage_weights
        for type_ in sorted(model.unit_types):
            free = model.free_units(type_)
            parked: dict[int, list[Unit]] = {}
            for u in free:
                if u.state == "available":
                    parked.setdefault(u.station, []).append(u)
            donors = [u for us in parked.values() if len(us) >= 2 for u in us[1:]]
            posts = {u.station for u in free}
            empty = [
                s
                for s, station in enumerate(model.stations)
                if station.units.get(type_) and s not in posts
            ]
            if not donors or not empty:
                continue
            reach = np.vstack([model.reach_times(u) for u in free]) <= self.coverage_time
            now = weights[reach.any(axis=0)].sum()
            row = {u.id: i for i, u in enumerate(free)}
            best = (0.0, None)
            for u in donors:
                others = np.delete(reach, row[u.id], axis=0).any(axis=0)
                for s in empty:
                    there = model.estimator.times_from(model.stations[s].node)
                    gain = weights[others | (there <= self.coverage_time)].sum() - now
                    if gain > best[0] + 1e-9:
                        best = (gain, (u, s))
            if best[1] is not None:
                moves.append(best[1])
        return moves

    def choose(self, model, request, units, times):
        within = np.flatnonzero(times <= self.coverage_time)
        if len(within) <= 1:
            return super().choose(model, request, units, times)
        free = model.free_units(request.unit_type)
        reach = np.vstack([model.reach_times(u) for u in free]) <= self.coverage_time
        count = reach.sum(axis=0)
        weights = model.coverage_weights
        row = {u.id: i for i, u in enumerate(free)}
        loss = np.array([weights[reach[row[units[k].id]] & (count == 1)].sum() for k in within])
        ids = np.array([units[k].id for k in within])
        best = within[np.lexsort((ids, times[within], loss))[0]]
        return units[best]


@register("tiered")
class TieredPolicy(DispatchPolicy):
    """Local stations first; the city tier after ``escalate_after`` or when no local unit can
    arrive within the call's target time.

    The local tier of a call is every station within ``local_radius`` travel time of it.
    Calls are taken by priority, then arrival.

    Parameters
    ----------
    local_radius
        Stations within this travel time of the call form its local tier (s).
    escalate_after
        Longest wait for a local unit before any unit of the city may go (s).
    mutual_aid
        Whether a call still without a unit ``2 x escalate_after`` after it came in gets a
        unit from a neighbouring jurisdiction, arriving :data:`MUTUAL_AID_DELAY` later.
    """

    def __init__(
        self,
        local_radius: float = 600.0,
        escalate_after: float = 120.0,
        mutual_aid: bool = True,
    ) -> None:
        self.local_radius = float(local_radius)
        self.escalate_after = float(escalate_after)
        self.mutual_aid_on = bool(mutual_aid)
        self.timed = True

    def key(self, request: Request) -> tuple:
        inc = request.incident
        return (inc.priority, inc.call_time, request.seq)

    def choose(self, model, request, units, times):
        inc = request.incident
        if model.now >= inc.call_time + self.escalate_after:
            return super().choose(model, request, units, times)  # escalated: city tier
        local = np.flatnonzero(
            [model.station_time(u.station, inc.node) <= self.local_radius for u in units]
        )
        if len(local):
            pick = local[_argmin_by_id(times[local], [units[i] for i in local])]
            if times[pick] <= model.target(inc.priority):
                return units[pick]
            return super().choose(model, request, units, times)  # local too slow: escalate
        if not model.any_local_station(inc.node, self.local_radius):
            return super().choose(model, request, units, times)  # no local tier at all
        return None  # wait for a local unit until escalate_after

    def retry_at(self, model, request):
        call = request.incident.call_time
        steps = (call + self.escalate_after, call + 2 * self.escalate_after)
        return next((t for t in steps if t > model.now), None)

    def mutual_aid(self, model, request):
        if self.mutual_aid_on and model.now >= request.incident.call_time + 2 * self.escalate_after:
            return MUTUAL_AID_DELAY
        return None
