"""The city-pack cache stores data files, never pickles, and rebuilds on any damage."""

import json
import os
import pickle
import time
from pathlib import Path

import numpy as np
import pytest
from test_city_facilities import write_osm

from twin.city import cache, load_city


class Touch:
    """Unpickling this creates a file: proof that a pickle was executed."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


@pytest.fixture
def city(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "cache"))
    return write_osm(tmp_path / "tiny.osm")


def load(path):
    """Load the tiny city flat at 5 m; returns the pack and whether it was built."""
    steps = []
    pack = load_city(path, flat=True, flat_elevation=5.0, on_step=steps.append)
    return pack, bool(steps)


def entry(tmp_path) -> Path:
    (only,) = (tmp_path / "cache" / "packs").iterdir()
    return only


def test_cached_pack_is_data_files_and_loads_the_same(city, tmp_path):
    first, built = load(city)
    assert built
    folder = entry(tmp_path)
    names = sorted(p.name for p in folder.iterdir())
    assert "manifest.json" in names
    assert "terrain.npz" in names
    assert not [n for n in names if n.endswith((".pkl", ".pickle"))]
    second, built = load(city)
    assert not built
    assert second.summary() == first.summary()
    assert list(second.walk.edges(keys=True, data="length")) == list(
        first.walk.edges(keys=True, data="length")
    )


def test_planted_pickles_are_never_executed(city, tmp_path):
    load(city)
    stored = entry(tmp_path)
    marker = tmp_path / "pwned"
    evil = pickle.dumps(Touch(marker))
    targets = [stored.with_name(stored.name.removesuffix(".pkl") + ".pkl")]
    targets += list(stored.iterdir()) if stored.is_dir() else []
    for target in targets:
        target.write_bytes(evil)
    pack, built = load(city)
    assert not marker.exists()
    assert built  # the damaged entry was rebuilt ...
    assert (pack.terrain.elevation == 5.0).all()
    assert not load(city)[1]  # ... and the rebuilt one is used


def test_elevation_raised_in_the_stored_file_is_detected(city, tmp_path):
    load(city)
    npz = entry(tmp_path) / "terrain.npz"
    with np.load(npz) as archive:
        raised = archive["elevation"] + 50.0
    with npz.open("wb") as handle:  # np.savez to a path would append ".npz"
        np.savez(handle, elevation=raised)
    pack, built = load(city)
    assert built
    assert (pack.terrain.elevation == 5.0).all()


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    "damage",
    [
        lambda f: _truncate(f / "walk_edges.parquet"),
        lambda f: (f / "facilities.parquet").unlink(),
        lambda f: (f / "buildings.parquet").write_bytes(b"PAR1 garbage PAR1"),
        lambda f: (f / "terrain.npz").write_bytes(b""),
        lambda f: (f / "manifest.json").write_text("[1, 2, 3]"),
        lambda f: (f / "manifest.json").write_text("{not json"),
        lambda f: (f / "manifest.json").write_text(json.dumps({"format": 2, "files": "x"})),
        lambda f: (f / "manifest.json").unlink(),
    ],
    ids=[
        "truncated",
        "missing",
        "garbage",
        "empty-npz",
        "manifest-list",
        "manifest-text",
        "manifest-fields",
        "no-manifest",
    ],
)
def test_damaged_entries_are_rebuilt(city, tmp_path, damage):
    first, _ = load(city)
    damage(entry(tmp_path))
    pack, built = load(city)
    assert built
    assert pack.summary()["walk_edges"] == first.summary()["walk_edges"]
    assert not load(city)[1]


def test_unusable_cache_folder_still_loads(city, tmp_path, monkeypatch):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    monkeypatch.setenv("TWIN_CACHE_DIR", str(not_a_folder))
    pack, built = load(city)
    assert built
    assert len(pack.walk) > 0


@pytest.mark.parametrize("memo", ["[1, 2]", '"abc"', '{"k": 5}', '{"k": "not hex"}', "{"])
def test_checksum_memo_of_the_wrong_type_is_ignored(tmp_path, monkeypatch, memo):
    import hashlib

    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path))
    (tmp_path / "sha256.json").write_text(memo)
    data = tmp_path / "data.bin"
    data.write_bytes(b"twin" * 100)
    assert cache.sha256_file(data) == hashlib.sha256(b"twin" * 100).hexdigest()


def test_same_size_change_with_mtime_restored_is_rehashed(tmp_path, monkeypatch):
    import hashlib

    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(cache, "RACY_SECONDS", 0.0, raising=False)  # memoise fresh files
    data = tmp_path / "data.bin"
    data.write_bytes(b"a" * 1000)
    before = data.stat()
    assert cache.sha256_file(data) == hashlib.sha256(b"a" * 1000).hexdigest()
    assert len(json.loads((tmp_path / "sha256.json").read_text())) == 1  # memoised
    data.write_bytes(b"b" * 1000)
    os.utime(data, ns=(before.st_atime_ns, before.st_mtime_ns))
    for _ in range(200):  # the ctime has the kernel clock's granularity: wait until it moved
        if data.stat().st_ctime_ns != before.st_ctime_ns:
            break
        time.sleep(0.01)
        os.utime(data, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert data.stat().st_size == before.st_size
    assert data.stat().st_mtime_ns == before.st_mtime_ns
    assert cache.sha256_file(data) == hashlib.sha256(b"b" * 1000).hexdigest()


def test_fresh_change_is_never_served_from_the_memo(tmp_path, monkeypatch):
    """A file changed within RACY_SECONDS of its hashing is not memoised, so an edit right
    after it (same timestamps within the clock's granularity) is still seen."""
    import hashlib

    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path))
    data = tmp_path / "data.bin"
    data.write_bytes(b"a" * 1000)
    before = data.stat()
    cache.sha256_file(data)
    data.write_bytes(b"b" * 1000)
    os.utime(data, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert cache.sha256_file(data) == hashlib.sha256(b"b" * 1000).hexdigest()
