"""``twin compare``, ``twin sweep`` and ``twin results`` from the command line: tables,
HTML, reuse of finished runs, and one clear message (exit 2) for each bad input."""

from __future__ import annotations

import csv
import os
import socket

import pytest
from typer.testing import CliRunner

from twin.cli import _register, app

_register()
runner = CliRunner()

SCENARIO = """\
version: 1
kind: scenario
name: compare_test
city: {name: monaco}
time: {duration: 4 h}
seed: 5
incidents:
  background: {medical: 0.6, traffic_accident: 0.1}
objectives:
  primary: response_time_p90
"""

PLAN = """\
version: 1
kind: plan
name: {name}
stations:
  - {{name: Condamine, location: [7.4205, 43.7345], units: {{ambulance: 2, police: 1}}}}
  - {{name: Fontvieille, location: {where}, units: {{ambulance: 1}}}}
"""


@pytest.fixture
def files(tmp_path, monkeypatch, maps_folders, monaco_dir):
    monkeypatch.setenv("TWIN_MAPS", os.pathsep.join(str(f) for f in maps_folders))
    monkeypatch.setenv("COLUMNS", "160")
    (tmp_path / "scenario.yaml").write_text(SCENARIO)
    (tmp_path / "a.yaml").write_text(PLAN.format(name="near", where="[7.4160, 43.7295]"))
    (tmp_path / "b.yaml").write_text(PLAN.format(name="far", where="[7.4300, 43.7420]"))
    (tmp_path / "helsinki.yaml").write_text(PLAN.format(name="hki", where="[24.95, 60.17]"))
    return tmp_path


@pytest.fixture(autouse=True)
def _wide_console():
    """Table cells unwrapped, as in a wide terminal (under xdist rich assumes 80 columns)."""
    from twin.cli import console

    before = console.width
    console.width = 200
    yield
    console.width = before


def _invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_compare_prints_verdict_reuses_runs_and_exports(files):
    """A comparison prints the verdict table and writes HTML; the same command again
    reuses all runs; results list/show/export read the file."""
    study = files / "s.duckdb"
    args = ["compare", files / "scenario.yaml", "--plans", files / "a.yaml", files / "b.yaml",
            "-n", "4", "-j", "1", "--study", study, "--no-progress"]  # fmt: skip
    first = _invoke(*args)
    assert first.exit_code == 0, first.output
    assert "response p90 (min): 4 replications" in first.output
    assert "P(best)" in first.output
    assert "far" in first.output
    html = (files / "s.html").read_text()
    assert "near" in html
    assert "Δ paired t" in html
    again = _invoke(*args)
    assert again.exit_code == 0, again.output
    assert "reused 8 finished runs" in again.output
    listed = _invoke("results", "list", study)
    assert listed.exit_code == 0, listed.output
    assert "8/8" in listed.output
    shown = _invoke("results", "show", study)
    assert shown.exit_code == 0, shown.output
    assert "response p90 (min): 4 replications" in shown.output
    out = files / "runs.csv"
    exported = _invoke("results", "export", study, "--out", out)
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 8
    assert {r["plan_name"] for r in rows} == {"near", "far"}
    assert all(float(r["response_time_p90"]) > 0 for r in rows)


def test_sweep_tables_variants(files):
    """A sweep over two incident rates prints one row per variant and the wins."""
    result = _invoke(
        "sweep", files / "scenario.yaml", "--param", "incidents.background.medical=0.3,1.2",
        "--plans", files / "a.yaml", files / "b.yaml", "-n", "2", "-j", "1",
        "--study", files / "w.duckdb", "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "incidents.background.medical=0.3" in result.output
    assert "incidents.background.medical=1.2" in result.output
    assert "wins: near" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--plans", "{a}", "{hki}"], "is outside the monaco map"),
        (["--plans", "{a}", "{b}", "--objective", "response_p90"], "unknown KPI 'response_p90'"),
        (["--plans", "{a}", "{b}", "--objective", "people_exposed"], "does not report"),
        (["--plans", "{a}", "{b}", "--precision", "soon"], "--precision 'soon'"),
        (["--plans", "{a}", "{a}"], "also the name of"),
        (["--plans", "{a}", "{b}", "--scheduler", "localhost:8786"], "not a Dask scheduler"),
        (["--plans", "{a}", "{b}", "--model", "os:getcwd"], "unknown model 'os:getcwd'"),
        (["--plans", "{a}", "{b}", "--html", "{a}/x.html"], "a file, not a folder"),
    ],
    ids=[
        "other_city",
        "unknown_kpi",
        "unreported_kpi",
        "bad_precision",
        "same_name",
        "bad_url",
        "import_path_model",
        "html_under_file",
    ],
)
def test_bad_input_is_one_clear_error(files, extra, message):
    """Each mistake gives one message naming it, exit status 2 and no traceback."""
    paths = {"a": files / "a.yaml", "b": files / "b.yaml", "hki": files / "helsinki.yaml"}
    args = [a.format(**paths) for a in extra]
    result = _invoke("compare", files / "scenario.yaml", *args, "-n", "2",
                     "--study", files / "x.duckdb", "--no-progress")  # fmt: skip
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_other_city_names_plan_file_and_line(files):
    """The plan for another city is named with its file, line and field."""
    result = _invoke("compare", files / "scenario.yaml", "--plans", files / "helsinki.yaml",
                     "--study", files / "x.duckdb", "--no-progress")  # fmt: skip
    assert result.exit_code == 2
    assert f"{files / 'helsinki.yaml'}:6: stations[1].location" in result.output.replace("\n", "")


