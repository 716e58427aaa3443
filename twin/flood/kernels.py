"""Array kernels of the local inertial shallow-water scheme (compiled with numba).

Grid and staggering (``dx`` = cell side, m; row 0 is the north edge)::

    h, z      (ny, nx)      depth and bed elevation at cell centres (m)
    qx        (ny, nx + 1)  unit discharge (m2/s) on the west face of cell (j, i),
                            i.e. between cells (j, i - 1) and (j, i); > 0 flows east
    qy        (ny + 1, nx)  unit discharge (m2/s) on the north face of cell (j, i),
                            i.e. between cells (j - 1, i) and (j, i); > 0 flows south
    kx, ky    like qx, qy   face kind: CLOSED, INTERIOR or OPEN (a map edge)
    kind      (ny, nx)      cell kind: LAND (solved), SEA (level imposed), BLOCKED

One sub-step of length ``dt`` is three passes:

1. :func:`face_discharge`: momentum on every face (Bates et al. 2010, eq. 11, with the
   spatial average of de Almeida et al. 2012, eq. 14)::

       h_f = max(eta_a, eta_b) - max(z_a, z_b)                       (face flow depth)
       q*  = theta q + (1 - theta) / 2 (q_up + q_down)               (parallel faces)
             - g h_f dt (eta_b - eta_a) / dx
       q_o = (q_1 + q_2 + q_3 + q_4) / 4          (the four orthogonal faces around it)
       q' (1 + a |(q', q_o)|) = q*,   a = g n^2 dt / h_f^(7/3)      (2-D friction)
       |q'| <= Fr_max h_f sqrt(g h_f)                       (Froude cap, off by default)

   Friction is implicit in ``|q'|`` and uses the magnitude of the discharge vector, the
   face's own discharge and the cross discharge ``q_o`` of its neighbours (as LISFLOOD-FP
   8): with the face's discharge alone, a sheet crossing the grid at 45 degrees is ~10 %
   too shallow. ``|q'|`` solves ``|q'| (1 + a sqrt(|q'|^2 + q_o^2)) = |q*|``: first with
   ``q_o = 0`` (the quadratic, exactly: ``2 |q*| / (1 + sqrt(1 + 4 a |q*|))``), then two
   Newton steps, which approach the root from above without overshoot (the left side is
   convex and increasing); they leave |q'| within 9e-4 relative of the root (1.5e-4 at 45
   degrees; measured for a from 1e-3 to 1e6 and |q*| from 1e-6 to 10 m2/s), like an error
   of 0.1 % in Manning's n.
   Bates et al. use the old ``|q|``; when friction dominates (thin sheets on slopes, dt
   >> the friction time) that update maps ``q -> q_e^2 / q`` around the Manning
   discharge ``q_e``, a neutral oscillation which, coupled with depth, grew into 170 m/s
   checkerboards on a 1 % plane in our tests. Both have the same steady state (Manning's
   normal flow). Faces with ``h_f <= h_min`` carry nothing. Open edges let water out at
   critical depth, ``q = h sqrt(g h)`` (outward only).

   The same pass returns the largest wave speed ``|q'| / h_f + |q_o| / h_c + sqrt(g h_f)``
   over wet faces (``h_c``: the deeper of the face's two cells, or ``h_f`` if more), from
   which the model takes the next step (``FloodConfig.time_step``).
   Faces go by blocks of :data:`DRY_BLOCK` along a row: a block whose every face is dry
   (both cells empty) or not interior (closed: between sea cells, against buildings) is
   written as 0 without the update (:func:`_dry_faces`), which gives the same bits. On the
   Monaco flash flood (10 m, 4 h) those are the sea, the buildings and, once the rain
   stops, most of the land (2/3 of the sub-steps); bit-identical results.
2. :func:`outflow_ratio`: a land cell whose outflow in ``dt`` exceeds its water,
   ``V_out = dt / dx * sum(outgoing q) > h``, gets ratio ``h / V_out`` (else 1).
3. :func:`continuity`: every face's discharge is multiplied by the ratio of the cell it
   drains (its donor), which keeps depths >= 0 and conserves mass exactly; then::

       h' = h + dt / dx (q_w - q_e + q_n - q_s) + rain_rate dt - min(h, sink_depth)

   Sea cells are reset to ``max(level - z, 0)`` after counting what crossed into them.
   The same pass keeps the running maximum depth and the time of first wetting and
   returns the largest land depth, for the next time step.

Every kernel is a pure function of its array arguments (it writes only into the arrays
named as outputs) and runs its outer loop over rows in parallel.

Why this time step and no Froude cap (issue 12, chosen by measurement). The scheme has no
advection term, and on steep ground friction dominates: the flow is a kinematic wave whose
celerity, 5/3 of the flow speed, can far exceed ``sqrt(g h)`` in a thin fast sheet. A step
from the depth alone (``alpha dx / sqrt(g h_max)``, Bates et al. 2010) is then too long
and the flow grows checkerboards unless its discharge is capped at ``Fr = 1``, and the cap
makes sheet flow run at critical instead of normal depth (+36 to +121 % on 10-50 %
slopes). Taking the step from the flow speed as well, ``alpha dx / max(|q| / h_f + |q_o| /
h_c + sqrt(g h_f))`` (the sum of both components' speeds, as a 2-D CFL condition needs:
with the face's own speed only, sheets at 45 degrees on 10-50 % slopes broke into roll
waves), keeps the uncapped scheme stable on 1-50 % planes at the normal depth (within
0.4 % aligned, 3 % at 45 degrees) and converged: on Monaco it agrees with its own 0.25 s
run to IoU 1.00. The cross speed is divided by the deeper cell's depth, not the face's:
over ``h_f``, thin bank faces beside a street carrying water showed 19 m/s and cut the
step to a third (Monaco 30 m: 9,177 sub-steps instead of 1,984 for the 2 h storm; the
capped scheme takes 1,874). With it the correct default costs about as many sub-steps as
the capped one, so local sub-stepping of fast cells is not needed.

Cost (Monaco at 10 m, 94,800 cells, one core of a Xeon with AVX-512; LLVM uses 4-wide
vectors; measured before issue 12 added the 2-D friction's Newton steps and the wave speed
to the face pass, not re-measured since): face pass ~0.63 ms (per face a cube root by
Newton steps, two square roots and a division), limiter ~0.10 ms, continuity ~0.27 ms (it
moves ~100 bytes per cell, from L2/L3: the state is ~10 MB, yet 30 m grids that fit in L2
cost the same per cell), Python and kernel launches ~0.02-0.04 ms; two cores take ~0.53 ms
a sub-step (180 M cell-updates/s).
The face and continuity loops must vectorise to get there: keep them free of indirect
loads (the continuity pass once read rain by zone and ran 1.7x slower), of numba's float
``max`` in reductions and of integer divisions. A fused one-pass variant (rows pipelined,
chunk halos snapshotted) gave the same depths (to 1e-14 m) but no gain on one thread, so
the passes stay apart. Each pass ends in a barrier: on a machine whose cores
are busy with other work, set ``FloodConfig.threads = 1``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import numba as nb
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

#: Gravitational acceleration (m/s2), as in scipy.constants and Landlab.
G = 9.80665

LAND, SEA, BLOCKED = 0, 1, 2
CLOSED, INTERIOR, OPEN = 0, 1, 2

#: Faces per block of the dry test in the face pass (see :func:`_dry_faces`).
DRY_BLOCK = 32


@contextmanager
def threads(n: int | None) -> Iterator[None]:
    """Run the kernels inside on ``n`` threads (``None``: leave numba's setting alone).

    numba's thread count is per calling thread; it is restored on the way out.
    """
    if n is None:
        yield
        return
    before = nb.get_num_threads()
    nb.set_num_threads(min(n, nb.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        nb.set_num_threads(before)


#: High 32 bits of the inverse cube root's bit-trick constant for float64.
_INV_CBRT_MAGIC_HI = 0x553EF0FF


@intrinsic
def _float_bits(typingctx, x):
    """The bits of a float64 as an int64 (a no-op cast in machine code)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _bits_float(typingctx, x):
    """An int64's bits read as a float64."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@nb.njit(inline="always")
def inv_cbrt(x):
    """``x ** (-1/3)`` for ``x > 0`` with a relative error below 3e-10.

    A first guess from the float's bits (exponent / -3, 3 % off; on the high 32 bits so
    that loops over it vectorise) refined by three Newton steps ``y <- y (4 - x y^3) / 3``
    (quadratic convergence: 3e-2, 2e-3, 1e-5, 3e-10). Only multiplications: 10x faster
    than libm's ``cbrt`` plus a division, which made up most of the scheme's cost. The
    friction factor ``y^7`` is then within 2e-9, far below the uncertainty of Manning's n.
    """
    hi = (_float_bits(x) >> 32) & 0x7FFFFFFF  # x > 0: the sign bit is 0
    # hi // 3 as a multiply and shift (exact for hi < 2^32), which vectorises cheaply
    y = _bits_float((_INV_CBRT_MAGIC_HI - ((hi * 0xAAAAAAAB) >> 33)) << 32)
    x3 = x * (1.0 / 3.0)
    for _ in range(3):
        y = y * ((4.0 / 3.0) - x3 * (y * y * y))  # 4 operations a step (6 without x3)
    return y


@nb.njit(inline="always", fastmath={"contract"})
def _faces_along(
    za, ha, zb, hb, q0, qm, qp, k, km, kp, o1, o2, o3, o4, gn2, dt, g_dt_dx, theta, h_min,
    froude, out, capped,
):  # fmt: skip
    """Momentum update of a run of interior-or-closed faces (1-D views of equal length).

    Face ``m`` lies between cells ``a`` and ``b`` (``a`` west or north of it); ``qm``/``qp``
    are the discharges of the parallel faces upstream and downstream of it and ``k``,
    ``km``, ``kp`` their kinds; ``o1..o4`` the four orthogonal faces around it (their mean
    is the cross discharge of the 2-D friction). ``capped`` counts the face's Froude-cap
    hits. The loop has no data-dependent exit, so it vectorises.

    Returns the bits of the largest ``|q'| / h_f + sqrt(g h_f)`` (m/s) over wet faces.
    """
    w = 0.5 * (1.0 - theta)
    speed_bits = 0
    n = out.shape[0]
    m0 = 0
    while m0 < n:
        m1 = min(m0 + DRY_BLOCK, n)
        # Dry blocks (dry land, sea, buildings) carry 0, see _dry_faces
        if _dry_faces(ha[m0:m1], hb[m0:m1], k[m0:m1]):
            out[m0:m1] = 0.0
            m0 = m1
            continue
        # the run of blocks up to the next dry one, updated in one vectorised loop (per
        # block, taking the views made the wet benchmarks/flood.py case slower)
        while m1 < n:
            e = min(m1 + DRY_BLOCK, n)
            if _dry_faces(ha[m1:e], hb[m1:e], k[m1:e]):
                break
            m1 = e
        speed_bits = max(
            speed_bits,
            _moving_faces(
                za[m0:m1], ha[m0:m1], zb[m0:m1], hb[m0:m1], q0[m0:m1], qm[m0:m1],
                qp[m0:m1], k[m0:m1], km[m0:m1], kp[m0:m1], o1[m0:m1], o2[m0:m1],
                o3[m0:m1], o4[m0:m1], gn2[m0:m1], dt, g_dt_dx, theta, w, h_min, froude,
                out[m0:m1], capped[m0:m1],
            ),
        )  # fmt: skip
        m0 = m1
    return speed_bits


@nb.njit(inline="always")
def _dry_faces(ha, hb, k):
    """Whether every face of a block is dry: both its cells hold no water, or it is not
    interior (closed, e.g. between sea cells or against a building).

    Such a face carries 0 and adds no wave speed (its flow depth ``h_f`` is 0, or it is
    not solved), whatever its discharge was, so :func:`_moving_faces` would write 0 and
    report 0 for it: skipping it gives the same bits. Three loads a face, against some 15
    loads and a cube root, three square roots and three divisions for the update.
    """
    wet_bits = 0
    for m in range(k.shape[0]):
        depth = ha[m] + hb[m]  # both >= 0: 0 only when both are 0
        wet_bits = max(wet_bits, _float_bits(depth if k[m] == INTERIOR else 0.0))
    return wet_bits == 0


@nb.njit(inline="always", fastmath={"contract"})
def _moving_faces(
    za, ha, zb, hb, q0, qm, qp, k, km, kp, o1, o2, o3, o4, gn2, dt, g_dt_dx, theta, w, h_min,
    froude, out, capped,
):  # fmt: skip
    """The momentum update of a block of faces (arguments as :func:`_faces_along`)."""
    speed_bits = 0
    for m in range(out.shape[0]):
        d = max(za[m] + ha[m], zb[m] + hb[m]) - max(za[m], zb[m])
        y = inv_cbrt(max(d, h_min))
        y3 = y * y * y
        a = dt * gn2[m] * y * y3 * y3  # g n^2 dt / h_f^(7/3)
        q = q0[m]
        q_up = qm[m] if km[m] != CLOSED else q
        q_down = qp[m] if kp[m] != CLOSED else q
        q_star = theta * q + w * (q_up + q_down) - g_dt_dx * d * (zb[m] + hb[m] - za[m] - ha[m])
        # |q_new| (1 + a |(q_new, q_o)|) = |q_star|: first with q_o = 0 (exact), then two
        # Newton steps, which approach the root from above (see the module docstring)
        qs = abs(q_star)
        qo = 0.25 * (o1[m] + o2[m] + o3[m] + o4[m])
        qo2 = qo * qo
        mag = 2.0 * qs / (1.0 + math.sqrt(1.0 + 4.0 * a * qs))
        for _ in range(2):
            s = math.sqrt(mag * mag + qo2)
            mag -= (mag + a * mag * s - qs) / (1.0 + a * (s + mag * mag / max(s, 1e-300)))
        q_new = math.copysign(mag, q_star)
        if froude > 0.0:
            cap = froude * d * math.sqrt(G * max(d, 0.0))
            hit = abs(q_new) > cap
            q_new = min(max(q_new, -cap), cap)
            capped[m] += 1 if (hit and d > h_min and k[m] == INTERIOR) else 0
        wet = d > h_min and k[m] == INTERIOR
        out[m] = q_new if wet else 0.0
        # cross speed over the deeper of the two cells: over h_f, a thin bank face beside
        # a channel would show the channel's discharge as a 20 m/s flow
        h_cross = max(d, ha[m], hb[m], h_min)
        speed = abs(q_new) * y3 + abs(qo) / h_cross + math.sqrt(G * d)  # y3 = 1 / h_f
        speed_bits = max(speed_bits, _float_bits(speed if wet else 0.0))
    return speed_bits


@nb.njit(inline="always")
def _critical_outflow(h_cell, h_min):
    """Discharge (m2/s) out of a cell over a free edge at critical depth: ``h sqrt(g h)``."""
    return h_cell * math.sqrt(G * h_cell) if h_cell > h_min else 0.0


@nb.njit(parallel=True, cache=True, fastmath={"contract"})
def face_discharge(
    z, h, qx, qy, kx, ky, gn2x, gn2y, dt, dx, theta, h_min, froude, qx_out, qy_out,
    capped_x, capped_y,
):  # fmt: skip
    """Momentum update of every face: pass 1 of a sub-step.

    Parameters
    ----------
    z, h : ndarray (ny, nx) of float64
        Bed elevation and depth (m).
    qx, qy : ndarray (ny, nx + 1), (ny + 1, nx) of float64
        Discharge at the start of the step (m2/s); read only.
    kx, ky : ndarray of uint8, shapes of qx, qy
        Face kinds.
    gn2x, gn2y : ndarray of float64, shapes of qx, qy
        ``g n^2`` at each face (m^(1/3)): gravity times Manning's n squared.
    dt, dx : float
        Step (s) and cell side (m).
    theta : float
        de Almeida's weight (1 = Bates et al. 2010).
    h_min : float
        Face flow depth (m) below which the face is dry.
    froude : float
        Cap on the face Froude number; <= 0 for none.
    qx_out, qy_out : ndarray, shapes of qx, qy
        Output: updated discharge, before the positivity limiter.
    capped_x, capped_y : ndarray of int64, shapes of qx, qy
        Froude-cap hits of each face; incremented (only when ``froude > 0``).

    Returns
    -------
    float
        The largest wave speed ``|q'| / h_f + sqrt(g h_f)`` (m/s) over wet interior faces,
        for the next time step.
    """
    ny, nx = h.shape
    g_dt_dx = G * dt / dx
    speed_bits = 0
    for j in nb.prange(ny + 1):
        row_bits = 0
        if j < ny:  # x faces of row j: interior ones, then the west and east edges
            row_bits = _faces_along(
                z[j, :-1], h[j, :-1], z[j, 1:], h[j, 1:],
                qx[j, 1:-1], qx[j, :-2], qx[j, 2:], kx[j, 1:-1], kx[j, :-2], kx[j, 2:],
                qy[j, :-1], qy[j, 1:], qy[j + 1, :-1], qy[j + 1, 1:],
                gn2x[j, 1:-1], dt, g_dt_dx, theta, h_min, froude, qx_out[j, 1:-1],
                capped_x[j, 1:-1],
            )  # fmt: skip
            qx_out[j, 0] = -_critical_outflow(h[j, 0], h_min) if kx[j, 0] == OPEN else 0.0
            qx_out[j, nx] = _critical_outflow(h[j, nx - 1], h_min) if kx[j, nx] == OPEN else 0.0
        if 0 < j < ny:  # y faces between rows j - 1 and j
            row_bits = max(
                row_bits,
                _faces_along(
                    z[j - 1], h[j - 1], z[j], h[j],
                    qy[j], qy[j - 1], qy[j + 1], ky[j], ky[j - 1], ky[j + 1],
                    qx[j - 1, :-1], qx[j - 1, 1:], qx[j, :-1], qx[j, 1:],
                    gn2y[j], dt, g_dt_dx, theta, h_min, froude, qy_out[j], capped_y[j],
                ),
            )  # fmt: skip
        else:  # the north (j = 0) or south (j = ny) edge
            row = 0 if j == 0 else ny - 1
            sign = -1.0 if j == 0 else 1.0
            for i in range(nx):
                k = ky[j, i]
                qy_out[j, i] = sign * _critical_outflow(h[row, i], h_min) if k == OPEN else 0.0
        speed_bits = max(speed_bits, row_bits)
    return _bits_float(speed_bits)


@nb.njit(parallel=True, cache=True)
def outflow_ratio(h, kind, qx, qy, dt, dx, ratio, limited):
    """Positivity limiter, pass 2: the share of each cell's outflow it can supply.

    ``ratio[j + 1, i + 1] = min(1, h / (dt / dx * sum of outgoing discharges))`` for land
    cells and 1 for the others (the sea is an unlimited reservoir).

    Parameters
    ----------
    h : ndarray (ny, nx)
        Depth (m) at the start of the step.
    kind : ndarray (ny, nx) of uint8
        Cell kinds.
    qx, qy : ndarray
        Unlimited discharges from :func:`face_discharge` (m2/s).
    dt, dx : float
        Step (s), cell side (m).
    ratio : ndarray (ny + 2, nx + 2) of float64
        Output, with a border of ones around the grid (so neighbours never need a check).
    limited : ndarray (ny, nx) of int64
        Steps in which each cell's outflow was scaled down (ratio < 1); incremented.
    """
    ny, nx = h.shape
    c = dt / dx
    for j in nb.prange(ny):
        for i in range(nx):
            out = (
                max(-qx[j, i], 0.0)
                + max(qx[j, i + 1], 0.0)
                + max(-qy[j, i], 0.0)
                + max(qy[j + 1, i], 0.0)
            ) * c
            d = h[j, i]
            hit = out > d and kind[j, i] == LAND
            ratio[j + 1, i + 1] = d / out if hit else 1.0
            limited[j, i] += 1 if hit else 0


#: Time of first wetting of a cell that was never wet (s); a finite stand-in for "never".
NEVER = 1e300


@nb.njit(fastmath={"nnan", "ninf"})
def _new_depth(h0, c, qw, qe, q_n, q_s):
    """Depth after the fluxes, ``h0 + c (q_w - q_e + q_n - q_s)``, evaluated in this order
    (its own function so that the row loop's reassociation flags stay off it)."""
    return h0 + c * (qw - qe + q_n - q_s)


@nb.njit(fastmath={"nnan", "ninf", "reassoc", "nsz"})
def _continuity_row(
    h, z, kind, rain_rate, rain_dt, sink, sea_level, qx_raw, qn_raw, qs_raw, r_n, r_c, r_s,
    c, t_new, wet_depth, qx, qn, max_depth, t_wet,
):  # fmt: skip
    """:func:`continuity` on one row: views of the row's cells, its ``nx + 1`` x faces,
    its north and south y faces and the padded ratio rows above, at and below it.

    The loop vectorises: no indirect loads, the largest depth is kept as the bits of a
    float (non-negative floats order like their bits, and an integer maximum vectorises
    where numba's float ``max`` does not) and only the two sums may be reassociated.
    """
    h_max_bits = 0
    sunk = 0.0
    to_sea = 0.0
    for i in range(h.shape[0]):
        r = r_c[i + 1]
        qw = qx_raw[i]
        qw *= r_c[i] if qw > 0.0 else r
        qe = qx_raw[i + 1]
        qe *= r if qe > 0.0 else r_c[i + 2]
        q_n = qn_raw[i]
        q_n *= r_n[i + 1] if q_n > 0.0 else r
        q_s = qs_raw[i]
        q_s *= r if q_s > 0.0 else r_s[i + 1]
        qx[i] = qw
        qn[i] = q_n
        k = kind[i]
        land = k == LAND
        h0 = h[i]
        h1 = _new_depth(h0, c, qw, qe, q_n, q_s)
        wet = h1 + rain_rate[i] * rain_dt
        d = min(max(wet, 0.0), sink)
        h_land = max(wet - d, 0.0)  # max: round-off of the limiter (|h| ~ 1e-19 m)
        h_sea = max(sea_level - z[i], 0.0)
        sunk += d if land else 0.0
        to_sea += h1 - h0 if k == SEA else 0.0
        hn = h_land if land else (h_sea if k == SEA else 0.0)
        h[i] = hn
        m = max_depth[i]
        # the first time a land cell reaches wet_depth is when its running maximum does
        if land and hn >= wet_depth and m < wet_depth:
            t_wet[i] = t_new
        max_depth[i] = hn if (land and hn > m) else m
        h_max_bits = max(h_max_bits, _float_bits(h_land if land else 0.0))
    return _bits_float(h_max_bits), sunk, to_sea


@nb.njit(parallel=True, cache=True, fastmath={"nnan", "ninf"})
def continuity(
    h, z, kind, rain_rate, rain_dt, sink, sea_level, qx_raw, qy_raw, ratio, dt, dx, t_new,
    wet_depth, qx, qy, max_depth, t_wet,
):  # fmt: skip
    """Limit the face discharges and update depths: pass 3 of a sub-step.

    Compiled with ``fastmath`` no-NaN/no-inf so that its selects vectorise: every input
    must be finite (hence :data:`NEVER` instead of NaN).

    Parameters
    ----------
    h : ndarray (ny, nx) of float64
        Depth (m); updated in place.
    z : ndarray (ny, nx)
        Bed elevation (m).
    kind : ndarray (ny, nx) of uint8
        Cell kinds.
    rain_rate : ndarray (ny, nx) of float64
        Rain intensity (m/s) on each cell during this step.
    rain_dt : float
        Length (s) of the step for the rain, ``t_new - t_old`` (the cell gets
        ``rain_rate * rain_dt`` of rain).
    sink : float
        Depth (m) that drainage plus infiltration can remove from a land cell this step.
    sea_level : float
        Sea level (m) at the end of the step.
    qx_raw, qy_raw : ndarray
        Discharges from :func:`face_discharge` (m2/s).
    ratio : ndarray (ny + 2, nx + 2)
        Limiter ratios from :func:`outflow_ratio`.
    dt, dx, t_new, wet_depth : float
        Step (s), cell side (m), time at the end of the step (s), wetting depth (m).
    qx, qy : ndarray
        Output: the limited discharges (m2/s), the state for the next step.
    max_depth, t_wet : ndarray (ny, nx)
        Running maximum depth (m) and time of first wetting (s, :data:`NEVER` until
        wet); updated. A land cell's ``t_wet`` is set when its ``max_depth`` first
        reaches ``wet_depth``, so the two must start consistent.

    Returns
    -------
    h_max : float
        Largest depth (m) on land cells after the step (the sea's part of the time step
        is its level over the lowest coastal bed, see :meth:`FloodModel.stable_dt`).
    sunk : float
        Depth summed over cells (m) removed by the sink (multiply by dx^2 for m3).
    to_sea : float
        Net depth summed over sea cells (m) that flowed from land into the sea.
    to_edges : float
        Discharge summed over the map's edge faces (m2/s, outward > 0).
    """
    ny, nx = h.shape
    c = dt / dx
    h_max = 0.0
    sunk = 0.0
    to_sea = 0.0
    to_edges = 0.0
    for j in nb.prange(ny):
        row_max, row_sunk, row_sea = _continuity_row(
            h[j], z[j], kind[j], rain_rate[j], rain_dt, sink, sea_level,
            qx_raw[j], qy_raw[j], qy_raw[j + 1], ratio[j], ratio[j + 1], ratio[j + 2], c,
            t_new, wet_depth, qx[j, :-1], qy[j], max_depth[j], t_wet[j],
        )  # fmt: skip
        h_max = max(h_max, row_max)
        sunk += row_sunk
        to_sea += row_sea
        # The east edge face (the row loop wrote the other nx faces); edge faces only
        # ever carry outflow, so their donor is the cell inside.
        qe = qx_raw[j, nx] * ratio[j + 1, nx]
        qx[j, nx] = qe
        to_edges += qe - qx[j, 0]
    for i in range(nx):  # the south edge faces, then both edges' outflow
        qy[ny, i] = qy_raw[ny, i] * ratio[ny, i + 1]
        to_edges += qy[ny, i] - qy[0, i]
    return h_max, sunk, to_sea, to_edges


@nb.njit(inline="always")
def _face_velocity(q, za, ha, zb, hb, h_min):
    """Velocity (m/s) on a face: its discharge over its flow depth ``h_f`` (0 if dry)."""
    hf = max(za + ha, zb + hb) - max(za, zb)
    return q / hf if hf > h_min else 0.0


@nb.njit(parallel=True, cache=True)
def cell_velocity(z, h, kind, qx, qy, h_min, u, v):
    """Depth-averaged velocity at land cell centres (m/s), 0 elsewhere.

    The mean of the velocities ``q / h_f`` on the cell's two faces in each direction, so a
    nearly empty cell that water runs through shows the speed of that water. ``u`` > 0
    flows east, ``v`` > 0 flows north. On the map's edge a face's depth is the cell's.
    """
    ny, nx = h.shape
    for j in nb.prange(ny):
        for i in range(nx):
            if kind[j, i] != LAND:
                u[j, i] = 0.0
                v[j, i] = 0.0
                continue
            zc, hc = z[j, i], h[j, i]
            if i > 0:
                uw = _face_velocity(qx[j, i], z[j, i - 1], h[j, i - 1], zc, hc, h_min)
            else:
                uw = _face_velocity(qx[j, i], zc, hc, zc, hc, h_min)
            if i < nx - 1:
                ue = _face_velocity(qx[j, i + 1], zc, hc, z[j, i + 1], h[j, i + 1], h_min)
            else:
                ue = _face_velocity(qx[j, i + 1], zc, hc, zc, hc, h_min)
            if j > 0:
                vn = _face_velocity(qy[j, i], z[j - 1, i], h[j - 1, i], zc, hc, h_min)
            else:
                vn = _face_velocity(qy[j, i], zc, hc, zc, hc, h_min)
            if j < ny - 1:
                vs = _face_velocity(qy[j + 1, i], zc, hc, z[j + 1, i], h[j + 1, i], h_min)
            else:
                vs = _face_velocity(qy[j + 1, i], zc, hc, zc, hc, h_min)
            u[j, i] = 0.5 * (uw + ue)
            v[j, i] = -0.5 * (vn + vs)
