"""A river reach with a stage hydrograph, its levees and their breaches.

The river is a line (its centreline) and a width: every cell whose centre lies within half
the width of the line is a *channel cell*. Channel cells hold their water surface at the
river's stage, a Dirichlet boundary like the sea's but along the line: before every
sub-step their depth is reset to ``max(stage(t) - z, 0)``, and the water this adds or
removes is booked as (net) inflow in the volume balance. Water then leaves the channel by
the model's own face fluxes, so how much crosses a bank or a breach is the shallow-water
solution, not a formula (a weir formula as an inflow would have to guess the tailwater;
the face fluxes see it). :mod:`tests.validation.test_levee` checks the breach flow against
the broad-crested weir ``Q = 1.7 B H^1.5``.

A levee is a line with a crest elevation: the cells it crosses (made 4-connected, so water
cannot slip through a diagonal gap) are raised to the crest. A breach lowers the crest of
the levee cells within half its width of the breach point linearly, from the crest to the
ground under the levee (or a stated ``bottom``), over its growth time. It starts at a time
or when the stage has stood above the crest for a duration (overtopping erodes the
levee), whichever is given; :func:`overtop_start` finds that time from the hydrograph, so a
breach is a pure function of time and a restored model needs no extra state.
:func:`open_breach` opens one while the model runs (a drill's inject, the flood
component's ``breach`` action): the same breach with ``at`` the model's time.

Times are seconds since the scenario start; lengths and levels are metres in the terrain's
vertical datum; points are ``(x, y)`` in ``crs`` (default lon/lat).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from twin.errors import Problem, UserInputError
from twin.flood.grid import GridSpec, cells_at
from twin.flood.kernels import LAND
from twin.flood.model import FloodModel

LONLAT = "EPSG:4326"


def overtop_start(
    times: Sequence[float], levels: Sequence[float], crest: float, hold: float
) -> float | None:
    """First time (s) at which a piecewise-linear stage has stood above ``crest`` for
    ``hold`` seconds without a break; ``None`` if it never does.

    The stage is linear between ``times`` and constant after the last one (as
    :meth:`River.stage`). An interval above the crest that lasts exactly ``hold`` counts.
    """
    t = np.asarray(times, np.float64)
    v = np.asarray(levels, np.float64)
    intervals: list[list[float]] = []

    def add(a: float, b: float) -> None:
        if intervals and intervals[-1][1] >= a:
            intervals[-1][1] = max(intervals[-1][1], b)
        else:
            intervals.append([a, b])

    for i in range(len(t) - 1):
        a, b, va, vb = t[i], t[i + 1], v[i], v[i + 1]
        if va > crest and vb > crest:
            add(a, b)
        elif va > crest or vb > crest:
            tc = a + (crest - va) / (vb - va) * (b - a)  # the crossing
            add(*((a, tc) if va > crest else (tc, b)))
    if v[-1] > crest:
        add(float(t[-1]), math.inf)
    for a, b in intervals:
        if b - a >= hold:
            return float(a + hold)
    return None


@dataclass(frozen=True)
class Breach:
    """A gap that opens in a levee.

    Parameters
    ----------
    location
        ``(x, y)`` of the breach's middle, on or near the levee, in the river's ``crs``.
    width
        Length of levee that fails (m, > 0).
    growth
        Time over which the crest sinks from its top to ``bottom`` (s, >= 0).
    at
        When the breach starts (s); give this or ``overtop_for``.
    overtop_for
        The breach starts once the stage has stood above the crest this long (s).
    bottom
        Crest elevation at the end (m); default: the ground under the levee.
    """

    location: tuple[float, float]
    width: float
    growth: float
    at: float | None = None
    overtop_for: float | None = None
    bottom: float | None = None


@dataclass(frozen=True)
class Levee:
    """A levee: a line raised to a crest elevation, with an optional breach.

    Parameters
    ----------
    points
        Two or more ``(x, y)`` along the levee, in the river's ``crs``.
    crest
        Crest elevation (m, terrain datum).
    breach
        The breach, or ``None``.
    """

    points: Sequence[tuple[float, float]]
    crest: float
    breach: Breach | None = None


@dataclass(frozen=True)
class River:
    """A river reach: centreline, width, stage hydrograph and levees.

    Parameters
    ----------
    times, levels
        Stage hydrograph: water level (m, terrain datum) at each time (s), linear
        between times, constant before the first and after the last.
    points
        Two or more ``(x, y)`` along the channel's centreline, in ``crs``.
    width
        Channel width (m, > 0); cells whose centre lies within ``width / 2`` of the line
        are channel cells (at least the cells the line crosses).
    levees
        Levees along the river.
    crs
        CRS of every point (default lon/lat); ``None`` for the grid's own coordinates.
    name
        Label used in messages (the scenario field, e.g. ``hazards.2``) and the chain log.
    title
        The river's name shown in results.
    """

    times: Sequence[float]
    levels: Sequence[float]
    points: Sequence[tuple[float, float]]
    width: float
    levees: Sequence[Levee] = ()
    crs: str | None = LONLAT
    name: str = "river"
    title: str = "river"

    def __post_init__(self) -> None:
        from twin.flood.forcing import _series

        t, v = _series(f"{self.name}.stage", self.times, self.levels, what="level")
        problems = []
        if len(self.points) < 2:
            problems.append(
                Problem("a river needs a line of two or more points", field=f"{self.name}.line")
            )
        if not (math.isfinite(self.width) and self.width > 0):
            problems.append(Problem(f"width {self.width:g} m must be > 0", field=self.name))
        for k, levee in enumerate(self.levees):
            field = f"{self.name}.levees.{k}"
            if len(levee.points) < 2:
                problems.append(Problem("a levee needs two or more points", field=field))
            b = levee.breach
            if b is not None and (b.at is None) == (b.overtop_for is None):
                problems.append(
                    Problem(
                        "a breach needs exactly one of `at` and `overtop_for`",
                        field=f"{field}.breach",
                        fix="give `at: 2 h` or `overtop_for: 30 min`",
                    )
                )
        if problems:
            raise UserInputError(problems)
        object.__setattr__(self, "times", tuple(float(x) for x in t))
        object.__setattr__(self, "levels", tuple(float(x) for x in v))
        object.__setattr__(self, "levees", tuple(self.levees))

    def stage(self, t: float) -> float:
        """Water level (m) at time ``t`` (s)."""
        return float(np.interp(t, self.times, self.levels))

    def breach_time(self, levee: Levee) -> float | None:
        """When ``levee``'s breach starts (s): its ``at``, or when the stage has stood above
        the crest for ``overtop_for``; ``None`` without a breach or if it never does."""
        b = levee.breach
        if b is None:
            return None
        if b.at is not None:
            return float(b.at)
        return overtop_start(self.times, self.levels, levee.crest, float(b.overtop_for))


def _samples(spec: GridSpec, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points every 1/8 cell along a polyline (grid coordinates) and their (row, col)."""
    pts = [xy[:1]]
    for a, b in itertools.pairwise(xy):
        n = max(1, int(np.ceil(np.hypot(*(b - a)) / (spec.resolution / 8))))
        s = np.arange(1, n + 1) / n
        pts.append(a + s[:, None] * (b - a))
    p = np.concatenate(pts)
    row, col, _ = spec.cell_of(p)
    return p, np.stack([row, col], axis=1)


