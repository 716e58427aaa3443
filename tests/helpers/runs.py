"""Run a ``twin`` command in-process into an output folder, as the CLI and output tests do."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def invoke(args: Sequence[str]):
    """``twin ARGS`` in-process (typer's CliRunner) with every command registered; returns
    the runner's Result (exit_code, output)."""
    from typer.testing import CliRunner

    from twin.cli import _register, app

    _register()
    return CliRunner().invoke(app, [str(a) for a in args])


def run_into(
    command: str,
    scenario: Path,
    out: Path,
    *options: str,
    plan: Path | None = None,
):
    """``twin COMMAND SCENARIO [--plan PLAN] --out OUT [OPTIONS] --no-progress``; returns the
    Result (the caller asserts on it)."""
    files = [scenario] if plan is None else [scenario, "--plan", plan]
    return invoke([command, *files, "--out", out, *options, "--no-progress"])
