"""Weights of the combined score, with units: what one unit of each KPI costs in time.

The combined score is a time: ``score = p90 response time + 10 min x unserved calls``. A
weight converts its KPI into that currency, so it carries the unit its KPI needs:

* a **time** KPI (``response_time_p50``, ``response_time_p90``,
  ``evacuation_clearance_time``) takes a plain factor: ``1`` adds the KPI itself;
* a **count** KPI (``unserved_incidents``, ``people_exposed``, ``shelter_overflow``,
  ``hospital_overflow``) takes a duration, what one of it costs: ``"10 min"``;
* ``vehicle_delay_hours`` takes a duration per vehicle-hour of delay: ``"2 min"``;
* ``share_within_target`` takes a duration per percentage point: ``"1 min"`` means one
  point more within target lowers the score by a minute (higher is better, so it is
  subtracted).

A bare number on a KPI that needs a duration is the old form (before weights had units): it
still works, read as seconds (``2.0`` on ``unserved_incidents`` is ``"2 s"`` per call, which
is what it always meant), and :func:`deprecated_note` says how to write it.

>>> score_seconds("unserved_incidents", "10 min")
600.0
>>> score_seconds("share_within_target", "1 min")  # per percentage point: 60 s / 0.01
6000.0
>>> score_seconds("response_time_p90", 1)
1.0
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

from twin.scenario.quantities import DURATION

WeightKind = Literal["time", "count", "vehicle_hours", "share"]

WEIGHT_KINDS: dict[str, WeightKind] = {
    "response_time_p50": "time",
    "response_time_p90": "time",
    "evacuation_clearance_time": "time",
    "unserved_incidents": "count",
    "people_exposed": "count",
    "shelter_overflow": "count",
    "hospital_overflow": "count",
    "vehicle_delay_hours": "vehicle_hours",
    "share_within_target": "share",
}
"""What each objective KPI's weight converts: a time (plain factor), or one count,
vehicle-hour or percentage point (a duration)."""

PER: dict[str, str] = {
    "response_time_p50": "minute",
    "response_time_p90": "minute",
    "evacuation_clearance_time": "minute",
    "unserved_incidents": "unserved call",
    "people_exposed": "person exposed",
    "shelter_overflow": "evacuee at a full shelter",
    "hospital_overflow": "patient at a full hospital",
    "vehicle_delay_hours": "vehicle-hour of delay",
    "share_within_target": "percentage point within target",
}
"""What one unit of each objective KPI is, in words (what its weight is the price of)."""

_SI_PER_UNIT: dict[WeightKind, float] = {
    "time": 1.0,
    "count": 1.0,
    "vehicle_hours": 1.0,
    "share": 100.0,  # the KPI is a share 0-1; the weight is per percentage point
}

MAX_FACTOR = 1e6
"""Largest plain factor (and largest bare number) a weight may be."""


def _weight(value: Any) -> float | str:
    """A weight as written: a finite number 0 to 1e6, or a non-negative duration text."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PydanticCustomError(
            "bad_weight",
            f"a weight is a number or a duration such as '10 min', got {value!r}",
            {"fix": "write e.g. `unserved_incidents: 10 min` or `response_time_p90: 1`"},
        )
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            seconds = DURATION.parse(text)  # raises with the accepted units
            if seconds < 0:
                raise PydanticCustomError(
                    "negative_weight",
                    f"a weight must be >= 0, got {value!r}",
                    {"fix": "write a duration of 0 or more, e.g. '10 min'"},
                ) from None
            return text
        value = number
    value = float(value)
    if not math.isfinite(value):
        raise PydanticCustomError(
            "weight_not_finite",
            f"a weight must be a finite number, got {value!r}",
            {"fix": "write a number from 0 to 1e6, or a duration such as '10 min'"},
        )
    if not 0 <= value <= MAX_FACTOR:
        raise PydanticCustomError(
            "weight_out_of_range",
            f"a weight must be >= 0 and <= {MAX_FACTOR:g}, got {value!r}",
            {"fix": "write a number from 0 to 1e6, or a duration such as '10 min'"},
        )
    return value


Weight = Annotated[
    float | str,
    BeforeValidator(_weight),
    PlainSerializer(lambda v: v),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": MAX_FACTOR},
                DURATION.json_schema(),
            ],
            "description": (
                "A factor (on a time KPI, e.g. 1) or a duration: what one unserved call, "
                "person, vehicle-hour or percentage point costs in the score, e.g. '10 min'."
            ),
            "examples": [1, "10 min"],
        }
    ),
]
"""A KPI's weight as written: a plain factor, or a duration text (see the module doc)."""


def check_weight(name: str, value: float | str) -> None:
    """Refuse a weight whose dimension does not fit its KPI.

    Raises
    ------
    pydantic_core.PydanticCustomError
        A duration on a time KPI (a time converts to time by a plain factor).
    """
    if WEIGHT_KINDS[name] == "time" and isinstance(value, str):
        raise PydanticCustomError(
            "weight_dimension",
            f"{name} is a time, so its weight is a plain factor (score minutes per minute), "
            f"not the duration {value!r}",
            {"subloc": (name,), "fix": f"write e.g. `{name}: 1`"},
        )


def score_seconds(name: str, value: float | str) -> float:
    """A weight in seconds of score per unit of its KPI's stored (SI) value.

    Parameters
    ----------
    name
        The KPI (a key of :data:`WEIGHT_KINDS`).
    value
        The weight as written (validated by :data:`Weight`).
    """
    kind = WEIGHT_KINDS[name]
    if isinstance(value, str):
        return DURATION.parse(value) * _SI_PER_UNIT[kind]
    # a factor on a time KPI; the old bare form elsewhere: seconds per stored (SI) unit
    return float(value)


def is_deprecated(name: str, value: float | str) -> bool:
    """Whether a weight is the old unit-less form (a bare number on a non-time KPI)."""
    return WEIGHT_KINDS[name] != "time" and not isinstance(value, str)


def deprecated_note(name: str, value: float) -> str:
    """How the old bare-number weight is read, and how to write it with a unit."""
    per = PER[name]
    seconds = float(value) / _SI_PER_UNIT[WEIGHT_KINDS[name]]
    return (
        f"objectives.weights.{name}: the bare number {value:g} is read as {seconds:g} s of "
        f"score per {per} (deprecated: weights now carry units); write e.g. "
        f"`{name}: {seconds:g} s` or `{name}: 10 min`"
    )
