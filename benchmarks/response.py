"""Response model speed: incidents simulated per second with 50 units on Monaco.

Usage: python benchmarks/response.py [--repeats N] [--days D] [--grid N]

The demand is scaled to a city of 1 million people (about 500 calls a day, spread over
Monaco's road nodes by population); 50 units (25 ambulances, 15 fire engines, 10 police
cars) sit at the map's fire and police stations. Two road states: free flow, and a live
traffic state whose link times change every minute (random congestion factors between 1
and 3, from 16 states drawn before the clock starts; every change invalidates the
shortest-path caches and reroutes units on the move).
Prints the median over N runs of wall and CPU time per simulated day (CPU time is the
steadier figure on a shared machine) and incidents per second, after a short warm-up that
loads or compiles the numba kernels; the target is a simulated day in under 10 s.
``--grid N`` adds the same on a synthetic N x N street grid (N = 150: 22,500 nodes, about
the street count of a city of a million), to show how the shortest-path work grows with the
graph.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

DAY = 86400.0
PEOPLE = 1_000_000
UNITS = 50
RATES = {"medical": 0.35, "traffic_accident": 0.06, "fire": 0.03, "police": 0.06}  # /1000/day


STATES = 16
"""Congestion states of the live-traffic stand-in, drawn before the clock starts."""


def live_traffic(model, free_flow: np.ndarray, seed: int) -> None:
    """Give ``model`` new link times every minute: free-flow times (s) times random
    congestion factors in [1, 3], from one of :data:`STATES` states drawn up front (so the
    wall time is the response model's, not the random draws'); consecutive minutes never
    repeat a state, so every update invalidates the shortest-path caches."""
    from twin.random import stream

    rng = stream(seed, "traffic")
    states = free_flow * (1.0 + 2.0 * rng.random((STATES, len(free_flow))))

    def traffic():
        k = 0
        while True:
            yield model.env.timeout(60.0)
            k = (k + 1 + int(rng.integers(STATES - 1))) % STATES
            model.update_roads(link_times=states[k])

    model.env.process(traffic())


def timed(model, days: float):
    """Run ``model`` for ``days``; wall time (s), CPU time of this process (s), KPIs."""
    wall, cpu = time.perf_counter(), time.process_time()
    kpis = model.run(days * DAY)
    return time.perf_counter() - wall, time.process_time() - cpu, kpis


def add_rows(table, label: str, runs: list, days: float) -> None:
    """One table row of median figures over ``runs`` of ``(wall, cpu, kpis)``."""
    walls = [w for w, _, _ in runs]
    counts = [k.incidents for _, _, k in runs]
    rates = [c / w for c, w in zip(counts, walls, strict=True)]
    table.add_row(
        label,
        f"{statistics.median(counts):.0f}",
        f"{statistics.median(walls) / days:.3f}",
        f"{statistics.median([c for _, c, _ in runs]) / days:.3f}",
        f"{statistics.median(rates):,.0f}",
        f"{np.median([k.response_p90 for _, _, k in runs]) / 60:.1f}",
    )


COLUMNS = ("road state", "incidents", "wall s / day", "CPU s / day", "incidents / s", "p90 min")
LABELS = {False: "free flow", True: "live traffic (1 min updates)"}


def run_once(pack, net, plan, scenario, *, days: float, live: bool, seed: int):
    from twin.coupling.response_setup import build_response

    model = build_response(scenario, plan, pack, network=net, seed=seed, residents=PEOPLE)
    if live:
        live_traffic(model, net.travel.free_flow, seed)
    return timed(model, days)


def grid_model(n: int, seed: int):
    """A synthetic n x n street grid (100 m blocks, 50 km/h, both directions) with PEOPLE
    residents spread evenly, UNITS units at 10 stations on a regular pattern, 4 hospitals."""
    import networkx as nx

    from twin.response import (
        BackgroundDemand,
        Hospital,
        ResponseModel,
        RoadTravel,
        StationSpec,
        make_policy,
    )

    g = nx.MultiDiGraph()
    for i in range(n):
        for j in range(n):
            g.add_node(i * n + j, x=100.0 * i, y=100.0 * j)
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < n and j + dj < n:
                    a, b = i * n + j, (i + di) * n + j + dj
                    g.add_edge(a, b, travel_time=100.0 / 13.9)
                    g.add_edge(b, a, travel_time=100.0 / 13.9)
    travel = RoadTravel(g)
    spots = [(i, j) for i in (0.2, 0.5, 0.8) for j in (0.2, 0.5, 0.8)] + [(0.35, 0.65)]
    node = lambda fi, fj: int(fi * (n - 1)) * n + int(fj * (n - 1))  # noqa: E731
    stations = [
        StationSpec(f"s{k}", node(fi, fj), {"ambulance": 3, "fire_engine": 1, "police": 1})
        for k, (fi, fj) in enumerate(spots)
    ]
    hospitals = [Hospital(f"h{k}", node(fi, fj), 20.0) for k, (fi, fj) in enumerate(spots[:4])]
    demand = BackgroundDemand.per_resident(RATES, np.full(n * n, PEOPLE / (n * n)))
    model = ResponseModel(
        travel, stations, policy=make_policy("nearest"), seed=seed, background=demand,
        hospitals=hospitals,
    )  # fmt: skip
    return model, travel


def run_grid(n: int, *, days: float, live: bool, seed: int):
    model, travel = grid_model(n, seed)
    if live:
        live_traffic(model, travel.free_flow, seed)
    return timed(model, days)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument(
        "--grid", type=int, default=0, help="also run on a synthetic N x N street grid"
    )
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from twin.city import load_city
    from twin.coupling.response_setup import facility_plan
    from twin.response.network import CityNetwork
    from twin.scenario.schema import Scenario

    pack = load_city("monaco")
    net = CityNetwork.from_pack(pack)
    # the map's fire stations hold engines and ambulances, its police stations one car each;
    # the first fire station takes what is left to make exactly UNITS
    plan = facility_plan(
        pack, units={"fire_station": {"fire_engine": 8, "ambulance": 12}, "police": {"police": 1}}
    )
    data = plan.model_dump()
    first = next(s for s in data["stations"] if s["units"]["fire_engine"])
    first["units"]["ambulance"] += UNITS - sum(sum(s["units"].values()) for s in data["stations"])
    plan = type(plan).model_validate(data)
    units = sum(s.units.total for s in plan.stations)
    scenario = Scenario.model_validate(
        {
            "version": 1,
            "name": "benchmark",
            "city": {"name": "monaco"},
            "time": {"duration": args.days * DAY},
            "incidents": {"background": RATES},
        }
    )
    run_grid(20, days=0.05, live=True, seed=0)  # warm-up: load or compile the kernels
    table = Table(
        title=f"Response model on Monaco: {units} units, {PEOPLE:,} people "
        f"({args.days:g} simulated day(s); median of {args.repeats} runs)"
    )
    for col in COLUMNS:
        table.add_column(col, justify="right")
    for live in (False, True):
        runs = [
            run_once(pack, net, plan, scenario, days=args.days, live=live, seed=r)
            for r in range(args.repeats)
        ]
        add_rows(table, LABELS[live], runs, args.days)
    Console(width=120).print(table)
    if args.grid:
        table = Table(
            title=f"Synthetic {args.grid} x {args.grid} street grid ({args.grid**2:,} nodes): "
            f"{UNITS} units, {PEOPLE:,} people (median of {args.repeats} runs)"
        )
        for col in COLUMNS:
            table.add_column(col, justify="right")
        for live in (False, True):
            runs = [
                run_grid(args.grid, days=args.days, live=live, seed=r) for r in range(args.repeats)
            ]
            add_rows(table, LABELS[live], runs, args.days)
        Console(width=120).print(table)


if __name__ == "__main__":
    main()
