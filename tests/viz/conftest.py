"""Fixtures of the viz tests: a small off-screen scene of the Monaco pack."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyvista")

#: Small windows keep the software renderer fast.
WINDOW = (400, 300)


@pytest.fixture
def scene(monaco_pack):
    """The Monaco scene, top-down, 400x300 pixels; closed after the test."""
    from viz.scene import CityScene

    city = CityScene(monaco_pack, window_size=WINDOW)
    yield city
    city.close()


def sample_cells(scene, image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Pixel colours (n, 3) at the centres of terrain cells ``(rows, cols)``, seen by
    ``scene``'s camera; cells outside the image give -1000 (matches no colour)."""
    terrain = scene.pack.terrain
    x = terrain.x0 + (cols + 0.5) * terrain.resolution
    y = terrain.y0 - (rows + 0.5) * terrain.resolution
    pixels = scene.to_pixels(x, y, scene.ground[rows, cols])
    h, w = image.shape[:2]
    inside = (pixels[:, 0] >= 0) & (pixels[:, 0] < w) & (pixels[:, 1] >= 0) & (pixels[:, 1] < h)
    out = np.full((len(rows), 3), -1000, dtype=int)
    out[inside] = image[pixels[inside, 1], pixels[inside, 0]]
    return out


def near(colours: np.ndarray, rgb, tolerance: int = 30) -> np.ndarray:
    """Which colours are within ``tolerance`` (per channel, 0-255) of ``rgb``."""
    return (np.abs(colours - np.asarray(rgb)) <= tolerance).all(axis=1)


def same_hue(colours: np.ndarray, rgb, cosine: float = 0.995) -> np.ndarray:
    """Which colours are ``rgb`` under some shading: the same direction in RGB space (a lit
    surface is its colour times a factor between about 0.5 and 1)."""
    c = np.asarray(colours, dtype=float)
    ref = np.asarray(rgb, dtype=float)
    norms = np.linalg.norm(c, axis=1) * np.linalg.norm(ref)
    return (c @ ref) / np.where(norms > 0, norms, 1) >= cosine
