"""Where things lie on the flood grid: cells of points and lines, zones, sea, buildings, memory.

The flood grid is a regular raster of square cells of side ``resolution`` (m), ``ny`` rows
by ``nx`` columns; row 0 is the northern edge, ``(x0, y0)`` is the north-west corner
in a projected CRS (metres). Cell ``(r, c)`` has its centre at
``(x0 + (c + 0.5) * dx, y0 - (r + 0.5) * dx)``.
"""

from __future__ import annotations

import heapq
import itertools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numba as nb
import numpy as np

from twin.errors import Problem, UserInputError

#: Bytes per cell of a flood run at its peak (see :func:`state_bytes`).
BYTES_PER_CELL = 8 * 27


@dataclass(frozen=True)
class GridSpec:
    """Geometry of the flood grid.

    Attributes
    ----------
    shape
        ``(ny, nx)`` cells.
    resolution
        Cell side (m).
    x0, y0
        Projected coordinates (m) of the north-west corner.
    crs
        The projected CRS (``"EPSG:32632"``), or ``None`` for a synthetic grid in metres.
    """

    shape: tuple[int, int]
    resolution: float
    x0: float = 0.0
    y0: float = 0.0
    crs: str | None = None

    @classmethod
    def from_terrain(cls, terrain) -> GridSpec:
        """The grid of a :class:`~twin.city.terrain.TerrainGrid`."""
        ny, nx = terrain.elevation.shape
        return cls((ny, nx), float(terrain.resolution), terrain.x0, terrain.y0, terrain.crs)

    @property
    def transform(self):
        """The rasterio ``Affine`` from (col, row) to (x, y)."""
        from rasterio.transform import from_origin

        return from_origin(self.x0, self.y0, self.resolution, self.resolution)

    def to_grid_xy(self, points: Sequence[tuple[float, float]], crs: str | None, *, what: str):
        """Points ``[(x, y), ...]`` given in ``crs`` as grid coordinates, an ``(n, 2)`` array."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if crs is None or (self.crs is not None and _same_crs(crs, self.crs)):
            return pts
        if self.crs is None:
            raise UserInputError(
                Problem(
                    f"is given in {crs} but the flood grid has no CRS",
                    field=what,
                    fix="give grid coordinates (crs=None) or a grid with a CRS",
                )
            )
        from pyproj import Transformer

        tr = Transformer.from_crs(crs, self.crs, always_xy=True)
        x, y = tr.transform(pts[:, 0], pts[:, 1])
        return np.column_stack([x, y])

    def cell_of(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows, columns and an inside-the-grid flag of grid coordinates ``(n, 2)``.

        A point on the grid's outer edge is inside (in the cell along that edge); rows and
        columns of points outside are clipped to the grid."""
        ny, nx = self.shape
        fx = (xy[:, 0] - self.x0) / self.resolution
        fy = (self.y0 - xy[:, 1]) / self.resolution
        inside = (fx >= 0) & (fx <= nx) & (fy >= 0) & (fy <= ny)  # the edges count as inside
        col = np.clip(np.floor(fx), 0, nx - 1).astype(np.int64)
        row = np.clip(np.floor(fy), 0, ny - 1).astype(np.int64)
        return row, col, inside

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """``x`` of each column's centre ``(nx,)`` and ``y`` of each row's centre ``(ny,)`` (m)."""
        ny, nx = self.shape
        dx = self.resolution
        return self.x0 + (np.arange(nx) + 0.5) * dx, self.y0 - (np.arange(ny) + 0.5) * dx

    def cell_lonlat(self, row: int, col: int) -> tuple[float, float] | None:
        """Longitude and latitude of a cell's centre, or ``None`` on a grid without a CRS."""
        if self.crs is None:
            return None
        from pyproj import Transformer

        xs, ys = self.cell_centres()
        tr = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        lon, lat = tr.transform(float(xs[col]), float(ys[row]))
        return float(lon), float(lat)

    def describe(self) -> str:
        """Extent in words, for messages."""
        ny, nx = self.shape
        dx = self.resolution
        return (
            f"x {self.x0:.0f}..{self.x0 + nx * dx:.0f}, y {self.y0 - ny * dx:.0f}..{self.y0:.0f}"
            f" ({self.crs or 'grid metres'})"
        )


def _same_crs(a: str, b: str) -> bool:
    if a == b:
        return True
    from pyproj import CRS

    return CRS.from_user_input(a) == CRS.from_user_input(b)


