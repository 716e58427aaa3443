"""`--threads` and TWIN_THREADS on the run commands (twin traffic, crowd, respond), and
output folders checked before the city is loaded."""

from __future__ import annotations

from pathlib import Path

import numba
import pytest
from typer.testing import CliRunner

from twin.cli import _register, app, crowd_cmds, respond_cmds, traffic_cmds  # noqa: F401

_register()

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
RUNS = {
    "traffic": ["traffic", str(SCENARIOS / "monaco_flash_flood.yaml")],
    "crowd": ["crowd", str(SCENARIOS / "monaco_stadium_exit.yaml")],
    "respond": ["respond", str(SCENARIOS / "monaco_busy_day.yaml")],
}


@pytest.fixture
def numba_threads():
    """numba's thread count, put back after the test (the commands set it in-process)."""
    before = numba.get_num_threads()
    yield
    numba.set_num_threads(before)


@pytest.mark.parametrize("command", sorted(RUNS))
def test_a_bad_twin_threads_is_one_line_before_any_work(command, tmp_path, monkeypatch):
    """TWIN_THREADS=many: exit 2 naming the variable and its fix, no traceback, nothing
    written (the commands ignored it)."""
    monkeypatch.setenv("TWIN_THREADS", "many")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [*RUNS[command], "--out", str(out), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert "TWIN_THREADS='many' is not a number of threads" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("command", sorted(RUNS))
def test_threads_limits_the_kernels(command, tmp_path, numba_threads):
    """--threads 1 sets numba's thread count to 1 before the run; the run then stops at an
    output folder that cannot be made (its parent is a file), before the city loads."""
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = CliRunner().invoke(
        app, [*RUNS[command], "--out", str(blocker / "out"), "--threads", "1", "--no-progress"]
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert numba.get_num_threads() == 1


def test_respond_checks_its_output_folders_before_the_city(tmp_path, monkeypatch):
    """twin respond refuses an output folder it cannot write before the city is loaded (it
    made the folder after each run: a whole run lost, and a traceback)."""
    monkeypatch.setenv("TWIN_MAPS", str(tmp_path / "no_maps_here"))  # loading would fail
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = CliRunner().invoke(
        app, [*RUNS["respond"], "--out", str(blocker / "out"), "--no-progress"]
    )
    assert result.exit_code == 2, result.output
    assert f"the output folder is under {blocker}, which is a file" in result.output
    assert "Traceback" not in result.output
    assert "no_maps_here" not in result.output
