"""Flood snapshots one GeoTIFF per output time, with the time in the name and the tags, so
GIS tools that read time per file (QGIS's temporal controller) see time, not bands."""

from __future__ import annotations

import io
from datetime import datetime

import numpy as np
import rasterio
from rich.console import Console

from twin.city.terrain import TerrainGrid
from twin.cli.flood_cmds import run_flood_command
from twin.flood import FloodConfig, Forcing
from twin.flood.forcing import uniform_rain

UTM32 = "EPSG:32632"
X0, Y0 = 370000.0, 4846000.0


def _terrain() -> TerrainGrid:
    yy, xx = np.mgrid[0:16, 0:16]
    z = 0.3 * xx + 0.2 * np.abs(yy - 8.0)
    return TerrainGrid(z.astype(np.float32), X0, Y0, 10.0, UTM32, "test", "synthetic")


def _run(folder, duration: float, start: datetime | None = None) -> None:
    run_flood_command(
        _terrain(),
        Forcing(rainfall=(uniform_rain(2e-5, 300),)),
        FloodConfig(output_interval=150),
        folder,
        duration=duration,
        console=Console(file=io.StringIO()),
        progress=False,
        start_time=start,
    )


def test_one_geotiff_per_output_time_with_its_time(tmp_path):
    """depth_t0000300s.tif: one band in the grid's CRS equal to depth.tif's band at 300 s,
    tagged time_s 300, the clock time and TIFFTAG_DATETIME from the scenario's start."""
    _run(tmp_path, 600, start=datetime(2024, 10, 17, 14, 0, 0))
    files = sorted(p.name for p in tmp_path.glob("depth_t*s.tif"))
    assert files == [f"depth_t{t:07d}s.tif" for t in (0, 150, 300, 450, 600)]
    with (
        rasterio.open(tmp_path / "depth_t0000300s.tif") as ds,
        rasterio.open(tmp_path / "depth.tif") as bands,
    ):
        assert ds.crs.to_string() == UTM32
        assert ds.count == 1
        assert ds.transform == bands.transform
        tags = ds.tags()
        assert tags["time_s"] == "300"
        assert tags["time"] == "2024-10-17T14:05:00"
        assert tags["TIFFTAG_DATETIME"] == "2024:10:17 14:05:00"
        assert bands.descriptions[2] == "t=300s"
        np.testing.assert_array_equal(ds.read(1), bands.read(3))
        assert np.nanmax(ds.read(1)) > 0.0  # it rained for 300 s
    with rasterio.open(tmp_path / "speed_t0000600s.tif") as ds:
        assert ds.tags()["time_s"] == "600"


def test_without_a_start_time_counts_from_the_epoch_and_stale_times_go(tmp_path):
    """No start: the date tags count from 1970-01-01; a shorter rerun into the same folder
    removes the per-time files of times it did not reach."""
    _run(tmp_path, 600)
    _run(tmp_path, 300)
    assert sorted(p.name for p in tmp_path.glob("depth_t*s.tif")) == [
        f"depth_t{t:07d}s.tif" for t in (0, 150, 300)
    ]
    with rasterio.open(tmp_path / "depth_t0000150s.tif") as ds:
        assert ds.tags()["TIFFTAG_DATETIME"] == "1970:01:01 00:02:30"
