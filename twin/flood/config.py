"""Numerical and output settings of the flood model (the scenario's ``flood`` section)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from twin.errors import Problem, UserInputError
from twin.flood.forcing import Gauge

EDGES = ("north", "south", "west", "east")
BuildingMode = Literal["obstacles", "raised", "ignore"]
EdgeMode = Literal["open", "closed"]
TimeStepRule = Literal["flow", "depth"]


@dataclass(frozen=True)
class FloodConfig:
    """Settings of one flood run.

    Parameters
    ----------
    alpha
        Courant factor of the adaptive step (see ``time_step``); 0.7 is stable.
    theta
        Weight of a face's own discharge in de Almeida et al.'s (2012) spatial average
        ``theta * q + (1 - theta) / 2 * (q_upstream + q_downstream)``; 1 (default) gives
        the plain Bates et al. (2010) scheme. Values below 1 damp checkerboards at long
        steps, but the averaging acts once per step, so its smoothing grows as the step
        shrinks and the answer depends on the step: on Monaco (30 m) theta 0.8 agrees with
        its own 0.25 s run at IoU 0.86 only, theta 1 at 1.00. With the flow-speed step
        (``time_step="flow"``) no damping is needed.
    manning
        Manning's n (s m^-1/3): a scalar or an array ``(ny, nx)`` per cell (e.g. from land
        use; roads ~0.015, parks ~0.05). A face takes the mean of its two cells.
    buildings
        What a building footprint does: ``"obstacles"`` (its cells are removed from the
        domain: no flow through them, no rain on them), ``"raised"`` (its height is added
        to the terrain: rain on roofs runs off) or ``"ignore"``.
    edges
        ``"open"`` (free outflow at critical depth, ``q = h sqrt(g h)``, outward only)
        or ``"closed"`` (a wall) for all four map edges, or a mapping edge -> mode with
        keys among ``north``, ``south``, ``west``, ``east`` (missing keys are open).
    output_interval
        Interval (s) of depth/speed snapshots and volume-balance rows.
    gauge_interval
        Interval (s) of gauge readings; ``None`` uses ``min(output_interval, 60)``.
    gauges
        Points where the water level is recorded.
    depth_threshold
        Flow depth (m) at a face below which it carries no flow (wet/dry front).
    wet_depth
        Depth (m) at which a cell counts as wet, for the time of first wetting.
    froude_limit
        Cap on the face discharge, ``|q| <= Fr * h_f * sqrt(g h_f)``; ``None`` (default)
        for no cap. An explicit option for speed-over-accuracy studies only: with it,
        sheet flow on steep ground runs at critical instead of normal depth (+36 % to
        +121 % too deep on 10-50 % slopes); with the depth-based step (``time_step=
        "depth"``) it is twin's old default, stable but not converged (IoU 0.57 against
        its own 0.25 s run on Monaco). Landlab's ``steep_slopes`` is the same kind of
        cap. Hits are counted
        (:meth:`FloodModel.limiter_hits`).
    time_step
        ``"flow"`` (default): ``dt = alpha * dx / max(s)`` with the wave speed
        ``s = (|q| + |q_o|) / h_f + sqrt(g h_f)`` on every wet face of the last sub-step
        (``q_o``: the cross discharge of the 2-D friction) and ``s = sqrt(g h_max)`` for
        the deepest cell: stable and converged on steep ground without a cap.
        ``"depth"``: ``dt = alpha * dx / sqrt(g * h_max)`` (Bates et al. 2010, eq. 14),
        stable on steep ground only with ``froude_limit``.
    dt_max
        Longest sub-step (s), used while the map is (nearly) dry.
    sea_elevation
        Cells at or below this elevation (m) that connect to the map edge are sea;
        ``None``: no sea (every cell is land or building; e.g. flat terrain with no sea
        stated). A map with no land cell at all is refused.
    domain
        Bool mask ``(ny, nx)`` of the cells in the flood's area (``flood.area``); cells
        outside are left out like obstacle buildings (no flow, no rain). ``None``: all.
    max_memory_bytes
        Refuse grids whose state would exceed this; ``None`` uses half of the memory
        available when the model is built.
    threads
        Threads for the kernels; ``None`` uses numba's default (all cores, or
        ``NUMBA_NUM_THREADS``). Give 1 when several runs share a machine (process pools,
        ``pytest -n``): a sub-step is three short parallel loops, and threads that wait
        for a descheduled peer at each of them make an oversubscribed run several times
        slower than a single-threaded one.
    """

    alpha: float = 0.7
    theta: float = 1.0
    manning: float | np.ndarray = 0.03
    buildings: BuildingMode = "obstacles"
    edges: EdgeMode | Mapping[str, EdgeMode] = "open"
    output_interval: float = 600.0
    gauge_interval: float | None = None
    gauges: tuple[Gauge, ...] = field(default_factory=tuple)
    depth_threshold: float = 1e-4
    wet_depth: float = 0.01
    froude_limit: float | None = None
    time_step: TimeStepRule = "flow"
    dt_max: float = 10.0
    sea_elevation: float | None = 0.0
    domain: np.ndarray | None = None
    max_memory_bytes: int | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "gauges", tuple(self.gauges))
        problems: list[Problem] = []

        def need(name: str, ok: bool, text: str, fix: str | None = None) -> None:
            if not ok:
                problems.append(
                    Problem(f"{getattr(self, name)!r}: {text}", field=f"flood.{name}", fix=fix)
                )

        need("alpha", 0 < self.alpha <= 1, "must be in (0, 1]", "use 0.7")
        need("theta", 0 <= self.theta <= 1, "must be in [0, 1]", "use 1")
        need("time_step", self.time_step in ("flow", "depth"), "must be flow or depth")
        need("output_interval", self.output_interval > 0, "must be > 0 s")
        need(
            "gauge_interval",
            self.gauge_interval is None or self.gauge_interval > 0,
            "must be > 0 s",
        )
        need("depth_threshold", self.depth_threshold > 0, "must be > 0 m", "use 1e-4")
        need("wet_depth", self.wet_depth > 0, "must be > 0 m")
        need("dt_max", self.dt_max > 0, "must be > 0 s")
        need("threads", self.threads is None or self.threads >= 1, "must be >= 1 or left out")
        need(
            "froude_limit",
            self.froude_limit is None or self.froude_limit > 0,
            "must be > 0 or left out",
        )
        need(
            "buildings",
            self.buildings in ("obstacles", "raised", "ignore"),
            "must be one of obstacles, raised, ignore",
        )
        n = np.asarray(self.manning, dtype=np.float64)
        if not (np.all(np.isfinite(n)) and np.all(n >= 0)):
            problems.append(
                Problem(
                    "Manning's n must be finite and >= 0",
                    field="flood.manning",
                    fix="typical values: 0.015 (asphalt) to 0.1 (dense vegetation)",
                )
            )
        try:
            self.edge_modes()
        except UserInputError as exc:
            problems.extend(exc.problems)
        names = [g.name for g in self.gauges]
        if len(set(names)) != len(names):
            problems.append(Problem("gauge names must be unique", field="flood.gauges"))
        if problems:
            raise UserInputError(problems)

    def edge_modes(self) -> dict[str, str]:
        """Mode of each map edge: ``{"north": "open", ...}``."""
        if isinstance(self.edges, str):
            modes = dict.fromkeys(EDGES, self.edges)
        else:
            unknown = set(self.edges) - set(EDGES)
            if unknown:
                raise UserInputError(
                    Problem(
                        f"unknown edge(s) {sorted(unknown)}",
                        field="flood.edges",
                        fix=f"use keys among {', '.join(EDGES)}",
                    )
                )
            modes = {e: self.edges.get(e, "open") for e in EDGES}
        bad = {k: v for k, v in modes.items() if v not in ("open", "closed")}
        if bad:
            raise UserInputError(
                Problem(f"edge modes {bad} must be open or closed", field="flood.edges")
            )
        return modes

    @property
    def gauge_step(self) -> float:
        """Interval (s) between gauge readings."""
        if self.gauge_interval is not None:
            return float(self.gauge_interval)
        return float(min(self.output_interval, 60.0))
