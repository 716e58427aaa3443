"""Early-warning triggers of a plan: conditions on signals, and the actions they take.

A plan's ``triggers:`` is a list of ``{when: ..., then: [...]}``. ``when`` is a text
``"<signal> <op> <value> [for <duration>]"`` (``"max_depth_m > 0.3 m for 10 min"``) or the
same as a mapping ``{signal, op, value, for}``; ``then`` lists actions (a warning, an
evacuation order, a road closure, a shelter opened, units pre-positioned, mutual aid).

What a trigger may watch, and in which unit, is the registry :mod:`twin.scenario.signals`
(re-exported here); a condition's :attr:`Condition.key` is the key its value is filed under.
The evaluator is :mod:`twin.coupling.triggers`.

This module is schema only (layer ``scenario``): it imports nothing above ``twin.scenario``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import get_close_matches
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from twin.scenario.base import (
    Fraction,
    LonLat,
    NameOrPlace,
    Polygon,
    StrictModel,
    UnitCount,
    require_one_of,
)
from twin.scenario.demand import DepartureCurve
from twin.scenario.quantities import Duration, PositiveDuration, PositiveLength, humanize_duration
from twin.scenario.signals import (
    LEVELS,
    SIGNALS,
    Level,
    Signal,
    SignalRef,
    allowed_signals,
    level_number,
    resolve_signal,
)

__all__ = [
    "ACTIONS",
    "LEVELS",
    "OPERATORS",
    "SIGNALS",
    "Action",
    "Condition",
    "Signal",
    "SignalRef",
    "Trigger",
    "WarningAction",
    "WarningArea",
    "allowed_signals",
    "check_triggers",
    "level_number",
    "resolve_signal",
]

OPERATORS: tuple[str, ...] = (">", ">=", "<", "<=", "==")
"""Comparison operators a condition may use."""

Operator = Literal[">", ">=", "<", "<=", "=="]


_WHEN = re.compile(
    r"""^\s*(?P<signal>gauge:\s*"[^"]*"|gauge:\s*'[^']*'|[^\s<>=!]+)\s*"""
    r"""(?P<op>>=|<=|==|!=|=|>|<)?\s*(?P<rest>.*?)\s*$"""
)
_FOR = re.compile(r"\s+for\s+", re.IGNORECASE)


def _split_when(value: Any) -> Any:
    """Turn the text form of a condition into its mapping form (a mapping passes as is)."""
    if not isinstance(value, str):
        return value
    example = "`max_depth_m > 0.3 m for 10 min`"
    match = _WHEN.match(value)
    if not match or not match["rest"]:
        raise PydanticCustomError(
            "bad_condition",
            f"cannot read the condition {value!r}; write `<signal> <op> <value> [for <duration>]`",
            {"fix": f"write e.g. {example}"},
        )
    op = match["op"]
    if op not in OPERATORS:
        got = f"operator {op!r}" if op else "no operator"
        raise PydanticCustomError(
            "bad_operator",
            f"the condition {value!r} has {got}; operators: {' '.join(OPERATORS)}",
            {"fix": f"write e.g. {example}"},
        )
    parts = _FOR.split(match["rest"])
    data: dict[str, Any] = {"signal": match["signal"], "op": op, "value": parts[0]}
    if len(parts) == 2:
        data["for"] = parts[1]
    elif len(parts) > 2:
        raise PydanticCustomError(
            "bad_condition",
            f"the condition {value!r} has more than one `for`",
            {"fix": f"write one duration, e.g. {example}"},
        )
    return data


class Condition(StrictModel):
    """``<signal> <op> <value>``, held continuously for a duration.

    In a file, the text ``"max_depth_m > 0.3 m for 10 min"`` or the mapping
    ``{signal: max_depth_m, op: ">", value: 0.3 m, for: 10 min}``.
    """

    model_config = ConfigDict(populate_by_name=True)

    signal: str
    """A vital sign, `gauge:<name>` or `forecast:rain_mm_h@<lead>` (e.g. '@30min')."""
    op: Operator
    """Comparison: >, >=, <, <= or ==."""
    value: float | str
    """Threshold, in the signal's unit or with a unit ('0.3 m', '20 mm/h', '80 %'); for
    warning_level a level name (blue, yellow, orange, red)."""
    hold: Duration = Field(default=0.0, alias="for")
    """How long the condition must hold without a break before the trigger fires (s;
    e.g. '10 min'; default 0: at once)."""

    @model_validator(mode="after")
    def _check(self) -> Condition:
        try:
            ref = resolve_signal(self.signal)
        except PydanticCustomError as exc:
            raise _at(exc, "signal") from None
        try:
            ref.signal.read(self.value)
        except PydanticCustomError as exc:
            prefix = f"{ref.key} ({ref.signal.unit}): " if ref.signal.kind else ""
            raise _at(exc, "value", prefix) from None
        return self

    @property
    def ref(self) -> SignalRef:
        """The signal watched."""
        return resolve_signal(self.signal)

    @property
    def key(self) -> str:
        """The key the signal's value is filed under (see :class:`SignalRef`)."""
        return self.ref.key

    @property
    def threshold(self) -> float:
        """The value compared with, in the signal's unit."""
        return self.ref.signal.read(self.value)

    def __str__(self) -> str:
        ref = self.ref
        unit = ref.signal.unit
        if unit == "level":
            value = LEVELS[int(self.threshold)]
        elif unit in ("1", "people", "vehicles", "units", "incidents"):
            value = f"{self.threshold:g}"
        else:
            value = f"{self.threshold:g} {unit}"
        hold = f" for {humanize_duration(self.hold)}" if self.hold else ""
        key = ref.key
        if ref.gauge is not None and re.search(r"\s", ref.gauge):
            key = f'gauge:"{ref.gauge}"'
        return f"{key} {self.op} {value}{hold}"


