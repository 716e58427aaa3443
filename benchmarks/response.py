"""Response model speed: incidents simulated per second with 50 units on Monaco.

Usage: python benchmarks/response.py [--repeats N] [--days D] [--grid N]

The demand is scaled to a city of 1 million people (about 500 calls a day, spread over
Monaco's road nodes by population); 50 units (25 ambulances, 15 fire engines, 10 police
cars) sit at the map's fire and police stations. Two road states: free flow, and a live
traffic state whose link times change every minute (random congestion factors between 1
and 3, so every change invalidates the shortest-path cache and reroutes units on the move).
Prints the median over N runs of wall time per simulated day and incidents per second;
the target is a simulated day in under 10 s. ``--grid N`` adds the same on a synthetic
N x N street grid (N = 150: 22,500 nodes, about the street count of a city of a million),
to show how the shortest-path work grows with the graph.
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


def run_once(pack, net, plan, scenario, *, days: float, live: bool, seed: int):
    from twin.response.build import build_response
    from twin.response.incidents import rng_for

    model = build_response(scenario, plan, pack, network=net, seed=seed, residents=PEOPLE)
    if live:
        rng = rng_for(seed, "traffic")

        def traffic():
            while True:
                yield model.env.timeout(60.0)
                factors = 1.0 + 2.0 * rng.random(len(net.travel.free_flow))
                model.update_roads(link_times=net.travel.free_flow * factors)

        model.env.process(traffic())
    start = time.perf_counter()
    kpis = model.run(days * DAY)
    return time.perf_counter() - start, kpis


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
    from twin.response.incidents import rng_for

    model, travel = grid_model(n, seed)
    if live:
        rng = rng_for(seed, "traffic")

        def traffic():
            while True:
                yield model.env.timeout(60.0)
                factors = 1.0 + 2.0 * rng.random(len(travel.free_flow))
                model.update_roads(link_times=travel.free_flow * factors)

        model.env.process(traffic())
    start = time.perf_counter()
    kpis = model.run(days * DAY)
    return time.perf_counter() - start, kpis


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
    from twin.response.build import CityNetwork, facility_plan
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
    table = Table(
        title=f"Response model on Monaco: {units} units, {PEOPLE:,} people "
        f"({args.days:g} simulated day(s); median of {args.repeats} runs)"
    )
    for col in ("road state", "incidents", "wall s / day", "incidents / s", "p90 min"):
        table.add_column(col, justify="right")
    for live in (False, True):
        walls, counts, p90 = [], [], []
        for r in range(args.repeats):
            wall, kpis = run_once(pack, net, plan, scenario, days=args.days, live=live, seed=r)
            walls.append(wall)
            counts.append(kpis.incidents)
            p90.append(kpis.response_p90)
        rates = [c / w for c, w in zip(counts, walls, strict=True)]
        table.add_row(
            "live traffic (1 min updates)" if live else "free flow",
            f"{statistics.median(counts):.0f}",
            f"{statistics.median(walls) / args.days:.3f}",
            f"{statistics.median(rates):,.0f}",
            f"{np.median(p90) / 60:.1f}",
        )
    Console().print(table)
    if args.grid:
        table = Table(
            title=f"Synthetic {args.grid} x {args.grid} street grid ({args.grid**2:,} nodes): "
            f"{UNITS} units, {PEOPLE:,} people (median of {args.repeats} runs)"
        )
        for col in ("road state", "incidents", "wall s / day", "incidents / s", "p90 min"):
            table.add_column(col, justify="right")
        for live in (False, True):
            runs = [
                run_grid(args.grid, days=args.days, live=live, seed=r) for r in range(args.repeats)
            ]
            walls = [w for w, _ in runs]
            counts = [k.incidents for _, k in runs]
            rates = [c / w for c, w in zip(counts, walls, strict=True)]
            table.add_row(
                "live traffic (1 min updates)" if live else "free flow",
                f"{statistics.median(counts):.0f}",
                f"{statistics.median(walls) / args.days:.3f}",
                f"{statistics.median(rates):,.0f}",
                f"{np.median([k.response_p90 for _, k in runs]) / 60:.1f}",
            )
        Console().print(table)


if __name__ == "__main__":
    main()
