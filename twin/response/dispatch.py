"""What dispatch policies work with: waiting requests and a read-only view of the model.

A policy never sees the :class:`~twin.response.model.ResponseModel` itself; the model hands
it a :class:`DispatchView`, which answers the questions a dispatcher asks (what time it is,
which units are free, how soon a unit can be somewhere, the targets, coverage weights) and
lets it write one thing: a line in the event log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from twin.response.incidents import Incident
    from twin.response.travel import Travel
    from twin.response.units import StationSpec, Unit


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
    tier, tier_since
        Tiered dispatch: the rung of its ladder it is at and since when (s; ``None``
        before the policy first looks at it).
    """

    incident: Incident
    unit_type: str
    seq: int
    excluded: set[int] = field(default_factory=set)
    retry_at: float | None = None
    tier: int = 0
    tier_since: float | None = None


class DispatchView:
    """The model as a dispatch policy sees it: read-only, plus the event log.

    Parameters
    ----------
    clock
        Returns the current simulated time (s).
    units, stations
        The model's units (by id) and stations (by index).
    unit_types
        Unit types the plan has.
    targets
        Target response time of priority 1, 2 and 3 (s).
    coverage_weights
        Residents at each road node (for coverage).
    estimator_for
        Travel times the dispatcher ranks units of a type by.
    record
        Appends an event to the model's log now
        (``record(event, unit, incident, node, detail, value)``).
    """

    __slots__ = (
        "_clock",
        "_estimator_for",
        "_record",
        "_targets",
        "_units",
        "coverage_weights",
        "stations",
        "unit_types",
    )

    def __init__(
        self,
        clock: Callable[[], float],
        units: Sequence[Unit],
        stations: Sequence[StationSpec],
        unit_types: frozenset[str],
        targets: tuple[float, float, float],
        coverage_weights: np.ndarray,
        estimator_for: Callable[[str], Travel],
        record: Callable[..., None],
    ) -> None:
        self._clock = clock
        self._units = tuple(units)  # the model's units never change after it is built
        self.stations: tuple[StationSpec, ...] = tuple(stations)
        """The plan's stations, by index."""
        self.unit_types = frozenset(unit_types)
        """Unit types the plan has."""
        self._targets = tuple(float(t) for t in targets)
        weights = np.asarray(coverage_weights, dtype=float).view()
        weights.flags.writeable = False
        self.coverage_weights = weights
        """Residents at each road node (read-only array)."""
        self._estimator_for = estimator_for
        self._record = record

    @property
    def now(self) -> float:
        """Current simulated time (s)."""
        return self._clock()

    @property
    def units(self) -> tuple[Unit, ...]:
        """Every unit, by id (policies read their state; only the model changes it)."""
        return self._units

    def unit(self, unit_id: int) -> Unit:
        """The unit with id ``unit_id``."""
        return self._units[unit_id]

    def target(self, priority: int) -> float:
        """Target response time of a priority (s)."""
        return self._targets[priority - 1]

    def free_units(self, unit_type: str) -> list[Unit]:
        """Units of a type that can take a call now, by id."""
        return [u for u in self._units if u.type == unit_type and u.free]

    def times_to(self, unit_type: str, node: int) -> np.ndarray:
        """Estimated drive of a unit of a type from every node to ``node`` (s)."""
        return self._estimator_for(unit_type).times_to(node)

    def times_from(self, unit_type: str, node: int) -> np.ndarray:
        """Estimated drive of a unit of a type from ``node`` to every node (s)."""
        return self._estimator_for(unit_type).times_from(node)

    def reach_times(self, unit: Unit) -> np.ndarray:
        """Estimated time (s) for ``unit`` to reach every node from where it is now."""
        node, lead = unit.position(self.now)
        times = self.times_from(unit.type, node)
        return times + lead if lead else times

    def eta(self, unit: Unit, node: int) -> float:
        """Estimated time (s) for ``unit`` to reach ``node`` from where it is now."""
        start, lead = unit.position(self.now)
        return lead + float(self.times_to(unit.type, node)[start])

    def record(
        self, event: str, unit: int, incident: int, node: int, detail: str, value: float = 0.0
    ) -> None:
        """Append an event to the log now (see :data:`~twin.response.kpis.EVENTS`)."""
        self._record(event, unit, incident, node, detail, value)
