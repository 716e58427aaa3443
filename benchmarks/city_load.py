"""City pack build and cached-load times (Monaco by default).

Usage: python benchmarks/city_load.py [CITY] [--repeats N]

Prints a table: the first build (empty cache), cached loads in this process (median of N),
and a cached load in a fresh interpreter (imports included, as a user's command pays it).
Builds go to a temporary cache folder so a user's cache is left alone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("city", nargs="?", default="monaco")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as cache:
        os.environ["TWIN_CACHE_DIR"] = cache
        from rich.console import Console
        from rich.table import Table

        from twin.city import load_city

        builds = []
        for _ in range(max(1, args.repeats // 2)):
            start = time.perf_counter()
            pack = load_city(args.city, use_cache=False)
            builds.append(time.perf_counter() - start)
        load_city(args.city)  # fill the cache
        loads = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            load_city(args.city)
            loads.append(time.perf_counter() - start)
        code = (
            "import time; t=time.perf_counter(); from twin.city import load_city; "
            f"load_city({args.city!r}); print(time.perf_counter()-t)"
        )
        fresh = [
            float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True, env=os.environ).stdout)
            for _ in range(3)
        ]  # fmt: skip

    summary = pack.summary()
    table = Table(title=f"City pack timings: {args.city} (median of runs, seconds)")
    table.add_column("what")
    table.add_column("median s", justify="right")
    table.add_column("runs", justify="right")
    table.add_row("first build (no cache)", f"{statistics.median(builds):.3f}", str(len(builds)))
    table.add_row("cached load, warm process", f"{statistics.median(loads):.4f}", str(len(loads)))
    table.add_row("cached load, fresh process incl. imports", f"{statistics.median(fresh):.3f}",
                  str(len(fresh)))  # fmt: skip
    console = Console()
    console.print(table)
    console.print(
        f"drive {summary['drive_nodes']} nodes / {summary['drive_edges']} edges / "
        f"{summary['drive_km']:.1f} km (largest SCC {summary['drive_largest_scc_nodes']}); "
        f"walk {summary['walk_nodes']} / {summary['walk_edges']}; "
        f"buildings {summary['buildings']}; facilities {summary['facilities']}; "
        f"terrain {summary['terrain_shape']} at {summary['terrain_resolution_m']} m, "
        f"{summary['terrain_min_m']:.1f}..{summary['terrain_max_m']:.1f} m"
    )


if __name__ == "__main__":
    main()
