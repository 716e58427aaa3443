"""Response units, their stations and states, and hospitals with limited intake."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twin.response.incidents import Incident
    from twin.response.travel import Route

STATES: tuple[str, ...] = (
    "available",
    "dispatched",
    "on_scene",
    "transporting",
    "at_hospital",
    "returning",
    "out_of_service",
)
"""States a unit moves through. ``returning`` units may be dispatched again."""

WATER_UNITS = frozenset({"rescue_boat"})
"""Unit types that move on water (the model's ``water`` travel) rather than on roads."""

BOAT_SPEED = 4.0
"""Speed of a rescue boat over flood water (m/s; about 8 knots, slowed by debris and
shallows). An assumption of the model."""

FREE_STATES = frozenset({"available", "returning"})
"""States in which a unit can take a call."""

TRANSITIONS: dict[str, frozenset[str]] = {
    "available": frozenset({"dispatched", "returning", "out_of_service"}),
    "dispatched": frozenset({"on_scene", "returning", "dispatched"}),
    "on_scene": frozenset({"transporting", "returning"}),
    "transporting": frozenset({"at_hospital", "returning"}),
    "at_hospital": frozenset({"returning"}),
    "returning": frozenset({"available", "dispatched"}),
    "out_of_service": frozenset({"available"}),
}
"""Allowed state changes (``dispatched -> dispatched`` is a redirect to another call;
``dispatched -> returning`` and ``transporting -> returning`` are units whose destination
became unreachable;
``available -> returning`` is a move-up to another station)."""


@dataclass(frozen=True)
class StationSpec:
    """A station: a name, its road node index, and its units by type."""

    name: str
    node: int
    units: dict[str, int]


@dataclass(eq=False)
class Unit:
    """One vehicle and crew.

    Attributes
    ----------
    id
        Index in the model's unit list (ties between equally good units go to the lower id).
    type
        Unit type (ambulance, fire_engine, police, rescue_boat).
    station
        Index of its home station; ``home`` is that station's node.
    state
        Current state (one of :data:`STATES`) since ``since`` (s).
    node
        Node it is at, or last left when moving.
    route, route_start
        The route being driven and when the drive started (s), or ``None``.
    incident
        The call it is working on, or ``None``.
    busy_time
        Time spent outside ``available`` and ``out_of_service`` so far (s).
    """

    id: int
    type: str
    station: int
    home: int
    name: str
    state: str = "available"
    since: float = 0.0
    node: int = -1
    route: Route | None = None
    route_start: float = 0.0
    incident: Incident | None = None
    busy_time: float = 0.0
    off_until: float = 0.0
    """End of the current or coming off-duty spell (s); 0 when none."""
    process: object = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.node < 0:
            self.node = self.home

    @property
    def free(self) -> bool:
        """Whether it can take a call now."""
        return self.state in FREE_STATES

    def position(self, now: float) -> tuple[int, float]:
        """Next node it will be at and the time until then (s); ``(node, 0)`` when parked."""
        if self.route is None:
            return self.node, 0.0
        return self.route.position(now - self.route_start)


@dataclass(eq=False)
class Hospital:
    """A hospital that takes at most ``per_hour`` ambulance arrivals in any hour.

    An arrival is booked when the ambulance leaves the scene (the dispatch center
    pre-alerts the hospital), so two ambulances cannot both count on the last place.

    Attributes
    ----------
    name, node
        Name and road node index.
    per_hour
        Ambulance arrivals it accepts per rolling hour; beyond that it is on diversion.
    """

    name: str
    node: int
    per_hour: float
    arrivals: deque = field(default_factory=deque)
    overflow: int = 0
    """Patients brought while every hospital was on diversion."""

    def full(self, now: float) -> bool:
        """Whether it is on diversion at time ``now`` (s)."""
        while self.arrivals and self.arrivals[0] <= now - 3600.0:
            self.arrivals.popleft()
        return len(self.arrivals) >= self.per_hour

    def admit(self, now: float) -> None:
        """Record an arrival at ``now`` (s)."""
        self.arrivals.append(now)


def choose_hospital(
    hospitals: list[Hospital], times: list[float], now: float
) -> tuple[Hospital | None, str]:
    """The nearest hospital not on diversion, by drive time (s) from the scene.

    Returns
    -------
    hospital, outcome
        ``(nearest, "nearest")``; ``(other, "divert")`` when the nearest is full;
        ``(nearest, "overflow")`` when all are full; ``(None, "unreachable")`` when no
        hospital can be reached.
    """
    order = sorted(
        (k for k in range(len(times)) if math.isfinite(times[k])), key=lambda k: (times[k], k)
    )
    if not order:
        return None, "unreachable"
    open_ = [k for k in order if not hospitals[k].full(now)]
    if not open_:
        return hospitals[order[0]], "overflow"
    return hospitals[open_[0]], "nearest" if open_[0] == order[0] else "divert"


ARRIVALS_PER_BED_HOUR = 0.05
"""Ambulance arrivals per hour a hospital takes per bed (300 beds: 15 per hour) when its
intake is not given; an assumption, not a measured value."""
