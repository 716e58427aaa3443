"""Terrain grid: read DEM tiles, mosaic them and resample them onto a regular metric grid."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyproj
import rasterio
import rasterio.fill
import rasterio.merge
import rasterio.warp
import shapely
from affine import Affine
from rasterio.errors import RasterioError
from rasterio.io import DatasetReader
from scipy import ndimage
from shapely.geometry import Polygon, box
from shapely.ops import unary_union

from twin.errors import MapDataError, Problem

#: Largest elevation grid (bytes of float32) that :func:`load_terrain` will allocate.
MAX_GRID_BYTES = 4 * 2**30
#: Vertical datum of SRTM heights.
SRTM_DATUM = "EGM96 geoid (SRTM)"
_SRTM_SIZES = (1201 * 1201 * 2, 3601 * 3601 * 2)  # bytes of 3 and 1 arc-second tiles
_SRTM_NAME = re.compile(r"[NS]\d{2}[EW]\d{3}", re.IGNORECASE)
_FILL_SEARCH_CELLS = 100.0  # inverse-distance void filling reach; farther voids take the nearest


@dataclass(frozen=True, eq=False)
class TerrainGrid:
    """Ground elevation on a regular north-up grid of square cells in a projected CRS.

    Parameters
    ----------
    elevation
        (ny, nx) float32, metres above ``datum``; row 0 is the north edge, column 0 the west
        edge; finite everywhere. Kept as given (no copy) when already float32.
    x0
        x of the west edge of the grid, metres in ``crs``.
    y0
        y of the north edge of the grid, metres in ``crs``.
    resolution
        Cell size, metres.
    crs
        Horizontal CRS, e.g. ``"EPSG:32632"``.
    datum
        Vertical datum in words.
    source
        What the grid was built from (file names), for summaries.
    voids_filled
        Number of cells that had no valid DEM value and were filled from their neighbours.
    """

    elevation: np.ndarray = field(repr=False)
    x0: float
    y0: float
    resolution: float
    crs: str
    datum: str
    source: str
    voids_filled: int = 0

    def __post_init__(self) -> None:
        elevation = np.asarray(self.elevation, dtype=np.float32)  # no copy if already float32
        if elevation.ndim != 2 or elevation.size == 0:
            raise ValueError(f"elevation must be a non-empty 2-D array, got {elevation.shape}")
        if not np.isfinite(elevation.sum(dtype=np.float64)):  # one pass, no temporary array
            raise ValueError("elevation must be finite everywhere (no NaN or inf)")
        if not self.resolution > 0:
            raise ValueError(f"resolution must be > 0 m, got {self.resolution}")
        object.__setattr__(self, "elevation", elevation)

    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx): number of rows (south-going) and columns (east-going)."""
        ny, nx = self.elevation.shape
        return ny, nx

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the grid's outer cell edges, metres in ``crs``."""
        ny, nx = self.shape
        res = self.resolution
        return (self.x0, self.y0 - ny * res, self.x0 + nx * res, self.y0)

    @property
    def transform(self) -> Affine:
        """Affine map from (column, row) to (x, y) of cell corners, as rasterio uses."""
        return Affine(self.resolution, 0.0, self.x0, 0.0, -self.resolution, self.y0)

    @property
    def is_flat(self) -> bool:
        """True when every cell has the same elevation."""
        return bool(self.elevation.min() == self.elevation.max())

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre coordinates, metres in ``crs``.

        Returns
        -------
        x, y
            1-D float64 arrays of length nx (west to east) and ny (north to south).
        """
        ny, nx = self.shape
        x = self.x0 + (np.arange(nx) + 0.5) * self.resolution
        y = self.y0 - (np.arange(ny) + 0.5) * self.resolution
        return x, y

    def sample(self, x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
        """Elevation at points by bilinear interpolation between cell centres.

        Parameters
        ----------
        x, y
            Point coordinates, metres in ``crs``; any broadcastable shapes.

        Returns
        -------
        numpy.ndarray
            float64 elevations (m) of the broadcast shape. Points beyond the outermost cell
            centres are clamped onto them: outside the grid the nearest edge value is returned.
        """
        x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        ny, nx = self.shape
        col = np.clip((x - self.x0) / self.resolution - 0.5, 0.0, nx - 1)
        row = np.clip((self.y0 - y) / self.resolution - 0.5, 0.0, ny - 1)
        c0 = np.minimum(col.astype(np.intp), max(nx - 2, 0))  # col >= 0: truncation is floor
        r0 = np.minimum(row.astype(np.intp), max(ny - 2, 0))
        c1, r1 = np.minimum(c0 + 1, nx - 1), np.minimum(r0 + 1, ny - 1)
        fc, fr, z = col - c0, row - r0, self.elevation
        top = z[r0, c0] * (1.0 - fc) + z[r0, c1] * fc
        bottom = z[r1, c0] * (1.0 - fc) + z[r1, c1] * fc
        return top * (1.0 - fr) + bottom * fr


def flat_terrain(
    bounds: tuple[float, float, float, float],
    crs: str,
    *,
    resolution: float = 10.0,
    elevation: float = 0.0,
    datum: str = "flat, no DEM: elevation stated as 0 m",
) -> TerrainGrid:
    """A grid of one constant elevation, for cities without a DEM.

    Parameters
    ----------
    bounds
        (xmin, ymin, xmax, ymax), metres in ``crs``; the grid snaps outward to whole cells.
    crs
        Projected CRS with metre units, e.g. ``"EPSG:32632"``.
    resolution
        Cell size, metres.
    elevation
        The elevation of every cell, metres.
    datum
        Vertical datum in words, stating where the elevation comes from.
    """
    _check_target_crs(crs)
    x0, y0, nx, ny = _grid_for(bounds, resolution)
    grid = np.full((ny, nx), elevation, dtype=np.float32)
    return TerrainGrid(grid, x0, y0, float(resolution), crs, datum, "flat")


def load_terrain(
    dem_paths: Sequence[str | Path],
    bounds: tuple[float, float, float, float],
    crs: str,
    *,
    resolution: float = 10.0,
    datum: str | None = None,
) -> TerrainGrid:
    """Build a terrain grid from DEM files (SRTM .hgt, GeoTIFF, ESRI ASCII grid, ...).

    Tiles sharing a CRS are mosaicked on their own pixel lattice first (where they overlap
    the finest wins, then the first listed), then resampled once onto the grid with bilinear
    interpolation; groups of tiles in different CRSs fill each other's gaps in turn.
    A cell is a void when the DEM pixel under its centre is nodata (next to voids, bilinear
    weights only the valid pixels), or when it lies in the outward snapping margin beyond the
    DEM's edge. Voids are filled by inverse-distance interpolation from valid cells within
    100 cells, farther ones with the nearest valid value, and counted in ``voids_filled``.
    SRTM sea (0 m) is data, not a void.

    Parameters
    ----------
    dem_paths
        DEM files; together they must cover ``bounds``.
    bounds
        (xmin, ymin, xmax, ymax), metres in ``crs``; the grid snaps outward to whole cells
        (edges on multiples of ``resolution``).
    crs
        Projected CRS with metre units for the grid, e.g. ``"EPSG:32632"`` (UTM 32N).
    resolution
        Cell size, metres.
    datum
        Vertical datum in words; default: EGM96 for SRTM, otherwise what the file states.

    Raises
    ------
    MapDataError
        A file is missing or unreadable, the files do not cover ``bounds``, or the grid
        would need more than 4 GiB.
    """
    paths = [Path(p) for p in dem_paths]
    if not paths:
        raise _error("no DEM file given", fix="give a DEM or use flat_terrain()")
    _check_target_crs(crs)
    x0, y0, nx, ny = _grid_for(bounds, resolution)
    transform = Affine(resolution, 0.0, x0, 0.0, -resolution, y0)
    with ExitStack() as stack:
        datasets = [_open_dem(p, stack) for p in paths]
        _check_coverage(datasets, paths, bounds, crs)
        grid = _warp_to_grid(datasets, paths, transform, (ny, nx), crs)
        found_datum = datum or _vertical_datum(datasets, paths)
    voids = int(np.isnan(grid).sum())
    if voids == grid.size:
        raise _error(
            "the DEM has only voids (nodata) inside the requested area",
            ", ".join(map(str, paths)),
            "use another DEM source for this area, or flat terrain",
        )
    if voids:
        _fill_voids(grid)
    source = ", ".join(p.name for p in paths)
    return TerrainGrid(grid, x0, y0, float(resolution), crs, found_datum, source, voids)


def srtm_tile_name(lon: float, lat: float) -> str:
    """Name of the SRTM tile holding a point, e.g. ``N43E007.hgt`` (its south-west corner)."""
    lat_i, lon_i = math.floor(lat), math.floor(lon)
    ns, ew = ("N" if lat_i >= 0 else "S"), ("E" if lon_i >= 0 else "W")
    return f"{ns}{abs(lat_i):02d}{ew}{abs(lon_i):03d}.hgt"


def _error(
    message: str, file: Path | str | None = None, fix: str | None = None, field: str | None = None
) -> MapDataError:
    return MapDataError(Problem(message, file=file, field=field, fix=fix))


def _check_target_crs(crs: str) -> None:
    try:
        parsed = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as err:
        raise _error(f"unknown CRS {crs!r}: {err}", field="crs") from err
    unit = parsed.axis_info[0].unit_name if parsed.axis_info else ""
    if not parsed.is_projected or unit not in ("metre", "meter"):
        fix = "use the local UTM zone, e.g. EPSG:32632 for UTM 32N"
        raise _error(f"the terrain grid needs a projected CRS in metres, got {crs!r}", None, fix)


def _grid_for(bounds: tuple[float, ...], res: float) -> tuple[float, float, int, int]:
    """Snap bounds outward to multiples of ``res``; return (x0, y0, nx, ny) after a memory check."""
    xmin, ymin, xmax, ymax = (float(b) for b in bounds)
    if not (res > 0 and xmax > xmin and ymax > ymin):
        message = f"bad grid: bounds {bounds} (need xmin < xmax, ymin < ymax), resolution {res} m"
        raise _error(message, field="bounds")
    eps = 1e-9  # keeps a bound that is already on a cell edge from snapping one cell out
    nx = math.ceil(xmax / res - eps) - math.floor(xmin / res + eps)
    ny = math.ceil(ymax / res - eps) - math.floor(ymin / res + eps)
    need = nx * ny * 4
    if need > MAX_GRID_BYTES:
        coarser = math.ceil(res * math.sqrt(need / MAX_GRID_BYTES))
        raise _error(
            f"a {ny} x {nx} terrain grid at {res} m resolution needs {need / 2**30:.1f} GiB"
            f" (limit {MAX_GRID_BYTES / 2**30:.0f} GiB)",
            fix=f"use a resolution of {coarser} m or more, or a smaller area",
            field="resolution",
        )
    return math.floor(xmin / res + eps) * res, math.ceil(ymax / res - eps) * res, nx, ny


def _open_dem(path: Path, stack: ExitStack) -> DatasetReader:
    """Open a DEM with rasterio, or raise MapDataError saying why it cannot be read."""
    if not path.is_file():
        fix = "check the path (SRTM tiles are named like N43E007.hgt) or fetch the tile"
        raise _error("DEM file not found", path, fix)
    try:
        dataset = stack.enter_context(rasterio.open(path))
    except RasterioError as err:
        if path.suffix.lower() == ".hgt":
            _diagnose_hgt(path)
        fix = "give a GeoTIFF, SRTM .hgt or ESRI ASCII grid; download the file again"
        raise _error(f"cannot read the DEM: {err}", path, fix) from err
    if dataset.crs is None:
        fix = "add a .prj file beside it (ESRI ASCII) or set one with gdal_edit.py -a_srs"
        raise _error("the DEM states no coordinate reference system", path, fix)
    return dataset


def _diagnose_hgt(path: Path) -> None:
    """Say why GDAL's SRTMHGT driver refused a .hgt: its size, or a name without its corner."""
    size = path.stat().st_size
    if size not in _SRTM_SIZES:
        message = (
            f"not an SRTM tile: {size} bytes, where SRTM tiles have 2884802 (3 arc-second)"
            " or 25934402 (1 arc-second); the file is probably truncated"
        )
        raise _error(message, path, "download the tile again")
    if not _SRTM_NAME.match(path.name):
        corner = _SRTM_NAME.search(path.name)
        name = f"{corner.group(0).upper()}.hgt" if corner else "N43E007.hgt (its south-west corner)"
        message = "GDAL reads a .hgt only when its name starts with its corner, like N43E007"
        raise _error(message, path, f"rename it {name}")


