"""KPIs and plan comparison statistics.

:mod:`~twin.metrics.kpis` defines every KPI a run may report (unit, direction, meaning) and
the weighted score; :mod:`~twin.metrics.stats` holds paired-t and bootstrap intervals,
the probability each plan is best, and the sequential rule for a stated precision.
"""

from twin.metrics.kpis import KPIS, OBJECTIVE_NAMES, Kpi, kpi, weighted_score
from twin.metrics.stats import (
    Interval,
    SequentialRule,
    bootstrap_interval,
    paired_differences,
    paired_t,
    probability_best,
    replications_needed,
    t_interval,
)

__all__ = [
    "KPIS",
    "OBJECTIVE_NAMES",
    "Interval",
    "Kpi",
    "SequentialRule",
    "bootstrap_interval",
    "kpi",
    "paired_differences",
    "paired_t",
    "probability_best",
    "replications_needed",
    "t_interval",
    "weighted_score",
]
