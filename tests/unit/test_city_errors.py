"""Bad map input gives one clear MapDataError naming the file and a fix."""

import io
import shutil
import zipfile

import numpy as np
import pytest

from twin.city import load_city
from twin.city.catalogue import FileEntry
from twin.city.fetch import fetch_city, fetch_file
from twin.errors import ChecksumError, MapDataError


def test_missing_osm_file(tmp_path):
    path = tmp_path / "nowhere.osm.pbf"
    with pytest.raises(MapDataError, match="OSM file not found") as info:
        load_city(path, flat=True)
    assert str(path) in str(info.value)
    assert "fix:" in str(info.value)


def test_unknown_city_suggests_a_name():
    with pytest.raises(MapDataError, match="did you mean 'monaco'"):
        load_city("monacco")


def test_truncated_pbf(tmp_path, monaco_dir):
    data = (monaco_dir / "monaco-2021-11.osm.pbf").read_bytes()
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(MapDataError, match="truncated or corrupt") as info:
        load_city(broken, flat=True, use_cache=False)
    assert "broken.osm.pbf" in str(info.value)


def test_garbage_pbf(tmp_path):
    broken = tmp_path / "garbage.osm.pbf"
    broken.write_bytes(b"this is not a protobuf file" * 10)
    with pytest.raises(MapDataError, match="cannot read OSM data"):
        load_city(broken, flat=True, use_cache=False)


def test_osm_without_dem_or_flat_asks_for_one(monaco_dir):
    with pytest.raises(MapDataError, match="--dem FILE") as info:
        load_city(monaco_dir / "monaco-2021-11.osm.pbf", use_cache=False)
    assert "--flat" in str(info.value)


def test_dem_that_does_not_cover_the_map(tmp_path, monaco_dir):
    import rasterio
    from rasterio.transform import from_origin

    far = tmp_path / "elsewhere.tif"
    profile = {
        "driver": "GTiff",
        "width": 50,
        "height": 50,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": from_origin(10.0, 50.0, 0.01, 0.01),
    }
    with rasterio.open(far, "w", **profile) as dst:
        dst.write(np.ones((1, 50, 50), dtype="float32"))
    with pytest.raises(MapDataError) as info:
        load_city(monaco_dir / "monaco-2021-11.osm.pbf", dem=[far], use_cache=False)
    assert "elsewhere.tif" in str(info.value)
    assert "cover" in str(info.value)


def test_missing_dem_file(tmp_path, monaco_dir):
    with pytest.raises(MapDataError, match="DEM file not found"):
        load_city(monaco_dir / "monaco-2021-11.osm.pbf", dem=[tmp_path / "N43E007.hgt"])


def test_checksum_mismatch(tmp_path, monaco_dir):
    folder = tmp_path / "maps" / "monaco"
    folder.mkdir(parents=True)
    shutil.copy(monaco_dir / "N43E007.hgt", folder / "N43E007.hgt")
    data = bytearray((monaco_dir / "monaco-2021-11.osm.pbf").read_bytes())
    data[-1] ^= 0xFF
    (folder / "monaco-2021-11.osm.pbf").write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="SHA-256 mismatch") as info:
        load_city("monaco", maps=[tmp_path / "maps"])
    assert "monaco-2021-11.osm.pbf" in str(info.value)


def test_missing_catalogue_files_name_the_maps_path(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN_MAPS", str(tmp_path))
    monkeypatch.setenv("TWIN_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(MapDataError, match="not found on the maps path") as info:
        load_city("monaco")
    assert "twin maps fetch monaco" in str(info.value)


def _zip_opener(payload_by_url):
    def opener(url):
        return io.BytesIO(payload_by_url[url])

    return opener


def _zipped(name, data):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def test_fetch_verifies_and_installs_atomically(tmp_path, monaco_dir):
    """Fetching unpacks, checks the SHA-256 and writes under the data folder; no network:
    the opener serves local bytes the way a download would."""
    from twin.city.cache import sha256_file

    hgt = (monaco_dir / "N43E007.hgt").read_bytes()
    entry = FileEntry(file="monaco/N43E007.hgt", url="https://example.invalid/N43E007.hgt.zip",
                      sha256=sha256_file(monaco_dir / "N43E007.hgt"), licence="PD")  # fmt: skip
    path = fetch_file(entry, tmp_path, _zip_opener({entry.url: _zipped("N43E007.hgt", hgt)})).path
    assert path == tmp_path / "monaco" / "N43E007.hgt"
    assert path.read_bytes() == hgt

    bad = entry.model_copy(update={"file": "monaco/other.hgt"})
    opener = _zip_opener({entry.url: _zipped("other.hgt", hgt[:-2])})
    with pytest.raises(ChecksumError, match="catalogue expects"):
        fetch_file(bad, tmp_path, opener)
    assert not (tmp_path / "monaco" / "other.hgt").exists()
    assert [p.name for p in (tmp_path / "monaco").iterdir()] == ["N43E007.hgt"]


def test_fetch_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN_MAPS", str(tmp_path))
    monkeypatch.setenv("TWIN_DATA_DIR", str(tmp_path / "data"))

    def offline(url):
        raise OSError("Name or service not known")

    with pytest.raises(MapDataError, match="download failed"):
        fetch_city("monaco", tmp_path, offline)


def test_catalogue_entry_without_a_file(tmp_path, monkeypatch):
    """Used to fail with a TypeError traceback (a path joined with None)."""
    catalogue = tmp_path / "catalogue.yaml"
    catalogue.write_text(
        "version: 1\ncities:\n  nowhere:\n    title: Nowhere\n    osm:\n      licence: ODbL\n"
    )
    monkeypatch.setenv("TWIN_CATALOGUE", str(catalogue))
    with pytest.raises(MapDataError, match="names no file") as info:
        load_city("nowhere")
    assert "catalogue.yaml" in str(info.value)
    assert "cities.nowhere" in str(info.value)


def test_missing_synthetic_city_says_how_to_generate_it(tmp_path, monkeypatch):
    """A generated city's files are made with `twin maps synth`, not downloaded."""
    monkeypatch.setenv("TWIN_MAPS", str(tmp_path))
    monkeypatch.setenv("TWIN_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(MapDataError, match="not found on the maps path") as info:
        load_city("valley")
    assert "twin maps synth valley" in str(info.value)
    assert "fetch" not in str(info.value)
