"""Traffic model speed and agreement, side by side with UXsim and SUMO on identical inputs.

Usage: python benchmarks/traffic.py [--cases grid11,monaco10k,monaco100k,grid1m]
                                    [--engines twin,uxsim-py5,uxsim-cpp5,uxsim-cpp1,sumo-meso]
                                    [--repeats N] [--peer-repeats N] [--peer-timeout S]

Engines: ``uxsim-py5`` UXsim's Python engine with platoons of 5, ``uxsim-cpp5``/``-cpp1``
its C++ engine with platoons of 5 / every vehicle (vehicle log off in all three);
``sumo-meso`` SUMO's mesoscopic model with junction control, ``sumo-meso-nojc`` without.

Every (case, engine) runs in a fresh interpreter so its peak memory (max RSS, imports
included) is its own; for SUMO it is the sumo process's own. Wall time is that of the
simulation alone (network and demand loaded; for SUMO the sumo process, which also reads
the network and routes the trips; netconvert is not counted). Prints one table: wall time,
peak memory, vehicles per second, trips completed, mean and total travel time, mean
free-flow time and route length of the completed trips, the trips completed by a gridlock
jump (twin: trips that jumped at least once and their share; SUMO: its teleports), and the
ratio of each peer's wall time to twin's; a peer run longer than ``--peer-timeout`` is
stopped and reported as such.

Cases: ``grid11`` (../shared/benchmarks/grid11: the same CSV files feed every tool),
``monaco10k``/``monaco100k`` (random trips over one hour on Monaco's drive graph, seed 0;
twin and SUMO: see :mod:`sumo_peer` for how netconvert's network and the trip ends are
matched), ``grid1m`` (one million local trips over two hours on a 51 x 51 grid of grid11
links, see :func:`million_trips`; twin only).
twin runs with routes shared per OD and 60 s slice and every vehicle rerouted every 60 s
(UXsim's DUO re-chooses routes continually); SUMO reroutes every vehicle every 300 s.
Travel times count from the scheduled departure in every tool. The SUMO engines are
skipped, with a note, when the ``eclipse-sumo`` wheel is not installed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import signal
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
def _sumo_peer():
    """The SUMO helper module beside this file (``benchmarks`` is not a package, and tests
    load this file by path)."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    import sumo_peer

    return sumo_peer


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
        "completed_by_jump": k["completed_by_jump"],
        "vehicles": k["vehicles"],
        "completed": k["completed"],
        "mean_tt_s": k["mean_travel_time_s"],
        "total_tt_h": k["total_travel_time_h"],
        "stranded": k["stranded"],
        "mean_km": float(trips_out.distance[trips_out.arrived].mean()) / 1000.0,
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
    from twin.traffic import RoadNetwork, flow_demand_csv

    sumo_peer = _sumo_peer()
    net = RoadNetwork.from_csv(folder)
    trips = flow_demand_csv(folder / "demand.csv", net)
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
                sumo_peer.binary("netconvert"),
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
        sumo_peer.write_trips(
            tmp / "trips.xml",
            net.node_ids[trips.origin],
            net.node_ids[trips.destination],
            trips.depart,
        )
        result = sumo_peer.run_meso(
            tmp / "net.xml", tmp / "trips.xml", t_end, junction_control=junction_control
        )
    return result | {"vehicles": len(trips), "stranded": 0}


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


MONACO_END_S = 4 * 3600.0
"""Run length of the Monaco cases (s): trips depart over the first hour."""


def monaco_trips(n: int):
    """Monaco's drive network (largest component), ``n`` random trips departing over one
    hour (seed 0) and the city pack; the same trips feed twin and SUMO."""
    import numpy as np

    from twin.city import load_city
    from twin.traffic import RoadNetwork, random_trips

    pack = load_city("monaco").largest_component()
    net = RoadNetwork.from_graph(pack.drive)
    trips = random_trips(net, n, 0.0, 3600.0, np.random.default_rng(0))
    return pack, net, trips


