"""The ``twin`` command: one typer app; each group of subcommands lives in its own module."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

from twin.errors import TwinError

P = ParamSpec("P")
R = TypeVar("R")

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="twin",
    help="A city digital twin for emergencies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Print a user's mistake (any :class:`~twin.errors.TwinError`) without a traceback.

    The command exits with status 2; Ctrl-C exits with 130 after a one-line note.
    """

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except TwinError as exc:
            err_console.print(f"[bold red]error:[/bold red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=2) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/yellow]")
            raise typer.Exit(code=130) from None

    return wrapper


def _register() -> None:
    # Imported here so each module can import ``app``/``console`` from this one.
    from twin.cli import (  # noqa: F401
        crowd_cmds,
        demo_cmds,
        experiment_cmds,
        flood_cmds,
        maps_cmds,
        respond_cmds,
        scenario_cmds,
        traffic_cmds,
    )


def main() -> None:
    """Entry point of the ``twin`` console script."""
    _register()
    app(prog_name="twin")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