def _to_lonlat(outline: Polygon, crs: object) -> Polygon:
    to_ll = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    outline = outline.segmentize(outline.length / 400)  # edges curve in lon/lat
    return shapely.transform(outline, to_ll.transform, interleaved=False)


def _check_coverage(
    datasets: list[DatasetReader], paths: list[Path], bounds: tuple[float, ...], crs: str
) -> None:
    """Raise MapDataError naming the uncovered part (lon/lat) and the SRTM tiles to add."""
    wanted = _to_lonlat(box(*bounds), crs)
    footprints = [_to_lonlat(box(*d.bounds), d.crs) for d in datasets]
    missing = wanted.difference(unary_union(footprints))
    if missing.area <= 1e-9 * wanted.area:
        return
    mx0, my0, mx1, my1 = missing.bounds
    tiles = [
        srtm_tile_name(lon + 0.5, lat + 0.5)
        for lat in range(math.floor(my0), math.floor(my1) + 1)
        for lon in range(math.floor(mx0), math.floor(mx1) + 1)
        if missing.intersection(box(lon, lat, lon + 1, lat + 1)).area > 0
    ]
    extents = "; ".join(
        f"{p.name}: {_lonlat_text(f.bounds)}" for p, f in zip(paths, footprints, strict=True)
    )
    raise _error(
        f"the DEM does not cover the area {_lonlat_text(wanted.bounds)}; missing"
        f" {_lonlat_text(missing.bounds)}; the DEM covers {extents}",
        ", ".join(map(str, paths)),
        f"add the DEM tile(s) {', '.join(tiles)} or shrink the area",
    )


