"""The one error hierarchy: mistakes a user can make, each with where and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class TwinError(Exception):
    """Base of every error a user can cause; the CLI prints it without a traceback."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a user's file.

    Parameters
    ----------
    message
        What is wrong, in words.
    file
        The file it is in, if any.
    line
        1-based line number in that file, if known.
    field
        Dotted path of the field (``hazards.0.intensity``), if any.
    fix
        How to fix it.
    """

    message: str
    file: Path | str | None = None
    line: int | None = None
    field: str | None = None
    fix: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = str(self.file)
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        text = where
        if self.field:
            text += f"{self.field}: "
        text += self.message
        if self.fix:
            text += f" (fix: {self.fix})"
        return text


class UserInputError(TwinError, ValueError):
    """A user's file or argument is wrong; carries every problem found, not just the first."""

    def __init__(self, problems: Problem | list[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class MapDataError(UserInputError):
    """A map or terrain file is missing, corrupt, mismatched or does not cover the area."""


class ScenarioError(UserInputError):
    """A scenario or plan file is invalid."""


class ChecksumError(MapDataError):
    """A file's SHA-256 differs from the one the catalogue expects."""
