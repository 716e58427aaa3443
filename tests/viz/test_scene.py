"""The 3-D scene of the Monaco pack renders off-screen: buildings, sea, water and closures
where the data puts them (top-down camera; cells sampled on a coarse grid)."""

from __future__ import annotations

import numpy as np

from tests.viz.conftest import near, same_hue, sample_cells
from viz.scene import BUILDING_RGB, CLOSED_RGB, SEA_RGB, SceneState

#: Every 6th cell each way: a low-resolution mask (60 m on the 10 m grid), about 3,800 cells.
STEP = 6


def _coarse(scene):
    ny, nx = scene.ground.shape
    rows, cols = np.meshgrid(np.arange(3, ny, STEP), np.arange(3, nx, STEP), indexing="ij")
    return rows.ravel(), cols.ravel()


def _coastal_margin(mask: np.ndarray) -> np.ndarray:
    """Cells within 2 of the coast (a pixel there may show either side)."""
    from scipy import ndimage

    return ndimage.binary_dilation(mask, iterations=2) & ~ndimage.binary_erosion(mask, iterations=2)


def test_the_pack_renders_buildings_and_the_sea_where_the_terrain_has_it(scene):
    image = scene.screenshot()
    assert image.shape == (300, 400, 3)
    assert image.reshape(-1, 3).std(axis=0).max() > 20  # not blank
    assert near(image.reshape(-1, 3), BUILDING_RGB, 40).sum() > 200  # building pixels

    rows, cols = _coarse(scene)
    colours = sample_cells(scene, image, rows, cols)
    sea = scene.sea[rows, cols]
    clear = ~_coastal_margin(scene.sea)[rows, cols] & (colours[:, 0] >= 0)
    looks_sea = same_hue(colours, SEA_RGB) & (colours.max(axis=1) > 40)
    assert sea[clear].sum() > 500  # Monaco's map is about a third sea
    # Texts, the legend and colour bars cover a few sea cells; roads on piers a few more.
    assert looks_sea[clear & sea].mean() > 0.85
    assert looks_sea[clear & ~sea].mean() < 0.01


def test_water_shows_where_depth_is_above_the_threshold_and_nowhere_else(scene):
    dry = scene.screenshot().astype(int)
    ny, nx = scene.ground.shape
    depth = np.full((ny, nx), 0.9 * scene.wet_depth)  # thin film everywhere: stays dry
    patch = np.zeros((ny, nx), dtype=bool)
    patch[30:90, 20:100] = True  # open hillside north-west of the city: few buildings
    patch &= ~scene.sea
    depth[patch] = 0.6
    scene.update(SceneState(time=600.0, depth=depth))
    wet = scene.screenshot().astype(int)
    # Texts and colour bars (top and bottom bands) are redrawn with the new clock: not water.
    wet[:25], wet[-80:] = dry[:25], dry[-80:]

    rows, cols = _coarse(scene)
    changed = np.abs(sample_cells(scene, wet, rows, cols) - sample_cells(scene, dry, rows, cols))
    changed = changed.max(axis=1) > 25
    clear = ~_coastal_margin(patch)[rows, cols]
    inside = patch[rows, cols] & clear
    assert inside.sum() > 50
    # Inside: water except under buildings and roads drawn above it.
    assert changed[inside].mean() > 0.6
    # Outside: nothing changed but the clock label's few cells.
    assert changed[~patch[rows, cols] & clear].mean() < 0.01


def test_closed_roads_are_drawn_in_the_closed_colour(scene, monaco_pack):
    links = monaco_pack.links("drive")
    # The middle shape vertex of each link; both directions of a street share it, so a
    # street closes both ways (closing one direction would be hidden under the other).
    middle = (links.geom_offsets[:-1] + links.geom_offsets[1:]) // 2
    closed = links.geom_x[middle] < np.median(links.geom_x[middle])  # the west half
    scene.update(SceneState(closed=closed, speed_index=np.full(closed.size, 0.8)))
    image = scene.screenshot().astype(int)
    long = links.length > 60
    pixels = scene.to_pixels(
        links.geom_x[middle],
        links.geom_y[middle],
        monaco_pack.terrain.sample(links.geom_x[middle], links.geom_y[middle]),
    )
    # Any pixel of the 3x3 around the vertex: a 3-pixel line may fall beside it by one.
    magenta = np.zeros(closed.size, dtype=bool)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            rows = np.clip(pixels[:, 1] + dr, 0, image.shape[0] - 1)
            cols = np.clip(pixels[:, 0] + dc, 0, image.shape[1] - 1)
            magenta |= near(image[rows, cols], CLOSED_RGB, 40)
    # Some links run under buildings or other links (tunnels, crossings at the border).
    assert magenta[closed & long].mean() > 0.7
    assert magenta[~closed & long].mean() < 0.05
