"""Read scenario and plan files: YAML in, validated models out, every problem reported at once.

A file says what it is with a top-level ``kind: scenario`` or ``kind: plan``; without it, the
keys decide (``stations`` or ``dispatch`` make a plan; ``city``, ``time`` or ``hazards`` make a
scenario). Every mistake found, from YAML syntax to a missing plan file, is raised as one
:class:`~twin.errors.ScenarioError` whose problems name the file, line, field and a fix.
"""

from __future__ import annotations

from datetime import date, datetime
from difflib import get_close_matches
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from twin.errors import Problem, ScenarioError
from twin.scenario.base import file_name
from twin.scenario.plan import Plan
from twin.scenario.problems import problems_from, remember
from twin.scenario.schema import Scenario

FileKind = Literal["scenario", "plan"]
M = TypeVar("M", bound=BaseModel)

_MODELS: dict[str, type[BaseModel]] = {"scenario": Scenario, "plan": Plan}
_PLAN_KEYS = frozenset({"stations", "dispatch", "shelters", "evacuation_routes", "closures"})
_SCENARIO_KEYS = frozenset(
    {"city", "time", "hazards", "flood", "demand", "incidents", "plans", "outputs", "objectives"}
)

MAX_FILE_BYTES = 1 << 20
"""Largest scenario or plan file read (1 MiB; the examples are under 10 KiB)."""
MAX_VALUES = 500_000
"""Most values (mappings, lists and scalars) a file may hold once YAML aliases are expanded:
a 1 MiB file of plain entries holds fewer; an alias bomb ("billion laughs") holds 10^9."""


