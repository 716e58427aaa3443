"""Terrain grid: DEM reading (GeoTIFF, ESRI ASCII, SRTM .hgt), mosaics, voids, errors."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyproj
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from shapely.geometry import box

from twin.city.terrain import TerrainGrid, flat_terrain, load_terrain, srtm_tile_name
from twin.errors import MapDataError

UTM32 = "EPSG:32632"
UTM34 = "EPSG:32634"
TO_LONLAT_32 = pyproj.Transformer.from_crs(UTM32, "EPSG:4326", always_xy=True)
# A plane in lon/lat: 2000 m per degree of longitude, 3000 m per degree of latitude,
# i.e. slopes of about 2.5 % and 2.7 % near lat 43.5 (hilly city terrain).
DZ_DLON, DZ_DLAT = 2000.0, 3000.0
LONLAT_PX = 0.001  # degrees per pixel of the synthetic lon/lat DEM (~80 m x 111 m)
# GDAL's warper maps target to source pixels with an approximate transformer whose error is
# at most 1/8 source pixel; on this plane that moves a value by at most
# (2000 + 3000) m/deg * 0.001 deg / 8 = 0.625 m. Float32 storage adds < 1e-4 m.
LONLAT_TOL = (DZ_DLON + DZ_DLAT) * LONLAT_PX / 8 + 1e-3


def lonlat_plane(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return 100.0 + DZ_DLON * (lon - 7.0) + DZ_DLAT * (lat - 43.0)


def write_tif(path: Path, data: np.ndarray, transform, crs: str, nodata=None) -> Path:
    profile = {"driver": "GTiff", "width": data.shape[1], "height": data.shape[0], "count": 1}
    profile.update(dtype=str(data.dtype), crs=crs, transform=transform, nodata=nodata)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def write_lonlat_tif(path: Path, west: float, north: float, nx: int, ny: int) -> Path:
    """A float32 GeoTIFF of ``lonlat_plane`` with 0.001 degree pixels."""
    lon = west + (np.arange(nx) + 0.5) * LONLAT_PX
    lat = north - (np.arange(ny) + 0.5) * LONLAT_PX
    data = lonlat_plane(lon[None, :], lat[:, None]).astype(np.float32)
    transform = from_origin(west, north, LONLAT_PX, LONLAT_PX)
    return write_tif(path, data, transform, "EPSG:4326")


def utm_bounds(lon0: float, lat0: float, lon1: float, lat1: float, crs: str = UTM32):
    to_utm = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    xs, ys = to_utm.transform([lon0, lon1, lon0, lon1], [lat0, lat0, lat1, lat1])
    return (min(xs), min(ys), max(xs), max(ys))


def write_hgt(path: Path, void_block: tuple[slice, slice] | None = None) -> np.ndarray:
    """A 3 arc-second SRTM tile: sea (0 m) in the west third, a ramp up to 1200 m east of it."""
    n = 1201
    cols = np.arange(n)
    row = np.where(cols < 400, 0, cols - 400 + 400).astype(np.int16)
    data = np.repeat(row[None, :], n, axis=0)
    if void_block is not None:
        data[void_block] = -32768
    data.astype(">i2").tofile(path)
    return data


# --- TerrainGrid -------------------------------------------------------------------------


def small_grid() -> TerrainGrid:
    z = np.array([[0.0, 10.0, 20.0], [30.0, 40.0, 50.0]], dtype=np.float32)
    return TerrainGrid(z, x0=1000.0, y0=5000.0, resolution=10.0, crs=UTM32, datum="t", source="t")


def test_grid_geometry():
    """Bounds, transform and cell centres agree: row 0 north, column 0 west."""
    grid = small_grid()
    assert grid.shape == (2, 3)
    assert grid.bounds == (1000.0, 4980.0, 1030.0, 5000.0)
    assert grid.transform @ (0, 0) == (1000.0, 5000.0)
    assert grid.transform @ (3, 2) == (1030.0, 4980.0)
    x, y = grid.cell_centres()
    np.testing.assert_array_equal(x, [1005.0, 1015.0, 1025.0])
    np.testing.assert_array_equal(y, [4995.0, 4985.0])


def test_grid_keeps_float32_array_without_copy():
    """A float32 elevation array is held as is, not copied."""
    z = np.zeros((4, 5), dtype=np.float32)
    grid = TerrainGrid(z, 0.0, 0.0, 1.0, UTM32, "d", "s")
    assert grid.elevation is z


def test_grid_rejects_nan():
    z = np.zeros((3, 3), dtype=np.float32)
    z[1, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        TerrainGrid(z, 0.0, 0.0, 1.0, UTM32, "d", "s")


def test_sample_at_centres_between_and_outside():
    """Centres give cell values, midpoints the mean, outside points the nearest edge value."""
    grid = small_grid()
    x, y = grid.cell_centres()
    np.testing.assert_allclose(grid.sample(x[1], y[0]), 10.0)
    np.testing.assert_allclose(grid.sample(x[2], y[1]), 50.0)
    np.testing.assert_allclose(grid.sample(1010.0, 4990.0), (0 + 10 + 30 + 40) / 4)
    np.testing.assert_allclose(grid.sample(1020.0, 4995.0), 15.0)
    np.testing.assert_allclose(grid.sample(-1e6, 1e7), 0.0)  # north-west, far away
    np.testing.assert_allclose(grid.sample(1e6, 4995.0), 20.0)  # east of row 0
    np.testing.assert_allclose(grid.sample(1025.0, -1e6), 50.0)  # south of column 2


def test_sample_is_vectorised_and_exact_on_a_plane():
    """Bilinear interpolation reproduces a plane at arbitrary points, keeping the input shape."""
    x0, y0, res = 500.0, 9000.0, 5.0
    xc = x0 + (np.arange(40) + 0.5) * res
    yc = y0 - (np.arange(30) + 0.5) * res
    z = (0.3 * xc[None, :] - 0.2 * yc[:, None] + 2000.0).astype(np.float64)
    grid = TerrainGrid(z.astype(np.float32), x0, y0, res, UTM32, "d", "s")
    rng = np.random.default_rng(1)
    px = rng.uniform(xc[0], xc[-1], size=(7, 11))
    py = rng.uniform(yc[-1], yc[0], size=(7, 11))
    got = grid.sample(px, py)
    assert got.shape == (7, 11)
    np.testing.assert_allclose(got, 0.3 * px - 0.2 * py + 2000.0, atol=2e-3)


# --- flat terrain and grid snapping ------------------------------------------------------


def test_flat_terrain_snaps_outward_and_is_flat():
    grid = flat_terrain((1003.0, 2001.0, 1096.0, 2050.0), UTM32, resolution=10.0, elevation=2.5)
    assert grid.bounds == (1000.0, 2000.0, 1100.0, 2050.0)
    assert grid.shape == (5, 10)
    assert grid.is_flat
    assert np.all(grid.elevation == 2.5)
    assert grid.datum.startswith("flat")
    assert grid.voids_filled == 0


def test_small_slope_is_not_flat():
    z = np.zeros((3, 3), dtype=np.float32)
    z[2, 2] = 0.01
    assert not TerrainGrid(z, 0.0, 0.0, 1.0, UTM32, "d", "s").is_flat


def test_too_large_grid_is_refused_before_allocating():
    """A 100 km square at 0.5 m would need 149 GiB: refused, naming the resolution."""
    with pytest.raises(MapDataError, match=r"0\.5 m resolution") as info:
        flat_terrain((0.0, 0.0, 100_000.0, 100_000.0), UTM32, resolution=0.5)
    assert "fix: use a resolution of" in str(info.value)


def test_geographic_crs_is_refused():
    with pytest.raises(MapDataError, match="projected CRS"):
        flat_terrain((7.0, 43.0, 7.1, 43.1), "EPSG:4326")


# --- reading DEM formats -----------------------------------------------------------------


def test_geotiff_plane_same_crs(tmp_path):
    """A 30 m UTM plane resampled to 10 m on another alignment is the same plane."""
    a, b, c = 0.05, -0.03, 150000.0
    west, north, px = 300_007.0, 4_800_013.0, 30.0
    xc = west + (np.arange(200) + 0.5) * px
    yc = north - (np.arange(150) + 0.5) * px
    data = (a * xc[None, :] + b * yc[:, None] + c).astype(np.float32)
    path = write_tif(tmp_path / "plane.tif", data, from_origin(west, north, px, px), UTM32)
    bounds = (301_000.0, 4_797_000.0, 304_000.0, 4_799_000.0)
    grid = load_terrain([path], bounds, UTM32, resolution=10.0)
    assert grid.shape == (200, 300)
    x, y = grid.cell_centres()
    expected = a * x[None, :] + b * y[:, None] + c
    # Bilinear weights reproduce a plane exactly; float32 values near 6e3 m round by < 1e-3 m.
    np.testing.assert_allclose(grid.elevation, expected, atol=2e-3)
    assert grid.voids_filled == 0
    assert grid.source == "plane.tif"
    assert "not stated" in grid.datum


def test_geotiff_lonlat_plane_reprojected_to_utm(tmp_path):
    """Bilinear resampling from lon/lat pixels returns the plane at each UTM cell's lon/lat."""
    path = write_lonlat_tif(tmp_path / "ll.tif", 7.30, 43.80, nx=200, ny=150)
    bounds = utm_bounds(7.35, 43.70, 7.45, 43.75)
    grid = load_terrain([path], bounds, UTM32, resolution=20.0)
    x, y = grid.cell_centres()
    lon, lat = TO_LONLAT_32.transform(*np.meshgrid(x, y))
    error = np.abs(grid.elevation - lonlat_plane(lon, lat))
    assert error.max() < LONLAT_TOL
    assert error.mean() < 0.1  # the approximate transformer is far better than its bound