def _lonlat_text(b: tuple[float, ...]) -> str:
    return f"lon {b[0]:.4f} to {b[2]:.4f}, lat {b[1]:.4f} to {b[3]:.4f}"


def _warp_to_grid(
    datasets: list[DatasetReader],
    paths: list[Path],
    transform: Affine,
    shape: tuple[int, int],
    crs: str,
) -> np.ndarray:
    """Mosaic each group of same-CRS tiles and resample it bilinearly into a NaN-filled grid."""
    grid = np.full(shape, np.nan, dtype=np.float32)
    (ny, nx), res = shape, transform.a
    grid_bounds = (transform.c, transform.f - ny * res, transform.c + nx * res, transform.f)
    groups: dict[str, list[int]] = {}
    for i, dataset in enumerate(datasets):
        groups.setdefault(dataset.crs.to_wkt(), []).append(i)
    for members in groups.values():
        # Finest tile first: its pixel lattice is the mosaic's, and it wins in overlaps.
        members.sort(key=lambda i: abs(datasets[i].res[0] * datasets[i].res[1]))
        group = [datasets[i] for i in members]
        names = ", ".join(str(paths[i]) for i in members)
        window = _source_window(group, grid_bounds, crs)
        if window is None:
            continue
        ref = group[0]
        need = 4 * (window[2] - window[0]) * (window[3] - window[1]) / (ref.res[0] * ref.res[1])
        if need > MAX_GRID_BYTES:
            message = f"the part of the DEM to read would need {need / 2**30:.1f} GiB"
            raise _error(message, names, "use a coarser DEM or a smaller area")
        part = grid if len(groups) == 1 else np.full(shape, np.nan, dtype=np.float32)
        try:
            mosaic, mosaic_transform = rasterio.merge.merge(
                group, bounds=window, res=ref.res, nodata=np.nan, dtype="float32", indexes=[1]
            )
            rasterio.warp.reproject(
                mosaic[0],
                part,
                src_transform=mosaic_transform,
                src_crs=ref.crs,
                src_nodata=np.nan,
                dst_transform=transform,
                dst_crs=crs,
                dst_nodata=np.nan,
                resampling=rasterio.warp.Resampling.bilinear,
            )
        except RasterioError as err:
            raise _error(f"cannot read the DEM: {err}", names, "download it again") from err
        if part is not grid:
            empty = np.isnan(grid)
            grid[empty] = part[empty]
    return grid


