"""Where runs execute: local worker processes (default) or a Dask distributed cluster.

The city is loaded once, by the parent, which also builds the runner's per-city state
(:meth:`Runner.prepare`: for the response model the pack plus its road network) once and
ships that to the workers; nothing is rebuilt per task or per worker:

* local: each worker process receives the prepared state once, pickled into its start-up
  arguments (no disk cache needed), and keeps it for its lifetime;
* Dask: the prepared state is scattered once to every worker
  (``Client.scatter(broadcast=True)``) and tasks refer to that copy; workers need only the
  ``twin`` package installed (no maps, no cache).

A task never raises: a model error comes back as a failed :class:`Outcome`; a worker that
dies shows up as an exception of the future, which the caller treats as a failed attempt.

Workers build runners only from the registry the parent sends (name -> import path of a
registered runner, :func:`~twin.experiment.runners.registered`), and each worker limits its
numba (and BLAS/OpenMP) threads to its share of the cores (:mod:`twin.threads`), so several
replications side by side do not oversubscribe the machine.
"""

from __future__ import annotations

import os
import signal
import socket
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor
from concurrent.futures import wait as futures_wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import numpy as np

from twin.errors import Problem, TwinError, UserInputError
from twin.experiment.runners import RUNNERS, code_version, get_runner, registered
from twin.experiment.study import RunTask
from twin.threads import limit_threads, thread_count, thread_env, usable_cores, worker_share

CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a Dask scheduler (and its first worker) before giving up."""
HEARTBEAT_EVERY = 5.0
"""Seconds between pings of the Dask scheduler while a study waits for results."""


class ClusterLostError(TwinError):
    """The Dask scheduler went away (or stopped answering) mid-study.

    Results already received are stored by the driver before this propagates; rerunning
    the command resumes the study.
    """

    def __init__(self, address: str, reason: str) -> None:
        self.address = address
        super().__init__(
            f"lost the Dask scheduler at {address} ({reason}) (fix: restart the scheduler and "
            "its workers, or leave out --scheduler, then run the same command again: finished "
            "runs are reused)"
        )


_PREPARED: dict[str, Any] = {}


@dataclass
class Outcome:
    """What a worker returns for one task.

    Attributes
    ----------
    run_id
        The task's run.
    ok
        Whether the run finished.
    kpis, series
        The run's output (empty when failed).
    error
        Traceback text when failed.
    worker
        ``host:pid`` of the worker.
    started
        When the run started (UTC, naive).
    run_s, cpu_s
        Wall and CPU time of the worker process inside the runner (s).
    code_version
        The worker's code version for the runner.
    """

    run_id: str
    ok: bool
    kpis: dict[str, float] = field(default_factory=dict)
    series: dict[str, np.ndarray] = field(default_factory=dict)
    error: str | None = None
    worker: str = ""
    started: datetime | None = None
    run_s: float = 0.0
    cpu_s: float = 0.0
    code_version: str = ""


def _use_runners(runners: dict[str, str] | None) -> None:
    """Make the parent's runner registry this worker's."""
    if runners and any(RUNNERS.get(k) != v for k, v in runners.items()):
        RUNNERS.update(runners)
        get_runner.cache_clear()
        code_version.cache_clear()


SETTINGS_ENV = ("TWIN_MAPS", "TWIN_CACHE_DIR", "TWIN_DATA_DIR", "XDG_CACHE_HOME")
"""Environment variables that locate maps and caches (:mod:`twin.settings`). Workers fork
from a server started once per process, with the environment of that moment; these are
sent from the parent at each start so a later change (a new cache folder) is seen."""


def _settings_env() -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in SETTINGS_ENV}


def _init_worker(
    key: str,
    prepared: Any,
    runners: dict[str, str],
    threads: int,
    parent: tuple[int, float],
    env: dict[str, str | None],
) -> None:
    """Local worker start-up: take the parent's map and cache settings ``env``, keep the
    prepared state and the parent's runner registry, use ``threads`` numba threads; leave
    Ctrl-C to the parent, and exit if it dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _PREPARED[key] = prepared
    _use_runners(runners)
    limit_threads(threads)
    _exit_with_parent(*parent)


