"""A runner for tests of retries: the response runner, made to fail on chosen seeds.

Importable by spawned worker processes (they inherit the test's ``sys.path``) under the
runner name ``experiment_helpers:FlakyRunner``.
"""

from __future__ import annotations

import os
from pathlib import Path

from twin.experiment.runners import ResponseRunner


class FlakyRunner(ResponseRunner):
    """Fails always for seed ``$FLAKY_ALWAYS``; fails once for seed ``$FLAKY_ONCE`` (the
    first attempt leaves a marker file in ``$FLAKY_DIR``).

    The variables are read in :meth:`prepare`, in the test's own process, and travel to the
    workers inside the prepared state: a worker forked from a server that an earlier test
    started would not see the test's environment."""

    name = "flaky"

    def prepare(self, city):
        plan = {key: os.environ.get(key) for key in ("FLAKY_ALWAYS", "FLAKY_ONCE", "FLAKY_DIR")}
        return plan, super().prepare(city)

    def check(self, scenario, plan, plan_file, prepared):
        return super().check(scenario, plan, plan_file, prepared[1])

    def run(self, scenario, plan, seed, prepared, *, series=True):
        flaky, prepared = prepared
        if str(seed) == flaky["FLAKY_ALWAYS"]:
            raise RuntimeError("planned failure")
        if str(seed) == flaky["FLAKY_ONCE"]:
            marker = Path(flaky["FLAKY_DIR"]) / f"{seed}.tried"
            if not marker.exists():
                marker.touch()
                raise RuntimeError("planned first-attempt failure")
        return super().run(scenario, plan, seed, prepared, series=series)


class ThreadsRunner(ResponseRunner):
    """Reports, as its one KPI, the numba threads its worker uses; registered by tests as
    ``threads``."""

    name = "threads"
    kpis = ("numba_threads",)

    def run(self, scenario, plan, seed, prepared, *, series=True):
        import numba

        from twin.experiment.runners import RunOutput

        return RunOutput({"numba_threads": float(numba.get_num_threads())})
