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
    for graph, again in ((first.drive, second.drive), (first.walk, second.walk)):
        assert list(again.nodes(data=True)) == list(graph.nodes(data=True))
        assert [list(again.pred[n]) for n in again] == [list(graph.pred[n]) for n in graph]
        for (u, v, k, data), (u2, v2, k2, data2) in zip(
            graph.edges(keys=True, data=True), again.edges(keys=True, data=True), strict=True
        ):
            assert (u, v, k) == (u2, v2, k2)
            assert data.keys() == data2.keys()
            for key, value in data.items():
                if key == "geometry":
                    assert value.equals_exact(data2[key], 0.0)
                else:  # same value and type: ints stay ints, lists stay lists
                    assert (value, type(value)) == (data2[key], type(data2[key]))
    assert second.drive.graph["crs"] == first.drive.graph["crs"]
    assert second.facilities.drop(columns="geometry").equals(
        first.facilities.drop(columns="geometry")
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


def test_graph_attributes_keep_their_types():
    """osmnx's merged edges carry lists beside scalars; missing attributes stay missing."""
    import networkx as nx
    import shapely

    from twin.city.store import graph_attrs, graph_blobs, graph_from_blobs

    graph = nx.MultiDiGraph(crs="EPSG:32632", simplified=True)
    graph.add_node(3, x=1.0, y=2.0)
    graph.add_node(1, x=0.5, y=float("nan"), street_count=3)
    line = shapely.LineString([(1, 2), (0.5, 0)])
    graph.add_edge(3, 1, osmid=[7, 8], highway="primary", oneway=False, lanes=2,
                   length=12.5, geometry=line, name=["A", "B"])  # fmt: skip
    graph.add_edge(3, 1, osmid=9, highway=["residential", "service"], oneway=True, lanes=1,
                   length=3.0, reversed=[False, True])  # fmt: skip
    graph.add_edge(1, 3, osmid=10, highway="primary", oneway=True, lanes=1, length=3)
    again = graph_from_blobs(*graph_blobs(graph), graph_attrs(graph))
    assert list(again.nodes) == [3, 1]
    assert again.nodes[1]["street_count"] == 3
    assert np.isnan(again.nodes[1]["y"])
    assert "street_count" not in again.nodes[3]
    first, second = again.edges[3, 1, 0], again.edges[3, 1, 1]
    assert first["osmid"] == [7, 8]
    assert first["geometry"].equals_exact(line, 0.0)
    assert first["name"] == ["A", "B"]
    assert second["osmid"] == 9
    assert second["highway"] == ["residential", "service"]
    assert second["reversed"] == [False, True]
    assert "geometry" not in second
    assert "name" not in second
    assert isinstance(first["lanes"], int)
    assert again.edges[1, 3, 0]["length"] == 3.0  # an int among floats reads back as float
    assert again.graph["crs"] == "EPSG:32632"
    assert again.graph["simplified"] is True
