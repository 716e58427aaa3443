"""Crowd model benchmarks: speed and scale, and the bottleneck side by side with JuPedSim.

Run ``TWIN_MAPS=/work/shared/maps python benchmarks/crowd.py`` (``--quick`` for a short
run, ``--no-peer`` without JuPedSim). Prints:

1. Bottleneck: a room at 4 persons/m2 emptying through a 1 m and a 2 m door, twin vs
   JuPedSim 1.4.2 (collision-free speed model, dt 0.01 s, agent radius 0.15 m: with its
   default 0.2 m the 1 m door jams for good), with clearance times, specific flows and the
   wall-time ratio; runs alternate and the medians are shown.
2. Scale: pedestrian-steps per second for 10k, 100k and 1M walkers on Monaco and on a
   synthetic grid city (each case in a fresh interpreter on one core, with its peak
   memory), and the Monaco target: 100k walkers for 1 simulated hour in under 60 s.

Options: ``--repeats`` (bottleneck runs, default 3), ``--long-repeats`` (the 1,000-person
case, default 1: JuPedSim takes ~5 min per run), ``--scale-repeats`` (scale cases up to
100k walkers, default 1), ``--no-scale``.

JuPedSim is a benchmark/test-only dependency; the engine never imports it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

from twin.crowd import CrowdModel, CrowdParams
from twin.crowd.geometry import grid_city, room_with_door
from twin.crowd.network import WalkNetwork

RADIUS = 0.15
"""JuPedSim agent radius (m) for the door comparison."""
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
"""Thread-count variables set to 1 for the one-core scale runs."""


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


def bottleneck_table(
    cases: list[tuple[int, float]], repeats: int, peer: bool, *, header: bool = True
) -> None:
    """Print twin vs JuPedSim on the room-and-door cases (medians of alternated runs).

    ``dT %`` is twin's clearance time relative to JuPedSim's (medians), ``wall x`` the median
    over the alternated pairs of JuPedSim's wall time over twin's."""
    if header:
        print("\n## Bottleneck: room at 4 /m2 through a door (JuPedSim radius 0.15 m, dt 0.01 s)")
        print(
            f"{'people':>6} {'door m':>6} {'runs':>4} | {'twin clear s':>12} {'flow /(m s)':>11}"
            f" {'wall s':>7} | {'JPS clear s':>11} {'flow /(m s)':>11} {'wall s':>7} |"
            f" {'dT %':>6} {'wall x':>7}"
        )
    for people, door in cases:
        tw, jp = [], []
        for r in range(repeats):
            tw.append(twin_room(people, door, seed=r))
            if peer:
                jp.append(jupedsim_room(people, door, seed=r))
        t = {k: statistics.median(x[k] for x in tw) for k in ("clear", "flow", "wall")}
        line = (
            f"{people:>6} {door:>6.1f} {repeats:>4} | {t['clear']:>12.1f} {t['flow']:>11.2f}"
            f" {t['wall']:>7.2f} |"
        )
        if peer:
            j = {k: statistics.median(x[k] for x in jp) for k in ("clear", "flow", "wall")}
            ratio = statistics.median(b["wall"] / a["wall"] for a, b in zip(tw, jp, strict=True))
            d_clear = 100 * (t["clear"] / j["clear"] - 1)
            line += (
                f" {j['clear']:>11.1f} {j['flow']:>11.2f} {j['wall']:>7.1f} |"
                f" {d_clear:>+6.1f} {ratio:>7.0f}"
            )
            left = max(x["left"] for x in jp)
            if left:
                line += f"  (JuPedSim: {left} people still inside at 2,000 s)"
            if people >= 1000:
                ok = ratio >= 100 and abs(d_clear) <= 15
                line += (
                    f"\ntarget on {people} people: >= 100x less wall time, clearance within"
                    f" 15 %: {'met' if ok else 'missed'}"
                )
        print(line, flush=True)


def scale_networks(name: str) -> tuple[WalkNetwork, np.ndarray]:
    """The network and shelter nodes of a scale case: ``monaco`` (the walk graph's largest
    component, 8 random shelters above 30 m) or ``grid100`` (a 100 x 100 grid of 4 m wide
    streets 100 m apart, 25 shelters on a 2 km lattice)."""
    if name == "monaco":
        from twin.city import load_city

        pack = load_city("monaco")
        net = WalkNetwork.from_graph(pack.largest_component().walk, crs=pack.crs)
        high = np.flatnonzero(net.z > 30)
        return net, np.random.default_rng(0).choice(high, 8, replace=False)
    if name == "grid100":
        lattice = np.arange(10, 100, 20)
        return grid_city(100, 100.0, 4.0), (lattice[:, None] * 100 + lattice[None, :]).ravel()
    raise SystemExit(f"unknown network {name!r}")


def scale_run(
    net: WalkNetwork,
    shelters: np.ndarray,
    walkers: int,
    sim_s: float,
    seed: int = 0,
    dt: float = 1.0,
) -> dict[str, float]:
    """``walkers`` leaving random nodes over the first 30 min for the nearest of
    ``shelters`` (no capacity limit); returns pedestrian-steps/s and wall time.

    The wall time covers the model's construction and its run (``setup``: construction and
    placing people; the first routes are computed in the first step).
    """
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    model = CrowdModel(net, rng, CrowdParams())
    model.add_destinations(shelters, group="shelters")
    sources = np.flatnonzero(np.isin(np.arange(net.n_nodes), net.tail))
    model.add_people(rng.choice(sources, walkers), rng.uniform(0, 1800, walkers), group="shelters")
    setup = time.perf_counter() - t0
    model.advance_to(sim_s, dt=dt)
    wall = time.perf_counter() - t0
    c = model.counts()
    return {
        "wall": wall,
        "setup": setup,
        "ped_steps": model.person_steps,
        "ped_steps_per_s": model.person_steps / wall,
        "arrived": c["arrived"] / walkers,
        "stuck": c["stuck"],
        "walking": walkers - c["arrived"] - c["stuck"],
    }


def scale_one(name: str, walkers: int, sim_s: float) -> dict[str, float]:
    """One scale case in this process, pinned to one core; adds memory (MB): ``base_mb``
    (max RSS with the network loaded) and ``peak_mb`` (max RSS at the end)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    net, shelters = scale_networks(name)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = scale_run(net, shelters, walkers, sim_s)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result | {"links": net.n_links, "base_mb": base, "peak_mb": peak}