PARENT_CHECK_EVERY = 0.5
"""Seconds between a local worker's checks that the process that started it still runs."""


def _process_id() -> tuple[int, float]:
    """This process's pid and start time (a pid alone may be reused)."""
    import psutil

    return os.getpid(), psutil.Process().create_time()


def _exit_with_parent(pid: int, created: float) -> None:
    """Exit this worker once the driver process ``pid`` (started at ``created``) is gone or
    a zombie: a driver killed with SIGKILL runs no clean-up, and its workers (children of
    the fork server, not of the driver) would otherwise live on, holding its pipes."""
    import threading

    import psutil

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_EVERY)
            try:
                proc = psutil.Process(pid)
                if proc.create_time() != created or proc.status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
        os._exit(1)

    threading.Thread(target=watch, name="twin-parent-watch", daemon=True).start()


def execute(
    task: RunTask, key: str, prepared: Any = None, runners: dict[str, str] | None = None
) -> Outcome:
    """Run one task on this worker (the function local and Dask workers call).

    Parameters
    ----------
    task
        What to run.
    key
        Key of the runner's prepared state (runner and city).
    prepared
        That state (Dask passes the scattered copy); default the one given at start-up.
    runners
        The parent's registry (name -> import path), if not given at start-up.
    """
    started = datetime.now(UTC).replace(tzinfo=None)
    where = f"{socket.gethostname()}:{os.getpid()}"
    try:
        _use_runners(runners)
        runner = get_runner(task.runner)
        state = prepared if prepared is not None else _PREPARED[key]
        t0, c0 = time.perf_counter(), time.process_time()
        out = runner.run(task.scenario, task.plan_model, task.seed, state, series=task.series)
        run_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
        return Outcome(
            task.run_id,
            True,
            out.kpis,
            out.series,
            worker=where,
            started=started,
            run_s=run_s,
            cpu_s=cpu_s,
            code_version=code_version(task.runner),
        )
    except Exception:
        return Outcome(
            task.run_id,
            False,
            error=traceback.format_exc(limit=8),
            worker=where,
            started=started,
            code_version=code_version(task.runner),
        )


def execute_on_dask(task: RunTask, key: str, prepared: Any, runners: dict[str, str]) -> Outcome:
    """:func:`execute` on a Dask worker, its numba threads limited to the worker
    process's share of the cores (cores / the worker's task threads)."""
    from distributed import get_worker

    try:
        slots = get_worker().state.nthreads
    except (ValueError, AttributeError):  # not inside a worker (tests call it directly)
        slots = 1
    limit_threads(worker_share(usable_cores(), slots))
    return execute(task, key, prepared, runners)


PRELOAD = ["twin.experiment.executors", "twin.city.pack", "geopandas", "networkx", "simpy"]
"""Modules the fork server imports once, so each worker starts in milliseconds."""


def _context(preload: tuple[str, ...] = ()):
    """The ``forkserver`` start method: workers fork from a clean single-threaded server
    that has imported :data:`PRELOAD` and ``preload`` (safe with the parent's threads, fast
    to start). The preload list counts only before the server first starts."""
    import multiprocessing

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([*PRELOAD, *preload])
    return ctx


