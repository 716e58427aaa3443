"""Flood: a 2-D local inertial shallow-water model on the city's terrain grid.

Build a :class:`FloodModel` from a terrain grid, a :class:`Forcing` (rain, inflows, sea
level, sinks) and a :class:`FloodConfig`; call ``step(dt)`` or ``advance_to(t)``; read
``h``, ``velocity()``, ``max_depth``, ``first_wet``, ``balance`` and the gauges.
:mod:`twin.flood.outputs` writes them to GeoTIFF and CSV.
"""

from twin.flood.config import FloodConfig
from twin.flood.forcing import Forcing, Gauge, Inflow, Rainfall, SeaLevel, mm_per_hour
from twin.flood.grid import BuildingRaster, rasterize_buildings
from twin.flood.model import FloodModel, VolumeBalance

__all__ = [
    "BuildingRaster",
    "FloodConfig",
    "FloodModel",
    "Forcing",
    "Gauge",
    "Inflow",
    "Rainfall",
    "SeaLevel",
    "VolumeBalance",
    "mm_per_hour",
    "rasterize_buildings",
]