def cells_at(
    spec: GridSpec, points, crs: str | None, *, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Cells ``(rows, cols)`` holding each point; a point outside the grid is an error."""
    xy = spec.to_grid_xy(points, crs, what=what)
    row, col, inside = spec.cell_of(xy)
    if not np.all(inside):
        k = int(np.flatnonzero(~inside)[0])
        px, py = (float(v) for v in np.asarray(points, dtype=float).reshape(-1, 2)[k])
        raise UserInputError(
            Problem(
                f"point ({px:.6g}, {py:.6g}) lies outside the flood grid ({spec.describe()})",
                field=what,
                fix="move it inside the map or enlarge the map's area",
            )
        )
    return row, col


def line_cells(spec: GridSpec, points, crs: str | None, *, what: str):
    """Cells crossed by a polyline and the share of its length in each.

    Returns
    -------
    flat : ndarray of int64
        Flat cell indices ``row * nx + col``, unique.
    share : ndarray of float64
        Fraction of the line's length in each cell (sums to 1). A single point gets
        share 1 in its cell.
    """
    xy = spec.to_grid_xy(points, crs, what=what)
    cells_at(spec, xy, None, what=what)  # every vertex inside (segments then are too)
    nx = spec.shape[1]
    if len(xy) == 1:
        row, col, _ = spec.cell_of(xy)
        return row * nx + col, np.ones(1)
    samples, weights = [], []
    for a, b in itertools.pairwise(xy):
        length = float(np.hypot(*(b - a)))
        n = max(1, int(np.ceil(length / (spec.resolution / 8))))
        s = (np.arange(n) + 0.5) / n
        samples.append(a + s[:, None] * (b - a))
        weights.append(np.full(n, length / n))
    pts = np.concatenate(samples)
    w = np.concatenate(weights)
    row, col, _ = spec.cell_of(pts)
    flat, inverse = np.unique(row * nx + col, return_inverse=True)
    share = np.bincount(inverse, weights=w)
    if share.sum() <= 0:  # a degenerate line: all vertices on one spot
        share = np.ones_like(share)
    return flat, share / share.sum()


def zone_mask(spec: GridSpec, polygon, crs: str | None, *, what: str) -> np.ndarray:
    """Cells ``(ny, nx)`` whose centre lies inside a polygon given in ``crs``."""
    import shapely

    xy = spec.to_grid_xy(polygon, crs, what=what)
    poly = shapely.Polygon(xy)
    if not poly.is_valid:
        poly = shapely.make_valid(poly)
    xs, ys = spec.cell_centres()
    gx, gy = np.meshgrid(xs, ys)
    mask = shapely.contains_xy(poly, gx, gy)
    if not mask.any():
        raise UserInputError(
            Problem(
                f"the zone covers no cell of the flood grid ({spec.describe()})",
                field=what,
                fix="check the zone's coordinates (lon, lat order) and the map's area",
            )
        )
    return mask


def sea_mask(elevation: np.ndarray, sea_elevation: float = 0.0) -> np.ndarray:
    """Sea cells: at or below ``sea_elevation`` (m) and connected (4-neighbour) to an edge.

    Low ground inland (a harbour basin cut off from the edge, an underpass) is not sea.
    """
    from scipy import ndimage

    low = np.asarray(elevation) <= sea_elevation
    if not low.any():
        return low
    labels, _ = ndimage.label(low)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    border = border[border > 0]
    return np.isin(labels, border)


@dataclass(frozen=True)
class BuildingRaster:
    """Building footprints on the flood grid.

    Attributes
    ----------
    mask
        ``(ny, nx)`` bool: a building covers the cell's centre.
    height
        ``(ny, nx)`` float32: building height (m) there, 0 elsewhere.
    """

    mask: np.ndarray
    height: np.ndarray


def rasterize_buildings(
    spec: GridSpec, geometries: Iterable, heights: Iterable[float]
) -> BuildingRaster:
    """Burn building footprints (shapely polygons in the grid's CRS) into the grid.

    A cell belongs to a building when its centre lies inside the footprint; where two
    overlap the taller wins.
    """
    from rasterio.features import rasterize

    pairs = [(g, float(h)) for g, h in zip(geometries, heights, strict=True) if g is not None]
    if not pairs:
        return BuildingRaster(np.zeros(spec.shape, bool), np.zeros(spec.shape, np.float32))
    pairs.sort(key=lambda p: p[1])  # later shapes overwrite: tallest last
    height = rasterize(
        ((g, max(h, 0.1)) for g, h in pairs),
        out_shape=spec.shape,
        transform=spec.transform,
        fill=0.0,
        dtype="float32",
    )
    return BuildingRaster(height > 0, height)


def state_bytes(shape: tuple[int, int]) -> int:
    """Memory (bytes) a flood run needs at its peak for a grid of ``shape`` (+10 %).

    The model's state (float64: elevation, depth, two discharge buffers per direction,
    friction per face, limiter ratio, rain intensity, maximum depth, time of first
    wetting; int64: limiter counters; uint8: cell and face kinds, rain zones) plus its
    inputs (roughness and building rasters) and the peak of writing a snapshot (velocity,
    speed, masked float32 copies): 216 bytes a cell, 238 with the margin. Measured peak
    of 1,000 x 1,000 cells with snapshots, inputs included: 168 bytes a cell once the
    libraries are loaded (tests/unit/test_flood_model.py), ~200 with their first load.
    Before issue 11 the estimate left the inputs and snapshots out (145 bytes a cell),
    and Monaco at 0.5 m passed it and grew to 7.4 GB.
    """
    ny, nx = shape
    return int(1.1 * (ny + 1) * (nx + 1) * BYTES_PER_CELL)


def available_memory() -> int:
    """Memory (bytes) the system can give now: ``MemAvailable``, else physical memory."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic systems
        return 8 * 1024**3


def check_memory(shape: tuple[int, int], resolution: float, limit: int | None) -> int:
    """Raise before allocating if the state of a ``shape`` grid would not fit.

    ``limit`` defaults to half of :func:`available_memory`. Returns the estimate (bytes).
    """
    need = state_bytes(shape)
    cap = limit if limit is not None else available_memory() // 2
    if need > cap:
        ny, nx = shape
        factor = int(np.ceil(np.sqrt(need / cap)))
        raise UserInputError(
            Problem(
                f"the flood grid of {ny} x {nx} cells at {resolution:g} m would need about "
                f"{need / 1e9:.1f} GB of memory, more than the {cap / 1e9:.1f} GB allowed",
                field="flood grid",
                fix=f"use a resolution of {resolution * factor:g} m or coarser, or a smaller area",
            )
        )
    return need


@dataclass(frozen=True)
class Pit:
    """A closed hollow of the terrain: water that runs in stays until it fills.

    Attributes
    ----------
    depth
        Depth (m) of its deepest cell below the level at which it spills.
    volume
        Water (m3) it holds when full.
    cells
        Number of cells it covers when full.
    row, col
        Its deepest cell.
    """

    depth: float
    volume: float
    cells: int
    row: int
    col: int


def find_pits(
    elevation: np.ndarray,
    resolution: float,
    *,
    blocked: np.ndarray | None = None,
    sea: np.ndarray | None = None,
    min_depth: float = 1.0,
) -> list[Pit]:
    """Closed hollows deeper than ``min_depth`` (m), deepest first.

    The terrain is filled from its outlets (the map's edge and the sea) by a priority
    flood (Barnes et al. 2014): every cell rises to the lowest level at which water can
    leave it; a hollow is a connected set of cells raised by more than 1 cm. ``blocked``
    cells (buildings, cells outside the flood's area) are walls. On real DEMs deep pits
    are often artefacts (a bridge or an underpass burnt in as a dam): a flood fills them
    before any water runs on, so they are worth a look.
    """
    from scipy import ndimage

    z = np.asarray(elevation, dtype=np.float64)
    ny, nx = z.shape
    passable = np.ones((ny, nx), bool) if blocked is None else ~np.asarray(blocked, bool)
    outlet = np.zeros((ny, nx), bool)
    outlet[0, :] = outlet[-1, :] = outlet[:, 0] = outlet[:, -1] = True
    if sea is not None:
        outlet |= np.asarray(sea, bool)
    filled = _priority_flood(z, passable, outlet & passable)
    raised = np.where(np.isfinite(filled), filled - z, 0.0)
    labels, n = ndimage.label(raised > 0.01)
    if n == 0:
        return []
    index = np.arange(1, n + 1)
    depth = ndimage.maximum(raised, labels, index)
    volume = ndimage.sum(raised, labels, index) * resolution**2
    cells = ndimage.sum(np.ones_like(raised), labels, index)
    deepest = ndimage.maximum_position(raised, labels, index)
    pits = [
        Pit(float(d), float(v), int(c), int(p[0]), int(p[1]))
        for d, v, c, p in zip(depth, volume, cells, deepest, strict=True)
        if d > min_depth
    ]
    return sorted(pits, key=lambda p: -p.depth)


@nb.njit(cache=True)
def _priority_flood(z, passable, outlet):
    """Lowest spill level (m) of every passable cell (+inf where no outlet is reachable):
    cells leave a min-heap keyed by level, from the outlets inwards, and raise each
    unvisited passable neighbour to at least their own level."""
    ny, nx = z.shape
    filled = np.full((ny, nx), np.inf)
    heap = [(0.0, 0)]
    heap.pop()
    for r in range(ny):
        for c in range(nx):
            if outlet[r, c]:
                filled[r, c] = z[r, c]
                heapq.heappush(heap, (z[r, c], r * nx + c))
    while len(heap) > 0:
        level, k = heapq.heappop(heap)
        r, c = k // nx, k % nx
        for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            rr, cc = r + dr, c + dc
            inside = 0 <= rr < ny and 0 <= cc < nx
            if inside and passable[rr, cc] and filled[rr, cc] == np.inf:
                filled[rr, cc] = max(z[rr, cc], level)
                heapq.heappush(heap, (filled[rr, cc], rr * nx + cc))
    return filled
