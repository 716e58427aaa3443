"""Values with units in scenario files, parsed to SI floats at the edge.

Files may write ``"15 min"``, ``"50 mm/h"`` or ``"1.5 km"``; the models hold seconds, metres
per second and metres. A bare number means the kind's *default unit*: seconds for a duration,
millimetres per hour for a rain rate, metres for a length, metres per second for a speed and
cubic metres per second for a discharge.

Each kind is a :class:`QuantityKind`; the pydantic field types (:data:`Duration`,
:data:`RainRate`, ...) wrap its :meth:`QuantityKind.parse` and give editors a JSON Schema that
accepts a number or a text with a unit.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_SIMPLE = re.compile(rf"^\s*(?P<number>{_NUMBER})\s*(?P<unit>[^\s\d.+-][^\s]*)?\s*$")
_PART = re.compile(rf"\s*({_NUMBER})\s*([A-Za-z]+)\s*")
_ISO = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


@dataclass(frozen=True)
class QuantityKind:
    """One physical kind of value and the units a file may write it in.

    Parameters
    ----------
    name
        What it is, in words (``"duration"``).
    si_unit
        The unit of the parsed value (``"s"``).
    default_unit
        The unit a bare number is read in.
    units
        Accepted unit spellings and their factor to the SI unit.
    example
        A valid text, shown in fixes.
    allow_negative
        Whether a negative value is accepted.
    compound
        Whether several parts may be summed (``"1 h 30 min"``) and ISO 8601 durations
        (``"PT1H30M"``) are accepted.
    maximum
        Largest magnitude accepted, in ``si_unit``: a physically plausible bound, so that a
        value such as ``1e300`` is refused instead of hanging a run.
    maximum_reason
        Why that bound, in words (shown in the error).
    maximum_unit
        Unit the bound is shown in (default: ``default_unit``).
    """

    name: str
    si_unit: str
    default_unit: str
    units: dict[str, float]
    example: str
    allow_negative: bool = True
    compound: bool = False
    maximum: float = math.inf
    maximum_reason: str = ""
    maximum_unit: str = ""
    _display_units: tuple[str, ...] = field(default=(), repr=False)

    @property
    def accepted(self) -> str:
        """The accepted units as one comma-separated text."""
        return ", ".join(self._display_units or tuple(self.units))

    def parse(self, value: Any) -> float:
        """Read a number or a text with a unit as a float in the SI unit.

        Parameters
        ----------
        value
            A number (in ``default_unit``) or a text such as ``"15 min"``.

        Returns
        -------
        float
            The value in ``si_unit``.

        Raises
        ------
        pydantic_core.PydanticCustomError
            With a ``fix`` in its context when the text, unit or sign is wrong.
        """
        if isinstance(value, bool):
            raise self._error(f"expected a {self.name}, got {value!r}")
        if isinstance(value, int | float):
            result = float(value) * self.units[self.default_unit]
        elif isinstance(value, str):
            result = self._parse_text(value)
        else:
            raise self._error(f"expected a {self.name} (a number or a text with a unit)")
        if not math.isfinite(result):
            raise self._error(f"a {self.name} must be a finite number, got {value!r}")
        if result < 0 and not self.allow_negative:
            raise PydanticCustomError(
                "negative_quantity",
                f"a {self.name} cannot be negative, got {value!r}",
                {"fix": f"write a value of 0 or more, e.g. {self.example!r}"},
            )
        if abs(result) > self.maximum:
            limit = self.bound()
            span = f"between -{limit} and {limit}" if self.allow_negative else f"at most {limit}"
            why = f"; {self.maximum_reason}" if self.maximum_reason else ""
            raise PydanticCustomError(
                "implausible_quantity",
                f"a {self.name} of {value!r} is beyond the plausible range ({span}{why})",
                {"fix": f"write a value {span}, e.g. {self.example!r}"},
            )
        return result

    def format(self, value: float, unit: str | None = None) -> str:
        """Write an SI value as a text in ``unit`` that :meth:`parse` reads back.

        Parameters
        ----------
        value
            The value in ``si_unit``.
        unit
            One of ``units``; the SI unit by default.
        """
        unit = unit or self.si_unit
        return f"{value / self.units[unit]!r} {unit}"

    def bound(self, unit: str | None = None) -> str:
        """The largest accepted magnitude written in ``unit`` (default ``maximum_unit``)."""
        unit = unit or self.maximum_unit or self.default_unit
        return f"{self.maximum / self.units[unit]:g} {unit}"

    def _parse_text(self, text: str) -> float:
        stripped = text.strip()
        match = _SIMPLE.match(stripped)
        if match and (match["unit"] is None or match["unit"] in self.units or not self.compound):
            return float(match["number"]) * self._factor(match["unit"] or self.default_unit, text)
        if self.compound:
            iso = _ISO.match(stripped)
            if iso and any(iso.groupdict().values()):
                scale = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
                return sum(scale[k] * float(v) for k, v in iso.groupdict().items() if v)
            parts = _PART.findall(stripped)
            if parts and _PART.sub("", stripped) == "":
                values = [float(n) * self._factor(u, text) for n, u in parts]
                if any(v < 0 for v in values[1:]):
                    raise self._error(f"only the first part of {text!r} may carry a sign")
                return sum(values)
        if match:
            self._factor(match["unit"], text)  # raises: names the unknown unit
        raise self._error(f"cannot read {text!r} as a {self.name}")

    def _factor(self, unit: str, text: str) -> float:
        if unit in self.units:
            return self.units[unit]
        close = get_close_matches(unit, list(self.units), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        combos = " (parts may be combined, '1h30m'; ISO 8601 'PT1H30M' works too)"
        raise PydanticCustomError(
            "unknown_unit",
            f"unknown unit {unit!r} for a {self.name} in {text!r}{hint}; "
            f"accepted units: {self.accepted}{combos if self.compound else ''}",
            {"fix": f"write e.g. {self.example!r}"},
        )

    def _error(self, message: str) -> PydanticCustomError:
        forms = f"a number ({self.default_unit}) or a text with a unit ({self.accepted})"
        return PydanticCustomError(
            "bad_quantity", message, {"fix": f"write {forms}, e.g. {self.example!r}"}
        )

    def json_schema(self, *, positive: bool = False) -> dict[str, Any]:
        """JSON Schema of a field of this kind: a number or a text with a unit.

        Parameters
        ----------
        positive
            Whether the value must be greater than 0 (else: 0 or more unless negative values
            are allowed).
        """
        units = sorted(self.units, key=len, reverse=True)
        unit_re = "|".join(re.escape(u) for u in units)
        number = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
        pattern = rf"^\s*{number}\s*({unit_re})?\s*$"
        if self.compound:
            pattern = rf"^\s*({number}\s*({unit_re})\s*)+$|{pattern}|^P"
        number_schema: dict[str, Any] = {"type": "number"}
        if positive:
            number_schema["exclusiveMinimum"] = 0
        elif not self.allow_negative:
            number_schema["minimum"] = 0
        elif math.isfinite(self.maximum):
            number_schema["minimum"] = -self.maximum / self.units[self.default_unit]
        if math.isfinite(self.maximum):
            number_schema["maximum"] = self.maximum / self.units[self.default_unit]
        return {
            "anyOf": [number_schema, {"type": "string", "pattern": pattern}],
            "description": (
                f"A {self.name}: a number in {self.default_unit} or a text with a unit "
                f"({self.accepted}), e.g. {self.example!r}."
            ),
            "examples": [self.example],
        }


DURATION = QuantityKind(
    name="duration",
    si_unit="s",
    default_unit="s",
    units={
        "s": 1.0,
        "sec": 1.0,
        "secs": 1.0,
        "second": 1.0,
        "seconds": 1.0,
        "m": 60.0,
        "min": 60.0,
        "mins": 60.0,
        "minute": 60.0,
        "minutes": 60.0,
        "h": 3600.0,
        "hr": 3600.0,
        "hrs": 3600.0,
        "hour": 3600.0,
        "hours": 3600.0,
        "d": 86400.0,
        "day": 86400.0,
        "days": 86400.0,
    },
    example="15 min",
    allow_negative=False,
    compound=True,
    maximum=366 * 86400.0,
    maximum_reason="a scenario spans at most a year",
    maximum_unit="d",
    _display_units=("s", "min", "h", "d"),
)
"""Durations: seconds inside; ``"90 s"``, ``"15 min"``, ``"1.5 h"``, ``"1h30m"``, ``"PT1H"``."""

_MM_PER_H = 1e-3 / 3600.0
RAIN_RATE = QuantityKind(
    name="rain rate",
    si_unit="m/s",
    default_unit="mm/h",
    units={
        "mm/h": _MM_PER_H,
        "mm/hr": _MM_PER_H,
        "mm/min": 1e-3 / 60.0,
        "mm/d": 1e-3 / 86400.0,
        "mm/day": 1e-3 / 86400.0,
        "in/h": 0.0254 / 3600.0,
        "m/s": 1.0,
    },
    example="50 mm/h",
    allow_negative=False,
    maximum=2000 * _MM_PER_H,
    maximum_reason="the heaviest rain measured, 31.2 mm in one minute (Unionville, "
    "Maryland, 1956), is about 1,900 mm/h",
)
"""Rain, drainage and infiltration rates: m/s inside; a bare number means mm/h."""

LENGTH = QuantityKind(
    name="length",
    si_unit="m",
    default_unit="m",
    units={"m": 1.0, "km": 1000.0, "cm": 0.01, "mm": 0.001, "ft": 0.3048},
    example="20 m",
    maximum=100_000.0,
    maximum_reason="100 km is larger than any city map, and than any height or depth on Earth",
)
"""Lengths, heights and levels: metres inside."""

SPEED = QuantityKind(
    name="speed",
    si_unit="m/s",
    default_unit="m/s",
    units={"m/s": 1.0, "km/h": 1 / 3.6, "kph": 1 / 3.6, "mph": 0.44704, "kn": 1852 / 3600},
    example="50 km/h",
    allow_negative=False,
    maximum=150.0,
    maximum_reason="540 km/h is faster than any road or water vehicle in a city",
)
"""Speeds: m/s inside; a bare number means m/s."""

DISCHARGE = QuantityKind(
    name="discharge",
    si_unit="m3/s",
    default_unit="m3/s",
    units={"m3/s": 1.0, "m³/s": 1.0, "m3/h": 1 / 3600.0, "l/s": 1e-3, "L/s": 1e-3},
    example="5 m3/s",
    allow_negative=False,
    maximum=300_000.0,
    maximum_reason="the Amazon's highest flows are about 300,000 m3/s",
)
"""Discharges (river and burst-main inflows): m3/s inside."""


def _annotated(kind: QuantityKind, *, positive: bool = False, serialize_unit: bool = False) -> Any:
    """The pydantic field type of ``kind``: parse before validating a float."""

    def parse(value: Any) -> float:
        result = kind.parse(value)
        if positive and result <= 0:
            raise PydanticCustomError(
                "not_positive",
                f"a {kind.name} must be greater than 0, got {value!r}",
                {"fix": f"write a value greater than 0, e.g. {kind.example!r}"},
            )
        return result

    schema = kind.json_schema(positive=positive)
    metadata: list[Any] = [BeforeValidator(parse), WithJsonSchema(schema)]
    if serialize_unit:
        # A bare number would be read back in the default unit, so say the SI unit.
        metadata.append(PlainSerializer(lambda v: f"{v!r} {kind.si_unit}", when_used="json"))
    return Annotated[(float, *metadata)]


Duration = _annotated(DURATION)
"""A duration of 0 or more, in s (files: ``"15 min"``, ``"1h30m"``, ``"PT1H"``, ``90``)."""
PositiveDuration = _annotated(DURATION, positive=True)
"""A duration greater than 0, in s."""
RainRate = _annotated(RAIN_RATE, serialize_unit=True)
"""A rate of water depth per time of 0 or more, in m/s (files: ``"50 mm/h"`` or ``50``)."""
Length = _annotated(LENGTH)
"""A length, height or level of any sign, in m (files: ``"20 m"``, ``"1.5 km"``)."""
PositiveLength = _annotated(LENGTH, positive=True)
"""A length greater than 0, in m."""
Speed = _annotated(SPEED)
"""A speed of 0 or more, in m/s (files: ``"50 km/h"``, ``"10 m/s"``)."""
Discharge = _annotated(DISCHARGE)
"""A discharge of 0 or more, in m3/s (files: ``"5 m3/s"``, ``"200 l/s"``)."""


def humanize_duration(seconds: float) -> str:
    """Write a duration for people: ``5400`` -> ``"1 h 30 min"``.

    Parameters
    ----------
    seconds
        The duration in s.
    """
    if seconds < 60:
        return f"{seconds:g} s"
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{v} {u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")) if v]
    return " ".join(parts) or "0 s"
