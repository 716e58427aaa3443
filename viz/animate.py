"""``twin animate``: an MP4 of a run from its depth snapshots, one scene updated in place.

The scene is built once (:class:`viz.scene.CityScene`); each frame changes the water's
scalars and the clock label (``scene.update``) and is written with imageio-ffmpeg
(H.264). Between two snapshots the depth is interpolated linearly in time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from twin.errors import Problem, UserInputError

#: Frame size (pixels) when none is asked: multiples of 16, as H.264 encoders like.
DEFAULT_SIZE = (1024, 576)


def frame_times(snapshot_times: np.ndarray, frames: int | None) -> np.ndarray:
    """Times (s) of the frames: the snapshots' own, or ``frames`` evenly spaced over them."""
    if frames is None:
        return np.asarray(snapshot_times, dtype=float)
    if frames < 1:
        raise UserInputError(Problem(f"{frames} frames", field="--frames", fix="ask for 1 or more"))
    return np.linspace(float(snapshot_times[0]), float(snapshot_times[-1]), frames)


def depth_at(snapshots, time: float, cache: dict[int, np.ndarray]) -> np.ndarray:
    """Depth (m) at ``time``: linear in time between the snapshots around it."""
    k = snapshots.band_at(time)

    def band(i: int) -> np.ndarray:
        if i not in cache:
            for old in [j for j in cache if j < k]:  # frames only move forward
                del cache[old]
            cache[i] = snapshots.depth(i)
        return cache[i]

    times = snapshots.times
    if k + 1 >= len(times) or time <= times[k]:
        return band(k)
    w = (time - times[k]) / (times[k + 1] - times[k])
    return (1.0 - w) * band(k) + w * band(k + 1)


def animate(
    folder: Path | str,
    out: Path | str,
    *,
    frames: int | None = None,
    fps: float = 10.0,
    city: str | None = None,
    size: tuple[int, int] = DEFAULT_SIZE,
    camera: str = "oblique",
    on_frame: Callable[[int, int, float], None] | None = None,
) -> Path:
    """Write an MP4 of a run folder's depth snapshots to ``out`` (atomically).

    Parameters
    ----------
    folder
        A run folder with ``depth.tif`` (``twin flood``), or its parent.
    out
        The MP4 to write.
    frames
        Number of frames, evenly spaced over the run; default one per snapshot.
    fps
        Frames per second of the video.
    city
        City of a run folder without ``run.json``.
    size
        Frame (width, height) in pixels.
    camera
        Camera preset of the scene (overview, oblique or a place name).
    on_frame
        Called after each frame with (frame index, frame count, time in s).
    """
    import imageio_ffmpeg

    from twin.atomic import atomic_path
    from viz.cli import load_target
    from viz.runs import DepthSnapshots
    from viz.scene import CityScene, SceneState

    snapshots = DepthSnapshots.find(folder)
    times = frame_times(snapshots.times, frames)
    pack, _ = load_target(str(folder), city, float(snapshots.times[0]))
    scene = CityScene(pack, window_size=size)
    cache: dict[int, np.ndarray] = {}
    try:
        scene.camera(camera)
        with atomic_path(out) as tmp:
            writer = imageio_ffmpeg.write_frames(
                str(tmp),
                size,
                fps=fps,
                codec="libx264",
                macro_block_size=16,
                output_params=["-f", "mp4"],  # the temporary name has no .mp4 to go by
            )
            writer.send(None)
            try:
                for i, t in enumerate(times):
                    scene.update(SceneState(time=float(t), depth=depth_at(snapshots, t, cache)))
                    image = np.ascontiguousarray(scene.screenshot()[:, :, :3])
                    writer.send(image.tobytes())
                    if on_frame is not None:
                        on_frame(i, len(times), float(t))
            finally:
                writer.close()
    finally:
        scene.close()
    return Path(out)
