"""Evaluate a plan's early-warning triggers against the city's signals, and keep the warnings.

:class:`TriggerSet` is pure bookkeeping (layer ``coupling``; it imports no model): whoever
runs the twin calls ``update(t, signals)`` at each exchange with a value for every key in
:attr:`TriggerSet.keys` (in the signal's unit, see :data:`twin.scenario.signals.SIGNALS`)
and carries out the actions of the :class:`Firing` objects it returns; warnings it applies
itself, to its :class:`WarningBoard`.

Rules
-----
* **Hold.** A condition with ``for <duration>`` fires at the first update at which it has
  held at every update since an update at least ``duration`` earlier: the time it started
  holding is the first update at which it was true, and one update at which it is false
  (or its signal is NaN) starts the count again. Signals are sampled at the updates, so a
  blip between two updates is not seen; a blip seen at one update but gone at the next
  (shorter than the duration) does not fire.
* **Once, or re-armed.** A trigger fires once (``repeat: false``, the default). With
  ``repeat: true`` it re-arms when its condition stops holding, and fires again when the
  condition has held for the duration anew.
* **One snapshot per update.** Every condition of an update is evaluated on the same
  signals (``warning_level`` included: a warning issued at this update is seen by the
  next); firings are then applied in the plan's order.
* **Levels go up.** Each warning area (the whole map when a warning names none) has its
  level in force; a warning at a higher level raises it, one at the same level changes
  nothing, one at a lower level is ignored unless it says ``lower: true`` (``level: none``
  with it is the all-clear). The ``warning_level`` signal is the highest level in force.

Every firing is kept in :attr:`TriggerSet.log` with its time, its condition's text and the
signal values that caused it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from twin.errors import Problem, ScenarioError
from twin.scenario.problems import problem_at
from twin.scenario.signals import LEVELS, level_number, resolve_signal
from twin.scenario.triggers import Action, Trigger, WarningAction, WarningArea

if TYPE_CHECKING:
    from twin.scenario.plan import Plan
    from twin.scenario.schema import Scenario

__all__ = [
    "Firing",
    "IssuedWarning",
    "TriggerSet",
    "WarningBoard",
    "check_gauges",
    "rain_forecast",
]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
}

HOLD_SLACK = 1e-6
"""Slack on the hold test (s): update times are sums of clock steps, whose rounding (about
1e-12 s over a day) must not delay a firing by a whole exchange."""

WHOLE_MAP = "whole map"
"""The area key of warnings that name no area."""


@dataclass(frozen=True)
class IssuedWarning:
    """A change of the warning level in force in one area.

    Attributes
    ----------
    time
        When (s since the scenario start).
    level
        The level now in force (``none`` after an all-clear).
    previous
        The level in force before.
    area
        Where (``None``: the whole map).
    message
        What people are told.
    cause
        The trigger's label and the signal values that fired it, in words.
    sequence
        Number of this warning among all warnings of the run (1 first).
    area_sequence
        Number of this warning among those of its area (1 for its first).
    category
        CAP category of the signal that caused it (``Met`` or ``Safety``).
    event
        CAP event of that signal, in words.
    forecast
        Whether it was caused by a forecast (CAP certainty *Likely*, else *Observed*).
    """

    time: float
    level: str
    previous: str
    area: WarningArea | None
    message: str
    cause: str
    sequence: int
    area_sequence: int
    category: str = "Safety"
    event: str = "Public safety emergency"
    forecast: bool = False

    @property
    def area_name(self) -> str:
        """The area's name (its CAP areaDesc)."""
        return self.area.name if self.area is not None else WHOLE_MAP

    def as_dict(self) -> dict[str, Any]:
        """Plain data (for logs and checkpoints)."""
        data = asdict(self)
        data["area"] = self.area.model_dump(mode="json") if self.area is not None else None
        return data


