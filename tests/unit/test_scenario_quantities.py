"""Values with units: parsing to SI, error messages, and format/parse round trips."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from twin.scenario.quantities import (
    DISCHARGE,
    DURATION,
    LENGTH,
    RAIN_RATE,
    SPEED,
    Duration,
    PositiveDuration,
    PositiveLength,
    QuantityKind,
    RainRate,
    humanize_duration,
)

KINDS = [DURATION, RAIN_RATE, LENGTH, SPEED, DISCHARGE]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (90, 90.0),
        (1.5, 1.5),
        ("90", 90.0),
        ("90 s", 90.0),
        ("15 min", 900.0),
        ("1.5 h", 5400.0),
        ("1h30m", 5400.0),
        ("1 h 30 min", 5400.0),
        ("2 d", 172800.0),
        ("PT1H", 3600.0),
        ("PT1H30M", 5400.0),
        ("P1DT2H", 93600.0),
        ("0", 0.0),
    ],
)
def test_duration_forms(text: object, seconds: float) -> None:
    """Every documented way of writing a duration gives seconds."""
    assert DURATION.parse(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("kind", "text", "si"),
    [
        (RAIN_RATE, 36, 1e-5),
        (RAIN_RATE, "36 mm/h", 1e-5),
        (RAIN_RATE, "0.6 mm/min", 1e-5),
        (LENGTH, "20 m", 20.0),
        (LENGTH, "1.5 km", 1500.0),
        (LENGTH, "-0.5 m", -0.5),
        (SPEED, "36 km/h", 10.0),
        (SPEED, "10 m/s", 10.0),
        (DISCHARGE, "5 m3/s", 5.0),
        (DISCHARGE, "200 l/s", 0.2),
    ],
)
def test_units_convert_to_si(kind: QuantityKind, text: object, si: float) -> None:
    """Rates become m/s, lengths m, speeds m/s, discharges m3/s."""
    assert kind.parse(text) == pytest.approx(si)


def test_unknown_unit_lists_accepted_units() -> None:
    """An unknown unit is named, with a suggestion and the accepted units."""
    with pytest.raises(ValidationError) as info:
        TypeAdapter(RainRate).validate_python("3 mm/hh")
    message = str(info.value)
    assert "unknown unit 'mm/hh'" in message
    assert "did you mean 'mm/h'" in message
    assert "mm/h, mm/hr, mm/min" in message


def test_unknown_duration_unit() -> None:
    """A made-up duration unit is refused, and the fix shows a valid example."""
    with pytest.raises(ValidationError) as info:
        TypeAdapter(Duration).validate_python("5 fortnights")
    err = info.value.errors()[0]
    assert "accepted units: s, min, h, d" in err["msg"]
    assert "15 min" in err["ctx"]["fix"]


@pytest.mark.parametrize("value", [-5, "-5 min", "-1 h"])
def test_negative_duration_is_refused(value: object) -> None:
    """Durations cannot be negative."""
    with pytest.raises(ValidationError, match="cannot be negative"):
        TypeAdapter(Duration).validate_python(value)


@pytest.mark.parametrize(("kind_type", "value"), [(PositiveDuration, 0), (PositiveLength, "0 m")])
def test_positive_types_refuse_zero(kind_type: object, value: object) -> None:
    """Positive quantities refuse 0."""
    with pytest.raises(ValidationError, match="greater than 0"):
        TypeAdapter(kind_type).validate_python(value)


@pytest.mark.parametrize("value", [True, None, [1], "abc", "nan", "inf s"])
def test_garbage_is_refused(value: object) -> None:
    """Booleans, lists, words and non-finite numbers are not durations."""
    with pytest.raises(ValidationError):
        TypeAdapter(Duration).validate_python(value)


def test_rain_rate_serialises_with_its_unit() -> None:
    """Dumped to JSON, a rain rate says m/s, so reading it back is exact."""
    adapter = TypeAdapter(RainRate)
    value = adapter.validate_python("50 mm/h")
    assert adapter.validate_json(adapter.dump_json(value)) == value


@st.composite
def _kind_value_unit(draw: st.DrawFn) -> tuple[QuantityKind, float, str]:
    kind = draw(st.sampled_from(KINDS))
    unit = draw(st.sampled_from(sorted(kind.units)))
    high = min(1e9, kind.maximum)  # values beyond the plausible range are refused (below)
    low = -high if kind.allow_negative else 0.0
    value = draw(st.floats(min_value=low, max_value=high, allow_nan=False))
    return kind, value, unit


@given(_kind_value_unit())
def test_format_then_parse_gives_the_value_back(case: tuple[QuantityKind, float, str]) -> None:
    """Writing an SI value in any accepted unit and reading it back returns the value."""
    kind, value, unit = case
    parsed = kind.parse(kind.format(value, unit))
    assert math.isclose(parsed, value, rel_tol=1e-12, abs_tol=1e-300)


@given(st.sampled_from(KINDS), st.floats(min_value=1.000001, max_value=1e300))
def test_values_beyond_the_plausible_range_are_refused(kind: QuantityKind, times: float) -> None:
    """Any value above a kind's maximum (e.g. 1e300 s) is refused, saying the bound."""
    value = kind.maximum * times / kind.units[kind.default_unit]
    with pytest.raises(PydanticCustomError, match="beyond the plausible range"):
        kind.parse(value)


@given(st.integers(min_value=0, max_value=10**7))
def test_humanized_durations_parse_back(seconds: int) -> None:
    """``humanize_duration`` writes text that parses to the same whole seconds."""
    assert DURATION.parse(humanize_duration(seconds)) == seconds
