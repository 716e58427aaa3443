"""``twin respond``: run the response model alone (free-flow or given link times).

Writes ``kpis.json`` and ``events.csv`` with ``events.gpkg`` (events with a road node as
points; the CSV gives their lon, lat and OSM node id) (as the scenario's ``outputs.kpis``
and ``outputs.events`` say) and the run manifest ``run.json`` (:mod:`twin.manifest`) per plan to
``<outputs.folder>/response/<plan>`` (or ``--out/<plan>``), each under a temporary name
renamed when complete. ``--from-manifest run.json`` reruns a plan from such a manifest
(same scenario, plan, seed and link times). ``<plan>`` is a safe
file name made of the plan's name, so outputs stay under the chosen folder.
"""

from __future__ import annotations

import csv
import math
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from twin.atomic import write_json
from twin.cli import app, console, err_console, user_errors
from twin.cli._options import CsvOption, SetOption, scenario_with, show_progress, with_csv
from twin.cli._threads import ThreadsOption, use_threads
from twin.cli.maps_cmds import MapsOption
from twin.errors import Problem, UserInputError
from twin.response.kpis import ResponseKpis, write_log

#: Stops of the engine clock per run (the progress bar moves this often).
PROGRESS_STEPS = 100


def read_link_times(path: Path, edges: list[tuple[int, int, int]]) -> np.ndarray:
    """Per-edge travel times (s) from a CSV with columns ``u, v, key, travel_time``.

    ``u``/``v`` are OSM node ids of the drive graph and ``key`` the parallel-edge key (0 for
    most). Edges not listed keep ``nan`` (free flow is used for them).

    Raises
    ------
    UserInputError
        If the file is unreadable, lacks a column, names an edge the graph does not have, or
        gives a time that is not > 0.
    """
    where = {e: i for i, e in enumerate(edges)}
    times = np.full(len(edges), np.nan)
    try:
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise UserInputError(Problem(f"cannot read link times: {exc}", path)) from None
    for line, row in enumerate(rows, start=2):
        try:
            edge = (int(row["u"]), int(row["v"]), int(row.get("key") or 0))
            value = float(row["travel_time"])
        except (KeyError, TypeError, ValueError):
            raise UserInputError(
                Problem(
                    "each row needs u, v, travel_time (and optionally key) as numbers",
                    path,
                    line,
                    fix="write a header `u,v,key,travel_time` and one edge per row",
                )
            ) from None
        if edge not in where:
            raise UserInputError(
                Problem(
                    f"edge {edge} is not in the drivable road graph",
                    path,
                    line,
                    "u,v,key",
                    "use node ids of the city's drive graph (largest connected part)",
                )
            )
        if not value > 0:
            raise UserInputError(
                Problem(f"travel_time {value!r} must be > 0", path, line, "travel_time")
            )
        times[where[edge]] = value
    return times


def _kpi_table(name: str, kpis: ResponseKpis) -> Table:
    table = Table(title=f"Response KPIs: {escape(name)}", show_header=False, title_justify="left")
    table.add_column("KPI", style="bold")
    table.add_column("value")
    fmt = lambda s: "-" if math.isnan(s) else f"{s / 60:.1f} min"  # noqa: E731
    reasons = ", ".join(f"{r}: {n}" for r, n in kpis.unserved_reasons.items()) or "-"
    rows = [
        ("incidents", f"{kpis.incidents} ({kpis.served} served, {kpis.late} late)"),
        ("unserved", f"{kpis.unserved} ({reasons})"),
        ("response p50 / p90", f"{fmt(kpis.response_p50)} / {fmt(kpis.response_p90)}"),
        (
            "p90 by priority",
            ", ".join(f"P{p}: {fmt(v)}" for p, v in kpis.response_p90_by_priority.items()) or "-",
        ),
        (
            "within target",
            ", ".join(f"P{p}: {v:.0%}" for p, v in kpis.within_target_by_priority.items()) or "-",
        ),
        (
            "mean utilisation",
            f"{np.mean(kpis.utilisation):.1%}" if kpis.utilisation else "-",
        ),
        (
            "coverage (mean / min)",
            ", ".join(
                f"{t}: {kpis.coverage_mean[t]:.0%} / {kpis.coverage_min[t]:.0%}"
                for t in kpis.coverage_mean
            )
            or "-",
        ),
        (
            "hospital overflow",
            f"{kpis.hospital_overflow} ({kpis.diversions} diverted)"
            if kpis.hospital_overflow is not None
            else f"not computed: {kpis.hospital_note} ({kpis.untransported} patients "
            "not transported)",
        ),
    ]
    for row in rows:
        table.add_row(*row)
    return table