def _start_forkserver(threads: int) -> None:
    """Start the fork server (if not yet running) with BLAS/OpenMP pools capped at
    ``threads``: its preloads import numpy, whose pools are sized then, and every worker
    inherits them. The parent's own environment is left as it was."""
    from multiprocessing import forkserver

    saved = {name: os.environ.get(name) for name in thread_env(threads)}
    os.environ.update(thread_env(threads))
    try:
        forkserver.ensure_running()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class LocalExecutor:
    """A pool of local worker processes, forked from a clean server (no parent state).

    Parameters
    ----------
    workers
        Number of processes (default: one per core of ``threads``).
    preload
        Modules the runner needs, imported once in the fork server (``Runner.preload``).
    threads
        Cores the workers may use together (default :func:`twin.threads.thread_count`);
        each worker's numba and BLAS threads are capped at its share.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        preload: tuple[str, ...] = (),
        threads: int | None = None,
    ) -> None:
        total = thread_count(threads)
        self.workers = max(1, workers or total)
        self.threads = worker_share(total, self.workers)
        self._pool: ProcessPoolExecutor | None = None
        self._args: tuple | None = None
        self._preload = tuple(preload)
        _context(self._preload)
        # imports PRELOAD now, while the parent loads the city
        _start_forkserver(self.threads)

    def describe(self) -> str:
        """For messages."""
        workers = f"{self.workers} local worker{'s' if self.workers > 1 else ''}"
        return f"{workers} ({self.threads} thread{'s' if self.threads > 1 else ''} each)"

    def start(self, key: str, prepared: Any) -> None:
        """Start the workers, each holding the runner's prepared state."""
        self._args = (key, prepared, registered(), self.threads, _process_id(), _settings_env())
        self._pool = ProcessPoolExecutor(
            self.workers,
            mp_context=_context(self._preload),
            initializer=_init_worker,
            initargs=self._args,
        )

    def submit(self, task: RunTask):
        """Submit a task; a pool broken by a dead worker is replaced first."""
        if self._pool is None or self._args is None:
            raise RuntimeError("start() the executor first")
        try:
            return self._pool.submit(execute, task, self._args[0])
        except BrokenProcessPool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self.start(*self._args[:2])
            return self._pool.submit(execute, task, self._args[0])

    def wait(self, futures: list, timeout: float) -> tuple[list, list]:
        """``(done, not done)`` once one is done or ``timeout`` (s) passed."""
        done, rest = futures_wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
        return list(done), list(rest)

    def close(self, *, cancel: bool = False) -> None:
        """Stop the workers; ``cancel`` drops queued tasks and kills running ones."""
        if self._pool is None:
            return
        processes = list((self._pool._processes or {}).values())
        self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
        if cancel:
            for process in processes:
                if process.is_alive():
                    process.terminate()
            for process in processes:
                process.join(timeout=5)
        self._pool = None


def check_scheduler_url(url: str) -> str:
    """``tcp://HOST:PORT`` (``tls://`` too) or refuse it.

    Raises
    ------
    UserInputError
        If it is not such an address.
    """
    parsed = urlparse(url)
    try:
        port = parsed.port
    except ValueError:
        port = None
    if parsed.scheme not in ("tcp", "tls") or not parsed.hostname or port is None:
        raise UserInputError(
            Problem(
                f"{url!r} is not a Dask scheduler address",
                field="--scheduler",
                fix="write tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786",
            )
        )
    return url


