"""Every picture of a run is drawn on the terrain the run used (issue 16): a flat city at
its datum, as run.json records it, not the catalogue's DEM; a run.json without the terrain
entries takes the schema's defaults; one without a city is one clear message."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import viz.scene
from viz.scene import WATER_LIFT

#: Rain on closed edges: every land cell holds 200 mm/h x 10 min = 33 mm at the end.
FLAT_RAIN = """\
version: 1
name: flat_rain
city: {{name: {city}, flat: true, datum: {datum} m, resolution: 30 m}}
time: {{duration: 10 min}}
hazards:
  - kind: rainfall
    hyetograph: [{{at: 0, intensity: 200 mm/h}}]
flood: {{edges: closed, output_interval: 5 min}}
"""
EXAGGERATION = 1.5  # the scenes' default vertical exaggeration


def _app():
    from twin.cli import _register, app

    _register()
    return app


def _flood(root, city: str, datum: float):
    """A real ``twin flood`` run of rain on ``city``, flat at ``datum`` m, 30 m grid."""
    scenario = root / f"{city}.yaml"
    scenario.write_text(FLAT_RAIN.format(city=city, datum=datum), encoding="utf-8")
    out = root / city
    args = ["flood", str(scenario), "--out", str(out), "--no-progress", "--threads", "1"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def flat_runs(tmp_path_factory, monaco_dir):
    """``twin flood`` folders: Monaco flat at 2 m (its DEM spans about -2 to 579 m at 30 m)
    and Helsinki flat at 5 m (the catalogue's Helsinki is flat at 0 m)."""
    root = tmp_path_factory.mktemp("flat_runs")
    return {
        "monaco": (_flood(root, "monaco", 2.0), 2.0),
        "helsinki": (_flood(root, "helsinki", 5.0), 5.0),
    }


@pytest.fixture
def scenes(monkeypatch):
    """The scenes the commands build (:class:`viz.scene.CityScene` itself, recorded)."""
    built = []

    class Recorded(viz.scene.CityScene):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr(viz.scene, "CityScene", Recorded)
    return built


def _assert_on_datum(scene, datum: float, max_depth: float) -> None:
    """Ground, building bases and the water surface of ``scene`` sit on ``datum`` (m)."""
    ex = scene.exaggeration
    assert np.allclose(scene.terrain_mesh.points[:, 2], datum * ex)
    bases = np.concatenate([m.points[:, 2] for m in scene.building_meshes])
    assert bases.min() == pytest.approx(datum * ex)
    # each footprint ring is written twice: at its base and at its roof
    assert np.isclose(bases, datum * ex).sum() >= bases.size // 2
    water = scene.water_mesh.points[:, 2]
    top = (datum + max(max_depth, WATER_LIFT)) * ex
    assert water.min() >= datum * ex - 1e-6
    assert water.max() <= top + 1e-6


COMMANDS = {
    "render": ["render", "{run}", "-o", "{tmp}/v.png", "--size", "160x100"],
    "render --html": ["render", "{run}", "--html", "-o", "{tmp}/v.html"],
    "render --html --stills": [
        "render",
        "{run}",
        "--html",
        "--stills",
        "-o",
        "{tmp}/s.html",
        "--size",
        "160x100",
    ],
    "render --gltf": ["render", "{run}", "--gltf", "-o", "{tmp}/v.gltf"],
    "animate": ["animate", "{run}", "-o", "{tmp}/v.mp4", "--size", "160x96", "--no-progress"],
    "report": ["report", "{run}", "-o", "{tmp}/r.html"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_3d_picture_of_a_flat_monaco_run_sits_on_its_datum(
    command, flat_runs, scenes, tmp_path
):
    """The meshes of each command's scene: ground, building bases and water at 2 m (times
    the exaggeration), where the DEM would put them between -2 and 579 m (the report
    loaded the catalogue's DEM before)."""
    from viz.runs import DepthSnapshots

    run, datum = flat_runs["monaco"]
    snapshots = DepthSnapshots.find(run)
    deepest = float(np.nanmax(snapshots.depth(len(snapshots.times) - 1)))
    assert 0.02 < deepest < 0.05  # 33 mm of rain, give or take the flow between cells
    args = [a.format(run=run, tmp=tmp_path) for a in COMMANDS[command]]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    assert scenes, "no 3-D scene was built"
    for scene in scenes:
        assert scene.exaggeration == EXAGGERATION
        _assert_on_datum(scene, datum, deepest)


def test_the_2d_map_and_the_report_of_helsinki_use_its_datum(flat_runs, scenes, monkeypatch):
    """Helsinki flat at 5 m: the map's pack and the report's scene stand at 5 m (the report
    drew the catalogue's Helsinki, flat at 0 m, before)."""
    import viz.map2d
    from viz.report import run_parts

    run, datum = flat_runs["helsinki"]
    drawn = []
    original = viz.map2d.draw_map

    def recorded(pack, state, out):
        drawn.append(pack)
        return original(pack, state, out)

    monkeypatch.setattr(viz.map2d, "draw_map", recorded)
    parts = run_parts(run)
    assert parts.stills
    assert parts.map_png
    assert [float(p.terrain.elevation.min()) for p in drawn] == [datum]
    assert [float(p.terrain.elevation.max()) for p in drawn] == [datum]
    assert len(scenes) == 1
    _assert_on_datum(scenes[0], datum, max_depth=0.05)


def test_load_target_of_a_flat_run_gives_its_flat_pack(flat_runs):
    from viz.cli import load_target

    run, datum = flat_runs["monaco"]
    pack, state = load_target(str(run), None, 300.0)
    assert np.allclose(pack.terrain.elevation, datum)
    assert np.allclose(pack.buildings["ground_elevation"], datum)
    assert pack.terrain.resolution == 30.0
    assert state.time == 300.0


def _edit_city(run, tmp_path, edit) -> object:
    """A copy of ``run`` whose run.json's scenario.city is ``edit(city)``."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    manifest = json.loads((copy / "run.json").read_text(encoding="utf-8"))
    edit(manifest["scenario"])
    (copy / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    return copy


def test_a_run_json_without_the_terrain_entries_takes_the_schema_defaults(flat_runs, tmp_path):
    """An older run.json's city without ``flat`` and ``datum``: the schema's defaults
    (flat: false, the catalogue's DEM), as the run itself read its scenario."""
    from viz.runs import load_run_pack, run_city_source

    run, _ = flat_runs["monaco"]

    def drop(scenario):
        del scenario["city"]["flat"], scenario["city"]["datum"]

    older = _edit_city(run, tmp_path, drop)
    source, options = run_city_source(older)
    assert (source, options["flat"], options["flat_elevation"]) == ("monaco", False, 0.0)
    pack = load_run_pack(older)
    assert pack.terrain.resolution == 30.0
    assert float(pack.terrain.elevation.max()) > 500.0  # Monaco's DEM, not a flat grid


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (lambda s: s.pop("city"), "run.json names no scenario.city"),
        (lambda s: s["city"].update(terrain="flat"), "scenario.city.terrain"),
    ],
    ids=["no city", "unknown entry"],
)
def test_a_run_json_whose_city_cannot_be_read_is_one_clear_message(flat_runs, tmp_path, edit, said):
    run, _ = flat_runs["monaco"]
    broken = _edit_city(run, tmp_path, edit)
    out = tmp_path / "v.png"
    result = CliRunner().invoke(_app(), ["render", str(broken), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert said in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not out.exists()
