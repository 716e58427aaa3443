"""Plan comparison statistics: intervals, ranking and the replications a precision needs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from twin.metrics.stats import (
    SequentialRule,
    bootstrap_interval,
    paired_t,
    probability_best,
    replications_needed,
    t_interval,
)


def test_paired_t_matches_scipy():
    """The paired-t interval is scipy's one-sample t interval of the differences."""
    rng = np.random.default_rng(1)
    a = rng.normal(10, 2, 12)
    b = a + rng.normal(0.5, 0.3, 12)
    ci = paired_t(a, b, 0.9)
    low, high = stats.t.interval(0.9, 11, loc=np.mean(b - a), scale=stats.sem(b - a))
    assert ci.mean == pytest.approx(np.mean(b - a))
    assert (ci.low, ci.high) == pytest.approx((low, high))
    assert ci.n == 12


def test_pairs_with_nan_are_dropped():
    """A replication where either plan has no value (e.g. no call served) is left out."""
    ci = paired_t(np.array([1.0, 2.0, np.nan, 4.0]), np.array([2.0, 3.5, 1.0, np.nan]))
    assert ci.n == 2
    assert ci.mean == pytest.approx(1.25)


def test_one_value_has_no_interval():
    """With one replication the mean is known but the interval is not."""
    ci = t_interval(np.array([3.0]))
    assert ci.mean == 3.0
    assert math.isnan(ci.low)
    assert math.isnan(ci.half_width)


def test_bootstrap_is_reproducible_and_near_t():
    """The bootstrap interval of many normal values is close to the t interval, and the
    same with the default stream."""
    x = np.random.default_rng(2).normal(0, 1, 200)
    boot, t = bootstrap_interval(x), t_interval(x)
    assert bootstrap_interval(x) == boot
    assert boot.half_width == pytest.approx(t.half_width, rel=0.15)


def test_probability_best_picks_clear_winner():
    """A plan better in every replication is best with probability 1 (lower is better)."""
    rng = np.random.default_rng(3)
    base = rng.normal(600, 60, (20, 1))
    values = np.hstack([base, base - 30, base + 5])
    p = probability_best(values)
    assert p == pytest.approx([0.0, 1.0, 0.0])
    assert probability_best(values, lower_is_better=False)[2] == pytest.approx(1.0)


def test_probability_best_splits_identical_plans():
    """Two identical plans share the win."""
    x = np.random.default_rng(4).normal(size=(15, 1))
    assert probability_best(np.hstack([x, x])) == pytest.approx([0.5, 0.5])


def test_replications_needed_scales_with_precision():
    """Halving the half-width needs about four times the replications."""
    x = np.random.default_rng(5).normal(0, 10, 30)
    n1 = replications_needed(x, 2.0)
    n2 = replications_needed(x, 1.0)
    assert n1 > 30
    assert 3.5 < n2 / n1 < 4.5


def test_sequential_rule_stops_when_precise():
    """The rule asks for more replications until the half-width is met, then stops."""
    rule = SequentialRule(precision=1.0, start=5)
    rng = np.random.default_rng(6)
    pilot = rng.normal(0, 5, 5)
    total = rule.next_total([pilot])
    assert total == 10  # the pilot asks for more than twice 5: doubled first
    assert rule.next_total([rng.normal(0, 5, 160)]) is None
    assert SequentialRule(precision=1e-9, max_replications=8).next_total([pilot[:5]]) == 8
