"""Flood -> roads: water depth along each street, the speed it leaves, and who it closes to.

Three steps, each a plain function of arrays:

1. :func:`sample_links_on_grid` (once per city and flood grid): points along every link's
   *drawn* geometry (:class:`twin.city.links.LinkIndex`, the street as mapped) at most
   ``spacing`` apart, each with the flood-grid cell it lies in. Afterwards reading any
   cell field along every link is one numpy gather and a ``reduceat``
   (:meth:`LinkSampler.link_max`, :meth:`LinkSampler.link_mean`).
2. :func:`pregnolato_speed_factor`: the depth-disruption function of Pregnolato et al.
   (2017) as a share of the link's free speed.
3. :func:`link_state` / :func:`flood_roads`: per link the speed factor and whether it is
   closed to cars and to emergency vehicles (thresholds per plan, with reopening as the
   water recedes); :func:`stranded_on_closing` says which vehicles a closure catches.

References
----------
Pregnolato, M., Ford, A., Wilkinson, S. M., Dawson, R. J. (2017). The impact of flooding on
road transport: a depth-disruption function. *Transportation Research Part D* 55, 67-81.
Their curve (a fit to experimental, video and safety-guidance data) gives the maximum
vehicle speed in standing water of depth ``w`` (mm)::

    v(w) = 0.0009 w^2 - 0.5529 w + 86.9448      (km/h),  0 <= w < 300 mm
    v(w) = 0                                     w >= 300 mm (the road is impassable)

The quadratic has no real root: it falls to its minimum 2.03 km/h at w = 307 mm, so the
zero is the paper's stated cut-off at 300 mm (where the curve reads 2.07 km/h), not a root.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from collections.abc import Sequence

    from affine import Affine

    from twin.city.links import LinkIndex

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Pregnolato et al. (2017) curve coefficients: v = A w^2 + B w + C, w in mm, v in km/h.
PREGNOLATO_A = 0.0009
PREGNOLATO_B = -0.5529
PREGNOLATO_C = 86.9448
#: Depth (m) from which Pregnolato et al. (2017) take a road as impassable (v = 0).
PREGNOLATO_IMPASSABLE = 0.3


# ---------------------------------------------------------------------------- sampling
@dataclass(frozen=True, eq=False)
class LinkSampler:
    """Sample points along every link of a link index, with the grid cell of each.

    Built once by :func:`sample_links_on_grid`. Samples are ordered by link (link 0's
    first), every link has at least one, so per-link reductions are ``reduceat`` over
    ``start``. Shapes: ``L`` links, ``S`` samples.

    Attributes
    ----------
    shape
        ``(ny, nx)`` of the grid the cells index.
    link
        (S,) int64 link of each sample.
    start, count
        (L,) int64 first sample of each link and its number of samples (>= 1).
    cell
        (S,) int64 flat cell index ``row * nx + col`` of each sample; -1 off the grid.
    at
        (S,) float64 where the sample is along its link, as a share of the link's drawn
        length from its tail (0-1; the sample is the centre of its equal piece).
    x, y
        (S,) float64 sample coordinates (m, the grid's CRS).
    length
        (L,) float64 drawn length of each link (m).
    spacing
        Largest distance (m) between neighbouring samples of a link.
    """

    shape: tuple[int, int]
    link: IntArray
    start: IntArray
    count: IntArray
    cell: IntArray
    at: FloatArray
    x: FloatArray
    y: FloatArray
    length: FloatArray
    spacing: float

    @property
    def n_links(self) -> int:
        """Number of links."""
        return int(self.start.size)

    @property
    def n_samples(self) -> int:
        """Number of sample points."""
        return int(self.cell.size)

    @property
    def off_grid(self) -> BoolArray:
        """(S,) bool: samples outside the grid."""
        return self.cell < 0

    def values(self, field: np.ndarray, outside: float = 0.0) -> FloatArray:
        """The cell field at every sample: one gather.

        Parameters
        ----------
        field
            ``(ny, nx)`` values on the grid (e.g. depth, m).
        outside
            Value read by samples off the grid (default 0: no water known there).

        Returns
        -------
        numpy.ndarray
            (S,) float64.
        """
        if np.shape(field) != self.shape:
            raise ValueError(f"field has shape {np.shape(field)}, the sampler's grid {self.shape}")
        flat = np.asarray(field, dtype=np.float64).reshape(-1)
        out = flat[np.maximum(self.cell, 0)]
        if self.n_samples and self.cell.min() < 0:
            out[self.cell < 0] = outside
        return out

    def link_max(self, samples: np.ndarray) -> FloatArray:
        """(L,) largest of per-sample values ``samples`` (S,) on each link."""
        if self.n_links == 0:
            return np.zeros(0)
        return np.maximum.reduceat(np.asarray(samples, dtype=np.float64), self.start)

    def link_min(self, samples: np.ndarray) -> FloatArray:
        """(L,) smallest of per-sample values ``samples`` (S,) on each link."""
        if self.n_links == 0:
            return np.zeros(0)
        return np.minimum.reduceat(np.asarray(samples, dtype=np.float64), self.start)

    def link_mean(self, samples: np.ndarray) -> FloatArray:
        """(L,) mean of per-sample values on each link: the length-weighted mean along its
        drawn geometry (samples stand for equal pieces of their link)."""
        if self.n_links == 0:
            return np.zeros(0)
        return np.add.reduceat(np.asarray(samples, dtype=np.float64), self.start) / self.count

    def sample(self, field: np.ndarray, outside: float = 0.0) -> tuple[FloatArray, FloatArray]:
        """(L,) maximum and mean of a cell field along each link (one gather, two
        ``reduceat``)."""
        values = self.values(field, outside)
        return self.link_max(values), self.link_mean(values)


def sample_links_on_grid(
    links: LinkIndex,
    transform: Affine | Sequence[float],
    shape: tuple[int, int],
    spacing: float | None = None,
) -> LinkSampler:
    """Sample points along every link's drawn geometry and the grid cell of each.

    Each link is cut into ``n = max(1, ceil(length / spacing))`` equal pieces and sampled
    at the centre of each piece, so neighbouring samples are at most ``spacing`` apart
    and each stands for ``length / n`` of the street.

    Parameters
    ----------
    links
        A link index (anything with ``geom_offsets``, ``geom_x``, ``geom_y``: the drawn
        shape of link ``i`` is vertices ``geom_offsets[i]:geom_offsets[i+1]``, m).
    transform
        The grid's affine map from (column, row) of cell corners to (x, y) (m), as
        :attr:`twin.city.terrain.TerrainGrid.transform` or
        :attr:`twin.flood.grid.GridSpec.transform`; or its six numbers ``(a, b, c, d, e, f)``.
    shape
        ``(ny, nx)`` cells of the grid.
    spacing
        Largest distance (m) between samples; default half a cell, so any stretch of a
        street longer than half a cell inside a cell is seen.

    Returns
    -------
    LinkSampler
    """
    a, b, c, d, e, f = (float(v) for v in tuple(transform)[:6])
    det = a * e - b * d
    if det == 0:
        raise ValueError("the grid transform is singular")
    ny, nx = (int(n) for n in shape)
    if spacing is None:
        spacing = 0.5 * math.sqrt(abs(det))
    if not spacing > 0:
        raise ValueError(f"spacing must be > 0 m, got {spacing}")

    offsets = np.asarray(links.geom_offsets, dtype=np.int64)
    gx = np.asarray(links.geom_x, dtype=np.float64)
    gy = np.asarray(links.geom_y, dtype=np.float64)
    n_links = offsets.size - 1
    first, last = offsets[:-1], offsets[1:] - 1  # first and last vertex of each link
    if n_links and np.any(last < first):
        raise ValueError("every link needs at least one vertex in its drawn geometry")

    # length of the segment from vertex j to j + 1 (0 across link boundaries)
    seg = np.hypot(np.diff(gx), np.diff(gy)) if gx.size > 1 else np.zeros(0)
    if seg.size:
        seg[last[:-1]] = 0.0  # the segment from a link's last vertex to the next link's first
    cum = np.concatenate([[0.0], np.cumsum(seg)])  # arc length at each vertex, all links
    length = cum[last] - cum[first]

    count = np.maximum(1, np.ceil(length / spacing)).astype(np.int64)
    start = (np.cumsum(count) - count).astype(np.int64)
    link = np.repeat(np.arange(n_links, dtype=np.int64), count)
    k = np.arange(link.size) - start[link]
    at = (k + 0.5) / count[link]
    arc = cum[first[link]] + at * length[link]  # on the global arc-length axis

    # the segment holding each sample: last vertex of its link at or before the position
    j = np.searchsorted(cum, arc, side="right") - 1
    j = np.maximum(np.minimum(j, last[link] - 1), first[link])
    j1 = np.minimum(j + 1, last[link])
    seg_len = cum[j1] - cum[j]
    t = np.divide(arc - cum[j], seg_len, out=np.zeros_like(arc), where=seg_len > 0)
    t = np.clip(t, 0.0, 1.0)
    x = gx[j] + t * (gx[j1] - gx[j])
    y = gy[j] + t * (gy[j1] - gy[j])

    # (x, y) -> (col, row) by the inverse affine map
    col = (e * (x - c) - b * (y - f)) / det
    row = (-d * (x - c) + a * (y - f)) / det
    ci, ri = np.floor(col).astype(np.int64), np.floor(row).astype(np.int64)
    inside = (ci >= 0) & (ci < nx) & (ri >= 0) & (ri < ny)
    cell = np.where(inside, ri * nx + ci, -1).astype(np.int64)
    return LinkSampler(
        (ny, nx), link, start, count, cell, at, x, y, length.astype(np.float64), float(spacing)
    )


# ---------------------------------------------------------------------- speed and closure
def pregnolato_speed(depth: np.ndarray | float, impassable: float = PREGNOLATO_IMPASSABLE):
    """Largest safe vehicle speed in standing water (km/h), Pregnolato et al. (2017).

    Parameters
    ----------
    depth
        Water depth on the road (m), any shape; depths <= 0 read as dry.
    impassable
        Depth (m) from which the speed is 0 (the paper: 0.3 m); ``inf`` for the bare
        quadratic.

    Returns
    -------
    numpy.ndarray
        Speeds (km/h): ``0.0009 w^2 - 0.5529 w + 86.9448`` with ``w`` the depth in mm
        below ``impassable``, 0 at and beyond it.
    """
    w = np.maximum(np.asarray(depth, dtype=np.float64), 0.0) * 1000.0
    v = (PREGNOLATO_A * w + PREGNOLATO_B) * w + PREGNOLATO_C
    return np.where(w >= impassable * 1000.0, 0.0, v)


def pregnolato_speed_factor(
    depth: np.ndarray | float, impassable: float = PREGNOLATO_IMPASSABLE
) -> FloatArray:
    """Share of a link's free speed left by water of a depth (0-1).

    Normalisation: ``min(1, v(d) / v(0))`` with ``v`` the curve of
    :func:`pregnolato_speed` and ``v(0) = 86.9448 km/h``. The curve is the *largest* speed
    water allows, so it scales the link's own free speed (a 30 km/h street in 0.1 m of
    water: 30 x 40.65 / 86.94 = 14.0 km/h), rather than capping the speed at ``v(d)``
    itself; 1 on dry links, 0 at and beyond ``impassable`` (m).
    """
    return np.minimum(1.0, pregnolato_speed(depth, impassable) / PREGNOLATO_C)


@dataclass(frozen=True)
class RoadThresholds:
    """When water closes a road, per vehicle class (the plan sets them).

    Attributes
    ----------
    cars
        Depth (m) from which a link is closed to cars (default 0.3 m, where Pregnolato et
        al. 2017 take roads as impassable).
    emergency
        Depth (m) from which a link is closed to emergency vehicles (default 0.6 m; fire
        engines and high-clearance vehicles wade deeper than cars).
    hysteresis
        A closed link reopens only once its depth is below ``threshold - hysteresis`` (m);
        0 (default): it reopens as soon as the water is below the threshold.
    """

    cars: float = 0.3
    emergency: float = 0.6
    hysteresis: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.cars <= self.emergency:
            raise ValueError(
                f"need 0 < cars <= emergency closure depths, got {self.cars}, {self.emergency}"
            )
        if not 0 <= self.hysteresis < self.cars:
            raise ValueError(f"need 0 <= hysteresis < cars ({self.cars} m), got {self.hysteresis}")


@dataclass(frozen=True, eq=False)
class LinkState:
    """What the water does to each link now (arrays over the links, in index order).

    Attributes
    ----------
    depth
        (L,) deepest water on the link (m), the depth that decides closure.
    speed_factor
        (L,) share of free speed for cars (0-1; 0 where closed to cars).
    emergency_speed_factor
        (L,) share of free speed for emergency vehicles (0-1; 0 where closed to them).
    closed_cars, closed_emergency
        (L,) bool: closed to cars; closed to emergency vehicles.
    wet_from, wet_to
        (L,) where along the link the water that closes it to cars begins and ends, as
        shares of its length from the tail (0-1; NaN where it is open to cars); the whole
        link (0, 1) when the position is not known (:func:`link_state` from per-link depths).
    """

    depth: FloatArray
    speed_factor: FloatArray
    emergency_speed_factor: FloatArray
    closed_cars: BoolArray
    closed_emergency: BoolArray
    wet_from: FloatArray
    wet_to: FloatArray


def _closed(depth: FloatArray, threshold: float, hysteresis: float, before) -> BoolArray:
    closed = depth >= threshold
    if before is not None and hysteresis > 0:
        closed |= np.asarray(before, dtype=bool) & (depth >= threshold - hysteresis)
    return closed


def link_state(
    depth: np.ndarray,
    thresholds: RoadThresholds | None = None,
    previous: LinkState | None = None,
    *,
    open_factor: np.ndarray | None = None,
) -> LinkState:
    """Speed factors and closures of links from the water depth on each.

    Parameters
    ----------
    depth
        (L,) water depth on each link (m; its deepest point, :meth:`LinkSampler.link_max`).
    thresholds
        Closure depths per vehicle class and the reopening hysteresis (default
        :class:`RoadThresholds()`).
    previous
        The state at the last exchange (for the hysteresis); None: none closed before.
    open_factor
        (L,) speed factor of the links that stay open, if known from along the link
        (:func:`flood_roads`); default the Pregnolato factor at ``depth``.

    Returns
    -------
    LinkState
        A link open to a vehicle class drives at the Pregnolato factor of its depth, the
        depth taken at most 0.3 m (the curve's range: an emergency vehicle in 0.45 m of
        water, or a car under a plan that closes roads only at 0.4 m, crawls at the curve's
        last value, v(300 mm) / v(0) = 2.07 / 86.94 = 2.4 % of free speed, an assumption
        beyond the paper); a closed one at 0. Links close at ``depth >= threshold`` and
        reopen at ``depth < threshold - hysteresis``.
    """
    th = thresholds if thresholds is not None else RoadThresholds()
    depth = np.maximum(np.asarray(depth, dtype=np.float64), 0.0)
    if open_factor is None:
        open_factor = pregnolato_speed_factor(np.minimum(depth, PREGNOLATO_IMPASSABLE), np.inf)
    before_cars = previous.closed_cars if previous is not None else None
    before_em = previous.closed_emergency if previous is not None else None
    closed_cars = _closed(depth, th.cars, th.hysteresis, before_cars)
    closed_em = _closed(depth, th.emergency, th.hysteresis, before_em)
    factor = np.asarray(open_factor, dtype=np.float64)
    return LinkState(
        depth=depth,
        speed_factor=np.where(closed_cars, 0.0, factor),
        emergency_speed_factor=np.where(closed_em, 0.0, factor),
        closed_cars=closed_cars,
        closed_emergency=closed_em,
        wet_from=np.where(closed_cars, 0.0, np.nan),
        wet_to=np.where(closed_cars, 1.0, np.nan),
    )


def flood_roads(
    sampler: LinkSampler,
    depth_grid: np.ndarray,
    thresholds: RoadThresholds | None = None,
    previous: LinkState | None = None,
) -> LinkState:
    """The flood's effect on every drive link: one gather of the depth grid, then
    :func:`link_state` on each link's deepest point.

    The speed factor of an open link is the harmonic mean of the Pregnolato factors of its
    samples (each stands for an equal piece): the share of free speed that gives the
    link's travel time when each piece is driven at its own depth's speed,
    ``L / sum(l_i / (f_i v))``. ``wet_from``/``wet_to`` bound the pieces at or above the
    car threshold on links closed to cars.

    Parameters
    ----------
    sampler
        From :func:`sample_links_on_grid` on the drive link index and the flood grid.
    depth_grid
        ``(ny, nx)`` water depth (m), e.g. ``FloodModel.h``.
    thresholds, previous
        As :func:`link_state`.
    """
    th = thresholds if thresholds is not None else RoadThresholds()
    depth = np.maximum(sampler.values(depth_grid), 0.0)
    piece = pregnolato_speed_factor(np.minimum(depth, PREGNOLATO_IMPASSABLE), np.inf)
    open_factor = np.zeros(sampler.n_links)
    if sampler.n_links:
        open_factor = sampler.count / np.add.reduceat(1.0 / piece, sampler.start)
    state = link_state(sampler.link_max(depth), th, previous, open_factor=open_factor)
    if sampler.n_links:
        half = 0.5 / sampler.count[sampler.link]
        deep = depth >= th.cars
        wet_from = sampler.link_min(np.where(deep, sampler.at - half, np.inf))
        wet_to = sampler.link_max(np.where(deep, sampler.at + half, -np.inf))
        # closed by hysteresis with no piece above the threshold: position unknown
        unknown = state.closed_cars & ~np.isfinite(wet_from)
        wet_from = np.where(unknown, 0.0, wet_from)
        wet_to = np.where(unknown, 1.0, wet_to)
        keep = state.closed_cars
        state = replace(
            state,
            wet_from=np.where(keep, np.clip(wet_from, 0.0, 1.0), np.nan),
            wet_to=np.where(keep, np.clip(wet_to, 0.0, 1.0), np.nan),
        )
    return state


def newly_closed(closed_now: np.ndarray, closed_before: np.ndarray | None) -> BoolArray:
    """(L,) bool: links closed now that were open at the last exchange."""
    now = np.asarray(closed_now, dtype=bool)
    if closed_before is None:
        return now.copy()
    return now & ~np.asarray(closed_before, dtype=bool)


def stranded_on_closing(
    vehicle_link: np.ndarray,
    closed_now: np.ndarray,
    closed_before: np.ndarray | None = None,
    *,
    vehicle_at: np.ndarray | None = None,
    wet_from: np.ndarray | None = None,
    wet_to: np.ndarray | None = None,
) -> BoolArray:
    """Which vehicles a closure to cars strands: those on a link that has just closed.

    Parameters
    ----------
    vehicle_link
        (V,) link each vehicle is on (-1: not on a link: waiting, arrived, gone).
    closed_now, closed_before
        (L,) bool closed to cars now and at the last exchange (None: none was closed).
    vehicle_at
        (V,) where each vehicle is on its link (share of the length from the tail, 0-1);
        with ``wet_from``/``wet_to`` (:attr:`LinkState.wet_from`), only the vehicles
        inside the closing water are stranded: those before it can stop and turn back,
        those past it drive out. Omitted: every vehicle on a newly closed link.

    Returns
    -------
    numpy.ndarray
        (V,) bool.
    """
    link = np.asarray(vehicle_link, dtype=np.int64)
    newly = newly_closed(closed_now, closed_before)
    on = link >= 0
    out = np.zeros(link.size, dtype=bool)
    out[on] = newly[link[on]]
    if vehicle_at is not None:
        if wet_from is None or wet_to is None:
            raise ValueError("vehicle_at needs wet_from and wet_to")
        at = np.asarray(vehicle_at, dtype=np.float64)
        lo = np.asarray(wet_from, dtype=np.float64)[np.maximum(link, 0)]
        hi = np.asarray(wet_to, dtype=np.float64)[np.maximum(link, 0)]
        out &= (at >= lo) & (at <= hi)
    return out
