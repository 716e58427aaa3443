"""``--threads``: the cores one run command may use (see :mod:`twin.threads`).

``twin flood``, ``twin traffic``, ``twin crowd`` and ``twin respond`` take the option; a
command applies it (or ``TWIN_THREADS``, else the CPUs the process may use) before it loads
the city, so a bad ``TWIN_THREADS`` is one line and exit 2, not a lost run.
"""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["ThreadsOption", "use_threads"]

ThreadsOption = Annotated[
    int | None,
    typer.Option(
        "--threads",
        min=1,
        help="Cores the run may use (numba threads); default TWIN_THREADS, else the CPUs "
        "this process may use.",
    ),
]


def use_threads(requested: int | None) -> int:
    """Limit this process's parallel kernels to ``requested`` threads (``--threads``), else
    ``TWIN_THREADS``, else the usable cores; the count now in effect.

    Raises
    ------
    twin.errors.UserInputError
        If ``TWIN_THREADS`` is not a whole number >= 1.
    """
    from twin.threads import limit_threads, thread_count

    return limit_threads(thread_count(requested))
