"""The Python API behind ``twin.run``, ``twin.compare`` and ``twin.sweep`` (and the CLI).

Each verb takes files and plain options, returns plain results and prints nothing; what a
front end shows while it works (progress bars, notes) comes through callbacks. ``twin
compare`` and ``twin sweep`` are these functions plus argument parsing and tables, and a
web app or a notebook calls the same ones::

    import twin

    result = twin.compare("scenarios/monaco_busy_day.yaml", n=5, seed=1)
    result.means("response_time_p90")  # {'baseline': 387.6, 'two_stations': 385.3} (s)

A study is run by :func:`execute`: check the outputs can be written, start the executor,
load the city, let the runner refuse plans that cannot run, run and store every
replication (:func:`twin.experiment.driver.run_study`), then summarise and write the HTML
report.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin.errors import Problem, UserInputError

if TYPE_CHECKING:
    from twin.city.pack import CityPack
    from twin.experiment.driver import StudyProgress
    from twin.experiment.report import StudySummary
    from twin.experiment.runners import RunOutput
    from twin.experiment.study import Study
    from twin.scenario.plan import Plan
    from twin.scenario.schema import Scenario

DEFAULT_REPLICATIONS = 10
"""Replications per plan when neither the call nor the scenario says."""
PRECISION_START = 5
"""First batch of replications under a precision target, unless ``n`` says otherwise."""

CityLoader = Callable[["Scenario"], "CityPack"]
"""Loads the city pack of a validated scenario (the CLI passes one with a progress bar)."""


@dataclass
class StudyResult:
    """What :func:`execute` (``twin.compare``, ``twin.sweep``) returns.

    Attributes
    ----------
    study
        The study that ran.
    path
        Its results database (DuckDB); running the same study again reuses its runs.
    progress
        Counts of this invocation: runs reused, done, failed (with ``errors``).
    summary
        Means, paired differences, ranks and verdicts (:mod:`twin.experiment.report`).
    html
        The HTML summary written beside the database (or where asked).
    manifest
        The study's manifest beside the database (``compare.run.json``,
        :func:`twin.manifest.write_study_manifest`).
    """

    study: Study
    path: Path
    progress: StudyProgress
    summary: StudySummary
    html: Path
    manifest: Path | None = None

    @property
    def study_id(self) -> str:
        """The study's content key in the results database."""
        return self.study.study_id

    def means(self, kpi: str | None = None, variant: int = 0) -> dict[str, float]:
        """Mean of a KPI by plan, in the KPI's SI unit (s for times, a share from 0 to 1).

        Parameters
        ----------
        kpi
            KPI name; default the study's primary KPI.
        variant
            Scenario variant (sweeps; 0 for a comparison).

        Raises
        ------
        UserInputError
            If the study's model does not report ``kpi``.
        """
        name = kpi or self.study.primary
        rows = self.summary.variants[variant].kpis.get(name)
        if rows is None:
            known = ", ".join(self.summary.variants[variant].kpis)
            raise UserInputError(
                Problem(f"the study has no KPI {name!r}", field="kpi", fix=f"use one of: {known}")
            )
        return {row.plan: row.mean.mean for row in rows}