class DaskExecutor:
    """Runs on a Dask distributed cluster.

    Only the scheduler given by ``address`` is used (never one from Dask's configuration or
    environment); ``tls://`` addresses use Dask's own TLS settings
    (``distributed.comm.tls.*``).

    A lost scheduler is noticed while waiting for results: Dask cancels every future when
    the connection drops, and a ping every :data:`HEARTBEAT_EVERY` s that gets no answer
    within ``timeout`` covers a scheduler that hangs or a network that drops packets.
    Either raises :class:`ClusterLostError` instead of waiting forever.

    Parameters
    ----------
    address
        Scheduler address, ``tcp://HOST:PORT``.
    timeout
        Seconds to wait for the scheduler and its first worker, and for a ping's answer.

    Raises
    ------
    UserInputError
        If the address is malformed, the scheduler cannot be reached in time, or it has no
        worker.
    """

    def __init__(self, address: str, *, timeout: float = CONNECT_TIMEOUT) -> None:
        from distributed import Client

        self.address = check_scheduler_url(address)
        try:
            self.client = Client(self.address, timeout=f"{timeout}s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise UserInputError(
                Problem(
                    f"cannot reach the Dask scheduler at {address} within {timeout:g} s "
                    f"({type(exc).__name__})",
                    field="--scheduler",
                    fix="start `dask scheduler` there and `dask worker ADDRESS` on the "
                    "machines, check host, port and firewall; or leave out --scheduler to "
                    "run on local processes",
                )
            ) from None
        try:
            self.client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError):
            self.client.close()
            raise UserInputError(
                Problem(
                    f"the Dask scheduler at {address} has no worker",
                    field="--scheduler",
                    fix=f"start workers with `dask worker {address}`",
                )
            ) from None
        self._prepared: Any = None
        self._key = ""
        self._futures: list = []
        self._closed = False
        self._timeout = timeout
        self._next_ping = time.monotonic() + HEARTBEAT_EVERY
        self.lost: str | None = None

    @property
    def workers(self) -> int:
        """Worker threads of the cluster now."""
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        return max(1, sum(w.get("nthreads", 1) for w in info.values()))

    def describe(self) -> str:
        """For messages."""
        return f"Dask at {self.address} ({self.workers} worker threads)"

    def start(self, key: str, prepared: Any) -> None:
        """Send the runner's prepared state to every worker once."""
        self._key = key
        self._prepared = self.client.scatter(prepared, broadcast=True, hash=False)

    def submit(self, task: RunTask):
        """Submit a task (a fresh key per call, so a retry is a new task)."""
        runners = {task.runner: registered()[task.runner]}
        future = self.client.submit(
            execute_on_dask, task, self._key, self._prepared, runners, pure=False
        )
        self._futures = [f for f in self._futures if not f.done()] + [future]
        return future

    def wait(self, futures: list, timeout: float) -> tuple[list, list]:
        """``(done, not done)`` once one is done or ``timeout`` (s) passed (polls every
        5 ms: this client is not the process's default one, which ``distributed.wait``
        needs)."""
        end = time.monotonic() + timeout
        while True:
            done = [f for f in futures if f.done()]
            # after collecting: Dask marks the client disconnected before it cancels futures
            self._check_scheduler()
            if done or time.monotonic() >= end:
                finished = {id(f) for f in done}
                return done, [f for f in futures if id(f) not in finished]
            time.sleep(0.005)

    def _check_scheduler(self) -> None:
        """Raise :class:`ClusterLostError` if the client lost the scheduler or a due ping gets
        no answer within the timeout."""
        if self.client.status != "running":
            self.lost = f"connection {self.client.status}"
        elif time.monotonic() >= self._next_ping:
            try:
                self.client.sync(self.client.scheduler.identity, callback_timeout=self._timeout)
            except (OSError, TimeoutError) as exc:
                self.lost = f"no answer within {self._timeout:g} s: {type(exc).__name__}"
            self._next_ping = time.monotonic() + HEARTBEAT_EVERY
        if self.lost:
            raise ClusterLostError(self.address, self.lost)

    def close(self, *, cancel: bool = False) -> None:
        """Release the prepared state and disconnect (the cluster keeps running);
        ``cancel`` also cancels this study's tasks still queued or running."""
        if self._closed:
            return
        self._closed = True
        try:
            if cancel and not self.lost and self.client.status == "running":
                pending = [f for f in self._futures if not f.done()]
                if pending:
                    self.client.cancel(pending, force=True)
            self._futures.clear()
            self._prepared = None
        finally:
            self.client.close(timeout=self._timeout)


def make_executor(
    workers: int | None = None,
    scheduler: str | None = None,
    *,
    timeout: float = CONNECT_TIMEOUT,
    preload: tuple[str, ...] = (),
    threads: int | None = None,
):
    """A :class:`DaskExecutor` when a scheduler address is given (``timeout``: seconds to
    wait for it), else local processes (``preload``: modules to import in the fork server;
    ``threads``: cores they may use together)."""
    if scheduler:
        return DaskExecutor(scheduler, timeout=timeout)
    return LocalExecutor(workers, preload=preload, threads=threads)
