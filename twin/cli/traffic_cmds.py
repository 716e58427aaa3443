"""``twin traffic``: run a scenario's road traffic alone (per plan, whose evacuation routes
drivers follow), with a progress bar, and write it to ``<outputs.folder>/traffic/<plan>``
(or ``--out``, per plan inside it)."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from twin.cli import app, console, err_console, user_errors
from twin.cli._options import (
    DURATION_HELP,
    CsvOption,
    scenario_with,
    seconds,
    show_progress,
    with_csv,
)
from twin.cli._threads import ThreadsOption, use_threads
from twin.cli.maps_cmds import MapsOption, load_scenario_city
from twin.errors import Problem, UserInputError


def _kpi_table(run, trips, end: float, wall: float) -> Table:
    """The run's KPIs, closures and evacuation routes as one table."""
    k = trips.kpis()
    table = Table(title=f"traffic after {end / 60:.0f} min ({wall:.1f} s wall)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in k.items():
        if not math.isfinite(value):
            text = f"- ({trips.UNDEFINED.get(key, 'undefined')})"
        elif isinstance(value, int):
            text = f"{value:,}"
        elif key.endswith("_share"):
            text = f"{100 * value:.1f} %"
        else:
            text = f"{value:,.1f}"
        table.add_row(key.replace("_", " "), text)
    for when, links, name in run.closures:
        table.add_row(f"closed at {when / 60:.0f} min: {escape(name)}", f"{links.size} links")
    routes = run.model.routes
    for name, following, dropped in zip(
        routes.names, routes.following(), routes.dropped, strict=True
    ):
        table.add_row(
            f"route {escape(name)}: cars following (left it)", f"{following:,} ({dropped:,})"
        )
    return table


@app.command("traffic")
@user_errors
def traffic_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (YAML).")],
    plan_files: Annotated[
        list[Path] | None,
        typer.Option(
            "--plan",
            metavar="PLAN",
            help="Plan file (repeatable): evacuating drivers follow its evacuation routes; "
            "default the scenario's plans.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder; default <outputs.folder>/traffic (per plan inside)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help=f"End of the run: {DURATION_HELP}; default the scenario's duration."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="KEY=VALUE, repeatable: a model setting (dt, route_slice, reroute_every, "
            "record_every, priority_share, stuck_time, max_snap), else a dotted field of the "
            "scenario file (e.g. time.duration=30min), validated like the file.",
        ),
    ] = None,
    maps: MapsOption = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    threads: ThreadsOption = None,
    csv: CsvOption = None,
) -> None:
    """Run a scenario's vehicles (trips, OD slices, evacuation along the plan's routes; road
    closures), per plan.

    Writes trips.csv (with origin/destination lon/lat), link_series.npz and .parquet,
    mfd.csv, kpis.json, traffic.gpkg (link results over time, trip lines) and run.json to
    the output folder, or to a folder per plan inside it (named after the plan) when there
    are plans.
    """
    from twin.cli._checks import ensure_writable
    from twin.coupling.traffic_setup import SETTINGS, parse_settings
    from twin.scenario.base import file_name
    from twin.scenario.loader import load_plan, results_folder

    # keys of the model's settings go to the model, any other to the scenario
    model_pairs = [p for p in set_ or [] if p.partition("=")[0].strip() in SETTINGS]
    scenario_pairs = [p for p in set_ or [] if p not in model_pairs]
    settings = parse_settings(model_pairs)
    end_s = seconds(until, "--until")
    use_threads(threads)
    sc = with_csv(scenario_with(scenario, scenario_pairs), csv)
    paths = list(plan_files or sc.plans)
    plans = [load_plan(path) for path in paths]
    base = out if out is not None else results_folder(sc, scenario) / "traffic"
    folders = [Path(base) / file_name(plan.name) for plan in plans] or [Path(base)]
    if len(set(folders)) < len(folders):
        raise UserInputError(
            Problem(
                "two plans would write to the same folder (their names differ only in punctuation)",
                field="--plan",
                fix="give the plans names that differ in letters or digits",
            )
        )
    for folder in folders:
        ensure_writable(folder)  # before the city and the run, not after them
    from twin.coupling.geo_outputs import traffic_places, write_traffic_geo
    from twin.coupling.traffic_setup import traffic_from_scenario
    from twin.engine.run import ProgressBar
    from twin.manifest import record_run
    from twin.tables import SERIES, series_tables
    from twin.traffic import write_outputs

    pack = load_scenario_city(sc, maps)
    end = sc.time.duration if end_s is None else end_s
    for plan, plan_path, folder in zip(plans or [None], paths or [None], folders, strict=True):
        run = traffic_from_scenario(
            sc, pack, settings, path=scenario, plan=plan, plan_path=plan_path
        )
        start, started = time.perf_counter(), datetime.now(UTC)
        label = f"traffic {escape(plan.name)}" if plan is not None else "traffic"
        bar = ProgressBar(label, console=err_console, enabled=show_progress(progress))
        run.run(end, observers=[bar])
        wall = time.perf_counter() - start
        model = run.model
        model.check_conservation()
        trips = model.trips()
        places = traffic_places(model, pack.crs)
        files = write_outputs(folder, trips, model.series, model.net.link_ids, model.net.node_ids,
                              node_lonlat=(places.lon, places.lat),
                              free_speed=model.net.free_speed)  # fmt: skip
        files.append(write_traffic_geo(folder, model, trips, pack.crs, start=sc.time.start))
        tables = series_tables(folder, SERIES["traffic"], csv=sc.outputs.csv)
        files = [f for f in files if f.is_file()] + [t for t in tables if t.suffix != ".csv"]
        files.append(record_run(folder, scenario=sc, started=started, plan=plan, pack=pack,
                                extra={"until_s": end_s, "settings": set_ or []}))  # fmt: skip
        if plan is not None:
            console.print(f"plan {escape(plan.name)}")
        console.print(_kpi_table(run, trips, end, wall))
        for path in files:
            console.print(f"wrote {escape(str(path))}")
