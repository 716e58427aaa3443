"""The signals early-warning triggers may watch: one registry, with the unit of each.

:data:`SIGNALS` holds the city's vital signs (issue 14) by name; two families take a
parameter: ``gauge:<name>`` (water depth at a flood gauge of the scenario, m) and
``forecast:rain_mm_h@<lead>`` (the scenario's rain read ``lead`` ahead, mm/h).
:func:`resolve_signal` reads a name as a trigger writes it; :meth:`Signal.read` reads a
threshold written with or without a unit in the signal's unit. Whoever runs the twin fills a
value for every key a trigger set asks for (:attr:`SignalRef.key`), in the signal's unit.

Schema only (layer ``scenario``); the triggers themselves are
:mod:`twin.scenario.triggers`, their evaluator :mod:`twin.coupling.triggers`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, Literal

from pydantic_core import PydanticCustomError

from twin.scenario.quantities import DURATION, LENGTH, RAIN_RATE, QuantityKind

__all__ = [
    "AREA",
    "GAUGE",
    "LEVELS",
    "RAIN_FORECAST",
    "SHARE",
    "SIGNALS",
    "Level",
    "Signal",
    "SignalRef",
    "allowed_signals",
    "level_number",
    "resolve_signal",
]

SHARE = QuantityKind(
    name="share",
    si_unit="1",
    default_unit="1",
    units={"1": 1.0, "%": 0.01},
    example="0.8",
    allow_negative=False,
    maximum=100.0,
    maximum_reason="a load of 100 times the capacity is beyond any overflow a run can reach",
)
"""Dimensionless shares and loads (1 = 100 %): a bare number or a percentage (``"80 %"``)."""

AREA = QuantityKind(
    name="area",
    si_unit="m2",
    default_unit="m2",
    units={"m2": 1.0, "m²": 1.0, "ha": 1e4, "km2": 1e6, "km²": 1e6},
    example="5 ha",
    allow_negative=False,
    maximum=1e10,
    maximum_reason="10,000 km2 is larger than any city map",
)
"""Areas: m2 inside; ``"5000 m2"``, ``"5 ha"``, ``"0.05 km2"``."""

LEVELS: tuple[str, ...] = ("none", "blue", "yellow", "orange", "red")
"""Warning levels, lowest first; ``none`` is no warning in force (level number 0)."""

Level = Literal["none", "blue", "yellow", "orange", "red"]
"""A warning level."""


def level_number(level: str) -> int:
    """The rank of a warning level: ``none`` 0, ``blue`` 1, ..., ``red`` 4."""
    return LEVELS.index(level)


@dataclass(frozen=True)
class Signal:
    """One thing a trigger may watch.

    Parameters
    ----------
    name
        The name a trigger writes (``"max_depth_m"``; ``"gauge"`` and ``"forecast:rain_mm_h"``
        for the two families).
    unit
        The unit its value is given in (``"m"``, ``"km"``, ``"people"``, ``"1"`` for a share,
        ``"level"`` for the warning level's rank 0-4).
    description
        What it measures, in words.
    kind
        The quantity a threshold may be written in with a unit (``"0.3 m"``); ``None`` for a
        count or the warning level, written as a plain number (or a level name).
    category
        CAP 1.2 category of a warning it causes (``Met`` or ``Safety``).
    event
        CAP event of such a warning, in words.
    forecast
        Whether it is a forecast (a warning it causes is *likely*, not *observed*).
    """

    name: str
    unit: str
    description: str
    kind: QuantityKind | None = None
    category: Literal["Met", "Safety"] = "Safety"
    event: str = "Public safety emergency"
    forecast: bool = False

    def read(self, value: Any) -> float:
        """A threshold as written in a file, as a float in :attr:`unit`.

        Raises
        ------
        pydantic_core.PydanticCustomError
            With a ``fix`` when the value, its unit or its sign is wrong.
        """
        if self.unit == "level":
            return _read_level(value)
        if self.kind is None:
            return _read_count(value, self)
        kind = dataclasses.replace(self.kind, default_unit=self.unit)
        return kind.parse(value) / self.kind.units[self.unit]


def _read_level(value: Any) -> float:
    names = ", ".join(LEVELS)
    if isinstance(value, str) and value.strip() in LEVELS:
        return float(level_number(value.strip()))
    rank = value.strip() if isinstance(value, str) else value
    if isinstance(rank, str) and rank.isdigit():
        rank = int(rank)
    if isinstance(rank, int | float) and not isinstance(rank, bool) and rank in range(len(LEVELS)):
        return float(rank)
    raise PydanticCustomError(
        "bad_level",
        f"warning_level is compared with a level ({names}) or its rank 0-4, got {value!r}",
        {"fix": "write e.g. `warning_level >= orange`"},
    )


def _read_count(value: Any, signal: Signal) -> float:
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or number < 0:
        raise PydanticCustomError(
            "bad_count",
            f"{signal.name} is a number of {signal.unit}; write a plain number of 0 or more, "
            f"got {value!r}",
            {"fix": f"write e.g. `{signal.name} > 100`"},
        )
    return number


_FLOOD = {"category": "Met", "event": "Flooding"}
SIGNALS: dict[str, Signal] = {
    s.name: s
    for s in (
        Signal(
            "network_speed_index",
            "1",
            "mean speed on the drive network over its free-flow speed (1 = free flow)",
            SHARE,
            event="Traffic disruption",
        ),
        Signal("km_closed_cars", "km", "length of road closed to cars", LENGTH, **_FLOOD),
        Signal(
            "km_closed_emergency",
            "km",
            "length of road closed to emergency vehicles",
            LENGTH,
            **_FLOOD,
        ),
        Signal("flooded_area_m2", "m2", "land under water (wet cells)", AREA, **_FLOOD),
        Signal("max_depth_m", "m", "deepest water on land", LENGTH, **_FLOOD),
        Signal(
            "people_in_hazard",
            "people",
            "people in hazardous water (Defra FD2321 hazard rating above low)",
            **_FLOOD,
        ),
        Signal(
            "people_evacuated", "people", "people who have left their homes", event="Evacuation"
        ),
        Signal("people_sheltered", "people", "people arrived at shelters", event="Evacuation"),
        Signal("vehicles_stranded", "vehicles", "vehicles stopped by water or closures", **_FLOOD),
        Signal(
            "units_available",
            "units",
            "response units free to be dispatched",
            event="Emergency services overload",
        ),
        Signal(
            "open_incidents",
            "incidents",
            "incidents called in and not yet closed",
            event="Emergency services overload",
        ),
        Signal(
            "shelter_load",
            "1",
            "people in shelters over shelter capacity (1 = full)",
            SHARE,
            event="Shelter capacity",
        ),
        Signal(
            "hospital_load",
            "1",
            "patients over hospital capacity (1 = full)",
            SHARE,
            event="Hospital capacity",
        ),
        Signal(
            "warning_level",
            "level",
            "highest warning level in force (none 0, blue 1, yellow 2, orange 3, red 4)",
            event="Warning escalation",
        ),
    )
}
"""The city's vital signs a trigger may watch, by name (CityTwin fills each, in its unit)."""

GAUGE = Signal("gauge", "m", "water depth at a flood gauge of the scenario", LENGTH, **_FLOOD)
"""The family ``gauge:<name>``: depth at the scenario's gauge ``<name>`` (``flood.gauges``)."""

RAIN_FORECAST = Signal(
    "forecast:rain_mm_h",
    "mm/h",
    "the scenario's rain intensity a lead time ahead",
    RAIN_RATE,
    category="Met",
    event="Heavy rain",
    forecast=True,
)
"""The family ``forecast:rain_mm_h@<lead>``: rain intensity ``lead`` ahead (default 0)."""


def allowed_signals() -> list[str]:
    """Every signal a trigger may name, as written in a file."""
    return [*SIGNALS, "gauge:<name>", "forecast:rain_mm_h@<lead time>"]


@dataclass(frozen=True)
class SignalRef:
    """A signal as a condition names it.

    Attributes
    ----------
    signal
        The registry entry.
    key
        The key its value is filed under: the name, ``gauge:<name>`` or
        ``forecast:rain_mm_h@<lead in s>s`` (the lead written in seconds, e.g. ``@1800s``).
    gauge
        The gauge's name (``gauge:`` signals only).
    lead
        The forecast's lead time (s; forecasts only).
    """

    signal: Signal
    key: str
    gauge: str | None = None
    lead: float | None = None


def resolve_signal(name: str) -> SignalRef:
    """Look a signal name up in the registry.

    Raises
    ------
    pydantic_core.PydanticCustomError
        For an unknown signal (listing the allowed ones) or a bad gauge name or lead time.
    """
    name = name.strip()
    if name in SIGNALS:
        return SignalRef(SIGNALS[name], name)
    if name.startswith("gauge:"):
        gauge = name.removeprefix("gauge:").strip().strip("\"'")
        if not gauge:
            raise PydanticCustomError(
                "bad_gauge",
                "`gauge:` needs the name of one of the scenario's flood gauges",
                {"fix": "write e.g. `gauge:harbour > 0.5 m` (quote names with spaces)"},
            )
        return SignalRef(GAUGE, f"gauge:{gauge}", gauge=gauge)
    base, _, lead_text = name.partition("@")
    if base.strip() == RAIN_FORECAST.name:
        lead = 0.0
        if lead_text.strip():
            try:
                lead = DURATION.parse(lead_text.strip())
            except PydanticCustomError as exc:
                raise PydanticCustomError(
                    "bad_lead",
                    f"cannot read the forecast lead time {lead_text!r}: {exc.message()}",
                    {"fix": "write e.g. `forecast:rain_mm_h@30min > 20 mm/h`"},
                ) from None
        return SignalRef(RAIN_FORECAST, f"{RAIN_FORECAST.name}@{lead:g}s", lead=lead)
    allowed = allowed_signals()
    close = get_close_matches(name, [*SIGNALS, RAIN_FORECAST.name], n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise PydanticCustomError(
        "unknown_signal",
        f"unknown signal {name!r}{hint}",
        {"fix": f"name one of the allowed signals: {', '.join(allowed)}"},
    )
