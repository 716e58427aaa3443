"""viz's ``twin`` subcommands (render, ...), added through the ``twin.cli`` entry point.

The commands only parse, call viz and print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add viz's commands to the ``twin`` app."""
    from twin.cli import user_errors

    app.command("render")(user_errors(render_command))
    app.command("report")(user_errors(report_command))
    app.command("animate")(user_errors(animate_command))
    from viz.drill.cli import drill_command

    app.command("drill")(user_errors(drill_command))
    from twin.plugins import AFTER_RUN

    AFTER_RUN["report"] = _report_after_run


def _report_after_run(*args, **kwargs):
    """The after-run report hook; viz.report (matplotlib, pandas) is imported only when a
    run asks for its report, so every other ``twin`` command starts without it."""
    from viz.report import report_after_run

    return report_after_run(*args, **kwargs)


def _size(text: str) -> tuple[int, int]:
    from twin.errors import Problem, UserInputError

    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        width = height = 0
    if width < 16 or height < 16:
        raise UserInputError(
            Problem(
                f"{text!r} is not a window size", field="--size", fix="write WxH, e.g. 1920x1080"
            )
        )
    return width, height


def load_target(target: str, city: str | None, time: float | None):
    """The pack and the state to draw: a city by name (dry, t = 0), or a run folder's depth
    snapshot at ``time`` (default: its last) on the city and terrain the run used
    (:func:`viz.runs.load_run_pack`: run.json's city, flat at its datum where the run was
    flat, at the snapshots' cell size)."""
    from twin.city import load_city
    from twin.errors import Problem, UserInputError
    from viz.runs import DepthSnapshots, load_run_pack, run_city
    from viz.scene import SceneState

    folder = Path(target)
    if not folder.is_dir():
        if time not in (None, 0.0):
            raise UserInputError(
                Problem(
                    f"{target!r} is a city, which has no times",
                    field="--time",
                    fix="pass a run folder to draw a time",
                )
            )
        return load_city(target), SceneState()
    snapshots = DepthSnapshots.find(folder)
    index = len(snapshots.times) - 1 if time is None else snapshots.band_at(time)
    pack = load_run_pack(folder, city=city, resolution=snapshots.resolution)
    name = city or run_city(folder)
    depth = snapshots.depth(index)
    if depth.shape != pack.terrain.shape:
        raise UserInputError(
            Problem(
                f"depth grid {depth.shape} is not the {name} pack's terrain "
                f"{pack.terrain.shape} at {snapshots.resolution:g} m",
                file=snapshots.path,
                field="--city",
                fix="pass the city the run used",
            )
        )
    return pack, SceneState(time=float(snapshots.times[index]), depth=depth)


