"""The ``twin`` command: one typer app; each group of subcommands lives in its own module."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

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
    rich_markup_mode="rich",
)

#: Help panels of ``twin --help``, by workflow, in order.
MAPS, SCENARIO, RUN, COMPARE, RESULTS, VIEW = (
    "Maps",
    "Scenario",
    "Run",
    "Compare",
    "Results",
    "View",
)


def _print_version(value: bool) -> None:
    if value:
        from twin.versions import twin_version

        console.print(f"twin {twin_version()}", highlight=False)
        raise typer.Exit()


@app.callback()
def _global_options(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log lines (-vv: debug).")
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only errors: no progress bars, no log lines.")
    ] = False,
    log_file: Annotated[
        Path | None, typer.Option("--log-file", help="Also write the log to this file.")
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print twin's version."
        ),
    ] = False,
) -> None:
    """A city digital twin for emergencies."""
    from twin.cli._options import setup_logging

    setup_logging(verbose, quiet, log_file)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so a command stops as on Ctrl-C: finished work is
    stored, nothing is half-written, and the command exits with status 143."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated


def _os_error_text(exc: OSError) -> str:
    """``<path>: <reason>`` of an operating-system error, in one line."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    return f"{' -> '.join(paths)}: {reason}" if paths else reason


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Print what a user or the machine caused without a traceback.

    A :class:`~twin.errors.TwinError` (a user's mistake), an ``OSError`` (disk full, a
    folder one may not write in, a file gone) and ``MemoryError`` exit with status 2 after
    one line; Ctrl-C exits with 130 and SIGTERM, handled alike, with 143. Any other
    exception is a bug in twin and keeps its traceback.
    """

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _on_sigterm) if main else None
        try:
            return func(*args, **kwargs)
        except TwinError as exc:
            error_line(str(exc))
            raise typer.Exit(code=2) from None
        except KeyboardInterrupt as exc:
            terminated = isinstance(exc, Terminated) or _terminated_during(exc)
            err_console.print("[yellow]terminated[/yellow]" if terminated else
                              "[yellow]interrupted[/yellow]")  # fmt: skip
            raise typer.Exit(code=143 if terminated else 130) from None
        except MemoryError:
            error_line(
                "out of memory (fix: make the run smaller: a coarser grid, fewer agents or "
                "a shorter window; or run it on a machine with more memory)"
            )
            raise typer.Exit(code=2) from None
        except OSError as exc:
            error_line(
                f"{_os_error_text(exc)} (fix: check the path exists, that you may read and "
                "write there, and that the disk has space)"
            )
            raise typer.Exit(code=2) from None
        finally:
            if main and previous is not None:
                signal.signal(signal.SIGTERM, previous)

    return wrapper


def _terminated_during(exc: BaseException) -> bool:
    """Whether a Ctrl-C-like error came from :class:`Terminated` (DuckDB, for one, turns
    the signal handler's exception into its own interrupt, then into KeyboardInterrupt)."""
    seen = exc
    while seen is not None:
        if isinstance(seen, Terminated):
            return True
        seen = seen.__context__
    return False


def error_line(text: str) -> None:
    """Print ``error: text`` on stderr; ``text`` is shown as is (no rich markup)."""
    err_console.print(f"[bold red]error:[/bold red] {escape(text)}", highlight=False,
                      soft_wrap=True)  # fmt: skip


def _register() -> None:
    # Imported here so each module can import ``app``/``console`` from this one.
    from twin.cli import (  # noqa: F401
        crowd_cmds,
        demo_cmds,
        experiment_cmds,
        flood_cmds,
        maps_cmds,
        respond_cmds,
        results_cmds,
        run_cmds,
        scenario_cmds,
        traffic_cmds,
    )

    _register_plugins()
    _group_commands()


#: The workflow each command belongs to (its panel in ``twin --help``); a command not
#: listed (a plug-in's new one) shows under "Commands".
PANELS = {
    "maps": MAPS,
    "demo": MAPS,
    "validate": SCENARIO,
    "schema": SCENARIO,
    "flood": RUN,
    "traffic": RUN,
    "crowd": RUN,
    "respond": RUN,
    "run": RUN,
    "compare": COMPARE,
    "sweep": COMPARE,
    "results": RESULTS,
    "render": VIEW,
    "animate": VIEW,
    "report": VIEW,
    "drill": RUN,
}


def _group_commands() -> None:
    """Put every command and command group in its workflow's help panel (:data:`PANELS`)."""
    for info in [*app.registered_commands, *app.registered_groups]:
        name = info.name or (info.callback.__name__ if info.callback else None)
        if name in PANELS and not isinstance(info.rich_help_panel, str):
            info.rich_help_panel = PANELS[name]
    order = {panel: i for i, panel in enumerate((MAPS, SCENARIO, RUN, COMPARE, RESULTS, VIEW))}
    for infos in (app.registered_commands, app.registered_groups):
        infos.sort(key=lambda info: order.get(info.rich_help_panel, len(order)))


_plugins_loaded = False


def _register_plugins() -> None:
    """Add the subcommands of installed packages that declare a ``twin.cli`` entry point
    (``viz`` adds render, animate, report): each entry is a callable given :data:`app`.

    twin never imports those packages itself; one that is not installed adds nothing, and
    one that fails to load is reported in one line and leaves the other commands working.
    """
    from importlib.metadata import entry_points

    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry in entry_points(group="twin.cli"):
        try:
            entry.load()(app)
        except ImportError as exc:  # an optional extra that is not installed
            err_console.print(f"[yellow]warning:[/yellow] {entry.name} commands not loaded: {exc}")


def main() -> None:
    """Entry point of the ``twin`` console script."""
    _register()
    app(prog_name="twin")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