def test_esri_ascii_grid_with_nodata(tmp_path):
    """An ESRI ASCII grid (with a .prj) is read; its NODATA cell is filled and counted."""
    nrows, ncols, cell = 20, 30, 25.0
    xll, yll = 400_000.0, 5_000_000.0
    xc = xll + (np.arange(ncols) + 0.5) * cell
    yc = yll + nrows * cell - (np.arange(nrows) + 0.5) * cell
    data = 0.1 * (xc[None, :] - xll) + 0.2 * (yc[:, None] - yll)
    data[10, 15] = -9999.0
    lines = [
        f"ncols {ncols}",
        f"nrows {nrows}",
        f"xllcorner {xll}",
        f"yllcorner {yll}",
        f"cellsize {cell}",
        "NODATA_value -9999",
    ]
    lines += [" ".join(f"{v:.3f}" for v in row) for row in data]
    path = tmp_path / "dem.asc"
    path.write_text("\n".join(lines) + "\n")
    esri = pyproj.CRS(UTM32).to_wkt(pyproj.enums.WktVersion.WKT1_ESRI)
    (tmp_path / "dem.prj").write_text(esri)
    bounds = (400_100.0, 5_000_100.0, 400_650.0, 5_000_400.0)
    grid = load_terrain([path], bounds, UTM32, resolution=5.0)
    x, y = grid.cell_centres()
    expected = 0.1 * (x[None, :] - xll) + 0.2 * (y[:, None] - yll)
    hole = np.abs(grid.elevation - expected) > 1e-3
    # The void pixel holds exactly 5 x 5 cells of 5 m: those are the voids. Only cells whose
    # bilinear neighbours include it (centre within one pixel of its centre) may differ.
    assert grid.voids_filled == 25
    near = (np.abs(x[None, :] - xc[15]) < cell) & (np.abs(y[:, None] - yc[10]) < cell)
    assert not hole[~near].any()
    assert near.sum() == 81  # 5 m cell centres 0, 5, ..., 20 m either side of the pixel's
    assert 25 <= hole.sum() <= 81
    assert not np.isnan(grid.elevation).any()
    void_value = data[9:12, 14:17][data[9:12, 14:17] > -9999]
    assert void_value.min() - 1e-3 <= grid.sample(xc[15], yc[10]) <= void_value.max() + 1e-3


