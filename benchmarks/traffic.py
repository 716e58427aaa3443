"""Traffic model speed and agreement, side by side with UXsim and SUMO on identical inputs.

Usage: python benchmarks/traffic.py [--cases grid11,monaco10k,monaco100k,grid1m]
                                    [--engines twin,uxsim-py5,uxsim-cpp5,uxsim-cpp1,sumo-meso]
                                    [--repeats N]

Engines: ``uxsim-py5`` UXsim's Python engine with platoons of 5, ``uxsim-cpp5``/``-cpp1``
its C++ engine with platoons of 5 / every vehicle (vehicle log off in all three);
``sumo-meso`` SUMO's mesoscopic model with junction control, ``sumo-meso-nojc`` without.

Every (case, engine) runs in a fresh interpreter so its peak memory (max RSS, imports
included) is its own; wall time is that of the simulation alone (network and demand
loaded). Prints one table: wall time, peak memory, vehicles per second, trips completed,
mean and total travel time, and the ratio of each peer's wall time to twin's.

Cases: ``grid11`` (../shared/benchmarks/grid11: the same CSV files feed every tool),
``monaco10k``/``monaco100k`` (random trips over one hour on Monaco's drive graph; twin
only: the peers are not wired to the OSM graph here), ``grid1m`` (one million local trips
over two hours on a 51 x 51 grid of grid11 links, see :func:`million_trips`; twin only).
twin runs with routes shared per OD and 60 s slice and every vehicle rerouted every 60 s
(UXsim's DUO re-chooses routes continually).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GRID11 = REPO.parent / "shared" / "benchmarks" / "grid11"
TWIN_SETTINGS = {"dt": 1.0, "route_slice": 60.0, "reroute_every": 60.0}


# ---------------------------------------------------------------------- cases as CSV
def write_grid_case(folder: Path, size: int, flow: float, hours: float = 1.0) -> Path:
    """Write nodes/links/demand CSVs of a ``size`` x ``size`` grid11-style case.

    Every boundary node sends ``flow`` veh/s to every node on the opposite boundary for
    ``hours`` (W<->E and S<->N), 1 km one-lane links at 20 m/s, 0.2 veh/m.
    """
    folder.mkdir(parents=True, exist_ok=True)
    name = lambda i, j: f"n{i}_{j}"  # noqa: E731
    with (folder / "nodes.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "x_m", "y_m"])
        for i in range(size):
            for j in range(size):
                w.writerow([name(i, j), i * 1000.0, j * 1000.0])
    with (folder / "links.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "name",
                "from",
                "to",
                "length_m",
                "free_flow_speed_mps",
                "jam_density_vpm_per_lane",
                "lanes",
            ]
        )
        for i in range(size):
            for j in range(size):
                for di, dj in ((1, 0), (0, 1)):
                    if i + di < size and j + dj < size:
                        a, b = name(i, j), name(i + di, j + dj)
                        w.writerow([f"l{i}_{j}__{i + di}_{j + dj}", a, b, 1000.0, 20.0, 0.2, 1])
                        w.writerow([f"l{i + di}_{j + dj}__{i}_{j}", b, a, 1000.0, 20.0, 0.2, 1])
    with (folder / "demand.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["orig", "dest", "t_start_s", "t_end_s", "flow_vps"])
        last = size - 1
        for i in range(size):
            for j in range(size):
                for a, b in (((0, i), (last, j)), ((i, 0), (j, last))):
                    w.writerow([name(*a), name(*b), 0.0, 3600.0 * hours, flow])
                    w.writerow([name(*b), name(*a), 0.0, 3600.0 * hours, flow])
    return folder


# ---------------------------------------------------------------------- engines
def run_twin_csv(folder: Path, t_end: float, **settings) -> dict:
    """twin on a CSV case; returns wall time (s) and trip statistics."""
    from twin.traffic import RoadNetwork, flow_demand_csv

    net = RoadNetwork.from_csv(folder)
    trips = flow_demand_csv(folder / "demand.csv", net)
    return _run_twin(net, trips, t_end, **settings)


def _run_twin(net, trips, t_end: float, **settings) -> dict:
    from twin.traffic import TrafficModel

    start = time.perf_counter()
    model = TrafficModel(net, **{**TWIN_SETTINGS, **settings})
    model.add_vehicles(trips.origin, trips.destination, trips.depart)
    model.advance_to(t_end)
    wall = time.perf_counter() - start
    trips_out = model.trips()
    k = trips_out.kpis()
    return {
        "wall_s": wall,
        "free_tt_s": float(trips_out.free_time[trips_out.arrived].mean()),
        "jumps": k["gridlock_jumps"],
        "vehicles": k["vehicles"],
        "completed": k["completed"],
        "mean_tt_s": k["mean_travel_time_s"],
        "total_tt_h": k["total_travel_time_h"],
        "stranded": k["stranded"],
    }


def run_uxsim_csv(folder: Path, t_end: float, *, deltan: int, cpp: bool) -> dict:
    """UXsim 1.15.1 on a CSV case, vehicle log off; returns wall time and trip statistics."""
    import uxsim

    world = uxsim.World(
        name="",
        deltan=deltan,
        tmax=t_end,
        print_mode=0,
        save_mode=0,
        show_mode=0,
        random_seed=0,
        vehicle_logging_timestep_interval=-1,
        cpp=cpp,
    )
    for r in _rows(folder / "nodes.csv"):
        world.addNode(r["name"], float(r["x_m"]), float(r["y_m"]))
    for r in _rows(folder / "links.csv"):
        world.addLink(
            r["name"],
            r["from"],
            r["to"],
            length=float(r["length_m"]),
            free_flow_speed=float(r["free_flow_speed_mps"]),
            jam_density_per_lane=float(r["jam_density_vpm_per_lane"]),
            number_of_lanes=int(r["lanes"]),
        )
    for r in _rows(folder / "demand.csv"):
        world.adddemand(
            r["orig"], r["dest"], float(r["t_start_s"]), float(r["t_end_s"]), float(r["flow_vps"])
        )
    start = time.perf_counter()
    world.exec_simulation()
    wall = time.perf_counter() - start
    world.analyzer.basic_analysis()
    a = world.analyzer
    return {
        "wall_s": wall,
        "vehicles": int(a.trip_all),
        "completed": int(a.trip_completed),
        "mean_tt_s": float(a.average_travel_time),
        "total_tt_h": float(a.total_travel_time) / 3600.0,
        "stranded": 0,
    }


def run_sumo_csv(folder: Path, t_end: float, *, junction_control: bool = True) -> dict:
    """SUMO meso (rerouting every 300 s; junction control on or off) on a CSV case:
    netconvert from plain XML, trips between junctions (``--junction-taz``)."""
    import numpy as np
    import sumo

    from twin.traffic import RoadNetwork, flow_demand_csv

    net = RoadNetwork.from_csv(folder)
    trips = flow_demand_csv(folder / "demand.csv", net)
    bin_dir = Path(sumo.SUMO_HOME) / "bin"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with (tmp / "n.nod.xml").open("w") as fh:
            fh.write("<nodes>\n")
            for nid, x, y in zip(net.node_ids, net.x, net.y, strict=True):
                fh.write(f'  <node id="{nid}" x="{x}" y="{y}" type="priority"/>\n')
            fh.write("</nodes>\n")
        with (tmp / "e.edg.xml").open("w") as fh:
            fh.write("<edges>\n")
            for i in range(net.n_links):
                fh.write(
                    f'  <edge id="{net.link_ids[i]}" from="{net.node_ids[net.link_from[i]]}" '
                    f'to="{net.node_ids[net.link_to[i]]}" numLanes="1" '
                    f'speed="{net.free_speed[i]}"/>\n'
                )
            fh.write("</edges>\n")
        subprocess.run(
            [
                str(bin_dir / "netconvert"),
                "-n",
                str(tmp / "n.nod.xml"),
                "-e",
                str(tmp / "e.edg.xml"),
                "-o",
                str(tmp / "net.xml"),
                "--no-turnarounds",
                "true",
            ],
            check=True,
            capture_output=True,
        )
        with (tmp / "trips.xml").open("w") as fh:
            fh.write("<routes>\n")
            for k in np.argsort(trips.depart, kind="stable"):
                fh.write(
                    f'  <trip id="{k}" depart="{trips.depart[k]:.2f}" '
                    f'fromJunction="{net.node_ids[trips.origin[k]]}" '
                    f'toJunction="{net.node_ids[trips.destination[k]]}"/>\n'
                )
            fh.write("</routes>\n")
        start = time.perf_counter()
        subprocess.run(
            [
                str(bin_dir / "sumo"),
                "-n",
                str(tmp / "net.xml"),
                "-r",
                str(tmp / "trips.xml"),
                "--junction-taz",
                "--mesosim",
                "--meso-junction-control",
                str(junction_control).lower(),
                "--device.rerouting.probability",
                "1",
                "--device.rerouting.period",
                "300",
                "--end",
                str(t_end),
                "--no-step-log",
                "--no-warnings",
                "--tripinfo-output",
                str(tmp / "tripinfo.xml"),
            ],
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - start
        import xml.etree.ElementTree as ET

        durations = [float(t.get("duration")) for t in ET.parse(tmp / "tripinfo.xml").getroot()]
    return {
        "wall_s": wall,
        "vehicles": len(trips),
        "completed": len(durations),
        "mean_tt_s": statistics.fmean(durations) if durations else float("nan"),
        "total_tt_h": sum(durations) / 3600.0,
        "stranded": 0,
    }


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------------- cases
def million_trips(size: int = 51, n: int = 1_000_000, reach: int = 6, zone: int = 3, seed=0):
    """A ``size`` x ``size`` grid (1 km, grid11 links) and ``n`` local trips over two hours:
    each starts at a random node and ends at a node of the ``zone``-km lattice (the
    destinations, like zone centroids) within ``reach`` km in each direction."""
    import numpy as np

    from twin.traffic import Trips, grid_network

    net = grid_network(size)
    rng = np.random.default_rng(seed)
    oi, oj = rng.integers(0, size, n), rng.integers(0, size, n)
    lattice = np.arange(0, size, zone)

    def _dest(o):
        want = o + rng.integers(-reach, reach + 1, n)
        return lattice[np.clip(np.round(want / zone).astype(int), 0, len(lattice) - 1)]

    di, dj = _dest(oi), _dest(oj)
    depart = np.sort(rng.uniform(0.0, 7200.0, n))
    return net, Trips(oi * size + oj, di * size + dj, depart)


def _monaco(n: int) -> dict:
    import numpy as np

    from twin.city import load_city
    from twin.traffic import RoadNetwork, random_trips

    pack = load_city("monaco").largest_component()
    net = RoadNetwork.from_graph(pack.drive)
    trips = random_trips(net, n, 0.0, 3600.0, np.random.default_rng(0))
    return _run_twin(net, trips, 4 * 3600.0)


def run_one(case: str, engine: str, workdir: Path) -> dict:
    """Run one (case, engine) in this process and add peak memory (MB) to its result."""
    if case == "grid11":
        folder, t_end = GRID11, 7200.0
    elif case == "grid1m":
        if engine != "twin":
            raise SystemExit(f"{engine} is not wired for {case}")
        result = _run_twin(*million_trips(), 3 * 3600.0)
        result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return result
    elif case.startswith("monaco"):
        if engine != "twin":
            raise SystemExit(f"{engine} is not wired for {case}")
        result = _monaco(int(case.removeprefix("monaco").replace("k", "000")))
        result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return result
    else:
        raise SystemExit(f"unknown case {case}")
    if engine == "twin":
        result = run_twin_csv(folder, t_end)
    elif engine.startswith("uxsim"):
        result = run_uxsim_csv(folder, t_end, deltan=int(engine[-1]), cpp="cpp" in engine)
    elif engine in ("sumo-meso", "sumo-meso-nojc"):
        result = run_sumo_csv(folder, t_end, junction_control=engine == "sumo-meso")
    else:
        raise SystemExit(f"unknown engine {engine}")
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="grid11,monaco10k,monaco100k,grid1m")
    parser.add_argument(
        "--engines", default="twin,uxsim-py5,uxsim-cpp5,uxsim-cpp1,sumo-meso,sumo-meso-nojc"
    )
    parser.add_argument("--repeats", type=int, default=1, help="twin runs per case (median)")
    parser.add_argument("--one", nargs=2, metavar=("CASE", "ENGINE"), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(*args.one, Path(args.workdir))))
        return

    from rich.console import Console
    from rich.table import Table

    console = Console(width=160)
    engines = args.engines.split(",")
    with tempfile.TemporaryDirectory() as workdir:
        table = Table(title="traffic: wall time of the simulation, peak memory (max RSS)")
        for col in (
            "case",
            "engine",
            "wall s",
            "peak MB",
            "veh/s",
            "completed",
            "mean tt s",
            "total tt h",
            "peer/twin wall",
        ):
            table.add_column(col, justify="right" if col not in ("case", "engine") else "left")
        for case in args.cases.split(","):
            results = {}
            for engine in engines:
                if case.startswith("monaco") and engine != "twin":
                    continue
                if case == "grid1m" and engine != "twin":
                    continue
                runs = []
                for _ in range(args.repeats if engine == "twin" else 1):
                    proc = subprocess.run(
                        [sys.executable, __file__, "--one", case, engine, "--workdir", workdir],
                        capture_output=True,
                        text=True,
                        env={**os.environ},
                    )
                    if proc.returncode != 0:
                        console.print(f"[red]{case}/{engine} failed:[/red] {proc.stderr[-800:]}")
                        break
                    runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
                if not runs:
                    continue
                runs.sort(key=lambda r: r["wall_s"])
                r = runs[len(runs) // 2]
                results[engine] = r
                ratio = ""
                if engine != "twin" and "twin" in results:
                    ratio = f"{r['wall_s'] / results['twin']['wall_s']:.1f}x"
                table.add_row(
                    case,
                    engine,
                    f"{r['wall_s']:.2f}",
                    f"{r['peak_mb']:.0f}",
                    f"{r['vehicles'] / r['wall_s']:,.0f}",
                    f"{r['completed']:,}/{r['vehicles']:,}",
                    f"{r['mean_tt_s']:,.0f}",
                    f"{r['total_tt_h']:,.0f}",
                    ratio,
                )
                console.print(f"{case}/{engine}: {json.dumps(r)}")
        console.print(table)


if __name__ == "__main__":
    main()