def parse_precision(text: str | float, kpi_name: str) -> float:
    """A precision target in the primary KPI's unit: durations may carry a unit (``30 s``,
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
    text = str(text)
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


def study_path(study: Study, study_file: Path | str | None = None) -> Path:
    """Where a study is stored: ``study_file``, else ``<outputs.folder>/<kind>.duckdb``
    (``outputs.folder`` defaults to ``results/<scenario name>``)."""
    if study_file is not None:
        return Path(study_file)
    scenario = study.variants[0].scenario
    folder = Path(scenario.outputs.folder or Path("results") / scenario.name)
    return folder / f"{study.kind}.duckdb"


def execute(
    study: Study,
    *,
    study_file: Path | str | None = None,
    replications: int | None = None,
    precision: str | float | None = None,
    workers: int | None = None,
    threads: int | None = None,
    scheduler: str | None = None,
    connect_timeout: float = 10.0,
    maps: Sequence[Path | str] | None = None,
    html: Path | str | None = None,
    city_loader: CityLoader | None = None,
    on_start: Callable[[Study, Path, str], None] | None = None,
    on_progress: Callable[[StudyProgress], None] | None = None,
    check_city: Callable[[CityPack], None] | None = None,
) -> StudyResult:
    """Check, run, store and summarise a study.

    Parameters
    ----------
    study
        What to run (:meth:`~twin.experiment.study.Study.from_files`).
    study_file
        Results database; default :func:`study_path`.
    replications
        Replications per plan; default the scenario's, else 10. With ``precision``: the
        first batch (default 5).
    precision
        Add replications until the primary KPI's CI half-width is at most this (in its
        unit; durations may say ``"30 s"``).
    workers, threads
        Local worker processes and the cores they share (default: one per core).
    scheduler, connect_timeout
        A Dask scheduler's address (``tcp://host:port``) instead of local workers, and the
        seconds to wait for it.
    maps
        Folders searched for map files before ``TWIN_MAPS``.
    html
        HTML summary; default beside the database.
    city_loader
        Loads the scenario's city pack; default :func:`load_city`.
    on_start
        Called once the city is loaded and the runs are about to start, with the study,
        the database's path and where the runs go (the executor's description).
    on_progress
        Called after each stored run (:class:`~twin.experiment.driver.StudyProgress`).
    check_city
        Called with the loaded city pack before any run; raises to refuse it (a rerun
        from a manifest refuses a pack of other sources).

    Raises
    ------
    UserInputError
        Unwritable outputs, an unreachable scheduler, a plan the runner refuses; each
        before any replication runs (outputs and the scheduler before the city is loaded).
    KeyboardInterrupt, ClusterLostError
        When stopped: finished runs are stored and the same call resumes.
    """
    from twin.atomic import ensure_writable_file
    from twin.experiment.driver import check_study, run_study
    from twin.experiment.executors import make_executor
    from twin.experiment.report import summarize, write_html
    from twin.experiment.runners import code_version, get_runner
    from twin.experiment.store import Store
    from twin.manifest import pack_hash, study_manifest_path, write_study_manifest
    from twin.metrics.stats import SequentialRule

    started = datetime.now(UTC)
    scenario = study.variants[0].scenario
    rule = None
    if precision is not None:
        target = parse_precision(precision, study.primary)
        rule = SequentialRule(target, start=replications or PRECISION_START)
        replications = None
    else:
        replications = replications or scenario.replications or DEFAULT_REPLICATIONS
    path = study_path(study, study_file)
    html_path = Path(html) if html is not None else path.with_suffix(".html")
    # unwritable outputs and an unreachable scheduler fail here, before the city is loaded
    ensure_writable_file(path, field="--study" if study_file else "outputs.folder")
    ensure_writable_file(html_path, field="--html")
    ensure_writable_file(study_manifest_path(path), field="--study")
    preload = tuple(getattr(get_runner(study.runner), "preload", ()))
    executor = make_executor(
        workers, scheduler, timeout=connect_timeout, preload=preload, threads=threads
    )
    try:
        city = city_loader(scenario) if city_loader else load_city(scenario, maps=maps)
        if check_city is not None:
            check_city(city)
        prepared = check_study(study, city)
    except BaseException:
        executor.close()
        raise
    with Store(path) as store:
        if on_start is not None:
            on_start(study, path, executor.describe())
        progress = run_study(
            study,
            store,
            executor,
            prepared,
            replications=replications,
            rule=rule,
            on_progress=on_progress,
        )
    with Store(path, read_only=True) as store:
        summary = summarize(store, study.study_id)
    write_html(summary, html_path)
    manifest = write_study_manifest(
        path,
        study=study,
        replications=[v.replications for v in summary.variants],
        code_version=code_version(study.runner),
        command_line=sys.argv,
        pack_hash=pack_hash(city) if hasattr(city, "sources") else None,
        started=started,
        ended=datetime.now(UTC),
        html=html_path,
        pack_sources=getattr(city, "sources", None),
    )
    return StudyResult(study, path, progress, summary, html_path, manifest)


def rerun(
    manifest: Path | str,
    *,
    kind: str | None = None,
    study_file: Path | str | None = None,
    **options: Any,
) -> StudyResult:
    """Run the study a manifest (``<study>.run.json``) describes again, into ``study_file``.

    The resolved scenario variants, plans, base seed, common random numbers, runner,
    ranking KPI, weights, baseline and number of complete replications come from the
    manifest (:func:`twin.experiment.manifest.load_study_manifest`); the same seeds give
    the same KPIs, so the summary is the same. Input files and the city pack must be those
    the study read.

    Parameters
    ----------
    manifest
        The study's manifest.
    kind
        ``"compare"`` or ``"sweep"``: refuse a manifest of the other kind; None: either.
    study_file
        Results database of the rerun (required; the study's own reuses its finished runs).
    **options
        Passed to :func:`execute`: ``workers``, ``threads``, ``scheduler``,
        ``connect_timeout``, ``maps``, ``html``, ``city_loader``, ``on_start``,
        ``on_progress``.

    Raises
    ------
    UserInputError
        Not a study's manifest, another kind, a newer format, a missing or changed input
        file or map (naming it), a study with no complete replication.
    """
    from twin.experiment.manifest import check_inputs, check_pack, load_study_manifest
    from twin.experiment.runners import code_version

    if study_file is None:
        raise UserInputError(
            Problem(
                "a rerun from a manifest needs its own results database",
                manifest,
                field="study_file",
                fix="pass study_file='again.duckdb' (the study's own file would reuse its runs)",
            )
        )
    record = load_study_manifest(manifest, kind)
    check_inputs(record)
    if record.replications < 1:
        raise UserInputError(
            Problem(
                "the study finished no replication: there is nothing to reproduce",
                record.path,
                field="study.replications",
                fix="run the study from its scenario file",
            )
        )
    study = record.study
    if record.code_version != code_version(study.runner):
        study.notes = (
            *study.notes,
            f"the {study.runner} model's code or dependency versions differ from the "
            f"study's ({record.code_version}, now {code_version(study.runner)}): every run "
            "is computed again and results may differ",
        )
    return execute(
        study,
        study_file=study_file,
        replications=record.replications,
        check_city=lambda pack: check_pack(record, pack),
        **options,
    )


def _from_manifest(
    kind: str, manifest: Path | str, given: dict[str, Any], options: dict[str, Any]
) -> StudyResult:
    """:func:`rerun` for ``compare``/``sweep(from_manifest=...)``; ``given`` holds the
    study's own arguments, which the manifest gives (None or their default: not given)."""
    for name, value in given.items():
        if value is not None:
            raise UserInputError(
                Problem(
                    f"from_manifest gives the study's {name}; it cannot be given too",
                    manifest,
                    field=name,
                    fix=f"drop {name}, or drop from_manifest",
                )
            )
    return rerun(manifest, kind=kind, **options)


def compare(
    scenario: Path | str | None = None,
    plans: Sequence[Path | str] | None = None,
    *,
    n: int | None = None,
    seed: int | None = None,
    model: str = "response",
    objective: str | None = None,
    baseline: str | None = None,
    crn: bool = True,
    from_manifest: Path | str | None = None,
    **options: Any,
) -> StudyResult:
    """Compare plans on one scenario over ``n`` replications with common random numbers.

    ``twin.compare(from_manifest="compare.run.json", study_file="again.duckdb")`` runs the
    study a manifest (:attr:`StudyResult.manifest`) records again (:func:`rerun`).

    Parameters
    ----------
    scenario
        The scenario file (required unless ``from_manifest``).
    plans
        Plan files; default those the scenario lists.
    n
        Replications per plan; default the scenario's ``replications``, else 10.
    seed
        Base seed of the replication seeds; default the scenario's ``seed``.
    model
        Registered runner name (``"response"`` built in).
    objective
        KPI to rank by; default ``objectives.primary``.
    baseline
        Plan (name or file) differences are taken against; default the first.
    crn
        Common random numbers (the same draws for every plan in a replication).
    from_manifest
        A study's manifest to run again instead (with ``study_file``; then ``scenario``,
        ``plans``, ``n``, ``seed``, ``model``, ``objective``, ``baseline`` and ``crn`` come
        from it and cannot be given).
    **options
        Passed to :func:`execute`: ``study_file``, ``precision``, ``workers``,
        ``threads``, ``scheduler``, ``connect_timeout``, ``maps``, ``html``,
        ``city_loader``, ``on_start``, ``on_progress``.

    Returns
    -------
    StudyResult
        The stored study and its summary.
    """
    from twin.experiment.study import Study

    if from_manifest is not None:
        given = {"scenario": scenario, "plans": plans, "n": n, "seed": seed,
                 "model": None if model == "response" else model, "objective": objective,
                 "baseline": baseline, "crn": None if crn else crn,
                 "precision": options.get("precision")}  # fmt: skip
        return _from_manifest("compare", from_manifest, given, options)
    if scenario is None:
        raise UserInputError(
            Problem("no scenario to compare", field="scenario",
                    fix="pass a scenario file, or from_manifest='compare.run.json'")
        )  # fmt: skip
    study = Study.from_files(
        scenario, plans, kind="compare", model=model, objective=objective, seed=seed,
        baseline=baseline, crn=crn,
    )  # fmt: skip
    return execute(study, replications=n, **options)


def sweep(
    scenario: Path | str | None = None,
    plans: Sequence[Path | str] | None = None,
    *,
    params: Sequence[str | tuple[str, list[Any]]] | dict[str, list[Any]] = (),
    n: int | None = None,
    seed: int | None = None,
    model: str = "response",
    objective: str | None = None,
    baseline: str | None = None,
    from_manifest: Path | str | None = None,
    **options: Any,
) -> StudyResult:
    """Run plans over a grid of scenario variants: which plan wins under which conditions.

    Parameters
    ----------
    scenario, plans, n, seed, model, objective, baseline, from_manifest, **options
        As :func:`compare` (a sweep always uses common random numbers).
    params
        The grid: ``{"incidents.background.medical": [0.5, 1.0]}``, or ``"key=v1,v2"``
        texts; every combination is one variant.

    Raises
    ------
    UserInputError
        If ``params`` is empty, or names no field of the scenario.
    """
    from twin.experiment.study import Study

    if from_manifest is not None:
        given = {"scenario": scenario, "plans": plans, "params": list(params) or None, "n": n,
                 "seed": seed, "model": None if model == "response" else model,
                 "objective": objective, "baseline": baseline}  # fmt: skip
        return _from_manifest("sweep", from_manifest, given, options)
    if scenario is None:
        raise UserInputError(
            Problem("no scenario to sweep", field="scenario",
                    fix="pass a scenario file, or from_manifest='sweep.run.json'")
        )  # fmt: skip
    grid = list(params.items()) if isinstance(params, dict) else list(params)
    if not grid:
        raise UserInputError(
            Problem(
                "nothing to sweep",
                field="--param",
                fix="give e.g. --param incidents.background.medical=0.5,1.0",
            )
        )
    study = Study.from_files(
        scenario, plans, kind="sweep", params=grid, model=model, objective=objective,
        seed=seed, baseline=baseline,
    )  # fmt: skip
    return execute(study, replications=n, **options)


def run(
    scenario: Path | str | Scenario,
    plan: Path | str | Plan | None = None,
    seed: int = 0,
    *,
    model: str = "response",
    city: CityPack | None = None,
    maps: Sequence[Path | str] | None = None,
    series: bool = False,
) -> RunOutput:
    """One run of a registered model: (scenario, plan, seed) -> KPIs.

    The same run as replication ``r`` of a study when ``seed`` is that replication's seed
    (:meth:`~twin.experiment.study.Study.seed`), so its KPIs equal the stored ones.

    Parameters
    ----------
    scenario
        A scenario file or a validated :class:`~twin.scenario.schema.Scenario`.
    plan
        A plan file or a validated plan; default the scenario's first plan.
    seed
        The run seed (0 or more).
    model
        Registered runner name.
    city
        The scenario's city pack, if already loaded (saves loading it again).
    maps
        Folders searched for map files before ``TWIN_MAPS``.
    series
        Also return the model's time series.

    Raises
    ------
    UserInputError
        An invalid file, no plan, an unknown model, a plan the model cannot run.
    """
    from twin.experiment.runners import get_runner
    from twin.scenario.loader import load_plan, load_scenario
    from twin.scenario.schema import Scenario

    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UserInputError(
            Problem(f"seed {seed!r} is not a whole number 0 or more", field="seed",
                    fix="pass seed=0, 1, 2...")
        )  # fmt: skip
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    plan_file: Path | None = None
    if plan is None:
        if not sc.plans:
            raise UserInputError(
                Problem(
                    f"scenario {sc.name!r} lists no plan to run",
                    field="plan",
                    fix="pass plan='plans/x.yaml', or list `plans` in the scenario",
                )
            )
        plan = sc.plans[0]
    if isinstance(plan, str | Path):
        plan_file = Path(plan)
        plan = load_plan(plan_file)
    runner = get_runner(model)
    pack = city if city is not None else load_city(sc, maps=maps)
    prepared = runner.prepare(pack)
    runner.check(sc, plan, plan_file, prepared)
    return runner.run(sc, plan, seed, prepared, series=series)


def load_city(
    source: str | Path | Scenario, *, maps: Sequence[Path | str] | None = None, **options: Any
) -> CityPack:
    """The city pack of a catalogue name (``"monaco"``), an OSM file, or a scenario.

    Built from OpenStreetMap and terrain on first use and cached (``TWIN_CACHE_DIR``); a
    scenario's city comes with its own terrain options. ``options`` go to
    :func:`twin.city.load.load_city` (``dem``, ``flat``, ``resolution``, ``on_step``...).
    """
    from twin.city.load import load_city as _load
    from twin.scenario.schema import Scenario

    if isinstance(source, Scenario):
        from twin.coupling.city_setup import city_source

        where, scenario_options = city_source(source)
        options = {**scenario_options, **options}
        source = where
    return _load(str(source), maps=maps, **options)
