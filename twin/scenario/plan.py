"""The response plan model: stations and units, dispatch rule, shelters, routes and closures.

A plan file is YAML whose top level validates as :class:`Plan`. Plans are compared on the
same scenario, so a plan holds only what an emergency officer decides.
"""

from __future__ import annotations

from collections import Counter
from difflib import get_close_matches
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag, model_validator
from pydantic_core import PydanticCustomError

from twin.plugins import DISPATCH_POLICIES
from twin.scenario.base import (
    LonLat,
    Name,
    NameOrPlace,
    PeopleCount,
    Polygon,
    Polyline,
    StrictModel,
    UnitCount,
    Version,
    require_one_of,
)
from twin.scenario.quantities import (
    Duration,
    PositiveDuration,
    PositiveLength,
    humanize_duration,
)
from twin.scenario.triggers import Trigger, check_triggers

UnitType = Literal["ambulance", "fire_engine", "police", "rescue_boat"]
"""Kinds of response unit."""


class UnitCounts(StrictModel):
    """How many units of each kind a station holds."""

    ambulance: UnitCount = 0
    """Ambulances."""
    fire_engine: UnitCount = 0
    """Fire engines."""
    police: UnitCount = 0
    """Police cars."""
    rescue_boat: UnitCount = 0
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


Tier = Literal["community", "street", "district", "city"]
"""Levels of command, lowest first."""

TIERS: tuple[str, ...] = ("community", "street", "district", "city")
"""The tiers in order, lowest first."""


class LowestTiers(StrictModel):
    """The lowest tier a call of each priority may be handled at."""

    priority_1: Tier = "community"
    """Lowest tier for priority-1 calls (e.g. `district`: big incidents start higher)."""
    priority_2: Tier = "community"
    """Lowest tier for priority-2 calls."""
    priority_3: Tier = "community"
    """Lowest tier for priority-3 calls."""

    def of(self, priority: int) -> str:
        """The lowest tier of a priority (1-3)."""
        return (self.priority_1, self.priority_2, self.priority_3)[priority - 1]


class TieredDispatch(StrictModel):
    """Tiered command: a call goes to the lowest tier allowed for its priority; it escalates
    to the tier above after a wait, or at once when no unit there can arrive within target;
    neighbouring jurisdictions lend units (mutual aid).

    With `jurisdictions` in the plan, each call starts at the jurisdiction whose area holds
    it; without, its local tier is every station within `local_radius` and the city tier is
    every station of the plan.
    """

    policy: Literal["tiered"] = "tiered"
    travel_time: Literal["live", "free_flow"] = "live"
    """Travel times from live traffic and closures, or from free-flow speeds."""
    local_radius: PositiveDuration = 600.0
    """Without `jurisdictions`: stations within this travel time form the local tier (s;
    default 10 min)."""
    escalate_after: Duration = 120.0
    """Longest wait at one tier for its busy units before escalating (s; default 2 min)."""
    lowest_tier: LowestTiers = LowestTiers()
    """With `jurisdictions`: lowest tier allowed by priority, e.g. {priority_1: district};
    default community."""
    mutual_aid: bool = True
    """Whether help may come from outside the call's own jurisdictions: their neighbours,
    then units from outside the plan."""
    outside_aid_delay: Duration | None = 1200.0
    """Travel time of a unit from outside the plan, sent when the top tier has waited
    `escalate_after` with no free unit (s; default 20 min); null for none."""


BUILT_IN_POLICIES: tuple[str, ...] = ("nearest", "priority", "coverage", "tiered")
"""Dispatch policies whose options this schema knows."""


def policy_names() -> list[str]:
    """Every policy a plan may name: the built-in ones, then those registered by code
    (``twin.response.policies.register``, see :data:`twin.plugins.DISPATCH_POLICIES`)."""
    return [*BUILT_IN_POLICIES, *sorted(set(DISPATCH_POLICIES) - set(BUILT_IN_POLICIES))]


