"""The synthetic valley (twin/city/synthetic.py): same bytes every time, the catalogue's
checksums, and a city pack loaded from its files through the catalogue like any city."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from typer.testing import CliRunner

from twin.city.catalogue import load_catalogue
from twin.city.synthetic import FILES, VALLEY, generate
from twin.errors import UserInputError


def _app():
    from twin.cli import _register, app

    _register()
    return app


def test_the_generator_writes_the_same_bytes_every_time(tmp_path) -> None:
    """Two runs give identical files, whose SHA-256 are the catalogue's (so a changed
    generator cannot pass unnoticed: update maps/catalogue.yaml with it)."""
    first = generate("valley", tmp_path / "a")
    second = generate("valley", tmp_path / "b")
    assert [w.path.read_bytes() for w in first] == [w.path.read_bytes() for w in second]
    assert [w.path.relative_to(tmp_path / "a").as_posix() for w in first] == list(FILES["valley"])
    entry = load_catalogue().cities["valley"]
    wanted = {f.file: f.sha256 for f in (entry.osm, *entry.dem)}
    for item in first:
        assert hashlib.sha256(item.path.read_bytes()).hexdigest() == item.sha256
        relative = item.path.relative_to(tmp_path / "a").as_posix()
        if relative in wanted:
            assert item.sha256 == wanted[relative], relative


def test_the_valley_profile_is_the_documented_one() -> None:
    """Ground (m) at the places the module docstring names."""
    x = np.array([0.0, 290.0, 315.0, 340.0, 370.0, 380.0, 1200.0, 1700.0])
    expected = [41.6, 16.0, 20.0, 23.0, 18.5, 20.0, 21.64, 46.64]
    assert VALLEY.ground(x) == pytest.approx(expected, abs=1e-9)
    assert VALLEY.levee_toes == (320.0, 360.0)


def test_an_unknown_generator_is_a_user_error(tmp_path) -> None:
    with pytest.raises(UserInputError, match="generators: valley"):
        generate("atlantis", tmp_path)


def test_maps_synth_writes_the_files_the_catalogue_finds(tmp_path) -> None:
    """`twin maps synth valley -o DIR` writes DIR/valley/...; `twin maps list --maps DIR`
    then finds the catalogue city."""
    result = CliRunner().invoke(_app(), ["maps", "synth", "valley", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "valley").iterdir()} == {
        "valley.osm", "valley.asc", "valley.prj",
    }  # fmt: skip
    listed = CliRunner().invoke(_app(), ["maps", "list", "--maps", str(tmp_path)])
    line = next(row for row in listed.output.splitlines() if "valley" in row)
    assert "found" in line


def test_the_files_load_as_a_city_pack_with_the_channel_below_the_town(tmp_path) -> None:
    """load_city('valley') on the generated files (through the catalogue and the maps path):
    streets, 159 buildings, the four facilities, and terrain with the channel bed 4 m below
    the bank, the levee crest above the town and the town on the floodplain."""
    from twin.city import load_city

    generate("valley", tmp_path)
    pack = load_city("valley", maps=[tmp_path], resolution=20.0, use_cache=False)
    assert pack.crs == "EPSG:32632"
    assert pack.drive.number_of_edges() > 100
    assert len(pack.buildings) == 159  # 39 blocks of 4 houses + 3 facility buildings
    assert sorted(pack.facilities["kind"]) == [
        "assembly_point", "fire_station", "hospital", "school",
    ]  # fmt: skip
    e, n = VALLEY.easting, VALLEY.northing + 700.0

    def ground(x: float) -> float:
        return float(pack.terrain.sample(e + x, n))

    channel = ground(290.0)
    # On a 20 m grid the 22 m wide crest falls between cell centres and bilinear
    # resampling lowers it (by 0.9 m here); a scenario's levee line burns it back in.
    crest = max(ground(x) for x in np.arange(320.0, 361.0, 5.0))
    town = pack.buildings["ground_elevation"].to_numpy()
    assert channel == pytest.approx(16.0, abs=0.01)  # the channel is 40 m wide: 2 cells
    assert 22.0 <= crest <= 23.0
    assert channel + 4.0 <= town.min()
    assert town.max() < 21.5 < crest
