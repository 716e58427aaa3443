"""Drill scripts and drill logs: plain YAML or JSON files, validated with file:line errors.

A **drill script** is the trainer's timed injects, written before the drill::

    kind: drill_script
    injects:
      - at: 5 min
        kind: incident
        args: {type: medical, location: [7.4205, 43.7331], priority: 1}
      - at: 10 min
        kind: unit_out_of_service
        args: {unit: Condamine/ambulance0, duration: 30 min}

A **drill log** is what happened: the run it was played on (scenario, plan, seed, end,
exchange interval), every branch with the actions taken on it (injects and decisions, each
with the simulated time it took effect, who took it and, for decisions, the state the
trainee saw), and the checkpoints. :func:`twin.drill.replay.replay` replays a branch of a
log headless and gives its KPIs.

The action kinds and their arguments are :data:`twin.drill.actions.ACTIONS`; a script or
log is checked against them here, so a misspelt kind or a missing argument is reported at
its line before anything runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from twin.errors import Problem, ScenarioError, UserInputError
from twin.scenario.base import StrictModel
from twin.scenario.quantities import Duration

__all__ = [
    "ActionRecord",
    "BranchRecord",
    "CheckpointRecord",
    "DrillLog",
    "DrillScript",
    "RefusalRecord",
    "ScriptInject",
    "read_log",
    "read_script",
    "write_log",
]

#: Version of the drill log layout.
LOG_FORMAT = 1


class ScriptInject(StrictModel):
    """One timed inject of a drill script."""

    at: Duration
    """When it happens, since the scenario start (s; e.g. '5 min')."""
    kind: str
    """The inject's kind (a key of :data:`twin.drill.actions.ACTIONS`)."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Its arguments (see the kind's documentation)."""


class DrillScript(StrictModel):
    """A trainer's drill script: timed injects, applied at the first exchange at or after
    their time (so a drill with a script is reproducible)."""

    kind: Literal["drill_script"] = "drill_script"
    """Always ``drill_script``."""
    injects: list[ScriptInject] = Field(default_factory=list)
    """The injects, in any order (applied in time order, ties in file order)."""


class ActionRecord(StrictModel):
    """One action taken in a drill: an inject or a decision."""

    time: float = Field(ge=0.0, allow_inf_nan=False)
    """Simulated time it took effect (s since the scenario start)."""
    kind: str
    """The action's kind (a key of :data:`twin.drill.actions.ACTIONS`)."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Its arguments, as given."""
    by: Literal["trainer", "trainee", "script"] = "trainee"
    """Who took it."""
    result: str = ""
    """What it did, in words (e.g. 'incident 7 at node 120')."""
    seen: dict[str, Any] | None = None
    """For decisions: the state the trainee saw when deciding (vital signs, open incidents,
    unit states)."""
    script_index: int | None = None
    """Position of the inject in the drill script it came from, if any."""


class CheckpointRecord(StrictModel):
    """A checkpoint: a branch's state at a time, after its first ``actions`` actions."""

    name: str
    """Its name."""
    branch: str
    """The branch it was taken on."""
    time: float = Field(ge=0.0, allow_inf_nan=False)
    """Simulated time (s)."""
    actions: int = Field(ge=0)
    """How many of the branch's actions (inherited ones included) precede it."""


class RefusalRecord(StrictModel):
    """An action the drill refused (nothing changed)."""

    time: float = Field(ge=0.0, allow_inf_nan=False)
    """Simulated time (s)."""
    branch: str
    """The branch it was tried on."""
    kind: str
    """The action's kind, as asked (maybe unknown)."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Its arguments, as asked."""
    by: Literal["trainer", "trainee", "script"] = "trainee"
    """Who asked."""
    reason: str
    """Why it was refused (the message shown)."""


class BranchRecord(StrictModel):
    """A branch: a parent branch's first ``inherited`` actions, then its own."""

    name: str
    """Its name (``main`` for the first)."""
    parent: str | None = None
    """The branch it was rewound from (``None`` for ``main``)."""
    start: float = 0.0
    """Time of the checkpoint it starts from (s)."""
    inherited: int = Field(default=0, ge=0)
    """How many of the parent's actions it starts with."""
    actions: list[ActionRecord] = Field(default_factory=list)
    """Its own actions, in the order they were taken."""
    time: float = 0.0
    """How far it was played (s)."""


