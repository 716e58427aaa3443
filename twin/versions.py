"""Versions of twin and of the libraries that change its results, from one source.

Every version comes from the installed distributions' metadata
(:func:`importlib.metadata.version`), never from a copy in the code, so the run manifest
(``run.json``), the city-pack cache key and the experiment store's code version all see the
same numbers. Upgrading osmnx, shapely or numba thus invalidates cached packs and stored
runs instead of silently reusing results made with the old library.
"""

from __future__ import annotations

from importlib import metadata

#: Distributions whose version can change a result: numeric kernels, graph building,
#: geometry and projections, raster and table I/O, the event engine and validation.
DEPENDENCIES = (
    "numpy",
    "scipy",
    "numba",
    "networkx",
    "osmnx",
    "shapely",
    "pyproj",
    "geopandas",
    "rasterio",
    "pyarrow",
    "duckdb",
    "simpy",
    "pydantic",
)
#: twin's own distribution name (``[project] name`` in ``pyproject.toml``).
DISTRIBUTION = "twin"


def package_version(name: str) -> str | None:
    """The installed version of distribution ``name``, or None if it is not installed.

    This is the one version source: tests monkeypatch it to simulate an upgrade.
    """
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def twin_version() -> str:
    """twin's version as installed (``"0.1.0"``); ``"unknown"`` when run from a source tree
    that was never installed."""
    return package_version(DISTRIBUTION) or "unknown"


def dependency_versions() -> dict[str, str | None]:
    """``{distribution: version}`` of every :data:`DEPENDENCIES` entry (None if missing),
    in that order."""
    return {name: package_version(name) for name in DEPENDENCIES}