class WarningBoard:
    """The warning level in force in each area, and every change of it (see the module's
    rules: levels go up unless a warning lowers them explicitly)."""

    def __init__(self) -> None:
        self.levels: dict[str, str] = {}
        """Level in force by area name (areas never warned are absent: level ``none``)."""
        self.issued: list[IssuedWarning] = []
        """Every change, in order."""

    @property
    def level(self) -> int:
        """The highest level in force, as its rank (none 0 ... red 4)."""
        return max((level_number(v) for v in self.levels.values()), default=0)

    def apply(
        self,
        t: float,
        warning: WarningAction,
        cause: str,
        *,
        category: str = "Safety",
        event: str = "Public safety emergency",
        forecast: bool = False,
    ) -> IssuedWarning | None:
        """Apply a warning action; the change it makes, or ``None`` if it changes nothing.

        Parameters
        ----------
        t
            When (s).
        warning
            The action.
        cause
            Why, in words.
        category, event, forecast
            What the causing signal says about it (see :class:`IssuedWarning`).
        """
        key = warning.area.name if warning.area is not None else WHOLE_MAP
        previous = self.levels.get(key, "none")
        rank, before = level_number(warning.level), level_number(previous)
        if rank == before or (rank < before and not warning.lower):
            return None
        self.levels[key] = warning.level
        issued = IssuedWarning(
            time=float(t),
            level=warning.level,
            previous=previous,
            area=warning.area,
            message=warning.message,
            cause=cause,
            sequence=len(self.issued) + 1,
            area_sequence=sum(1 for w in self.issued if w.area_name == key) + 1,
            category=category,
            event=event,
            forecast=forecast,
        )
        self.issued.append(issued)
        return issued


