"""Experiment throughput: replications per minute of a small Monaco study, by executor.

Usage: python benchmarks/experiment.py [--replications N] [--days D] [--repeats R] [--no-dask]

A replication here is one run: one plan on one seed (the response model over ``--days``
simulated days of background calls on Monaco, two stations, free-flow roads). The study
compares two plans, so N replications make 2N runs. Each executor runs the study R times
into a fresh results file, through the real driver (runs stored in DuckDB with their time
series as Parquet), and the table gives medians:

* start-up: from the call until the first result (worker start, prepared state shipped);
* replications/min: steady rate, from the first result to the last;
* model s/run: median time inside the model (measured by the workers);
* overhead s/run: ``workers x steady wall / runs - model time``: what a run costs beyond
  the model (task shipping, result transfer, parent writes);
* CPU share: median share of a core a worker got while running the model (CPU time /
  wall time); below 100 % the machine is shared, and efficiency drops with it;
* efficiency: steady rate / (workers x the 1-worker rate);
* per CPU: efficiency x (1-worker CPU share / this CPU share): the scaling per unit of
  CPU the workers actually got (what efficiency would be on an idle machine if the
  overhead stays as measured).

Executors: local processes with 1 and 2 workers, and Dask with a scheduler and 2 workers
(``dask scheduler`` / ``dask worker --nthreads 1``, with :data:`WORKER_ENV`) started on
127.0.0.1 by this script.
Targets: overhead below 0.5 s per replication; efficiency of 85 % or more from 1 to 2
workers. The machine's load average is printed: timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DASK = Path(sys.executable).parent / "dask"
#: Worker settings for many short tasks (README, "Dask"): Dask's defaults sample the task
#: thread's stack every 10 ms and tick the event loop every 20 ms, each taking the GIL from
#: the model; with 0.1 s runs that cost ~10 % of the model's speed (efficiency 77 % -> 86 %
#: measured here).
WORKER_ENV = {
    "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False",
    "DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL": "500ms",
    "DASK_DISTRIBUTED__WORKER__MEMORY__MONITOR_INTERVAL": "1s",
}


def make_study(days: float):
    """The benchmark study: two plans on Monaco over ``days`` simulated days."""
    from twin.experiment.study import PlanEntry, Study, Variant
    from twin.scenario.plan import Plan
    from twin.scenario.schema import Scenario

    scenario = Scenario.model_validate(
        {
            "version": 1,
            "name": "bench",
            "city": {"name": "monaco"},
            "time": {"duration": days * 86400.0},
            "seed": 1,
            "incidents": {"background": {"medical": 0.6, "traffic_accident": 0.1}},
        }
    )
    plans = []
    for name, second in (("one", []), ("two", [[7.4160, 43.7295]])):
        stations = [{"name": "Condamine", "location": [7.4205, 43.7345],
                     "units": {"ambulance": 2, "police": 1}}]  # fmt: skip
        stations += [{"name": f"s{i}", "location": loc, "units": {"ambulance": 1}}
                     for i, loc in enumerate(second)]  # fmt: skip
        plans.append(PlanEntry.of(Plan.model_validate(
            {"version": 1, "name": name, "stations": stations})))  # fmt: skip
    return Study("compare", "bench.yaml", [Variant.of(scenario)], plans, base_seed=1)


def measure(executor, study, prepared, replications: int) -> dict:
    """Run the study once into a fresh store; times of start-up and steady state."""
    from twin.experiment.driver import run_study
    from twin.experiment.store import Store

    stamps: list[tuple[float, int]] = []
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "b.duckdb") as store:
        start = time.perf_counter()
        progress = run_study(
            study, store, executor, prepared, replications=replications,
            on_progress=lambda p: stamps.append((time.perf_counter(), p.done)),
        )  # fmt: skip
        run_s, cpu = store.con.execute(
            "SELECT median(run_s), median(cpu_s / run_s) FROM runs"
        ).fetchone()
    assert progress.done == 2 * replications, progress
    first = next((t, d) for t, d in stamps if d > 0)
    last = stamps[-1]
    steady = (last[1] - first[1]) / (last[0] - first[0])  # runs/s
    return {"startup": first[0] - start, "rate": steady, "model": run_s, "cpu": cpu}


def start_dask(workers: int) -> tuple[str, list[subprocess.Popen]]:
    """A scheduler and ``workers`` single-thread workers on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL,
             "cwd": tempfile.gettempdir(), "env": {**os.environ, **WORKER_ENV}}  # fmt: skip
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port",
                               str(port), "--no-dashboard"], **quiet)]  # fmt: skip
    for _ in range(workers):
        procs.append(subprocess.Popen([str(DASK), "worker", address, "--nthreads", "1",
                                       "--no-dashboard"], **quiet))  # fmt: skip
    return address, procs