class RegisteredDispatch(StrictModel):
    """A dispatch policy registered by code (``twin.response.policies.register``), named by
    its ``policy``; its other options are passed to it as written (it checks them)."""

    model_config = ConfigDict(extra="allow")

    policy: str = Field(json_schema_extra={"not": {"enum": list(BUILT_IN_POLICIES)}})
    """Name the policy was registered under (not a built-in one: those have their own
    options)."""
    travel_time: Literal["live", "free_flow"] = "live"
    """Travel times from live traffic and closures, or from free-flow speeds."""

    @model_validator(mode="before")
    @classmethod
    def _registered(cls, data: Any) -> Any:
        names = policy_names()
        if isinstance(data, dict) and data.get("policy") in names:
            return data
        if not isinstance(data, dict) or "policy" not in data:
            raise PydanticCustomError(
                "missing_policy",
                "missing `policy`",
                {"subloc": ("policy",), "fix": f"add `policy:` with one of: {', '.join(names)}"},
            )
        policy = str(data["policy"])
        close = get_close_matches(policy, names, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise PydanticCustomError(
            "unknown_policy",
            f"unknown policy {policy!r}{hint}",
            {"subloc": ("policy",), "fix": f"use one of: {', '.join(names)}"},
        )


def _dispatch_tag(value: Any) -> str:
    policy = value.get("policy") if isinstance(value, dict) else getattr(value, "policy", None)
    return policy if isinstance(policy, str) and policy in BUILT_IN_POLICIES else "registered"


Dispatch = Annotated[
    Annotated[NearestDispatch, Tag("nearest")]
    | Annotated[PriorityDispatch, Tag("priority")]
    | Annotated[CoverageDispatch, Tag("coverage")]
    | Annotated[TieredDispatch, Tag("tiered")]
    | Annotated[RegisteredDispatch, Tag("registered")],
    Discriminator(_dispatch_tag),
]
"""A dispatch rule, told apart by its ``policy``: a built-in one (options checked here), or
one registered by code."""


class Area(StrictModel):
    """Where a jurisdiction is responsible: a polygon, or a circle around a point."""

    polygon: Polygon | None = None
    """Corners [[longitude, latitude], ...]; give this or `center` and `radius`."""
    center: LonLat | None = None
    """Centre of a circular area [longitude, latitude]; with `radius`."""
    radius: PositiveLength | None = None
    """Radius of the circular area (m; e.g. '800 m', '1.5 km')."""

    @model_validator(mode="after")
    def _check(self) -> Area:
        require_one_of(self, ("polygon", "center"), "area")
        if (self.center is None) != (self.radius is None):
            raise PydanticCustomError(
                "circle",
                "a circular area needs both `center` and `radius`",
                {
                    "subloc": ("radius" if self.radius is None else "center",),
                    "fix": "give `center: [lon, lat]` and `radius: 800 m`, or a `polygon`",
                },
            )
        return self


class Jurisdiction(StrictModel):
    """A command area of one tier: the stations (and their units) it owns, where it is
    responsible, and who it escalates to."""

    name: str
    """Name, unique within the plan."""
    tier: Tier
    """community, street, district or city."""
    parent: str | None = None
    """The jurisdiction of a higher tier it escalates to (its name); none for the top."""
    area: Area | None = None
    """Where it is responsible (within its parent's area). Without it: the places its
    stations reach first among its parent's children without an area; a top jurisdiction
    without it covers the whole map."""
    stations: list[str] = Field(default_factory=list)
    """Names of the stations it owns (each station belongs to exactly one jurisdiction)."""
    neighbours: list[str] = Field(default_factory=list)
    """Jurisdictions that lend it units besides those sharing a border (found on the road
    graph among jurisdictions of the same tier)."""


class Shelter(StrictModel):
    """A place evacuees go to."""

    name: str
    """Name, unique within the plan."""
    location: LonLat | None = None
    """Where [longitude, latitude]; give this or `facility`."""
    facility: str | None = None
    """OSM id of a facility of the city; or `location`."""
    capacity: PeopleCount
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
    """Name of the shelter it leads to (one of `shelters`); without it, the plan's shelter
    nearest the last waypoint."""
    zone: Polygon | None = None
    """Evacuees leaving from inside this area take the route ([longitude, latitude]
    corners). Without it, every evacuee not in another route's zone takes the zone-less
    route whose first waypoint is nearest their home."""


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
    name: Name = Field(examples=["baseline"])
    """Short name, used in comparisons and reports (output folders use a safe file name
    made of it)."""
    description: str = ""
    """What the plan changes, in words."""
    stations: list[Station] = Field(min_length=1)
    """Stations and the units they hold."""
    dispatch: Dispatch = NearestDispatch()
    """Dispatch rule: {policy: nearest | priority | coverage | tiered | a registered policy,
    ...options}."""
    shelters: list[Shelter] = Field(default_factory=list)
    """Shelters for evacuees, with capacities."""
    open_shelters: list[NameOrPlace] = Field(default_factory=list)
    """Candidate shelters of the city (schools, community centres) the plan opens: a
    facility name, OSM id ('way/123456') or [longitude, latitude] (the nearest candidate
    within 250 m). The city's designated shelters are always open."""
    open_candidates: bool = False
    """Open every candidate shelter of the city."""
    max_shelter_distance: PositiveLength = 3000.0
    """Evacuees on foot are never sent to a shelter farther than this walking distance
    from where they choose it (m; default 3 km); those with none in reach are reported."""
    max_shelter_drive: PositiveLength | None = None
    """Evacuees by car are sent to the shelter nearest by road only within this road
    distance of their start (m; default none: any shelter on the map); cars with none in
    reach leave for the edge of the evacuation zone, and a full shelter sends cars on only
    to shelters within this distance of it (the others are reported unsheltered)."""
    evacuation_routes: list[EvacuationRoute] = Field(default_factory=list)
    """Routes evacuees are directed along (optional)."""
    closures: list[Closure] = Field(default_factory=list)
    """Roads the plan closes (optional)."""
    jurisdictions: list[Jurisdiction] = Field(default_factory=list)
    """Command areas for tiered dispatch (optional): tiers, areas, stations owned, parents
    and neighbours. Other policies ignore them."""
    triggers: list[Trigger] = Field(default_factory=list)
    """Early-warning triggers (optional): `{when: '<signal> <op> <value> [for <duration>]',
    then: [actions]}`; actions: warning, evacuate, close_road, open_shelter, preposition,
    mutual_aid (see scenarios/README.md; signals in twin/scenario/signals.py)."""

    @model_validator(mode="after")
    def _names(self) -> Plan:
        for section in ("stations", "shelters", "evacuation_routes", "closures", "jurisdictions"):
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
        if self.jurisdictions:
            _check_jurisdictions(self)
        check_triggers(self.triggers, [s.name for s in self.stations])
        return self

    def unit_totals(self) -> dict[str, int]:
        """Units of each kind over all stations."""
        totals = Counter[str]()
        for station in self.stations:
            totals.update(station.units.model_dump())
        return {k: v for k, v in totals.items() if v}


def _check_jurisdictions(plan: Plan) -> None:
    """Raise for the first inconsistency of the plan's jurisdictions: unknown or lower-tier
    parent, unknown neighbour or station, a station owned twice or by none, two top
    jurisdictions without an area, or one without area or stations that has a parent."""
    items = plan.jurisdictions
    by_name = {j.name: j for j in items}
    names = ", ".join(j.name for j in items)
    stations = {s.name for s in plan.stations}
    owner: dict[str, str] = {}

    def fail(kind: str, message: str, loc: tuple, fix: str) -> None:
        raise PydanticCustomError(kind, message, {"loc": ("jurisdictions", *loc), "fix": fix})

    for i, j in enumerate(items):
        if j.parent is not None:
            parent = by_name.get(j.parent)
            if parent is None:
                fail(
                    "unknown_jurisdiction",
                    f"jurisdiction {j.name!r} names parent {j.parent!r}, which the plan does "
                    f"not list (jurisdictions: {names})",
                    (i, "parent"),
                    "name one of `jurisdictions`, or remove `parent` for a top jurisdiction",
                )
            elif TIERS.index(parent.tier) <= TIERS.index(j.tier):
                fail(
                    "tier_order",
                    f"jurisdiction {j.name!r} ({j.tier}) has parent {parent.name!r} "
                    f"({parent.tier}), which is not a higher tier",
                    (i, "parent"),
                    "a parent is a higher tier: community < street < district < city",
                )
        if j.parent is not None and j.area is None and not j.stations:
            fail(
                "empty_jurisdiction",
                f"jurisdiction {j.name!r} has neither an area nor stations",
                (i,),
                "give it `area` or `stations` (its area is then where they arrive first)",
            )
        for k, other in enumerate(j.neighbours):
            if other not in by_name or other == j.name:
                fail(
                    "unknown_jurisdiction",
                    f"jurisdiction {j.name!r} names neighbour {other!r}, which is not another "
                    f"jurisdiction of the plan (jurisdictions: {names})",
                    (i, "neighbours", k),
                    "name another of `jurisdictions`",
                )
        for k, station in enumerate(j.stations):
            if station not in stations:
                fail(
                    "unknown_station",
                    f"jurisdiction {j.name!r} owns station {station!r}, which the plan does "
                    f"not list (stations: {', '.join(sorted(stations))})",
                    (i, "stations", k),
                    "name one of `stations`",
                )
            if station in owner:
                fail(
                    "station_owned_twice",
                    f"station {station!r} belongs to both {owner[station]!r} and {j.name!r}",
                    (i, "stations", k),
                    "list each station under one jurisdiction only",
                )
            owner[station] = j.name
    tops = [i for i, j in enumerate(items) if j.parent is None and j.area is None]
    if len(tops) > 1:
        fail(
            "two_tops",
            f"{items[tops[0]].name!r} and {items[tops[1]].name!r} both cover the whole map "
            "(top jurisdictions without an area)",
            (tops[1], "area"),
            "give one of them an `area`, or a `parent`",
        )
    for i, station in enumerate(plan.stations):
        if station.name not in owner:
            raise PydanticCustomError(
                "station_without_jurisdiction",
                f"station {station.name!r} belongs to no jurisdiction",
                {
                    "loc": ("stations", i, "name"),
                    "fix": "list it under the `stations` of one jurisdiction",
                },
            )
