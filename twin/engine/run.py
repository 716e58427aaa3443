"""The one run loop: every model of a run advanced by one clock, in one order.

One pass of the loop, read as prose::

    stop = the next of: exchange time, timeline event time, end of the run
    clock.advance_to(stop)                  # SimPy processes (response) up to stop
    for component: component.advance_to(stop)   # flood adaptive, traffic/crowd fixed step
    for event due at stop: target.inject(action, payload)
    if stop is an exchange time: for hook in exchanges: hook(stop, components)
    for observer: observer.update(stop, run)    # progress bar, writers, vital signs

SimPy events (the response model's) between two stops are processed when the clock goes
past them, seeing the array models at the earlier stop; an event exactly at a stop is
processed after the array models reached that stop (SimPy's ``run(until=t)`` rule).
Fixed-step models (traffic, crowd) step on their own grid of whole steps from the time
they were built at, so where the clock stops does not change their steps; the adaptive
flood shortens its last sub-step to land on each stop. Exchanges (every
``exchange_every`` s) are where coupling hooks read one model and write another; none
are plugged in yet for single-model runs. Events at or after the end of the run are not
applied (they would act after it). Ctrl-C (``KeyboardInterrupt``) stops the loop between
two models' advances: observers are told (``finish(interrupted=True)``: writers delete
their partial files) and the interrupt propagates.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from twin.engine.clock import Clock
from twin.engine.component import Component, check_component
from twin.engine.timeline import Event, Timeline
from twin.errors import Problem, UserInputError

__all__ = [
    "Callback",
    "Exchange",
    "Observer",
    "ProgressBar",
    "Run",
    "RunResult",
    "VitalSigns",
    "run",
]

#: A coupling hook: called at every exchange time with the time (s) and the components.
Exchange = Callable[[float, Mapping[str, Component]], None]


class Observer(Protocol):
    """Watches a run: told when it starts, after every stop of the clock, and at its end."""

    def start(self, run: Run) -> None:
        """The run is about to start."""
        ...

    def update(self, t: float, run: Run) -> None:
        """Every component is at time ``t`` (s); the events due then were applied."""
        ...

    def finish(self, run: Run, *, interrupted: bool) -> None:
        """The run ended (``interrupted``: by Ctrl-C or an error)."""
        ...


@dataclass
class Run:
    """A run in progress: what observers see.

    Attributes
    ----------
    components
        The components by name, in the order they are advanced.
    clock
        The run's clock.
    start, until
        First and last time (s).
    timeline
        The scheduled events.
    exchanges
        Exchanges done so far.
    applied
        Events applied so far, in order.
    """

    components: dict[str, Component]
    clock: Clock
    start: float
    until: float
    timeline: Timeline
    exchanges: int = 0
    applied: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class RunResult:
    """What a finished run reports.

    Attributes
    ----------
    time
        Time reached (s); the run's end.
    stops
        Times the clock stopped at (exchanges, events and the end), counted.
    exchanges
        Exchange times passed.
    applied
        Events applied, in order.
    wall_seconds
        Wall time of the loop (s).
    loop_seconds
        Wall time spent in the loop itself (s): the clock, the events, the hooks and the
        observers, but not the components' ``advance_to`` (the models' own work).
    """

    time: float
    stops: int
    exchanges: int
    applied: tuple[Event, ...]
    wall_seconds: float
    loop_seconds: float

    @property
    def overhead_per_stop(self) -> float:
        """Loop time per clock stop (s)."""
        return self.loop_seconds / max(self.stops, 1)


def run(
    components: Sequence[Component],
    until: float,
    *,
    clock: Clock | None = None,
    timeline: Timeline | Iterable[Event] = (),
    exchange_every: float = 60.0,
    exchanges: Sequence[Exchange] = (),
    observers: Sequence[Observer] = (),
    checked: bool = False,
) -> RunResult:
    """Advance ``components`` together to time ``until`` (s); see the module notes.

    Parameters
    ----------
    components
        The models, each implementing :class:`~twin.engine.component.Component`; they are
        advanced in this order at every stop.
    until
        End time (s since the scenario start).
    clock
        The run's clock (one whose environment the response model's processes live in);
        default: a new one at the components' common time.
    timeline
        Events to apply at their times.
    exchange_every
        Interval (s) of the exchanges, counted from the start.
    exchanges
        Coupling hooks called at every exchange time.
    observers
        Progress bars, writers, vital-signs collectors.
    checked
        The caller already ran :func:`~twin.engine.component.check_component` on these
        components (a model stepping the engine one interval at a time checks them once;
        the check reads every output, e.g. the flood's cell velocities).

    Raises
    ------
    UserInputError
        If ``until`` or ``exchange_every`` is not a positive finite number, the components
        are not at one time, two share a name, or an event names an unknown component or
        action.
    KeyboardInterrupt
        On Ctrl-C, after the observers were told.
    """
    by_name = {c.name: c for c in components} if checked else _checked(components)
    start = clock.now if clock is not None else min(c.time for c in components)
    clock = clock if clock is not None else Clock(start)
    if not (math.isfinite(until) and until > start):
        raise UserInputError(
            Problem(
                f"the run ends at {until!r} s, not after its start ({start:g} s)",
                field="until",
                fix="give a later end time",
            )
        )
    if not (math.isfinite(exchange_every) and exchange_every > 0):
        raise UserInputError(
            Problem(f"exchange interval {exchange_every!r} s must be > 0", field="exchange_every")
        )
    for c in components:
        if abs(c.time - start) > 1e-9 * max(1.0, abs(start)):
            raise UserInputError(
                Problem(f"component {c.name!r} is at {c.time:g} s, the run starts at {start:g} s")
            )
    timeline = timeline if isinstance(timeline, Timeline) else Timeline(timeline)
    _check_events(timeline, by_name)
    state = Run(by_name, clock, start, until, timeline)
    eps = 1e-9 * max(1.0, abs(until))
    times = [t for t in timeline.times() if t < until - eps]
    t0 = time.perf_counter()
    model_seconds = 0.0
    stops = 0
    for obs in observers:
        obs.start(state)
    try:
        for event in timeline.due(-math.inf, start):  # events at the start: before any step
            _apply(event, state)
        t, next_exchange = start, start + exchange_every
        k = next((i for i, s in enumerate(times) if s > t + eps), len(times))
        while t < until - eps:
            stop = min(next_exchange, until, times[k] if k < len(times) else math.inf)
            clock.advance_to(stop)
            m0 = time.perf_counter()
            for c in components:
                c.advance_to(stop)
            model_seconds += time.perf_counter() - m0
            while k < len(times) and times[k] <= stop + eps:
                for event in timeline.due(t, times[k]):
                    _apply(event, state)
                k += 1
            if stop >= next_exchange - eps:
                for hook in exchanges:
                    hook(stop, by_name)
                state.exchanges += 1
                next_exchange += exchange_every
            t = stop
            stops += 1
            for obs in observers:
                obs.update(t, state)
    except BaseException:
        for obs in observers:
            obs.finish(state, interrupted=True)
        raise
    for obs in observers:
        obs.finish(state, interrupted=False)
    wall = time.perf_counter() - t0
    return RunResult(t, stops, state.exchanges, tuple(state.applied), wall, wall - model_seconds)


def _checked(components: Sequence[Component]) -> dict[str, Component]:
    if not components:
        raise UserInputError(Problem("a run needs at least one component"))
    by_name: dict[str, Component] = {}
    for c in components:
        check_component(c)
        if c.name in by_name:
            raise UserInputError(Problem(f"two components are named {c.name!r}"))
        by_name[c.name] = c
    return by_name


def _check_events(timeline: Timeline, by_name: Mapping[str, Component]) -> None:
    problems = []
    for i, e in enumerate(timeline):
        target = by_name.get(e.target)
        where = f"timeline.{i}" + (f" ({e.label})" if e.label else "")
        if target is None:
            problems.append(
                Problem(
                    f"names component {e.target!r}, not in this run",
                    field=where,
                    fix=f"use one of {sorted(by_name)}",
                )
            )
        elif e.action not in target.actions:
            problems.append(
                Problem(
                    f"{e.target!r} has no action {e.action!r}",
                    field=where,
                    fix=f"use one of {sorted(target.actions)}",
                )
            )
    if problems:
        raise UserInputError(problems)


def _apply(event: Event, state: Run) -> None:
    state.components[event.target].inject(event.action, event.payload)
    state.applied.append(event)


# ---------------------------------------------------------------------------- observers
class Callback:
    """An observer that calls ``fn(t, run)`` after every stop of the clock (a writer, a
    check in a test).

    Parameters
    ----------
    fn
        Called with the time (s) and the :class:`Run`.
    """

    def __init__(self, fn: Callable[[float, Run], None]) -> None:
        self.fn = fn

    def start(self, run: Run) -> None:
        """Nothing to do."""

    def update(self, t: float, run: Run) -> None:
        """Call ``fn``."""
        self.fn(t, run)

    def finish(self, run: Run, *, interrupted: bool) -> None:
        """Nothing to do."""


class ProgressBar:
    """A rich progress bar of simulated time, on stderr by default.

    Parameters
    ----------
    label
        Text before the bar.
    console
        Where to draw it (default: a console on stderr).
    enabled
        False draws nothing.
    status
        ``status(run) -> str`` shown after the bar (e.g. sub-steps so far).
    """

    def __init__(
        self,
        label: str = "run",
        *,
        console=None,
        enabled: bool = True,
        status: Callable[[Run], str] | None = None,
    ) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.status = status
        self.bar = Progress(
            TextColumn(f"[bold blue]{label}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=console if console is not None else Console(file=sys.stderr),
            disable=not enabled,
            transient=True,
        )
        self._task: Any = None

    def start(self, run: Run) -> None:
        """Show the bar."""
        self.bar.start()
        self._task = self.bar.add_task("run", total=run.until - run.start, info="")

    def update(self, t: float, run: Run) -> None:
        """Move the bar to ``t``."""
        info = self.status(run) if self.status is not None else ""
        self.bar.update(self._task, completed=t - run.start, info=info)

    def finish(self, run: Run, *, interrupted: bool) -> None:
        """Remove the bar."""
        self.bar.stop()


class VitalSigns:
    """Collects every component's ``vitals()`` at each exchange (and at the start and end):
    one row per time, columns ``<component>.<sign>``.

    Attributes
    ----------
    times
        Row times (s).
    rows
        One mapping of ``<component>.<sign>`` to value per time.
    """

    def __init__(self) -> None:
        self.times: list[float] = []
        self.rows: list[dict[str, float]] = []
        self._seen = -1

    def _record(self, t: float, run: Run) -> None:
        row = {}
        for name, c in run.components.items():
            for sign, value in c.vitals().items():
                row[f"{name}.{sign}"] = float(value)
        self.times.append(float(t))
        self.rows.append(row)

    def start(self, run: Run) -> None:
        """Record the initial state."""
        self._record(run.start, run)
        self._seen = 0

    def update(self, t: float, run: Run) -> None:
        """Record after each exchange."""
        if run.exchanges != self._seen:
            self._seen = run.exchanges
            self._record(t, run)

    def finish(self, run: Run, *, interrupted: bool) -> None:
        """Record the end (if it was not an exchange time)."""
        t = run.clock.now if not run.components else next(iter(run.components.values())).time
        if not self.times or self.times[-1] != t:
            self._record(t, run)

    def table(self) -> dict[str, list[float]]:
        """Columns: ``time`` and each sign (NaN where a row lacks it)."""
        names = sorted({k for row in self.rows for k in row})
        out: dict[str, list[float]] = {"time": list(self.times)}
        for n in names:
            out[n] = [row.get(n, math.nan) for row in self.rows]
        return out
