"""Flood model speed on Monaco, side by side with Landlab's OverlandFlow, in one run.

The case (issue 3): Monaco's SRTM tile resampled to 30, 10 and 5 m (UTM 32N), 50 mm/h of
rain for 1 h then 1 h dry, Manning n 0.03, sea cells (SRTM <= 0 m touching the edge) open,
map edges open. Landlab runs with ``steep_slopes=True`` (its default is unstable here) on
an identical grid (our cells are its core nodes, with a ring of open boundary nodes).
twin runs twice: with its defaults (no cap, step from flow plus wave speed, theta 1: right
on steep ground, issue 12) and in its old, capped mode (``froude_limit=1``, theta 0.8,
step from the depth alone: like ``steep_slopes``, faster but too deep on steep slopes).
All cap a step at 10 s.

Prints, per resolution: sub-steps, wall time and cell-updates per second of each; the
default's wall time over the capped one's, split into its two factors (more sub-steps,
and the cost of each: where the time goes); Landlab's wall time over twin's default; how
far the capped twin and Landlab agree (max-depth RMSE and wet-area overlap: both capped,
so this checks the implementation, not the depths); twin's volume error. Runs alternate
(twin, twin capped, Landlab, ...) and medians are shown.

Usage::

    python benchmarks/flood.py                 # 30, 10 and 5 m (Landlab at 5 m: ~5 min)
    python benchmarks/flood.py --res 30 10 --repeat 3
    python benchmarks/flood.py --no-landlab    # twin only
    python benchmarks/flood.py --threads 1     # both tools on one thread
    python benchmarks/flood.py --res 10 --no-landlab --busy 2 --threads 1   # busy neighbours

``--busy N`` starts N processes that spin on the CPU for the whole run (a shared machine:
another user's jobs); compare ``--threads 1`` with ``--threads 2`` under it (issue 11).

Needs the sample maps (``TWIN_MAPS`` or ../shared/maps) and, for the comparison,
``pip install landlab==2.11.0 requireit==0.8.0``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from pyproj import Transformer

from twin.city.terrain import load_terrain
from twin.flood import FloodConfig, FloodModel, Forcing, mm_per_hour
from twin.flood.forcing import uniform_rain
from twin.flood.grid import sea_mask
from twin.flood.landlab_peer import run_landlab

RAIN = mm_per_hour(50.0)
RAIN_END, T_END, DT_MAX, MANNING = 3600.0, 7200.0, 10.0, 0.03
MONACO_LONLAT = (7.405, 43.723, 7.440, 43.752)


def find_tile() -> Path:
    """The Monaco SRTM tile on the maps path."""
    default = Path(__file__).resolve().parents[2] / "shared" / "maps"
    folders = [Path(p) for p in os.environ.get("TWIN_MAPS", str(default)).split(os.pathsep) if p]
    for folder in folders:
        tile = folder / "monaco" / "N43E007.hgt"
        if tile.is_file():
            return tile
    sys.exit(f"N43E007.hgt not found under {folders}; set TWIN_MAPS")


def terrain_at(tile: Path, resolution: float):
    w, s, e, n = MONACO_LONLAT
    tr = Transformer.from_crs("EPSG:4326", "EPSG:32632", always_xy=True)
    xs, ys = tr.transform([w, e, w, e], [s, s, n, n])
    return load_terrain(
        [tile], (min(xs), min(ys), max(xs), max(ys)), "EPSG:32632", resolution=resolution
    )


#: twin's old default: the Froude cap with the depth-only step (speed over accuracy).
CAPPED = {"froude_limit": 1.0, "theta": 0.8, "time_step": "depth"}


def run_twin(terrain, threads: int | None = None, **settings) -> dict:
    forcing = Forcing(rainfall=(uniform_rain(RAIN, RAIN_END),))
    config = FloodConfig(
        manning=MANNING, dt_max=DT_MAX, output_interval=600.0, threads=threads, **settings
    )
    model = FloodModel.from_terrain(terrain, forcing, config)
    start = time.perf_counter()
    model.advance_to(T_END)
    wall = time.perf_counter() - start
    error = max(abs(b.relative_error) for b in model.balance)
    return {"wall": wall, "steps": model.n_substeps, "h_max": model.max_depth, "error": error}


def landlab(z: np.ndarray, dx: float, sea: np.ndarray) -> dict:
    run = run_landlab(z, dx, sea, rain=RAIN, rain_end=RAIN_END, t_end=T_END, dt_max=DT_MAX,
                      manning=MANNING)  # fmt: skip
    return {"wall": run.wall, "steps": run.steps, "h_max": run.h_max}


def agreement(ours: np.ndarray, theirs: np.ndarray, land: np.ndarray) -> tuple[float, float]:
    """RMSE (m) of max depth over land and overlap (IoU) of cells deeper than 5 cm."""
    a, b = ours[land], theirs[land]
    wa, wb = a > 0.05, b > 0.05
    return float(np.sqrt(np.mean((a - b) ** 2))), float(np.sum(wa & wb) / np.sum(wa | wb))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--res", type=float, nargs="+", default=[30.0, 10.0, 5.0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool and grid")
    parser.add_argument("--no-landlab", action="store_true")
    parser.add_argument(
        "--threads", type=int, default=None, help="threads for both tools (default: all cores)"
    )
    parser.add_argument(
        "--busy", type=int, default=0, help="busy neighbour processes spinning meanwhile"
    )
    args = parser.parse_args(argv)
    neighbours = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)
    ]
    try:
        _main(args)
    finally:
        for proc in neighbours:
            proc.kill()
            proc.wait()


def _main(args: argparse.Namespace) -> None:
    if args.threads:  # Landlab's OpenMP reads this when its kernels load
        os.environ["OMP_NUM_THREADS"] = str(args.threads)

    import numba

    tile = find_tile()
    n_threads = args.threads or numba.get_num_threads()
    print(
        f"numba {numba.__version__}, {n_threads} thread(s), {os.cpu_count()} CPUs, "
        f"{args.busy} busy neighbour process(es)"
    )
    run_twin(terrain_at(tile, 90.0))  # compile (or load) the kernels outside the timings
    header = (
        f"{'res':>4} {'cells':>7} | {'steps':>6} {'s':>6} {'Mcu/s':>5} | "
        f"{'capped':>6} {'s':>6} {'Mcu/s':>5} | {'x time':>6} {'=steps':>6} {'x cost':>6} | "
        f"{'LL steps':>8} {'s':>6} {'Mcu/s':>5} | {'LL/twin':>7} | {'RMSE m':>7} {'IoU':>5} "
        f"| {'vol err':>7}"
    )
    rows = []
    for res in args.res:
        terrain = terrain_at(tile, res)
        z = terrain.elevation.astype(np.float64)
        sea = sea_mask(z)
        cells = z.size
        ours, capped, theirs = [], [], []
        for _ in range(args.repeat):
            ours.append(run_twin(terrain, args.threads))
            capped.append(run_twin(terrain, args.threads, **CAPPED))
            if not args.no_landlab:
                theirs.append(landlab(z, res, sea))
        t_ours = statistics.median(r["wall"] for r in ours)
        t_cap = statistics.median(r["wall"] for r in capped)
        o, c = ours[-1], capped[-1]
        steps = o["steps"] / c["steps"]
        row = f"{res:4g} {cells:7d} | {o['steps']:6d} {t_ours:6.2f} "
        row += f"{o['steps'] * cells / t_ours / 1e6:5.0f} | "
        row += f"{c['steps']:6d} {t_cap:6.2f} {c['steps'] * cells / t_cap / 1e6:5.0f} | "
        row += f"{t_ours / t_cap:6.2f} {steps:6.2f} {t_ours / t_cap / steps:6.2f} | "
        if theirs:
            t_theirs = statistics.median(r["wall"] for r in theirs)
            th = theirs[-1]
            rmse, iou = agreement(c["h_max"], th["h_max"], ~sea)
            row += (
                f"{th['steps']:8d} {t_theirs:6.2f} {th['steps'] * cells / t_theirs / 1e6:5.0f} | "
            )
            row += f"{t_theirs / t_ours:7.1f} | {rmse:7.4f} {iou:5.3f} "
        else:
            row += f"{'-':>8} {'-':>6} {'-':>5} | {'-':>7} | {'-':>7} {'-':>5} "
        row += f"| {o['error']:7.0e}"
        rows.append(row)
        print(row, flush=True)
    print()
    print("Monaco, 50 mm/h 1 h + 1 h dry, n 0.03; Mcu/s = million cell-updates per second")
    print("(sub-steps x cells / wall s). steps/s/Mcu/s: twin's default, then capped (old")
    print("default); x time = default / capped wall time = (x steps) * (x cost per step);")
    print("LL/twin = Landlab / twin default wall time; RMSE, IoU: twin capped vs Landlab")
    print(f"(both capped); vol err: twin default. Medians of {args.repeat} alternating run(s).")
    print(header)
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
