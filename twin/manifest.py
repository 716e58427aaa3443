"""``run.json``: what produced a result, written beside every run's outputs.

A manifest records the resolved scenario (after defaults and ``--set``: the validated
pydantic model dumped, with every path absolute), the plan, the seed, twin's version and
the versions of the libraries that change results (:mod:`twin.versions`), the city pack's
hash, the command line, and start and end times in ISO 8601 UTC. It is strict JSON written
atomically (:func:`twin.atomic.write_json`).

:func:`load_manifest` reads one back as a validated scenario, plan and seed, so a run can
be repeated from its manifest alone (``twin respond --from-manifest run.json``).

The run commands call, after writing their outputs (``tests/unit/test_manifest.py`` runs
the same calls)::

    write_manifest(folder, scenario=scenario, plan=plan, seed=seed, command_line=sys.argv,
                   pack_hash=pack_hash(pack), started=started, ended=datetime.now(UTC))
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from twin.atomic import write_json
from twin.errors import Problem, ScenarioError, UserInputError
from twin.versions import dependency_versions, twin_version

if TYPE_CHECKING:
    from twin.city.pack import CityPack
    from twin.scenario.plan import Plan
    from twin.scenario.schema import Scenario

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "RunManifest",
    "dependency_versions",
    "input_files",
    "load_manifest",
    "pack_hash",
    "record_run",
    "study_manifest_path",
    "write_manifest",
    "write_study_manifest",
]

#: File name of the manifest in a run's output folder.
MANIFEST_NAME = "run.json"
#: Suffix of a study's manifest beside its database (``compare.run.json``).
STUDY_SUFFIX = ".run.json"
#: Bump when the meaning of a field changes.
MANIFEST_FORMAT = 1
#: Largest manifest read (bytes): a resolved scenario and plan are a few tens of kilobytes.
MAX_MANIFEST_BYTES = 16 << 20


@dataclass(frozen=True)
class RunManifest:
    """A manifest read back by :func:`load_manifest`.

    Attributes
    ----------
    scenario, plan
        The validated scenario and plan (``plan`` None for runs without one).
    seed
        The run seed (None if the run used the scenario's).
    twin_version, dependencies
        Versions at the time of the run (see :mod:`twin.versions`).
    pack_hash
        The city pack's hash (:func:`pack_hash`), None if the run had no city.
    command_line
        The command as typed (``argv``).
    started, ended
        Start and end of the run (timezone-aware, UTC).
    path
        The file it was read from.
    """

    scenario: Scenario
    plan: Plan | None
    seed: int | None
    twin_version: str
    dependencies: dict[str, str | None]
    pack_hash: str | None
    command_line: list[str]
    started: datetime
    ended: datetime
    path: Path
    extra: dict[str, Any] = field(default_factory=dict)


def pack_hash(pack: CityPack) -> str:
    """SHA-256 (hex, 64 characters) of what identifies a built city pack: its name, CRS
    and sources (each input file's SHA-256 and the build options)."""
    blob = json.dumps(
        {"name": pack.name, "crs": pack.crs, "sources": pack.sources},
        sort_keys=True,
        allow_nan=False,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _utc_text(moment: datetime, name: str) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (e.g. datetime.now(UTC)), got {moment}")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def write_manifest(
    folder: Path | str,
    *,
    scenario: BaseModel,
    plan: BaseModel | None,
    seed: int | None,
    command_line: Sequence[str],
    pack_hash: str | None,
    started: datetime,
    ended: datetime,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``<folder>/run.json`` (atomically, strict JSON) and return its path.

    Parameters
    ----------
    folder
        The run's output folder (created if missing).
    scenario, plan
        The resolved (validated) scenario and plan; dumped as JSON with every default.
    seed
        The run seed (None: the scenario's ``seed`` was used).
    command_line
        The command as typed, e.g. ``sys.argv``.
    pack_hash
        :func:`pack_hash` of the run's city pack, None if it had none.
    started, ended
        Timezone-aware start and end of the run; written in UTC (``...Z``).
    extra
        More entries for the caller's own use (e.g. the model run); must be JSON.

    Raises
    ------
    ValueError
        If ``started`` or ``ended`` is naive (no timezone): a bug of the caller.
    """
    data = _common(command_line, started, ended, pack_hash)
    data |= {
        "seed": None if seed is None else int(seed),
        "scenario": scenario.model_dump(mode="json"),
        "plan": None if plan is None else plan.model_dump(mode="json"),
    }
    if extra:
        data["extra"] = extra
    return write_json(Path(folder) / MANIFEST_NAME, data)


def _common(
    command_line: Sequence[str], started: datetime, ended: datetime, pack_hash: str | None
) -> dict[str, Any]:
    """The entries every manifest holds: format, versions, command line, times, pack."""
    return {
        "format": MANIFEST_FORMAT,
        "twin_version": twin_version(),
        "python": platform.python_version(),
        "dependencies": dependency_versions(),
        "command_line": [str(arg) for arg in command_line],
        "started": _utc_text(started, "started"),
        "ended": _utc_text(ended, "ended"),
        "pack_hash": pack_hash,
    }


def study_manifest_path(study_file: Path | str) -> Path:
    """Where a study's manifest goes: beside its database, ``compare.duckdb`` ->
    ``compare.run.json`` (a run's ``run.json`` may share the folder)."""
    return Path(study_file).with_suffix(STUDY_SUFFIX)


def write_study_manifest(
    study_file: Path | str,
    *,
    study: Any,
    replications: Sequence[int],
    code_version: str,
    command_line: Sequence[str],
    pack_hash: str | None,
    started: datetime,
    ended: datetime,
    html: Path | str | None = None,
    pack_sources: dict[str, Any] | None = None,
) -> Path:
    """Write a study's manifest (:func:`study_manifest_path`, atomically, strict JSON).

    Besides the entries of every manifest it holds ``kind: study``, the resolved scenario
    (the first variant's), and under ``study``: its id and spec
    (:meth:`~twin.experiment.study.Study.spec`), the runner's code version, every plan
    resolved (name, file, hash, the validated plan), every variant's resolved scenario
    (sweeps), the complete replications of each variant and each plan's run seeds for them
    (:meth:`~twin.experiment.study.Study.seed`), the database and HTML summary files, the
    city pack's sources (its input files' SHA-256 and build options) and the SHA-256 of
    every input file the scenarios and plans name (:func:`input_files`), so a rerun
    (``twin compare --from-manifest``) can say which file changed.

    Parameters
    ----------
    study_file
        The study's results database.
    study
        The :class:`~twin.experiment.study.Study` that ran.
    replications
        Complete replications of each variant (every plan finished), as summarised.
    code_version
        The runner's code version (part of every run's key in the database).
    command_line, pack_hash, started, ended
        As for :func:`write_manifest`.
    html
        The HTML summary written beside the database.
    pack_sources
        The city pack's ``sources`` (None: no pack).
    """
    most = max(replications, default=0)
    named = [(f"variants.{v}.scenario", x.scenario) for v, x in enumerate(study.variants)]
    named += [(f"plans.{p}.plan", entry.plan) for p, entry in enumerate(study.plans)]
    data = _common(command_line, started, ended, pack_hash)
    data |= {
        "kind": "study",
        "seed": int(study.base_seed),
        "scenario": study.variants[0].scenario.model_dump(mode="json"),
        "plan": None,
        "study": {
            "id": study.study_id,
            **study.spec(),
            "code_version": code_version,
            "replications": [int(n) for n in replications],
            "seeds": {
                entry.name: [int(study.seed(r, p)) for r in range(most)]
                for p, entry in enumerate(study.plans)
            },
            "plans": [
                {
                    "name": entry.name,
                    "file": None if entry.file is None else str(entry.file),
                    "hash": entry.hash,
                    "plan": entry.plan.model_dump(mode="json"),
                }
                for entry in study.plans
            ],
            "variants": [
                {
                    "label": v.label,
                    "params": v.params,
                    "hash": v.hash,
                    "scenario": v.scenario.model_dump(mode="json"),
                }
                for v in study.variants
            ],
            "database": str(study_file),
            "summary_html": None if html is None else str(html),
            "pack_sources": pack_sources,
            "files": input_files(named),
        },
    }
    return write_json(study_manifest_path(study_file), data)


def input_files(models: Sequence[tuple[str, BaseModel]]) -> list[dict[str, str]]:
    """Every file the validated models name (a path value naming an existing file), with
    its SHA-256: ``[{"field": "variants.0.scenario.demand.trips", "path": ..., "sha256":
    ...}]``, each path once (its first field). A scenario's ``plans`` are left out: a
    study stores the plans it ran."""
    from twin.city.cache import sha256_file

    found: dict[str, dict[str, str]] = {}

    def visit(value: Any, where: str) -> None:
        if isinstance(value, BaseModel):
            for name in type(value).model_fields:
                if not (name == "plans" and where.endswith("scenario")):
                    visit(getattr(value, name), f"{where}.{name}")
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                visit(item, f"{where}.{i}")
        elif isinstance(value, dict):
            for key, item in value.items():
                visit(item, f"{where}.{key}")
        elif isinstance(value, Path) and value.is_file() and str(value) not in found:
            found[str(value)] = {
                "field": where,
                "path": str(value),
                "sha256": sha256_file(value),
            }

    for where, model in models:
        visit(model, where)
    return list(found.values())


def as_written(model: BaseModel) -> BaseModel:
    """A copy of ``model`` whose fields read as set (``model_fields_set``, at every depth)
    only where they differ from their defaults.

    A manifest stores models with every default filled in, so all their fields read back
    as set; checks that refuse fields a user wrote (e.g. the coupled run's evacuation
    order refuses ``compliance``) would refuse every rerun. Values are unchanged."""
    copy = model.model_copy(deep=True)

    def mark(value: Any) -> None:
        if isinstance(value, BaseModel):
            fields = type(value).model_fields
            given = set()
            for name, info in fields.items():
                item = getattr(value, name)
                if info.is_required() or item != info.get_default(call_default_factory=True):
                    given.add(name)
                mark(item)
            object.__setattr__(value, "__pydantic_fields_set__", given)
        elif isinstance(value, list | tuple):
            for item in value:
                mark(item)
        elif isinstance(value, dict):
            for item in value.values():
                mark(item)

    mark(copy)
    return copy


def _problems(exc: ValidationError, path: Path, where: str) -> list[Problem]:
    return [
        Problem(
            error["msg"],
            path,
            field=".".join([where, *(str(part) for part in error["loc"])]),
            fix="write the manifest with this version of twin, or run from the scenario file",
        )
        for error in exc.errors()
    ]


def _refuse(path: Path, message: str, field_name: str | None = None) -> UserInputError:
    return UserInputError(
        Problem(
            message,
            path,
            field=field_name,
            fix="pass the run.json a twin run wrote beside its outputs",
        )
    )


def load_manifest(path: Path | str) -> RunManifest:
    """Read a ``run.json`` back as a validated scenario, plan and seed.

    Paths in the scenario are those of the run (absolute); files they name must still exist.
    The folder-tree rule for plan files does not apply: the plan is stored in the manifest.

    Raises
    ------
    UserInputError
        If the file is missing, too large, not JSON, or not a manifest of this format.
    ScenarioError
        If its scenario or plan does not validate (e.g. a file it names is gone), with the
        field of each problem.
    """
    from twin.scenario.plan import Plan
    from twin.scenario.schema import Scenario

    path = Path(path)
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise _refuse(path, f"larger than {MAX_MANIFEST_BYTES >> 20} MiB: not a run.json")
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise _refuse(path, f"cannot read the manifest: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise _refuse(path, f"not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("scenario"), dict):
        raise _refuse(path, "not a run manifest (no scenario)", "scenario")
    if data.get("format") != MANIFEST_FORMAT:
        raise _refuse(
            path, f"manifest format {data.get('format')!r}, expected {MANIFEST_FORMAT}", "format"
        )
    if data.get("kind") == "study":
        raise UserInputError(
            Problem(
                "this is a study's manifest (twin compare / twin sweep), not a single run's",
                path,
                field="kind",
                fix=f"rerun it with twin compare (or twin sweep) --from-manifest {path} "
                "--study NEW.duckdb",
            )
        )
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise _refuse(path, f"seed must be an integer or null, not {seed!r}", "seed")
    # Paths were resolved when the run loaded its files: no base folder (the folder-tree
    # rule for plan files protects scenario files; the plan itself is stored here).
    context = {"base_dir": None, "check_paths": True}
    problems: list[Problem] = []
    scenario = plan = None
    try:
        scenario = as_written(Scenario.model_validate(data["scenario"], context=context))
    except ValidationError as exc:
        problems += _problems(exc, path, "scenario")
    if data.get("plan") is not None:
        try:
            plan = as_written(Plan.model_validate(data["plan"], context=context))
        except ValidationError as exc:
            problems += _problems(exc, path, "plan")
    if problems:
        raise ScenarioError(problems)
    times = {}
    for name in ("started", "ended"):
        try:
            times[name] = datetime.fromisoformat(str(data.get(name)))
        except ValueError:
            raise _refuse(path, f"{name} is not an ISO 8601 time", name) from None
    return RunManifest(
        scenario=scenario,
        plan=plan,
        seed=seed,
        twin_version=str(data.get("twin_version")),
        dependencies=dict(data.get("dependencies") or {}),
        pack_hash=data.get("pack_hash"),
        command_line=[str(a) for a in data.get("command_line") or []],
        started=times["started"],
        ended=times["ended"],
        path=path,
        extra=dict(data.get("extra") or {}),
    )


def record_run(
    folder: Path | str,
    *,
    scenario: BaseModel,
    started: datetime,
    plan: BaseModel | None = None,
    seed: int | None = None,
    pack: CityPack | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """:func:`write_manifest` for a run command that just finished: this process's command
    line (``sys.argv``), the pack's :func:`pack_hash` and now as the end time; the one call
    a run command adds after writing its outputs to ``folder``."""
    import sys

    return write_manifest(
        folder,
        scenario=scenario,
        plan=plan,
        seed=seed,
        command_line=sys.argv,
        pack_hash=None if pack is None else pack_hash(pack),
        started=started,
        ended=datetime.now(UTC),
        extra=extra,
    )