def test_srtm_hgt_sea_kept_voids_filled_and_counted(tmp_path):
    """Sea (0 m) stays 0, a 10 x 10 pixel void is filled from its rim and counted."""
    path = tmp_path / "N10E020.hgt"
    block = (slice(600, 610), slice(800, 810))
    source = write_hgt(path, void_block=block)
    bounds = utm_bounds(20.30, 10.45, 20.75, 10.55, UTM34)
    grid = load_terrain([path], bounds, UTM34, resolution=30.0)
    assert grid.datum == "EGM96 geoid (SRTM)"
    x, y = grid.cell_centres()
    to_ll = pyproj.Transformer.from_crs(UTM34, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(*np.meshgrid(x, y))
    sea = lon < 20.0 + 398 / 1200  # two pixels west of the first land pixel
    assert sea.any()
    assert np.all(grid.elevation[sea] == 0.0)
    # GDAL leaves a cell void when the DEM pixel under its centre is void (elsewhere bilinear
    # uses the valid pixels only), so the expected count is the void block's area over the
    # cell area; cells cut by the block's edge (~4 x 31 / 2 of ~930) allow 10 %.
    step = 1 / 1200
    west, north = 20.0 + (800 - 0.5) * step, 11.0 - (600 - 0.5) * step
    void = box(west, north - 10 * step, west + 10 * step, north)
    to_utm = pyproj.Transformer.from_crs("EPSG:4326", UTM34, always_xy=True)
    expected = shapely.transform(void, to_utm.transform, interleaved=False).area / 30.0**2
    assert grid.voids_filled == pytest.approx(expected, rel=0.1)
    in_void = (np.abs(lon - (west + 5 * step)) < 4 * step) & (
        np.abs(lat - (north - 5 * step)) < 4 * step
    )
    rim = source[599:611, 799:811]
    rim = rim[rim != -32768]
    assert in_void.sum() > 0
    assert rim.min() <= grid.elevation[in_void].min()
    assert grid.elevation[in_void].max() <= rim.max()


def test_srtm_hgt_whose_name_lacks_its_corner(tmp_path):
    """GDAL needs the corner at the start of a .hgt name: the error says what to rename it."""
    path = tmp_path / "srtm_N10E020_v2.hgt"
    write_hgt(path)
    with pytest.raises(MapDataError, match=r"rename it N10E020\.hgt") as info:
        load_terrain([path], utm_bounds(20.2, 10.2, 20.4, 10.3, UTM34), UTM34)
    assert str(path) in str(info.value)


def test_lower_case_srtm_name_is_read(tmp_path):
    write_hgt(tmp_path / "n10e020.hgt")
    bounds = utm_bounds(20.2, 10.2, 20.4, 10.3, UTM34)
    grid = load_terrain([tmp_path / "n10e020.hgt"], bounds, UTM34, resolution=50.0)
    assert grid.datum == "EGM96 geoid (SRTM)"
    assert grid.elevation.max() > 200.0


# --- mosaics -----------------------------------------------------------------------------


def test_mosaic_of_two_tiles_equals_one_tile(tmp_path):
    """A city across a tile seam gets the same grid from two tiles as from one."""
    whole = write_lonlat_tif(tmp_path / "whole.tif", 7.30, 43.80, nx=200, ny=150)
    west = write_lonlat_tif(tmp_path / "west.tif", 7.30, 43.80, nx=100, ny=150)
    east = write_lonlat_tif(tmp_path / "east.tif", 7.40, 43.80, nx=100, ny=150)
    bounds = utm_bounds(7.36, 43.70, 7.44, 43.76)  # the seam is at lon 7.40
    one = load_terrain([whole], bounds, UTM32, resolution=20.0)
    two = load_terrain([east, west], bounds, UTM32, resolution=20.0)
    np.testing.assert_allclose(two.elevation, one.elevation, atol=1e-3)
    assert two.voids_filled == 0
    assert two.source == "east.tif, west.tif"


def test_two_srtm_tiles_across_their_shared_edge(tmp_path):
    """Tiles N10E020 and N10E021 share their edge column; a city across it has no voids."""
    for west in (20, 21):  # z = 1200 m per degree east of lon 20: integer in every pixel
        row = (np.arange(1201) + 1200 * (west - 20)).astype(">i2")
        np.repeat(row[None, :], 1201, axis=0).tofile(tmp_path / f"N10E0{west}.hgt")
    paths = [tmp_path / "N10E020.hgt", tmp_path / "N10E021.hgt"]
    grid = load_terrain(paths, utm_bounds(20.95, 10.50, 21.05, 10.55, UTM34), UTM34)
    x, y = grid.cell_centres()
    to_ll = pyproj.Transformer.from_crs(UTM34, "EPSG:4326", always_xy=True)
    lon, _ = to_ll.transform(*np.meshgrid(x, y))
    # Exact for a plane in lon up to GDAL's 1/8-pixel transformer error: 1200 / 1200 / 8 m.
    np.testing.assert_allclose(grid.elevation, 1200.0 * (lon - 20.0), atol=0.13)
    assert grid.voids_filled == 0


def test_no_dem_given():
    with pytest.raises(MapDataError, match="no DEM file given"):
        load_terrain([], (0.0, 0.0, 10.0, 10.0), UTM32)


# --- errors ------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "N43E007.hgt"
    with pytest.raises(MapDataError, match="not found") as info:
        load_terrain([path], (0.0, 0.0, 10.0, 10.0), UTM32)
    assert str(path) in str(info.value)


def test_text_file_named_tif(tmp_path):
    path = tmp_path / "dem.tif"
    path.write_text("this is not a GeoTIFF\n")
    with pytest.raises(MapDataError, match="cannot read the DEM") as info:
        load_terrain([path], (0.0, 0.0, 10.0, 10.0), UTM32)
    assert str(path) in str(info.value)


def test_truncated_hgt(tmp_path):
    path = tmp_path / "N10E020.hgt"
    write_hgt(path)
    path.write_bytes(path.read_bytes()[:1_000_000])
    with pytest.raises(MapDataError, match="truncated") as info:
        load_terrain([path], utm_bounds(20.2, 10.2, 20.3, 10.3, UTM34), UTM34)
    assert str(path) in str(info.value)


def test_truncated_geotiff_data(tmp_path):
    """A GeoTIFF whose header survives but whose pixels are cut off is reported, not zeros."""
    rng = np.random.default_rng(0)
    data = rng.uniform(0, 100, size=(300, 300)).astype(np.float32)
    path = write_tif(tmp_path / "cut.tif", data, from_origin(0.0, 3000.0, 10.0, 10.0), UTM32)
    path.write_bytes(path.read_bytes()[:100_000])
    with pytest.raises(MapDataError, match="cannot read the DEM") as info:
        load_terrain([path], (100.0, 100.0, 2900.0, 2900.0), UTM32)
    assert "cut.tif" in str(info.value)


def test_dem_without_crs(tmp_path):
    data = np.zeros((10, 10), dtype=np.float32)
    path = write_tif(tmp_path / "nocrs.tif", data, from_origin(0.0, 100.0, 10.0, 10.0), None)
    with pytest.raises(MapDataError, match="no coordinate reference system"):
        load_terrain([path], (10.0, 10.0, 90.0, 90.0), UTM32)


def test_coverage_error_names_missing_part_and_tile(tmp_path):
    """A city reaching east of the tile is refused, naming the tile to add."""
    path = tmp_path / "N10E020.hgt"
    write_hgt(path)
    bounds = utm_bounds(20.95, 10.50, 21.05, 10.55, UTM34)
    with pytest.raises(MapDataError, match="does not cover") as info:
        load_terrain([path], bounds, UTM34, resolution=30.0)
    text = str(info.value)
    assert "N10E021.hgt" in text
    assert "N10E020.hgt" in text
    assert "lon 20.9" in text  # the requested area, in degrees


def test_srtm_tile_name():
    assert srtm_tile_name(7.42, 43.73) == "N43E007.hgt"
    assert srtm_tile_name(-0.5, -0.5) == "S01W001.hgt"
    assert srtm_tile_name(-122.4, 37.8) == "N37W123.hgt"


# --- real data ---------------------------------------------------------------------------


def test_monaco_tile(monaco_dir):
    """The SRTM3 tile gives Monaco a 10 m grid from the sea (about 0 m) to the hills."""
    bounds = utm_bounds(7.405, 43.723, 7.440, 43.752)
    start = time.perf_counter()
    grid = load_terrain([monaco_dir / "N43E007.hgt"], bounds, UTM32, resolution=10.0)
    seconds = time.perf_counter() - start
    xmin, ymin, xmax, ymax = grid.bounds
    assert 0.0 <= bounds[0] - xmin < 10.0  # covers the box, snapped outward by < 1 cell
    assert 0.0 <= bounds[1] - ymin < 10.0
    assert 0.0 <= xmax - bounds[2] < 10.0
    assert 0.0 <= ymax - bounds[3] < 10.0
    assert grid.resolution == 10.0
    assert grid.elevation.dtype == np.float32
    assert not np.isnan(grid.elevation).any()
    assert abs(float(grid.elevation.min())) < 5.0
    assert grid.elevation.max() > 100.0
    assert grid.datum == "EGM96 geoid (SRTM)"
    assert seconds < 5.0
