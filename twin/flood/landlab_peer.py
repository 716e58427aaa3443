"""The peer run: Landlab's OverlandFlow on one of our grids, with uniform rain.

Used by the validation tests and ``benchmarks/flood.py`` to compare the same terrain and
forcing in both models. Landlab is a test-only dependency (``pip install -e '.[test]'``);
nothing in the model imports this module.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LandlabRun:
    """What a Landlab run gives back.

    Attributes
    ----------
    h_max
        Maximum depth (m) per cell, on our grid (row 0 north).
    wall
        Wall time of the stepping (s).
    steps
        Number of time steps taken.
    """

    h_max: np.ndarray
    wall: float
    steps: int


def run_landlab(
    z: np.ndarray,
    dx: float,
    sea: np.ndarray,
    *,
    rain: float,
    rain_end: float,
    t_end: float,
    dt_max: float,
    manning: float,
) -> LandlabRun:
    """Run OverlandFlow (``steep_slopes=True``) on elevation ``z`` (m, row 0 north).

    Parameters
    ----------
    z, dx
        Elevation grid (m) and its cell size (m).
    sea
        Cells held at fixed (zero) depth, like our open sea cells.
    rain, rain_end
        Uniform rain rate (m/s) from 0 to ``rain_end`` (s).
    t_end, dt_max
        Simulated time (s) and the longest step (s).
    manning
        Manning's n (s/m^(1/3)).
    """
    from landlab import RasterModelGrid
    from landlab.components import OverlandFlow
    from landlab.grid.nodestatus import NodeStatus

    ny, nx = z.shape
    grid = RasterModelGrid((ny + 2, nx + 2), xy_spacing=dx)
    # Landlab's rows run south to north: flip; pad with a ring of open boundary nodes.
    grid.add_field("topographic__elevation", np.pad(z, 1, mode="edge")[::-1].ravel().copy())
    depth = grid.add_zeros("surface_water__depth", at="node")
    status = np.full((ny + 2, nx + 2), NodeStatus.FIXED_VALUE, dtype=np.uint8)
    status[1:-1, 1:-1][~sea] = NodeStatus.CORE
    grid.status_at_node[:] = status[::-1].ravel()
    flow = OverlandFlow(grid, steep_slopes=True, mannings_n=manning, rainfall_intensity=rain)
    h_max = np.zeros_like(depth)
    t, steps = 0.0, 0
    start = time.perf_counter()
    while t < t_end:
        flow.rainfall_intensity = rain if t < rain_end else 0.0
        dt = min(flow.calc_time_step(), dt_max, t_end - t)
        if t < rain_end:
            dt = min(dt, rain_end - t)
        flow.run_one_step(dt)
        t += dt
        steps += 1
        np.maximum(h_max, depth, out=h_max)
    wall = time.perf_counter() - start
    return LandlabRun(h_max.reshape(ny + 2, nx + 2)[::-1][1:-1, 1:-1], wall, steps)