def _source_window(
    group: list[DatasetReader], grid_bounds: tuple[float, ...], crs: str
) -> tuple[float, float, float, float] | None:
    """Bounds to read in the group's CRS: the grid plus 2 pixels, on the first tile's lattice."""
    ref = group[0]
    (rx, ry), ox, oy = ref.res, ref.transform.c, ref.transform.f
    left, bottom, right, top = rasterio.warp.transform_bounds(
        crs, ref.crs, *grid_bounds, densify_pts=51
    )
    left = max(left - 2 * rx, min(d.bounds.left for d in group))
    right = min(right + 2 * rx, max(d.bounds.right for d in group))
    bottom = max(bottom - 2 * ry, min(d.bounds.bottom for d in group))
    top = min(top + 2 * ry, max(d.bounds.top for d in group))
    if left >= right or bottom >= top:
        return None
    return (
        ox + math.floor((left - ox) / rx) * rx,
        oy - math.ceil((oy - bottom) / ry) * ry,
        ox + math.ceil((right - ox) / rx) * rx,
        oy - math.floor((oy - top) / ry) * ry,
    )


def _fill_voids(grid: np.ndarray) -> None:
    """Fill NaN cells in place: inverse-distance from valid cells, then the nearest valid one."""
    valid = ~np.isnan(grid)
    filled = rasterio.fill.fillnodata(  # NaN placeholders stay NaN where no valid cell is near
        grid.copy(), mask=valid.astype(np.uint8), max_search_distance=_FILL_SEARCH_CELLS
    )
    grid[~valid] = filled[~valid]
    still = np.isnan(grid)
    if still.any():
        _, (rows, cols) = ndimage.distance_transform_edt(still, return_indices=True)
        grid[still] = grid[rows[still], cols[still]]


def _vertical_datum(datasets: list[DatasetReader], paths: list[Path]) -> str:
    """SRTM: EGM96; otherwise the vertical part of a compound CRS, or 'not stated'."""
    names: list[str] = []
    for dataset, path in zip(datasets, paths, strict=True):
        parsed = pyproj.CRS.from_wkt(dataset.crs.to_wkt())
        vertical = [c.name for c in parsed.sub_crs_list if c.is_vertical]
        if dataset.driver == "SRTMHGT":
            vertical = [SRTM_DATUM]
        name = vertical[0] if vertical else f"not stated in {path.name}"
        names += [name] if name not in names else []
    return "; ".join(names)