def stop(procs: list[subprocess.Popen]) -> None:
    """Terminate (then kill) the cluster processes."""
    for proc in reversed(procs):
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=20, help="per plan (default 20)")
    parser.add_argument("--days", type=float, default=7.0, help="simulated days per run")
    parser.add_argument("--repeats", type=int, default=3, help="studies per executor")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask executor")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from twin.city import load_city
    from twin.experiment.driver import check_study
    from twin.experiment.executors import DaskExecutor, LocalExecutor
    from twin.experiment.runners import get_runner

    pack = load_city("monaco")
    study = make_study(args.days)
    prepared = check_study(study, pack)
    preload = get_runner("response").preload
    # Serial baseline: the model alone, in this process.
    runner = get_runner("response")
    tasks = study.tasks(range(3), "bench")
    runner.run(tasks[0].scenario, tasks[0].plan_model, tasks[0].seed, prepared)  # warm-up
    t0 = time.perf_counter()
    for task in tasks:
        runner.run(task.scenario, task.plan_model, task.seed, prepared)
    serial = (time.perf_counter() - t0) / len(tasks)

    setups = [("local", 1, lambda: LocalExecutor(1, preload=preload)),
              ("local", 2, lambda: LocalExecutor(2, preload=preload))]  # fmt: skip
    procs: list[subprocess.Popen] = []
    if not args.no_dask:
        address, procs = start_dask(2)
        setups.append(("dask", 2, lambda: DaskExecutor(address, timeout=60)))
    rows = []
    try:
        for kind, workers, factory in setups:
            results = []
            for _ in range(args.repeats):
                executor = factory()
                if kind == "dask":
                    while executor.workers < workers:
                        time.sleep(0.2)
                results.append(measure(executor, study, prepared, args.replications))
            rows.append((kind, workers, {k: statistics.median(r[k] for r in results)
                                         for k in results[0]}))  # fmt: skip
    finally:
        stop(procs)

    base, base_cpu = next((r["rate"], r["cpu"]) for kind, w, r in rows
                          if kind == "local" and w == 1)  # fmt: skip
    table = Table(
        title=f"Experiment throughput, Monaco, {args.days:g} simulated day(s) per run, "
        f"{2 * args.replications} runs per study, median of {args.repeats} "
        f"(model alone in-process: {serial:.3f} s/run; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    for col in ["executor", "workers", "start-up s", "replications/min", "model s/run",
                "CPU share", "overhead s/run", "efficiency", "per CPU"]:  # fmt: skip
        table.add_column(col, justify="right")
    for kind, workers, r in rows:
        overhead = workers / r["rate"] - r["model"]
        table.add_row(kind, str(workers), f"{r['startup']:.2f}", f"{60 * r['rate']:.0f}",
                      f"{r['model']:.3f}", f"{r['cpu']:.0%}", f"{overhead:.3f}",
                      f"{r['rate'] / (workers * base):.0%}",
                      f"{r['rate'] / (workers * base) * base_cpu / r['cpu']:.0%}")  # fmt: skip
    Console(width=120).print(table)  # whole headers in logs too


if __name__ == "__main__":
    main()
