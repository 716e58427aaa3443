"""The response model as an engine component (see :mod:`twin.engine.component`).

The response model is SimPy processes (incident generators, the dispatch centre, units) on
an environment; inside a run that is the engine clock's environment (build the model with
``env=clock.env``), so ``advance_to(t)`` finds the clock already there and does nothing;
alone, it runs its own environment to ``t``.

Snapshot and restore, honestly: SimPy generators cannot be copied, so a snapshot is NOT
the model's memory. It is the time, the log of every external input applied so far
(``set_input`` and ``inject``, with their times and payloads as JSON text) and a digest
of the observable state (unit states, nodes and busy times; call, arrival and log
counts). ``restore`` takes a FRESH component built from the same construction inputs
(same scenario, plan, seed), runs it from its start to the snapshot's time replaying the
logged inputs at their times, and then checks the digest: the model is deterministic for
a seed, so the replay reaches the same state, and a digest that differs (other
construction inputs) raises. Restoring costs a re-run to ``t``, not a copy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from twin.engine.component import Field, check_value, field_of
from twin.response.model import ResponseModel
from twin.response.travel import RoadTravel
from twin.response.units import STATES

__all__ = ["ResponseComponent"]


class ResponseComponent:
    """A response model behind the engine's component contract.

    Parameters
    ----------
    model
        The model, built on the run clock's environment (or its own).
    name
        The component's name in a run (and in timeline events).
    """

    info: ClassVar[tuple[Field, ...]] = (
        Field("unit_state", "out", "1", "unit", "int64", "index of each unit's state in STATES"),
        Field("unit_node", "out", "1", "unit", "int64", "node each unit was last at"),
        Field("waiting_requests", "out", "1", "scalar", "int64", "unit requests not yet met"),
        Field("closed", "out", "1", "edge", "bool", "road edges closed to units"),
        Field("link_times", "in", "s", "edge", "float64", "edge travel times of traffic now"),
        Field("closed", "in", "1", "edge", "bool", "road edges closed (collapse, flood)"),
    )  # fmt: skip
    actions: ClassVar[dict[str, str]] = {
        "close_links": "close the road edges in payload['links'] (indices); units reroute",
        "open_links": "reopen the road edges in payload['links'] (indices)",
    }

    def __init__(self, model: ResponseModel, *, name: str = "response") -> None:
        self.model = model
        self.name = name
        self._inputs: list[tuple[float, str, str, str]] = []  # (t, kind, name, payload JSON)

    @property
    def time(self) -> float:
        """The model's environment time (s)."""
        return float(self.model.env.now)

    def sizes(self) -> dict[str, tuple[int, ...]]:
        """Units, nodes and (on roads) edges."""
        travel = self.model.travel
        out = {"unit": (len(self.model.units),), "node": (travel.n_nodes,)}
        out["edge"] = (len(travel.edges),) if isinstance(travel, RoadTravel) else (0,)
        return out

    def advance_to(self, t: float) -> None:
        """Run the environment's events before ``t`` (s) and stop at ``t``."""
        self.model.advance(t)

    def output(self, name: str) -> Any:
        """A declared output now (see :attr:`info`)."""
        field_of(self, name, "out")
        m = self.model
        if name == "unit_state":
            return np.array([STATES.index(u.state) for u in m.units], dtype=np.int64)
        if name == "unit_node":
            return np.array([u.node for u in m.units], dtype=np.int64)
        if name == "waiting_requests":
            return np.int64(len(m.pending))
        travel = m.travel
        return travel.closed.copy() if isinstance(travel, RoadTravel) else np.zeros(0, bool)

    def set_input(self, name: str, value: Any) -> None:
        """Give the roads' travel times or closures (units reroute as the model says)."""
        arr = check_value(self, field_of(self, name, "in"), value)
        self._log("input", name, {"value": arr})
        self._set(name, arr)

    def _set(self, name: str, arr: np.ndarray) -> None:
        if name == "link_times":
            self.model.update_roads(link_times=np.asarray(arr, dtype=np.float64))
        else:
            self.model.update_roads(closed=np.asarray(arr, dtype=bool))

    def inject(self, action: str, payload: Mapping[str, Any]) -> None:
        """``close_links`` / ``open_links`` with ``payload['links']`` (edge indices)."""
        if action not in self.actions:
            raise KeyError(f"response has no action {action!r} (it has {list(self.actions)})")
        self._log("action", action, payload)
        self._act(action, payload)

    def _act(self, action: str, payload: Mapping[str, Any]) -> None:
        closed = self.output("closed").copy()
        closed[np.asarray(payload.get("links", []), dtype=np.int64)] = action == "close_links"
        self.model.update_roads(closed=closed)

    def _log(self, kind: str, name: str, payload: Mapping[str, Any]) -> None:
        plain = {k: np.asarray(v).tolist() for k, v in payload.items()}
        self._inputs.append((self.time, kind, name, json.dumps(plain)))

    def vitals(self) -> dict[str, float]:
        """Calls so far, unit requests waiting, units busy (not available or returning)."""
        m = self.model
        return {
            "calls": float(len(m.incidents)),
            "waiting": float(len(m.pending)),
            "busy_units": float(sum(1 for u in m.units if not u.free)),
        }

    # ------------------------------------------------------------------ snapshot
    def _digest(self) -> dict[str, Any]:
        m = self.model
        arrivals = [i.first_arrival for i in m.incidents]
        return {
            "digest.unit_state": self.output("unit_state"),
            "digest.unit_node": self.output("unit_node"),
            "digest.unit_busy": np.array([u.busy_time for u in m.units], dtype=np.float64),
            "digest.first_arrival": np.array(
                [np.nan if a is None else a for a in arrivals], dtype=np.float64
            ),
            "digest.events": len(m.events),
            "digest.pending": len(m.pending),
        }

    def snapshot(self) -> dict[str, Any]:
        """Time, the inputs log and a digest of the state (see the module notes)."""
        snap: dict[str, Any] = {"t": self.time, "inputs.n": len(self._inputs)}
        for k, (t, kind, name, payload) in enumerate(self._inputs):
            snap[f"inputs.{k}.t"] = t
            snap[f"inputs.{k}.kind"] = kind
            snap[f"inputs.{k}.name"] = name
            snap[f"inputs.{k}.payload"] = payload
        snap.update(self._digest())
        return snap

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Re-run this FRESH component to the snapshot's time, replaying its inputs log at
        the logged times, then check the digest.

        Raises
        ------
        ValueError
            If the component has already advanced or taken inputs, or the replayed state's
            digest differs from the snapshot's (built from other construction inputs).
        """
        if self._inputs or self.time > 0.0:
            raise ValueError("restore needs a fresh response component (at its start)")
        for k in range(int(snapshot["inputs.n"])):
            t = float(snapshot[f"inputs.{k}.t"])
            kind = str(snapshot[f"inputs.{k}.kind"])
            name = str(snapshot[f"inputs.{k}.name"])
            payload = json.loads(str(snapshot[f"inputs.{k}.payload"]))
            self.advance_to(t)
            if kind == "input":
                self._log(kind, name, payload)
                self._set(name, np.asarray(payload["value"]))
            else:
                self._log(kind, name, payload)
                self._act(name, payload)
        self.advance_to(float(snapshot["t"]))
        digest = self._digest()
        differ = [
            key
            for key, value in digest.items()
            if not np.array_equal(np.asarray(value), np.asarray(snapshot[key]), equal_nan=True)
        ]
        if differ:
            raise ValueError(
                f"the replay differs from the snapshot in {differ}: the component was not "
                "built from the same scenario, plan and seed"
            )
