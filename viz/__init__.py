"""Pictures of the twin: a PyVista scene of a city and a run, stills, animations, plots and
reports. viz imports twin; twin never imports viz (its commands arrive through the
``twin.cli`` entry point, see :func:`viz.cli.register`).

Off-screen rendering needs no display: with ``DISPLAY`` unset, VTK is told to open an EGL
window (Mesa's software renderer on a machine without a GPU: Debian's ``libegl1
libegl-mesa0 libgl1-mesa-dri``, installed by ``make viz-system``), which skips VTK's failed
attempt at an X connection.
"""

from __future__ import annotations

import os

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


def show(run_or_pack, **options):
    """Show a city pack, a city name or a run folder: a static image in Jupyter, an
    interactive window where a display exists, a clear error otherwise (see
    :func:`viz.window.show` for the options)."""
    from viz.window import show as _show

    return _show(run_or_pack, **options)
