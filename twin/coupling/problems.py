"""Problems of a model's set-up placed in the scenario or plan file they come from.

The set-ups in this package check their inputs and name the fields they object to by dotted
paths (``demand.od.0.flows.1.origin``). The file and line come from the positions the loader
kept for every loaded scenario and plan (:func:`twin.scenario.problems.where`): no YAML file
is read a second time, so a file changed after loading still gets the lines it was loaded
with.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from pydantic import BaseModel

from twin.errors import Problem, UserInputError
from twin.scenario.problems import problem_at, where

__all__ = ["Report", "locate", "problem_maker"]

Report = Callable[[list[str | int], str, str], None]
"""``report(keys, message, fix)``: add a problem at the field ``keys`` of one file."""


def problem_maker(model: BaseModel, file: Path | str | None, problems: list[Problem]) -> Report:
    """A function ``(keys, message, fix)`` adding a problem about a field of ``model`` (the
    scenario or plan) to ``problems``, located by :func:`twin.scenario.problems.problem_at`
    (``file`` names it when the model was not loaded from one)."""

    def report(keys: list[str | int], message: str, fix: str) -> None:
        problems.append(problem_at(model, keys, message, fix, file=file))

    return report


def locate(
    exc: UserInputError,
    model: BaseModel | None,
    roots: Sequence[str],
    *,
    file: Path | str | None = None,
) -> UserInputError:
    """The same problems, those without a file naming a field under ``roots`` given the
    file and line of that field of ``model``.

    Parameters
    ----------
    exc
        The error of a model's set-up, its problems naming fields by dotted paths.
    model
        The scenario or plan the fields belong to (None: the problems stay as they are).
    roots
        The top-level fields of ``model`` that problems may name.
    file
        The file to name when ``model`` has no recorded source (built in code); its line is
        then unknown.
    """
    if model is None:
        return exc
    problems = []
    for problem in exc.problems:
        name = problem.field or ""
        if problem.file is None and name.split(".")[0] in roots:
            keys = [int(k) if k.isdigit() else k for k in re.split(r"[.\[\]]+", name) if k]
            path, line = where(model, keys, file=file)
            if path is not None:
                problem = replace(problem, file=path, line=line)
        problems.append(problem)
    return type(exc)(problems)
