"""Speed and size of viz on Monaco: scene build, one 1920x1080 off-screen frame, animation
frames per second, report size.

The case: the Monaco pack (10 m), and a run folder made here by ``twin flood
scenarios/monaco_flash_flood.yaml --until 600`` (depth snapshots at 0, 300, 600 s). The
scene is built ``--repeat`` times (median printed); one frame of the flooded state is
rendered at 1920x1080 (median of ``--repeat`` renders after a first warm one); an
animation of ``--frames`` frames at 1024x576 is written with ``twin animate``'s function
and its frames per second printed; the report of the run folder is written and its size
printed, and so is the interactive 3-D page of ``twin render RUN --html`` (time to write,
size). Targets (issue 16): scene build under 5 s, a frame under 1 s with the software
renderer, report under 10 MB.

Usage::

    python benchmarks/viz.py                 # 3 repeats, 20 animation frames
    python benchmarks/viz.py --frames 60 --repeat 5

Needs the sample maps (``TWIN_MAPS`` or ../shared/maps) and the viz extra.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("TWIN_MAPS", str(REPO.parent / "shared" / "maps"))
sys.path.insert(0, str(REPO))


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="repeats of each timing")
    parser.add_argument("--frames", type=int, default=20, help="frames of the animation")
    args = parser.parse_args(argv)

    from typer.testing import CliRunner

    from twin.city import load_city
    from twin.cli import _register, app
    from viz.animate import animate
    from viz.report import write_report
    from viz.runs import DepthSnapshots
    from viz.scene import CityScene, SceneState
    from viz.web3d import write_html3d

    pack = load_city("monaco")
    rows: list[tuple[str, str, str]] = []
    builds = []
    for k in range(args.repeat):
        start = time.perf_counter()
        scene = CityScene(pack, window_size=(1920, 1080))
        builds.append(time.perf_counter() - start)
        if k < args.repeat - 1:
            scene.close()
    rows.append(("scene build (Monaco)", f"{statistics.median(builds):.2f} s", "< 5 s"))

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "flood"
        _register()
        result = CliRunner().invoke(
            app,
            [
                "flood",
                str(REPO / "scenarios" / "monaco_flash_flood.yaml"),
                "--out",
                str(run),
                "--until",
                "600",
                "--no-progress",
            ],
        )
        if result.exit_code != 0:
            print(result.output, file=sys.stderr)
            return 1
        snaps = DepthSnapshots.find(run)
        scene.update(
            SceneState(time=float(snaps.times[-1]), depth=snaps.depth(len(snaps.times) - 1))
        )
        scene.camera("oblique")
        scene.screenshot()  # warm: first render compiles shaders
        frames = [_timed(scene.screenshot) for _ in range(args.repeat)]
        scene.close()
        rows.append(("one 1920x1080 frame", f"{statistics.median(frames):.2f} s", "< 1 s"))

        seconds = _timed(lambda: animate(run, Path(tmp) / "run.mp4", frames=args.frames))
        rows.append(
            (f"animation, {args.frames} frames 1024x576", f"{args.frames / seconds:.1f} fps", "-")
        )
        report = write_report(run, Path(tmp) / "report.html")
        rows.append(("report of the run", f"{report.stat().st_size / 1e6:.2f} MB", "< 10 MB"))

        page = Path(tmp) / "view.html"
        seconds = _timed(lambda: write_html3d(run, page))
        rows.append(("3-D page (--html): write", f"{seconds:.2f} s", "-"))
        rows.append(("3-D page (--html): size", f"{page.stat().st_size / 1e6:.2f} MB", "-"))

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>10}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>10}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