def wall_cells(spec: GridSpec, points, crs: str | None, *, what: str) -> np.ndarray:
    """Flat indices of the cells a line crosses, 4-connected (a diagonal step gets the
    cell beside it), so that a raised line holds water on the model's 4-neighbour faces.

    Raises
    ------
    UserInputError
        If a point lies outside the grid (``what`` names the field).
    """
    xy = spec.to_grid_xy(points, crs, what=what)
    cells_at(spec, xy, None, what=what)
    _, rc = _samples(spec, xy)
    keep = [rc[0]]
    for a, b in itertools.pairwise(rc):
        if a[0] != b[0] and a[1] != b[1]:
            keep.append(np.array([a[0], b[1]]))
        keep.append(b)
    rc = np.array(keep)
    return np.unique(rc[:, 0] * spec.shape[1] + rc[:, 1])


def band_cells(spec: GridSpec, points, crs: str | None, half_width: float, *, what: str):
    """Flat indices of the cells whose centre lies within ``half_width`` (m) of a line,
    together with the cells the line crosses."""
    import shapely

    xy = spec.to_grid_xy(points, crs, what=what)
    crossed = wall_cells(spec, points, crs, what=what)
    line = shapely.LineString(xy)
    ny, nx = spec.shape
    cols = (np.arange(nx) + 0.5) * spec.resolution + spec.x0
    rows = spec.y0 - (np.arange(ny) + 0.5) * spec.resolution
    cx, cy = np.meshgrid(cols, rows)
    near = shapely.dwithin(line, shapely.points(cx.ravel(), cy.ravel()), half_width)
    return np.union1d(np.flatnonzero(near), crossed)


