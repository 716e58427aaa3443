"""A synthetic city for tests that need no sample map: an ``n x n`` grid of residential
streets about 100 m apart (drivable and walkable) near Monaco, with apartment blocks,
written as an OSM XML file (build it with ``load_city(path, flat=True)``).

Junction ``(i, j)`` (column i from the west, row j from the south) is OSM node
``10 i + j + 1``; the streets are ways ``1000 + i`` (column i, south to north) and
``1100 + j`` (row j, west to east); block k is way ``2000 + k`` with nodes from 5000 on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

LON0, LAT0 = 7.420, 43.730
DLON, DLAT = 1.25e-3, 9.0e-4  # about 100 m each way at this latitude

STREET = {"highway": "residential"}
BLOCK = {"building": "apartments", "building:levels": "4"}


def lonlat(i: float, j: float) -> str:
    """``[lon, lat]`` (degrees, YAML text) of grid point ``(i, j)``."""
    return f"[{LON0 + DLON * i:.6f}, {LAT0 + DLAT * j:.6f}]"


def west_blocks(n: int) -> list[list[tuple[float, float]]]:
    """Corners (lon, lat) of a block beside each junction of the western column (about
    40 x 45 m, north-east of the junction)."""
    blocks = []
    for j in range(n):
        lon, lat = LON0 + DLON * 0.2, LAT0 + DLAT * (j + 0.2)
        blocks.append(
            [(lon + dx, lat + dy) for dx, dy in ((0, 0), (5e-4, 0), (5e-4, 4e-4), (0, 4e-4))]
        )
    return blocks


def one_house() -> list[list[tuple[float, float]]]:
    """Corners (lon, lat) of one block in the south-west cell (0.2 to 0.6 of a cell)."""
    corners = ((0, 0), (0.4, 0), (0.4, 0.4), (0, 0.4))
    return [[(LON0 + DLON * (0.2 + dx), LAT0 + DLAT * (0.2 + dy)) for dx, dy in corners]]


def write_grid_osm(path: Path, n: int, blocks: Sequence[Sequence[tuple[float, float]]]) -> Path:
    """Write the ``n x n`` street grid with ``blocks`` (each a ring of (lon, lat) corners,
    apartments of 4 levels) to ``path`` (OSM XML); returns ``path``."""
    grid = {(i, j): 10 * i + j + 1 for i in range(n) for j in range(n)}
    nodes = [(nid, LON0 + DLON * i, LAT0 + DLAT * j) for (i, j), nid in grid.items()]
    ways = [(1000 + i, [grid[i, j] for j in range(n)], STREET) for i in range(n)]
    ways += [(1100 + i, [grid[j, i] for j in range(n)], STREET) for i in range(n)]
    nid = 5000
    for k, corners in enumerate(blocks):
        ring = []
        for lon, lat in corners:
            nodes.append((nid, lon, lat))
            ring.append(nid)
            nid += 1
        ways.append((2000 + k, [*ring, ring[0]], BLOCK))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    for node, lon, lat in sorted(nodes):
        lines.append(f'<node id="{node}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>')
    for way, refs, tags in sorted(ways, key=lambda w: w[0]):
        inner = "".join(f'<nd ref="{r}"/>' for r in refs)
        inner += "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{way}" version="1">{inner}</way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