def scale_table(quick: bool, repeats: int) -> None:
    """Print pedestrian-steps/s on Monaco and a grid city for 10k, 100k and 1M walkers.

    Each case runs in a fresh interpreter on one core (threads capped at 1) so that its
    memory is its own; with ``repeats`` > 1 the cases of 100k walkers or fewer repeat and
    the medians are shown. 10k and 100k walkers run 1 simulated hour; 1M run 15 min (on
    Monaco, 1M walkers is 26 times its population on its walk links: the streets lock up,
    and the long queues, which every step re-examines, make a simulated hour take many
    minutes). The line after the table checks the Monaco target: 100k walkers for one
    simulated hour in under 60 s on one core.
    """
    runs = [(10_000, 3600.0), (100_000, 3600.0)]
    runs += [] if quick else [(1_000_000, 900.0)]
    if quick:
        runs = [(10_000, 600.0), (100_000, 600.0)]
    print(
        "\n## Scale: walkers leaving over 30 min for the nearest shelter, dt 1 s, one core"
        "\n   (wall: model construction + run, setup: construction alone; base MB: max RSS"
        " with the network loaded, peak MB: at the end)"
    )
    print(
        f"{'network':>8} {'links':>6} {'walkers':>9} {'sim s':>6} {'runs':>4} | {'setup s':>7}"
        f" {'wall s':>7}"
        f" {'ped-steps/s':>12} {'arrived':>8} {'walking':>8} {'stuck':>6} |"
        f" {'base MB':>7} {'peak MB':>7}"
    )
    env = {**os.environ, **dict.fromkeys(_THREAD_VARS, "1")}
    target = None
    for name in ("monaco", "grid100"):
        for n, sim_s in runs:
            results = []
            for _ in range(repeats if n <= 100_000 else 1):
                proc = subprocess.run(
                    [sys.executable, __file__, "--one-scale", name, str(n), str(sim_s)],
                    capture_output=True,
                    text=True,
                    env=env,
                    check=False,
                )
                if proc.returncode != 0:
                    print(f"{name}/{n} failed: {proc.stderr[-800:]}", flush=True)
                    break
                results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            if not results:
                continue
            r = {k: statistics.median(x[k] for x in results) for k in results[0]}
            print(
                f"{name:>8} {r['links']:>6.0f} {n:>9} {sim_s:>6.0f} {len(results):>4} |"
                f" {r['setup']:>7.1f} {r['wall']:>7.1f} {r['ped_steps_per_s']:>12.3g}"
                f" {r['arrived']:>8.1%} {r['walking']:>8.0f} {r['stuck']:>6.0f} |"
                f" {r['base_mb']:>7.0f} {r['peak_mb']:>7.0f}",
                flush=True,
            )
            if name == "monaco" and n == 100_000 and sim_s == 3600.0:
                target = r["wall"]
    if target is not None:
        verdict = "met" if target < 60.0 else "missed"
        print(
            f"Monaco target, 100k walkers for 1 simulated hour on one core: {target:.1f} s"
            f" (target < 60 s: {verdict})"
        )


def main() -> None:
    """Parse options and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small cases only")
    parser.add_argument("--no-peer", action="store_true", help="skip JuPedSim")
    parser.add_argument("--no-scale", action="store_true", help="skip the scale table")
    parser.add_argument("--repeats", type=int, default=3, help="bottleneck runs per case")
    parser.add_argument(
        "--long-repeats",
        type=int,
        default=1,
        help="runs of the 1,000-person bottleneck (JuPedSim takes ~5 min each)",
    )
    parser.add_argument("--scale-repeats", type=int, default=1, help="runs of scale cases")
    parser.add_argument("--one-scale", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_scale:
        name, n, sim_s = args.one_scale
        print(json.dumps(scale_one(name, int(n), float(sim_s))))
        return
    if args.quick:
        bottleneck_table([(100, 1.0), (100, 2.0)], 1, peer=not args.no_peer)
    else:
        bottleneck_table([(400, 1.0), (400, 2.0)], args.repeats, peer=not args.no_peer)
        bottleneck_table([(1000, 2.0)], args.long_repeats, peer=not args.no_peer, header=False)
    if not args.no_scale:
        scale_table(args.quick, 1 if args.quick else args.scale_repeats)


if __name__ == "__main__":
    main()
