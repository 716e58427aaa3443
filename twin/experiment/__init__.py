"""Replicated experiments: studies, common random numbers, executors and a results store.

A run is (scenario, plan, seed) -> KPIs (+ time series), computed by a registered
:class:`~twin.experiment.runners.Runner`; this package never imports a model itself.

Modules: :mod:`~twin.experiment.seeds` (replication seeds; streams from :mod:`twin.random`),
:mod:`~twin.experiment.runners` (the runner protocol and registry; ``response`` today),
:mod:`~twin.experiment.study` (variants x plans x replications, content hashes),
:mod:`~twin.experiment.store` (DuckDB + Parquet), :mod:`~twin.experiment.executors`
(local processes, Dask), :mod:`~twin.experiment.driver` (resume, retry, precision rule),
:mod:`~twin.experiment.report` (summaries, verdicts, HTML), :mod:`~twin.experiment.api`
(``twin.run``, ``twin.compare``, ``twin.sweep``, ``twin.load_city``: the Python API the
CLI calls). Studies are built from files by :meth:`Study.from_files`.
"""

from twin.experiment.runners import RUNNERS, Runner, RunOutput, get_runner, register
from twin.experiment.seeds import replication_seed, stream
from twin.experiment.study import PlanEntry, RunTask, Study, Variant

__all__ = [
    "RUNNERS",
    "PlanEntry",
    "RunOutput",
    "RunTask",
    "Runner",
    "Study",
    "Variant",
    "get_runner",
    "register",
    "replication_seed",
    "stream",
]
