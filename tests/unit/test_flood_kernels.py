"""Speed-ups of the flood kernels give the bits of the plain update (no tolerance)."""

from __future__ import annotations

import numpy as np

from twin.flood import kernels
from twin.flood.kernels import CLOSED, DRY_BLOCK, INTERIOR


def _row(n: int, seed: int) -> dict[str, np.ndarray]:
    """A row of ``n`` faces: wet stretches, dry land, closed faces between wet cells, and
    stale discharges on dry faces (which the update must zero)."""
    rng = np.random.default_rng(seed)
    cells = n + 1
    z = rng.uniform(0.0, 5.0, cells)
    h = rng.uniform(0.0, 0.5, cells) * (rng.random(cells) < 0.7)
    h[DRY_BLOCK : 2 * DRY_BLOCK + 1] = 0.0  # a whole dry block, with water on both sides
    k = np.full(n, INTERIOR, np.uint8)
    k[3 * DRY_BLOCK : 4 * DRY_BLOCK] = CLOSED  # a closed block between wet cells (the sea)
    h[3 * DRY_BLOCK : 4 * DRY_BLOCK + 1] = 0.4
    z[4 * DRY_BLOCK : 5 * DRY_BLOCK + 1] = 1.0  # every face of a flat block half wet
    h[4 * DRY_BLOCK : 5 * DRY_BLOCK + 1 : 2] = 0.0
    h[4 * DRY_BLOCK + 1 : 5 * DRY_BLOCK + 1 : 2] = 0.3
    k[rng.random(n) < 0.1] = CLOSED
    q = rng.normal(0.0, 0.2, n + 2)  # nonzero on dry faces too
    return {
        "za": z[:-1], "ha": h[:-1], "zb": z[1:], "hb": h[1:],
        "q0": q[1:-1], "qm": q[:-2], "qp": q[2:],
        "k": k, "km": np.roll(k, 1), "kp": np.roll(k, -1),
        "o1": rng.normal(0, 0.1, n), "o2": rng.normal(0, 0.1, n),
        "o3": rng.normal(0, 0.1, n), "o4": rng.normal(0, 0.1, n),
        "gn2": np.full(n, 9.80665 * 0.03**2),
    }  # fmt: skip


def test_dry_block_skip_gives_the_bits_of_the_full_update():
    # 5 blocks and a partial one; Froude cap on and off, theta 1 and 0.8
    n = 5 * DRY_BLOCK + 7
    for seed, froude, theta in ((1, 0.0, 1.0), (2, 1.0, 0.8), (3, 0.0, 0.8)):
        r = _row(n, seed)
        a = list(r.values())
        dt, dx, h_min = 0.5, 10.0, 1e-4
        g_dt_dx = kernels.G * dt / dx
        out_skip, out_full = np.full(n, np.nan), np.full(n, np.nan)
        cap_skip, cap_full = np.zeros(n, np.int64), np.zeros(n, np.int64)
        bits_skip = kernels._faces_along(*a, dt, g_dt_dx, theta, h_min, froude, out_skip, cap_skip)
        w = 0.5 * (1.0 - theta)
        bits_full = kernels._moving_faces(
            *a, dt, g_dt_dx, theta, w, h_min, froude, out_full, cap_full
        )
        assert bits_skip == bits_full > 0
        assert np.array_equal(out_skip.view(np.int64), out_full.view(np.int64))
        assert np.array_equal(cap_skip, cap_full)
        # the row has skipped blocks and moving faces: the test covers both paths
        dry = (r["ha"] + r["hb"] == 0) | (r["k"] != INTERIOR)
        assert dry[DRY_BLOCK : 2 * DRY_BLOCK].all()
        assert dry[3 * DRY_BLOCK : 4 * DRY_BLOCK].all()
        assert np.count_nonzero(out_full) > n // 3
        assert np.any(r["q0"][dry] != 0)  # stale discharges on dry faces were zeroed
        assert not np.any(out_skip[dry])
        assert np.count_nonzero(out_full[4 * DRY_BLOCK : 5 * DRY_BLOCK]) > DRY_BLOCK // 2
