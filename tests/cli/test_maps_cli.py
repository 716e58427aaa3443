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


def test_demo_compares_two_plans_on_monaco(tmp_path, monaco_dir):
    study = tmp_path / "demo.duckdb"
    args = ["demo", "--maps", str(monaco_dir.parent), "-n", "3", "--study", str(study)]
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "City pack: monaco" in result.output
    assert "Plan comparison: monaco_busy_day.yaml" in result.output
    assert "two_stations" in result.output
    assert "3 replications" in result.output
    assert study.is_file()
    assert study.with_suffix(".html").is_file()


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
