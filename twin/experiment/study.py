"""What a study is: scenario variants x plans x replications, and the runs it needs.

A study is identified by its content (model, scenario variants, plans, base seed, whether
common random numbers are on), not by a name: running the same command again finds the
same study in the results file and reuses its finished runs. The number of replications is
not part of the identity, so asking for more extends a study.

A run is identified by (model, code version, scenario hash, plan hash, seed): the same run
requested by two studies in one file is computed once.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError
from ruamel.yaml import YAML

from twin.errors import Problem, ScenarioError, UserInputError
from twin.experiment.seeds import replication_seed
from twin.scenario.plan import Plan
from twin.scenario.schema import Scenario


def content_hash(data: Any) -> str:
    """First 16 hex digits of the SHA-256 of ``data`` as canonical JSON."""
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PlanEntry:
    """A plan of a study.

    Attributes
    ----------
    name
        The plan's name (unique within the study).
    plan
        The validated plan.
    file
        Its file, for messages.
    hash
        Content hash of the validated plan.
    """

    name: str
    plan: Plan
    file: Path | None
    hash: str

    @classmethod
    def of(cls, plan: Plan, file: Path | None = None) -> PlanEntry:
        """Entry of a validated plan."""
        return cls(plan.name, plan, file, content_hash(plan.model_dump(mode="json")))


@dataclass(frozen=True)
class Variant:
    """One scenario variant of a sweep (the scenario itself in a comparison).

    Attributes
    ----------
    label
        ``key=value, ...`` of the swept parameters, or ``"scenario"``.
    params
        Swept parameter values by dotted key.
    scenario
        The validated variant.
    hash
        Content hash of the validated variant.
    """

    label: str
    params: dict[str, Any]
    scenario: Scenario
    hash: str

    @classmethod
    def of(cls, scenario: Scenario, params: dict[str, Any] | None = None) -> Variant:
        """Variant of a validated scenario."""
        params = dict(params or {})
        label = ", ".join(f"{k}={v}" for k, v in params.items()) or "scenario"
        return cls(label, params, scenario, content_hash(scenario.model_dump(mode="json")))


@dataclass(frozen=True)
class RunTask:
    """One replication to compute: what a worker receives.

    Attributes
    ----------
    run_id
        Content key of the run (see module docstring).
    runner
        Registered runner name.
    variant, plan
        Indices into the study's variants and plans.
    replication
        Replication index (0-based).
    seed
        Run seed.
    scenario, plan_model
        The validated scenario variant and plan.
    series
        Whether to return time series.
    """

    run_id: str
    runner: str
    variant: int
    plan: int
    replication: int
    seed: int
    scenario: Scenario
    plan_model: Plan
    series: bool = True


@dataclass
class Study:
    """Scenario variants x plans, replicated with common random numbers.

    Attributes
    ----------
    kind
        ``"compare"`` or ``"sweep"``.
    scenario_file
        The scenario file the variants come from.
    variants, plans
        What is crossed.
    runner
        Registered runner name.
    base_seed
        Seed of replication seeds (the scenario's ``seed`` unless overridden).
    crn
        Common random numbers: the same seed for every plan in a replication.
    baseline
        Index of the plan differences are taken against.
    primary
        KPI plans are ranked by.
    weights
        Weights of the combined score, in seconds of score per unit of each KPI's stored
        value (:meth:`~twin.scenario.options.Objectives.score_weights`); empty: no score.
    series
        Whether runs store time series.
    """

    kind: Literal["compare", "sweep"]
    scenario_file: Path
    variants: list[Variant]
    plans: list[PlanEntry]
    runner: str = "response"
    base_seed: int = 0
    crn: bool = True
    baseline: int = 0
    primary: str = "response_time_p90"
    weights: dict[str, float] = field(default_factory=dict)
    series: bool = True
    notes: tuple[str, ...] = ()
    """What the user should know about how the study was set up (e.g. weights left out);
    not part of the study's identity."""

    @classmethod
    def from_files(
        cls,
        scenario: Path | str,
        plans: Sequence[Path | str] | None = None,
        *,
        kind: Literal["compare", "sweep"] = "compare",
        params: Sequence[tuple[str, list[Any]] | str] = (),
        model: str = "response",
        objective: str | None = None,
        seed: int | None = None,
        baseline: str | None = None,
        crn: bool = True,
    ) -> Study:
        """The study a scenario file, plan files and options describe.

        Parameters
        ----------
        scenario
            The scenario file.
        plans
            Plan files; default those the scenario lists under ``plans``.
        kind
            ``"compare"`` (one scenario) or ``"sweep"`` (a grid of variants of it).
        params
            Swept parameters, as ``"key=v1,v2"`` text or ``(dotted key, values)``.
        model
            Registered runner name (see :func:`twin.experiment.runners.registered`).
        objective
            KPI plans are ranked by; default the scenario's ``objectives.primary``.
        seed
            Base seed; default the scenario's ``seed``.
        baseline
            Plan (its name or file) differences are taken against; default the first.
        crn
            Common random numbers (the same seeds for every plan).

        Raises
        ------
        UserInputError
            With file, line and field: an invalid scenario or plan, no plan, two plans of
            one name, an unknown or unreported KPI, an unknown model or baseline.
        """
        from twin.experiment.runners import get_runner

        swept = [parse_param(p) if isinstance(p, str) else p for p in params]
        variants = scenario_variants(Path(scenario), swept)
        base = variants[0].scenario
        runner = get_runner(model)
        primary, weights, notes = study_objectives(base, runner, objective)
        entries = plan_entries(plans, base)
        return cls(
            kind,
            Path(scenario),
            variants,
            entries,
            runner=model,
            base_seed=base.seed if seed is None else seed,
            crn=crn,
            baseline=baseline_index(entries, baseline),
            primary=primary,
            weights=weights,
            notes=tuple(notes),
        )

    @property
    def study_id(self) -> str:
        """Content key of the study (replication count and presentation excluded)."""
        return content_hash(
            {
                "kind": self.kind,
                "runner": self.runner,
                "variants": [v.hash for v in self.variants],
                "plans": [p.hash for p in self.plans],
                "seed": self.base_seed,
                "crn": self.crn,
            }
        )

    @property
    def name(self) -> str:
        """``<scenario name>: <plan> vs <plan> ...``."""
        plans = " vs ".join(p.name for p in self.plans)
        return f"{self.variants[0].scenario.name}: {plans}"

    def seed(self, replication: int, plan: int) -> int:
        """Run seed of a replication of a plan (the same for every plan under CRN)."""
        key = None if self.crn else self.plans[plan].hash
        return replication_seed(self.base_seed, replication, plan_key=key)

    def tasks(self, replications: range, code: str) -> list[RunTask]:
        """Every run of the given replications, replication-major (so a partial study holds
        whole replications of every plan as far as possible)."""
        tasks = []
        for r in replications:
            for v, variant in enumerate(self.variants):
                for p, entry in enumerate(self.plans):
                    seed = self.seed(r, p)
                    run_id = content_hash([self.runner, code, variant.hash, entry.hash, seed])
                    tasks.append(
                        RunTask(
                            run_id,
                            self.runner,
                            v,
                            p,
                            r,
                            seed,
                            variant.scenario,
                            entry.plan,
                            self.series,
                        )
                    )
        return tasks

    def spec(self) -> dict[str, Any]:
        """What the study is, as JSON-able data (stored with it)."""
        return {
            "kind": self.kind,
            "scenario_file": str(self.scenario_file),
            "runner": self.runner,
            "seed": self.base_seed,
            "crn": self.crn,
            "baseline": self.plans[self.baseline].name,
            "primary": self.primary,
            "weights": self.weights,
            "plans": [{"name": p.name, "hash": p.hash, "file": str(p.file)} for p in self.plans],
            "variants": [
                {"label": v.label, "hash": v.hash, "params": v.params} for v in self.variants
            ],
        }


def study_objectives(
    scenario: Scenario, runner: Any, objective: str | None = None
) -> tuple[str, dict[str, float], list[str]]:
    """Primary KPI and weights of a study, checked against what the runner reports.

    Parameters
    ----------
    scenario
        The validated scenario (its ``objectives``).
    runner
        The :class:`~twin.experiment.runners.Runner` (its ``name`` and ``kpis``).
    objective
        A KPI chosen instead of ``objectives.primary``.

    Returns
    -------
    tuple
        ``(primary, weights, notes)``: weights in seconds of score per KPI unit; they are
        dropped (with a note) when the runner does not report every weighted KPI; old
        unit-less weights add a deprecation note.

    Raises
    ------
    UserInputError
        An unknown KPI, or a primary KPI the runner does not report (naming the scenario's
        line when the scenario chose it).
    """
    from twin.metrics.kpis import kpi
    from twin.scenario.problems import problem_at

    primary = kpi(objective, field="--objective").name if objective else scenario.objectives.primary
    if primary not in runner.kpis:
        message = f"the {runner.name} model does not report {primary!r}, so it cannot rank plans"
        fix = f"rank by one it reports: {', '.join(runner.kpis)}"
        if objective:
            problem = Problem(message, field="--objective", fix=fix)
        else:
            problem = problem_at(scenario, ["objectives", "primary"], message, fix)
        raise UserInputError(problem)
    weights = scenario.objectives.score_weights()
    notes = scenario.objectives.weight_notes()
    missing = [k for k in weights if k not in runner.kpis]
    if missing:
        notes.append(
            f"the {runner.name} model does not report {', '.join(missing)}; the weighted "
            "score is left out"
        )
        weights = {}
    return primary, weights, notes


def plan_entries(plans: Sequence[Path | str] | None, scenario: Scenario) -> list[PlanEntry]:
    """Load the plans of a study: the files given, else those the scenario lists.

    Raises
    ------
    UserInputError
        If there is no plan, a plan file is invalid, or two plans share a name.
    """
    from twin.scenario.loader import load_plan

    paths = [Path(p) for p in plans or []] or list(scenario.plans)
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


def baseline_index(entries: list[PlanEntry], baseline: str | None) -> int:
    """Index of the plan named ``baseline`` (its name or file); 0 when ``None``.

    Raises
    ------
    UserInputError
        If no compared plan has that name or file.
    """
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


def check_plan_names(plans: list[PlanEntry]) -> None:
    """Plans of a study need distinct names (tables and the store key by them).

    Raises
    ------
    UserInputError
        Naming both files.
    """
    seen: dict[str, PlanEntry] = {}
    for entry in plans:
        if entry.name in seen:
            raise UserInputError(
                Problem(
                    f"plan name {entry.name!r} is also the name of {seen[entry.name].file}",
                    entry.file,
                    field="name",
                    fix="give each compared plan its own `name`",
                )
            )
        seen[entry.name] = entry


def parse_param(text: str) -> tuple[str, list[Any]]:
    """``key=v1,v2,...`` -> (dotted key, values read as YAML scalars).

    Raises
    ------
    UserInputError
        If there is no ``=`` or no value.
    """
    key, eq, values = text.partition("=")
    key = key.strip()
    items = [v.strip() for v in values.split(",") if v.strip()]
    if not eq or not key or not items:
        raise UserInputError(
            Problem(
                f"cannot read --param {text!r}",
                field="--param",
                fix="write KEY=V1,V2,... e.g. incidents.background.medical=0.5,1.0",
            )
        )
    yaml = YAML(typ="safe")
    return key, [yaml.load(v) for v in items]


def _set(tree: Any, key: str, value: Any) -> None:
    """Set a dotted key in a plain tree. A list is indexed by number, or by the ``kind`` or
    ``name`` of its items (``hazards.rainfall.hyetograph.2.intensity``)."""
    parts = key.split(".")
    node = tree
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            if part.isdigit() and int(part) < len(node):
                index = int(part)
            else:
                found = [
                    i
                    for i, item in enumerate(node)
                    if isinstance(item, dict) and part in (item.get("kind"), item.get("name"))
                ]
                if len(found) != 1:
                    raise KeyError(where)
                index = found[0]
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                if part not in node:
                    node[part] = {}
                node = node[part]
        else:
            raise KeyError(where)


def scenario_variants(
    path: Path, params: list[tuple[str, list[Any]]], *, option: str = "--param"
) -> list[Variant]:
    """Every combination of swept parameters applied to a scenario file, validated.

    ``option`` is the command-line option the parameters came from, named in errors
    (``--param`` of a sweep, ``--set`` of a single run).

    Raises
    ------
    ScenarioError
        If the file is invalid, or a parameter names no field or gives an invalid value.
    """
    from twin.scenario.loader import load_scenario, plain
    from twin.scenario.problems import adopt, problems_from, source_of

    base = load_scenario(path)
    if not params:
        return [Variant.of(base)]
    for key, _ in params:
        if option == "--param" and key.split(".")[0] in ("city", "seed"):
            raise UserInputError(
                Problem(
                    f"cannot sweep {key!r}: a study runs on one city with one base seed",
                    field=option,
                    fix="run one study per city; use --seed for another base seed",
                )
            )
    tree = plain(source_of(base).tree)  # type: ignore[union-attr]  # just loaded: known
    context = {"base_dir": Path(path).resolve().parent, "check_paths": True}
    variants = []
    for combo in itertools.product(*[[(k, v) for v in values] for k, values in params]):
        data = json.loads(json.dumps(tree, default=str))
        for key, value in combo:
            try:
                _set(data, key, value)
            except KeyError as exc:
                raise UserInputError(
                    Problem(
                        f"{option} {key}: the scenario has no field {exc.args[0]!r}",
                        path,
                        field=key,
                        fix="give a dotted path of the scenario file, e.g. "
                        "incidents.background.medical or hazards.rainfall.hyetograph.2.intensity",
                    )
                ) from None
        try:
            scenario = Scenario.model_validate(data, context=context)
        except ValidationError as exc:
            problems = problems_from(exc, Scenario, None, path)
            label = ", ".join(f"{k}={v}" for k, v in combo)
            raise ScenarioError(
                [
                    Problem(f"with {option} {label}: {p.message}", p.file, None, p.field, p.fix)
                    for p in problems
                ]
            ) from None
        adopt(scenario, base)  # problems found later point at the scenario file's lines
        variants.append(Variant.of(scenario, dict(combo)))
    return variants
