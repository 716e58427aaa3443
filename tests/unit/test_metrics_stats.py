"""Plan comparison statistics: intervals, ranking and the replications a precision needs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from twin.metrics.stats import (
    SequentialRule,
    bonferroni_level,
    bootstrap_interval,
    compare_to_baseline,
    holm,
    paired_bootstrap,
    paired_p_value,
    paired_t,
    probability_best,
    replications_needed,
    t_interval,
)
from twin.random import stream


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


def test_paired_bootstrap_is_scipys_bca_with_the_given_stream():
    """The paired interval is scipy's paired BCa bootstrap, drawing from the twin stream
    it is given (the same stream, the same interval; not numpy's default_rng(0))."""
    rng = np.random.default_rng(8)
    a = rng.lognormal(6, 0.5, 20)
    b = a - 30 + rng.normal(0, 20, 20)
    ci = paired_bootstrap(a, b, 0.9, resamples=2000, rng=stream(5, "t"))
    ref = stats.bootstrap(
        (a, b), lambda x, y, axis: np.mean(y - x, axis=axis), n_resamples=2000, paired=True,
        vectorized=True, confidence_level=0.9, method="BCa", rng=stream(5, "t"),
    ).confidence_interval  # fmt: skip
    assert (ci.low, ci.high) == (ref.low, ref.high)
    assert ci.mean == pytest.approx(np.mean(b - a))
    other = paired_bootstrap(a, b, 0.9, resamples=2000, rng=stream(6, "t"))
    assert (other.low, other.high) != (ci.low, ci.high)
    assert paired_bootstrap(a, b, 0.9, resamples=2000) == paired_bootstrap(
        a, b, 0.9, resamples=2000
    )


def test_paired_bootstrap_of_constant_differences_is_a_point():
    """Identical plans (every difference 0, as for a KPI no plan changes under CRN) give
    the interval [0, 0] instead of scipy's NaN for degenerate data; NaN pairs are dropped."""
    a = np.array([1.0, 2.0, 3.0, np.nan])
    ci = paired_bootstrap(a, a.copy())
    assert (ci.mean, ci.low, ci.high, ci.n) == (0.0, 0.0, 0.0, 3)
    assert math.isnan(paired_bootstrap(a[:1], a[:1]).low)


def test_holm_matches_the_step_down_rule():
    """Holm's adjusted p-values by hand: sorted p times (m, m-1, ...), running maximum,
    capped at 1; NaN stays NaN and does not count."""
    p = np.array([0.04, np.nan, 0.01, 0.03, 0.5])
    # sorted 0.01, 0.03, 0.04, 0.5 -> x4, x3, x2, x1 = 0.04, 0.09, 0.08 -> 0.09, 0.5
    assert holm(p)[[2, 3, 0, 4]] == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert math.isnan(holm(p)[1])
    assert holm(np.array([0.6, 0.7]))[1] == 1.0


def test_compare_to_baseline_adjusts_p_and_widens_intervals():
    """With 3 plans besides the baseline, p-values are Holm-adjusted (never below the raw
    ones), intervals are at the Bonferroni level 1 - 0.05/3, and the baseline has none."""
    rng = np.random.default_rng(9)
    base = rng.normal(600, 60, (20, 1))
    noise = rng.normal(0, 10, (20, 4))
    x = base + noise + np.array([0.0, -20.0, 0.0, 3.0])
    out = compare_to_baseline(x, 0, 0.95, resamples=500)
    assert out[0] is None
    level = bonferroni_level(0.95, 3)
    assert level == pytest.approx(1 - 0.05 / 3)
    for p in (1, 2, 3):
        c = out[p]
        assert c.p_value == pytest.approx(stats.ttest_rel(x[:, p], x[:, 0]).pvalue)
        assert c.p_adjusted >= c.p_value
        assert c.diff == paired_t(x[:, 0], x[:, p], level)
        assert c.boot.level == level
    assert out[1].significant(0.05)
    assert holm(np.array([c.p_value for c in out[1:]])) == pytest.approx(
        [c.p_adjusted for c in out[1:]]
    )


def test_paired_p_value_without_variance():
    """Every difference the same: p 1 when it is 0, 0 otherwise; one pair: NaN."""
    a = np.array([1.0, 2.0, 3.0])
    assert paired_p_value(a, a) == 1.0
    assert paired_p_value(a, a + 2.0) == 0.0
    assert math.isnan(paired_p_value(a[:1], a[:1]))


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
