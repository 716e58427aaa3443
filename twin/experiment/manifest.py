"""A study read back from its manifest (``compare.run.json``), to run it again.

``twin compare --from-manifest compare.run.json`` and ``twin sweep --from-manifest``
(:func:`twin.experiment.api.rerun`) rebuild the study the manifest describes: its resolved
scenario variants, its plans, base seed, common random numbers, runner, ranking KPI,
weights and baseline, and the number of complete replications. The study store is
deterministic (same seeds, same KPIs), so the rerun stores the same KPIs and writes the
same summary.

Each refusal says what is wrong and how to fix it: a file that is not a study's manifest,
another command's study (a sweep given to ``compare``), a format this twin cannot read,
a stored scenario or plan that does not match its recorded hash, an input file that is
missing or changed (:func:`check_inputs`; its field and both hashes), or a city pack
built from other sources than the study's (:func:`check_pack`; which source differs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from twin.errors import Problem, ScenarioError, UserInputError
from twin.experiment.study import PlanEntry, Study, Variant, check_plan_names
from twin.manifest import MANIFEST_FORMAT, MAX_MANIFEST_BYTES, as_written

if TYPE_CHECKING:
    from twin.city.pack import CityPack

__all__ = ["StudyRecord", "check_inputs", "check_pack", "load_study_manifest"]

_FIX = "pass the <study>.run.json that twin compare or twin sweep wrote beside its database"


@dataclass(frozen=True)
class StudyRecord:
    """A study's manifest read back by :func:`load_study_manifest`.

    Attributes
    ----------
    study
        The study it describes, rebuilt (same :attr:`~Study.study_id`).
    replications
        Complete replications of the study (the most of any variant).
    code_version
        The runner's code version when it ran.
    pack_hash, pack_sources
        The city pack's hash and sources (input files' SHA-256 and build options).
    files
        Input files the scenarios and plans name: ``field``, ``path``, ``sha256``.
    path
        The manifest file.
    """

    study: Study
    replications: int
    code_version: str | None
    pack_hash: str | None
    pack_sources: dict[str, Any] | None
    files: list[dict[str, str]]
    path: Path


def _refuse(path: Path, message: str, field: str | None = None, fix: str = _FIX) -> UserInputError:
    return UserInputError(Problem(message, path, field=field, fix=fix))


def _read(path: Path) -> dict[str, Any]:
    """The manifest's JSON object, of this format and of kind study."""
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise _refuse(path, f"larger than {MAX_MANIFEST_BYTES >> 20} MiB: not a manifest")
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise _refuse(path, f"cannot read the manifest: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise _refuse(path, f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise _refuse(path, "not a manifest (not a JSON object)")
    fmt = data.get("format")
    if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > MANIFEST_FORMAT:
        raise _refuse(
            path,
            f"manifest format {fmt} is newer than this twin reads ({MANIFEST_FORMAT})",
            "format",
            fix="rerun it with the twin version it records (`twin_version`), or upgrade twin",
        )
    if fmt != MANIFEST_FORMAT:
        raise _refuse(path, f"manifest format {fmt!r}, expected {MANIFEST_FORMAT}", "format")
    if data.get("kind") != "study" or not isinstance(data.get("study"), dict):
        raise _refuse(
            path,
            "this is a single run's manifest (twin run, flood, traffic, crowd or respond), "
            "not a study's",
            "kind",
            fix="rerun it with twin respond --from-manifest (a response run), or pass the "
            "<study>.run.json beside a twin compare or twin sweep database",
        )
    return data


def _validate(model: Any, data: Any, path: Path, where: str) -> Any:
    context = {"base_dir": None, "check_paths": True}
    try:
        return as_written(model.model_validate(data, context=context))
    except ValidationError as exc:
        raise ScenarioError(
            [
                Problem(
                    error["msg"],
                    path,
                    field=".".join([where, *(str(part) for part in error["loc"])]),
                    fix="restore the file it names, or run the study from its scenario file",
                )
                for error in exc.errors()
            ]
        ) from None


def _changed(path: Path, what: str, where: str) -> UserInputError:
    return _refuse(
        path,
        f"the stored {what} does not match its recorded hash (the manifest was edited, or "
        "written by a twin whose scenario format differs)",
        where,
        fix="use the manifest as twin wrote it, or run the study from its scenario file",
    )


def load_study_manifest(path: Path | str, kind: str | None = None) -> StudyRecord:
    """Read a study's manifest back as the study it describes.

    Parameters
    ----------
    path
        ``<study>.run.json``.
    kind
        ``"compare"`` or ``"sweep"``: the command asking; a study of the other kind is
        refused. None accepts either.

    Raises
    ------
    UserInputError
        A missing or unreadable file, not JSON, another format, a single run's manifest,
        a study of the other kind, a stored scenario or plan that does not match its
        recorded hash, an unknown runner or baseline.
    ScenarioError
        A stored scenario or plan that does not validate (e.g. a file it names is gone),
        with the field of each problem.
    """
    from twin.experiment.runners import get_runner

    path = Path(path)
    data = _read(path)
    info = data["study"]
    if kind is not None and info.get("kind") != kind:
        raise _refuse(
            path,
            f"this manifest is of a twin {info.get('kind')}, not of a twin {kind}",
            "study.kind",
            fix=f"run twin {info.get('kind')} --from-manifest {path}",
        )
    from twin.scenario.plan import Plan
    from twin.scenario.schema import Scenario

    variants = []
    for v, entry in enumerate(info.get("variants") or []):
        where = f"study.variants.{v}.scenario"
        variant = Variant.of(_validate(Scenario, entry.get("scenario"), path, where),
                             entry.get("params"))  # fmt: skip
        if variant.hash != entry.get("hash"):
            raise _changed(path, f"scenario of variant {entry.get('label')!r}", where)
        variants.append(variant)
    plans = []
    for p, entry in enumerate(info.get("plans") or []):
        where = f"study.plans.{p}.plan"
        plan = _validate(Plan, entry.get("plan"), path, where)
        file = entry.get("file")
        plans.append(PlanEntry.of(plan, None if file is None else Path(file)))
        if plans[-1].hash != entry.get("hash"):
            raise _changed(path, f"plan {entry.get('name')!r}", where)
    if not variants or not plans:
        raise _refuse(path, "the manifest names no scenario variant or no plan", "study")
    check_plan_names(plans)
    names = [p.name for p in plans]
    if info.get("baseline") not in names:
        raise _refuse(path, f"baseline {info.get('baseline')!r} is none of its plans",
                      "study.baseline")  # fmt: skip
    runner = str(info.get("runner"))
    get_runner(runner)  # an unknown model is refused here, naming the registered ones
    study = Study(
        info["kind"],
        Path(str(info.get("scenario_file"))),
        variants,
        plans,
        runner=runner,
        base_seed=int(info.get("seed", data.get("seed"))),
        crn=bool(info.get("crn", True)),
        baseline=names.index(info["baseline"]),
        primary=str(info.get("primary")),
        weights={str(k): float(w) for k, w in (info.get("weights") or {}).items()},
    )
    if study.study_id != info.get("id"):
        raise _changed(path, "study", "study.id")
    complete = [int(n) for n in info.get("replications") or []]
    return StudyRecord(
        study=study,
        replications=max(complete, default=0),
        code_version=info.get("code_version"),
        pack_hash=data.get("pack_hash"),
        pack_sources=info.get("pack_sources"),
        files=list(info.get("files") or []),
        path=path,
    )


def check_inputs(record: StudyRecord) -> None:
    """Refuse if an input file the study read is missing or changed since it ran.

    Raises
    ------
    UserInputError
        One problem per missing or changed file, naming its field, path and both hashes.
    """
    from twin.city.cache import sha256_file

    problems = []
    for entry in record.files:
        file = Path(entry["path"])
        if not file.is_file():
            problems.append(
                Problem(f"{file} is missing", record.path, field=entry["field"],
                        fix="restore the file the study read")
            )  # fmt: skip
            continue
        now = sha256_file(file)
        if now != entry["sha256"]:
            problems.append(
                Problem(
                    f"{file} changed since the study ran (SHA-256 {entry['sha256'][:12]}... "
                    f"recorded, {now[:12]}... now)",
                    record.path,
                    field=entry["field"],
                    fix="restore the file the study read, or run the study from its scenario file",
                )
            )
    if problems:
        raise UserInputError(problems)


def _source_changes(recorded: dict[str, Any], now: dict[str, Any], where: str) -> list[str]:
    """Dotted keys whose values differ between two ``sources`` trees."""
    if isinstance(recorded, dict) and isinstance(now, dict):
        keys = sorted(set(recorded) | set(now))
        return [c for k in keys for c in _source_changes(recorded.get(k), now.get(k),
                                                          f"{where}.{k}")]  # fmt: skip
    if isinstance(recorded, list) and isinstance(now, list) and len(recorded) == len(now):
        return [c for i, (a, b) in enumerate(zip(recorded, now, strict=True))
                for c in _source_changes(a, b, f"{where}.{i}")]  # fmt: skip
    return [] if recorded == now else [f"{where}: {recorded!r} recorded, {now!r} now"]


def check_pack(record: StudyRecord, pack: CityPack) -> None:
    """Refuse a city pack other than the study's (another map file, terrain or build
    option), saying which source differs.

    Raises
    ------
    UserInputError
        Naming each differing source (e.g. ``pack_sources.osm.sha256``).
    """
    from twin.manifest import pack_hash

    if record.pack_hash is None or pack_hash(pack) == record.pack_hash:
        return
    changes = _source_changes(record.pack_sources or {}, dict(pack.sources), "pack_sources")
    detail = "; ".join(changes) if changes else f"name or CRS ({pack.name}, {pack.crs})"
    raise _refuse(
        record.path,
        f"the city pack differs from the study's: {detail}",
        "pack_hash",
        fix="restore the map files the study used (twin maps list shows which are present), "
        "or run the study from its scenario file",
    )
