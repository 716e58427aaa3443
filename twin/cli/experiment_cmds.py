"""``twin compare`` and ``twin sweep``: replicated plan comparisons (``twin results``, which
reads their files, is in :mod:`twin.cli.results_cmds`).

``compare`` runs every plan on the same seeds (common random numbers), stores each run in
a DuckDB file (``--study``, default ``<outputs.folder>/compare.duckdb``), prints the
verdict and writes an HTML summary beside the file. Rerunning the same command reuses the
finished runs. ``sweep`` does the same over a grid of scenario variants.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from twin.cli import app, console, err_console, user_errors
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

DEFAULT_REPLICATIONS = 10


def parse_precision(text: str, kpi_name: str) -> float:
    """``--precision`` in the primary KPI's unit: durations may carry a unit (``30 s``,
    ``0.5 min``; bare numbers are s), shares and counts are plain numbers.

    Raises
    ------
    UserInputError
        If it is not a positive number of that kind.
    """
    from pydantic_core import PydanticCustomError

    from twin.metrics.kpis import KPIS
    from twin.scenario.quantities import DURATION

    kpi = KPIS[kpi_name]
    try:
        if kpi.unit == "s":
            value = DURATION.parse(float(text) if _is_number(text) else text)
        else:
            value = float(text)
    except (PydanticCustomError, ValueError):
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        example = "30 s" if kpi.unit == "s" else "0.02"
        raise UserInputError(
            Problem(
                f"--precision {text!r} is not a positive {kpi.unit} value for {kpi.label}",
                field="--precision",
                fix=f"give the CI half-width to reach, e.g. --precision '{example}'",
            )
        )
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _objectives(scenario_file: Path, scenario: Any, runner: Any, objective: str | None):
    """Primary KPI and weights, checked against what the runner reports.

    Raises
    ------
    UserInputError
        Unknown KPI, or a primary KPI the model does not report.
    """
    from twin.metrics.kpis import kpi
    from twin.scenario._problems import line_of
    from twin.scenario.loader import read_yaml

    primary = kpi(objective, field="--objective").name if objective else scenario.objectives.primary
    if primary not in runner.kpis:
        where: dict[str, Any] = {"field": "--objective"}
        if not objective:
            tree = read_yaml(scenario_file)
            where = {
                "file": scenario_file,
                "line": line_of(tree, ["objectives", "primary"]),
                "field": "objectives.primary",
            }
        raise UserInputError(
            Problem(
                f"the {runner.name} model does not report {primary!r}, so it cannot rank plans",
                **where,
                fix=f"rank by one it reports: {', '.join(runner.kpis)}",
            )
        )
    weights = dict(scenario.objectives.weights)
    missing = [k for k in weights if k not in runner.kpis]
    if missing:
        err_console.print(
            f"[yellow]note:[/yellow] the {runner.name} model does not report "
            f"{escape(', '.join(missing))}; the weighted score is left out",
            highlight=False,
        )
        weights = {}
    return primary, weights


def _plans(plan_args: list[Path] | None, plan_opts: list[Path] | None, scenario: Any):
    from twin.experiment.study import PlanEntry, check_plan_names
    from twin.scenario.loader import load_plan

    paths = list(plan_opts or []) + list(plan_args or []) or list(scenario.plans)
    if not paths:
        raise UserInputError(
            Problem(
                "no plan to compare",
                field="--plans",
                fix="pass --plans A.yaml B.yaml, or list `plans` in the scenario",
            )
        )
    entries = [PlanEntry.of(load_plan(p), Path(p)) for p in paths]
    check_plan_names(entries)
    return entries


def _baseline(entries: list, baseline: str | None) -> int:
    if baseline is None:
        return 0
    for i, e in enumerate(entries):
        if baseline == e.name or (
            e.file is not None and Path(baseline).resolve() == e.file.resolve()
        ):
            return i
    raise UserInputError(
        Problem(
            f"--baseline {baseline!r} is none of the compared plans",
            field="--baseline",
            fix=f"name one of: {', '.join(e.name for e in entries)}",
        )
    )


def _run(
    study: Any,
    scenario_file: Path,
    study_file: Path | None,
    *,
    replications: int | None,
    precision: str | None,
    workers: int | None,
    scheduler: str | None,
    maps: list[Path] | None,
    progress: bool,
    connect_timeout: float = 10.0,
    threads: int | None = None,
    html: Path | None = None,
):
    """Check, run and store a study; return the open store's path and the progress."""
    from twin.cli._checks import ensure_writable_file
    from twin.cli.maps_cmds import load_scenario_city
    from twin.experiment.driver import check_study, run_study
    from twin.experiment.executors import ClusterLostError, make_executor
    from twin.experiment.runners import get_runner
    from twin.experiment.store import Store
    from twin.metrics.stats import SequentialRule

    scenario = study.variants[0].scenario
    rule = None
    if precision is not None:
        rule = SequentialRule(parse_precision(precision, study.primary), start=replications or 5)
        replications = None
    else:
        replications = replications or scenario.replications or DEFAULT_REPLICATIONS
    folder = Path(scenario.outputs.folder or Path("results") / scenario.name)
    path = study_file or folder / f"{study.kind}.duckdb"
    # unwritable outputs and an unreachable scheduler fail here, before the city is loaded
    ensure_writable_file(path, field="--study" if study_file else "outputs.folder")
    ensure_writable_file(html or path.with_suffix(".html"), field="--html")
    preload = tuple(getattr(get_runner(study.runner), "preload", ()))
    executor = make_executor(
        workers, scheduler, timeout=connect_timeout, preload=preload, threads=threads
    )
    try:
        city = load_scenario_city(scenario, maps)
        prepared = check_study(study, city)
    except BaseException:
        executor.close()
        raise
    with (
        Store(path) as store,
        Progress(
            TextColumn(f"[bold blue]{study.kind}[/bold blue] {{task.description}}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=not progress,
        ) as bar,
    ):
        where = executor.describe()
        task = bar.add_task(where, total=None)
        state: dict[str, Any] = {}

        def show(p) -> None:
            state["p"] = p
            bar.update(
                task,
                total=p.total,
                completed=p.reused + p.done + p.failed,
                description=f"{where}, {p.replications} replications",
            )

        try:
            outcome = run_study(
                study,
                store,
                executor,
                prepared,
                replications=replications,
                rule=rule,
                on_progress=show,
            )
        except (KeyboardInterrupt, ClusterLostError):
            p = state.get("p")
            kept = (p.reused + p.done) if p else 0
            bar.stop()
            err_console.print(
                escape(
                    f"{kept} finished runs are stored in {path}; run the same command again to "
                    "resume (finished runs are reused)"
                ),
                highlight=False,
            )
            raise
    if outcome.reused:
        err_console.print(escape(f"reused {outcome.reused} finished runs from {path}"),
                          highlight=False)  # fmt: skip
    for line in outcome.errors:
        err_console.print(f"[red]failed after a retry:[/red] {escape(line)}", highlight=False)
    return path, outcome


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


def _finish(path: Path, study_id: str, html: Path | None) -> None:
    from twin.experiment.report import summarize, write_html
    from twin.experiment.store import Store

    with Store(path, read_only=True) as store:
        summary = summarize(store, study_id)
    if summary.spec["kind"] == "sweep":
        _print_sweep(summary)
    else:
        _print_summary(summary)
    out = write_html(summary, html or path.with_suffix(".html"))
    console.print(escape(f"study {study_id} in {path}; summary {out}"), highlight=False)


def _study(
    kind: str,
    scenario_file: Path,
    params: list,
    plan_args: list[Path] | None,
    plan_opts: list[Path] | None,
    *,
    model: str,
    objective: str | None,
    seed: int | None,
    baseline: str | None,
    crn: bool = True,
):
    """The study a compare or sweep command describes (variants x plans, objectives)."""
    from twin.experiment.runners import get_runner
    from twin.experiment.study import Study, scenario_variants

    variants = scenario_variants(scenario_file, params)
    scenario = variants[0].scenario
    primary, weights = _objectives(scenario_file, scenario, get_runner(model), objective)
    entries = _plans(plan_args, plan_opts, scenario)
    return Study(
        kind,
        scenario_file,
        variants,
        entries,
        runner=model,
        base_seed=scenario.seed if seed is None else seed,
        crn=crn,
        baseline=_baseline(entries, baseline),
        primary=primary,
        weights=weights,
    )


@app.command("compare")
@user_errors
def compare(
    scenario_file: Annotated[Path, typer.Argument(metavar="SCENARIO", help="Scenario file.")],
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
) -> None:
    """Compare plans on one scenario over replications with common random numbers."""
    study = _study(
        "compare", scenario_file, [], plan_args, plan_opts,
        model=model, objective=objective, seed=seed, baseline=baseline, crn=crn,
    )  # fmt: skip
    path, _ = _run(
        study,
        scenario_file,
        study_file,
        replications=replications,
        precision=precision,
        workers=workers,
        scheduler=scheduler,
        maps=maps,
        progress=progress,
        connect_timeout=connect_timeout,
        threads=threads,
        html=html,
    )
    _finish(path, study.study_id, html)


@app.command("sweep")
@user_errors
def sweep(
    scenario_file: Annotated[Path, typer.Argument(metavar="SCENARIO", help="Scenario file.")],
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
) -> None:
    """Run plans over a grid of scenario variants: which plan wins under which conditions."""
    from twin.experiment.study import parse_param

    if not params:
        raise UserInputError(
            Problem(
                "nothing to sweep",
                field="--param",
                fix="give e.g. --param incidents.background.medical=0.5,1.0",
            )
        )
    study = _study(
        "sweep", scenario_file, [parse_param(p) for p in params], plan_args, plan_opts,
        model=model, objective=objective, seed=seed, baseline=baseline,
    )  # fmt: skip
    path, _ = _run(
        study,
        scenario_file,
        study_file,
        replications=replications,
        precision=None,
        workers=workers,
        scheduler=scheduler,
        maps=maps,
        progress=progress,
        connect_timeout=connect_timeout,
        threads=threads,
        html=html,
    )
    _finish(path, study.study_id, html)
