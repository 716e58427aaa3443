"""Tabular series as Parquet with CSV copies on request (twin.tables, ``--csv/--no-csv``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from twin.tables import SERIES, series_tables

REPO = Path(__file__).resolve().parents[2]
TWIN = Path(sys.executable).with_name("twin")


def test_parquet_twin_holds_the_csv_rows(tmp_path: Path) -> None:
    """Integers, floats (``nan`` missing) and text (``NA`` stays a word) read back equal;
    the CSV is kept by default."""
    (tmp_path / "events.csv").write_text(
        "time,node,speed,detail\n0.5,12,1.25,NA\n3.0,7,nan,collapse at 'x'\n"
    )
    files = series_tables(tmp_path, ["events.csv", "absent.csv"])
    assert files == [tmp_path / "events.parquet", tmp_path / "events.csv"]
    frame = pd.read_parquet(tmp_path / "events.parquet")
    assert frame["node"].tolist() == [12, 7]
    assert str(frame["node"].dtype) == "int64"
    assert frame["time"].tolist() == [0.5, 3.0]
    assert frame["speed"].iloc[0] == 1.25
    assert pd.isna(frame["speed"].iloc[1])
    assert frame["detail"].tolist() == ["NA", "collapse at 'x'"]


def test_no_csv_leaves_parquet_only(tmp_path: Path) -> None:
    """``csv=False`` removes the CSV once its Parquet twin is written; a header-only CSV
    gives an empty table with its columns."""
    (tmp_path / "gauges.csv").write_text("time_s,a\n")
    assert series_tables(tmp_path, ["gauges.csv"], csv=False) == [tmp_path / "gauges.parquet"]
    assert not (tmp_path / "gauges.csv").exists()
    frame = pd.read_parquet(tmp_path / "gauges.parquet")
    assert list(frame.columns) == ["time_s", "a"]
    assert len(frame) == 0


def _respond(scenarios: Path, out: Path, *flags: str) -> None:
    result = subprocess.run(
        [str(TWIN), "respond", "monaco_busy_day.yaml", "--plan", "plans/monaco_tiered.yaml",
         "--out", str(out), "--no-progress", *flags],
        cwd=scenarios, capture_output=True, text=True, timeout=900, env=dict(os.environ),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


@pytest.fixture
def scenarios(tmp_path: Path, monaco_dir) -> Path:
    folder = tmp_path / "scenarios"
    shutil.copytree(REPO / "scenarios", folder)
    return folder


def test_respond_csv_default_and_no_csv(scenarios: Path, tmp_path: Path) -> None:
    """``twin respond`` writes events.parquet beside events.csv by default (same rows);
    with ``--no-csv`` the Parquet file only, byte-identical to the default run's, and
    run.json records ``outputs.csv: false``."""
    _respond(scenarios, tmp_path / "default")
    _respond(scenarios, tmp_path / "parquet", "--no-csv")
    default, parquet = tmp_path / "default" / "tiered", tmp_path / "parquet" / "tiered"
    names = set(SERIES["respond"])
    assert names <= {p.name for p in default.iterdir()}
    assert not names & {p.name for p in parquet.iterdir()}
    rows = pd.read_csv(default / "events.csv", keep_default_na=False, na_values=["", "nan"])
    table = pd.read_parquet(default / "events.parquet")
    assert len(table) == len(rows) > 0
    pd.testing.assert_frame_equal(table, rows)
    assert (parquet / "events.parquet").read_bytes() == (default / "events.parquet").read_bytes()
    manifest = json.loads((parquet / "run.json").read_text())
    assert manifest["scenario"]["outputs"]["csv"] is False
    assert json.loads((default / "run.json").read_text())["scenario"]["outputs"]["csv"] is True