def test_unknown_objective_in_scenario_names_the_line(files):
    """An unknown KPI as the scenario's primary objective is a scenario error at its line."""
    (files / "bad.yaml").write_text(SCENARIO.replace("response_time_p90", "respnse_time"))
    result = _invoke("compare", files / "bad.yaml", "--plans", files / "a.yaml", "--no-progress")
    assert result.exit_code == 2
    assert "bad.yaml:10" in result.output
    assert "objectives.primary" in result.output


def test_unreachable_scheduler_fails_within_timeout(files):
    """A scheduler nobody listens on is reported after the given connect timeout."""
    result = _invoke("compare", files / "scenario.yaml", "--plans", files / "a.yaml",
                     "--scheduler", f"tcp://127.0.0.1:{_free_port()}", "--connect-timeout", "2",
                     "--study", files / "x.duckdb", "--no-progress")  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "cannot reach the Dask scheduler" in result.output
    assert "within 2 s" in result.output  # the --connect-timeout given, not the default


def test_study_file_problems_have_fitting_fixes(files):
    """A --study under a file, a --study that is a folder and a --study file that is not a
    DuckDB database each get their own message and fix, before the city is loaded."""
    cases = [
        (files / "a.yaml" / "s.duckdb", "a file, not a folder"),
        (files, "is a folder, not a file"),
        (files / "scenario.yaml", "not a results database"),
    ]
    for study, message in cases:
        result = _invoke("compare", files / "scenario.yaml", "--plans", files / "a.yaml",
                         "-n", "1", "--study", study, "--no-progress")  # fmt: skip
        assert result.exit_code == 2, result.output
        assert message in result.output.replace("\n", " ")
        assert "Traceback" not in result.output
    assert "give a new --study file name" in result.output.replace("\n", " ")
    assert "close the other" not in result.output


def test_outputs_folder_naming_a_file_is_refused(files):
    """The scenario's ``outputs.folder`` naming an existing file is refused at the start."""
    (files / "taken").write_text("not a folder")
    (files / "out.yaml").write_text(SCENARIO + f"outputs: {{folder: {files / 'taken'}}}\n")
    result = _invoke("compare", files / "out.yaml", "--plans", files / "a.yaml", "-n", "1",
                     "--no-progress")  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "outputs.folder" in result.output
    assert "a file, not a folder" in result.output.replace("\n", " ")


def test_export_into_a_folder_under_a_file_is_refused(files):
    """``results export --out`` below a file is refused with the path, exit 2."""
    (files / "s.duckdb").write_bytes(b"")
    result = _invoke("results", "export", files / "s.duckdb", "--out", files / "a.yaml" / "r.csv")
    assert result.exit_code == 2, result.output
    assert "a file, not a folder" in result.output.replace("\n", " ")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in read-only folders")
def test_read_only_output_folder_is_refused(files):
    """A folder without write permission is refused before the run starts."""
    folder = files / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        result = _invoke("compare", files / "scenario.yaml", "--plans", files / "a.yaml",
                         "-n", "1", "--study", folder / "s.duckdb", "--no-progress")  # fmt: skip
    finally:
        folder.chmod(0o700)
    assert result.exit_code == 2, result.output
    assert "cannot write in the output folder" in result.output


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (OSError(28, "No space left on device", "/data/out/depth.tif"), "No space left"),
        (PermissionError(13, "Permission denied", "/data/out"), "/data/out: Permission denied"),
        (MemoryError(), "out of memory"),
    ],
    ids=["disk_full", "permission", "memory"],
)
def test_os_and_memory_errors_are_one_line(error, message):
    """What the machine refuses (disk, permissions, memory) exits 2 with one line, no
    traceback; before, only TwinError was caught."""
    import typer

    from twin.cli import user_errors

    app_ = typer.Typer()

    @app_.command()
    @user_errors
    def fail() -> None:
        raise error

    result = runner.invoke(app_, [])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_bugs_keep_their_traceback():
    """Any other exception is a bug in twin: it is not swallowed."""
    import typer

    from twin.cli import user_errors

    app_ = typer.Typer()

    @app_.command()
    @user_errors
    def fail() -> None:
        raise ZeroDivisionError("a bug")

    result = runner.invoke(app_, [])
    assert isinstance(result.exception, ZeroDivisionError)


def test_plan_names_are_printed_as_written(files):
    """Plan names with brackets are shown literally, not read as rich markup (before,
    ``far [temporary]`` printed as ``far`` and ``[bold]near`` as a bold ``near``)."""
    (files / "c.yaml").write_text(PLAN.format(name="'far [temporary]'", where="[7.4300, 43.7420]"))
    (files / "d.yaml").write_text(PLAN.format(name="'[bold]near'", where="[7.4160, 43.7295]"))
    result = _invoke("compare", files / "scenario.yaml", "--plans", files / "c.yaml",
                     files / "d.yaml", "-n", "2", "-j", "1", "--study", files / "m.duckdb",
                     "--no-progress")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "│ far [temporary] │" in result.output  # verdict table row
    assert "│ [bold]near      │" in result.output
    assert "baseline far [temporary]: mean" in result.output  # KPI table title
    assert "┃ far [temporary] ┃" in result.output  # KPI table header
