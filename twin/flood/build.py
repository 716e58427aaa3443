"""Choose and build the flood model a forcing needs: the base model, or the river model.

:class:`~twin.flood.river.RiverFloodModel` extends :class:`~twin.flood.model.FloodModel`
with river stages and levees; picking between them lives here so that ``model.py`` does not
import its own subclass (no import cycle inside ``twin.flood``).
"""

from __future__ import annotations

from typing import Any

from twin.flood.model import FloodModel
from twin.flood.river import RiverFloodModel


def flood_model(terrain, forcing=None, config=None, **kwargs: Any) -> FloodModel:
    """A flood model on ``terrain`` for ``forcing``: the river model when it has rivers.

    Parameters
    ----------
    terrain
        A :class:`~twin.city.terrain.TerrainGrid` (elevation in m, resolution in m, ``x0``/
        ``y0`` north-west corner, crs).
    forcing
        A :class:`~twin.flood.forcing.Forcing` or None (dry run).
    config
        A :class:`~twin.flood.config.FloodConfig` or None (defaults).
    **kwargs
        Passed to the model's constructor (``buildings``, ``sea``, ...).

    Returns
    -------
    FloodModel
        A :class:`~twin.flood.river.RiverFloodModel` when ``forcing.rivers`` is not empty.
    """
    cls = RiverFloodModel if forcing is not None and forcing.rivers else FloodModel
    return cls.from_terrain(terrain, forcing, config, **kwargs)