def _monaco(n: int) -> dict:
    _, net, trips = monaco_trips(n)
    return _run_twin(net, trips, MONACO_END_S)


def run_sumo_monaco(n: int, workdir: Path, *, junction_control: bool) -> dict:
    """SUMO meso on Monaco with the trips of :func:`monaco_trips`: netconvert on the same
    OSM extract, each trip end mapped to a junction (:func:`sumo_peer.map_nodes`)."""
    import pyproj

    from twin.city.catalogue import resolve_city

    sumo_peer = _sumo_peer()
    pack, net, trips = monaco_trips(n)
    folder = workdir / "sumo-monaco"
    folder.mkdir(parents=True, exist_ok=True)
    net_file = folder / "net.xml"
    if not net_file.exists():
        net_file = sumo_peer.osm_network(resolve_city("monaco").osm, folder)
    lon, lat = pyproj.Transformer.from_crs(pack.crs, "EPSG:4326", always_xy=True).transform(
        net.x, net.y
    )
    where = sumo_peer.map_nodes(net_file, net.node_ids, lon, lat)
    run_dir = Path(tempfile.mkdtemp(dir=folder))
    sumo_peer.write_trips(
        run_dir / "trips.xml",
        where.junction[trips.origin],
        where.junction[trips.destination],
        trips.depart,
    )
    r = sumo_peer.run_meso(
        net_file, run_dir / "trips.xml", MONACO_END_S, junction_control=junction_control
    )
    not_done = len(trips) - r["completed"]
    r |= {
        "vehicles": len(trips),
        "stranded": 0,
        "note": f"trip ends: {where.summary()}; {len(trips) - r['loaded']} trips with both ends "
        f"on one junction skipped, {r['loaded'] - r['completed'] - r['unfinished']} without a "
        f"route, {r['unfinished']} unfinished at {MONACO_END_S:.0f} s, {r['teleports']} "
        f"teleports ({not_done} not completed in all)",
    }
    return r


