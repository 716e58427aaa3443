"""``twin report``: one self-contained HTML file (images inlined as base64 PNG, no network)
for a run folder or a study database.

A run folder is whatever a run command wrote (``twin flood``, ``run``, ``respond``,
``crowd``, ``traffic``), or a folder of such folders (one per plan). The report shows what
the folder holds: the scenario summary and manifest from ``run.json``, a 2-D map
(:mod:`viz.map2d`), 3-D stills at the key moments the outputs show (first closure, peak
depth, slowest response: :mod:`viz.moments`), KPI tables (``kpis.json``), the plots
(:mod:`viz.plots`), event-log highlights and the OpenStreetMap credit. A study
(``.duckdb``) adds the comparison's verdict and forest plot. Every piece of user text is
escaped (jinja2 autoescape).
"""

from __future__ import annotations

import base64
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.errors import Problem, UserInputError
from viz import plots
from viz.runs import check_format, load_run_pack

#: The OpenStreetMap credit every report carries (ODbL attribution).
OSM_CREDIT = "© OpenStreetMap contributors, ODbL"
#: Event-log rows shown at most.
MAX_EVENTS = 25


@dataclass
class ReportParts:
    """What the template fills in (see ``viz/templates/report.html.j2``)."""

    title: str
    summary: list[tuple[str, str]] = field(default_factory=list)
    manifest: list[tuple[str, str]] = field(default_factory=list)
    kpi_tables: list[dict[str, Any]] = field(default_factory=list)
    plots: list[dict[str, str]] = field(default_factory=list)
    events: dict[str, Any] | None = None
    verdict: list[str] = field(default_factory=list)
    verdict_table: dict[str, Any] | None = None
    city: str | None = None
    map_png: str | None = None
    map_note: str = "No city known for this folder (no run.json); pass --city."
    stills: list[dict[str, str]] = field(default_factory=list)
    moment_notes: list[str] = field(default_factory=list)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _plot(parts: ReportParts, title: str, fig) -> None:
    parts.plots.append({"title": title, "png": _b64(plots.png_bytes(fig))})


def _folders(root: Path) -> dict[str, Path]:
    """The run folders under ``root``: itself if it holds outputs, else its subfolders that
    do (one per plan), by name."""
    marks = ("kpis.json", "run.json", "vitals.csv", "gauges.csv", "depth.tif", "events.csv")
    if any((root / m).is_file() for m in marks):
        return {root.name: root}
    return {
        p.name: p
        for p in sorted(root.iterdir())
        if p.is_dir() and any((p / m).is_file() for m in marks)
    }


def _manifest(run: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        ("twin version", str(run.get("twin_version", "?"))),
        ("python", str(run.get("python", "?"))),
        ("seed", str(run.get("seed", "?"))),
        ("city pack hash", str(run.get("pack_hash", "?"))),
        ("command line", " ".join(str(a) for a in run.get("command_line") or [])),
        ("started (UTC)", str(run.get("started", "?"))),
        ("ended (UTC)", str(run.get("ended", "?"))),
        ("plan", str((run.get("plan") or {}).get("name", "-"))),
    ]
    deps = run.get("dependencies") or {}
    rows += [(f"dependency {k}", str(v)) for k, v in sorted(deps.items())]
    return rows


def _scenario_summary(scenario: dict[str, Any]) -> list[tuple[str, str]]:
    city = scenario.get("city") or {}
    window = scenario.get("time") or {}
    hazards = ", ".join(str(h.get("kind", "?")) for h in scenario.get("hazards") or []) or "none"
    return [
        ("name", str(scenario.get("name", "?"))),
        ("description", str(scenario.get("description") or "")),
        ("city", f"{city.get('name', '?')} at {city.get('resolution', '?')} m"),
        ("start", str(window.get("start", "?"))),
        ("duration", f"{float(window.get('duration', 0)) / 3600:g} h"),
        ("hazards", hazards),
        ("seed", str(scenario.get("seed", "?"))),
    ]


def _flat_kpis(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat_kpis(value, f"{name}."))
        elif isinstance(value, int | float | str) or value is None:
            out[name] = value
    return out


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def _kpi_table(kpis: dict[str, dict[str, Any]]) -> dict[str, Any]:
    plans = list(kpis)
    names: list[str] = []
    for values in kpis.values():
        names += [n for n in values if n not in names]
    rows = [[n, *(_show(kpis[p].get(n)) for p in plans)] for n in names]
    return {
        "title": "KPIs by plan" if len(plans) > 1 else "KPIs",
        "header": ["KPI", *plans],
        "rows": rows,
    }


