"""Shared fixtures: the sample maps (found through TWIN_MAPS) and the Monaco city pack.

Tests that need the sample maps skip when they are absent, except when
``TWIN_REQUIRE_MAPS=1`` (CI sets it), where they fail instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MAPS = REPO.parent / "shared" / "maps"
# Packs built by tests go to the repo's ignored .cache/ unless the caller chose a folder.
os.environ.setdefault("TWIN_CACHE_DIR", str(REPO / ".cache" / "twin"))
# Commands run by CLI tests find the sample maps as `make test` would give them.
os.environ.setdefault("TWIN_MAPS", str(DEFAULT_MAPS))


def _maps_folders() -> list[Path]:
    env = os.environ.get("TWIN_MAPS")
    folders = [Path(p) for p in env.split(os.pathsep) if p] if env else [DEFAULT_MAPS]
    return folders


@pytest.fixture(scope="session")
def maps_folders() -> list[Path]:
    """The folders of the maps path used by the tests."""
    return _maps_folders()


@pytest.fixture(scope="session")
def monaco_dir(maps_folders) -> Path:
    """Folder holding the Monaco sample (monaco-2021-11.osm.pbf and N43E007.hgt)."""
    for folder in maps_folders:
        candidate = folder / "monaco"
        if (candidate / "N43E007.hgt").is_file() and (
            candidate / "monaco-2021-11.osm.pbf"
        ).is_file():
            return candidate
    message = f"Monaco sample maps not found under {maps_folders} (set TWIN_MAPS)"
    if os.environ.get("TWIN_REQUIRE_MAPS") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def monaco_env(monaco_dir, maps_folders, tmp_path_factory):
    """TWIN_MAPS set to the sample maps and a TWIN_CACHE_DIR of the module's own, for the
    tests that build a coupled twin from scenario files (``usefixtures("monaco_env")``).

    Skips without the Monaco sample, or fails under ``TWIN_REQUIRE_MAPS=1`` (``monaco_dir``).
    """
    mp = pytest.MonkeyPatch()
    mp.setenv("TWIN_MAPS", os.pathsep.join(str(f) for f in maps_folders))
    mp.setenv("TWIN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def monaco_pack(monaco_dir, maps_folders):
    """The Monaco city pack at 10 m (built once per test session, then cached on disk)."""
    from twin.city import load_city

    return load_city("monaco", maps=maps_folders)


@pytest.fixture(scope="session")
def grid11_dir() -> Path:
    """The grid11 benchmark case (nodes/links/demand CSVs), found beside the maps folders:
    ``<maps folder>/../benchmarks/grid11`` for each folder of the maps path (TWIN_MAPS)."""
    from twin.settings import maps_path

    folders = maps_path()
    for folder in folders:
        candidate = folder.parent / "benchmarks" / "grid11"
        if (candidate / "demand.csv").is_file():
            return candidate
    message = f"grid11 benchmark files not found beside {[str(f) for f in folders]}"
    if os.environ.get("TWIN_REQUIRE_MAPS") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(autouse=True, scope="session")
def _one_thread_per_xdist_worker():
    """Under ``pytest -n`` each worker runs numba kernels on one thread: parallel workers with
    parallel kernels oversubscribe the cores and run several times slower (a model given an
    explicit thread count, e.g. ``FloodConfig.threads``, still sets its own)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        yield
        return
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)
