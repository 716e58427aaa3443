"""Summaries of a stored study: means, paired differences, ranking, verdicts, HTML.

Everything here reads the store only, so ``twin results show`` prints what ``twin compare``
printed, from the file alone.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twin.atomic import write_text
from twin.metrics.kpis import KPIS, Kpi, weighted_score
from twin.metrics.stats import (
    Interval,
    bonferroni_level,
    compare_to_baseline,
    probability_best,
    t_interval,
)
from twin.random import stream
from twin.scenario.weights import PER, WEIGHT_KINDS


@dataclass(frozen=True)
class PlanSummary:
    """One plan under one KPI.

    Attributes
    ----------
    plan
        Plan name.
    mean
        Mean over replications with its t interval.
    diff_t, diff_boot
        Paired difference ``plan - baseline``: paired-t and BCa bootstrap intervals at the
        Bonferroni level over the ``k - 1`` comparisons (``None`` for the baseline).
    p_best
        Probability the plan has the best mean (bootstrap over replications).
    rank
        1 for the best mean.
    p_value, p_adjusted
        Paired t-test p-value against the baseline, and the same Holm-adjusted over the
        ``k - 1`` comparisons (NaN for the baseline).
    """

    plan: str
    mean: Interval
    diff_t: Interval | None
    diff_boot: Interval | None
    p_best: float
    rank: int
    p_value: float = math.nan
    p_adjusted: float = math.nan


@dataclass(frozen=True)
class VariantSummary:
    """A scenario variant: every KPI for every plan, and the verdict on the primary KPI.

    Attributes
    ----------
    label
        The variant (``scenario`` in a comparison).
    kpis
        By KPI name, one :class:`PlanSummary` per plan (study order).
    replications
        Complete replications (every plan finished).
    verdict
        One sentence per non-baseline plan on the primary KPI.
    """

    label: str
    kpis: dict[str, list[PlanSummary]]
    replications: int
    verdict: list[str]


@dataclass(frozen=True)
class StudySummary:
    """What a study found.

    Attributes
    ----------
    spec
        The study's stored definition.
    variants
        One summary per scenario variant.
    failures
        ``(variant, plan, replication, error)`` of failed runs.
    level
        Confidence level.
    """

    spec: dict[str, Any]
    variants: list[VariantSummary]
    failures: list[tuple[int, int, int, str]]
    level: float

    @property
    def primary(self) -> Kpi:
        """The KPI plans are ranked by."""
        return KPIS[self.spec["primary"]]

    @property
    def plans(self) -> list[str]:
        """Plan names in study order."""
        return [p["name"] for p in self.spec["plans"]]

    @property
    def method(self) -> str:
        """How differences, p-values and intervals were computed, in one paragraph."""
        m = len(self.plans) - 1
        each = bonferroni_level(self.level, m)
        pct = f"{100 * self.level:.0f} %"
        text = (
            f"Δ: mean paired difference against {self.spec['baseline']} over replications "
            f"(common random numbers); p: two-sided paired t-test"
        )
        if m > 1:
            text += (
                f", Holm-adjusted over the {m} comparisons with the baseline (family-wise "
                f"error at most {100 * (1 - self.level):.0f} %); intervals of Δ at the "
                f"Bonferroni level {100 * each:.4g} % so the {m} hold together with "
                f"probability at least {pct}; verdicts use the Holm-adjusted p"
            )
        else:
            text += f"; {pct} intervals; the verdict uses the paired-t interval"
        return text + (
            "; Δ BCa: scipy's paired bias-corrected and accelerated bootstrap at the same "
            "level, a check that assumes no normality; P(best): share of bootstrap resamples "
            "of whole replications in which the plan has the best mean."
        )

    @property
    def formula(self) -> str | None:
        """The combined score in words and units, or ``None`` without weights."""
        weights = self.spec.get("weights") or {}
        return score_formula(weights) if weights else None


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.4g} min" if abs(seconds) >= 60 else f"{seconds:.4g} s"


def score_formula(weights: dict[str, float]) -> str:
    """The score's formula in words and units, e.g. ``score (min) = response p90 (min) +
    10 min per unserved call``.

    Parameters
    ----------
    weights
        Seconds of score per unit of each KPI's stored value (a study's weights, see
        :meth:`twin.scenario.options.Objectives.score_weights`).
    """
    terms = []
    for name, w in weights.items():
        kpi, kind = KPIS[name], WEIGHT_KINDS.get(name)
        if kind == "time":
            term = label(kpi) if w == 1 else f"{w:.4g} x {label(kpi)}"
        else:
            per_unit = w / 100.0 if kind == "share" else w  # shares: per percentage point
            term = f"{_duration(per_unit)} per {PER.get(name, kpi.label)}"
        terms.append(("- " if kpi.better == "higher" else "+ ") + term)
    text = " ".join(terms)
    return "score (min) = " + (text[2:] if text.startswith("+ ") else text)


def _plan_summaries(
    x: np.ndarray, names: list[str], baseline: int, kpi: Kpi, level: float, seed: int = 0
) -> list[PlanSummary]:
    """``x[replication, plan]`` -> one summary per plan; bootstraps draw from
    ``stream(seed, "report.<kpi>...")``."""
    complete = x[np.all(np.isfinite(x), axis=1)]
    p_best = probability_best(
        complete,
        lower_is_better=kpi.better == "lower",
        rng=stream(seed, f"report.{kpi.name}.p_best"),
    )
    comparisons = compare_to_baseline(
        x, baseline, level, seed=seed, purpose=f"report.{kpi.name}.bootstrap"
    )
    means = np.array(
        [np.nanmean(x[:, p]) if np.isfinite(x[:, p]).any() else np.nan for p in range(x.shape[1])]
    )
    order = np.argsort(kpi.sign * np.where(np.isnan(means), np.inf, means), kind="stable")
    rank = np.empty(len(order), dtype=int)
    rank[order] = np.arange(1, len(order) + 1)
    rows = []
    for p, name in enumerate(names):
        c = comparisons[p]
        rows.append(
            PlanSummary(
                name,
                t_interval(x[:, p], level),
                c.diff if c else None,
                c.boot if c else None,
                float(p_best[p]),
                int(rank[p]),
                c.p_value if c else math.nan,
                c.p_adjusted if c else math.nan,
            )
        )
    return rows


def show_p(p: float) -> str:
    """A p-value for tables: ``0.012``, ``<0.001`` or ``-``."""
    if not math.isfinite(p):
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def verdict(row: PlanSummary, baseline: str, kpi: Kpi, level: float) -> str:
    """One sentence on a plan against the baseline, e.g. ``two_stations cuts response p90
    by 2.10 min (95 % CI 1.40 to 2.80, p <0.001) vs baseline over 40 replications``.

    A difference is called when the (Holm-adjusted) paired t-test p-value is below
    ``1 - level``; the interval is at :attr:`Interval.level` (Bonferroni with k > 2)."""
    d = row.diff_t
    if d is None or d.n < 2 or math.isnan(d.low):
        return f"{row.plan}: too few replications for a verdict against {baseline}"
    pct = f"{100 * d.level:.4g} %"
    adjusted = d.level > level  # Bonferroni level: more than two plans
    p_text = f"{'Holm-adjusted ' if adjusted else ''}p {show_p(row.p_adjusted)}"
    if math.isfinite(row.p_adjusted) and row.p_adjusted < 1 - level:
        low, high = (d.low, d.high) if d.mean > 0 else (-d.high, -d.low)
        verb = "cuts" if d.mean < 0 else "raises"
        better = (d.mean < 0) == (kpi.better == "lower")
        return (
            f"{row.plan} {verb} {kpi.label} by {kpi.show(abs(d.mean))} ({pct} CI "
            f"{kpi.show(low, unit=False)} to {kpi.show(high)}, {p_text}) vs {baseline} over "
            f"{d.n} replications: {'better' if better else 'worse'}"
        )
    ci = f"{pct} CI {kpi.show(d.low, signed=True, unit=False)} to {kpi.show(d.high, signed=True)}"
    return (
        f"{row.plan}: no clear difference in {kpi.label} from {baseline} "
        f"({kpi.show(d.mean, signed=True)}, {ci}, {p_text}, {d.n} replications)"
    )


def summarize(store: Any, study_id: str, *, level: float = 0.95) -> StudySummary:
    """Summarise a stored study.

    Parameters
    ----------
    store
        An open :class:`~twin.experiment.store.Store`.
    study_id
        The study (a unique prefix is enough).
    level
        Confidence level of every interval.
    """
    spec = store.spec(study_id)
    names = [p["name"] for p in spec["plans"]]
    baseline = names.index(spec["baseline"])
    n_var = len(spec["variants"])
    values = store.values(spec["study_id"], n_var, len(names))
    weights = spec.get("weights") or {}
    if weights and values and all(k in values for k in weights):
        shape = next(iter(values.values())).shape
        score = np.full(shape, np.nan)
        for idx in np.ndindex(shape):
            score[idx] = weighted_score({k: values[k][idx] for k in weights}, weights)
        values["score"] = score
    variants = []
    for v, variant in enumerate(spec["variants"]):
        kpis: dict[str, list[PlanSummary]] = {}
        for name in KPIS:
            if name in values:
                kpis[name] = _plan_summaries(
                    values[name][v], names, baseline, KPIS[name], level, int(spec["seed"])
                )
        primary = values.get(spec["primary"])
        reps = int(np.all(np.isfinite(primary[v]), axis=1).sum()) if primary is not None else 0
        lines = []
        if spec["primary"] in kpis:
            for row in kpis[spec["primary"]]:
                if row.plan != spec["baseline"]:
                    lines.append(verdict(row, spec["baseline"], KPIS[spec["primary"]], level))
        variants.append(VariantSummary(variant["label"], kpis, reps, lines))
    return StudySummary(spec, variants, store.failures(spec["study_id"]), level)


def _ci(interval: Interval | None, kpi: Kpi, *, signed: bool = False) -> str:
    """``mean [low, high]`` in display units without the unit (headers carry it)."""
    if interval is None:
        return "baseline"
    show = lambda x: kpi.show(x, signed=signed, unit=False)  # noqa: E731
    text = show(interval.mean)
    if not math.isnan(interval.low):
        text += f" [{show(interval.low)}, {show(interval.high)}]"
    return text


def label(kpi: Kpi) -> str:
    """``label (unit)`` for headers."""
    return f"{kpi.label} ({kpi.display_unit})" if kpi.display_unit else kpi.label


def verdict_rows(summary: StudySummary, variant: int = 0) -> list[list[str]]:
    """Rows of the verdict table (:data:`VERDICT_HEADER`) on the primary KPI: plan, mean
    [CI], difference (paired t) [CI], Holm-adjusted p, difference (BCa bootstrap) [CI],
    P(best), rank."""
    kpi = summary.primary
    rows = []
    for row in summary.variants[variant].kpis.get(kpi.name, []):
        rows.append(
            [
                row.plan,
                _ci(row.mean, kpi),
                _ci(row.diff_t, kpi, signed=True),
                show_p(row.p_adjusted),
                _ci(row.diff_boot, kpi, signed=True),
                "-" if math.isnan(row.p_best) else f"{row.p_best:.2f}",
                str(row.rank),
            ]
        )
    return rows


VERDICT_HEADER = [
    "plan",
    "mean [CI]",
    "Δ paired t [CI]",
    "p (Holm)",
    "Δ BCa [CI]",
    "P(best)",
    "rank",
]


def kpi_rows(summary: StudySummary, variant: int = 0) -> list[list[str]]:
    """Rows of the all-KPI table: KPI (unit), then per plan its mean, or its difference
    against the baseline with CI."""
    baseline = summary.spec["baseline"]
    rows = []
    for name, plans in summary.variants[variant].kpis.items():
        kpi = KPIS[name]
        cells = [label(kpi)]
        for row in plans:
            if row.plan == baseline:
                cells.append(kpi.show(row.mean.mean, unit=False))
            else:
                cells.append(_ci(row.diff_t, kpi, signed=True))
        rows.append(cells)
    return rows


def sweep_rows(summary: StudySummary) -> list[list[str]]:
    """Rows of the sweep table: variant, each plan's mean primary KPI, winner, P(best)."""
    kpi = summary.primary
    rows = []
    for variant in summary.variants:
        plans = variant.kpis.get(kpi.name, [])
        cells = [variant.label] + [kpi.show(r.mean.mean, unit=False) for r in plans]
        best = min(plans, key=lambda r: r.rank) if plans else None
        cells += [
            best.plan if best else "-",
            f"{best.p_best:.2f}" if best else "-",
            str(variant.replications),
        ]
        rows.append(cells)
    return rows