def _pictures(parts: ReportParts, pack, folders: dict[str, Path]) -> None:
    """The 2-D map (with the deepest water a moment shows) and a 3-D still of each key
    moment (:func:`viz.moments.key_moments`: first closure, peak depth, slowest response)."""
    from viz.map2d import draw_map
    from viz.moments import key_moments
    from viz.scene import CityScene, SceneState

    moments = key_moments(pack, folders)
    drawn = [m for m in moments if m.state is not None]
    parts.moment_notes = [m.caption for m in moments if m.state is None]
    wet = [m for m in drawn if m.state.depth is not None]
    with tempfile.TemporaryDirectory() as tmp:
        draw_map(pack, wet[-1].state if wet else SceneState(), Path(tmp) / "map.png")
        parts.map_png = _b64((Path(tmp) / "map.png").read_bytes())
        if not drawn:
            return
        scene = CityScene(pack, window_size=(960, 600))
        try:
            for k, moment in enumerate(drawn):
                scene.update(moment.state)
                if moment.focus is None:
                    scene.camera("oblique")
                else:
                    scene.look_at(*moment.focus)
                scene.screenshot(Path(tmp) / f"still{k}.png")
                png = _b64((Path(tmp) / f"still{k}.png").read_bytes())
                parts.stills.append({"title": moment.title, "caption": moment.caption, "png": png})
        finally:
            scene.close()


def _events(folders: dict[str, Path]) -> dict[str, Any] | None:
    """Highlights: the twin's log without routine rows (``twin run``), or each plan's ten
    slowest responses (``twin respond``)."""
    rows = []
    for plan, folder in folders.items():
        path = folder / "events.csv"
        if not path.is_file():
            continue
        table = pd.read_csv(path)
        if "source" in table.columns:
            for r in table.head(MAX_EVENTS).itertuples():
                rows.append([plan, f"{r.time / 60:.1f}", r.source, r.kind, str(r.detail)])
        elif "event" in table.columns:
            times = plots.response_times(path)
            calls = table[table["event"] == "call"].groupby("incident").first()
            order = np.argsort(-np.where(np.isfinite(times), times, 1e300))[:10]
            for k in order:
                call = calls.iloc[k]
                shown = "never reached" if not np.isfinite(times[k]) else f"{times[k] / 60:.1f} min"
                rows.append(
                    [
                        plan,
                        f"{call['time'] / 60:.1f}",
                        "call",
                        str(call["detail"]),
                        f"slowest: {shown}",
                    ]
                )
    if not rows:
        return None
    return {"header": ["plan", "time (min)", "source", "kind", "detail"], "rows": rows}


def _targets(scenario: dict[str, Any]) -> dict[str, float]:
    targets = (scenario.get("objectives") or {}).get("targets") or {}
    return {k.replace("_", " ") + " target": float(v) for k, v in targets.items() if v}


def run_parts(root: Path, city: str | None = None, resolution: float | None = None) -> ReportParts:
    """The report of a run folder (or a folder of plan folders); ``city`` and
    ``resolution`` (m) where the folder has no ``run.json`` that says them."""
    folders = _folders(root)
    if not folders:
        raise UserInputError(
            Problem(
                "no run outputs here (kpis.json, run.json, vitals.csv, gauges.csv, "
                "depth.tif or events.csv)",
                file=root,
                fix="pass the --out folder of a twin run/flood/respond/crowd/traffic command",
            )
        )
    run: dict[str, Any] = {}
    for folder in folders.values():
        check_format(folder)  # an older twin's run: one message, not a half-read report
        for path in (folder / "run.json", folder.parent / "run.json"):
            if path.is_file() and not run:
                run = json.loads(path.read_text(encoding="utf-8"))
    scenario = run.get("scenario") or {}
    parts = ReportParts(title=f"twin report: {scenario.get('name') or root.name}")
    parts.summary = _scenario_summary(scenario) if scenario else [("folder", str(root))]
    parts.manifest = _manifest(run) if run else [("run.json", "none in this folder")]
    kpis = {}
    for plan, folder in folders.items():
        if (folder / "kpis.json").is_file():
            data = json.loads((folder / "kpis.json").read_text(encoding="utf-8"))
            kpis[plan] = _flat_kpis(data)
    if kpis:
        parts.kpi_tables.append(_kpi_table(kpis))
    first = next(iter(folders.values()))
    if (first / "gauges.csv").is_file():
        _plot(parts, "Flood depth at the gauges", plots.gauge_depths(first / "gauges.csv"))
    if (first / "vitals.csv").is_file():
        fig = plots.vital_signs(first / "vitals.csv", first / "events.csv")
        _plot(parts, "Vital signs, warning levels and trigger firings", fig)
    responses = {
        p: f / "events.csv"
        for p, f in folders.items()
        if (f / "events.csv").is_file() and "event" in pd.read_csv(f / "events.csv", nrows=0)
    }
    if responses:
        _plot(parts, "Response times", plots.response_cdfs(responses, _targets(scenario)))
    clearance = {
        p: f / "clearance.csv" for p, f in folders.items() if (f / "clearance.csv").is_file()
    }
    if clearance:
        _plot(parts, "Evacuation", plots.evacuation_curve(clearance))
    mfd = {p: f / "mfd.csv" for p, f in folders.items() if (f / "mfd.csv").is_file()}
    if mfd:
        _plot(parts, "Macroscopic fundamental diagram", plots.mfd(mfd))
    parts.events = _events(folders)
    recorded = scenario.get("city") or {}
    parts.city = city or recorded.get("name") or recorded.get("osm")
    if parts.city:
        # the city and terrain the run used (run.json: a flat city at its datum), not the
        # catalogue's defaults
        pack = load_run_pack(first, city=city, resolution=resolution)
        _pictures(parts, pack, folders)
    return parts