def _at(exc: PydanticCustomError, field: str, prefix: str = "") -> PydanticCustomError:
    context = dict(exc.context or {})
    context["subloc"] = (field,)
    return PydanticCustomError(exc.type, prefix + exc.message(), context)


When = Annotated[
    Condition,
    BeforeValidator(_split_when),
    WithJsonSchema(
        {
            "anyOf": [
                {
                    "type": "string",
                    "description": "<signal> <op> <value> [for <duration>], e.g. "
                    "'max_depth_m > 0.3 m for 10 min'",
                },
                Condition.model_json_schema(by_alias=True),
            ]
        }
    ),
]
"""A condition in either form (text or mapping)."""


class WarningArea(StrictModel):
    """Where a warning applies (a CAP 1.2 area): a name and a polygon or a circle."""

    name: str
    """Description of the area, e.g. 'Fontvieille and La Condamine' (CAP areaDesc)."""
    polygon: Polygon | None = None
    """Corners [[longitude, latitude], ...]; give this or `center` and `radius`."""
    center: LonLat | None = None
    """Centre of a circular area [longitude, latitude]; with `radius`."""
    radius: PositiveLength | None = None
    """Radius of the circular area (m; e.g. '800 m')."""

    @model_validator(mode="after")
    def _check(self) -> WarningArea:
        require_one_of(self, ("polygon", "center"), "warning area")
        if (self.center is None) != (self.radius is None):
            raise PydanticCustomError(
                "circle",
                "a circular area needs both `center` and `radius`",
                {"subloc": ("radius" if self.radius is None else "center",), "fix": "give both"},
            )
        return self


class WarningAction(StrictModel):
    """Issue a warning at a level. Levels in force only go up: a lower level is ignored
    unless ``lower: true`` (an explicit downgrade; ``level: none`` with it is the all-clear)."""

    level: Level
    """none, blue, yellow, orange or red."""
    area: WarningArea | None = None
    """Where it applies; the whole map if omitted. Each area has its own level in force."""
    message: str = ""
    """What people are told (CAP description)."""
    lower: bool = False
    """Whether this warning may lower the level in force in its area."""

    @model_validator(mode="after")
    def _all_clear(self) -> WarningAction:
        if self.level == "none" and not self.lower:
            raise PydanticCustomError(
                "all_clear",
                "`level: none` (the all-clear) lowers the level in force, so it needs "
                "`lower: true`; without it, it would never change anything",
                {"subloc": ("level",), "fix": "write `warning: {level: none, lower: true}`"},
            )
        return self


class UnitsMoved(StrictModel):
    """Numbers of units of each kind (the kinds of a plan's station ``units``)."""

    ambulance: UnitCount = 0
    """Ambulances."""
    fire_engine: UnitCount = 0
    """Fire engines."""
    police: UnitCount = 0
    """Police cars."""
    rescue_boat: UnitCount = 0
    """Rescue boats."""

    @model_validator(mode="after")
    def _some(self) -> UnitsMoved:
        if self.ambulance + self.fire_engine + self.police + self.rescue_boat == 0:
            raise PydanticCustomError(
                "no_units", "no units given", {"fix": "add e.g. `ambulance: 2`"}
            )
        return self


class EvacuateAction(StrictModel):
    """Order the people of a zone (or of listed buildings) to leave, from the firing time
    on (an evacuation order like the scenario's ``demand.evacuation``, without its time)."""

    zone: Polygon | None = None
    """Area ordered to leave ([longitude, latitude] corners); give this or `buildings`."""
    buildings: list[str] | None = Field(default=None, min_length=1)
    """OSM ids of the buildings ordered to leave (e.g. 'way/123456'); or `zone`."""
    curve: DepartureCurve = DepartureCurve()
    """Spread of departures after the order (default Rayleigh, mean 20 min)."""
    compliance: Fraction = 1.0
    """Share of people who obey the order (0-1)."""
    car_share: Fraction = 0.5
    """Share of evacuees who leave by car; the rest walk (0-1)."""

    @model_validator(mode="after")
    def _where(self) -> EvacuateAction:
        require_one_of(self, ("zone", "buildings"), "evacuation")
        return self


