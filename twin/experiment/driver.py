"""Run a study: skip finished runs, send the rest to an executor, retry once, store each
result as it arrives, and (with a precision target) add replications until it is met.

Only the parent process writes to the store, one transaction per run; a run interrupted
by Ctrl-C or a dying worker is simply not there, and the next invocation of the same study
computes it. Nothing is computed twice: runs already ``finished`` are skipped, and a run
requested twice in one study (identical variants) is computed once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from twin.atomic import write_text
from twin.errors import Problem, UserInputError
from twin.experiment.executors import Outcome
from twin.experiment.runners import code_version, get_runner
from twin.experiment.store import RunResult, Store, is_interrupt
from twin.experiment.study import RunTask, Study
from twin.metrics.stats import SequentialRule, paired_differences

MAX_ATTEMPTS = 2
"""A failed run is tried once more, then recorded as failed."""
FLUSH_EVERY = 0.5
"""Longest time (s) a finished result waits in the parent before it is stored."""
HOLD_ENV = "TWIN_STUDY_HOLD"
"""Test hook: ``N1,N2,...`` makes the driver pause once it has stored N1 (then N2...) runs
in this invocation, so a test can signal or kill it mid-study without racing the clock."""


class Hold:
    """Pauses a study at chosen counts of stored runs while a test acts (``$TWIN_STUDY_HOLD``).

    At each count the driver writes ``<study>.hold`` (the runs stored so far) and waits,
    taking no new results, until the file is deleted; a signal meanwhile stops it as
    usual. Without the variable it does nothing.

    Raises
    ------
    UserInputError
        If the variable is not a list of whole numbers.
    """

    def __init__(self, study_file: Path) -> None:
        text = os.environ.get(HOLD_ENV, "").strip()
        try:
            self.points = sorted(int(x) for x in text.split(",") if x.strip())
        except ValueError:
            raise UserInputError(
                Problem(f"{HOLD_ENV}={text!r}", field=HOLD_ENV, fix="unset it (a test hook)")
            ) from None
        self.file = study_file.with_suffix(".hold")

    def __call__(self, stored: int) -> None:
        """Hold if ``stored`` runs reach the next count."""
        if not self.points or stored < self.points[0]:
            return
        while self.points and stored >= self.points[0]:
            self.points.pop(0)
        write_text(self.file, str(stored))
        while self.file.exists():
            time.sleep(0.02)


@dataclass
class StudyProgress:
    """Counts reported to a progress callback.

    Attributes
    ----------
    total
        Runs the study needs so far.
    reused
        Runs found finished from an earlier invocation.
    done
        Runs finished in this invocation.
    failed
        Runs recorded failed after their retry.
    replications
        Replications asked for so far.
    """

    total: int = 0
    reused: int = 0
    done: int = 0
    failed: int = 0
    replications: int = 0
    errors: list[str] = field(default_factory=list)


def setup_key(study: Study) -> str:
    """Key of the runner's prepared state: the runner and the study's city."""
    from twin.experiment.study import content_hash

    city = study.variants[0].scenario.city.model_dump(mode="json")
    return content_hash([study.runner, city])


def check_study(study: Study, city: Any) -> Any:
    """Prepare the runner for the city (once) and let it refuse plans before any run
    (another city, stations off the roads).

    Returns
    -------
    object
        The runner's prepared state, to pass to :func:`run_study`.

    Raises
    ------
    UserInputError
        With the runner's first complaint.
    """
    runner = get_runner(study.runner)
    prepared = runner.prepare(city)
    for variant in study.variants:
        for entry in study.plans:
            runner.check(variant.scenario, entry.plan, entry.file, prepared)
    return prepared


def watched(study: Study, values: dict[str, np.ndarray]) -> list[np.ndarray]:
    """What the precision rule watches: per variant, the primary KPI's difference of each
    plan against the baseline (or the one plan's values)."""
    x = values.get(study.primary)
    if x is None:
        return [np.array([])]
    out = []
    for v in range(x.shape[0]):
        if x.shape[2] == 1:
            out.append(x[v, :, 0])
            continue
        base = x[v, :, study.baseline]
        for p in range(x.shape[2]):
            if p != study.baseline:
                out.append(paired_differences(base, x[v, :, p]))
    return out


def run_study(
    study: Study,
    store: Store,
    executor: Any,
    prepared: Any,
    *,
    replications: int | None = None,
    rule: SequentialRule | None = None,
    on_progress: Callable[[StudyProgress], None] | None = None,
) -> StudyProgress:
    """Compute every run of a study that the store does not hold yet.

    Parameters
    ----------
    study
        What to run.
    store
        Where results go (and finished runs are found).
    executor
        :class:`~twin.experiment.executors.LocalExecutor` or ``DaskExecutor``; started here
        on first need, closed here.
    prepared
        The runner's prepared state (from :func:`check_study`), sent to the workers once.
    replications
        Fixed number of replications; or
    rule
        A precision rule that decides how many.
    on_progress
        Called after each stored run (and at each new batch).

    Returns
    -------
    StudyProgress
        Final counts.
    """
    code = code_version(study.runner)
    progress = StudyProgress()
    notify = on_progress or (lambda _p: None)
    target = replications if rule is None else rule.start
    if target is None or target < 1:
        raise ValueError("give replications >= 1 or a rule")
    started = False
    done_reps = 0
    try:
        while True:
            tasks = study.tasks(range(done_reps, target), code)
            store.save_study(study, tasks)
            finished = store.finished(t.run_id for t in tasks)
            todo: dict[str, RunTask] = {}
            for task in tasks:
                if task.run_id not in finished:
                    todo.setdefault(task.run_id, task)
            unique = {t.run_id for t in tasks}
            progress.total += len(unique)
            progress.reused += len(unique & finished)
            progress.replications = target
            notify(progress)
            if todo:
                if not started:
                    executor.start(setup_key(study), prepared)
                    started = True
                _execute(list(todo.values()), store, executor, study, progress, notify)
            done_reps = target
            if rule is None:
                break
            values = store.values(study.study_id, len(study.variants), len(study.plans))
            nxt = rule.next_total(watched(study, values))
            if nxt is None or nxt <= target:
                break
            target = nxt
    except BaseException as exc:
        executor.close(cancel=True)
        if is_interrupt(exc) and not isinstance(exc, KeyboardInterrupt):
            raise KeyboardInterrupt from None  # DuckDB's report of Ctrl-C during a query
        raise
    executor.close()
    return progress


def _execute(
    tasks: list[RunTask],
    store: Store,
    executor: Any,
    study: Study,
    progress: StudyProgress,
    notify: Callable[[StudyProgress], None],
) -> None:
    """Keep a few tasks per worker in flight; store each result; retry a failure once."""
    queue = list(reversed(tasks))
    attempts: dict[str, int] = {}
    submitted: dict[Any, tuple[RunTask, float]] = {}
    in_flight = max(2, 2 * executor.workers)

    def submit(task: RunTask) -> None:
        attempts[task.run_id] = attempts.get(task.run_id, 0) + 1
        submitted[executor.submit(task)] = (task, time.perf_counter())

    pending: list[tuple[RunResult, RunTask]] = []
    last_flush = time.perf_counter()
    hold = Hold(store.path)

    def flush() -> None:
        # One transaction for several results: a DuckDB commit costs ~10 ms, as much as a
        # tenth of a short run. Results wait at most FLUSH_EVERY s (and are flushed on
        # Ctrl-C): a run not yet stored is only recomputed on resume, never half-stored.
        nonlocal last_flush
        if pending:
            store.record_many(
                [(r, t.runner, study.variants[t.variant].hash, study.plans[t.plan].hash,
                  t.seed) for r, t in pending]
            )  # fmt: skip
            for result, task in pending:
                if result.status == "finished":
                    progress.done += 1
                else:
                    progress.failed += 1
                    last = (result.error or "").strip().splitlines()
                    progress.errors.append(
                        f"{study.plans[task.plan].name} replication {task.replication}: "
                        f"{last[-1] if last else 'unknown error'}"
                    )
            pending.clear()
            notify(progress)
        last_flush = time.perf_counter()

    try:
        while queue or submitted:
            while queue and len(submitted) < in_flight:
                submit(queue.pop())
            done, _ = executor.wait(list(submitted), timeout=FLUSH_EVERY)
            for future in done:
                task, t0 = submitted.pop(future)
                try:
                    outcome: Outcome = future.result()
                except Exception as exc:  # a worker died, or the cluster lost the task
                    outcome = Outcome(task.run_id, False, error=f"{type(exc).__name__}: {exc}")
                if not outcome.ok and attempts[task.run_id] < MAX_ATTEMPTS:
                    submit(task)
                    continue
                pending.append((_result(task, outcome, attempts[task.run_id], t0), task))
            # Keep the workers busy while the parent writes: refill first.
            while queue and len(submitted) < in_flight:
                submit(queue.pop())
            if time.perf_counter() - last_flush >= FLUSH_EVERY or not submitted:
                flush()
                hold(progress.done + progress.failed)
    finally:
        flush()


def _result(task: RunTask, outcome: Outcome, attempts: int, t0: float) -> RunResult:
    """What the store records of a task's last attempt."""
    return RunResult(
        run_id=task.run_id,
        status="finished" if outcome.ok else "failed",
        kpis=outcome.kpis,
        series=outcome.series,
        error=outcome.error,
        attempts=attempts,
        worker=outcome.worker,
        started=outcome.started or datetime.now(UTC).replace(tzinfo=None),
        wall_s=time.perf_counter() - t0,
        run_s=outcome.run_s,
        cpu_s=outcome.cpu_s if outcome.ok else float("nan"),
        code_version=outcome.code_version or code_version(task.runner),
    )
