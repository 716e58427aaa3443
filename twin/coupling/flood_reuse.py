"""Flood reuse for the coupled twin: record a finished flood, play it back.

A plan cannot change the water (plans have no barriers or pumps), so the flood of a
scenario depends only on its flood inputs. :func:`flood_key` hashes them;
:class:`FloodRecord` keeps the depth and speed grids at every exchange time of a finished
run in ``<cache>/coupled_flood/<key>.npz``, and :class:`FloodReplay` plays them back as a
component, so the replications of a comparison compute one flood, not one each.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from twin.engine.component import Field, field_of

if TYPE_CHECKING:
    from twin.scenario.schema import Scenario

__all__ = ["WATER", "FloodRecord", "FloodReplay", "flood_key"]

#: Hazard kinds that put water on the grid (a scenario with none of them has no flood).
WATER = ("rainfall", "inflow", "sea_level", "river")


def flood_key(scenario: Scenario, until: float, exchange_every: float) -> str:
    """Hash of everything the flood's depth at the exchange times depends on: the city and
    its terrain options, the water hazards, the flood settings, the run's end and the
    exchange interval (a plan changes none of them)."""
    data = {
        "city": scenario.city.model_dump(mode="json"),
        "hazards": [
            h.model_dump(mode="json")
            for h in scenario.hazards
            if h.kind in (*WATER, "drainage", "infiltration")
        ],
        "flood": scenario.flood.model_dump(mode="json"),
        "until": float(until),
        "exchange_every": float(exchange_every),
        "format": 1,
    }
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class FloodReplay:
    """A finished flood run played back: depth and speed at the recorded exchange times.

    Parameters
    ----------
    path
        A :class:`FloodRecord` file.
    name
        The component's name.
    """

    info: ClassVar[tuple[Field, ...]] = (
        Field("depth", "out", "m", "cell", "float64", "water depth at cell centres (row 0 north)"),
        Field("speed", "out", "m/s", "cell", "float64", "depth-averaged speed at cell centres"),
    )  # fmt: skip
    actions: ClassVar[dict[str, str]] = {}

    def __init__(self, path: Path | str, *, name: str = "flood") -> None:
        with np.load(path, allow_pickle=False) as data:
            self.times = np.asarray(data["times"], dtype=np.float64)
            self.depth = np.asarray(data["depth"])
            self.speed = np.asarray(data["speed"])
            self.land = np.asarray(data["land"], dtype=bool)
            self.wet_depth = float(data["wet_depth"])
            self.cell_area = float(data["cell_area"])
        self.name = name
        self._t = 0.0

    @property
    def time(self) -> float:
        """Time played back to (s)."""
        return self._t

    def sizes(self) -> dict[str, tuple[int, ...]]:
        """Cells ``(ny, nx)``."""
        return {"cell": tuple(self.depth.shape[1:])}

    def _frame(self) -> int:
        k = int(np.searchsorted(self.times, self._t + 1e-9, side="right")) - 1
        return max(k, 0)

    def advance_to(self, t: float) -> None:
        """Move to ``t`` (s); outputs are the last recorded grids at or before it."""
        self._t = float(t)

    def output(self, name: str) -> Any:
        """Depth or speed of the last recorded time at or before now."""
        field_of(self, name, "out")
        grids = self.depth if name == "depth" else self.speed
        return np.array(grids[self._frame()], dtype=np.float64)

    def set_input(self, name: str, value: Any) -> None:
        """No inputs."""
        field_of(self, name, "in")

    def inject(self, action: str, payload: Mapping[str, Any]) -> None:
        """No actions."""
        raise KeyError(f"flood has no action {action!r}")

    def vitals(self) -> dict[str, float]:
        """Deepest land cell (m)."""
        return {"max_depth_m": float(self.output("depth")[self.land].max(initial=0.0))}

    def snapshot(self) -> dict[str, Any]:
        """The time played back to."""
        return {"replay.t": self._t}

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Back to a snapshot's time."""
        self._t = float(snapshot["replay.t"])


class FloodRecord:
    """Records the flood's depth and speed at every exchange of a run, and stores them
    (compressed) once the run reached its end.

    Parameters
    ----------
    path
        Where the record goes.
    land, wet_depth, cell_area
        The flood's land mask, wet depth (m) and cell area (m2) (stored with the grids).
    """

    def __init__(self, path: Path, land: np.ndarray, wet_depth: float, cell_area: float) -> None:
        self.path = Path(path)
        self.land = land
        self.wet_depth = wet_depth
        self.cell_area = cell_area
        self.times: list[float] = []
        self.depth: list[np.ndarray] = []
        self.speed: list[np.ndarray] = []

    def add(self, t: float, depth: np.ndarray, speed: np.ndarray) -> None:
        """Keep the grids at exchange time ``t`` (s)."""
        self.times.append(float(t))
        self.depth.append(np.asarray(depth, dtype=np.float64))
        self.speed.append(np.asarray(speed, dtype=np.float64))

    def save(self, start: float) -> Path:
        """Write the record (with the grids at ``start`` first) atomically."""
        from twin.atomic import atomic_path

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(
                fh,
                times=np.asarray(self.times, dtype=np.float64),
                depth=np.stack(self.depth),
                speed=np.stack(self.speed),
                land=self.land,
                wet_depth=np.float64(self.wet_depth),
                cell_area=np.float64(self.cell_area),
            )
        return self.path
