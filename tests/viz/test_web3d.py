"""``twin render --html``: the interactive offline 3-D page (vtk.js, inlined) with a time
slider over the run's snapshots; opened in headless chromium."""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import zipfile

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.viz.conftest import same_hue
from tests.viz.test_render_cli import _app, _run_folder
from tests.viz.test_report_browser import browser  # noqa: F401  (the fixture)

#: The middle of the water colours (0.5 m), as in test_render_cli.
WATER = np.array([61, 143, 214])


def _page(tmp_path, monaco_pack):
    """The 3-D page of a run folder with 0 m at 0 s and 0.5 m everywhere at 600 s."""
    folder = _run_folder(tmp_path, monaco_pack, depth_m=0.5)
    out = tmp_path / "view.html"
    args = ["render", str(folder), "--city", "monaco", "--html", "-o", str(out)]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    return out


def _data(out) -> dict:
    text = out.read_text(encoding="utf-8")
    block = re.search(r'<script id="twin-data" type="application/json">(.*?)</script>', text, re.S)
    return json.loads(block.group(1))


def _flooded(monaco_pack) -> tuple[int, int]:
    """Wet cells and drive links closed to cars under 0.5 m everywhere, by the twin's rules."""
    from twin.coupling.roads import flood_roads, sample_links_on_grid

    terrain = monaco_pack.terrain
    depth = np.full(terrain.shape, 0.5)
    sampler = sample_links_on_grid(monaco_pack.links("drive"), terrain.transform, terrain.shape)
    return int((depth > 0.01).sum()), int(flood_roads(sampler, depth).closed_cars.sum())


def test_page_holds_the_scene_and_each_snapshots_water_and_roads(tmp_path, monaco_pack):
    out = _page(tmp_path, monaco_pack)
    text = out.read_text(encoding="utf-8")
    assert "default-src 'none'" in text  # the CSP: nothing may be fetched
    assert re.search(r"<script[^>]*\ssrc=", text) is None
    assert re.search(r"""(src|href)=["']?https?:""", text) is None
    data = _data(out)
    assert data["labels"] == ["T+00:00:00", "T+00:10:00"]
    ny, nx = monaco_pack.terrain.shape
    depth = [
        np.frombuffer(gzip.decompress(base64.b64decode(d)), dtype="<u2").reshape(ny, nx)
        for d in data["depth"]
    ]
    assert depth[0].max() == 0
    assert (depth[1] == 500).all()  # millimetres
    roads = [np.frombuffer(base64.b64decode(r), dtype="<f4") for r in data["roads"]]
    assert (roads[0] == 1).all()
    assert (roads[1] == -1).sum() == _flooded(monaco_pack)[1]
    ground = np.frombuffer(base64.b64decode(data["ground"]), dtype="<f4").reshape(ny, nx)
    assert np.allclose(ground, monaco_pack.terrain.elevation, atol=1e-3)  # float32 of metres
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(data["scene"]))) as archive:
        scene = json.loads(archive.read("index.json"))
    names = re.findall(r'"name": "(\w+)"', json.dumps(scene["scene"]))
    assert {"elevation", "depth", "speed_index"} <= set(names)
    for entry in scene["hashes"].values():
        assert entry["type"] != "Float64Array"  # float32 points and arrays


