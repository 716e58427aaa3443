"""twin.random.stream: one stream per (seed, purpose), stable and independent."""

from __future__ import annotations

import numpy as np
import pytest

from twin.experiment import seeds
from twin.random import purpose_key, stream


def test_same_seed_and_purpose_same_draws():
    """Two streams of the same (seed, purpose) give the same numbers."""
    assert np.array_equal(stream(7, "incidents").random(100), stream(7, "incidents").random(100))


def test_derivation_is_pinned():
    """The draws are those of the derivation results were made with before this module
    existed (experiment/seeds.stream, recorded from commit ca8e5c8); a changed derivation
    would change every stored result and every Monaco KPI."""
    assert stream(2025, "incidents").integers(0, 2**32, 4).tolist() == [
        2167152796,
        4142436932,
        2388122949,
        1124404809,
    ]
    assert stream(0, "crowd.speeds").integers(0, 2**32, 4).tolist() == [
        975289158,
        986793529,
        3790701123,
        19020569,
    ]


def test_purpose_key_is_stable_across_processes():
    """The purpose key comes from SHA-256, not ``hash()`` (salted per process): a fixed
    number for a fixed name."""
    assert purpose_key("incidents") == 12070295396903473574


def test_different_purposes_are_independent():
    """Different purposes of one seed give unrelated numbers: no shared draws and a
    correlation indistinguishable from 0 (for 20,000 independent uniforms the sample
    correlation has a standard deviation of 1/sqrt(20,000) = 0.007; 0.04 is over 5 of them)."""
    a = stream(1, "incidents").random(20_000)
    b = stream(1, "weather").random(20_000)
    assert not np.intersect1d(a, b).size
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.04


def test_one_purpose_drawing_more_does_not_shift_another():
    """Common random numbers: how much one purpose draws never changes another's draws."""
    first = stream(3, "demand").random(10)
    busy = stream(3, "incidents")
    busy.random(10_000)
    assert np.array_equal(stream(3, "demand").random(10), first)


def test_different_seeds_differ():
    """The same purpose under another seed gives other numbers."""
    assert not np.array_equal(stream(1, "incidents").random(8), stream(2, "incidents").random(8))


@pytest.mark.parametrize("seed", [-1, 1.5, True, "3"])
def test_bad_seed_refused(seed):
    """A seed must be a whole number 0 or more (a bool or a float is a mistake)."""
    with pytest.raises(ValueError, match="whole number"):
        stream(seed, "incidents")  # type: ignore[arg-type]


def test_empty_purpose_refused():
    """Every stream is named: an empty purpose would collide with others' defaults."""
    with pytest.raises(ValueError, match="purpose"):
        stream(1, "")


def test_experiment_seeds_reexports_the_one_stream():
    """experiment.seeds uses twin.random's stream (no second copy)."""
    assert seeds.stream is stream
    assert seeds.purpose_key is purpose_key
