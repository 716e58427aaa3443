"""Statistics for comparing plans over replications: paired differences, confidence
intervals, ranking and how many replications a stated precision needs.

Every function takes replications as rows: ``values[r, p]`` is a KPI of plan ``p`` in
replication ``r``. Under common random numbers row ``r`` of every plan saw the same
incidents, so differences are taken within rows (paired), which removes the shared noise.

References: Law, *Simulation Modeling and Analysis* (5th ed., 2015), sections 9.4 and 10.2
(paired-t comparison, sequential procedure for a given half-width); Efron & Tibshirani,
*An Introduction to the Bootstrap* (1993), chapter 13 (percentile interval).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as _stats


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
    """Percentile bootstrap interval of the mean (no normality assumed).

    Parameters
    ----------
    values
        One value per replication (e.g. paired differences); NaNs are dropped.
    level
        Confidence level.
    resamples
        Bootstrap resamples.
    rng
        Random stream (default a fixed one, so reports are reproducible).
    """
    x = _finite(values)
    n = len(x)
    mean = float(np.mean(x)) if n else math.nan
    if n < 2:
        return Interval(mean, math.nan, math.nan, n, level)
    rng = rng if rng is not None else np.random.default_rng(0)
    means = x[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return Interval(mean, float(low), float(high), n, level)


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
        Random stream (default a fixed one).

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
    rng = rng if rng is not None else np.random.default_rng(0)
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
