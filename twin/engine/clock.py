"""The one clock of a run: a :class:`simpy.Environment` in seconds since the scenario start.

Every model of a run reads time from this clock. Models with SimPy processes (the response
model's incident generators, dispatch centre and units) are built on :attr:`Clock.env` and
run inside it; array models (flood, traffic, crowd) are advanced by the run loop
(:mod:`twin.engine.run`) to the times the clock stops at: exchanges, timeline events and
the end. SimPy orders events by (time, priority, sequence number), so ties break the same
way on every run.

>>> clock = Clock()
>>> clock.advance_to(60.0)
>>> clock.now
60.0
"""

from __future__ import annotations

import math

import simpy

__all__ = ["Clock"]


class Clock:
    """The run's simulated time (s) and the SimPy environment its processes live in.

    Parameters
    ----------
    start
        Time (s since the scenario start) the run begins at.
    env
        An existing environment to adopt (e.g. one a response model was built on);
        default: a new one starting at ``start``.

    Raises
    ------
    ValueError
        If ``start`` is not finite, or ``env`` is not at ``start``.
    """

    def __init__(self, start: float = 0.0, env: simpy.Environment | None = None) -> None:
        if not math.isfinite(start):
            raise ValueError(f"a clock starts at a finite time, got {start!r}")
        if env is not None and env.now != start:
            raise ValueError(f"the environment is at {env.now} s, the clock starts at {start} s")
        self.env = env if env is not None else simpy.Environment(initial_time=float(start))

    @property
    def now(self) -> float:
        """Simulated time (s since the scenario start)."""
        return float(self.env.now)

    def advance_to(self, t: float) -> None:
        """Process every SimPy event before ``t`` (s) and stop at ``t``.

        Events scheduled exactly at ``t`` are processed on the next call (SimPy's
        ``run(until=t)`` rule), so stopping at ``t`` and going on gives the same order of
        events as not stopping.

        Raises
        ------
        ValueError
            If ``t`` is before :attr:`now` or not finite.
        """
        if not math.isfinite(t):
            raise ValueError(f"the clock advances to a finite time, got {t!r}")
        if t < self.env.now:
            raise ValueError(f"the clock is at {self.env.now} s and cannot go back to {t} s")
        if t > self.env.now:
            self.env.run(until=t)
