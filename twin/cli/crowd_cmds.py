"""``twin crowd``: run the crowd model alone on a scenario's city, print its KPIs and write
its outputs (see :mod:`twin.crowd.outputs`) per plan to ``<outputs.folder>/crowd/<plan>``
(or ``--out``)."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from twin.atomic import write_json
from twin.cli import app, console, err_console, user_errors
from twin.cli._options import (
    DURATION_HELP,
    CsvOption,
    SetOption,
    scenario_with,
    seconds,
    show_progress,
    with_csv,
)
from twin.cli._threads import ThreadsOption, use_threads
from twin.cli.maps_cmds import MapsOption, load_scenario_city
from twin.errors import Problem, UserInputError

if TYPE_CHECKING:  # the model is imported when a run starts, not for `twin --help`
    from twin.crowd.kpis import CrowdKpis


def _minutes(seconds: float) -> str:
    return "-" if not math.isfinite(seconds) else f"{seconds / 60:.1f} min"


def check_times(dt: float, until: float | None) -> None:
    """Refuse a time step or end time that would hang or simulate nothing.

    Raises
    ------
    twin.errors.UserInputError
        If ``dt`` is not a finite number > 0, or ``until`` is given and not finite and > 0.
    """
    problems = []
    if not (math.isfinite(dt) and dt > 0):
        problems.append(
            Problem(
                f"the time step must be a number of seconds > 0, got {dt!r}",
                field="--dt",
                fix="e.g. --dt 1",
            )
        )
    if until is not None and not (math.isfinite(until) and until > 0):
        problems.append(
            Problem(
                f"the end time must be a number of seconds > 0, got {until!r}",
                field="--until",
                fix="e.g. --until 3600, or leave it out for the scenario's duration",
            )
        )
    if problems:
        raise UserInputError(problems)


def print_kpis(kpis: CrowdKpis, wall: float) -> None:
    """Print a run's KPIs as tables."""
    c = kpis.counts
    table = Table(title=f"crowd after {_minutes(kpis.time)} ({wall:.1f} s wall)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name in ("total", "arrived", "on_link", "at_node", "pending", "stuck"):
        table.add_row(name.replace("_", " "), f"{c[name]:,}")
    for reason, n in kpis.stuck_reasons.items():
        table.add_row(f"  stuck: {reason}", f"{n:,}")
    for key, value in kpis.clearance.items():
        table.add_row(f"clearance {key[1:]} %", _minutes(value))
    where = kpis.max_density_nodes
    table.add_row(
        "max density",
        f"{kpis.max_density:.2f} /m2 on link {where} at {_minutes(kpis.max_density_time)}",
    )
    table.add_row("crush-risk link-minutes (> 4 /m2)", f"{kpis.crush_link_minutes:,.0f}")
    hazard = kpis.person_minutes_in_hazard
    table.add_row(
        "person-minutes in hazardous water",
        kpis.hazard_note if hazard is None else f"{hazard:,.0f}",
    )
    for reason, n in kpis.unfinished.items():
        table.add_row(f"not arrived: {reason}", f"{n:,}")
    console.print(table)
    dest = Table(title="destinations")
    for col in ("name", "group", "why", "capacity", "occupancy", "overflow"):
        dest.add_column(col, justify="left" if col in ("name", "group", "why") else "right")
    for d in kpis.destinations:
        if d["occupancy"] or d["overflow"] or math.isfinite(d["capacity"]):
            cap = "-" if not math.isfinite(d["capacity"]) else f"{d['capacity']:,.0f}"
            dest.add_row(
                escape(d["name"]),
                escape(d["group"]),
                escape(d["why"]),
                cap,
                f"{d['occupancy']:,}",
                f"{d['overflow']:,}",
            )
    console.print(dest)
    if kpis.routes:
        routes = Table(title="evacuation routes (on foot)")
        for col in ("route", "to", "following", "left the route"):
            routes.add_column(col, justify="left" if col in ("route", "to") else "right")
        for r in kpis.routes:
            routes.add_row(
                escape(r["name"]),
                escape(r["destination"]),
                f"{r['following']:,}",
                f"{r['dropped']:,}",
            )
        console.print(routes)


@app.command("crowd")
@user_errors
def crowd_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (YAML).")],
    plan_files: Annotated[
        list[Path] | None,
        typer.Option(
            "--plan", metavar="PLAN", help="Plan file (repeatable); default the scenario's plans."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder; default <outputs.folder>/crowd."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help=f"End of the run: {DURATION_HELP}; default the scenario's duration."),
    ] = None,
    dt: Annotated[str, typer.Option(help=f"Time step: {DURATION_HELP}.")] = "1s",
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Also write the KPIs to this JSON file (one plan at most)."),
    ] = None,
    set_: SetOption = None,
    maps: MapsOption = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    threads: ThreadsOption = None,
    csv: CsvOption = None,
) -> None:
    """Run the pedestrians of a scenario (evacuation on foot, crowd events), print KPIs and
    write densities, clearance, shelters and kpis.json per plan, crowd.gpkg (walk-link
    densities over time, shelters with occupancy) and run.json."""
    until_s, dt_s = seconds(until, "--until"), seconds(dt, "--dt")
    check_times(dt_s, until_s)
    use_threads(threads)
    from twin.cli._checks import ensure_writable, ensure_writable_file
    from twin.coupling.crowd_setup import crowd_from_scenario
    from twin.coupling.geo_outputs import write_crowd_geo
    from twin.crowd.outputs import write_outputs
    from twin.engine.run import ProgressBar
    from twin.manifest import record_run
    from twin.scenario.base import file_name
    from twin.scenario.loader import load_plan, results_folder
    from twin.tables import SERIES, series_tables

    sc = with_csv(scenario_with(scenario, set_), csv)
    paths = list(plan_files or sc.plans)  # no plan: only the city's designated shelters
    plans, problems = [], []
    for path in paths:
        try:
            plans.append(load_plan(path))
        except UserInputError as exc:
            problems += exc.problems
    if problems:
        raise UserInputError(problems)
    if json_out is not None and len(plans) > 1:
        raise UserInputError(
            Problem(
                f"--json holds the KPIs of one run, and {len(plans)} plans would run",
                field="--json",
                fix="pass one --plan, or read kpis.json in each plan's output folder",
            )
        )
    base = out if out is not None else results_folder(sc, scenario) / "crowd"
    folders = [Path(base) / file_name(plan.name) for plan in plans] or [Path(base)]
    for i, folder in enumerate(folders):
        if folder in folders[:i]:
            raise UserInputError(
                Problem(
                    f"plans {paths[folders.index(folder)]} and {paths[i]} would write to the "
                    f"same folder {folder.name!r} (their names differ only in punctuation)",
                    paths[i],
                    field="name",
                    fix="give the plans names that differ in letters or digits",
                )
            )
    pack = load_scenario_city(sc, maps)
    end = sc.time.duration if until_s is None else until_s

    def set_up(plan, path):
        return crowd_from_scenario(sc, pack, plan, scenario_file=scenario, plan_file=path)

    # every plan's mistakes before any run (a set-up takes a moment, a run minutes), and
    # before any output folder is made
    for plan, path in zip(plans or [None], paths or [None], strict=True):
        try:
            set_up(plan, path)
        except UserInputError as exc:
            problems += exc.problems
    if problems:
        raise UserInputError(problems)
    for folder in folders:
        ensure_writable(folder)
    if json_out is not None:
        ensure_writable_file(json_out, field="--json")
    for plan, path, folder in zip(plans or [None], paths or [None], folders, strict=True):
        run = set_up(plan, path)
        start, started = time.perf_counter(), datetime.now(UTC)
        label = f"crowd {escape(plan.name)}" if plan is not None else "crowd"
        bar = ProgressBar(
            label,
            console=err_console,
            enabled=show_progress(progress),
            status=lambda r: f"{r.components['crowd'].vitals()['walking']:,.0f} walking",
        )
        run.run(end, dt=dt_s, observers=[bar])
        kpis = run.model.kpis()
        if plan is not None:
            console.print(f"plan {escape(plan.name)}")
        print_kpis(kpis, time.perf_counter() - start)
        written = write_outputs(run.model, kpis, folder)
        written.append(write_crowd_geo(folder, run.model, kpis, pack.crs, start=sc.time.start))
        tables = series_tables(folder, SERIES["crowd"], csv=sc.outputs.csv)
        written = [f for f in written if f.is_file()] + [t for t in tables if t.suffix != ".csv"]
        settings = {"command": "crowd", "until_s": until_s, "dt_s": dt_s, "set": set_ or []}
        written.append(
            record_run(folder, scenario=sc, started=started, plan=plan, pack=pack, extra=settings)
        )
        console.print(f"wrote {len(written)} files to {escape(str(folder))}")
        if json_out is not None:
            write_json(json_out, kpis.as_dict())
