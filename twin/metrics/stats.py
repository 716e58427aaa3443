"""Statistics for comparing plans over replications: paired differences, confidence
intervals, ranking and how many replications a stated precision needs.

Every function takes replications as rows: ``values[r, p]`` is a KPI of plan ``p`` in
replication ``r``. Under common random numbers row ``r`` of every plan saw the same
incidents, so differences are taken within rows (paired), which removes the shared noise.

With more than two plans, each is compared with the baseline: paired-t p-values adjusted
by Holm's step-down procedure (family-wise error rate at most ``1 - level`` over the
``k - 1`` comparisons), and intervals at the Bonferroni level ``1 - (1 - level) / (k - 1)``,
which are simultaneous over the family (Holm's rejections are never fewer than the
Bonferroni intervals' exclusions of 0).

Random numbers (bootstrap resamples) come from :func:`twin.random.stream`, so a report is
the same every time it is made from the same study.

References: Law, *Simulation Modeling and Analysis* (5th ed., 2015), sections 9.4 and 10.2
(paired-t comparison, sequential procedure for a given half-width); Efron & Tibshirani,
*An Introduction to the Bootstrap* (1993), chapter 14 (BCa interval); Holm, "A simple
sequentially rejective multiple test procedure", *Scand. J. Statist.* 6 (1979) 65-70.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats as _stats

from twin.random import stream

BOOTSTRAP_SEED = 0
"""Seed of the default bootstrap stream (``stream(0, purpose)``) when no stream is given."""


@dataclass(frozen=True)
class Interval:
    """A mean with a confidence interval.

    Attributes
    ----------
    mean
        Sample mean (in the KPI's unit).
    low, high
        Interval bounds (same unit); NaN if fewer than two values.
    n
        Number of values used (pairs with a NaN are dropped).
    level
        Confidence level (0-1).
    """

    mean: float
    low: float
    high: float
    n: int
    level: float

    @property
    def half_width(self) -> float:
        """Half the interval's width (same unit as the mean)."""
        return (self.high - self.low) / 2.0

    def covers(self, value: float) -> bool:
        """Whether ``value`` lies in the closed interval."""
        return bool(self.low <= value <= self.high)


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def t_interval(values: np.ndarray, level: float = 0.95) -> Interval:
    """Student-t interval of the mean of (approximately normal) i.i.d. values.

    Parameters
    ----------
    values
        One value per replication; NaNs are dropped.
    level
        Confidence level, e.g. 0.95.
    """
    x = _finite(values)
    n = len(x)
    mean = float(np.mean(x)) if n else math.nan
    if n < 2:
        return Interval(mean, math.nan, math.nan, n, level)
    half = float(_stats.t.ppf(0.5 + level / 2.0, n - 1) * np.std(x, ddof=1) / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, n, level)


def paired_differences(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``b - a`` per replication, dropping pairs where either is NaN."""
    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    return d[np.isfinite(d)]


def paired_t(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> Interval:
    """Paired-t interval of the mean difference ``b - a`` (Law 2015, section 10.2.1)."""
    return t_interval(paired_differences(a, b), level)


def bootstrap_interval(
    values: np.ndarray,
    level: float = 0.95,
    *,
    resamples: int = 4000,
    rng: np.random.Generator | None = None,
) -> Interval:
    """BCa bootstrap interval of the mean of i.i.d. values (no normality assumed).

    The bias-corrected and accelerated interval (Efron & Tibshirani 1993, ch. 14) by
    :func:`scipy.stats.bootstrap`; it covers closer to its level than the percentile
    interval on skewed data at small n.

    Parameters
    ----------
    values
        One value per replication (e.g. paired differences); NaNs are dropped.
    level
        Confidence level.
    resamples
        Bootstrap resamples.
    rng
        Random stream (default ``stream(BOOTSTRAP_SEED, "metrics.bootstrap")``, so reports
        are reproducible).

    Returns
    -------
    Interval
        NaN bounds with fewer than two values; ``[mean, mean]`` when every value is the
        same (nothing varies, so nothing to resample).
    """
    x = _finite(values)
    return _bca((x,), lambda d, axis: np.mean(d, axis=axis), level, resamples, rng, False)


def paired_bootstrap(
    a: np.ndarray,
    b: np.ndarray,
    level: float = 0.95,
    *,
    resamples: int = 4000,
    rng: np.random.Generator | None = None,
) -> Interval:
    """BCa bootstrap interval of the mean paired difference ``b - a``.

    :func:`scipy.stats.bootstrap` with ``paired=True`` and ``method="BCa"``: replications
    are resampled whole, keeping each plan's value with the other's (common random
    numbers). Pairs where either value is NaN are dropped.

    Parameters
    ----------
    a, b
        One value per replication of each plan (same length).
    level
        Confidence level.
    resamples
        Bootstrap resamples.
    rng
        Random stream (default ``stream(BOOTSTRAP_SEED, "metrics.bootstrap")``).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    return _bca(
        (a[keep], b[keep]),
        lambda x, y, axis: np.mean(y - x, axis=axis),
        level,
        resamples,
        rng,
        True,
    )


def _bca(data, statistic, level, resamples, rng, paired) -> Interval:
    """scipy's BCa interval of ``statistic(*data)``; see :func:`paired_bootstrap`."""
    n = len(data[0])
    mean = float(statistic(*data, axis=-1)) if n else math.nan
    if n < 2:
        return Interval(mean, math.nan, math.nan, n, level)
    if all(np.ptp(d) == 0 for d in data) or (paired and np.ptp(data[1] - data[0]) == 0):
        return Interval(mean, mean, mean, n, level)
    rng = rng if rng is not None else stream(BOOTSTRAP_SEED, "metrics.bootstrap")
    with warnings.catch_warnings():
        # too few distinct resamples for BCa: scipy warns and gives NaN, which we report
        warnings.simplefilter("ignore", _stats.DegenerateDataWarning)
        result = _stats.bootstrap(
            data,
            statistic,
            n_resamples=resamples,
            paired=paired,
            vectorized=True,
            confidence_level=level,
            method="BCa",
            rng=rng,
        )
    ci = result.confidence_interval
    return Interval(mean, float(ci.low), float(ci.high), n, level)


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979).

    The ``i``-th smallest of ``m`` p-values is multiplied by ``m - i`` (``i`` from 0), a
    running maximum keeps the order, and values are capped at 1. Rejecting where the
    adjusted p-value is below ``alpha`` keeps the family-wise error rate at most ``alpha``
    under any dependence between the tests. NaNs stay NaN and do not count in ``m``.

    >>> holm(np.array([0.01, 0.04, 0.03])).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, math.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = len(idx)
    if m == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    adjusted = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    out[order] = np.minimum(adjusted, 1.0)
    return out


def bonferroni_level(level: float, comparisons: int) -> float:
    """Confidence level of each of ``comparisons`` intervals so that all hold together with
    probability at least ``level`` (Bonferroni): ``1 - (1 - level) / comparisons``."""
    return 1.0 - (1.0 - level) / max(1, comparisons)


@dataclass(frozen=True)
class Comparison:
    """One plan against the baseline, within a family of ``k - 1`` comparisons.

    Attributes
    ----------
    diff
        Paired-t interval of the mean difference ``plan - baseline`` at the Bonferroni
        level (the reported difference and CI).
    boot
        BCa paired bootstrap interval at the same level (a check that needs no normality).
    p_value
        Two-sided paired t-test p-value (NaN with fewer than two pairs).
    p_adjusted
        Holm-adjusted p-value over the family.
    """

    diff: Interval
    boot: Interval
    p_value: float
    p_adjusted: float

    def significant(self, alpha: float) -> bool:
        """Whether the Holm-adjusted p-value is below ``alpha``."""
        return bool(self.p_adjusted < alpha)


def paired_p_value(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided paired t-test p-value of ``b - a`` (pairs with a NaN dropped).

    NaN with fewer than two pairs; 1 when every difference is 0, and 0 when every
    difference is the same non-zero value (no variance: the difference is certain).
    """
    d = paired_differences(a, b)
    if len(d) < 2:
        return math.nan
    if np.ptp(d) == 0:
        return 1.0 if d[0] == 0 else 0.0
    return float(_stats.ttest_1samp(d, 0.0).pvalue)


def paired_p_values(values: np.ndarray, baseline: int) -> np.ndarray:
    """:func:`paired_p_value` of every plan against the baseline (NaN for the baseline).

    Parameters
    ----------
    values
        ``values[r, p]``: KPI of plan ``p`` in replication ``r``.
    baseline
        Index of the baseline plan.
    """
    x = np.asarray(values, dtype=float)
    d = x - x[:, [baseline]]
    out = np.full(x.shape[1], math.nan)
    complete = np.isfinite(d).all(axis=0)
    # one vectorised test for the plans without NaN; the rest drop their own NaN pairs
    spread = np.ptp(d, axis=0) if len(d) else np.zeros(x.shape[1])
    fast = complete & (spread > 0) & (len(d) >= 2)
    if fast.any():
        out[fast] = _stats.ttest_1samp(d[:, fast], 0.0, axis=0).pvalue
    for p in np.flatnonzero(~fast):
        out[p] = paired_p_value(x[:, baseline], x[:, p])
    out[baseline] = math.nan
    return out


def compare_to_baseline(
    values: np.ndarray,
    baseline: int,
    level: float = 0.95,
    *,
    resamples: int = 4000,
    seed: int = BOOTSTRAP_SEED,
    purpose: str = "metrics.compare",
) -> list[Comparison | None]:
    """Every plan against the baseline: paired-t differences, BCa bootstrap and Holm.

    Parameters
    ----------
    values
        ``values[r, p]``: KPI of plan ``p`` in replication ``r``.
    baseline
        Index of the baseline plan.
    level
        Family-wise confidence level (e.g. 0.95): intervals are at
        :func:`bonferroni_level` over the ``k - 1`` comparisons, p-values Holm-adjusted.
    resamples
        Bootstrap resamples.
    seed, purpose
        The bootstrap's random streams: ``stream(seed, f"{purpose}.{p}")`` for plan ``p``.

    Returns
    -------
    list
        One :class:`Comparison` per plan, ``None`` for the baseline.
    """
    x = np.asarray(values, dtype=float)
    others = [p for p in range(x.shape[1]) if p != baseline]
    each = bonferroni_level(level, len(others))
    raw = paired_p_values(x, baseline)[others]
    adjusted = holm(raw)
    out: list[Comparison | None] = [None] * x.shape[1]
    for i, p in enumerate(others):
        boot = paired_bootstrap(
            x[:, baseline], x[:, p], each, resamples=resamples, rng=stream(seed, f"{purpose}.{p}")
        )
        diff = paired_t(x[:, baseline], x[:, p], each)
        out[p] = Comparison(diff, boot, float(raw[i]), float(adjusted[i]))
    return out


def probability_best(
    values: np.ndarray,
    *,
    lower_is_better: bool = True,
    resamples: int = 4000,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Probability that each plan has the best mean, by bootstrap over replications.

    Whole rows (replications) are resampled, keeping the pairing of common random numbers;
    in each resample the plan with the best mean wins (ties split evenly). Rows with a NaN
    are dropped.

    Parameters
    ----------
    values
        ``values[r, p]``: KPI of plan ``p`` in replication ``r``.
    lower_is_better
        Direction of the KPI.
    resamples
        Bootstrap resamples.
    rng
        Random stream (default ``stream(BOOTSTRAP_SEED, "metrics.probability_best")``).

    Returns
    -------
    numpy.ndarray
        One probability per plan, summing to 1 (NaN if no complete row).
    """
    x = np.asarray(values, dtype=float)
    x = x[np.all(np.isfinite(x), axis=1)]
    n, plans = x.shape
    if n == 0:
        return np.full(plans, math.nan)
    if not lower_is_better:
        x = -x
    rng = rng if rng is not None else stream(BOOTSTRAP_SEED, "metrics.probability_best")
    means = x[rng.integers(0, n, size=(resamples, n))].mean(axis=1)  # (resamples, plans)
    best = means == means.min(axis=1, keepdims=True)
    return (best / best.sum(axis=1, keepdims=True)).mean(axis=0)


def replications_needed(values: np.ndarray, precision: float, level: float = 0.95) -> int:
    """Replications for a t interval of half-width ``precision``, from a pilot sample.

    Uses ``n = ceil((t * s / precision)^2)`` with the pilot's standard deviation ``s`` and
    ``t`` at the pilot's degrees of freedom (Law 2015, eq. 9.3, approximate); at least the
    pilot's size.
    """
    x = _finite(values)
    if len(x) < 2:
        return max(2, len(x) + 1)
    s = float(np.std(x, ddof=1))
    t = float(_stats.t.ppf(0.5 + level / 2.0, len(x) - 1))
    return max(len(x), math.ceil((t * s / precision) ** 2))


@dataclass(frozen=True)
class SequentialRule:
    """Add replications until the CI half-width of the primary KPI is below a target.

    The sequential procedure of Law (2015, section 9.4.1): after each batch, compute the
    t half-width of every watched quantity (a paired difference against the baseline, or a
    plan's mean when there is one plan); stop when all are at most ``precision``, else ask
    for as many as :func:`replications_needed` predicts, but at most twice as many as now
    (a small pilot's variance is rough) and at least ``min_step`` more, at most
    ``max_replications`` in all.

    Attributes
    ----------
    precision
        Target half-width, in the KPI's unit (> 0).
    level
        Confidence level.
    start
        Replications of the first batch (>= 2).
    min_step
        Fewest replications added in a later batch.
    max_replications
        Hard cap; the study stops there even if the target is not met.
    """

    precision: float
    level: float = 0.95
    start: int = 5
    min_step: int = 2
    max_replications: int = 200

    def next_total(self, watched: list[np.ndarray]) -> int | None:
        """Total replications to reach next, or ``None`` when the precision is met.

        Parameters
        ----------
        watched
            Per-replication values of each watched quantity (differences or means).
        """
        current = min((len(_finite(w)) for w in watched), default=0)
        if current < 2:
            return min(self.max_replications, max(self.start, current + self.min_step))
        widths = [t_interval(w, self.level).half_width for w in watched]
        if all(w <= self.precision for w in widths):
            return None
        if current >= self.max_replications:
            return None
        need = max(replications_needed(w, self.precision, self.level) for w in watched)
        return min(self.max_replications, max(current + self.min_step, min(need, 2 * current)))
