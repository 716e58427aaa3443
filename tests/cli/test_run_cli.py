"""``twin run`` from the command line: the files a coupled run leaves (run.json, render
snapshots, CAP warnings) and ``twin render`` of its folder (Monaco flash flood at the
scenario's 10 m grid over its first 10 min, early-warning plan)."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twin.cli import _register, app

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "monaco_flash_flood.yaml"
EARLY = ROOT / "scenarios" / "plans" / "monaco_early_warning.yaml"

pytestmark = pytest.mark.usefixtures("monaco_env")

_register()


@pytest.fixture(scope="module")
def run_folder(monaco_env, tmp_path_factory):
    """One 10-minute run with --set (a changed rain peak) into a fresh folder."""
    mp = pytest.MonkeyPatch()
    out = tmp_path_factory.mktemp("run")
    args = ["run", str(SCENARIO), "--plan", str(EARLY), "--seed", "5", "--until", "10min",
            "--out", str(out), "--no-progress", "--no-report",
            "--set", "hazards.rainfall.hyetograph.2.intensity=95 mm/h"]  # fmt: skip
    mp.setattr(sys, "argv", ["twin", *args])  # as the shell gives it (CliRunner does not)
    result = CliRunner().invoke(app, args)
    yield out, result
    mp.undo()


def test_run_writes_its_manifest(run_folder):
    """run.json: the resolved scenario (the --set value in it, defaults filled), the plan,
    the seed, versions, the pack hash, the command line, start and end in UTC."""
    out, result = run_folder
    assert result.exit_code == 0, result.output
    data = json.loads((out / "run.json").read_text())
    assert data["seed"] == 5
    assert data["scenario"]["name"] == "monaco_flash_flood"
    assert data["scenario"]["city"]["name"] == "monaco"
    rain = next(h for h in data["scenario"]["hazards"] if h["kind"] == "rainfall")
    value, unit = rain["hyetograph"][2]["intensity"].split()  # SI with its unit
    assert (float(value), unit) == (pytest.approx(95 / 3.6e6), "m/s")
    assert data["scenario"]["flood"]["alpha"] == 0.7  # from the file
    assert data["scenario"]["outputs"]["events"] is True
    assert data["plan"]["name"] == "early_warning"
    assert len(data["pack_hash"]) == 64
    assert data["twin_version"]
    assert data["dependencies"]["numpy"]
    assert "--until" in data["command_line"]
    assert "10min" in data["command_line"]
    assert data["started"].endswith("Z")
    assert data["ended"] >= data["started"]
    assert data["extra"]["until_s"] == 600.0
    assert data["extra"]["set"] == ["hazards.rainfall.hyetograph.2.intensity=95 mm/h"]


def test_run_writes_the_promised_snapshots_and_cap_warnings(run_folder):
    """outputs.snapshots is 2 min: depth.tif and speed.tif hold 0, 2, ..., 10 min; the
    early-warning trigger's orange warning is a CAP 1.2 alert in cap/."""
    import rasterio

    out, result = run_folder
    assert result.exit_code == 0, result.output
    for name in ("depth.tif", "speed.tif"):
        with rasterio.open(out / name) as src:
            assert src.descriptions == tuple(f"t={t}s" for t in range(0, 601, 120))
            assert src.crs is not None
            last = src.read(src.count)
    import numpy as np

    assert np.nanmax(last) > 0.0  # 10 min of rain: water somewhere
    alerts = sorted((out / "cap").glob("*.xml"))
    assert len(alerts) == 1
    root = ET.parse(alerts[0]).getroot()
    assert root.tag == "{urn:oasis:names:tc:emergency:cap:1.2}alert"
    assert "leave the lower ravine" in ET.tostring(root, encoding="unicode")


def test_render_draws_a_twin_run_folder(run_folder, tmp_path):
    """`twin render <run folder>` reads the run's city from run.json and its last depth
    snapshot, and writes a PNG."""
    pytest.importorskip("pyvista")
    out, _ = run_folder
    png = tmp_path / "view.png"
    result = CliRunner().invoke(app, ["render", str(out), "-o", str(png), "--size", "320x200"])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
