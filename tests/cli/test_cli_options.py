"""The command-line conventions shared by every command (issue 15): one version, global
``-v/-q/--log-file``, help grouped by workflow, durations with units, ``--set``."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from twin.versions import twin_version

TWIN = Path(sys.executable).with_name("twin")


def _twin(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(TWIN), *args], capture_output=True, text=True, cwd=cwd, timeout=600,
        env={**__import__("os").environ, "COLUMNS": "120"},
    )  # fmt: skip


def test_version_prints_one_line_with_the_installed_version():
    result = _twin("--version")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [f"twin {twin_version()}"]
    import twin

    assert twin.__version__ == twin_version() != "unknown"


def test_help_groups_commands_by_workflow_in_order():
    result = _twin("--help")
    assert result.returncode == 0
    panels = re.findall(r"╭─ (\w+) ─", result.stdout)
    assert panels[0] == "Options"
    assert panels[1:5] == ["Maps", "Scenario", "Run", "Compare"]
    assert {"Maps", "Scenario", "Run", "Compare", "Results"} <= set(panels)
    run_panel = result.stdout.split("╭─ Run ")[1].split("╰")[0]
    for command in ("flood", "traffic", "crowd", "respond", "run"):
        assert re.search(rf"│ {command}\s", run_panel), command
    assert "╭─ Commands" not in result.stdout  # every command has its workflow


def test_log_levels_and_log_file(tmp_path):
    from twin.cli._options import STATE, setup_logging

    log = tmp_path / "logs" / "twin.log"
    try:
        setup_logging(2, False, log)
        assert logging.getLogger("twin.flood").getEffectiveLevel() == logging.DEBUG
        logging.getLogger("twin.test").debug("a debug line")
        setup_logging(0, True, None)
        assert STATE.quiet
        assert logging.getLogger("twin.flood").getEffectiveLevel() == logging.ERROR
    finally:
        setup_logging(0, False, None)
    assert "DEBUG twin.test: a debug line" in log.read_text()
    assert not STATE.quiet


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90.0), ("30min", 1800.0), ("1h30min", 5400.0), ("1s", 1.0)]
)
def test_durations_with_units(text, seconds):
    from twin.cli._options import seconds as parse

    assert parse(text, "--until") == seconds


@pytest.mark.parametrize("text", ["30 parsecs", "-5min", "0", "inf"])
def test_a_bad_duration_names_the_option(text):
    from twin.cli._options import seconds as parse
    from twin.errors import UserInputError

    with pytest.raises(UserInputError) as caught:
        parse(text, "--checkpoint-at")
    assert "--checkpoint-at" in str(caught.value)


REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("pair", "words"),
    [
        ("time.nope=3", ["monaco_flash_flood.yaml", "time.nope", "--set", "unknown field"]),
        ("time.duration=banana", ["monaco_flash_flood.yaml", "time.duration", "'banana'"]),
        ("nokey", ["--set", "'nokey'", "KEY=VALUE"]),
    ],
)
def test_set_errors_name_the_key_and_file(pair, words, tmp_path):
    result = _twin(
        "flood", "monaco_flash_flood.yaml", "--set", pair, "--out", str(tmp_path / "o"),
        cwd=REPO / "scenarios",
    )  # fmt: skip
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for word in words:
        assert word in result.stderr
    assert not (tmp_path / "o").exists()


def test_set_changes_the_scenario_that_runs():
    from twin.cli._options import scenario_with

    sc = scenario_with(REPO / "scenarios" / "monaco_flash_flood.yaml", ["time.duration=5h"])
    assert sc.time.duration == 18000.0


def test_quiet_hides_progress():
    from twin.cli._options import STATE, show_progress

    assert show_progress(True)
    assert not show_progress(False)
    STATE.quiet = True
    try:
        assert not show_progress(True)
    finally:
        STATE.quiet = False


def test_a_unit_error_names_the_option_on_the_command_line():
    result = _twin("crowd", "monaco_stadium_exit.yaml", "--dt", "1parsec", cwd=REPO / "scenarios")
    assert result.returncode == 2
    assert result.stderr.startswith("error: --dt")
    assert "'1parsec'" in result.stderr
