"""`twin run`: one coupled run of the city twin (flood, traffic, crowd, response)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from twin.cli import app, console, user_errors
from twin.cli._options import CsvOption, SetOption, show_progress
from twin.errors import Problem, UserInputError

if TYPE_CHECKING:
    from twin.scenario.plan import Plan
    from twin.scenario.schema import Scenario


def _seconds(text: str | None, option: str) -> float | None:
    """A duration option (``30min``, ``1 h``, ``1800``) in seconds (the shared parser)."""
    from twin.cli._options import seconds

    return seconds(text, option)


def after_run_report(kind: str, target: Path, **details) -> list[Path]:
    """Call the installed after-run hooks (:func:`twin.plugins.after_run`; viz writes the
    HTML report), print what each wrote, or its error as a warning; return the files."""
    from rich.markup import escape

    from twin.cli import err_console
    from twin.plugins import after_run

    written = []
    for name, path, error in after_run(kind, target, **details):
        if error:
            err_console.print(f"[yellow]warning:[/yellow] no {name}: {escape(error)}")
        elif path is not None:
            console.print(f"wrote {name} {escape(str(path))}", highlight=False)
            written.append(Path(path))
    return written


@contextmanager
def vitals_bar(twin, *, enabled: bool = True):
    """A progress bar on stderr with the clock and key vital signs; yields ``tick()``."""
    import sys

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("[bold blue]twin"),
        BarColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=Console(file=sys.stderr),
        disable=not enabled,
        transient=True,
    )
    task = bar.add_task("run", total=twin.until, completed=twin.now, info="")

    def tick() -> None:
        v = twin.vitals
        info = (
            f"t={twin.now / 60:.0f} min  depth {v['max_depth_m']:.2f} m  "
            f"closed {v['km_closed_cars']:.1f} km  speed {v['network_speed_index']:.2f}  "
            f"in hazard {v['people_in_hazard']:.0f}  warning {v['warning_level']:.0f}"
        )
        bar.update(task, completed=twin.now, info=info)

    with bar:
        yield tick


def _from_manifest(
    manifest: Path,
    scenario_file: Path | None,
    plan_file: Path | None,
    set_: list[str] | None,
    out: Path | None,
    seed: int | None,
    end: float | None,
) -> tuple[Scenario, Plan, int | None, float | None]:
    """The scenario, plan, seed and end time (s) a ``twin run``'s ``run.json`` records
    (``--seed`` and ``--until`` given now win); refuses options the manifest gives and a
    missing ``--out`` (a rerun must not overwrite the run it repeats)."""
    from twin.manifest import load_manifest

    clash = ("SCENARIO_FILE" if scenario_file is not None else "--plan" if plan_file
             else "--set" if set_ else None)  # fmt: skip
    if clash:
        raise UserInputError(
            Problem(f"--from-manifest gives the scenario and plan; {clash} cannot be given too",
                    manifest, field=clash, fix=f"drop {clash}, or drop --from-manifest")
        )  # fmt: skip
    if out is None:
        raise UserInputError(
            Problem("a rerun from a manifest needs its own output folder", manifest,
                    field="--out", fix="pass --out FOLDER (not the folder of the run it repeats)")
        )  # fmt: skip
    record = load_manifest(manifest)
    if record.plan is None or "until_s" not in record.extra:
        raise UserInputError(
            Problem("not the manifest of a twin run (no plan or end time)", manifest,
                    field="extra.until_s", fix="pass the run.json from a twin run's folder")
        )  # fmt: skip
    seed = record.seed if seed is None else seed
    return (
        record.scenario,
        record.plan,
        seed,
        float(record.extra["until_s"]) if end is None else end,
    )


@app.command("run")
@user_errors
def run_command(
    scenario_file: Annotated[
        Path | None, typer.Argument(help="Scenario file (YAML); or give --from-manifest.")
    ] = None,
    plan_file: Annotated[
        Path | None, typer.Option("--plan", help="Plan file; default the scenario's first.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Run seed; default the scenario's.")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder; default <outputs.folder>/run.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="End of the run (e.g. 2h); default the scenario's.")
    ] = None,
    resolution: Annotated[
        float | None, typer.Option(help="Terrain and flood cell size (m); default the scenario's.")
    ] = None,
    checkpoint_at: Annotated[
        str | None,
        typer.Option("--checkpoint-at", help="Write <out>/checkpoint.npz at this time (30min)."),
    ] = None,
    resume: Annotated[
        Path | None, typer.Option(help="Continue from a checkpoint file of the same run.")
    ] = None,
    reuse_flood: Annotated[
        bool, typer.Option(help="Reuse a recorded flood of the same inputs (TWIN_CACHE_DIR).")
    ] = True,
    progress: Annotated[bool, typer.Option(help="Show the progress bar.")] = True,
    report: Annotated[
        bool, typer.Option(help="Write report.html into the output folder (with viz installed).")
    ] = True,
    set_: SetOption = None,
    csv: CsvOption = None,
    from_manifest: Annotated[
        Path | None,
        typer.Option(
            "--from-manifest",
            metavar="RUN_JSON",
            help="Rerun the scenario, plan, seed and end time a twin run's run.json records "
            "(needs --out).",
        ),
    ] = None,
) -> None:
    """Run the coupled twin and write KPIs, vital signs and events (Parquet, and CSV unless
    --no-csv or outputs.csv: false), flood maps, render snapshots (depth.tif, speed.tif),
    CAP warnings and run.json (the run's manifest)."""
    from datetime import UTC, datetime

    from rich.table import Table

    from twin.atomic import ensure_writable
    from twin.cli._options import scenario_with, with_csv
    from twin.manifest import record_run
    from twin.model import CityTwin, write_outputs
    from twin.settings import cache_dir

    started = datetime.now(UTC)
    end = _seconds(until, "--until")
    at = _seconds(checkpoint_at, "--checkpoint-at")
    plan: Path | Plan | None = plan_file
    if from_manifest is not None:
        sc, plan, seed, end = _from_manifest(from_manifest, scenario_file, plan_file, set_,
                                             out, seed, end)  # fmt: skip
    elif scenario_file is None:
        raise UserInputError(
            Problem("no scenario to run", field="SCENARIO_FILE",
                    fix="pass a scenario file, or --from-manifest run.json")
        )  # fmt: skip
    else:
        sc = scenario_with(scenario_file, set_)
    sc = with_csv(sc, csv)
    folder = out if out is not None else Path(sc.outputs.folder) / "run"
    ensure_writable(folder)
    twin = CityTwin.from_files(
        sc,
        plan,
        seed=seed,
        resolution=resolution,
        flood_cache=cache_dir() if reuse_flood else None,
        until=end,
    )
    if resume is not None:
        twin.restore(resume)
    if at is not None and not twin.now < at < twin.until:
        raise UserInputError(
            Problem(f"--checkpoint-at {at:g} s is not inside the run ({twin.now:g}-"
                    f"{twin.until:g} s)", field="--checkpoint-at", fix="give an earlier time")
        )  # fmt: skip
    with vitals_bar(twin, enabled=show_progress(progress)) as tick:
        while not twin.done:
            twin.step()
            tick()
            if at is not None and twin.now >= at - 1e-9:
                twin.checkpoint(folder / "checkpoint.npz")
                at = None
    twin.finish()
    kpis = twin.kpis()
    files = write_outputs(twin, folder)
    extra = {
        "until_s": twin.until,
        "resolution_m": twin.parts.scenario.city.resolution,
        "set": set_ or [],
        "from_manifest": None if from_manifest is None else str(from_manifest),
        "resumed_from": None if resume is None else str(resume),
        "flood": type(twin.parts.flood).__name__ if twin.parts.flood is not None else None,
    }
    p = twin.parts
    files.append(
        record_run(
            folder, scenario=p.scenario, plan=p.plan, seed=p.seed, pack=p.pack,
            started=started, extra=extra,
        )
    )  # fmt: skip
    table = Table(title=f"{sc.name} / {twin.parts.plan.name}, seed {twin.parts.seed}")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for name, value in kpis.items():
        table.add_row(name, f"{value:.4g}")
    console.print(table)
    console.print(f"{len(files)} files in {folder}", highlight=False)
    if report:
        after_run_report("run", folder, city=sc.city.name, resolution=p.scenario.city.resolution)
