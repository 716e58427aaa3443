"""``twin animate``: an MP4 of a run's depth snapshots, read back with imageio."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner


def _app():
    from twin.cli import _register, app

    _register()
    return app


def _frames(path) -> list[np.ndarray]:
    import imageio.v2 as imageio

    with imageio.get_reader(path) as reader:
        return [np.asarray(f) for f in reader]


def test_animate_writes_the_requested_number_of_frames(outputs, tmp_path):
    out = tmp_path / "run.mp4"
    args = ["animate", str(outputs / "flood"), "-o", str(out), "--frames", "5"]
    result = CliRunner().invoke(_app(), [*args, "--size", "320x240", "--no-progress"])
    assert result.exit_code == 0, result.output
    frames = _frames(out)
    assert len(frames) == 5
    assert frames[0].shape == (240, 320, 3)
    # the flash flood's water grows from t = 0 to 600 s (1329 wet cells, about 1 % of the
    # grid, at 600 s): the last frame differs from the first where the water is; 30 (of
    # 765) per pixel is above H.264's colour noise
    changed = np.abs(frames[-1].astype(int) - frames[0].astype(int)).sum(axis=2) > 30
    assert changed.mean() > 0.005


def test_animate_defaults_to_one_frame_per_snapshot(outputs, tmp_path):
    from viz.runs import DepthSnapshots

    out = tmp_path / "run.mp4"
    args = ["animate", str(outputs / "flood"), "-o", str(out), "--size", "160x128"]
    result = CliRunner().invoke(_app(), [*args, "--no-progress"])
    assert result.exit_code == 0, result.output
    assert len(_frames(out)) == len(DepthSnapshots.find(outputs / "flood").times) == 3


def test_animate_bad_input_is_one_clear_message(outputs, tmp_path):
    result = CliRunner().invoke(_app(), ["animate", str(tmp_path), "-o", "x.mp4"])
    assert result.exit_code == 2
    assert "no depth snapshots (depth.tif)" in result.output
    args = ["animate", str(outputs / "flood"), "-o", str(tmp_path / "x.mp4"), "--frames", "0"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 2
    assert "0 frames" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.mp4").exists()
