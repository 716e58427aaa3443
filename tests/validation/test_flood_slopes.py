"""Flood model on steep ground, default settings: Manning's normal depth on tilted planes
(aligned with the grid and at 45 degrees) and the rising limb of the kinematic wave.

Issue 12: with the old defaults (Froude cap 1, theta 0.8, a step from the depth alone)
sheet flow on 10-50 % slopes ran at critical depth, 36-121 % too deep, and flow at 45
degrees to the grid came out ~10 % too shallow (friction from one face's discharge only).
The planes are 10 m cells, n = 0.03 and 50 mm/h (aligned: 1 km long, as in the issue).
"""

from __future__ import annotations

import numpy as np
import pytest

from twin.flood import FloodConfig, FloodModel, Forcing, Inflow, mm_per_hour
from twin.flood.analytic import normal_depth
from twin.flood.forcing import uniform_rain

RAIN = mm_per_hour(50.0)
N, DX, LENGTH = 0.03, 10.0, 1000.0
SLOPES = [0.01, 0.1, 0.3, 0.5]


def rained_plane(slope: float, **config) -> FloodModel:
    """A 1 km plane (100 x 3 cells) falling to the south, rain everywhere, walls on the
    other three sides and a free outfall at the south edge."""
    ny, nx = int(LENGTH / DX), 3
    y = (np.arange(ny)[::-1] + 0.5) * DX
    z = np.repeat((slope * y)[:, None], nx, axis=1)
    edges = {"north": "closed", "west": "closed", "east": "closed", "south": "open"}
    forcing = Forcing(rainfall=(uniform_rain(RAIN, 1e7),))
    return FloodModel(z, DX, forcing, FloodConfig(manning=N, edges=edges, **config))


def equilibrium_time(slope: float) -> float:
    """Kinematic-wave time to equilibrium (s) of the plane: ``h_e / i`` with ``h_e`` the
    normal depth of the whole plane's rain, ``t_e = (n L / (sqrt(S) i^(2/3)))^(3/5)``."""
    return normal_depth(RAIN * LENGTH, N, slope) / RAIN


@pytest.mark.parametrize("slope", SLOPES)
def test_rain_on_an_aligned_plane_runs_at_normal_depth(slope):
    """After 3 equilibrium times every cell holds the normal depth of the discharge it
    passes on, ``q = i (r + 1) dx`` (the scheme's face depth is the upstream cell's, so a
    cell's depth belongs to its downstream face). Tolerance 2 % (issue 12); measured at
    most 0.3 % (1 % slope) and 0.05 % (10-50 %). The last two cells are left out: the
    critical-depth outfall raises supercritical flow there (+44 % on the last cell).
    """
    model = rained_plane(slope)
    model.advance_to(3 * equilibrium_time(slope))
    ny = model.spec.shape[0]
    q = RAIN * (np.arange(ny) + 1.0) * DX
    expected = (N * q / np.sqrt(slope)) ** 0.6
    err = model.h[: ny - 2] / expected[: ny - 2, None] - 1
    assert np.abs(err).max() < 0.02
    assert np.ptp(model.h, axis=1).max() < 1e-12  # no cross flow: columns stay equal


def diagonal_sheet(slope: float, n: int = 30, q: float = 0.014, **config) -> FloodModel:
    """An ``n x n`` plane falling to the south-east at 45 degrees to the grid, fed along
    its north and west edges with a uniform sheet of ``q`` (m2/s, the discharge of 1 km
    of 50 mm/h) flowing south-east, free outfalls on the south and east edges."""
    yy, xx = np.mgrid[0:n, 0:n]
    s = slope / np.sqrt(2.0)  # fall per metre east and per metre south
    z = -s * (xx + 0.5) * DX - s * (yy + 0.5) * DX
    z -= z.min()
    side = n * DX
    per_edge = q / np.sqrt(2.0) * side  # each component of the sheet over one edge (m3/s)
    hydrograph = ((0.0, 1e7), (per_edge, per_edge))
    west = Inflow(*hydrograph, [(0.5 * DX, side), (0.5 * DX, 0.0)], crs=None)
    north = Inflow(*hydrograph, [(0.0, side - 0.5 * DX), (side, side - 0.5 * DX)], crs=None)
    edges = {"north": "closed", "west": "closed", "east": "open", "south": "open"}
    config = FloodConfig(manning=N, edges=edges, **config)
    return FloodModel(z, DX, Forcing(inflows=(west, north)), config)


@pytest.mark.parametrize("slope", SLOPES)
def test_sheet_at_45_degrees_runs_at_normal_depth(slope):
    """A uniform sheet crossing the grid diagonally settles at the normal depth of its
    full discharge: the 2-D friction uses the velocity magnitude at each face (the cross
    discharge is the mean of the four orthogonal faces around it). Compared from the
    fifth cell after the inflow cells (fed by sources, not faces) to the fifth before the
    outfalls; tolerance 3 % (issue 12). Measured: at most 1.9-2.8 %, mean -0.65 to
    -0.73 %. Friction from the face's own discharge only made it 10 % too shallow.
    """
    q = 0.014
    model = diagonal_sheet(slope, q=q)
    h_n = normal_depth(q, N, slope)
    model.advance_to(max(600.0, 12 * h_n * 300.0 / q))  # several transit times
    err = model.h[4:-4, 4:-4] / h_n - 1
    assert np.abs(err).max() < 0.03
    assert abs(err.mean()) < 0.01


@pytest.mark.parametrize("slope", [0.1, 0.5])
def test_rising_limb_follows_the_kinematic_wave(slope):
    """Rain from t = 0 on the dry plane: the discharge at distance ``x`` down the plane
    rises as the kinematic wave says, ``q(x, t) = sqrt(S) / n (i t)^(5/3)`` until
    ``t_e(x)``, then ``i x``. Read 50 m above the outfall (whose critical-depth
    condition holds supercritical water back for a while); it reaches 98 % of ``i x``
    within 5 % of ``t_e`` (issue 12; kinematic 0.99 t_e, measured 1.02-1.04 t_e) and
    half of it within 5 % of the kinematic time (0.66 t_e; measured 0.66-0.68 t_e).
    """
    model = rained_plane(slope)
    face = model.spec.shape[0] - 5  # the face between rows 94 and 95: 950 m of plane above
    x = face * DX
    t_e = normal_depth(RAIN * x, N, slope) / RAIN
    times, q = [], []
    while model.t < 1.5 * t_e:
        model.advance_to(model.t + t_e / 200)
        times.append(model.t)
        q.append(model.qy[face].mean() / (RAIN * x))
    times, q = np.array(times), np.array(q)
    t98 = times[np.argmax(q >= 0.98)]
    t50 = times[np.argmax(q >= 0.5)]
    assert t98 / t_e == pytest.approx(1.0, abs=0.05)
    assert t50 / t_e == pytest.approx(0.5 ** (3 / 5), rel=0.05)
