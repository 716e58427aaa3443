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
    first attempt leaves a marker file in ``$FLAKY_DIR``)."""

    name = "flaky"

    def run(self, scenario, plan, seed, prepared, *, series=True):
        if str(seed) == os.environ.get("FLAKY_ALWAYS"):
            raise RuntimeError("planned failure")
        if str(seed) == os.environ.get("FLAKY_ONCE"):
            marker = Path(os.environ["FLAKY_DIR"]) / f"{seed}.tried"
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
