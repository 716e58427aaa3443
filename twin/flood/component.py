"""The flood model as an engine component (see :mod:`twin.engine.component`).

:class:`FloodComponent` wraps a :class:`~twin.flood.model.FloodModel`: the adaptive model
is advanced to each time the engine's clock stops at (its last sub-step shortened to land
there, as :meth:`FloodModel.advance_to` does). It declares the depth and speed it gives
others and snapshots its full state (depth, discharges, maxima, times of wetting, limiter
counts, rain state, water budget, gauge readings and the volume-balance rows) as numpy
arrays and scalars.

>>> import numpy as np
>>> from twin.flood import FloodModel
>>> c = FloodComponent(FloodModel(np.zeros((4, 5)), 10.0))
>>> c.advance_to(30.0)
>>> c.time
30.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any, ClassVar

import numpy as np

from twin.engine.component import Field, apply, capture, field_of
from twin.flood.kernels import LAND
from twin.flood.model import FloodModel, VolumeBalance

__all__ = ["FloodComponent"]

_BALANCE = [f.name for f in fields(VolumeBalance)]


class FloodComponent:
    """A flood model behind the engine's component contract.

    Parameters
    ----------
    model
        The model.
    on_output
        Called with the model at every output interval (the writer's snapshots).
    name
        The component's name in a run.
    """

    info: ClassVar[tuple[Field, ...]] = (
        Field("depth", "out", "m", "cell", "float64", "water depth at cell centres (row 0 north)"),
        Field("speed", "out", "m/s", "cell", "float64", "depth-averaged speed at cell centres"),
        Field("max_depth", "out", "m", "cell", "float64", "largest depth reached so far"),
        Field("qx", "out", "m2/s", "x_face", "float64", "unit discharge on x faces (east +)"),
        Field("qy", "out", "m2/s", "y_face", "float64", "unit discharge on y faces"),
        Field("stored_volume", "out", "m3", "scalar", "float64", "water on land cells"),
    )  # fmt: skip
    actions: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        model: FloodModel,
        *,
        on_output: Callable[[FloodModel], None] | None = None,
        name: str = "flood",
    ) -> None:
        self.model = model
        self.on_output = on_output
        self.name = name

    @property
    def time(self) -> float:
        """Model time (s)."""
        return self.model.t

    def sizes(self) -> dict[str, tuple[int, ...]]:
        """Cells ``(ny, nx)`` and the x and y faces."""
        ny, nx = self.model.spec.shape
        return {"cell": (ny, nx), "x_face": (ny, nx + 1), "y_face": (ny + 1, nx)}

    def advance_to(self, t: float) -> None:
        """Advance to ``t`` (s) with adaptive sub-steps (the last one lands on ``t``)."""
        self.model.advance_to(t, on_output=self.on_output)

    def output(self, name: str) -> Any:
        """A declared output now (see :attr:`info`)."""
        field_of(self, name, "out")
        m = self.model
        if name == "depth":
            return m.h.copy()
        if name == "speed":
            return m.speed()
        if name == "max_depth":
            return m.max_depth.copy()
        if name == "qx":
            return m.qx.copy()
        if name == "qy":
            return m.qy.copy()
        return m.stored_volume()

    def set_input(self, name: str, value: Any) -> None:
        """The flood takes no input from other models yet."""
        field_of(self, name, "in")  # raises KeyError: it declares none

    def inject(self, action: str, payload: Mapping[str, Any]) -> None:
        """The flood has no timeline actions yet (its forcing is set when it is built)."""
        raise KeyError(f"flood has no action {action!r}")

    def vitals(self) -> dict[str, float]:
        """Water on land (m3), deepest land cell (m), wet land cells, sub-steps so far."""
        m = self.model
        land = m.kind == LAND
        return {
            "stored_m3": m.stored_volume(),
            "max_depth_m": float(m.h[land].max(initial=0.0)),
            "wet_cells": float(np.count_nonzero(m.h[land] >= m.config.wet_depth)),
            "substeps": float(m.n_substeps),
        }

    def snapshot(self) -> dict[str, Any]:
        """The model's arrays and scalars, and the volume-balance rows as one array."""
        m = self.model
        rows = np.array([[getattr(b, n) for n in _BALANCE] for b in m.balance], np.float64)
        return {**capture(m, "model"), "balance.rows": rows.reshape(-1, len(_BALANCE))}

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Put this fresh component (same terrain, forcing, settings) into ``snapshot``'s
        state."""
        m = self.model
        apply(m, snapshot, "model")
        kinds = {f.name: f.type for f in fields(VolumeBalance)}
        m.balance = [
            VolumeBalance(
                **{
                    n: int(v) if kinds[n] in (int, "int") else float(v)
                    for n, v in zip(_BALANCE, row, strict=True)
                }
            )
            for row in np.asarray(snapshot["balance.rows"])
        ]
