"""Crowd model benchmarks: speed and scale, and the bottleneck side by side with JuPedSim.

Run ``TWIN_MAPS=/work/shared/maps python benchmarks/crowd.py`` (``--quick`` for a short
run, ``--no-peer`` without JuPedSim). Prints:

1. Bottleneck: a room at 4 persons/m2 emptying through a 1 m and a 2 m door, twin vs
   JuPedSim 1.4.2 (collision-free speed model, dt 0.01 s, agent radius 0.15 m: with its
   default 0.2 m the 1 m door jams for good), with clearance times, specific flows and the
   wall-time ratio; runs alternate and the medians are shown.
2. Scale: pedestrian-steps per second for 10k, 100k and 1M walkers on Monaco and on a
   synthetic grid city, and the wall time of 100k walkers for 1 simulated hour.

JuPedSim is a benchmark/test-only dependency; the engine never imports it.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from twin.crowd import CrowdModel, CrowdParams
from twin.crowd.geometry import grid_city, room_with_door
from twin.crowd.network import WalkNetwork

RADIUS = 0.15
"""JuPedSim agent radius (m) for the door comparison."""


def twin_room(people: int, door: float, seed: int = 0, dt: float = 0.1) -> dict[str, float]:
    """Empty a room of ``people`` at 4 /m2 through a ``door`` (m) with the twin's model.

    Returns clearance time (s), specific flow (persons/(m s)) and wall time (s).
    """
    t0 = time.perf_counter()
    room = room_with_door(people, 4.0, door)
    model = CrowdModel(room.net, np.random.default_rng(seed))
    model.add_destinations([room.exit_node], group="exit")
    rng = np.random.default_rng(seed + 1)
    model.place_people(
        np.zeros(people, dtype=np.int64), rng.uniform(0, room.side, people), group="exit"
    )
    while model.counts()["arrived"] < people and model.t < 5000:
        model.step(dt)
    t_clear = model.kpis().clearance["t100"]
    return {"clear": t_clear, "flow": people / t_clear / door, "wall": time.perf_counter() - t0}


def jupedsim_room(people: int, door: float, seed: int = 0) -> dict[str, float]:
    """The same room in JuPedSim (collision-free speed model, dt 0.01 s, radius 0.15 m,
    desired speeds N(1.34, 0.26) clipped to [0.3, 2.5] m/s).

    The room is a square of side ``sqrt(people / 4)``, the door ``door`` wide and 0.5 m
    deep, the exit 5 m beyond it (as in :func:`twin.crowd.geometry.room_with_door`).
    """
    import jupedsim as jps
    import shapely

    t0 = time.perf_counter()
    side = float(np.sqrt(people / 4.0))
    mid = side / 2.0
    room = shapely.box(0, 0, side, side)
    area = shapely.union_all(
        [
            room,
            shapely.box(side, mid - door / 2, side + 0.5, mid + door / 2),
            shapely.box(side + 0.5, mid - 5.0, side + 5.5, mid + 5.0),
        ]
    )
    sim = jps.Simulation(model=jps.CollisionFreeSpeedModel(), geometry=area, dt=0.01)
    exit_id = sim.add_exit_stage(shapely.box(side + 5.0, mid - 5.0, side + 5.5, mid + 5.0))
    journey = sim.add_journey(jps.JourneyDescription([exit_id]))
    spots = jps.distribute_by_number(
        polygon=room,
        number_of_agents=people,
        distance_to_agents=2 * RADIUS + 0.05,
        distance_to_polygon=RADIUS + 0.01,
        seed=seed,
    )
    speeds = np.clip(np.random.default_rng(seed + 1).normal(1.34, 0.26, people), 0.3, 2.5)
    for spot, speed in zip(spots, speeds, strict=True):
        sim.add_agent(
            jps.CollisionFreeSpeedModelAgentParameters(
                journey_id=journey,
                stage_id=exit_id,
                position=spot,
                radius=RADIUS,
                desired_speed=float(speed),
            )
        )
    steps = 0
    while sim.agent_count() > 0 and sim.elapsed_time() < 2000:
        steps += sim.agent_count()
        sim.iterate()
    t_clear = sim.elapsed_time()
    wall = time.perf_counter() - t0
    return {
        "clear": t_clear,
        "flow": people / t_clear / door,
        "wall": wall,
        "agent_steps_per_s": steps / wall,
        "left": sim.agent_count(),
    }


def bottleneck_table(cases: list[tuple[int, float]], repeats: int, peer: bool) -> None:
    """Print twin vs JuPedSim on the room-and-door cases (medians of alternated runs)."""
    print("\n## Bottleneck: room at 4 /m2 through a door (JuPedSim radius 0.15 m, dt 0.01 s)")
    print(
        f"{'people':>6} {'door m':>6} | {'twin clear s':>12} {'flow /(m s)':>11} {'wall s':>7} |"
        f" {'JPS clear s':>11} {'flow /(m s)':>11} {'wall s':>7} | {'dT %':>6} {'wall x':>7}"
    )
    for people, door in cases:
        tw, jp = [], []
        for r in range(repeats):
            tw.append(twin_room(people, door, seed=r))
            if peer:
                jp.append(jupedsim_room(people, door, seed=r))
        t = {k: statistics.median(x[k] for x in tw) for k in ("clear", "flow", "wall")}
        line = (
            f"{people:>6} {door:>6.1f} | {t['clear']:>12.1f} {t['flow']:>11.2f} {t['wall']:>7.2f} |"
        )
        if peer:
            j = {k: statistics.median(x[k] for x in jp) for k in ("clear", "flow", "wall")}
            line += (
                f" {j['clear']:>11.1f} {j['flow']:>11.2f} {j['wall']:>7.1f} |"
                f" {100 * (t['clear'] / j['clear'] - 1):>+6.1f} {j['wall'] / t['wall']:>7.0f}"
            )
        print(line, flush=True)


def scale_run(
    net: WalkNetwork,
    shelters: np.ndarray,
    walkers: int,
    sim_s: float,
    seed: int = 0,
    dt: float = 1.0,
) -> dict[str, float]:
    """``walkers`` leaving random nodes over the first 30 min for the nearest of
    ``shelters`` (no capacity limit); returns pedestrian-steps/s and wall time."""
    rng = np.random.default_rng(seed)
    model = CrowdModel(net, rng, CrowdParams())
    model.add_destinations(shelters, group="shelters")
    sources = np.flatnonzero(np.isin(np.arange(net.n_nodes), net.tail))
    model.add_people(rng.choice(sources, walkers), rng.uniform(0, 1800, walkers), group="shelters")
    t0 = time.perf_counter()
    model.advance_to(sim_s, dt=dt)
    wall = time.perf_counter() - t0
    c = model.counts()
    return {
        "wall": wall,
        "ped_steps_per_s": model.person_steps / wall,
        "arrived": c["arrived"] / walkers,
        "stuck": c["stuck"],
    }


def scale_table(quick: bool) -> None:
    """Print pedestrian-steps/s on Monaco and a grid city for 10k, 100k and 1M walkers.

    10k and 100k walkers run 1 simulated hour; 1M run 15 min (on Monaco, 1M walkers is 13
    times its population on 6,274 links: the streets lock up, and the long queues, which
    every step re-examines, make a simulated hour take many minutes).
    """
    from twin.city import load_city

    pack = load_city("monaco")
    monaco = WalkNetwork.from_graph(pack.largest_component().walk, crs=pack.crs)
    high = np.flatnonzero(monaco.z > 30)
    monaco_shelters = np.random.default_rng(0).choice(high, 8, replace=False)
    grid = grid_city(100, 100.0, 4.0)
    lattice = np.arange(10, 100, 20)
    grid_shelters = (lattice[:, None] * 100 + lattice[None, :]).ravel()  # 25 shelters
    runs = [(10_000, 3600.0), (100_000, 3600.0)]
    runs += [] if quick else [(1_000_000, 900.0)]
    if quick:
        runs = [(10_000, 600.0), (100_000, 600.0)]
    print("\n## Scale: walkers leaving over 30 min for the nearest shelter, dt 1 s, one core")
    print(
        f"{'network':>8} {'links':>6} {'walkers':>9} {'sim s':>6} | {'wall s':>7}"
        f" {'ped-steps/s':>12} {'arrived':>8} {'stuck':>6}"
    )
    for name, net, shelters in (
        ("monaco", monaco, monaco_shelters),
        ("grid100", grid, grid_shelters),
    ):
        for n, sim_s in runs:
            r = scale_run(net, shelters, n, sim_s)
            print(
                f"{name:>8} {net.n_links:>6} {n:>9} {sim_s:>6.0f} | {r['wall']:>7.1f} "
                f"{r['ped_steps_per_s']:>12.3g} {r['arrived']:>8.1%} {r['stuck']:>6}",
                flush=True,
            )


def main() -> None:
    """Parse options and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small cases only")
    parser.add_argument("--no-peer", action="store_true", help="skip JuPedSim")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cases = [(100, 1.0), (100, 2.0)] if args.quick else [(400, 1.0), (400, 2.0), (1000, 2.0)]
    repeats = 1 if args.quick else args.repeats
    bottleneck_table(cases, repeats, peer=not args.no_peer)
    scale_table(args.quick)


if __name__ == "__main__":
    main()
