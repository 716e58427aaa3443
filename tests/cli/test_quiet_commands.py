"""``-q`` is honoured by ``twin maps ...`` and ``twin compare`` (issue 15): no progress bar
(the bars are built disabled), no notes on stderr; results still print. The bars are
recorded by a Progress subclass that notes whether each was disabled."""

from __future__ import annotations

import json
import os

import pytest
from rich.progress import Progress
from typer.testing import CliRunner

import twin.cli.experiment_cmds
import twin.cli.maps_cmds
from twin.cli import _register, app
from twin.cli._options import STATE

_register()
runner = CliRunner()

SCENARIO = """\
version: 1
kind: scenario
name: quiet_test
city: {name: monaco}
time: {duration: 2 h}
seed: 5
incidents:
  background: {medical: 0.6}
"""

PLAN = """\
version: 1
kind: plan
name: {name}
stations:
  - {{name: Condamine, location: [7.4205, 43.7345], units: {{ambulance: {n}}}}}
"""


@pytest.fixture
def bars(monkeypatch) -> list[bool]:
    """Whether each progress bar built by the maps and compare commands was disabled."""
    made: list[bool] = []

    class Recording(Progress):
        def __init__(self, *args, **kwargs) -> None:
            made.append(bool(kwargs.get("disable", False)))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(twin.cli.maps_cmds, "Progress", Recording)
    monkeypatch.setattr(twin.cli.experiment_cmds, "Progress", Recording)
    yield made
    STATE.quiet = False  # the callback sets it on every invocation; leave it as found


def test_maps_info_quiet_builds_no_bar(bars, monaco_dir) -> None:
    """``twin maps info``: the city-loading bar is drawn without -q and not with it; the
    summary prints either way."""
    args = ["maps", "info", "monaco", "--maps", str(monaco_dir.parent), "--json"]
    loud = runner.invoke(app, args)
    quiet = runner.invoke(app, ["-q", *args])
    assert loud.exit_code == 0, loud.output
    assert quiet.exit_code == 0, quiet.output
    assert bars == [False, True]
    assert json.loads(quiet.stdout)["drive_nodes"] == json.loads(loud.stdout)["drive_nodes"]


def test_compare_quiet_builds_no_bar_and_no_notes(bars, tmp_path, maps_folders, monaco_dir):
    """``twin compare`` twice: without -q the bars are drawn and stderr says the runs were
    reused; with -q the bars are disabled and stderr stays empty; both print the verdict
    and the study manifest's path."""
    os.environ.setdefault("COLUMNS", "160")
    (tmp_path / "s.yaml").write_text(SCENARIO)
    (tmp_path / "a.yaml").write_text(PLAN.format(name="one", n=1))
    (tmp_path / "b.yaml").write_text(PLAN.format(name="two", n=2))
    maps = os.pathsep.join(str(f) for f in maps_folders)
    args = ["compare", str(tmp_path / "s.yaml"), "--plans", str(tmp_path / "a.yaml"),
            str(tmp_path / "b.yaml"), "-n", "2", "-j", "1", "--study",
            str(tmp_path / "c.duckdb"), "--no-report"]  # fmt: skip
    made = []
    for flags in ([], [], ["-q"]):
        bars.clear()
        result = runner.invoke(app, [*flags, *args], env={"TWIN_MAPS": maps})
        assert result.exit_code == 0, result.output
        assert f"manifest {tmp_path / 'c.run.json'}" in result.stdout
        made.append((list(bars), result.stderr))
    (_, _), (loud_bars, loud_err), (quiet_bars, quiet_err) = made
    assert loud_bars == [False, False]  # the city's load, the study's runs
    assert "reused 4 finished runs" in loud_err
    assert quiet_bars == [True, True]
    assert quiet_err == ""
    assert (tmp_path / "c.run.json").is_file()
