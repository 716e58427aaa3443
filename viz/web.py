"""``twin render --html --stills`` and ``--gltf``: a run to look at outside twin.

- :func:`write_html`: one self-contained page (no CDN, no network: PNG frames inlined as
  base64, one inline script allowed by its SHA-256 in the page's Content-Security-Policy)
  with a time slider over the run's depth snapshots, a play button and two camera views
  (overview, oblique). The frames are rendered off-screen by :class:`viz.scene.CityScene`
  (built once, updated per snapshot). No free camera, but it needs no WebGL (mail
  clients, locked-down or old browsers, printing) and shows agents and texts as the
  stills do; the interactive 3-D page of plain ``--html`` is :mod:`viz.web3d`.
- :func:`write_gltf`: the scene's meshes (terrain, water, buildings, roads, agents) as one
  glTF 2.0 file with its buffers inlined (VTK's ``vtkGLTFExporter`` through PyVista), for
  Blender and Cesium. Texts and legends are 2-D overlays and are not exported.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import warnings
from pathlib import Path

import numpy as np

#: Views each frame of the HTML page is drawn from.
HTML_CAMERAS = ("overview", "oblique")
#: Most frames the HTML page holds (snapshots are subsampled evenly beyond this).
MAX_HTML_FRAMES = 48

_SCRIPT = """
const frames = JSON.parse(document.getElementById("frames").textContent);
const img = document.getElementById("view");
const slider = document.getElementById("time");
const label = document.getElementById("clock");
const play = document.getElementById("play");
let cam = frames.cameras[0];
let timer = null;
function show() {
  const k = Number(slider.value);
  img.src = "data:image/png;base64," + frames.images[cam][k];
  label.textContent = frames.labels[k];
}
slider.max = String(frames.labels.length - 1);
slider.addEventListener("input", show);
for (const b of document.querySelectorAll("button.cam")) {
  b.addEventListener("click", () => { cam = b.dataset.cam; show(); });
}
play.addEventListener("click", () => {
  if (timer) { clearInterval(timer); timer = null; play.textContent = "play"; return; }
  play.textContent = "pause";
  timer = setInterval(() => {
    slider.value = String((Number(slider.value) + 1) % frames.labels.length);
    show();
  }, 700);
});
show();
"""


def _frame_indices(count: int, most: int = MAX_HTML_FRAMES) -> list[int]:
    """Snapshot indices the page shows: all, or ``most`` evenly spaced (first and last kept)."""
    if count <= most:
        return list(range(count))
    return sorted({int(k) for k in np.rint(np.linspace(0, count - 1, most))})


def write_html(
    target: str,
    out: Path | str,
    *,
    city: str | None = None,
    size: tuple[int, int] = (960, 600),
    exaggeration: float = 1.5,
) -> Path:
    """Write the offline viewer page of a run folder (a slider over its depth snapshots) or
    of a city by name (one dry frame) to ``out``, atomically; returns ``out``.

    Parameters
    ----------
    target
        A run folder with depth snapshots, or a city name.
    out
        The HTML file to write.
    city
        City of a run folder without ``run.json``.
    size
        Frame (width, height), pixels.
    exaggeration
        Vertical exaggeration of the 3-D frames.
    """
    import io

    from PIL import Image

    from twin.atomic import write_text
    from viz.cli import load_target
    from viz.scene import CityScene, SceneState, clock_text

    folder = Path(target)
    if folder.is_dir():
        from viz.runs import DepthSnapshots

        snapshots = DepthSnapshots.find(folder)
        pack, _ = load_target(target, city, float(snapshots.times[0]))
        picks = _frame_indices(len(snapshots.times))
        states = [
            SceneState(time=float(snapshots.times[k]), depth=snapshots.depth(k)) for k in picks
        ]
        title = f"twin view: {folder.name}"
    else:
        pack, state = load_target(target, city, None)
        states = [state]
        title = f"twin view: {target}"
    images: dict[str, list[str]] = {c: [] for c in HTML_CAMERAS}
    scene = CityScene(pack, exaggeration=exaggeration, window_size=size)
    try:
        for state in states:
            scene.update(state)
            for cam in HTML_CAMERAS:
                scene.camera(cam)
                buffer = io.BytesIO()
                Image.fromarray(scene.screenshot()[:, :, :3]).save(buffer, format="PNG")
                images[cam].append(base64.b64encode(buffer.getvalue()).decode("ascii"))
    finally:
        scene.close()
    data = {
        "cameras": list(HTML_CAMERAS),
        "labels": [clock_text(s.time) for s in states],
        "images": images,
    }
    return write_text(Path(out), page(title, data, pack.attribution))


def page(title: str, data: dict, attribution: str) -> str:
    """The viewer page: ``data`` (cameras, labels, base64 PNGs per camera) in a JSON block,
    the script allowed by its hash, nothing fetched."""
    digest = base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode()
    payload = json.dumps(data).replace("</", "<\\/")
    buttons = "".join(f'<button class="cam" data-cam="{c}">{c}</button>' for c in data["cameras"])
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; \
style-src 'unsafe-inline'; script-src 'sha256-{digest}'">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 1em auto; max-width: 70em; color: #222; }}
#view {{ max-width: 100%; display: block; border: 1px solid #ccc; }}
#controls {{ display: flex; gap: 0.8em; align-items: center; margin: 0.5em 0; }}
#time {{ flex: 1; }}
footer {{ font-size: 0.85em; color: #444; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<div id="controls">{buttons}<button id="play">play</button>
<input id="time" type="range" min="0" max="0" value="0" aria-label="time">
<span id="clock"></span></div>
<img id="view" alt="3-D view of the run">
<footer>{html.escape(attribution)}</footer>
<script id="frames" type="application/json">{payload}</script>
<script>{_SCRIPT}</script>
</body>
</html>
"""


def write_gltf(
    target: str,
    out: Path | str,
    *,
    city: str | None = None,
    time: float | None = None,
    exaggeration: float = 1.5,
) -> Path:
    """Write the scene of a city or a run folder at ``time`` (default: its last snapshot)
    as glTF 2.0 with inlined buffers to ``out``, atomically; returns ``out``."""
    from twin.atomic import atomic_path
    from viz.cli import load_target
    from viz.scene import CityScene

    pack, state = load_target(target, city, time)
    scene = CityScene(pack, exaggeration=exaggeration, window_size=(64, 64))
    try:
        scene.update(state)
        scene.prepare_export()
        with atomic_path(out) as tmp, warnings.catch_warnings():
            # PyVista says it exports surfaces of the terrain's structured grid: intended
            warnings.filterwarnings("ignore", message="Plotter contains non-PolyData")
            scene.plotter.export_gltf(str(tmp), inline_data=True, rotate_scene=True)
    finally:
        scene.close()
    return Path(out)
