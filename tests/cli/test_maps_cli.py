"""``twin maps`` and ``twin demo`` from the command line: output, exit codes, no tracebacks."""

import json

import pytest
from typer.testing import CliRunner

from twin.cli import _register, app

_register()
runner = CliRunner()


def run(*args):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


def test_maps_list_shows_catalogue(monaco_dir):
    result = run("maps", "list", "--maps", str(monaco_dir.parent))
    assert result.exit_code == 0
    assert "monaco" in result.output
    assert "helsinki" in result.output
    assert "ODbL" in result.output


def test_maps_info_json_summary(monaco_dir):
    result = run("maps", "info", "monaco", "--maps", str(monaco_dir.parent), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["drive_nodes"] > 400
    assert summary["terrain_resolution_m"] == 10.0
    assert "OpenStreetMap contributors" in summary["attribution"]


def test_maps_info_table_for_an_osm_file_with_its_dem(monaco_dir):
    result = run(
        "maps", "info", str(monaco_dir / "monaco-2021-11.osm.pbf"),
        "--dem", str(monaco_dir / "N43E007.hgt"), "--resolution", "30",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "EPSG:32632" in result.output
    assert "30 m" in result.output
    assert "OpenStreetMap contributors" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["maps", "info", "nowhere.osm.pbf", "--flat"], "OSM file not found"),
        (["maps", "info", "atlantis"], "unknown city"),
        (["maps", "info", "helsinki", "--dem", "missing.hgt"], "DEM file not found"),
    ],
)
def test_user_errors_exit_2_without_traceback(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_demo_falls_back_to_helsinki_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN_MAPS", str(tmp_path))
    monkeypatch.setenv("TWIN_DATA_DIR", str(tmp_path / "data"))
    result = run("demo", "--no-download")
    assert result.exit_code == 0, result.output
    assert "Helsinki sample" in result.output
    assert "helsinki" in result.output


def test_corrupt_pbf_and_checksum_mismatch_exit_2(tmp_path, monaco_dir):
    data = bytearray((monaco_dir / "monaco-2021-11.osm.pbf").read_bytes())
    truncated = tmp_path / "truncated.osm.pbf"
    truncated.write_bytes(bytes(data[: len(data) // 3]))
    result = run("maps", "info", str(truncated), "--flat", "--no-cache")
    assert result.exit_code == 2
    assert "truncated.osm.pbf" in result.output
    assert "corrupt" in result.output

    folder = tmp_path / "maps" / "monaco"
    folder.mkdir(parents=True)
    data[100] ^= 0x01
    (folder / "monaco-2021-11.osm.pbf").write_bytes(bytes(data))
    (folder / "N43E007.hgt").write_bytes((monaco_dir / "N43E007.hgt").read_bytes())
    result = run("maps", "info", "monaco", "--maps", str(tmp_path / "maps"))
    assert result.exit_code == 2
    assert "SHA-256 mismatch" in result.output


def test_dem_not_covering_the_map_exit_2(tmp_path, monaco_dir):
    """An SRTM tile one degree east of Monaco does not cover it."""
    other = tmp_path / "N43E008.hgt"
    other.write_bytes((monaco_dir / "N43E007.hgt").read_bytes())
    result = run(
        "maps", "info", str(monaco_dir / "monaco-2021-11.osm.pbf"), "--dem", str(other),
        "--no-cache",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "N43E008.hgt" in result.output
    assert "N43E007.hgt" in result.output


def test_maps_facilities_lists_hospitals_nearest_first(monaco_dir):
    near = "7.4210,43.7310"
    args = ["maps", "facilities", "monaco", "--maps", str(monaco_dir.parent), "--json"]
    result = run(*args, "--kind", "hospital", "--near", near)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["kind"] for r in rows} == {"hospital"}
    assert len(rows) == 6
    distances = [r["distance_m"] for r in rows]
    assert distances == sorted(distances)
    grace = next(r for r in rows if r["name"] == "Centre hospitalier Princesse Grace")
    assert grace["osm"] == "way/49209406"
    assert grace["status"] == "service"
    assert grace["capacity_source"] == "floor_area"
    assert 7.40 < grace["lon"] < 7.45
    assert 43.72 < grace["lat"] < 43.76
    schools = json.loads(run(*args, "--kind", "school").stdout)
    assert {r["status"] for r in schools} == {"candidate"}
    assert max(r["capacity"] for r in schools) <= 1000.0


def test_maps_facilities_refuses_swapped_point_and_unknown_kind(monaco_dir):
    args = ["maps", "facilities", "monaco", "--maps", str(monaco_dir.parent)]
    result = run(*args, "--near", "43.7310,7.4210")
    assert result.exit_code == 2
    assert "swapped" in result.output
    result = run(*args, "--kind", "shelter")  # Monaco's extract maps no emergency shelter
    assert result.exit_code == 2
    assert "hospital" in result.output


def test_maps_where_finds_names_with_lonlat(monaco_dir):
    args = ["maps", "where", "--city", "monaco", "--maps", str(monaco_dir.parent), "--json"]
    rows = json.loads(run(*args, "grimaldi forum").stdout)
    assert rows[0]["name"] == "Grimaldi Forum"  # exact match first, case ignored
    assert rows[0]["lon"] == pytest.approx(7.4318, abs=1e-3)  # the building's inside point
    assert rows[0]["lat"] == pytest.approx(43.7440, abs=1e-3)
    whats = {r["what"] for r in json.loads(run(*args, "Grimaldi").stdout)}
    assert "street" in whats  # Rue Grimaldi
    assert any(w.startswith("building") for w in whats)
    accents = json.loads(run(*args, "ecole de fontvieille").stdout)
    assert accents[0]["name"] == "École de Fontvieille"
    result = run("maps", "where", "Grimaldy Forum", "-c", "monaco",
                 "--maps", str(monaco_dir.parent))  # fmt: skip
    assert result.exit_code == 2
    assert "did you mean 'Grimaldi Forum'" in result.output


def test_maps_info_extent_from_data_walk_share_and_flat_terrain(monaco_dir):
    result = run("maps", "info", "monaco", "--maps", str(monaco_dir.parent), "--json")
    summary = json.loads(result.stdout)
    west = summary["extent_lonlat"][0]
    # the extract's header box starts at 7.40921 E; its ways reach 7.40644 E
    assert summary["bbox_lonlat"][0] == pytest.approx(7.40921, abs=1e-5)
    assert west == pytest.approx(7.40644, abs=1e-4)
    assert 0.9 < summary["walk_largest_component_nodes"] / summary["walk_nodes"] <= 1.0
    assert summary["terrain_flat"] is False
    assert "flat:" not in run("maps", "info", "monaco", "--maps", str(monaco_dir.parent)).output
    assert json.loads(run("maps", "info", "helsinki", "--json").stdout)["terrain_flat"] is True
    result = run("maps", "info", "helsinki")
    assert result.exit_code == 0, result.output
    for words in ("flat:", "cell", "component", "data)"):  # table cells wrap between words
        assert words in result.output


def test_catalogue_entry_without_a_file_is_reported(tmp_path, monkeypatch):
    catalogue = tmp_path / "catalogue.yaml"
    catalogue.write_text(
        "version: 1\ncities:\n  nowhere:\n    title: Nowhere\n    osm:\n      licence: ODbL\n"
    )
    monkeypatch.setenv("TWIN_CATALOGUE", str(catalogue))
    assert "names no file" in run("maps", "list").output
    result = run("maps", "info", "nowhere")
    assert result.exit_code == 2
    assert "names no file" in result.output
