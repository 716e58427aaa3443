"""Flood outputs and the `twin flood` core: GeoTIFFs with CRS, CSV tables, nothing half-written."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
import rasterio
from rich.console import Console

from twin.city.terrain import TerrainGrid
from twin.cli.flood_cmds import run_flood_command
from twin.errors import UserInputError
from twin.flood import FloodConfig, FloodModel, Forcing, Gauge, Inflow
from twin.flood.forcing import uniform_rain

UTM32 = "EPSG:32632"
X0, Y0 = 370000.0, 4846000.0


def small_terrain() -> TerrainGrid:
    """A 20 x 24 valley of 10 m cells, with sea along the west edge."""
    yy, xx = np.mgrid[0:20, 0:24]
    z = 0.3 * xx + 0.2 * np.abs(yy - 10.0)
    z[:, 0] = -1.0
    return TerrainGrid(z.astype(np.float32), X0, Y0, 10.0, UTM32, "test", "synthetic")


def forcing() -> Forcing:
    inflow = Inflow((0, 600), (0.5, 0.5), [(X0 + 205, Y0 - 105)], crs=None, name="main")
    return Forcing(rainfall=(uniform_rain(2e-5, 300),), inflows=(inflow,))


def config() -> FloodConfig:
    gauges = (
        Gauge("valley", (X0 + 105, Y0 - 105), crs=None),
        Gauge("top", (X0 + 225, Y0 - 5), crs=None),
    )
    return FloodConfig(output_interval=150, gauges=gauges, gauge_interval=50)


def quiet() -> Console:
    return Console(file=io.StringIO(), width=120)


def test_run_writes_georeferenced_rasters_and_tables(tmp_path):
    """Every output is there, in the grid's CRS and transform, with one band per output."""
    report = run_flood_command(
        small_terrain(), forcing(), config(), tmp_path, duration=600, console=quiet()
    )
    names = sorted(p.name for p in report.files)
    assert names == sorted(
        [
            "depth.tif",
            "speed.tif",
            "max_depth.tif",
            "first_wet.tif",
            "volume_balance.csv",
            "gauges.csv",
            *(f"{k}_t{t:07d}s.tif" for k in ("depth", "speed") for t in range(0, 601, 150)),
        ]
    )
    assert not list(tmp_path.glob(".*partial"))
    with rasterio.open(tmp_path / "depth.tif") as ds:
        assert ds.crs.to_string() == UTM32
        assert ds.transform.c == X0
        assert ds.transform.f == Y0
        assert ds.res == (10.0, 10.0)
        assert ds.count == 5
        assert ds.descriptions[-1] == "t=600s"
        last = ds.read(5)
        assert np.isnan(last[:, 0]).all()  # sea
    with rasterio.open(tmp_path / "max_depth.tif") as ds:
        assert np.nanmax(ds.read(1)) > 0.0
    with open(tmp_path / "volume_balance.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [float(r["time_s"]) for r in rows] == [0, 150, 300, 450, 600]
    assert float(rows[-1]["inflow_m3"]) == pytest.approx(300.0)
    assert all(abs(float(r["relative_error"])) < 1e-12 for r in rows)
    with open(tmp_path / "gauges.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 13
    assert "valley_level_m" in rows[0]
    assert "top_depth_m" in rows[0]
    assert report.balance.time == 600
    assert report.substeps > 0


def test_progress_bar_and_summary_are_printed(tmp_path):
    """The console shows the balance table (the bar itself is transient)."""
    console = quiet()
    run_flood_command(
        small_terrain(),
        forcing(),
        config(),
        tmp_path,
        duration=300,
        console=console,
        snapshots=False,
    )
    text = console.file.getvalue()
    assert "balance error" in text
    assert "sub-steps" in text
    assert not (tmp_path / "depth.tif").exists()


def test_interrupted_run_writes_nothing(tmp_path, monkeypatch):
    """Ctrl-C in the middle: no output file and no temporary file is left behind."""
    calls = {"n": 0}
    original = FloodModel.advance_to

    def interrupted(self, t_end, on_output=None):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return original(self, t_end, on_output)

    monkeypatch.setattr(FloodModel, "advance_to", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_flood_command(
            small_terrain(), forcing(), config(), tmp_path, duration=600, console=quiet()
        )
    assert list(tmp_path.iterdir()) == []


def test_previous_outputs_survive_an_interrupted_rerun(tmp_path, monkeypatch):
    """A second run that is interrupted leaves the first run's files untouched."""
    run_flood_command(small_terrain(), forcing(), config(), tmp_path, duration=300, console=quiet())
    before = (tmp_path / "max_depth.tif").read_bytes()

    def boom(self, t_end, on_output=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(FloodModel, "advance_to", boom)
    with pytest.raises(KeyboardInterrupt):
        run_flood_command(
            small_terrain(), forcing(), config(), tmp_path, duration=600, console=quiet()
        )
    assert (tmp_path / "max_depth.tif").read_bytes() == before
    assert not list(tmp_path.glob(".*partial"))


def test_bad_input_fails_before_writing(tmp_path):
    """A bad duration or an inflow off the map is reported and nothing is written."""
    out = tmp_path / "out"
    with pytest.raises(UserInputError, match="duration"):
        run_flood_command(small_terrain(), forcing(), config(), out, duration=0, console=quiet())
    far = Forcing(inflows=(Inflow((0, 1), (1, 1), [(X0 - 500, Y0)], crs=None),))
    with pytest.raises(UserInputError, match="outside"):
        run_flood_command(small_terrain(), far, config(), out, duration=60, console=quiet())
    assert not out.exists()


def test_limiter_hits_are_counted_located_and_reported(tmp_path):
    """With the Froude cap set on a steep valley, the summary says how often it acted and
    where (lon/lat of the most hit cell), and the volume balance CSV counts both limiters
    at every output; the default (no cap) reports the cap never hit."""
    steep = small_terrain()
    steep = TerrainGrid(
        steep.elevation * 20, X0, Y0, 10.0, UTM32, "test", "synthetic"
    )  # 6 m a cell across: ~60 % slopes
    capped = FloodConfig(output_interval=150, froude_limit=1.0, time_step="depth")
    console = quiet()
    report = run_flood_command(
        steep, forcing(), capped, tmp_path, duration=300, console=console, snapshots=False
    )
    hits = report.limiters
    assert hits.froude_face_steps > 0
    assert 0 < hits.froude_cells <= steep.elevation.size
    row, col, n = hits.froude_worst
    assert 0 < n <= hits.froude_face_steps
    text = console.file.getvalue()
    lon, lat = report.grid.cell_lonlat(row, col)
    assert f"Froude cap: hit {hits.froude_face_steps:,} times" in text
    assert f"most at {lon:.5f}, {lat:.5f} ({n:,} times)" in text
    with open(tmp_path / "volume_balance.csv") as fh:
        rows = list(csv.DictReader(fh))
    counts = [int(r["froude_capped_face_steps"]) for r in rows]
    assert counts[0] == 0
    assert counts == sorted(counts)
    assert counts[-1] == hits.froude_face_steps
    assert int(rows[-1]["outflow_limited_cell_steps"]) == hits.outflow_cell_steps

    console = quiet()
    report = run_flood_command(
        steep, forcing(), config(), tmp_path / "b", duration=300, console=console
    )
    assert report.limiters.froude_face_steps == 0
    assert "Froude cap: never hit" in console.file.getvalue()


FULL_DISK = """\
import resource, sys
sys.path.insert(0, {tests!r})
from test_flood_outputs import config, forcing, quiet, small_terrain
from twin.cli.flood_cmds import run_flood_command
from twin.errors import UserInputError
from twin.flood import FloodModel

FloodModel.from_terrain(small_terrain(), forcing(), config()).advance_to(60)  # compiled
resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))  # bytes per file, like ulimit -f
try:
    run_flood_command(small_terrain(), forcing(), config(), {out!r}, duration=600,
                      console=quiet())
except UserInputError as exc:
    print(exc)
    sys.exit(3)
"""


def test_failed_write_keeps_the_previous_outputs(tmp_path):
    """Issue 11: a file size limit (``ulimit -f``) makes GDAL's writes fail; the run
    raises a user error naming the problem (the CLI exits 2), the previous run's files
    are byte for byte what they were and no temporary is left. Before, it reported
    success and replaced depth.tif and speed.tif with unreadable files."""
    import subprocess
    import sys
    from pathlib import Path

    run_flood_command(small_terrain(), forcing(), config(), tmp_path, duration=300, console=quiet())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert len(before) == 12  # 6 files and depth/speed at 0, 150 and 300 s
    script = FULL_DISK.format(tests=str(Path(__file__).parent), out=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 3, done.stderr
    assert "not written whole" in done.stdout or "could not write" in done.stdout
    assert "ulimit -f" in done.stdout
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_stale_partials_of_a_killed_run_are_cleaned(tmp_path):
    """Issue 11: temporaries left by a SIGKILLed run (fixed names) are deleted by the
    next run; other files in the folder are left alone."""
    stale = [tmp_path / ".depth.tif.partial", tmp_path / ".volume_balance.csv.partial"]
    for path in stale:
        path.write_bytes(b"half")
    (tmp_path / "notes.txt").write_text("mine")
    run_flood_command(small_terrain(), forcing(), config(), tmp_path, duration=150, console=quiet())
    assert not list(tmp_path.glob(".*partial"))
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("until", [float("inf"), float("nan"), -5.0, 0.0])
def test_run_length_must_be_finite_and_positive(tmp_path, until):
    """Issue 11: ``--until inf`` gave a traceback, ``nan`` and ``-5`` a silent empty run."""
    with pytest.raises(UserInputError, match="finite number of seconds > 0"):
        run_flood_command(
            small_terrain(), forcing(), config(), tmp_path / "o", duration=until, console=quiet()
        )
    assert not (tmp_path / "o").exists()


def test_summary_reports_closed_hollows(tmp_path):
    """Issue 10: the run's summary says how many closed hollows deeper than 1 m the grid
    has, what they hold and where the deepest is (here one dug 3 m into the valley)."""
    terrain = small_terrain()
    z = terrain.elevation.copy()
    z[8:11, 10:13] -= 3.0
    dug = TerrainGrid(z, X0, Y0, 10.0, UTM32, "test", "synthetic")
    console = quiet()
    run_flood_command(dug, forcing(), config(), tmp_path, duration=150, console=console)
    text = console.file.getvalue()
    assert "closed hollows deeper than 1 m: 1, holding" in text
    console = quiet()
    run_flood_command(small_terrain(), forcing(), config(), tmp_path, duration=150, console=console)
    assert "closed hollows deeper than 1 m: none" in console.file.getvalue()
