"""FloodModel: 2-D local inertial shallow water on the terrain grid, with numpy state.

The scheme is Bates, Horritt & Fewtrell (2010, J. Hydrol. 387) stabilised as in
de Almeida et al. (2012, WRR 48); :mod:`twin.flood.kernels` has the equations. The
model owns its clock: :meth:`FloodModel.step` advances by a given interval using as many
adaptive sub-steps ``dt = alpha * dx / max(|u| + sqrt(g h))`` as it needs (see
:meth:`FloodModel.stable_dt`), never stepping over a change of the forcing, an output time
or a gauge reading. :meth:`FloodModel.limiter_hits` says how often and where the limiters
(Froude cap if set, positivity limiter) acted.

State that other models read (never write): ``h`` (depth, m, ``(ny, nx)``, row 0 north),
``qx``/``qy`` (unit discharge on faces, m2/s), :meth:`FloodModel.velocity`, ``t`` (s),
``max_depth`` (m) and ``first_wet`` (s, NaN where never wet).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from twin.errors import Problem, UserInputError
from twin.flood import kernels
from twin.flood.config import FloodConfig
from twin.flood.faces import coastal_sea_min_z, face_friction, face_kinds
from twin.flood.forcing import Forcing
from twin.flood.grid import (
    BuildingRaster,
    GridSpec,
    cells_at,
    check_memory,
    line_cells,
    sea_mask,
    zone_mask,
)
from twin.flood.kernels import BLOCKED, LAND, SEA


@dataclass(frozen=True)
class VolumeBalance:
    """Water budget since the start of the run (m3), at time ``time`` (s).

    ``error = initial + rain + inflow - edge_outflow - to_sea - drainage - infiltration
    - stored``; ``relative_error = error / (rain + inflow + initial + sea inflow)``.
    ``to_sea`` is net: negative when a surge pushed more water onto land than ran off.
    ``froude_capped_face_steps`` and ``outflow_limited_cell_steps`` count the limiters'
    hits since the start (see :class:`LimiterHits`).
    """

    time: float
    rain: float
    inflow: float
    edge_outflow: float
    to_sea: float
    drainage: float
    infiltration: float
    initial: float
    stored: float
    error: float
    relative_error: float
    froude_capped_face_steps: int = 0
    outflow_limited_cell_steps: int = 0

    def as_dict(self) -> dict[str, float]:
        """The row as a mapping (for CSV writers)."""
        return asdict(self)


@dataclass(frozen=True)
class LimiterHits:
    """How often and where the scheme's limiters acted since the start of the run.

    Attributes
    ----------
    froude_face_steps
        Face sub-steps whose discharge the Froude cap cut (0 without ``froude_limit``).
    froude_cells
        Cells next to at least one capped face.
    outflow_cell_steps
        Cell sub-steps whose outflow the positivity limiter scaled down (a cell that would
        have given more water than it held; keeps depths >= 0 with mass exact; it acts
        where thin sheets drain, and changes no steady flow).
    outflow_cells
        Cells it acted on at least once.
    substeps
        Sub-steps taken.
    froude_worst, outflow_worst
        ``(row, col, hits)`` of the cell hit most often, or ``None`` without hits.
    """

    froude_face_steps: int
    froude_cells: int
    outflow_cell_steps: int
    outflow_cells: int
    substeps: int
    froude_worst: tuple[int, int, int] | None
    outflow_worst: tuple[int, int, int] | None


class FloodModel:
    """Local inertial shallow-water flood model on a regular grid.

    Parameters
    ----------
    elevation
        Terrain ``(ny, nx)`` (m), row 0 on the north edge.
    resolution
        Cell side (m).
    forcing
        Rain, inflows, sea level and sinks (default: none).
    config
        Numerical and output settings (default :class:`FloodConfig()`).
    x0, y0
        North-west corner (m) in ``crs``; ``y0`` defaults to ``ny * resolution``.
    crs
        Projected CRS of the grid (needed for lon/lat locations), or ``None``.
    sea
        Bool mask ``(ny, nx)`` of sea cells; default: cells at or below
        ``config.sea_elevation`` connected to the map edge (none if that is ``None``).
    buildings
        Footprints on this grid (:func:`twin.flood.grid.rasterize_buildings`), used as
        ``config.buildings`` says.
    initial_depth
        Water depth (m) at the start, scalar or ``(ny, nx)``; default dry.
    t_start
        Time (s) of the initial state.

    Raises
    ------
    UserInputError
        For a grid too large for memory (checked before allocating), a sea level on a map
        without sea, an inflow, zone or gauge off the grid, and bad numbers.
    """

    def __init__(
        self,
        elevation: np.ndarray,
        resolution: float,
        forcing: Forcing | None = None,
        config: FloodConfig | None = None,
        *,
        x0: float = 0.0,
        y0: float | None = None,
        crs: str | None = None,
        sea: np.ndarray | None = None,
        buildings: BuildingRaster | None = None,
        initial_depth: float | np.ndarray | None = None,
        t_start: float = 0.0,
    ) -> None:
        self.forcing = forcing if forcing is not None else Forcing()
        if self.forcing.rivers and not hasattr(self, "_apply_river"):
            raise TypeError(
                "a forcing with rivers needs RiverFloodModel (twin.flood.build.flood_model)"
            )
        self.config = cfg = config if config is not None else FloodConfig()
        shape = tuple(int(n) for n in np.shape(elevation))
        if len(shape) != 2 or min(shape) < 1 or not resolution > 0:
            raise UserInputError(
                Problem(f"needs a 2-D grid and a resolution > 0 (got {shape}, {resolution})")
            )
        self.memory_bytes = check_memory(shape, resolution, cfg.max_memory_bytes)
        ny, nx = shape
        self.dx = dx = float(resolution)  # plain floats only reach the kernels (one signature)
        self.spec = GridSpec(shape, dx, float(x0), float(ny * dx if y0 is None else y0), crs)

        z = np.array(elevation, dtype=np.float64)
        if not np.all(np.isfinite(z)):
            raise UserInputError(Problem("the terrain has voids (NaN); fill them first"))
        kind = np.zeros(shape, np.uint8)
        if cfg.domain is not None:
            if np.shape(cfg.domain) != shape:
                raise UserInputError(
                    Problem(
                        f"the flood area mask has shape {np.shape(cfg.domain)}, the terrain "
                        f"{shape}",
                        field="flood.area",
                    )
                )
            kind[~np.asarray(cfg.domain, bool)] = BLOCKED
        if buildings is not None and cfg.buildings == "raised":
            z += buildings.height
        elif buildings is not None and cfg.buildings == "obstacles":
            kind[buildings.mask] = BLOCKED
        if sea is not None and np.shape(sea) != shape:
            raise UserInputError(
                Problem(f"the sea mask has shape {np.shape(sea)}, the terrain {shape}")
            )
        if sea is not None:
            is_sea = np.array(sea, bool)
        elif cfg.sea_elevation is None:
            is_sea = np.zeros(shape, bool)
        else:
            is_sea = sea_mask(z, cfg.sea_elevation)
        is_sea &= kind != BLOCKED
        kind[is_sea] = SEA
        if self.forcing.sea_level is not None and not is_sea.any():
            at = "no sea is set" if cfg.sea_elevation is None else (
                f"no cell at or below {cfg.sea_elevation:g} m touches the edge of "
                f"{self.spec.describe()}"
            )  # fmt: skip
            raise UserInputError(
                Problem(
                    f"a sea level is given but the map has no sea: {at}",
                    field=self.forcing.sea_level.name,
                    fix="remove the sea level from the scenario or choose a coastal map",
                )
            )
        if not (kind == LAND).any():
            raise UserInputError(
                Problem(
                    f"the whole map is sea or buildings: no land cell to flood in "
                    f"{self.spec.describe()} (sea: cells at or below "
                    f"{cfg.sea_elevation} m that touch the map edge)",
                    field="flood.sea_elevation",
                    fix="set flood.sea_elevation below the ground (for flat terrain: below "
                    "city.datum), or check the terrain's elevations",
                )
            )
        self.z, self.kind = z, kind
        self._coast_z = coastal_sea_min_z(z, kind)

        self.kx, self.ky = face_kinds(kind, cfg.edge_modes())
        self.gn2x, self.gn2y = face_friction(cfg.manning, shape)
        self._zone, self._zone_bits, self._zone_land = self._bind_rain()
        # Rain now: the intensities of the hyetographs, the intensity on each cell (m/s)
        # and its sum over land cells (m/s); updated when an intensity changes.
        self._intensities: tuple[float, ...] = ()
        self._rain_rate = np.zeros(shape)
        self._land_rain_rate = 0.0
        self._inflows = self._bind_inflows()
        self._gauge_cells = self._bind_gauges()

        self.h = (
            np.zeros(shape)
            if initial_depth is None
            else np.array(np.broadcast_to(np.asarray(initial_depth, np.float64), shape))
        )
        if np.any(self.h < 0) or not np.all(np.isfinite(self.h)):
            raise UserInputError(Problem("initial depth must be finite and >= 0"))
        self.h[kind == BLOCKED] = 0.0
        self.t = float(t_start)
        self.h[is_sea] = np.maximum(self.sea_level(self.t) - z[is_sea], 0.0)
        self.qx = np.zeros((ny, nx + 1))
        self.qy = np.zeros((ny + 1, nx))
        self._qx_raw = np.zeros_like(self.qx)
        self._qy_raw = np.zeros_like(self.qy)
        self._ratio = np.ones((ny + 2, nx + 2))  # limiter ratios with a border of ones
        # limiter hits: Froude cap per face, positivity (outflow) limiter per cell
        self._capped_x = np.zeros((ny, nx + 1), np.int64)
        self._capped_y = np.zeros((ny + 1, nx), np.int64)
        self._limited = np.zeros(shape, np.int64)
        self._speed_max = 0.0  # largest |u| + sqrt(g h) on a face in the last sub-step (m/s)
        self.max_depth = np.where(kind == LAND, self.h, 0.0)
        self._t_wet = np.full(shape, kernels.NEVER)
        self._t_wet[(kind == LAND) & (self.h >= cfg.wet_depth)] = self.t
        self._h_max = float(self.h[kind == LAND].max(initial=0.0))

        self._land = kind == LAND
        self._totals = dict.fromkeys(
            ("rain", "inflow", "edge_outflow", "to_sea", "drainage", "infiltration"), 0.0
        )
        self._initial = self.stored_volume()
        self._breaks = [b for b in self.forcing.breakpoints() if b > self.t]
        self.n_substeps = 0
        self.balance: list[VolumeBalance] = [self.volume_balance()]
        self.gauge_times: list[float] = []
        self._gauge_rows: list[np.ndarray] = []
        self._record_gauges()

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_terrain(cls, terrain, forcing=None, config=None, **kwargs) -> FloodModel:
        """Build on a :class:`~twin.city.terrain.TerrainGrid` (elevation, resolution,
        ``x0``/``y0`` north-west corner, crs); other arguments as for the constructor.
        A forcing with rivers needs :func:`twin.flood.build.flood_model` (which builds a
        :class:`~twin.flood.river.RiverFloodModel`)."""
        return cls(
            terrain.elevation,
            terrain.resolution,
            forcing,
            config,
            x0=terrain.x0,
            y0=terrain.y0,
            crs=terrain.crs,
            **kwargs,
        )

    def _bind_rain(self):
        """Rain zones as one uint8 id per cell: each id is a set of overlapping zones."""
        shape = self.spec.shape
        rains = self.forcing.rainfall
        if not rains:
            return np.zeros(shape, np.uint8), np.zeros((1, 0), bool), np.zeros(1)
        if len(rains) > 62:
            raise UserInputError(Problem(f"{len(rains)} rainfall hazards; at most 62 are allowed"))
        code = np.zeros(shape, np.int64)
        for k, rain in enumerate(rains):
            if rain.zone is None:
                code |= 1 << k
            else:
                mask = zone_mask(self.spec, rain.zone, rain.zone_crs, what=f"{rain.name}.zone")
                code |= mask.astype(np.int64) << k
        combos, zone = np.unique(code, return_inverse=True)
        if combos.size > 255:
            raise UserInputError(Problem("more than 255 combinations of rain zones overlap"))
        bits = (combos[:, None] >> np.arange(len(rains))[None, :]) & 1
        land = np.bincount(zone.ravel(), weights=(self.kind == LAND).ravel(), minlength=len(combos))
        return zone.reshape(shape).astype(np.uint8), bits.astype(bool), land

    def _bind_inflows(self):
        """Cells and length shares of each inflow; none may fall on sea or a building."""
        out = []
        for inflow in self.forcing.inflows:
            what = f"{inflow.name}.location"
            flat, share = line_cells(self.spec, inflow.points, inflow.crs, what=what)
            bad = self.kind.ravel()[flat] != LAND
            if bad.any():
                where = "a building" if self.kind.ravel()[flat[bad][0]] == BLOCKED else "the sea"
                raise UserInputError(
                    Problem(
                        f"the inflow enters on {where}, where the model holds no water",
                        field=what,
                        fix="move it onto open land",
                    )
                )
            out.append((inflow, flat, share))
        return out

    def _bind_gauges(self) -> np.ndarray:
        cells = []
        for gauge in self.config.gauges:
            r, c = cells_at(
                self.spec, [gauge.location], gauge.crs, what=f"flood.gauges.{gauge.name}"
            )
            cells.append(int(r[0]) * self.spec.shape[1] + int(c[0]))
        return np.asarray(cells, np.int64)

    # ----------------------------------------------------------------- time stepping
    def sea_level(self, t: float) -> float:
        """Level (m) of the sea cells at time ``t``: the forcing's, else ``sea_elevation``."""
        sl = self.forcing.sea_level
        if sl is not None:
            return sl.level(t)
        return self.config.sea_elevation if self.config.sea_elevation is not None else 0.0

    def stable_dt(self) -> float:
        """Longest stable sub-step now (s), at most ``dt_max``.

        ``alpha * dx / max(|u| + sqrt(g h_f))`` over the faces of the last sub-step and
        ``sqrt(g h_max)`` over land and the sea next to land (``time_step="flow"``), or
        ``alpha * dx / sqrt(g * h_max)`` alone (``"depth"``, Bates et al. 2010).
        """
        cfg = self.config
        h_max = max(self._h_max, self.sea_level(self.t) - self._coast_z)
        speed = math.sqrt(kernels.G * h_max) if h_max > cfg.depth_threshold else 0.0
        if cfg.time_step == "flow":
            speed = max(speed, self._speed_max)
        if speed <= 0.0:
            return cfg.dt_max
        return min(cfg.alpha * self.dx / speed, cfg.dt_max)

    def substep(self, dt_limit: float = math.inf) -> float:
        """Advance by one stable sub-step of at most ``dt_limit`` seconds; return its length.

        Does not record outputs; :meth:`advance_to` does.
        """
        with kernels.threads(self.config.threads):
            return self._substep(dt_limit)

    def _substep(self, dt_limit: float) -> float:
        """:meth:`substep` inside the caller's thread setting (switching it costs ~10 us,
        as much as the kernels of a small grid)."""
        dt = min(self.stable_dt(), dt_limit)
        i = bisect.bisect_right(self._breaks, self.t)
        if i < len(self._breaks):
            dt = min(dt, self._breaks[i] - self.t)
        # An inflow deepens its cells before the momentum update: shorten dt if needed.
        for inflow, _, share in self._inflows:
            rate = max(inflow.discharges) * share.max() / self.dx**2
            if rate > 0:
                h_est = self._h_max + rate * dt
                dt = min(dt, self.config.alpha * self.dx / math.sqrt(kernels.G * h_est))
        self._advance(dt)
        return dt

    def _advance(self, dt: float) -> None:
        f, dx = self.forcing, self.dx
        t0, t1 = self.t, self.t + dt
        area = dx * dx
        h_flat = self.h.reshape(-1)
        for inflow, cells, share in self._inflows:
            volume = inflow.volume(t0, t1)
            if volume > 0:
                h_flat[cells] += volume * share / area
                self._totals["inflow"] += volume
        # A step never crosses a change of the (step) hyetographs: the intensities at its
        # middle hold throughout it.
        intensities = tuple(r.intensity(0.5 * (t0 + t1)) for r in f.rainfall)
        if intensities != self._intensities:
            self._intensities = intensities
            zone_rate = self._zone_bits.astype(np.float64) @ np.array(intensities)
            self._rain_rate = zone_rate[self._zone]
            self._land_rain_rate = float(zone_rate @ self._zone_land)
        rain_dt = t1 - t0
        self._totals["rain"] += self._land_rain_rate * rain_dt * area
        sink_rate = f.drainage_rate + f.infiltration_rate
        h_max, sunk, to_sea, to_edges = self._kernels(dt, t1, rain_dt, sink_rate * dt)
        if sink_rate > 0:
            self._totals["drainage"] += sunk * area * f.drainage_rate / sink_rate
            self._totals["infiltration"] += sunk * area * f.infiltration_rate / sink_rate
        self._totals["to_sea"] += to_sea * area
        self._totals["edge_outflow"] += to_edges * dt * dx
        self._h_max = h_max
        self.t = t1
        self.n_substeps += 1

    def _kernels(self, dt: float, t1: float, rain_dt: float, sink: float):
        """The three passes of one sub-step (see :mod:`twin.flood.kernels`)."""
        cfg, dx = self.config, self.dx
        h_min, wet = float(cfg.depth_threshold), float(cfg.wet_depth)
        self._speed_max = kernels.face_discharge(
            self.z, self.h, self.qx, self.qy, self.kx, self.ky, self.gn2x, self.gn2y,
            dt, dx, float(cfg.theta), h_min, float(cfg.froude_limit or 0.0),
            self._qx_raw, self._qy_raw, self._capped_x, self._capped_y,
        )  # fmt: skip
        kernels.outflow_ratio(
            self.h, self.kind, self._qx_raw, self._qy_raw, dt, dx, self._ratio, self._limited
        )
        return kernels.continuity(
            self.h, self.z, self.kind, self._rain_rate, rain_dt, sink, float(self.sea_level(t1)),
            self._qx_raw, self._qy_raw, self._ratio, dt, dx, t1, wet,
            self.qx, self.qy, self.max_depth, self._t_wet,
        )  # fmt: skip

    def advance_to(
        self, t_end: float, on_output: Callable[[FloodModel], None] | None = None
    ) -> None:
        """Advance to time ``t_end`` (s) with adaptive sub-steps.

        At every multiple of ``config.output_interval`` it appends a row to
        :attr:`balance` and calls ``on_output(self)`` (for snapshots); at every multiple
        of the gauge interval it records the gauges.
        """
        out_dt, gauge_dt = self.config.output_interval, self.config.gauge_step
        eps = 1e-9 * max(1.0, abs(t_end))
        while self.t < t_end - eps:
            next_out = _next_multiple(self.t, out_dt)
            next_gauge = _next_multiple(self.t, gauge_dt) if self.config.gauges else math.inf
            stop = min(t_end, next_out, next_gauge)
            with kernels.threads(self.config.threads):
                while self.t < stop - eps:
                    self._substep(stop - self.t)
            self.t = stop  # remove round-off
            if abs(stop - next_gauge) <= eps:
                self._record_gauges()
            if abs(stop - next_out) <= eps:
                self.balance.append(self.volume_balance())
                if on_output is not None:
                    on_output(self)

    def step(self, dt: float) -> None:
        """Advance by ``dt`` seconds (any length; adaptive sub-steps inside)."""
        self.advance_to(self.t + dt)

    # ----------------------------------------------------------------- reading the state
    def stored_volume(self) -> float:
        """Water on land cells (m3)."""
        return float(self.h[self._land].sum()) * self.dx * self.dx

    def limiter_hits(self) -> LimiterHits:
        """How often and where the Froude cap and the positivity limiter acted."""
        cx, cy = self._capped_x, self._capped_y
        per_cell = cx[:, :-1] + cx[:, 1:] + cy[:-1, :] + cy[1:, :]  # a face counts for both
        return LimiterHits(
            froude_face_steps=int(cx.sum() + cy.sum()),
            froude_cells=int(np.count_nonzero(per_cell)),
            outflow_cell_steps=int(self._limited.sum()),
            outflow_cells=int(np.count_nonzero(self._limited)),
            substeps=self.n_substeps,
            froude_worst=_worst(per_cell),
            outflow_worst=_worst(self._limited),
        )

    def volume_balance(self) -> VolumeBalance:
        """The water budget now (see :class:`VolumeBalance`)."""
        tot = self._totals
        stored = self.stored_volume()
        error = (
            self._initial + tot["rain"] + tot["inflow"] - tot["edge_outflow"] - tot["to_sea"]
            - tot["drainage"] - tot["infiltration"] - stored
        )  # fmt: skip
        scale = self._initial + tot["rain"] + tot["inflow"] + max(-tot["to_sea"], 0.0)
        return VolumeBalance(
            time=self.t,
            initial=self._initial,
            stored=stored,
            error=error,
            relative_error=error / scale if scale > 0 else 0.0,
            froude_capped_face_steps=int(self._capped_x.sum() + self._capped_y.sum()),
            outflow_limited_cell_steps=int(self._limited.sum()),
            **tot,
        )

    @property
    def first_wet(self) -> np.ndarray:
        """Time (s) each cell first reached ``config.wet_depth``; NaN if it never did."""
        return np.where(self._t_wet >= kernels.NEVER, np.nan, self._t_wet)

    def velocity(self) -> tuple[np.ndarray, np.ndarray]:
        """Depth-averaged velocity at land cell centres (m/s): ``u`` east, ``v`` north;
        0 on sea, buildings and dry cells (see :func:`twin.flood.kernels.cell_velocity`)."""
        u, v = np.empty(self.spec.shape), np.empty(self.spec.shape)
        kernels.cell_velocity(
            self.z, self.h, self.kind, self.qx, self.qy, self.config.depth_threshold, u, v
        )
        return u, v

    def speed(self) -> np.ndarray:
        """Depth-averaged speed at cell centres (m/s)."""
        u, v = self.velocity()
        return np.hypot(u, v)

    def level(self) -> np.ndarray:
        """Water surface elevation ``z + h`` (m)."""
        return self.z + self.h

    def _record_gauges(self) -> None:
        if self._gauge_cells.size:
            self.gauge_times.append(self.t)
            self._gauge_rows.append(
                np.stack([self.z.ravel()[self._gauge_cells], self.h.ravel()[self._gauge_cells]])
            )

    def gauge_table(self) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Gauge readings: times (s), then level (m) and depth (m) by gauge name."""
        times = np.asarray(self.gauge_times)
        rows = np.asarray(self._gauge_rows).reshape(len(times), 2, -1)
        names = [g.name for g in self.config.gauges]
        level = {n: rows[:, 0, k] + rows[:, 1, k] for k, n in enumerate(names)}
        depth = {n: rows[:, 1, k] for k, n in enumerate(names)}
        return times, level, depth


def _worst(hits: np.ndarray) -> tuple[int, int, int] | None:
    """``(row, col, hits)`` of the cell with the most hits, or ``None`` if none has any."""
    k = int(np.argmax(hits))
    r, c = divmod(k, hits.shape[1])
    return (r, c, int(hits[r, c])) if hits[r, c] > 0 else None


def _next_multiple(t: float, step: float) -> float:
    """Smallest multiple of ``step`` strictly after ``t`` (with a round-off margin)."""
    k = math.floor(t / step + 1e-9) + 1
    return k * step