def test_page_runs_offline_in_headless_chromium_and_the_slider_moves_the_water(
    browser,  # noqa: F811
    tmp_path,
    monaco_pack,
):
    from PIL import Image

    out = _page(tmp_path, monaco_pack)
    wet_cells, closed = _flooded(monaco_pack)
    page = browser.new_page(viewport={"width": 900, "height": 600})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(out.as_uri(), wait_until="load")
    # software WebGL in a loaded machine: the wait bounds a hang only
    page.wait_for_function("() => document.body.dataset.ready === '1'", timeout=120_000)

    def seen() -> tuple[dict, np.ndarray]:
        # two animation frames after render(): the canvas has been composited
        page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
        png = page.locator("#view3d canvas").screenshot()
        pixels = np.asarray(Image.open(io.BytesIO(png)))[:, :, :3].reshape(-1, 3)
        state = page.evaluate("() => ({...document.body.dataset})")
        return state | {"clock": page.text_content("#clock")}, pixels

    first, dry = seen()
    page.eval_on_selector("#time", "s => { s.value = '1'; s.dispatchEvent(new Event('input')); }")
    page.wait_for_function("() => document.body.dataset.step === '1'", timeout=60_000)
    second, wet = seen()
    page.click("button.cam[data-cam=overview]")
    _, overview = seen()
    # the one canvas is vtk.js's WebGL view (software WebGL in headless chromium)
    context = page.evaluate(
        """() => {
        const gl = window.global.renderWindow.getViews()[0].getContext();
        const canvases = document.querySelectorAll('#view3d canvas');
        return [canvases.length, gl.canvas === canvases[0], gl.getParameter(gl.VERSION)];
        }"""
    )
    page.close()
    assert errors == []
    assert requests == [out.as_uri()]  # the file itself, nothing else
    assert context[:2] == [1, True]
    assert context[2].startswith("WebGL")
    assert (first["clock"], first["wetCells"], first["closedRoads"]) == ("T+00:00:00", "0", "0")
    assert (second["clock"], second["wetCells"]) == ("T+00:10:00", str(wet_cells))
    assert second["closedRoads"] == str(closed)
    # the canvas drew the city (many colours, hardly any water) and then the water: 0.5 m
    # everywhere turns most of the view water-blue (the sea and walls stay as they are)
    assert len(np.unique(dry, axis=0)) > 1000
    assert same_hue(dry, WATER).mean() < 0.05
    assert same_hue(wet, WATER).mean() > same_hue(dry, WATER).mean() + 0.3
    assert (overview != wet).any(axis=1).mean() > 0.2  # another camera