class DrillLog(StrictModel):
    """A drill log (see the module notes)."""

    kind: Literal["drill_log"] = "drill_log"
    """Always ``drill_log``."""
    format: Literal[1] = LOG_FORMAT
    """Layout version."""
    scenario: str
    """The scenario file (a path as given when the drill started)."""
    plan: str | None = None
    """The plan file (default the scenario's first plan)."""
    seed: int | None = None
    """The run seed (default the scenario's)."""
    until: float | None = None
    """End of the run (s; default the scenario's duration)."""
    resolution: float | None = None
    """Terrain and flood cell size override (m), if any."""
    exchange_every: float = 60.0
    """Exchange interval (s): actions take effect at multiples of it."""
    tier: str | None = None
    """The jurisdiction the trainee played (the plan's automatic dispatch ran the others,
    see :mod:`twin.drill.tiers`), or ``None``: the trainee commanded the whole city."""
    branches: list[BranchRecord] = Field(min_length=1)
    """Every branch, ``main`` first."""
    checkpoints: list[CheckpointRecord] = Field(default_factory=list)
    """Every checkpoint taken."""
    refused: list[RefusalRecord] = Field(default_factory=list)
    """Every action refused, in order (replay ignores them: they changed nothing)."""

    def branch(self, name: str) -> BranchRecord:
        """The branch called ``name``.

        Raises
        ------
        UserInputError
            If the log has no such branch.
        """
        for b in self.branches:
            if b.name == name:
                return b
        names = [b.name for b in self.branches]
        raise UserInputError(
            Problem(f"the log has no branch {name!r}", field="branch", fix=f"one of {names}")
        )

    def actions_of(self, name: str) -> list[ActionRecord]:
        """Every action of branch ``name`` in order: the inherited ones, then its own."""
        b = self.branch(name)
        head = self.actions_of(b.parent)[: b.inherited] if b.parent is not None else []
        return head + list(b.actions)


def _read_tree(path: Path) -> Any:
    """A ruamel round-trip tree of a YAML or JSON file (JSON is YAML), or a file:line error."""
    from twin.scenario.loader import read_yaml

    return read_yaml(path)


def _validate(model: type[StrictModel], path: Path | str) -> Any:
    from twin.scenario.loader import plain
    from twin.scenario.problems import problems_from

    path = Path(path)
    tree = _read_tree(path)
    try:
        return model.model_validate(plain(tree))
    except ValidationError as exc:
        raise ScenarioError(problems_from(exc, model, tree, path)) from None


def read_script(path: Path | str) -> DrillScript:
    """Read and check a drill script; each inject's kind and arguments are checked against
    :data:`twin.drill.actions.ACTIONS` (as far as they can be without the city).

    Raises
    ------
    ScenarioError
        With the file and line of every problem.
    """
    from twin.drill.actions import check_args
    from twin.scenario.problems import field_path, line_of

    script = _validate(DrillScript, path)
    tree = _read_tree(Path(path))
    problems = []
    for i, inject in enumerate(script.injects):
        for field, message, fix in check_args(inject.kind, inject.args):
            keys: list[str | int] = ["injects", i, *field]
            problems.append(Problem(message, path, line_of(tree, keys), field_path(keys), fix))
    if problems:
        raise ScenarioError(problems)
    return script


def read_log(path: Path | str) -> DrillLog:
    """Read and check a drill log (YAML or JSON).

    Raises
    ------
    ScenarioError
        With the file and line of every problem.
    """
    log = _validate(DrillLog, path)
    if log.branches[0].name != "main" or log.branches[0].parent is not None:
        raise ScenarioError(
            Problem("the first branch must be `main` without a parent", path,
                    field="branches.0", fix="keep the log as twin wrote it")
        )  # fmt: skip
    return log


def write_log(log: DrillLog, path: Path | str) -> Path:
    """Write a drill log atomically: JSON if ``path`` ends in ``.json``, else YAML."""
    from twin.atomic import write_text

    path = Path(path)
    data = log.model_dump(mode="json")
    if path.suffix.lower() == ".json":
        return write_text(path, json.dumps(data, indent=1, allow_nan=False) + "\n")
    import io

    from ruamel.yaml import YAML

    buf = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(data, buf)
    return write_text(path, buf.getvalue())
