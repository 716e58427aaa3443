"""``twin render``: a city or a run folder's depth snapshot to a PNG; bad input in one line."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.viz.conftest import same_hue


def _app():
    from twin.cli import _register, app

    _register()
    return app


def _run_folder(tmp_path, pack, depth_m: float):
    """A run folder as ``twin flood`` writes it on ``pack``'s grid: flood/depth.tif, bands
    t=0s and t=600s."""
    import rasterio

    terrain = pack.terrain
    folder = tmp_path / "run"
    (folder / "flood").mkdir(parents=True)
    ny, nx = terrain.shape
    bands = [np.zeros((ny, nx), np.float32), np.full((ny, nx), depth_m, np.float32)]
    with rasterio.open(
        folder / "flood" / "depth.tif",
        "w",
        driver="GTiff",
        width=nx,
        height=ny,
        count=2,
        dtype="float32",
        crs=terrain.crs,
        transform=terrain.transform,
    ) as dst:
        for k, (band, t) in enumerate(zip(bands, (0, 600), strict=True), start=1):
            dst.write(band, k)
            dst.set_band_description(k, f"t={t}s")
    return folder


def test_render_a_city_writes_a_png(tmp_path, monaco_pack):
    from PIL import Image

    out = tmp_path / "view.png"
    result = CliRunner().invoke(_app(), ["render", "monaco", "-o", str(out), "--size", "400x300"])
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (400, 300)


def test_render_a_run_shows_its_water_and_refuses_a_time_outside_it(tmp_path, monaco_pack):
    from PIL import Image

    folder = _run_folder(tmp_path, monaco_pack, depth_m=0.5)
    dry, wet = tmp_path / "dry.png", tmp_path / "wet.png"
    for time, out in (("0", dry), ("600", wet)):
        args = [
            "render",
            str(folder),
            "--city",
            "monaco",
            "--time",
            time,
            "-o",
            str(out),
            "--size",
            "400x300",
        ]
        result = CliRunner().invoke(_app(), args)
        assert result.exit_code == 0, result.output
    water = np.array([61, 143, 214])  # the middle of the water colours, 0.5 m
    share = [
        same_hue(np.asarray(Image.open(p)).reshape(-1, 3)[:, :3], water).mean() for p in (dry, wet)
    ]
    assert share[1] > share[0] + 0.2  # half a metre everywhere on land

    result = CliRunner().invoke(
        _app(), ["render", str(folder), "--city", "monaco", "--time", "601", "-o", str(dry)]
    )
    assert result.exit_code == 2
    assert "time 601 s is outside the run's snapshots (0 s to 600 s)" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [["--map"], []])
def test_a_folder_without_snapshots_is_one_clear_message(tmp_path, args):
    result = CliRunner().invoke(_app(), ["render", str(tmp_path), "-o", "x.png", *args])
    assert result.exit_code == 2
    assert "no depth snapshots (depth.tif)" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("manifest", "said"),
    [({"format": 0, "scenario": {}}, "format 0"), ({"scenario": {}}, "no format")],
)
@pytest.mark.parametrize("args", [["--map"], [], ["--html"]])
def test_a_run_of_an_older_format_is_one_clear_message(tmp_path, monaco_pack, manifest, said, args):
    import json

    from twin.manifest import MANIFEST_FORMAT

    folder = _run_folder(tmp_path, monaco_pack, depth_m=0.5)
    (folder / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    out = tmp_path / "x.out"
    result = CliRunner().invoke(_app(), ["render", str(folder), "-o", str(out), *args])
    assert result.exit_code == 2
    text = " ".join(result.output.split())  # the console may wrap the line
    wanted = f"run written by another version of twin ({said}; this version reads format "
    assert wanted + f"{MANIFEST_FORMAT})" in text
    assert "command_line" in result.output  # the fix: rerun it
    assert "Traceback" not in result.output
    assert not out.exists()


def test_a_depth_file_of_an_older_version_is_one_clear_message(tmp_path, monaco_pack):
    import rasterio

    folder = _run_folder(tmp_path, monaco_pack, depth_m=0.5)
    with rasterio.open(folder / "flood" / "depth.tif", "r+") as dst:
        dst.set_band_description(2, "depth at 600 s")  # not t=<seconds>s
    result = CliRunner().invoke(
        _app(), ["render", str(folder), "--city", "monaco", "-o", str(tmp_path / "x.png")]
    )
    assert result.exit_code == 2
    assert "band 2 is described 'depth at 600 s'" in result.output
    assert "not a depth file of this twin version" in result.output
    assert "Traceback" not in result.output


def test_a_run_at_another_resolution_is_drawn_on_its_own_grid(tmp_path, maps_folders):
    """A run at 20 m (twin run --resolution 20) is drawn on the 20 m pack: the snapshots'
    cell size picks the pack's resolution (it was refused as a grid of another shape), and
    run.json's city options (flat, datum, dem) are passed on."""
    import json

    from twin.city import load_city
    from twin.manifest import MANIFEST_FORMAT
    from viz.cli import load_target

    coarse = load_city("monaco", resolution=20.0, maps=maps_folders)
    folder = _run_folder(tmp_path, coarse, depth_m=0.5)
    out = tmp_path / "view.png"
    args = ["render", str(folder), "--city", "monaco", "-o", str(out), "--size", "160x100"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    city = {"name": "monaco", "osm": None, "dem": [], "flat": True, "datum": 2.0}
    manifest = {"format": MANIFEST_FORMAT, "scenario": {"city": city | {"resolution": 10.0}}}
    (folder / "flood" / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    pack, state = load_target(str(folder / "flood"), None, 600.0)
    assert pack.terrain.resolution == 20.0
    assert pack.terrain.shape == coarse.terrain.shape
    assert np.allclose(pack.terrain.elevation, 2.0)  # the run's flat terrain at its datum
    assert state.depth.shape == coarse.terrain.shape


def test_render_map_writes_a_2d_map(tmp_path, monaco_pack):
    from PIL import Image

    folder = _run_folder(tmp_path, monaco_pack, depth_m=0.3)
    out = tmp_path / "map.png"
    result = CliRunner().invoke(
        _app(), ["render", str(folder), "--city", "monaco", "--map", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert Image.open(out).size[0] > 500