def read_yaml(path: Path | str) -> Any:
    """Read a YAML file as a ruamel.yaml round-trip tree (which knows each key's line).

    Parameters
    ----------
    path
        The file.

    Raises
    ------
    ScenarioError
        If the file is missing, unreadable, not YAML, empty or not a mapping at the top.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise ScenarioError(
                Problem(
                    f"the file is larger than {MAX_FILE_BYTES // 1024} KiB; scenario and plan "
                    "files hold settings, not data",
                    path,
                    fix="put long series (trips) in a CSV file the scenario names, or split it",
                )
            )
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ScenarioError(
            Problem("file not found", path, fix="check the path (relative to the current folder)")
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(
            Problem(f"cannot read the file: {exc}", path, fix="give a readable UTF-8 text file")
        ) from None
    try:
        tree = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"YAML syntax error: {exc.problem or exc.context}"
        if exc.context and exc.problem:
            started = exc.context_mark
            at = f" at line {started.line + 1}" if started and started != mark else ""
            message += f" ({exc.context}{at})"
        fix = "check the indentation (spaces, not tabs), colons, brackets and quotes near here"
        if "duplicate key" in str(exc.problem):
            fix = "remove or rename one of the two keys"
        raise ScenarioError(
            Problem(message, path, mark.line + 1 if mark else None, None, fix)
        ) from None
    except YAMLError as exc:  # pragma: no cover - unmarked errors are rare
        raise ScenarioError(
            Problem(f"YAML error: {exc}", path, fix="check the file is valid YAML")
        ) from None
    if tree is None:
        raise ScenarioError(
            Problem("the file is empty", path, 1, fix="start with `version: 1` (see scenarios/)")
        )
    if not isinstance(tree, dict):
        raise ScenarioError(
            Problem(
                "the top level must be a mapping of `key: value` lines",
                path,
                1,
                fix="start with `version: 1` and `kind: scenario` (see scenarios/)",
            )
        )
    return tree


def detect_kind(tree: dict[str, Any], path: Path | str = "<data>") -> FileKind:
    """Tell a scenario from a plan: by its ``kind`` key, else by which keys it has.

    Raises
    ------
    ScenarioError
        If ``kind`` is neither ``scenario`` nor ``plan``, or the keys do not decide.
    """
    kind = tree.get("kind")
    if kind is not None:
        if kind in _MODELS:
            return kind
        close = get_close_matches(str(kind), list(_MODELS), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        line = tree.lc.key("kind")[0] + 1 if hasattr(tree, "lc") else None
        raise ScenarioError(
            Problem(
                f"unknown file kind {kind!r}{hint}",
                path,
                line,
                "kind",
                "write `kind: scenario` or `kind: plan`",
            )
        )
    keys = set(tree)
    plan, scenario = len(keys & _PLAN_KEYS), len(keys & _SCENARIO_KEYS)
    if plan != scenario:
        return "plan" if plan > scenario else "scenario"
    raise ScenarioError(
        Problem(
            "cannot tell whether this is a scenario or a plan",
            path,
            1,
            "kind",
            "add `kind: scenario` or `kind: plan` at the top",
        )
    )


class TooManyValuesError(ScenarioError):
    """A tree expands to more than :data:`MAX_VALUES` values (see :func:`plain`)."""

    def __init__(self, path: Path | str | None = None) -> None:
        super().__init__(
            Problem(
                f"the file expands to more than {MAX_VALUES:,} values: YAML aliases (`*name`) "
                "repeat anchored blocks (`&name`) too many times, or inside themselves",
                path,
                fix="write the repeated parts out, or use fewer nested aliases",
            )
        )


def plain(node: Any, *, limit: int = MAX_VALUES) -> Any:
    """Convert a ruamel.yaml tree to plain dicts, lists, str, int, float and datetime.

    Parameters
    ----------
    node
        The tree (an alias makes a branch appear several times; each is expanded).
    limit
        Most values the expanded tree may hold.

    Raises
    ------
    TooManyValuesError
        If the expanded tree holds more than ``limit`` values, or a branch contains itself.
    """
    left = [limit]
    return _plain(node, left, set())


def _plain(node: Any, left: list[int], above: set[int]) -> Any:
    left[0] -= 1
    if left[0] < 0:
        raise TooManyValuesError
    if isinstance(node, dict | list):
        if id(node) in above:
            raise TooManyValuesError  # an alias inside its own anchor: endless
        above.add(id(node))
        try:
            if isinstance(node, dict):
                return {_plain(k, left, above): _plain(v, left, above) for k, v in node.items()}
            return [_plain(v, left, above) for v in node]
        finally:
            above.discard(id(node))
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, datetime):
        return datetime.fromisoformat(node.isoformat())
    if isinstance(node, date):
        return date.fromisoformat(node.isoformat())
    return node


def _validate(model: type[M], tree: Any, path: Path, *, check_paths: bool) -> M:
    context = {"base_dir": path.resolve().parent, "check_paths": check_paths}
    try:
        data = plain(tree)
    except TooManyValuesError:
        raise TooManyValuesError(path) from None
    try:
        validated = model.model_validate(data, context=context)
    except ValidationError as exc:
        raise ScenarioError(problems_from(exc, model, tree, path)) from None
    remember(validated, path, tree)  # problems found later locate their lines from it
    return validated


def _load(path: Path | str, want: FileKind, *, check_paths: bool) -> Any:
    path = Path(path)
    tree = read_yaml(path)
    kind = tree.get("kind")
    if kind is not None and kind != want:
        detect_kind(tree, path)  # raises on a misspelt kind
        other = "load_plan / a plan" if want == "scenario" else "load_scenario / a scenario"
        raise ScenarioError(
            Problem(
                f"this is a {kind} file, not a {want}",
                path,
                tree.lc.key("kind")[0] + 1,
                "kind",
                f"pass it where {other} is expected",
            )
        )
    return _validate(_MODELS[want], tree, path, check_paths=check_paths)


def load_scenario(path: Path | str, *, check_paths: bool = True) -> Scenario:
    """Read and validate a scenario file.

    Parameters
    ----------
    path
        The YAML file.
    check_paths
        Whether files it names (OSM, DEM, trips, plans) must exist.

    Returns
    -------
    Scenario
        With relative paths resolved against the file's folder.

    Raises
    ------
    ScenarioError
        With every problem found.
    """
    return _load(path, "scenario", check_paths=check_paths)


def load_plan(path: Path | str, *, check_paths: bool = True) -> Plan:
    """Read and validate a plan file.

    Raises
    ------
    ScenarioError
        With every problem found.
    """
    return _load(path, "plan", check_paths=check_paths)


def validate_file(path: Path | str, *, check_paths: bool = True) -> Scenario | Plan:
    """Read and validate a file that is a scenario or a plan (see :func:`detect_kind`).

    Raises
    ------
    ScenarioError
        With every problem found.
    """
    path = Path(path)
    tree = read_yaml(path)
    kind = detect_kind(tree, path)
    return _validate(_MODELS[kind], tree, path, check_paths=check_paths)


def load_plans(scenario: Scenario) -> list[Plan]:
    """Load every plan a scenario names; problems of all of them are raised together.

    Raises
    ------
    ScenarioError
        With every problem found in every plan.
    """
    plans: list[Plan] = []
    problems: list[Problem] = []
    for path in scenario.plans:
        try:
            plans.append(load_plan(path))
        except ScenarioError as exc:
            problems += exc.problems
    if problems:
        raise ScenarioError(problems)
    return plans


def results_folder(scenario: Scenario, scenario_file: Path | str, out: Path | None = None) -> Path:
    """Where a run writes: ``out`` (given on the command line) or the scenario's
    ``outputs.folder``, which must lie inside the scenario's folder tree or the current
    folder unless ``out`` is given.

    Parameters
    ----------
    scenario
        The validated scenario (its ``outputs.folder`` is resolved against its file).
    scenario_file
        The scenario's file, for the check and the message.
    out
        A folder given on the command line; taken as it is.

    Raises
    ------
    ScenarioError
        If ``outputs.folder`` points outside both trees, naming the line and ``--out``.
    """
    from twin.scenario.problems import where

    if out is not None:
        return Path(out)
    scenario_file = Path(scenario_file)
    base = scenario_file.resolve().parent
    folder = scenario.outputs.folder
    if folder is None:
        return base / "results" / file_name(scenario.name)
    resolved = Path(folder).resolve()
    if resolved.is_relative_to(base) or resolved.is_relative_to(Path.cwd().resolve()):
        return Path(folder)
    _, line = where(scenario, ["outputs", "folder"], file=scenario_file)
    raise ScenarioError(
        Problem(
            f"outputs.folder {folder} is outside the scenario's folder ({base}) and the current "
            "folder; a scenario file may not choose to write elsewhere",
            scenario_file,
            line,
            "outputs.folder",
            f"pass the folder on the command line: --out {folder}",
        )
    )
