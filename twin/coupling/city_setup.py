"""Scenario -> city pack: load the city a scenario names, with its terrain options."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path


def city_source(scenario) -> tuple[str | Path, dict]:
    """What :func:`twin.city.load_city` needs for a validated scenario's city.

    Returns the source (a catalogue name or an OSM file, already resolved against the
    scenario's folder) and the keyword options (``dem``, ``flat``, ``flat_elevation``,
    ``resolution``).
    """
    city = scenario.city
    options = {
        "dem": list(city.dem) or None,
        "flat": city.flat,
        "flat_elevation": city.datum,
        "resolution": city.resolution,
    }
    return (city.name if city.name else city.osm), options


def scenario_city(
    scenario,
    *,
    maps: Sequence[str | Path] | None = None,
    on_step: Callable[[str], None] | None = None,
):
    """Load (or build) the :class:`~twin.city.CityPack` of a validated scenario.

    ``maps`` are folders searched for map files before the ``TWIN_MAPS`` path.
    """
    from twin.city import load_city

    source, options = city_source(scenario)
    return load_city(source, maps=maps, on_step=on_step, **options)
