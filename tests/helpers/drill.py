"""The drill tests' session: the Monaco flash flood on a 30 m grid, seed 1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FLASH_FLOOD = REPO / "scenarios" / "monaco_flash_flood.yaml"
PLACE = [7.4205, 43.7331]  # a street of La Condamine (lon, lat)


def flash_flood_drill(until: float, **options: Any):
    """A :class:`twin.drill.DrillSession` of the Monaco flash flood (30 m grid, seed 1) to
    ``until`` (s); ``options`` go to the session (e.g. ``script``)."""
    from twin.drill import DrillSession

    return DrillSession(FLASH_FLOOD, seed=1, resolution=30.0, until=until, **options)
