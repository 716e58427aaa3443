"""Options shared by the ``twin`` commands: durations with units, ``--set`` overrides of
the scenario, and the global ``-v/-q/--log-file`` state (logging, progress bars)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from twin.errors import Problem, UserInputError

if TYPE_CHECKING:
    from twin.scenario.schema import Scenario

#: Help text of every duration option.
DURATION_HELP = "a number of seconds or a duration with a unit (90, 30min, 1h30min)"


@dataclass
class CliState:
    """What the global options chose for this process: quiet hides progress bars."""

    quiet: bool = False


STATE = CliState()


def seconds(text: str | float | None, option: str) -> float | None:
    """A duration option (``30min``, ``1 h``, ``1800``; bare numbers are seconds) in s.

    Raises
    ------
    UserInputError
        Naming ``option`` if ``text`` is not a positive, finite duration.
    """
    if text is None:
        return None
    from twin.scenario.quantities import DURATION

    try:
        value = float(DURATION.parse(text))
    except Exception:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise UserInputError(
            Problem(
                f"{option} {text!r} is not a positive duration ({DURATION_HELP})",
                field=option,
                fix=f"give e.g. `{option} 30min` or `{option} 1800`",
            )
        )
    return value


def show_progress(flag: bool) -> bool:
    """Whether a command draws its progress bar: its ``--progress`` flag, unless ``-q``."""
    return flag and not STATE.quiet


SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Change a scenario field for this run: KEY=VALUE with a dotted KEY of the "
        "scenario file (e.g. time.duration=30min); validated like the file; repeatable.",
    ),
]


CsvOption = Annotated[
    bool | None,
    typer.Option(
        "--csv/--no-csv",
        help="Keep CSV copies of the tabular series beside their Parquet files; default the "
        "scenario's outputs.csv (true).",
    ),
]


def with_csv(scenario: Scenario, csv: bool | None) -> Scenario:
    """The scenario with ``outputs.csv`` set by ``--csv/--no-csv`` (None: as the file says),
    so the run's manifest records the choice."""
    if csv is None or csv == scenario.outputs.csv:
        return scenario
    from twin.scenario.problems import adopt

    outputs = scenario.outputs.model_copy(update={"csv": csv})
    changed = scenario.model_copy(update={"outputs": outputs})
    adopt(changed, scenario)  # later problems still point at the file's lines
    return changed


def parse_set(pairs: list[str]) -> list[tuple[str, list[object]]]:
    """``["time.duration=30min"]`` -> ``[("time.duration", ["30min"])]`` (YAML scalars).

    Raises
    ------
    UserInputError
        If an entry has no ``=``, no key or no value.
    """
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe")
    out: list[tuple[str, list[object]]] = []
    for pair in pairs:
        key, eq, value = pair.partition("=")
        key = key.strip()
        if not eq or not key or not value.strip():
            raise UserInputError(
                Problem(
                    f"cannot read --set {pair!r}",
                    field="--set",
                    fix="write KEY=VALUE with a dotted key, e.g. --set time.duration=30min",
                )
            )
        out.append((key, [yaml.load(value.strip())]))
    return out


def scenario_with(path: Path | str, pairs: list[str] | None) -> Scenario:
    """The scenario file at ``path``, loaded, with ``--set`` pairs applied and validated.

    The overrides go through the same path as ``twin sweep --param``
    (:func:`twin.experiment.study.scenario_variants`): the changed tree is validated as a
    whole, and problems found later still point at the scenario file's lines.

    Raises
    ------
    ScenarioError, UserInputError
        If the file is invalid, or a key names no field, or a value is invalid (the error
        names the key and the file).
    """
    from twin.scenario.loader import load_scenario

    if not pairs:
        return load_scenario(path)
    from twin.experiment.study import scenario_variants

    return scenario_variants(Path(path), parse_set(pairs), option="--set")[0].scenario


def setup_logging(verbose: int, quiet: bool, log_file: Path | None) -> None:
    """Log through rich's handler on stderr: warnings by default, info with ``-v``, debug
    with ``-vv``, errors only with ``-q``; ``--log-file`` also writes every record at that
    level (as plain text, appended) to a file."""
    from rich.logging import RichHandler

    from twin.cli import err_console

    level = logging.ERROR if quiet else max(logging.WARNING - 10 * verbose, logging.DEBUG)
    handlers: list[logging.Handler] = [
        RichHandler(console=err_console, show_path=False, rich_tracebacks=False)
    ]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handlers.append(handler)
    logging.basicConfig(level=level, format="%(message)s", handlers=handlers, force=True)
    logging.getLogger("twin").setLevel(level)
    STATE.quiet = quiet
