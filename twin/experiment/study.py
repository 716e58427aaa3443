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
        Weights of the combined score (empty: no score).
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


def scenario_variants(path: Path, params: list[tuple[str, list[Any]]]) -> list[Variant]:
    """Every combination of swept parameters applied to a scenario file, validated.

    Raises
    ------
    ScenarioError
        If the file is invalid, or a parameter names no field or gives an invalid value.
    """
    from twin.scenario._problems import problems_from
    from twin.scenario.loader import load_scenario, plain, read_yaml

    base = load_scenario(path)
    if not params:
        return [Variant.of(base)]
    for key, _ in params:
        if key.split(".")[0] in ("city", "seed"):
            raise UserInputError(
                Problem(
                    f"cannot sweep {key!r}: a study runs on one city with one base seed",
                    field="--param",
                    fix="run one study per city; use --seed for another base seed",
                )
            )
    tree = plain(read_yaml(path))
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
                        f"--param {key}: the scenario has no field {exc.args[0]!r}",
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
                    Problem(f"with --param {label}: {p.message}", p.file, None, p.field, p.fix)
                    for p in problems
                ]
            ) from None
        variants.append(Variant.of(scenario, dict(combo)))
    return variants