def run_one(case: str, engine: str, workdir: Path) -> dict:
    """Run one (case, engine) in this process and add its peak memory (MB): this process's
    max RSS, or for SUMO the sumo binary's own."""
    sumo_engines = ("sumo-meso", "sumo-meso-nojc")
    if case == "grid1m" and engine == "twin":
        result = _run_twin(*million_trips(), 3 * 3600.0)
    elif case.startswith("monaco") and engine == "twin":
        result = _monaco(int(case.removeprefix("monaco").replace("k", "000")))
    elif case.startswith("monaco") and engine in sumo_engines:
        n = int(case.removeprefix("monaco").replace("k", "000"))
        result = run_sumo_monaco(n, workdir, junction_control=engine == "sumo-meso")
    elif case == "grid11" and engine == "twin":
        result = run_twin_csv(GRID11, 7200.0)
    elif case == "grid11" and engine.startswith("uxsim"):
        result = run_uxsim_csv(GRID11, 7200.0, deltan=int(engine[-1]), cpp="cpp" in engine)
    elif case == "grid11" and engine in sumo_engines:
        result = run_sumo_csv(GRID11, 7200.0, junction_control=engine == "sumo-meso")
    else:
        raise SystemExit(f"{engine} is not wired for {case}")
    result.setdefault("peak_mb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def wired(case: str, engine: str) -> bool:
    """Whether ``engine`` runs on ``case`` (UXsim only on grid11, SUMO not on grid1m)."""
    if engine == "twin" or case == "grid11":
        return True
    return case.startswith("monaco") and engine.startswith("sumo")


def _run_limited(command: list[str], limit: float | None) -> tuple[int | None, str, str]:
    """Run ``command`` in its own process group; after ``limit`` seconds kill the group (the
    SUMO binaries included). Returns (exit code or None when stopped, stdout, stderr)."""
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None, "", ""
    return proc.returncode, out, err


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="grid11,monaco10k,monaco100k,grid1m")
    parser.add_argument(
        "--engines", default="twin,uxsim-py5,uxsim-cpp5,uxsim-cpp1,sumo-meso,sumo-meso-nojc"
    )
    parser.add_argument("--repeats", type=int, default=1, help="twin runs per case (median)")
    parser.add_argument(
        "--peer-repeats", type=int, default=1, help="runs per case of each peer (median)"
    )
    parser.add_argument(
        "--peer-timeout",
        type=float,
        default=300.0,
        help="wall-time limit (s) of one peer run; a run that hits it is reported as such",
    )
    parser.add_argument("--one", nargs=2, metavar=("CASE", "ENGINE"), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(*args.one, Path(args.workdir))))
        return

    from rich.console import Console
    from rich.table import Table

    sumo_peer = _sumo_peer()
    console = Console(width=170)
    engines = args.engines.split(",")
    if any(e.startswith("sumo") for e in engines):
        version = sumo_peer.available()
        if version is None:
            console.print(
                "note: SUMO is not installed (pip install eclipse-sumo==1.28.0): "
                "skipping the sumo engines"
            )
            engines = [e for e in engines if not e.startswith("sumo")]
        else:
            console.print(
                f"SUMO {version} meso: sumo-meso with junction control, sumo-meso-nojc "
                "without; every vehicle rerouted every 300 s"
            )
    notes = []
    with tempfile.TemporaryDirectory() as workdir:
        table = Table(title="traffic: wall time of the simulation, peak memory (max RSS)")
        for col in (
            "case",
            "engine",
            "runs",
            "wall s",
            "peak MB",
            "veh/s",
            "completed",
            "by jump",
            "mean tt s",
            "total tt h",
            "free tt s",
            "mean km",
            "peer/twin wall",
        ):
            table.add_column(col, justify="right" if col not in ("case", "engine") else "left")
        for case in args.cases.split(","):
            results = {}
            for engine in engines:
                if not wired(case, engine):
                    continue
                runs = []
                for _ in range(args.repeats if engine == "twin" else args.peer_repeats):
                    limit = None if engine == "twin" else args.peer_timeout
                    rc, out, err = _run_limited(
                        [sys.executable, __file__, "--one", case, engine, "--workdir", workdir],
                        limit,
                    )
                    if rc is None:
                        console.print(f"{case}/{engine}: stopped after {limit:.0f} s")
                        table.add_row(case, engine, "0", f"> {limit:.0f}", *[""] * 9)
                        break
                    if rc != 0:
                        console.print(f"[red]{case}/{engine} failed:[/red] {err[-800:]}")
                        break
                    runs.append(json.loads(out.strip().splitlines()[-1]))
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
                    str(len(runs)),
                    f"{r['wall_s']:.2f}",
                    f"{r['peak_mb']:.0f}",
                    f"{r['vehicles'] / r['wall_s']:,.0f}",
                    f"{r['completed']:,}/{r['vehicles']:,}",
                    _by_jump(r),
                    f"{r['mean_tt_s']:,.0f}",
                    f"{r['total_tt_h']:,.0f}",
                    f"{r['free_tt_s']:,.0f}" if "free_tt_s" in r else "",
                    f"{r['mean_km']:.2f}" if "mean_km" in r else "",
                    ratio,
                )
                if "note" in r:
                    notes.append(f"{case}/{engine}: {r.pop('note')}")
                console.print(f"{case}/{engine}: {json.dumps(r)}")
        console.print(table)
        for note in notes:
            console.print(note)


def _by_jump(r: dict) -> str:
    """Trips completed only thanks to gridlock relief: twin's jumps (trips that jumped at
    least once, share of the completed), SUMO's teleports (count of teleports)."""
    if "completed_by_jump" in r:
        share = r["completed_by_jump"] / r["completed"] if r["completed"] else 0.0
        return f"{r['completed_by_jump']:,} ({100 * share:.1f} %)"
    if "teleports" in r:
        return f"{r['teleports']:,} tp"
    return ""


if __name__ == "__main__":
    main()