class CloseRoadAction(StrictModel):
    """Close a road from the firing time on."""

    name: str | None = None
    """Name shown in results."""
    road: str | None = None
    """OSM id of the way closed (e.g. 'way/123456'); give this or `location`."""
    location: LonLat | None = None
    """A point on the road; the nearest road segment is closed. Or `road`."""
    duration: PositiveDuration | None = None
    """How long it stays closed (s); to the end of the run if omitted."""

    @model_validator(mode="after")
    def _check(self) -> CloseRoadAction:
        require_one_of(self, ("road", "location"), "closure")
        return self


class PrepositionAction(UnitsMoved):
    """Move idle units to a station ahead of need."""

    model_config = ConfigDict(populate_by_name=True)

    source: str | None = Field(default=None, alias="from")
    """Station they come from (the plan's station names); any station if omitted."""
    to: str
    """Station they go to (one of the plan's stations)."""


class MutualAidAction(UnitsMoved):
    """Call units from outside the plan (a neighbouring city's)."""

    to: str | None = None
    """Station they report to (one of the plan's stations); without it, they serve calls
    from where they enter."""
    delay: PositiveDuration = 1200.0
    """Time until they arrive (s; default 20 min)."""


ACTIONS: tuple[str, ...] = (
    "warning",
    "evacuate",
    "close_road",
    "open_shelter",
    "preposition",
    "mutual_aid",
)
"""The kinds of action a trigger may take."""


class Action(StrictModel):
    """One action: a mapping with exactly one of its keys, e.g. ``{warning: {level: red}}``."""

    warning: WarningAction | None = None
    """Issue a warning: {level, area?, message?, lower?}."""
    evacuate: EvacuateAction | None = None
    """Order an evacuation: {zone or buildings, curve?, compliance?, car_share?}."""
    close_road: CloseRoadAction | None = None
    """Close a road: {road or location, duration?, name?}."""
    open_shelter: NameOrPlace | None = None
    """Open a shelter: a shelter of the plan, a candidate facility's name or OSM id, or
    [longitude, latitude] (the nearest candidate)."""
    preposition: PrepositionAction | None = None
    """Move units: {ambulance: 2, ..., to: station, from?: station}."""
    mutual_aid: MutualAidAction | None = None
    """Call outside units: {ambulance: 2, ..., to?: station, delay?}."""

    @model_validator(mode="after")
    def _one(self) -> Action:
        given = [k for k in ACTIONS if getattr(self, k) is not None]
        if len(given) != 1:
            what = f"{len(given)}: {', '.join(given)}" if given else "none"
            raise PydanticCustomError(
                "one_action",
                f"an action has exactly one of {', '.join(ACTIONS)}; this one has {what}",
                {"fix": "write one action per list entry, e.g. `- warning: {level: orange}`"},
            )
        return self

    @property
    def kind(self) -> str:
        """Which action it is (one of :data:`ACTIONS`)."""
        return next(k for k in ACTIONS if getattr(self, k) is not None)

    @property
    def detail(self) -> Any:
        """The action's settings (its one non-empty field)."""
        return getattr(self, self.kind)


class Trigger(StrictModel):
    """When a condition holds (for a duration), take actions; fires once unless ``repeat``."""

    name: str | None = None
    """Name shown in the log; the condition's text if omitted."""
    when: When = Field(examples=["max_depth_m > 0.3 m for 10 min"])
    """'<signal> <op> <value> [for <duration>]', or {signal, op, value, for}."""
    then: list[Action] = Field(min_length=1)
    """Actions taken when it fires, in order."""
    repeat: bool = False
    """Whether it fires again after its condition has stopped holding and holds again
    (default: it fires once)."""

    @property
    def label(self) -> str:
        """Its name, or its condition's text."""
        return self.name or str(self.when)


def check_triggers(triggers: Sequence[Trigger], stations: Sequence[str]) -> None:
    """Check that the stations actions name are the plan's.

    Parameters
    ----------
    triggers
        The plan's triggers.
    stations
        The plan's station names.

    Raises
    ------
    pydantic_core.PydanticCustomError
        Whose ``loc`` names the field, for the first station the plan does not list.
    """
    known = set(stations)
    for i, trigger in enumerate(triggers):
        for k, action in enumerate(trigger.then):
            detail = action.detail
            for field, alias in (("source", "from"), ("to", "to")):
                name = getattr(detail, field, None) if action.kind != "evacuate" else None
                if isinstance(name, str) and name not in known:
                    close = get_close_matches(name, list(known), n=1)
                    hint = f"; did you mean '{close[0]}'?" if close else ""
                    raise PydanticCustomError(
                        "unknown_station",
                        f"{action.kind} names station {name!r}, which the plan does not list{hint}",
                        {
                            "loc": ("triggers", i, "then", k, action.kind, alias),
                            "fix": f"name one of `stations`: {', '.join(sorted(known))}",
                        },
                    )
