"""The timeline of a run: scheduled events and trainer injects, applied at their times.

An :class:`Event` says *at* time ``t`` (s since the scenario start), *which* component,
*what* action (one the component declares in its ``actions``) and with *which* payload
(a mapping of plain values: numbers, strings, lists). A :class:`Timeline` keeps them in
time order (ties in the order they were added) and reads and writes itself as YAML or
JSON, so a drill's injects can be saved, reviewed and replayed.

>>> tl = Timeline([Event(600.0, "traffic", "close_links", {"links": [3, 4]}, "collapse")])
>>> Timeline.from_json(tl.to_json()) == tl
True

The run loop (:func:`twin.engine.run.run`) stops at every event time, advances every
component to it, then applies the events due, in order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twin.atomic import write_text
from twin.errors import Problem, UserInputError

__all__ = ["Event", "Timeline"]


@dataclass(frozen=True)
class Event:
    """One scheduled action.

    Parameters
    ----------
    time
        When (s since the scenario start).
    target
        Name of the component it acts on.
    action
        One of the target's declared ``actions``.
    payload
        Its arguments: plain values only (numbers, strings, booleans, lists, mappings).
    label
        What it is, in words (``"hazards.2: ground collapse"``).
    """

    time: float
    target: str
    action: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The event as plain data (numpy values turned into lists and numbers)."""
        return {
            "time": float(self.time),
            "target": self.target,
            "action": self.action,
            "payload": _plain(dict(self.payload)),
            "label": self.label,
        }


def _plain(value: Any) -> Any:
    """``value`` with numpy arrays and scalars turned into lists and Python numbers."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class Timeline:
    """Events in time order (stable for ties).

    Parameters
    ----------
    events
        The events, in any order.

    Raises
    ------
    UserInputError
        If an event's time is not a finite number >= 0, or it lacks a target or action.
    """

    def __init__(self, events: Iterable[Event] = ()) -> None:
        events = list(events)
        problems = []
        for i, e in enumerate(events):
            if not (isinstance(e.time, (int, float)) and math.isfinite(e.time) and e.time >= 0):
                problems.append(
                    Problem(f"time {e.time!r} is not a number of seconds >= 0", field=f"{i}.time")
                )
            if not e.target or not e.action:
                problems.append(Problem("an event needs a target and an action", field=str(i)))
        if problems:
            raise UserInputError(problems)
        self.events: list[Event] = sorted(events, key=lambda e: e.time)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timeline):
            return NotImplemented
        return [e.as_dict() for e in self] == [e.as_dict() for e in other]

    def add(self, event: Event) -> None:
        """Add an event (after those already at the same time)."""
        merged = Timeline([*self.events, event])
        self.events = merged.events

    def times(self) -> list[float]:
        """The distinct event times (s), ascending."""
        return sorted({float(e.time) for e in self.events})

    def due(self, after: float, until: float) -> list[Event]:
        """Events with ``after < time <= until``, in order."""
        return [e for e in self.events if after < e.time <= until]

    # ------------------------------------------------------------------ files
    def as_list(self) -> list[dict[str, Any]]:
        """The events as plain data, in order."""
        return [e.as_dict() for e in self.events]

    def to_json(self) -> str:
        """The timeline as a JSON list."""
        return json.dumps(self.as_list(), indent=1)

    def to_yaml(self) -> str:
        """The timeline as a YAML list."""
        import yaml

        return yaml.safe_dump(self.as_list(), sort_keys=False)

    @classmethod
    def from_data(cls, data: Any, *, source: str | Path | None = None) -> Timeline:
        """A timeline from plain data (a list of event mappings).

        Raises
        ------
        UserInputError
            Naming the entry and field of each malformed event (and the file, if given).
        """
        if not isinstance(data, list):
            raise UserInputError(
                Problem("a timeline is a list of events", file=source, fix="start with `- time:`")
            )
        events, problems = [], []
        for i, item in enumerate(data):
            if not isinstance(item, Mapping):
                problems.append(Problem("an event is a mapping", file=source, field=str(i)))
                continue
            unknown = set(item) - {"time", "target", "action", "payload", "label"}
            if unknown:
                problems.append(
                    Problem(
                        f"unknown keys {sorted(unknown)}",
                        file=source,
                        field=str(i),
                        fix="use time, target, action, payload, label",
                    )
                )
                continue
            try:
                events.append(
                    Event(
                        float(item["time"]),
                        str(item["target"]),
                        str(item["action"]),
                        dict(item.get("payload") or {}),
                        str(item.get("label", "")),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                problems.append(
                    Problem(
                        f"needs time (s), target and action ({exc})",
                        file=source,
                        field=str(i),
                    )
                )
        if problems:
            raise UserInputError(problems)
        return cls(events)

    @classmethod
    def from_json(cls, text: str) -> Timeline:
        """A timeline from :meth:`to_json`'s text."""
        return cls.from_data(json.loads(text))

    @classmethod
    def from_yaml(cls, text: str) -> Timeline:
        """A timeline from :meth:`to_yaml`'s text."""
        import yaml

        return cls.from_data(yaml.safe_load(text))

    @classmethod
    def read(cls, path: Path | str) -> Timeline:
        """Read a ``.json``, ``.yaml`` or ``.yml`` timeline file.

        Raises
        ------
        UserInputError
            If the file is not valid JSON/YAML or holds a malformed event.
        """
        import yaml

        path = Path(path)
        text = path.read_text()
        try:
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise UserInputError(Problem(f"cannot read the timeline: {exc}", file=path)) from None
        return cls.from_data(data, source=path)

    def write(self, path: Path | str) -> Path:
        """Write the timeline atomically as JSON (``.json``) or YAML (any other suffix)."""
        path = Path(path)
        return write_text(path, self.to_json() if path.suffix == ".json" else self.to_yaml())
