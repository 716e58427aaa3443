"""Runtime settings from the environment: where maps are looked up and where caches live.

These are not part of a scenario (they do not change results), so they live apart from it.

Environment variables
---------------------
TWIN_MAPS
    Folders searched for map files (OSM extracts, DEM tiles), separated by ``os.pathsep``.
TWIN_CACHE_DIR
    Folder for built city packs (default ``~/.cache/twin``).
TWIN_DATA_DIR
    Folder where ``twin maps fetch`` stores downloads (default ``~/.local/share/twin/maps``);
    it is always searched after ``TWIN_MAPS``.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """Folder where fetched map files are stored."""
    env = os.environ.get("TWIN_DATA_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "twin" / "maps"


def maps_path(extra: list[Path] | None = None) -> list[Path]:
    """Folders searched for map files, in order: ``extra`` (``--maps``), ``TWIN_MAPS``, data dir."""
    folders: list[Path] = [Path(p).expanduser() for p in (extra or [])]
    env = os.environ.get("TWIN_MAPS", "")
    folders += [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    folders.append(data_dir())
    return folders


def cache_dir() -> Path:
    """Folder for built city packs."""
    env = os.environ.get("TWIN_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "twin"