def test_page_of_a_city_and_of_a_pack_from_python(tmp_path, monaco_pack):
    from viz.scene import SceneState
    from viz.web3d import scene_html

    out = tmp_path / "city.html"
    result = CliRunner().invoke(_app(), ["render", "monaco", "--html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert _data(out)["labels"] == ["T+00:00:00"]
    closed = np.zeros(monaco_pack.links("drive").n_links, dtype=bool)
    closed[:5] = True
    text = scene_html(
        monaco_pack,
        states=[SceneState(time=60.0), SceneState(time=120.0, closed=closed)],
        title="drill <3-D>",
    )
    data = json.loads(
        re.search(
            r'<script id="twin-data" type="application/json">(.*?)</script>', text, re.S
        ).group(1)
    )
    assert data["labels"] == ["T+00:01:00", "T+00:02:00"]
    roads = np.frombuffer(base64.b64decode(data["roads"][1]), dtype="<f4")
    assert (roads == -1).sum() == 5
    assert "<title>drill &lt;3-D&gt;</title>" in text
    # wet as the stills are (depth > 0.01 m) whatever the millimetre rounding
    depth = np.zeros(monaco_pack.terrain.shape)
    depth[0, :3] = (0.0104, 0.01, 0.0096)
    text = scene_html(monaco_pack, states=[SceneState(depth=depth)])
    packed = re.search(r'"depth": \["([^"]+)"\]', text).group(1)
    units = np.frombuffer(gzip.decompress(base64.b64decode(packed)), dtype="<u2")
    assert units[:3].tolist() == [10, 0, 0]
    assert units.sum() == 10
    with pytest.raises(ValueError, match="is not the terrain's"):
        scene_html(monaco_pack, states=[SceneState(depth=np.zeros((3, 4)))])


def _agent_states(monaco_pack):
    """Two states of a drill: 5 vehicles (states 0-3) and 2 units, then 3 walkers, one
    incident and 3 units; points inside the map."""
    xmin, ymin, xmax, ymax = monaco_pack.terrain.bounds
    t = np.linspace(0.3, 0.7, 5)
    pts = np.column_stack([xmin + t * (xmax - xmin), ymin + t * (ymax - ymin)])
    from viz.scene import SceneState

    return [
        SceneState(time=0.0, vehicles=pts, vehicle_state=np.array([0, 1, 2, 3, 0]), units=pts[:2]),
        SceneState(
            time=60.0,
            walkers=pts[:3],
            walker_state=np.array([3, 3, 1]),
            incidents=pts[4:],
            units=pts[:3],
            warning="amber",
        ),
    ]


def test_agents_incidents_and_units_per_step(tmp_path, monaco_pack):
    from dataclasses import replace

    from viz.scene import agent_points
    from viz.web3d import scene_html

    states = _agent_states(monaco_pack)
    text = scene_html(monaco_pack, states=states)
    data = json.loads(
        re.search(
            r'<script id="twin-data" type="application/json">(.*?)</script>', text, re.S
        ).group(1)
    )

    def floats(key, step):
        return np.frombuffer(base64.b64decode(data["agents"][step][key]), dtype="<f4")

    xmin, ymin, xmax, ymax = monaco_pack.terrain.bounds
    origin = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2, 0.0])
    expected = agent_points(monaco_pack, states[0].vehicles, 1.5) - origin
    assert np.allclose(floats("vehicles", 0).reshape(-1, 3), expected, atol=0.01)  # float32
    assert floats("vehicles_state", 0).tolist() == [0, 1, 2, 3, 0]
    assert floats("walkers_state", 1).tolist() == [3, 3, 1]
    sizes = [[floats(k, step).size // 3 for k in ("vehicles", "walkers", "incidents", "units")]
             for step in (0, 1)]  # fmt: skip
    assert sizes == [[5, 0, 0, 2], [0, 3, 1, 3]]
    assert "agent in hazard" in text  # the legend names the agent states
    with pytest.raises(ValueError, match="vehicle_state has 1 codes for 5 vehicles"):
        scene_html(monaco_pack, states=[replace(states[0], vehicle_state=np.zeros(1))])


def test_agents_and_warning_move_in_headless_chromium(browser, tmp_path, monaco_pack):  # noqa: F811
    from viz.web3d import scene_html

    out = tmp_path / "drill.html"
    out.write_text(scene_html(monaco_pack, states=_agent_states(monaco_pack)), encoding="utf-8")
    page = browser.new_page(viewport={"width": 800, "height": 500})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(out.as_uri(), wait_until="load")
    page.wait_for_function("() => document.body.dataset.ready === '1'", timeout=120_000)
    first = page.evaluate("() => document.body.dataset.agents")
    warnings = [page.text_content("#warning")]
    page.eval_on_selector("#time", "s => { s.value = '1'; s.dispatchEvent(new Event('input')); }")
    page.wait_for_function("() => document.body.dataset.step === '1'", timeout=60_000)
    second = page.evaluate("() => document.body.dataset.agents")
    warnings.append(page.text_content("#warning"))
    page.close()
    assert errors == []
    # vehicles, walkers, incidents, units shown at each step
    assert first == "5,0,0,2"
    assert second == "0,3,1,3"
    assert warnings == ["", "warning: amber"]


def test_3d_page_refuses_a_size_and_stills_need_html(tmp_path):
    result = CliRunner().invoke(
        _app(), ["render", "monaco", "--html", "--size", "300x200", "-o", "x"]
    )
    assert result.exit_code == 2
    assert "--size" in result.output
    assert "--stills" in result.output
    result = CliRunner().invoke(_app(), ["render", "monaco", "--stills", "-o", "x.png"])
    assert result.exit_code == 2
    assert "--html --stills" in result.output
    assert "Traceback" not in result.output
