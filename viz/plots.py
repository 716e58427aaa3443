"""Plots of a run or a study (matplotlib, one style, the Agg canvas; no pyplot state).

Each function reads the files a ``twin`` command wrote (or a study summary) and returns a
:class:`matplotlib.figure.Figure`; :func:`save_png` writes one atomically and
:func:`png_bytes` gives the PNG bytes a report inlines.

===================  ===================================================  ==================
plot                 input                                                command
===================  ===================================================  ==================
gauge_depths         ``gauges.csv`` (time_s, <name>_depth_m, ...)          ``twin flood``
vital_signs          ``vitals.csv`` (units in the headers), ``events.csv``  ``twin run``
response_cdfs        ``events.csv`` per plan (call, state on_scene)         ``twin respond``
evacuation_curve     ``clearance.csv`` (time_s, arrived) + ``kpis.json``    ``twin crowd``
mfd                  ``mfd.csv`` (density_veh_km, flow_veh_h)              ``twin traffic``
forest               a :class:`~twin.experiment.report.StudySummary`        ``twin compare``
===================  ===================================================  ==================
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from twin.experiment.report import StudySummary

#: The one style of every plot.
STYLE = {
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": None,  # filled below (matplotlib's cycler)
    "figure.dpi": 110,
}
#: Warning levels (none 0 ... red 4) as background colours.
WARNING_COLOURS = {1: "#c8e6c9", 2: "#fff59d", 3: "#ffcc80", 4: "#ef9a9a"}
WARNING_NAMES = {1: "green", 2: "yellow", 3: "orange", 4: "red"}
#: Vital signs drawn by default (those a run has; the warning level is the background).
DEFAULT_VITALS = (
    "max_depth_m",
    "network_speed_index",
    "people_in_hazard",
    "people_evacuated",
    "open_incidents",
    "units_available",
)
_HEADER = re.compile(r"^(?P<name>.+?) \[(?P<unit>[^\]]*)\]$")


def _style() -> dict:
    from cycler import cycler

    style = dict(STYLE)
    style["axes.prop_cycle"] = cycler(
        color=["#1f5fa8", "#d1495b", "#2e933c", "#edae49", "#6c4f9c", "#00798c"]
    )
    return style


def figure(rows: int = 1, cols: int = 1, *, size: tuple[float, float] = (7.0, 3.6), **kw):
    """A new figure on the Agg canvas in the plots' style, with its axes (as subplots)."""
    import matplotlib

    with matplotlib.rc_context(_style()):
        fig = Figure(figsize=size, layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(rows, cols, squeeze=False, **kw)
    return fig, axes


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def save_png(fig: Figure, path: Path | str) -> Path:
    """Write the figure to ``path`` as a PNG, atomically."""
    from twin.atomic import write_bytes

    return write_bytes(Path(path), png_bytes(fig))


def _minutes(seconds) -> np.ndarray:
    return np.asarray(seconds, dtype=float) / 60.0


def gauge_depths(gauges_csv: Path | str) -> Figure:
    """Water depth (m) at each gauge over time (min), from ``twin flood``'s ``gauges.csv``."""
    table = pd.read_csv(gauges_csv)
    fig, axes = figure()
    ax = axes[0, 0]
    for column in table.columns:
        if column.endswith("_depth_m"):
            ax.plot(_minutes(table["time_s"]), table[column], label=column[: -len("_depth_m")])
    ax.set_xlabel("time since start (min)")
    ax.set_ylabel("water depth (m)")
    ax.set_title("Flood depth at the gauges")
    ax.legend(loc="upper left", fontsize=7)
    return fig


def read_vitals(vitals_csv: Path | str) -> tuple[pd.DataFrame, dict[str, str]]:
    """``twin run``'s vital signs with plain column names, and each column's unit."""
    table = pd.read_csv(vitals_csv)
    names, units = [], {}
    for column in table.columns:
        match = _HEADER.match(column)
        name, unit = (match["name"], match["unit"]) if match else (column, "")
        names.append(name)
        units[name] = unit
    table.columns = names
    return table, units


def trigger_firings(events_csv: Path | str | None) -> pd.DataFrame:
    """Rows of ``twin run``'s ``events.csv`` where a plan trigger fired (time, detail)."""
    if events_csv is None or not Path(events_csv).is_file():
        return pd.DataFrame(columns=["time", "source", "kind", "detail"])
    events = pd.read_csv(events_csv)
    return events[(events["source"] == "triggers") & (events["kind"] == "fired")]


def vital_signs(
    vitals_csv: Path | str,
    events_csv: Path | str | None = None,
    names: Sequence[str] = DEFAULT_VITALS,
) -> Figure:
    """Vital signs over time, the warning level in force as the background colour and
    each trigger firing as a vertical line (``twin run``'s ``vitals.csv`` and
    ``events.csv``)."""
    table, units = read_vitals(vitals_csv)
    shown = [n for n in names if n in table.columns] or [
        n for n in table.columns if n not in ("time", "warning_level")
    ][:4]
    minutes = _minutes(table["time"])
    fig, axes = figure(len(shown), 1, size=(7.0, 1.5 + 1.2 * len(shown)), sharex=True)
    levels = table["warning_level"].to_numpy() if "warning_level" in table else None
    firings = trigger_firings(events_csv)
    for ax, name in zip(axes[:, 0], shown, strict=True):
        ax.plot(minutes, table[name], drawstyle="steps-post")
        ax.set_ylabel(f"{name.replace('_', ' ')}\n({units.get(name, '')})", fontsize=7)
        if levels is not None:
            for k in range(len(minutes) - 1):
                if levels[k] > 0:
                    ax.axvspan(
                        minutes[k],
                        minutes[k + 1],
                        color=WARNING_COLOURS.get(int(levels[k]), "#eeeeee"),
                        lw=0,
                    )
        for t in firings["time"]:
            ax.axvline(float(t) / 60.0, color="#d1495b", ls="--", lw=1)
    axes[0, 0].set_title("Vital signs (background: warning level; dashed: trigger fired)")
    axes[-1, 0].set_xlabel("time since start (min)")
    return fig


def response_times(events_csv: Path | str) -> np.ndarray:
    """Response time (s) of each call in ``twin respond``'s ``events.csv``: first unit on
    scene minus the call; ``inf`` for a call no unit reached."""
    events = pd.read_csv(events_csv)
    calls = events[events["event"] == "call"].groupby("incident")["time"].min()
    on_scene = (
        events[(events["event"] == "state") & (events["detail"] == "on_scene")]
        .groupby("incident")["time"]
        .min()
    )
    arrival = on_scene.reindex(calls.index).to_numpy(dtype=float)
    return np.where(np.isnan(arrival), np.inf, arrival - calls.to_numpy(dtype=float))


def response_cdfs(
    events_by_plan: Mapping[str, Path | str], targets: Mapping[str, float] | None = None
) -> Figure:
    """Share of calls reached within t (response-time CDF) per plan, with the targets
    (s, e.g. ``{"priority 1": 480}``) as vertical lines. Calls never reached keep the
    curve below 1."""
    fig, axes = figure()
    ax = axes[0, 0]
    for plan, path in events_by_plan.items():
        times = np.sort(response_times(path))
        finite = times[np.isfinite(times)]
        share = np.arange(1, len(finite) + 1) / max(len(times), 1)
        ax.step(_minutes(finite), share, where="post", label=f"{plan} ({len(times)} calls)")
    for k, (label, seconds) in enumerate((targets or {}).items()):
        ax.axvline(seconds / 60.0, color="0.3", ls=("--", ":", "-.")[k % 3], lw=1, label=label)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("response time (min)")
    ax.set_ylabel("share of calls reached")
    ax.set_title("Response times by plan")
    ax.legend(loc="lower right", fontsize=7)
    return fig


def evacuation_curve(clearance_by_plan: Mapping[str, Path | str]) -> Figure:
    """Share of people evacuated (arrived at a destination) over time, per plan, from
    ``twin crowd``'s ``clearance.csv``; the population comes from ``kpis.json`` beside it
    (else the last released count)."""
    fig, axes = figure()
    ax = axes[0, 0]
    for plan, path in clearance_by_plan.items():
        table = pd.read_csv(path)
        people = _crowd_people(Path(path).with_name("kpis.json")) or max(
            float(table["released"].iloc[-1]), 1.0
        )
        ax.plot(_minutes(table["time_s"]), table["arrived"] / people, label=plan)
    ax.axhline(0.95, color="0.3", ls="--", lw=1, label="95 %")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("time since start (min)")
    ax.set_ylabel("share evacuated")
    ax.set_title("Evacuation")
    ax.legend(loc="upper left", fontsize=7)
    return fig


def _crowd_people(kpis_json: Path) -> float | None:
    if not kpis_json.is_file():
        return None
    people = json.loads(kpis_json.read_text(encoding="utf-8")).get("people")
    return float(people) if people else None


def mfd(mfd_by_plan: Mapping[str, Path | str]) -> Figure:
    """The network's macroscopic fundamental diagram: space-mean flow (veh/h) against
    density (veh/km) over time, per plan, from ``twin traffic``'s ``mfd.csv``."""
    fig, axes = figure(size=(5.5, 4.0))
    ax = axes[0, 0]
    for plan, path in mfd_by_plan.items():
        table = pd.read_csv(path)
        ax.plot(table["density_veh_km"], table["flow_veh_h"], marker="o", ms=3, label=plan)
    ax.set_xlabel("density (veh/km)")
    ax.set_ylabel("flow (veh/h)")
    ax.set_title("Macroscopic fundamental diagram")
    ax.legend(loc="upper left", fontsize=7)
    return fig


def forest(summary: StudySummary, kpis: Sequence[str] | None = None, variant: int = 0) -> Figure:
    """Paired differences ``plan - baseline`` with their paired-t intervals (the study's
    level, Bonferroni-adjusted over the comparisons), one panel per KPI, one row per
    plan; zero marked."""
    rows_by_kpi = summary.variants[variant].kpis
    names = [k for k in (kpis or rows_by_kpi) if k in rows_by_kpi]
    names = [k for k in names if any(r.diff_t is not None for r in rows_by_kpi[k])]
    fig, axes = figure(max(len(names), 1), 1, size=(6.5, 0.6 + 1.1 * max(len(names), 1)))
    from twin.metrics import KPIS

    for ax, name in zip(axes[:, 0], names, strict=False):
        kpi = KPIS[name]
        rows = [r for r in rows_by_kpi[name] if r.diff_t is not None]
        y = np.arange(len(rows))
        mean = np.array([r.diff_t.mean for r in rows])
        low = np.array([r.diff_t.low for r in rows])
        high = np.array([r.diff_t.high for r in rows])
        ax.errorbar(
            mean,
            y,
            xerr=[mean - low, high - mean],
            fmt="o",
            capsize=3,
            color="#1f5fa8",
        )
        ax.axvline(0.0, color="0.3", lw=1)
        ax.set_yticks(y, [r.plan for r in rows])
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_xlabel(f"Δ {name} vs {summary.spec['baseline']} ({kpi.unit})", fontsize=7)
    axes[0, 0].set_title(
        f"Paired differences, {100 * summary.level:.0f} % intervals (common random numbers)"
    )
    return fig