@dataclass(frozen=True)
class _BoundLevee:
    river: int
    levee: Levee
    cells: np.ndarray
    breach_cells: np.ndarray
    ground: np.ndarray  # bed of the breach cells at its end (m)
    start: float | None


class RiverFloodModel(FloodModel):
    """:class:`~twin.flood.model.FloodModel` with the forcing's rivers, levees and breaches.

    Built like the base model (``twin.flood.build.flood_model`` builds this one when the
    forcing has rivers). Levees are burnt into the terrain before the base model sees it;
    channel depths are reset to the stage and breach crests lowered before every sub-step
    (see the module docstring).

    Raises
    ------
    UserInputError
        A river or levee point outside the terrain (names the field), a channel wholly on
        buildings, sea or outside ``flood.area``, a river whose stage never rises above its
        channel's lowest bed (the map has no river there), a breach point farther than
        its width from its levee.
    """

    def __init__(self, elevation: np.ndarray, resolution: float, forcing=None, config=None,
                 **kwargs) -> None:  # fmt: skip
        rivers = tuple(forcing.rivers) if forcing is not None else ()
        z = np.array(elevation, dtype=np.float64)
        ny, nx = z.shape
        y0 = kwargs.get("y0")
        spec = GridSpec(
            (ny, nx), float(resolution), float(kwargs.get("x0", 0.0)),
            float(ny * resolution if y0 is None else y0), kwargs.get("crs"),
        )  # fmt: skip
        channels, levees = [], []
        for r, river in enumerate(rivers):
            ch = band_cells(
                spec, river.points, river.crs, river.width / 2, what=f"{river.name}.line"
            )
            channels.append(ch)
            for k, levee in enumerate(river.levees):
                levees.append(self._bind_levee(spec, z, r, k, river, levee))
        ground = z.copy()
        for lv in levees:
            flat = z.reshape(-1)
            flat[lv.cells] = np.maximum(flat[lv.cells], lv.levee.crest)
        super().__init__(z, resolution, forcing, config, **kwargs)
        self.ground = ground
        self._rivers = rivers
        self._channels = []
        for river, ch in zip(rivers, channels, strict=True):
            ok = ch[self.kind.reshape(-1)[ch] == LAND]
            if ok.size == 0:
                raise UserInputError(
                    Problem(
                        "the river's channel lies wholly on buildings, sea or outside the "
                        "flood area",
                        field=f"{river.name}.line",
                        fix="draw the river where the terrain is land (check [lon, lat] order)",
                    )
                )
            bed = float(self.z.reshape(-1)[ok].min())
            if max(river.levels) <= bed:
                raise UserInputError(
                    Problem(
                        f"the map has no river here: the stage (at most {max(river.levels):g} "
                        f"m) never rises above the channel's lowest bed ({bed:g} m) along "
                        "the line",
                        field=f"{river.name}.stage",
                        fix="check the stage's datum (terrain metres) and the river line, "
                        "or use a map with this river",
                    )
                )
            self._channels.append(ok)
        self._levees = levees
        self._apply_river(self.t)
        self._totals["inflow"] = 0.0  # the channel's first fill is initial water
        self._initial = self.stored_volume()
        self.balance = [self.volume_balance()]

    @staticmethod
    def _bind_levee(spec, z, r: int, k: int, river: River, levee: Levee) -> _BoundLevee:
        what = f"{river.name}.levees.{k}"
        cells = wall_cells(spec, levee.points, river.crs, what=f"{what}.line")
        b = levee.breach
        if b is None:
            return _BoundLevee(r, levee, cells, cells[:0], np.zeros(0), None)
        pt = spec.to_grid_xy([b.location], river.crs, what=f"{what}.breach.location")[0]
        nx, dx = spec.shape[1], spec.resolution
        cx = spec.x0 + (cells % nx + 0.5) * dx
        cy = spec.y0 - (cells // nx + 0.5) * dx
        dist = np.hypot(cx - pt[0], cy - pt[1])
        if dist.min() > max(b.width, dx):
            raise UserInputError(
                Problem(
                    f"the breach point is {dist.min():.0f} m from its levee",
                    field=f"{what}.breach.location",
                    fix="put the breach on the levee line",
                )
            )
        inside = cells[dist <= max(b.width / 2, 0.5 * dx)]
        floor = z.reshape(-1)[inside] if b.bottom is None else np.full(inside.size, b.bottom)
        return _BoundLevee(r, levee, cells, inside, floor, river.breach_time(levee))

    def _apply_river(self, t: float) -> None:
        """Breach crests at ``t`` and channel depths reset to the stage (booked as inflow)."""
        z, h = self.z.reshape(-1), self.h.reshape(-1)
        for lv in self._levees:
            if lv.start is None or t <= lv.start:
                continue
            b = lv.levee.breach
            frac = 1.0 if b.growth <= 0 else min((t - lv.start) / b.growth, 1.0)
            crest = lv.levee.crest + (lv.ground - lv.levee.crest) * frac
            z[lv.breach_cells] = np.minimum(np.maximum(crest, lv.ground), lv.levee.crest)
        area = self.dx * self.dx
        for river, ch in zip(self._rivers, self._channels, strict=True):
            target = np.maximum(river.stage(t) - z[ch], 0.0)
            self._totals["inflow"] += float((target - h[ch]).sum()) * area
            h[ch] = target
            self._h_max = max(self._h_max, float(target.max(initial=0.0)))

    def _substep(self, dt_limit: float) -> float:
        self._apply_river(self.t)
        return super()._substep(dt_limit)

    def open_breach(
        self,
        location: tuple[float, float],
        width: float,
        *,
        growth: float = 600.0,
        bottom: float | None = None,
        crs: str | None = LONLAT,
        field: str = "breach",
    ) -> OpenedBreach:
        """Open a breach in the nearest levee now; see :func:`open_breach`."""
        return _open_breach(self, location, width, growth, bottom, crs, field)

    def breaches(self) -> list[tuple[float, River, Levee]]:
        """Every breach that starts, as ``(time (s), river, levee)``, in time order."""
        out = [(lv.start, self._rivers[lv.river], lv.levee) for lv in self._levees]
        return sorted((x for x in out if x[0] is not None), key=lambda x: x[0])


@dataclass(frozen=True)
class OpenedBreach:
    """A breach opened while the model runs (:func:`open_breach`).

    Attributes
    ----------
    river
        The river's name (its ``title``).
    levee
        The levee's position in the river's ``levees``.
    start
        When it started (s): the model's time when it was opened.
    bottom
        Crest elevation at the end of its growth (m, terrain datum).
    cells
        Levee cells it lowers.
    distance
        Distance from the given point to the nearest levee cell's centre (m).
    """

    river: str
    levee: int
    start: float
    bottom: float
    cells: int
    distance: float


def open_breach(
    model: FloodModel,
    location: tuple[float, float],
    width: float,
    *,
    growth: float = 600.0,
    bottom: float | None = None,
    crs: str | None = LONLAT,
    field: str = "breach",
) -> OpenedBreach:
    """Open a breach in the nearest levee now (at ``model.t``), as a scenario's breach with
    ``at`` now would: the crest of the levee cells within ``width / 2`` of ``location``
    sinks linearly to ``bottom`` over ``growth`` seconds, from the next sub-step on.

    Parameters
    ----------
    model
        The running flood model (a :class:`RiverFloodModel` with levees).
    location
        ``(x, y)`` of the breach's middle, in ``crs``; within ``max(width, cell size)`` of
        a levee cell's centre.
    width
        Length of levee that fails (m, > 0).
    growth
        Time over which the crest sinks (s, >= 0).
    bottom
        Crest elevation at the end (m, below the levee's crest). Default: the lowest
        ground within ``width`` (at least two cells) of the breach point that is neither
        levee nor channel: the gap scours down to the land beside it. (A scenario's breach
        defaults to the ground under the levee cells, which on a DEM that already holds the
        levee is the levee itself; a breach opened in a drill has no one to say where it
        bottoms out.)
    crs
        CRS of ``location`` (default lon/lat); ``None`` for grid coordinates.
    field
        Where the arguments are, for errors (``breach.location``, ``breach.width``, ...).

    Returns
    -------
    OpenedBreach
        Which levee, and how deep and wide the gap is.

    Raises
    ------
    UserInputError
        The model has no river with a levee (a map without one), ``location`` is off the
        grid or farther than ``max(width, cell size)`` from every levee, a width or growth
        out of range, a bottom at or above the crest.

    Notes
    -----
    A restored snapshot does not carry an opened breach (only the lowered crest at the
    snapshot's time): open it again on the restored model, as a drill replays its log.
    """
    if not isinstance(model, RiverFloodModel) or not model._levees:
        raise UserInputError(
            Problem(
                "the map has no levee to breach: the scenario has no river hazard with levees",
                field=field,
                fix="breach a levee in a scenario with one (e.g. scenarios/valley_levee.yaml)",
            )
        )
    return model.open_breach(location, width, growth=growth, bottom=bottom, crs=crs, field=field)


def _open_breach(
    m: RiverFloodModel, location, width: float, growth: float, bottom, crs, field: str
) -> OpenedBreach:
    """:meth:`RiverFloodModel.open_breach` (see :func:`open_breach`)."""
    problems = []
    if not (math.isfinite(width) and width > 0):
        problems.append(Problem(f"width {width:g} m must be > 0", field=f"{field}.width"))
    if not (math.isfinite(growth) and growth >= 0):
        problems.append(Problem(f"growth {growth:g} s must be >= 0", field=f"{field}.growth"))
    if problems:
        raise UserInputError(problems)
    spec, dx = m.spec, m.dx
    pt = spec.to_grid_xy([location], crs, what=f"{field}.location")[0]
    *_, inside = spec.cell_of(pt[None, :])
    if not inside[0]:
        raise UserInputError(
            Problem(f"{tuple(location)} lies outside the flood grid ({spec.describe()})",
                    field=f"{field}.location", fix="put the breach on a levee of the map")
        )  # fmt: skip
    seen: dict[int, _BoundLevee] = {}  # one entry per levee (a breached one has two)
    for lv in m._levees:
        seen.setdefault(id(lv.levee.points), lv)
    nx = spec.shape[1]
    best = None
    for lv in seen.values():
        cx = spec.x0 + (lv.cells % nx + 0.5) * dx
        cy = spec.y0 - (lv.cells // nx + 0.5) * dx
        dist = np.hypot(cx - pt[0], cy - pt[1])
        if best is None or dist.min() < best[1].min():
            best = (lv, dist)
    lv, dist = best
    if dist.min() > max(width, dx):
        raise UserInputError(
            Problem(
                f"the breach point is {dist.min():.0f} m from the nearest levee",
                field=f"{field}.location",
                fix="put the breach on a levee line (a levee of "
                f"{m._rivers[lv.river].title!r} passes {dist.min():.0f} m away)",
            )
        )
    cells = lv.cells[dist <= max(width / 2, 0.5 * dx)]
    crest = lv.levee.crest
    if bottom is None:
        bottom = _beside(m, pt, max(width, 2 * dx), cells)
    if not bottom < crest:
        raise UserInputError(
            Problem(f"bottom {bottom:g} m is not below the levee's crest ({crest:g} m)",
                    field=f"{field}.bottom", fix="give a bottom below the crest, or none")
        )  # fmt: skip
    breach = Breach(tuple(map(float, location)), float(width), float(growth), at=float(m.t),
                    bottom=float(bottom))  # fmt: skip
    levee = Levee(lv.levee.points, crest, breach)
    floor = np.full(cells.size, float(bottom))
    m._levees.append(_BoundLevee(lv.river, levee, lv.cells, cells, floor, float(m.t)))
    river = m._rivers[lv.river]
    k = next(i for i, x in enumerate(river.levees) if x is lv.levee)
    return OpenedBreach(river.title, k, float(m.t), float(bottom), int(cells.size),
                        float(dist.min()))  # fmt: skip


def _beside(m: RiverFloodModel, pt: np.ndarray, radius: float, cells: np.ndarray) -> float:
    """Lowest ground (before the levees were burnt in) of the land cells within ``radius``
    (m) of ``pt`` that are neither levee nor channel cells; without any, the lowest ground
    under the breach's ``cells`` (m)."""
    spec, dx = m.spec, m.dx
    ny, nx = spec.shape
    cx = spec.x0 + (np.arange(nx) + 0.5) * dx
    cy = spec.y0 - (np.arange(ny) + 0.5) * dx
    near = (np.hypot(*np.meshgrid(cx - pt[0], cy - pt[1])) <= radius) & (m.kind == LAND)
    flat = near.reshape(-1).copy()
    for lv in m._levees:
        flat[lv.cells] = False
    for ch in m._channels:
        flat[ch] = False
    ground = m.ground.reshape(-1)
    return float(ground[flat].min() if flat.any() else ground[cells].min())
