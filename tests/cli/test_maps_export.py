"""``twin maps export``: a city pack as a GeoPackage and a terrain GeoTIFF that open with
pyogrio/geopandas and rasterio, in the pack's CRS, with the pack's counts and OSM ids."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from typer.testing import CliRunner

from twin.city.export import LIST_SEPARATOR, export_city, terrain_path
from twin.cli import _register, app
from twin.errors import UserInputError

_register()

LAYERS = ["drive_nodes", "drive_edges", "walk_nodes", "walk_edges", "buildings",
          "facilities", "landcover", "places"]  # fmt: skip


@pytest.fixture(scope="module")
def exported(monaco_dir, tmp_path_factory):
    """``twin maps export monaco -o city.gpkg`` run once; the path of the GeoPackage."""
    path = tmp_path_factory.mktemp("export") / "city.gpkg"
    result = CliRunner().invoke(
        app, ["maps", "export", "monaco", "-o", str(path), "--maps", str(monaco_dir.parent)]
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "drive_edges 753" in result.output
    return path


def test_layers_open_with_the_pack_crs_and_counts(exported, monaco_pack):
    assert [name for name, _ in pyogrio.list_layers(exported)] == LAYERS
    counts = {
        "drive_nodes": monaco_pack.drive.number_of_nodes(),
        "drive_edges": monaco_pack.drive.number_of_edges(),
        "walk_nodes": monaco_pack.walk.number_of_nodes(),
        "walk_edges": monaco_pack.walk.number_of_edges(),
        "buildings": len(monaco_pack.buildings),
        "facilities": len(monaco_pack.facilities),
        "landcover": len(monaco_pack.landcover),
        "places": len(monaco_pack.places),
    }
    for name, count in counts.items():
        frame = gpd.read_file(exported, layer=name)
        assert frame.crs == monaco_pack.crs == "EPSG:32632", name
        assert len(frame) == count, name
    assert counts["drive_edges"] == 753  # Monaco sample at 10 m (twin maps info)
    assert not list(exported.parent.glob(".*part*"))  # no temporary left behind


def test_edges_join_back_to_the_link_index_by_osm_ids(exported, monaco_pack):
    for kind in ("drive", "walk"):
        edges = gpd.read_file(exported, layer=f"{kind}_edges")
        index = monaco_pack.links(kind)
        links = {
            (int(u), int(v), int(k)): i
            for i, (u, v, k) in enumerate(
                zip(index.node_ids[index.tail], index.node_ids[index.head], index.key,
                    strict=True)
            )
        }  # fmt: skip
        joined = [links[(u, v, k)] for u, v, k in zip(edges.u, edges.v, edges.key, strict=True)]
        assert sorted(joined) == list(range(index.n_links))  # every link exactly once
        assert np.array_equal(edges.link.to_numpy(), joined)
        assert np.array_equal(edges["length"].to_numpy(), index.length[joined])
        # geometry as drawn: the same vertices as the link's shape, tail to head (GeoPackage
        # stores doubles, so exactly)
        assert all(shapely.equals_exact(edges.geometry, index.lines()[joined], tolerance=0))
        for i, osmid in zip(joined, edges.osmid, strict=True):
            ways = index.way_ids[index.way_offsets[i] : index.way_offsets[i + 1]]
            assert str(osmid).split(LIST_SEPARATOR) == [str(w) for w in ways]
        nodes = gpd.read_file(exported, layer=f"{kind}_nodes")
        assert set(nodes.osmid) == set(index.node_ids.tolist())


def test_facilities_keep_their_osm_ids(exported, monaco_pack):
    facilities = gpd.read_file(exported, layer="facilities")
    assert list(facilities.osm_id) == list(monaco_pack.facilities.osm_id)
    assert list(facilities.drive_node) == list(monaco_pack.facilities.drive_node)


def test_terrain_geotiff_matches_the_pack(exported, monaco_pack):
    grid = monaco_pack.terrain
    with rasterio.open(terrain_path(exported)) as src:
        assert src.crs.to_string() == monaco_pack.crs
        assert src.transform == grid.transform
        assert src.tags()["units"] == "m"
        assert src.tags()["datum"] == grid.datum
        assert np.array_equal(src.read(1), grid.elevation)


def test_export_refuses_another_extension(monaco_pack, tmp_path):
    with pytest.raises(UserInputError, match=r"\.gpkg"):
        export_city(monaco_pack, tmp_path / "city.shp")
    assert not list(tmp_path.iterdir())


def test_maps_info_json_is_strict(monaco_pack, monkeypatch):
    """A pack without a build time (NaN s) prints null and why, never a bare NaN token."""
    import dataclasses
    import json

    import twin.cli.maps_cmds as maps_cmds

    pack = dataclasses.replace(monaco_pack, build_seconds=float("nan"))
    monkeypatch.setattr(maps_cmds, "load_with_progress", lambda *a, **k: (pack, 0.5, False))
    result = CliRunner().invoke(app, ["maps", "info", "monaco", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output, parse_constant=lambda token: pytest.fail(f"bare {token}"))
    assert data["build_seconds"] is None
    assert data["nulls"] == {"build_seconds": "nan is not a finite number"}
    assert data["drive_edges"] == 753
