"""``viz.show(run_or_pack)`` (:func:`show`): look at a city or a run from Python.

- In Jupyter (an IPython kernel): a static image, rendered off-screen (PyVista's
  ``static`` Jupyter backend does the same: one screenshot shown as a PNG), displayed
  in the notebook.
- Where a display exists (``DISPLAY`` or ``WAYLAND_DISPLAY``, or on Windows and macOS): an
  interactive PyVista window (rotate, zoom; close it to return).
- Headless, outside Jupyter: a :class:`twin.errors.UserInputError` saying so and what to
  use instead (``twin render``, or ``backend="static"`` for an image).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from twin.errors import Problem, UserInputError

BACKENDS = ("window", "static")


def in_jupyter() -> bool:
    """Whether this Python runs in a Jupyter kernel (IPython's ZMQ shell)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ip = shell.get_ipython()
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def has_display() -> bool:
    """Whether a window can be opened: a desktop OS, or an X11/Wayland display named."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _pack_and_state(run_or_pack: Any, time: float | None, city: str | None):
    from viz.cli import load_target
    from viz.scene import SceneState

    if hasattr(run_or_pack, "terrain") and hasattr(run_or_pack, "buildings"):
        return run_or_pack, SceneState()
    return load_target(str(run_or_pack) if isinstance(run_or_pack, Path) else run_or_pack,
                       city, time)  # fmt: skip


def show(
    run_or_pack: Any,
    *,
    time: float | None = None,
    city: str | None = None,
    camera: str = "oblique",
    backend: str | None = None,
    window_size: tuple[int, int] = (1024, 640),
):
    """Show a city pack, a city by name or a run folder (its depth at ``time``, s; default
    its last snapshot).

    Parameters
    ----------
    run_or_pack
        A :class:`twin.city.CityPack`, a city name (``"monaco"``) or a run folder.
    time
        Seconds since the start (run folders).
    city
        City of a run folder without ``run.json``.
    camera
        ``overview``, ``oblique`` or a place name.
    backend
        ``"window"`` (interactive), ``"static"`` (an image) or None: static in Jupyter,
        a window where a display exists.
    window_size
        (width, height), pixels.

    Returns
    -------
    IPython.display.Image or PIL.Image.Image or None
        The static image (IPython's where IPython is installed, else PIL's); None after
        a window closes.
    """
    if backend is None:
        if in_jupyter():
            backend = "static"
        elif has_display():
            backend = "window"
        else:
            raise UserInputError(
                Problem(
                    "no display to open a window on (DISPLAY and WAYLAND_DISPLAY are not set) "
                    "and this is not Jupyter",
                    field="backend",
                    fix="write an image with `twin render RUN -o view.png` (or --html for a "
                    "page), call viz.show(..., backend='static') for an image, or run "
                    "under a display (xvfb-run python ...)",
                )
            )
    if backend not in BACKENDS:
        raise UserInputError(
            Problem(f"no backend {backend!r}", field="backend", fix="use 'window' or 'static'")
        )
    from viz.scene import CityScene

    pack, state = _pack_and_state(run_or_pack, time, city)
    scene = CityScene(pack, window_size=window_size, off_screen=backend == "static")
    scene.update(state)
    scene.camera(camera)
    if backend == "window":
        scene.plotter.show()  # blocks until the window closes, then releases it
        return None
    try:
        image = scene.screenshot()
    finally:
        scene.close()
    import io

    from PIL import Image

    picture = Image.fromarray(image[:, :, :3])
    try:
        from IPython.display import Image as IPythonImage
    except ImportError:
        return picture
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return IPythonImage(data=buffer.getvalue(), format="png")
