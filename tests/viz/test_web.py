"""``twin render --html --stills`` (offline page of pre-rendered images with a time slider)
and ``--gltf`` (glTF 2.0). The interactive 3-D page (``--html``) is tested in test_web3d."""

from __future__ import annotations

import base64
import json
import re

from typer.testing import CliRunner

from tests.viz.test_render_cli import _app, _run_folder
from tests.viz.test_report_browser import browser  # noqa: F401  (the fixture)


def _html(tmp_path, monaco_pack):
    folder = _run_folder(tmp_path, monaco_pack, depth_m=0.5)
    out = tmp_path / "view.html"
    args = ["render", str(folder), "--city", "monaco", "--html", "--stills", "-o", str(out)]
    result = CliRunner().invoke(_app(), [*args, "--size", "320x200"])
    assert result.exit_code == 0, result.output
    return out


def _frames(out) -> dict:
    text = out.read_text(encoding="utf-8")
    block = re.search(r'<script id="frames" type="application/json">(.*?)</script>', text, re.S)
    return json.loads(block.group(1))


def test_html_viewer_holds_every_snapshot_from_two_cameras(tmp_path, monaco_pack):
    from io import BytesIO

    from PIL import Image

    out = _html(tmp_path, monaco_pack)
    text = out.read_text(encoding="utf-8")
    assert "http://" not in text
    assert "https://" not in text
    frames = _frames(out)
    assert frames["labels"] == ["T+00:00:00", "T+00:10:00"]
    assert set(frames["images"]) == {"overview", "oblique"}
    for images in frames["images"].values():
        assert len(images) == 2
        decoded = [Image.open(BytesIO(base64.b64decode(i))) for i in images]
        assert all(im.size == (320, 200) for im in decoded)
        assert decoded[0].tobytes() != decoded[1].tobytes()  # dry, then 0.5 m of water


def test_html_viewer_runs_offline_in_headless_chromium(browser, tmp_path, monaco_pack):  # noqa: F811
    out = _html(tmp_path, monaco_pack)
    page = browser.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(out.as_uri(), wait_until="load")
    first = (page.get_attribute("#view", "src"), page.text_content("#clock"))
    page.eval_on_selector("#time", "s => { s.value = '1'; s.dispatchEvent(new Event('input')); }")
    second = (page.get_attribute("#view", "src"), page.text_content("#clock"))
    page.click("button.cam[data-cam=oblique]")
    oblique = page.get_attribute("#view", "src")
    width = page.eval_on_selector("#view", "i => i.complete && i.naturalWidth")
    page.close()
    assert errors == []
    assert [r for r in requests if not r.startswith("data:")] == [out.as_uri()]
    assert first[1] == "T+00:00:00"
    assert second[1] == "T+00:10:00"
    assert first[0] != second[0] != oblique
    assert width == 320


def test_html_of_a_city_has_one_frame_and_refuses_a_time(tmp_path, monaco_pack):
    out = tmp_path / "city.html"
    args = ["render", "monaco", "--html", "--stills", "-o", str(out), "--size", "160x100"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    assert _frames(out)["labels"] == ["T+00:00:00"]
    result = CliRunner().invoke(_app(), [*args, "--time", "60"])
    assert result.exit_code == 2
    assert "--time" in result.output
    assert "Traceback" not in result.output


def _gltf(tmp_path, monaco_pack, time: str):
    folder = _run_folder(tmp_path / time, monaco_pack, depth_m=0.5)
    out = tmp_path / f"scene{time}.gltf"
    args = ["render", str(folder), "--city", "monaco", "--gltf", "--time", time, "-o", str(out)]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8"))


def test_gltf_parses_with_inlined_buffers_and_water_only_when_wet(tmp_path, monaco_pack):
    dry, wet = _gltf(tmp_path, monaco_pack, "0"), _gltf(tmp_path, monaco_pack, "600")
    for data in (dry, wet):
        assert data["asset"]["version"] == "2.0"
        for buffer in data["buffers"]:
            head, payload = buffer["uri"].split(",", 1)
            assert head == "data:application/octet-stream;base64"
            assert len(base64.b64decode(payload)) == buffer["byteLength"]
        for accessor in data["accessors"]:
            view = data["bufferViews"][accessor["bufferView"]]
            assert view["buffer"] < len(data["buffers"])
    # terrain, buildings (one mesh per use), roads; the wet state adds the water surface
    # and the empty agent clouds are left out of both
    assert len(wet["meshes"]) == len(dry["meshes"]) + 1
    assert len(dry["meshes"]) == 2 + len(set(monaco_pack.buildings["use"].astype(str)))


def test_map_html_and_gltf_are_exclusive(tmp_path):
    result = CliRunner().invoke(_app(), ["render", "monaco", "--html", "--gltf", "-o", "x"])
    assert result.exit_code == 2
    assert "pass one of them" in result.output
