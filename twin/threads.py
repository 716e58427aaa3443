"""How many threads a run may use: one rule for every run command and experiment worker.

Parallel kernels (numba ``prange``, BLAS, OpenMP) that start more threads than the cores
the process may use wait at every barrier for threads the OS has descheduled: on a loaded
machine a flood run was several times slower with two numba threads than with one. So a run
uses the cores it may use (its CPU affinity), or fewer if the user says so, and each of
several worker processes uses its share.

Environment variables
---------------------
TWIN_THREADS
    Cores a twin command may use in all (default: the CPUs this process may run on). A
    command's ``--threads`` option wins over it.

Functions for run commands: :func:`thread_count` (how many), :func:`limit_threads` (apply
them in this process), :func:`worker_share` and :func:`thread_env` (for worker processes).
"""

from __future__ import annotations

import os

from twin.errors import Problem, UserInputError

ENV = "TWIN_THREADS"
"""Environment variable with the number of cores twin may use."""

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""Environment variables that size BLAS/OpenMP thread pools (read when a library loads)."""


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask; all CPUs where there is none)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no affinity on this platform
        return max(1, os.cpu_count() or 1)


def thread_count(requested: int | None = None, *, field: str = "--threads") -> int:
    """Threads a run may use: ``requested`` (``--threads``), else ``TWIN_THREADS``, else
    :func:`usable_cores`.

    Parameters
    ----------
    requested
        The command's ``--threads`` value, if given.
    field
        How the option is called in messages.

    Raises
    ------
    UserInputError
        If ``requested`` or ``TWIN_THREADS`` is not a whole number >= 1.
    """
    if requested is not None:
        if requested < 1:
            raise UserInputError(
                Problem(f"{requested} threads", field=field, fix="give a whole number >= 1")
            )
        return int(requested)
    text = os.environ.get(ENV, "").strip()
    if not text:
        return usable_cores()
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise UserInputError(
            Problem(
                f"{ENV}={text!r} is not a number of threads",
                field=ENV,
                fix=f"set {ENV} to a whole number >= 1, or unset it to use every core",
            )
        )
    return value


def worker_share(threads: int, workers: int) -> int:
    """Threads each of ``workers`` processes may use when together they may use
    ``threads`` (at least one each)."""
    return max(1, threads // max(1, workers))


def thread_env(threads: int) -> dict[str, str]:
    """Environment variables that cap BLAS/OpenMP pools at ``threads``, for a process
    started before it imports numpy."""
    return {name: str(threads) for name in THREAD_VARS}


def limit_threads(threads: int) -> int:
    """Use at most ``threads`` threads in this process's numba kernels from now on.

    numba's limit is per calling thread and capped by the pool it started with
    (``NUMBA_NUM_THREADS``). BLAS/OpenMP pools are sized when they load: start worker
    processes with :func:`thread_env` for those.

    Returns
    -------
    int
        The numba thread count now in effect.
    """
    import numba

    n = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(n)
    return n