def study_parts(path: Path, study_id: str | None = None) -> ReportParts:
    """The report of a study in a results database: verdict, KPI table, forest plot."""
    from twin.experiment.report import VERDICT_HEADER, kpi_rows, summarize, verdict_rows
    from twin.experiment.store import Store

    with Store(path, read_only=True) as store:
        chosen = study_id or (store.studies()[0]["study_id"] if store.studies() else "")
        summary = summarize(store, chosen)
        runs = store.run_table(summary.spec["study_id"])
    spec = summary.spec
    parts = ReportParts(title=f"twin study report: {spec['scenario_file']}")
    parts.summary = [
        ("scenario file", str(spec["scenario_file"])),
        ("model", str(spec["runner"])),
        ("plans", ", ".join(summary.plans)),
        ("baseline", str(spec["baseline"])),
        ("primary KPI", str(spec["primary"])),
        ("replications", str(summary.variants[0].replications)),
        ("common random numbers", "yes" if spec.get("crn") else "no"),
    ]
    parts.verdict = list(summary.variants[0].verdict) or ["no verdict: no finished replications"]
    parts.verdict_table = {"header": VERDICT_HEADER, "rows": verdict_rows(summary)}
    parts.kpi_tables.append(
        {
            "title": f"Means ({spec['baseline']}) and paired differences",
            "header": ["KPI", *summary.plans],
            "rows": kpi_rows(summary),
        }
    )
    if any(r.diff_t is not None for rows in summary.variants[0].kpis.values() for r in rows):
        _plot(parts, "Paired differences against the baseline", plots.forest(summary))
    versions = sorted({str(v) for v in runs.get("code_version", pd.Series(dtype=str)).dropna()})
    parts.manifest = [
        ("study id", str(spec["study_id"])),
        ("base seed", str(spec["seed"])),
        ("code versions", ", ".join(versions) or "-"),
        ("runs", str(len(runs))),
    ] + [(f"plan {p['name']}", f"{p.get('file', '')} ({p.get('hash', '')})") for p in spec["plans"]]
    parts.map_note = "A study has no single map; see the run reports of its plans."
    return parts


def write_report(
    target: Path | str,
    out: Path | str,
    *,
    city: str | None = None,
    study_id: str | None = None,
    resolution: float | None = None,
) -> Path:
    """Write the HTML report of a run folder or a study database (``.duckdb``; its study
    ``study_id``, default its first) to ``out``, atomically; returns ``out``."""
    import jinja2

    from twin import __version__
    from twin.atomic import write_text

    target = Path(target)
    if target.is_file() and target.suffix == ".duckdb":
        parts = study_parts(target, study_id)
    elif target.is_dir():
        parts = run_parts(target, city, resolution)
    else:
        raise UserInputError(
            Problem(
                f"{target} is neither a run folder nor a study database (.duckdb)",
                file=target,
                fix="pass a command's --out folder or a twin compare --study file",
            )
        )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    html = env.get_template("report.html.j2").render(
        **parts.__dict__, credit=OSM_CREDIT, version=__version__
    )
    return write_text(Path(out), html)


def report_after_run(
    kind: str,
    target: Path,
    *,
    study_id: str | None = None,
    city: str | None = None,
    resolution: float | None = None,
) -> Path:
    """The after-run hook (:data:`twin.plugins.AFTER_RUN`) of ``twin run`` and ``twin
    compare``: ``report.html`` in a run's output folder (of ``city`` at ``resolution`` m),
    ``<study>_report.html`` beside a study file."""
    if kind == "compare":
        out = target.with_name(f"{target.stem}_report.html")
        return write_report(target, out, study_id=study_id)
    return write_report(target, target / "report.html", city=city, resolution=resolution)
