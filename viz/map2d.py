"""A 2-D top-down map (matplotlib): terrain shading, sea, the drive streets (closed ones in
the closed colour), water depth and the OpenStreetMap credit; for documents."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from viz.scene import CLOSED_RGB, SEA_RGB, WATER_CMAP, SceneState, clock_text

if TYPE_CHECKING:
    from twin.city import CityPack


def draw_map(pack: CityPack, state: SceneState, path: Path | str, *, wet_depth: float = 0.01):
    """Write the map of ``pack`` at ``state`` to ``path`` (PNG, atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection
    from matplotlib.colors import LightSource, LinearSegmentedColormap

    from twin.atomic import atomic_path
    from twin.flood.grid import sea_mask

    terrain = pack.terrain
    ground = np.asarray(terrain.elevation, dtype=np.float64)
    xmin, ymin, xmax, ymax = terrain.bounds
    extent = (xmin, xmax, ymin, ymax)
    fig, ax = plt.subplots(figsize=(8, 8 * (ymax - ymin) / (xmax - xmin)), dpi=120)
    shade = LightSource(azdeg=315, altdeg=45).hillshade(
        ground, dx=terrain.resolution, dy=terrain.resolution
    )
    ax.imshow(shade, cmap="Greys_r", extent=extent, alpha=0.5, vmin=0, vmax=1)
    sea = np.ma.masked_where(~sea_mask(ground), np.ones_like(ground))
    ax.imshow(
        sea,
        cmap=LinearSegmentedColormap.from_list("sea", [np.array(SEA_RGB) / 255] * 2),
        extent=extent,
    )
    if state.depth is not None:
        depth = np.ma.masked_where(~(np.nan_to_num(state.depth) > wet_depth), state.depth)
        image = ax.imshow(
            depth,
            cmap=LinearSegmentedColormap.from_list("water", WATER_CMAP),
            extent=extent,
            vmin=0,
            vmax=1,
        )
        fig.colorbar(image, ax=ax, shrink=0.6, label="water depth (m)")
    links = pack.links("drive")
    segments = [
        np.column_stack([links.geom_x[a:b], links.geom_y[a:b]])
        for a, b in zip(links.geom_offsets[:-1], links.geom_offsets[1:], strict=True)
    ]
    closed = np.zeros(len(segments), bool) if state.closed is None else np.asarray(state.closed)
    colours = np.where(closed[:, None], np.array(CLOSED_RGB) / 255, np.array([0.25] * 3))
    ax.add_collection(LineCollection(segments, colors=colours, linewidths=0.8))
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_title(f"{pack.name}  {clock_text(state.time)}")
    ax.set_xlabel(f"x (m, {pack.crs})")
    ax.set_ylabel("y (m)")
    fig.text(0.99, 0.01, pack.attribution, ha="right", fontsize=7)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(path)