def _check_manifest_options(
    manifest: Path, scenario_file: Path | None, plan_files: list[Path] | None, out: Path | None
) -> None:
    """Refuse options that contradict ``--from-manifest`` (which names the scenario and
    plan) and a missing ``--out`` (a rerun must not overwrite the run it repeats)."""
    clash = "SCENARIO_FILE" if scenario_file is not None else "--plan" if plan_files else None
    if clash:
        raise UserInputError(
            Problem(
                f"--from-manifest gives the scenario and plan; {clash} cannot be given too",
                manifest,
                field=clash,
                fix=f"drop {clash}, or drop --from-manifest",
            )
        )
    if out is None:
        raise UserInputError(
            Problem(
                "a rerun from a manifest needs its own output folder",
                manifest,
                field="--out",
                fix="pass --out FOLDER (not the folder of the run it repeats)",
            )
        )


@app.command("respond")
@user_errors
def respond(
    scenario_file: Annotated[
        Path | None, typer.Argument(help="Scenario file (YAML); or give --from-manifest.")
    ] = None,
    plan_files: Annotated[
        list[Path] | None,
        typer.Option(
            "--plan", metavar="PLAN", help="Plan file (repeatable); default the scenario's plans."
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Run seed; default the scenario's.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder; default <outputs.folder>/response."),
    ] = None,
    link_times: Annotated[
        Path | None,
        typer.Option(
            metavar="CSV", help="Link travel times (u,v,key,travel_time in s); free flow else."
        ),
    ] = None,
    allow_unneeded_units: Annotated[
        bool,
        typer.Option(
            "--allow-unneeded-units", help="Accept units no incident of the scenario needs."
        ),
    ] = False,
    set_: SetOption = None,
    maps: MapsOption = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    threads: ThreadsOption = None,
    csv: CsvOption = None,
    from_manifest: Annotated[
        Path | None,
        typer.Option(
            "--from-manifest",
            metavar="RUN_JSON",
            help="Rerun the scenario, plan and seed a run.json records (needs --out).",
        ),
    ] = None,
) -> None:
    """Run the emergency response model for a scenario and plan(s); print and write KPIs."""
    from twin.atomic import ensure_writable
    from twin.cli.maps_cmds import load_scenario_city
    from twin.coupling.geo_outputs import response_places, write_events_geo
    from twin.coupling.response_setup import build_response, residents_for_rates, run_response
    from twin.engine.run import ProgressBar
    from twin.manifest import load_manifest, pack_hash, write_manifest
    from twin.response.network import CityNetwork, hospitals_of
    from twin.scenario.base import file_name
    from twin.scenario.loader import load_plan, results_folder
    from twin.tables import SERIES, series_tables

    record = None
    if from_manifest is not None:
        _check_manifest_options(from_manifest, scenario_file, plan_files, out)
        record = load_manifest(from_manifest)
        if record.plan is None:
            raise UserInputError(
                Problem(
                    "this manifest records no plan: not a run of twin respond",
                    from_manifest,
                    field="plan",
                    fix="pass the run.json from a plan's folder of a twin respond run",
                )
            )
        scenario, scenario_file = record.scenario, from_manifest
        plans = [(from_manifest, record.plan)]
        seed = record.seed if seed is None else seed
        if link_times is None and record.extra.get("link_times"):
            link_times = Path(record.extra["link_times"])
        allow_unneeded_units |= bool(record.extra.get("allow_unneeded_units"))
    else:
        if scenario_file is None:
            raise UserInputError(
                Problem(
                    "no scenario to run",
                    field="SCENARIO_FILE",
                    fix="pass a scenario file, or --from-manifest run.json",
                )
            )
        scenario = scenario_with(scenario_file, set_)
        paths = list(plan_files or scenario.plans)
        if not paths:
            raise UserInputError(
                Problem("no plan to run", scenario_file, field="plans", fix="pass --plan PLAN.yaml")
            )
        plans = [(path, load_plan(path)) for path in paths]
    scenario = with_csv(scenario, csv)
    folders: dict[str, Path] = {}
    for path, plan in plans:
        other = folders.setdefault(file_name(plan.name), path)
        if other != path:
            raise UserInputError(
                Problem(
                    f"plans {other} and {path} would write to the same folder "
                    f"{file_name(plan.name)!r} (their names differ only in punctuation)",
                    path,
                    field="name",
                    fix="give the plans names that differ in letters or digits",
                )
            )
    base = out if out is not None else results_folder(scenario, scenario_file) / "response"
    use_threads(threads)
    for name in folders:
        ensure_writable(Path(base) / name)  # before the city and the runs, not after them
    pack = load_scenario_city(scenario, maps)
    if record is not None and record.pack_hash != pack_hash(pack):
        err_console.print(
            f"[yellow]warning:[/yellow] the city pack differs from the one the manifest "
            f"records (hash {escape(str(record.pack_hash))[:12]}..., now "
            f"{pack_hash(pack)[:12]}...): results may differ",
            soft_wrap=True,
        )
    net = CityNetwork.from_pack(pack)
    places = response_places(net)
    times = read_link_times(link_times, net.travel.edges) if link_times else None
    if times is not None:
        times = np.where(np.isnan(times), net.travel.free_flow, times)
    duration = scenario.time.duration
    if any(scenario.incidents.background.model_dump().values()):
        residents, source = residents_for_rates(scenario, net)
        console.print(
            f"incident rates scale with {residents:,.0f} residents ({source})", soft_wrap=True
        )
    if not hospitals_of(pack, net):
        err_console.print(
            f"[yellow]warning:[/yellow] the {escape(pack.name)} map has no hospital: patients "
            "who need one stay at the scene and hospital overflow is not computed",
            soft_wrap=True,
        )
    for path, plan in plans:
        started = datetime.now(UTC)
        model = build_response(
            scenario,
            plan,
            pack,
            seed=seed,
            plan_file=path,
            scenario_file=scenario_file,
            network=net,
            allow_unneeded_units=allow_unneeded_units,
        )
        if times is not None:
            model.update_roads(link_times=times)
        bar = ProgressBar(
            f"respond {escape(plan.name)}", console=err_console, enabled=show_progress(progress)
        )
        run_response(model, duration, stops=PROGRESS_STEPS, observers=[bar])
        kpis = model.finish()
        folder = Path(base) / file_name(plan.name)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        if scenario.outputs.events:
            nodes = (places.osm_id, places.lon, places.lat)
            written.append(write_log(model.events, folder / "events.csv", nodes=nodes))
            written.append(
                write_events_geo(folder, model.events, places, start=scenario.time.start)
            )
        tables = series_tables(folder, SERIES["respond"], csv=scenario.outputs.csv)
        written = [f for f in written if f.is_file()] + [t for t in tables if t.suffix != ".csv"]
        if scenario.outputs.kpis:
            written.append(write_json(folder / "kpis.json", kpis.as_dict()))
        written.append(
            write_manifest(
                folder,
                scenario=scenario,
                plan=plan,
                seed=scenario.seed if seed is None else seed,
                command_line=sys.argv,
                pack_hash=pack_hash(pack),
                started=started,
                ended=datetime.now(UTC),
                extra={
                    "command": "respond",
                    "link_times": None if link_times is None else str(link_times.resolve()),
                    "allow_unneeded_units": allow_unneeded_units,
                },
            )
        )
        console.print(_kpi_table(plan.name, kpis))
        if plan.dispatch.policy == "tiered":
            counts = Counter(e.event for e in model.events)
            console.print(
                f"tiered dispatch: {counts['escalate']} escalations, "
                f"{counts['mutual_aid']} units from outside the plan"
            )
        if written:
            console.print(escape("wrote " + " and ".join(str(p) for p in written)), soft_wrap=True)
