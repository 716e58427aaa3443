"""``twin compare`` and ``twin sweep``: replicated plan comparisons (``twin results``, which
reads their files, is in :mod:`twin.cli.results_cmds`). They parse options, call
:func:`twin.compare` / :func:`twin.sweep` (:mod:`twin.experiment.api`) and print.

``compare`` runs every plan on the same seeds (common random numbers), stores each run in
a DuckDB file (``--study``, default ``<outputs.folder>/compare.duckdb``), prints the
verdict and writes an HTML summary beside the file. Rerunning the same command reuses the
finished runs. ``sweep`` does the same over a grid of scenario variants.

``--from-manifest <study>.run.json --study NEW.duckdb`` runs the study a manifest
describes again (:func:`twin.experiment.api.rerun`): the same scenario, plans, seeds and
replications, so the same KPIs and summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from twin.cli import app, console, err_console, user_errors
from twin.cli._options import STATE, show_progress
from twin.cli.maps_cmds import MapsOption
from twin.errors import Problem, UserInputError

PlanArgs = Annotated[
    list[Path] | None,
    typer.Argument(metavar="[PLANS]...", help="Plan files (after --plans), or use --plan."),
]
PlansFlag = Annotated[
    bool, typer.Option("--plans", help="Marks the files that follow as plans (optional).")
]
PlanOption = Annotated[
    list[Path] | None, typer.Option("--plan", metavar="PLAN", help="A plan file (repeatable).")
]
Replications = Annotated[
    int | None,
    typer.Option(
        "--replications",
        "-n",
        min=1,
        help="Replications per plan; default the scenario's, else 10 (with --precision: "
        "the first batch, default 5).",
    ),
]
StudyOption = Annotated[
    Path | None,
    typer.Option(
        "--study",
        metavar="FILE.duckdb",
        help="Results database; default <outputs.folder>/<command>.duckdb.",
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers", "-j", min=1, help="Local worker processes; default one per --threads core."
    ),
]
Threads = Annotated[
    int | None,
    typer.Option(
        "--threads",
        min=1,
        help="Cores the local workers may use together (each gets its share of numba and "
        "BLAS threads); default TWIN_THREADS, else the CPUs this process may use.",
    ),
]
Scheduler = Annotated[
    str | None,
    typer.Option(metavar="tcp://HOST:PORT", help="Run on this Dask scheduler's workers."),
]
ConnectTimeout = Annotated[
    float, typer.Option(min=0.1, help="Seconds to wait for the Dask scheduler and a worker.")
]
Seed = Annotated[int | None, typer.Option(help="Base seed; default the scenario's.")]
Objective = Annotated[
    str | None, typer.Option(metavar="KPI", help="Rank by this KPI instead of objectives.primary.")
]
Baseline = Annotated[
    str | None,
    typer.Option(
        metavar="PLAN", help="Plan (name or file) differences are taken against; default the first."
    ),
]
Crn = Annotated[
    bool, typer.Option("--crn/--no-crn", help="Common random numbers (same draws for every plan).")
]
Model = Annotated[str, typer.Option(help="Which model runs a replication.")]
ProgressFlag = Annotated[bool, typer.Option(help="Show a progress bar.")]
HtmlOption = Annotated[Path | None, typer.Option(help="HTML summary; default beside --study.")]
FromManifest = Annotated[
    Path | None,
    typer.Option(
        "--from-manifest",
        metavar="STUDY.run.json",
        help="Run the study this manifest records again (its scenario, plans, seeds and "
        "replications; needs --study).",
    ),
]
ScenarioArg = Annotated[
    Path | None,
    typer.Argument(metavar="SCENARIO", help="Scenario file; or give --from-manifest."),
]

#: What --from-manifest gives, as (option, the parameter's default).
_MANIFEST_GIVES = {
    "SCENARIO": ("scenario_file", None),
    "--plan/--plans": ("plans", None),
    "--replications": ("n", None),
    "--precision": ("precision", None),
    "--seed": ("seed", None),
    "--objective": ("objective", None),
    "--baseline": ("baseline", None),
    "--no-crn": ("crn", True),
    "--param": ("params", []),
    "--model": ("model", "response"),
}


def _check_manifest_options(kind: str, manifest: Path | None, given: dict[str, Any]) -> None:
    """Without --from-manifest a scenario is needed; with it, the study's own options
    cannot be given too, and the rerun needs its own --study."""
    if manifest is None:
        if given["scenario_file"] is None:
            raise UserInputError(
                Problem("no scenario to run", field="SCENARIO",
                        fix=f"pass a scenario file, or --from-manifest {kind}.run.json")
            )  # fmt: skip
        return
    for option, (name, default) in _MANIFEST_GIVES.items():
        if name in given and given[name] not in (default, None):
            raise UserInputError(
                Problem(
                    f"--from-manifest gives the study's {option}; it cannot be given too",
                    manifest,
                    field=option,
                    fix=f"drop {option}, or drop --from-manifest",
                )
            )
    if given.get("study_file") is None:
        raise UserInputError(
            Problem(
                "a rerun from a manifest needs its own results database",
                manifest,
                field="--study",
                fix="pass --study NEW.duckdb (the study's own file would reuse its runs)",
            )
        )


def _run(kind: str, scenario_file: Path | None, plans: list[Path] | None, *, maps,
         progress: bool, from_manifest: Path | None = None, **options: Any):  # fmt: skip
    """Run ``twin.compare`` or ``twin.sweep`` (of a scenario, or of a study's manifest)
    with a progress bar; print what it reports."""
    import twin
    from twin.cli.maps_cmds import load_scenario_city
    from twin.experiment.executors import ClusterLostError

    bar = Progress(
        TextColumn(f"[bold blue]{kind}[/bold blue] {{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not show_progress(progress),
    )
    state: dict[str, Any] = {}

    def start(study: Any, path: Path, where: str) -> None:
        for note in () if STATE.quiet else study.notes:
            err_console.print(f"[yellow]note:[/yellow] {escape(note)}", highlight=False)
        state.update(path=path, where=where)
        bar.start()
        state["task"] = bar.add_task(where, total=None)

    def show(p: Any) -> None:
        state["p"] = p
        bar.update(
            state["task"],
            total=p.total,
            completed=p.reused + p.done + p.failed,
            description=f"{state['where']}, {p.replications} replications",
        )

    _check_manifest_options(kind, from_manifest, {"scenario_file": scenario_file,
                                                  "plans": plans, **options})  # fmt: skip
    verb = twin.compare if kind == "compare" else twin.sweep
    try:
        result = verb(
            scenario_file,
            plans,
            from_manifest=from_manifest,
            maps=maps,
            city_loader=lambda scenario: load_scenario_city(scenario, maps),
            on_start=start,
            on_progress=show,
            **options,
        )
    except (KeyboardInterrupt, ClusterLostError):
        bar.stop()
        if "path" in state:
            p = state.get("p")
            kept = (p.reused + p.done) if p else 0
            err_console.print(
                escape(
                    f"{kept} finished runs are stored in {state['path']}; run the same command "
                    "again to resume (finished runs are reused)"
                ),
                highlight=False,
            )
        raise
    finally:
        bar.stop()
    if result.progress.reused and not STATE.quiet:
        err_console.print(escape(f"reused {result.progress.reused} finished runs from "
                                 f"{result.path}"), highlight=False)  # fmt: skip
    for line in result.progress.errors:
        err_console.print(f"[red]failed after a retry:[/red] {escape(line)}", highlight=False)
    _show(result.summary, result.path, result.study_id, result.html)
    console.print(escape(f"manifest {result.manifest}"), highlight=False, soft_wrap=True)
    p = result.progress
    if p.failed and not (p.done + p.reused):
        err_console.print(
            escape(f"every run failed ({p.failed} of {p.total}): no plan could be compared"),
            highlight=False,
        )
        raise typer.Exit(1)
    return result


def _plan_files(plan_args: list[Path] | None, plan_opts: list[Path] | None) -> list[Path] | None:
    """Plan files given with --plan, then after --plans; ``None``: the scenario's."""
    return list(plan_opts or []) + list(plan_args or []) or None


def _plain(row: Any) -> list[str]:
    """Table cells shown as written (plan names like ``depot [temporary]`` are no markup)."""
    return [escape(str(cell)) for cell in row]


def _print_summary(summary: Any) -> None:
    from twin.experiment.report import VERDICT_HEADER, kpi_rows, label, verdict_rows

    spec = summary.spec
    for v, variant in enumerate(summary.variants):
        title = (
            f"{label(summary.primary)}: {variant.replications} replications, "
            f"{100 * summary.level:.0f} % CI"
        )
        if spec["kind"] == "sweep":
            title = f"{variant.label}: {title}"
        table = Table(title=escape(title), title_justify="left")
        for h in VERDICT_HEADER:
            table.add_column(h, justify="left" if h == "plan" else "right")
        for row in verdict_rows(summary, v):
            table.add_row(*_plain(row))
        console.print(table)
        if spec["kind"] == "compare":
            kt = Table(
                title=escape(f"All KPIs (baseline {spec['baseline']}: mean; others: Δ [CI])"),
                title_justify="left",
            )
            kt.add_column("KPI")
            for p in summary.plans:
                kt.add_column(escape(p), justify="right")
            for row in kpi_rows(summary, v):
                kt.add_row(*_plain(row))
            console.print(kt)
        for line in variant.verdict:
            console.print(f"[bold]{escape(line)}[/bold]")
    console.print(escape(summary.method), highlight=False)
    if summary.formula:
        console.print(escape(f"{summary.formula} (lower is better)"), highlight=False)


def _print_sweep(summary: Any) -> None:
    from twin.experiment.report import label, sweep_rows, wins

    table = Table(title=f"Sweep: mean {label(summary.primary)} by variant", title_justify="left")
    for h in ["variant", *summary.plans, "winner", "P(best)", "n"]:
        # labels are long dotted keys without spaces: fold them rather than cut them
        table.add_column(
            escape(h), justify="left" if h in ("variant", "winner") else "right", overflow="fold"
        )
    for row in sweep_rows(summary):
        table.add_row(*_plain(row))
    console.print(table)
    console.print(escape("wins: " + ", ".join(f"{p} {n}" for p, n in wins(summary).items())))


def _show(summary: Any, path: Path, study_id: str, html: Path) -> None:
    """Print a study's tables and where its files are."""
    if summary.spec["kind"] == "sweep":
        _print_sweep(summary)
    else:
        _print_summary(summary)
    console.print(
        escape(f"study {study_id} in {path}; summary {html}"), highlight=False, soft_wrap=True
    )


def _finish(path: Path, study_id: str, html: Path | None) -> None:
    """Summarise a stored study, print it and write its HTML summary (``twin results``)."""
    from twin.experiment.report import summarize, write_html
    from twin.experiment.store import Store

    with Store(path, read_only=True) as store:
        summary = summarize(store, study_id)
    out = write_html(summary, html or path.with_suffix(".html"))
    _show(summary, path, study_id, out)


@app.command("compare")
@user_errors
def compare(
    scenario_file: ScenarioArg = None,
    plan_args: PlanArgs = None,
    plans_flag: PlansFlag = False,
    plan_opts: PlanOption = None,
    replications: Replications = None,
    precision: Annotated[
        str | None,
        typer.Option(
            metavar="X",
            help="Add replications until the primary KPI's CI "
            "half-width is at most X (durations: '30 s', '0.5 min').",
        ),
    ] = None,
    baseline: Baseline = None,
    study_file: StudyOption = None,
    workers: Workers = None,
    threads: Threads = None,
    scheduler: Scheduler = None,
    connect_timeout: ConnectTimeout = 10.0,
    seed: Seed = None,
    objective: Objective = None,
    crn: Crn = True,
    model: Model = "response",
    html: HtmlOption = None,
    maps: MapsOption = None,
    progress: ProgressFlag = True,
    report: Annotated[
        bool, typer.Option(help="Write <study>_report.html beside the study (with viz installed).")
    ] = True,
    from_manifest: FromManifest = None,
) -> None:
    """Compare plans on one scenario over replications with common random numbers."""
    result = _run(
        "compare", scenario_file, _plan_files(plan_args, plan_opts), maps=maps,
        progress=progress, from_manifest=from_manifest, n=replications, seed=seed,
        model=model, objective=objective,
        baseline=baseline, crn=crn, study_file=study_file, precision=precision,
        workers=workers, threads=threads, scheduler=scheduler,
        connect_timeout=connect_timeout, html=html,
    )  # fmt: skip
    if report:
        from twin.cli.run_cmds import after_run_report

        after_run_report("compare", result.path, study_id=result.study_id)


@app.command("sweep")
@user_errors
def sweep(
    scenario_file: ScenarioArg = None,
    plan_args: PlanArgs = None,
    params: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            metavar="KEY=V1,V2",
            help="A scenario field and its values "
            "(dotted path; list items by index, kind or name); repeatable.",
        ),
    ] = None,
    plans_flag: PlansFlag = False,
    plan_opts: PlanOption = None,
    replications: Replications = None,
    baseline: Baseline = None,
    study_file: StudyOption = None,
    workers: Workers = None,
    threads: Threads = None,
    scheduler: Scheduler = None,
    connect_timeout: ConnectTimeout = 10.0,
    seed: Seed = None,
    objective: Objective = None,
    model: Model = "response",
    html: HtmlOption = None,
    maps: MapsOption = None,
    progress: ProgressFlag = True,
    from_manifest: FromManifest = None,
) -> None:
    """Run plans over a grid of scenario variants: which plan wins under which conditions."""
    _run(
        "sweep", scenario_file, _plan_files(plan_args, plan_opts), maps=maps,
        progress=progress, from_manifest=from_manifest, params=list(params or []),
        n=replications, seed=seed,
        model=model, objective=objective, baseline=baseline, study_file=study_file,
        workers=workers, threads=threads, scheduler=scheduler,
        connect_timeout=connect_timeout, html=html,
    )  # fmt: skip