def render_command(
    target: Annotated[str, typer.Argument(help="A city (monaco) or a run folder.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Image to write (PNG).")],
    time: Annotated[
        float | None, typer.Option(help="Seconds since the start (run folders; default: last).")
    ] = None,
    camera: Annotated[str, typer.Option(help="overview, oblique or a place name.")] = "overview",
    city: Annotated[str | None, typer.Option(help="City of a run without run.json.")] = None,
    map2d: Annotated[
        bool, typer.Option("--map", help="A 2-D top-down map (matplotlib) instead of 3-D.")
    ] = False,
    html: Annotated[
        bool,
        typer.Option(
            "--html",
            help="An offline interactive 3-D page (WebGL) with a time slider over the run's "
            "snapshots.",
        ),
    ] = False,
    stills: Annotated[
        bool,
        typer.Option(
            "--stills",
            help="With --html: a page of pre-rendered images instead (no WebGL needed; "
            "overview and oblique views only).",
        ),
    ] = False,
    gltf: Annotated[
        bool, typer.Option("--gltf", help="The 3-D scene at --time as glTF 2.0 (Blender, Cesium).")
    ] = False,
    size: Annotated[
        str | None,
        typer.Option(help="Image size WxH (3-D; default 1600x1000, --html --stills 960x600)."),
    ] = None,
    exaggeration: Annotated[float, typer.Option(help="Vertical exaggeration (3-D).")] = 1.5,
) -> None:
    """Draw a city or a run at one time to a PNG (off-screen; no display needed), or write
    an offline interactive 3-D page (--html; --html --stills: pre-rendered images) or a
    glTF scene (--gltf)."""
    from twin.cli import console
    from twin.errors import Problem, UserInputError

    window = _size(size or ("960x600" if html else "1600x1000"))
    if sum((map2d, html, gltf)) > 1:
        raise UserInputError(
            Problem("--map, --html and --gltf each choose the output", fix="pass one of them")
        )
    if stills and not html:
        raise UserInputError(
            Problem("--stills chooses the kind of --html page", fix="pass --html --stills")
        )
    if html:
        if time is not None:
            raise UserInputError(
                Problem(
                    "the HTML page shows every snapshot", field="--time", fix="leave --time out"
                )
            )
        if not stills and size is not None:
            raise UserInputError(
                Problem(
                    "the 3-D page fills the browser window; it has no image size",
                    field="--size",
                    fix="leave --size out, or add --stills for a page of images of that size",
                )
            )
        if stills:
            from viz.web import write_html

            path = write_html(target, out, city=city, size=window, exaggeration=exaggeration)
        else:
            from viz.web3d import write_html3d

            path = write_html3d(target, out, city=city, exaggeration=exaggeration)
        console.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
        return
    if gltf:
        from viz.web import write_gltf

        path = write_gltf(target, out, city=city, time=time, exaggeration=exaggeration)
        console.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
        return
    pack, state = load_target(target, city, time)
    if map2d:
        from viz.map2d import draw_map

        draw_map(pack, state, out)
    else:
        from viz.scene import CityScene

        scene = CityScene(pack, exaggeration=exaggeration, window_size=window)
        try:
            scene.update(state)
            scene.camera(camera)
            scene.screenshot(out)
        finally:
            scene.close()
    console.print(f"wrote {out}")


def report_command(
    target: Annotated[
        Path, typer.Argument(help="A run's --out folder, or a study database (.duckdb).")
    ],
    out: Annotated[Path, typer.Option("-o", "--out", help="HTML file to write.")],
    city: Annotated[str | None, typer.Option(help="City of a run without run.json.")] = None,
) -> None:
    """Write one self-contained HTML report (images inlined, no network) of a run or study."""
    from twin.cli import console
    from viz.report import write_report

    path = write_report(target, out, city=city)
    console.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


def animate_command(
    target: Annotated[Path, typer.Argument(help="A run folder with depth snapshots.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="MP4 to write.")],
    frames: Annotated[
        int | None, typer.Option(help="Frames over the run (default: one per snapshot).")
    ] = None,
    fps: Annotated[float, typer.Option(help="Frames per second.")] = 10.0,
    camera: Annotated[str, typer.Option(help="overview, oblique or a place name.")] = "oblique",
    city: Annotated[str | None, typer.Option(help="City of a run without run.json.")] = None,
    size: Annotated[str, typer.Option(help="Frame size WxH.")] = "1024x576",
    progress: Annotated[bool, typer.Option(help="Show a progress bar (stderr).")] = True,
) -> None:
    """Write an MP4 of a run's water over time (off-screen; no display needed)."""
    from rich.console import Console
    from rich.progress import Progress

    from twin.cli import console
    from viz.animate import animate

    window = _size(size)
    with Progress(console=Console(stderr=True), disable=not progress) as bar:
        task = bar.add_task("frames", total=None)

        def on_frame(i: int, n: int, t: float) -> None:
            bar.update(task, completed=i + 1, total=n, description=f"frame t={t:g} s")

        path = animate(
            target,
            out,
            frames=frames,
            fps=fps,
            city=city,
            size=window,
            camera=camera,
            on_frame=on_frame,
        )
    console.print(f"wrote {path}")
