"""Engine overhead per exchange on Monaco: the loop's own time, apart from the models'.

The case: the traffic of the Monaco flash flood (``scenarios/monaco_flash_flood.yaml``,
its evacuation by car) and the crowd of the Monaco stadium exit
(``scenarios/monaco_stadium_exit.yaml`` with its plan), built once each, run together
on the engine for ``--minutes`` of simulated time with an exchange every ``--every`` s, a no-op
coupling hook and the vital-signs collector plugged in (what a coupled run will carry).
The engine times the components' ``advance_to`` apart from everything else it does at a
stop (clock, timeline, hooks, observers); the rest over the number of stops is printed as
the overhead per exchange, the median of ``--repeat`` runs (each on freshly built models).

Usage::

    python benchmarks/engine.py                       # 10 min, an exchange every 60 s
    python benchmarks/engine.py --every 1 --repeat 3  # many exchanges: the overhead shows

Needs the sample maps (``TWIN_MAPS`` or ../shared/maps).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("TWIN_MAPS", str(REPO.parent / "shared" / "maps"))


def one_run(minutes: float, every: float) -> tuple[float, int, float]:
    """Build the flash flood's traffic and the stadium exit's crowd and run them together;
    returns the overhead per stop (s), the number of stops and the models' share of the
    wall time."""
    from twin.city import load_city
    from twin.coupling.crowd_setup import crowd_from_scenario
    from twin.coupling.traffic_setup import traffic_from_scenario
    from twin.engine import Timeline, VitalSigns, run
    from twin.scenario.loader import load_plan, load_scenario

    flood = load_scenario(REPO / "scenarios" / "monaco_flash_flood.yaml")
    stadium = load_scenario(REPO / "scenarios" / "monaco_stadium_exit.yaml")
    pack = load_city("monaco")
    plan = load_plan(REPO / "scenarios" / "plans" / "monaco_stadium_response.yaml")
    traffic = traffic_from_scenario(flood, pack)
    crowd = crowd_from_scenario(stadium, pack, plan)
    timeline = Timeline([*traffic.timeline(), *crowd.timeline()])
    result = run(
        [traffic.component(), crowd.component()],
        minutes * 60.0,
        timeline=timeline,
        exchange_every=every,
        exchanges=[lambda t, components: None],
        observers=[VitalSigns()],
    )
    models = (result.wall_seconds - result.loop_seconds) / max(result.wall_seconds, 1e-12)
    return result.overhead_per_stop, result.stops, models


def main(argv: list[str] | None = None) -> int:
    """Print the engine's overhead per exchange on Monaco."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="simulated minutes")
    parser.add_argument("--every", type=float, default=60.0, help="exchange interval (s)")
    parser.add_argument("--repeat", type=int, default=1, help="runs (the median is shown)")
    args = parser.parse_args(argv)
    runs = [one_run(args.minutes, args.every) for _ in range(args.repeat)]
    overhead = statistics.median(r[0] for r in runs)
    stops, share = runs[0][1], statistics.median(r[2] for r in runs)
    print(
        f"Monaco traffic (flash flood) + crowd (stadium exit), {args.minutes:g} min, an "
        f"exchange every "
        f"{args.every:g} s: {stops} stops; engine overhead per exchange "
        f"{overhead * 1e3:.3f} ms (median of {args.repeat}; limit 1 ms); the models take "
        f"{share:.1%} of the loop's wall time"
    )
    return 0 if overhead < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