def wins(summary: StudySummary) -> dict[str, int]:
    """How many variants each plan wins (rank 1 on the primary KPI)."""
    out = dict.fromkeys(summary.plans, 0)
    for variant in summary.variants:
        for row in variant.kpis.get(summary.primary.name, []):
            if row.rank == 1:
                out[row.plan] += 1
    return out


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_html(summary: StudySummary, path: Path) -> Path:
    """Write a self-contained HTML summary (temporary name, renamed when complete)."""
    spec = summary.spec
    kpi = summary.primary
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(spec['kind'])}: {html.escape(', '.join(summary.plans))}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
        "margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}</style></head><body>",
        f"<h1>Plan {html.escape(spec['kind'])}: "
        f"{html.escape(Path(spec['scenario_file']).name)}</h1>",
        f"<p>Study {html.escape(spec['study_id'])}; model {html.escape(spec['runner'])}; "
        f"seed {spec['seed']}; common random numbers {'on' if spec['crn'] else 'off'}; "
        f"primary KPI {html.escape(kpi.label)} ({html.escape(kpi.doc)}); "
        f"{100 * summary.level:.0f} % confidence intervals.</p>",
        f"<p>{html.escape(summary.method)}</p>",
    ]
    if summary.formula:
        parts.append(f"<p>{html.escape(summary.formula)} (lower is better).</p>")
    if spec["kind"] == "sweep":
        header = ["variant", *summary.plans, "winner", "P(best)", "replications"]
        parts.append(_table(header, sweep_rows(summary)))
        parts.append(
            "<p>Wins: "
            + html.escape(", ".join(f"{p}: {n}" for p, n in wins(summary).items()))
            + "</p>"
        )
    for v, variant in enumerate(summary.variants):
        parts.append(f"<h2>{html.escape(variant.label)} ({variant.replications} replications)</h2>")
        parts.append("".join(f"<p><b>{html.escape(line)}</b></p>" for line in variant.verdict))
        parts.append(_table(VERDICT_HEADER, verdict_rows(summary, v)))
        header = ["KPI", *[p if p == spec["baseline"] else f"{p} Δ" for p in summary.plans]]
        parts.append(_table(header, kpi_rows(summary, v)))
    if summary.failures:
        rows = [
            [
                summary.plans[p],
                str(r),
                summary.spec["variants"][v]["label"],
                (e or "").strip().splitlines()[-1:][0] if e else "",
            ]
            for v, p, r, e in summary.failures
        ]
        parts.append("<h2>Failed runs</h2>")
        parts.append(_table(["plan", "replication", "variant", "error"], rows))
    parts.append("</body></html>")
    return write_text(path, "\n".join(parts))
