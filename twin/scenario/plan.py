"""The response plan model: stations and units, dispatch rule, shelters, routes and closures.

A plan file is YAML whose top level validates as :class:`Plan`. Plans are compared on the
same scenario, so a plan holds only what an emergency officer decides.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from twin.scenario.base import (
    LonLat,
    NonNegativeInt,
    Polyline,
    StrictModel,
    Version,
    require_one_of,
)
from twin.scenario.quantities import Duration, PositiveDuration, humanize_duration

UnitType = Literal["ambulance", "fire_engine", "police", "rescue_boat"]
"""Kinds of response unit."""


class UnitCounts(StrictModel):
    """How many units of each kind a station holds."""

    ambulance: NonNegativeInt = 0
    """Ambulances."""
    fire_engine: NonNegativeInt = 0
    """Fire engines."""
    police: NonNegativeInt = 0
    """Police cars."""
    rescue_boat: NonNegativeInt = 0
    """Rescue boats (move on flooded roads)."""

    @property
    def total(self) -> int:
        """Number of units of every kind."""
        return self.ambulance + self.fire_engine + self.police + self.rescue_boat


class Station(StrictModel):
    """A base where units wait between calls."""

    name: str
    """Name, unique within the plan."""
    location: LonLat | None = None
    """Where [longitude, latitude]; give this or `facility`."""
    facility: str | None = None
    """OSM id of a facility of the city (e.g. 'node/123456'); or `location`."""
    units: UnitCounts
    """Units stationed here, e.g. {ambulance: 2, fire_engine: 1}."""

    @model_validator(mode="after")
    def _check(self) -> Station:
        require_one_of(self, ("location", "facility"), "station")
        if self.units.total == 0:
            raise PydanticCustomError(
                "no_units",
                f"station {self.name!r} has no units",
                {"subloc": ("units",), "fix": "add e.g. `units: {ambulance: 1}`, or remove it"},
            )
        return self


class NearestDispatch(StrictModel):
    """Send the nearest available unit by current travel time."""

    policy: Literal["nearest"] = "nearest"
    travel_time: Literal["live", "free_flow"] = "live"
    """Travel times from live traffic and closures, or from free-flow speeds."""


class PriorityDispatch(StrictModel):
    """Serve waiting calls by priority (1 first), then the nearest unit."""

    policy: Literal["priority"] = "priority"
    travel_time: Literal["live", "free_flow"] = "live"
    """Travel times from live traffic and closures, or from free-flow speeds."""
    preempt: bool = False
    """Whether a priority-1 call may take a unit already sent to a priority-3 call."""


class CoverageDispatch(StrictModel):
    """Nearest unit, then move idle units up to keep the city covered."""

    policy: Literal["coverage"] = "coverage"
    travel_time: Literal["live", "free_flow"] = "live"
    """Travel times from live traffic and closures, or from free-flow speeds."""
    coverage_time: PositiveDuration = 480.0
    """A place is covered if a unit can reach it within this time (s; default 8 min)."""
    move_up: bool = True
    """Whether idle units relocate to fill coverage gaps."""


class TieredDispatch(StrictModel):
    """Local stations first; escalate to the city tier, then mutual aid, when none is free."""

    policy: Literal["tiered"] = "tiered"
    travel_time: Literal["live", "free_flow"] = "live"
    """Travel times from live traffic and closures, or from free-flow speeds."""
    local_radius: PositiveDuration = 600.0
    """Stations within this travel time form the local tier (s; default 10 min)."""
    escalate_after: Duration = 120.0
    """Wait for a local unit at most this long before escalating (s; default 2 min)."""
    mutual_aid: bool = True
    """Whether units from outside the plan may be requested last."""


Dispatch = Annotated[
    NearestDispatch | PriorityDispatch | CoverageDispatch | TieredDispatch,
    Field(discriminator="policy"),
]
"""A dispatch rule, told apart by its ``policy``."""


class Shelter(StrictModel):
    """A place evacuees go to."""

    name: str
    """Name, unique within the plan."""
    location: LonLat | None = None
    """Where [longitude, latitude]; give this or `facility`."""
    facility: str | None = None
    """OSM id of a facility of the city; or `location`."""
    capacity: int = Field(ge=1)
    """Number of people it holds."""

    @model_validator(mode="after")
    def _place(self) -> Shelter:
        require_one_of(self, ("location", "facility"), "shelter")
        return self


class EvacuationRoute(StrictModel):
    """A route evacuees are directed along, through the given waypoints."""

    name: str
    """Name shown in results."""
    waypoints: Polyline
    """Points the route passes, in order ([longitude, latitude])."""
    mode: Literal["car", "walk", "both"] = "both"
    """Who uses it."""
    shelter: str | None = None
    """Name of the shelter it leads to (one of `shelters`)."""


class Closure(StrictModel):
    """Roads closed by the plan (police cordon, contraflow) for a time."""

    name: str
    """Name shown in results."""
    road: str | None = None
    """OSM id of the way closed (e.g. 'way/123456'); give this or `location`."""
    location: LonLat | None = None
    """A point on the road; the nearest road segment is closed. Or `road`."""
    start: Duration = 0.0
    """When the closure begins, since the scenario start (s)."""
    end: Duration | None = None
    """When it ends (s); never if omitted."""

    @model_validator(mode="after")
    def _check(self) -> Closure:
        require_one_of(self, ("road", "location"), "closure")
        if self.end is not None and self.end <= self.start:
            raise PydanticCustomError(
                "closure_order",
                f"the closure ends ({humanize_duration(self.end)}) before it starts "
                f"({humanize_duration(self.start)})",
                {"subloc": ("end",), "fix": "make `end` later than `start`, or remove it"},
            )
        return self


class Plan(StrictModel):
    """A response plan: where units are, how they are sent, where evacuees go."""

    kind: Literal["plan"] = "plan"
    """File kind; optional (a file with `stations` is a plan)."""
    version: Version = Field(examples=[1])
    """File format version. Required; write `version: 1`."""
    name: str = Field(min_length=1, examples=["baseline"])
    """Short name, used in comparisons and reports."""
    description: str = ""
    """What the plan changes, in words."""
    stations: list[Station] = Field(min_length=1)
    """Stations and the units they hold."""
    dispatch: Dispatch = NearestDispatch()
    """Dispatch rule: {policy: nearest | priority | coverage | tiered, ...options}."""
    shelters: list[Shelter] = Field(default_factory=list)
    """Shelters for evacuees, with capacities."""
    evacuation_routes: list[EvacuationRoute] = Field(default_factory=list)
    """Routes evacuees are directed along (optional)."""
    closures: list[Closure] = Field(default_factory=list)
    """Roads the plan closes (optional)."""

    @model_validator(mode="after")
    def _names(self) -> Plan:
        for section in ("stations", "shelters", "evacuation_routes", "closures"):
            items = getattr(self, section)
            counts = Counter(item.name for item in items)
            for i, item in enumerate(items):
                if counts[item.name] > 1:
                    raise PydanticCustomError(
                        "duplicate_name",
                        f"the name {item.name!r} is used {counts[item.name]} times in {section}",
                        {"loc": (section, i, "name"), "fix": "give each entry its own name"},
                    )
        shelters = {s.name for s in self.shelters}
        for i, route in enumerate(self.evacuation_routes):
            if route.shelter is not None and route.shelter not in shelters:
                known = ", ".join(sorted(shelters)) or "none"
                raise PydanticCustomError(
                    "unknown_shelter",
                    f"route {route.name!r} leads to shelter {route.shelter!r}, which the plan "
                    f"does not list (shelters: {known})",
                    {"loc": ("evacuation_routes", i, "shelter"), "fix": "name one of `shelters`"},
                )
        return self

    def unit_totals(self) -> dict[str, int]:
        """Units of each kind over all stations."""
        totals = Counter[str]()
        for station in self.stations:
            totals.update(station.units.model_dump())
        return {k: v for k, v in totals.items() if v}