@dataclass(frozen=True)
class Firing:
    """One firing of a trigger.

    Attributes
    ----------
    time
        When it fired (s since the scenario start).
    trigger
        Its index in the plan's ``triggers``.
    label
        Its name, or its condition's text.
    condition
        The condition's text (``"max_depth_m > 0.3 m for 10 min"``).
    since
        When the condition started to hold (s).
    values
        The signal value that fired it, by key (in the signal's unit).
    actions
        Its actions, in order (warnings already applied to the board).
    warnings
        The changes its warning actions made (none if the levels stayed).
    """

    time: float
    trigger: int
    label: str
    condition: str
    since: float
    values: dict[str, float]
    actions: tuple[Action, ...]
    warnings: tuple[IssuedWarning, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the event log."""
        return {
            "time": self.time,
            "trigger": self.trigger,
            "label": self.label,
            "condition": self.condition,
            "since": self.since,
            "values": dict(self.values),
            "actions": [a.model_dump(mode="json", exclude_none=True) for a in self.actions],
            "warnings": [w.as_dict() for w in self.warnings],
        }


class TriggerSet:
    """A plan's triggers with their state: when each started holding, whether it is armed.

    Parameters
    ----------
    triggers
        The plan's ``triggers`` (validated; see :meth:`from_data` for plain data).

    Examples
    --------
    >>> ts = TriggerSet.from_data(
    ...     [{"when": "max_depth_m > 0.3 m for 10 min", "then": [{"warning": {"level": "red"}}]}]
    ... )
    >>> [len(ts.update(t, {"max_depth_m": 0.5})) for t in (0.0, 300.0, 600.0, 900.0)]
    [0, 0, 1, 0]
    >>> ts.warning_level
    4
    """

    def __init__(self, triggers: Sequence[Trigger]) -> None:
        self.triggers: tuple[Trigger, ...] = tuple(triggers)
        self._keys = [t.when.key for t in self.triggers]
        self._ops = [_COMPARE[t.when.op] for t in self.triggers]
        self._thresholds = [t.when.threshold for t in self.triggers]
        self._holds = [float(t.when.hold) for t in self.triggers]
        self._signals = [t.when.ref.signal for t in self.triggers]
        self.since: list[float | None] = [None] * len(self.triggers)
        """When each condition started holding (s), ``None`` while it does not hold."""
        self.armed: list[bool] = [True] * len(self.triggers)
        """Whether each trigger may fire."""
        self.now: float = -math.inf
        """Time of the last update (s)."""
        self.log: list[Firing] = []
        """Every firing, in order."""
        self.board = WarningBoard()
        """The warning levels in force."""

    @classmethod
    def from_data(cls, data: Iterable[Mapping[str, Any]]) -> TriggerSet:
        """Triggers from plain data as a plan file writes them.

        Raises
        ------
        ScenarioError
            Naming the field of every invalid entry.
        """
        try:
            triggers = TypeAdapter(list[Trigger]).validate_python(list(data))
        except ValidationError as exc:
            problems = [
                Problem(
                    e["msg"],
                    field=".".join(str(p) for p in e["loc"]),
                    fix=(e.get("ctx") or {}).get("fix"),
                )
                for e in exc.errors()
            ]
            raise ScenarioError(problems) from None
        return cls(triggers)

    @property
    def keys(self) -> list[str]:
        """The signal keys :meth:`update` needs, sorted (``warning_level`` may be left out:
        the board's level is used)."""
        return sorted(set(self._keys))

    @property
    def warning_level(self) -> int:
        """The highest warning level in force, as its rank (none 0 ... red 4)."""
        return self.board.level

    @property
    def warning_level_name(self) -> str:
        """The highest warning level in force (``none`` ... ``red``)."""
        return LEVELS[self.board.level]

    def update(self, t: float, signals: Mapping[str, float]) -> list[Firing]:
        """Evaluate every trigger at time ``t``; apply the warnings of those that fire.

        Parameters
        ----------
        t
            The time (s since the scenario start); not before the previous update's.
        signals
            A value for every key of :attr:`keys`, in the signal's unit; NaN means unknown
            (the condition does not hold).

        Returns
        -------
        list of Firing
            The triggers that fired, in the plan's order (also appended to :attr:`log`).

        Raises
        ------
        ValueError
            If ``t`` is before the previous update, or a needed signal is missing (a
            programming error of the caller, which must fill every key).
        """
        t = float(t)
        if t < self.now:
            raise ValueError(f"triggers updated at t={t} s, before the previous t={self.now} s")
        values = dict(signals)
        values.setdefault("warning_level", float(self.board.level))
        missing = [k for k in self.keys if k not in values]
        if missing:
            raise ValueError(
                f"no value for the signals {missing}; given: {sorted(signals)}; the caller "
                "fills every key of TriggerSet.keys"
            )
        self.now = t
        due: list[int] = []
        for i, key in enumerate(self._keys):
            value = float(values[key])
            holds = not math.isnan(value) and self._ops[i](value, self._thresholds[i])
            if not holds:
                self.since[i] = None
                if self.triggers[i].repeat:
                    self.armed[i] = True
                continue
            if self.since[i] is None:
                self.since[i] = t
            if self.armed[i] and t - self.since[i] >= self._holds[i] - HOLD_SLACK:
                due.append(i)
        fired = [self._fire(i, t, values) for i in due]
        self.log.extend(fired)
        return fired

    def _fire(self, i: int, t: float, values: Mapping[str, float]) -> Firing:
        trigger, key, signal = self.triggers[i], self._keys[i], self._signals[i]
        self.armed[i] = False
        value = float(values[key])
        unit = "" if signal.unit in ("1", "level") else f" {signal.unit}"
        cause = f"{trigger.label} ({key} = {value:g}{unit})"
        warnings = []
        for action in trigger.then:
            if action.warning is not None:
                issued = self.board.apply(
                    t,
                    action.warning,
                    cause,
                    category=signal.category,
                    event=signal.event,
                    forecast=signal.forecast,
                )
                if issued is not None:
                    warnings.append(issued)
        return Firing(
            time=t,
            trigger=i,
            label=trigger.label,
            condition=str(trigger.when),
            since=float(self.since[i] if self.since[i] is not None else t),
            values={key: value},
            actions=tuple(trigger.then),
            warnings=tuple(warnings),
        )

    def snapshot(self) -> dict[str, Any]:
        """The whole state as plain data (JSON-ready): time, hold starts, armed flags,
        levels in force and the log of firings (with the warnings they issued)."""
        return {
            "now": self.now,
            "since": list(self.since),
            "armed": list(self.armed),
            "levels": dict(self.board.levels),
            "log": [f.as_dict() for f in self.log],
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Put this fresh set (same triggers) into a :meth:`snapshot`'s state; firings and
        warnings issued before it are rebuilt from its log."""
        if len(state["since"]) != len(self.triggers):
            raise ValueError("the snapshot is of another plan's triggers")
        self.now = float(state["now"])
        self.since = [None if s is None else float(s) for s in state["since"]]
        self.armed = [bool(a) for a in state["armed"]]
        self.board = WarningBoard()
        self.log = []
        for entry in state["log"]:
            warnings = tuple(_warning_from(w) for w in entry["warnings"])
            self.board.issued.extend(warnings)
            self.log.append(
                Firing(
                    time=float(entry["time"]),
                    trigger=int(entry["trigger"]),
                    label=entry["label"],
                    condition=entry["condition"],
                    since=float(entry["since"]),
                    values={k: float(v) for k, v in entry["values"].items()},
                    actions=tuple(self.triggers[int(entry["trigger"])].then),
                    warnings=warnings,
                )
            )
        self.board.levels = dict(state["levels"])


def _warning_from(data: Mapping[str, Any]) -> IssuedWarning:
    fields = dict(data)
    area = fields.pop("area")
    return IssuedWarning(area=WarningArea.model_validate(area) if area else None, **fields)


def rain_forecast(hyetographs: Sequence[Sequence[tuple[float, float]]], t: float) -> float:
    """Rain intensity at time ``t`` of step hyetographs, summed (mm/h).

    Parameters
    ----------
    hyetographs
        One list of ``(start time s, intensity m/s)`` steps per rainfall, times increasing
        from 0; each step holds until the next, the last to the end (as the flood model
        reads them).
    t
        The time read (s since the scenario start): the update time plus the lead.

    Returns
    -------
    float
        The sum of the rainfalls' intensities at ``t`` (mm/h): the rate where all of them
        fall (one rainfall over the whole map: its rate).
    """
    total = 0.0
    for steps in hyetographs:
        current = 0.0
        for start, intensity in steps:
            if start > t:
                break
            current = intensity
        total += current
    return total * 3.6e6


def scenario_forecasts(scenario: Scenario, keys: Iterable[str], t: float) -> dict[str, float]:
    """Values of the ``forecast:rain_mm_h@<lead>`` keys at time ``t`` from a scenario's
    rainfall hazards (mm/h; 0 without rain).

    Parameters
    ----------
    scenario
        A :class:`twin.scenario.schema.Scenario`.
    keys
        Signal keys (others are skipped), e.g. :attr:`TriggerSet.keys`.
    t
        The update time (s).
    """
    hyetographs = [
        [(p.at, p.intensity) for p in h.hyetograph]
        for h in scenario.hazards
        if getattr(h, "kind", None) == "rainfall"
    ]
    out = {}
    for key in keys:
        if key.startswith("forecast:"):
            lead = resolve_signal(key).lead or 0.0
            out[key] = rain_forecast(hyetographs, t + lead)
    return out


def check_gauges(plan: Plan, gauges: Sequence[str], *, file: str | Path | None = None) -> None:
    """Check that every ``gauge:<name>`` a plan's triggers watch is a gauge of the scenario.

    Parameters
    ----------
    plan
        The loaded :class:`twin.scenario.plan.Plan`.
    gauges
        The scenario's gauge names (``scenario.flood.gauges``).
    file
        The plan's file, named when the plan has no recorded source.

    Raises
    ------
    ScenarioError
        Naming the file and line of each unknown gauge and listing the scenario's gauges.
    """
    known = set(gauges)
    listed = ", ".join(sorted(known)) or "none"
    problems = []
    for i, trigger in enumerate(plan.triggers):
        ref = trigger.when.ref
        if ref.gauge is not None and ref.gauge not in known:
            problems.append(
                problem_at(
                    plan,
                    ["triggers", i, "when"],
                    f"gauge {ref.gauge!r} is not a gauge of the scenario (gauges: {listed})",
                    "name a gauge of the scenario's `flood.gauges`, or add one there",
                    file=file,
                )
            )
    if problems:
        raise ScenarioError(problems)
