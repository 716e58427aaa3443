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

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from twin.engine.component import Field, apply, capture, field_of
from twin.errors import Problem, UserInputError
from twin.flood.build import flood_model
from twin.flood.kernels import LAND
from twin.flood.model import FloodModel, LimiterHits, VolumeBalance

if TYPE_CHECKING:
    from datetime import datetime

    from rich.console import Console

    from twin.flood.config import FloodConfig
    from twin.flood.forcing import Forcing
    from twin.flood.grid import BuildingRaster, GridSpec

__all__ = ["FloodComponent", "FloodRunReport", "run_flood"]

#: Stops of the clock in a flood-only run (its progress bar moves this often). The flood's
#: sub-steps land on each stop, so the outputs depend on them: 200 equal parts of the run,
#: as before the engine, keep them bit for bit.
PROGRESS_STEPS = 200

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
    actions: ClassVar[dict[str, str]] = {
        "breach": "open a levee breach now (twin.flood.river.open_breach's arguments)"
    }

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
        """``breach``: open a levee breach now (payload: :func:`twin.flood.river.open_breach`'s
        arguments after the model; a map without a levee raises ``UserInputError``)."""
        if action != "breach":
            raise KeyError(f"flood has no action {action!r}")
        from twin.flood.river import open_breach

        open_breach(self.model, **payload)

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


@dataclass(frozen=True)
class FloodRunReport:
    """What a flood run produced.

    Attributes
    ----------
    files
        Output files written (final names).
    balance
        The volume balance at the end of the run.
    substeps
        Number of adaptive sub-steps taken.
    wall_seconds
        Wall time of the simulation and writing (s).
    cells
        Number of grid cells.
    limiters
        How often and where the Froude cap and the positivity limiter acted.
    grid
        The flood grid (to place the limiters' hits on the map).
    """

    files: list[Path]
    balance: VolumeBalance
    substeps: int
    wall_seconds: float
    cells: int
    limiters: LimiterHits | None = None
    grid: GridSpec | None = None

    @property
    def cell_updates_per_second(self) -> float:
        """Sub-steps times cells over wall time."""
        return self.substeps * self.cells / max(self.wall_seconds, 1e-9)


def run_flood(
    terrain,
    forcing: Forcing,
    config: FloodConfig,
    out_dir: Path | str,
    *,
    duration: float,
    buildings: BuildingRaster | None = None,
    sea: np.ndarray | None = None,
    snapshots: bool = True,
    console: Console | None = None,
    progress: bool = True,
    start_time: datetime | None = None,
) -> FloodRunReport:
    """Run the flood alone on the engine for ``duration`` seconds and write its outputs.

    Parameters
    ----------
    terrain
        A :class:`~twin.city.terrain.TerrainGrid` (elevation, ``x0``/``y0``, resolution,
        crs).
    forcing, config
        What drives the flood, and the model's settings.
    out_dir
        Output folder; see :mod:`twin.flood.outputs` for the files.
    duration
        Simulated time (s) from 0.
    buildings, sea
        Building footprints on the grid and an explicit sea mask (see
        :class:`~twin.flood.model.FloodModel`).
    snapshots
        Write the depth and speed snapshots (the largest outputs).
    console
        Where the progress bar goes (default: stderr).
    progress
        Show the progress bar.
    start_time
        Clock time of ``t = 0`` (the scenario's start), for the outputs' date tags.

    Raises
    ------
    UserInputError
        Bad forcing or settings (before anything is written).
    KeyboardInterrupt
        On Ctrl-C; the files of the unfinished run are deleted first.
    """
    from twin.engine.run import ProgressBar, run
    from twin.flood.outputs import FloodWriter

    if not duration > 0:
        raise UserInputError(
            Problem(f"duration {duration!r} s must be > 0", field="duration", fix="e.g. 7200")
        )
    model = flood_model(terrain, forcing, config, buildings=buildings, sea=sea)
    start = time.perf_counter()
    with FloodWriter(out_dir, model, duration, snapshots=snapshots, start=start_time) as writer:
        writer.snapshot(model)
        bar = ProgressBar(
            "flood",
            console=console,
            enabled=progress,
            status=lambda _run: f"t = {_clock(model.t)}, {model.n_substeps} sub-steps",
        )
        component = FloodComponent(model, on_output=writer.snapshot)
        run([component], duration, exchange_every=duration / PROGRESS_STEPS, observers=[bar])
        files = writer.commit()
    return FloodRunReport(
        files=files,
        balance=model.volume_balance(),
        substeps=model.n_substeps,
        wall_seconds=time.perf_counter() - start,
        cells=int(np.prod(model.spec.shape)),
        limiters=model.limiter_hits(),
        grid=model.spec,
    )


def _clock(seconds: float) -> str:
    """``h:mm:ss`` of a time in seconds."""
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
