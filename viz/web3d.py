"""An interactive 3-D page of a city or a run that works offline: ``twin render RUN --html``.

The page is one HTML file holding everything it needs, fetching nothing:

- the scene of :class:`viz.scene.CityScene` (terrain, buildings, roads, water), serialised
  to a vtk.js scene by trame-vtk's serialisers (no trame server: the same calls its
  ``viewport.geometry.view.get.export`` makes) and zipped as trame's ``.vtksz`` files are;
- trame-vtk's standalone vtk.js viewer (``trame_vtk/tools/static_viewer.html``: the
  OfflineLocalView bundle, about 1 MB), inlined; it draws the scene with WebGL and gives a
  free camera (drag to rotate, wheel to zoom, right-drag to pan);
- the run's water at each snapshot: depth per terrain cell in millimetres (uint16,
  gzip, base64; unpacked by the browser's ``DecompressionStream``) and the ground grid, from
  which a small script (``web3d.js``) builds the water surface of the chosen time as
  :meth:`viz.scene.CityScene.update` does (wet cells only, corners at the mean height of the
  four cells around them) and swaps it into the water mesh when the time slider moves,
  with the road colours (speed index, closures) and the points of vehicles and walkers (by
  state), incidents and units of that time.

Scripts are allowed by their SHA-256 in the page's Content-Security-Policy
(``default-src 'none'``), so the page cannot load anything even if asked to. Coordinates
are shifted to the terrain's centre so that float32 keeps centimetres.

:func:`scene_html` returns the page as a string (the drill web app can serve it);
:func:`write_html3d` writes it atomically.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import io
import json
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from twin.city import CityPack
    from viz.scene import SceneState

#: Most time steps a page holds (snapshots are subsampled evenly beyond this).
MAX_STEPS = 48
#: Depth resolution of the page's water (m per stored unit; uint16 holds up to 65 m).
DEPTH_UNIT = 0.001
#: Point clouds of the page, in the order web3d.js finds them (their first point counts
#: are 1, 2, 3, 4), with the :class:`viz.scene.SceneState` field of their state codes.
AGENTS = (
    ("vehicles", "vehicle_state"),
    ("walkers", "walker_state"),
    ("incidents", None),
    ("units", None),
)
_MESHES = {
    "vehicles": "vehicle_mesh",
    "walkers": "walker_mesh",
    "incidents": "incident_mesh",
    "units": "unit_mesh",
}

_SCRIPT = Path(__file__).with_name("web3d.js")
_FAVICON = re.compile(r"https://kitware\.github\.io/vtk-js/icon/favicon-\$\{\w+\}x\$\{\w+\}\.png")


def _viewer_scripts() -> list[str]:
    """The inline scripts of trame-vtk's standalone vtk.js viewer, in page order."""
    from trame_vtk.tools.vtksz2html import HTML_VIEWER_PATH

    text = Path(HTML_VIEWER_PATH).read_text(encoding="utf-8")
    found = re.findall(r"<script( type=\"module\")?>(.*?)</script>", text, re.S)
    if len(found) != 2 or not found[1][0]:
        raise RuntimeError(
            f"{HTML_VIEWER_PATH}: expected a setup script and the vtk.js module, found "
            f"{len(found)} scripts (trame-vtk's viewer changed; pin trame-vtk)"
        )
    setup, module = (body for _, body in found)
    # The bundle adds favicons from kitware.github.io to the page's head: point them at an
    # empty data URL, so the page asks the network for nothing (the CSP would block it, but
    # as a console error)
    module = _FAVICON.sub("data:,", module)
    return [setup, module]


def _steps(
    source: CityPack | str | Path,
    states: Sequence[SceneState] | None,
    city: str | None,
) -> tuple[CityPack, list[SceneState], str]:
    """The pack, the states to page through and a title, from a pack, a city name or a
    run folder (its depth snapshots, at most :data:`MAX_STEPS` evenly spaced)."""
    from viz.scene import SceneState

    if not isinstance(source, (str, Path)):
        return source, list(states or [SceneState()]), f"twin 3-D view: {source.name}"
    folder = Path(source)
    if not folder.is_dir():
        from viz.cli import load_target

        pack, state = load_target(str(source), city, None)
        return pack, list(states or [state]), f"twin 3-D view: {source}"
    from twin.coupling.roads import flood_roads, sample_links_on_grid
    from viz.cli import load_target
    from viz.runs import DepthSnapshots
    from viz.web import _frame_indices

    snapshots = DepthSnapshots.find(folder)
    pack, _ = load_target(str(folder), city, float(snapshots.times[0]))
    terrain = pack.terrain
    sampler = sample_links_on_grid(pack.links("drive"), terrain.transform, terrain.shape)
    steps = []
    for k in _frame_indices(len(snapshots.times), MAX_STEPS):
        depth = snapshots.depth(k)
        # the roads by the twin's one road rule, as the report's key moments draw them
        roads = flood_roads(sampler, np.nan_to_num(depth, nan=0.0))
        steps.append(
            SceneState(
                time=float(snapshots.times[k]),
                depth=depth,
                speed_index=roads.speed_factor,
                closed=roads.closed_cars,
            )
        )
    return pack, steps, f"twin 3-D view: {folder.name}"


def _slim(mesh, origin: np.ndarray):
    """A PolyData copy of a mapper's input for the page: surface only, float32 points
    relative to ``origin`` (m), float32 arrays, no extra id arrays."""
    import pyvista as pv

    data = pv.wrap(mesh)
    if not isinstance(data, pv.PolyData):
        data = data.extract_surface(algorithm=None, pass_pointid=False, pass_cellid=False)
    else:
        data = data.copy()
    data.points = (np.asarray(data.points) - origin).astype(np.float32)
    for arrays in (data.point_data, data.cell_data):
        for name in list(arrays.keys()):
            if arrays[name].dtype == np.float64:
                arrays[name] = arrays[name].astype(np.float32)
    return data


def _placeholder_water(pv):
    """The water mesh the page starts from: one far-away triangle with a ``depth`` cell
    array (the script swaps in each time step's wet cells)."""
    mesh = pv.PolyData(
        np.array([[0, 0, -1e4], [1, 0, -1e4], [0, 1, -1e4]], dtype=np.float32),
        faces=np.array([3, 0, 1, 2]),
    )
    mesh.cell_data["depth"] = np.zeros(1, dtype=np.float32)
    return mesh


def _cameras(scene, origin: np.ndarray) -> dict[str, dict]:
    """Camera presets (overview, oblique) as vtk.js camera settings, relative to ``origin``."""
    out = {}
    for name in ("overview", "oblique"):
        scene.camera(name)
        cam = scene.plotter.camera
        out[name] = {
            "position": (np.asarray(cam.position) - origin).tolist(),
            "focalPoint": (np.asarray(cam.focal_point) - origin).tolist(),
            "viewUp": list(cam.up),
            "parallelProjection": bool(cam.parallel_projection),
            "parallelScale": float(cam.parallel_scale),
            "viewAngle": float(cam.view_angle),
        }
    return out


def _serialise(scene, origin: np.ndarray) -> bytes:
    """The scene's render window as a vtk.js scene (trame-vtk's serialisers), zipped."""
    import pyvista as pv
    from trame_vtk.modules.vtk.serializers import (
        SynchronizationContext,
        extract_array_hash,
        initialize_serializers,
        serialize,
    )

    # Agents, incidents and units start as clouds of 1, 2, 3 and 4 points 10 km under the
    # ground: the serialiser keeps only the colour array of a mesh, so the script tells the
    # clouds apart by their first point count (see AGENTS) before it swaps each step's in.
    for count, (kind, _) in enumerate(AGENTS, start=1):
        mesh = pv.PolyData(np.tile([0.0, 0.0, -1e4], (count, 1)).astype(np.float32))
        mesh.point_data["state"] = np.zeros(count, dtype=np.float32)
        scene.point_actors[id(getattr(scene, _MESHES[kind]))].mapper.SetInputData(mesh)
    # vtk.js draws every colour bar at one place, over each other: the page's legend says it
    for title in list(scene.plotter.scalar_bars.keys()):
        scene.plotter.remove_scalar_bar(title, render=False)
    scene.water_actor.mapper.SetInputData(_placeholder_water(pv))
    for actor in scene.plotter.renderer.actors.values():
        mapper = actor.GetMapper() if hasattr(actor, "GetMapper") else None
        if mapper is not None and mapper.GetInput() is not None:
            mapper.SetInputData(_slim(mapper.GetInput(), origin))
    initialize_serializers()
    context = SynchronizationContext()
    description = serialize(None, scene.plotter.ren_win, "twin-view", context, 1)
    hashes = {}
    for entry in extract_array_hash(description):
        key = entry["hash"]
        hashes[key] = dict(**entry, content=context.get_cached_data_array(key, False))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.json", json.dumps({"hashes": hashes, "scene": description}))
    return buffer.getvalue()


def _pack_depth(depth: np.ndarray | None, shape: tuple[int, int], wet_depth: float) -> str:
    """A depth grid (m; NaN = none) as gzip'd little-endian uint16 millimetres, base64:
    0 on cells the scene calls dry (depth <= ``wet_depth``), at least 1 on wet ones, so the
    page draws the cells the stills draw whatever the rounding."""
    grid = np.zeros(shape) if depth is None else np.nan_to_num(np.asarray(depth, float))
    if grid.shape != shape:
        raise ValueError(f"depth grid {grid.shape} is not the terrain's {shape}")
    units = np.clip(np.rint(grid / DEPTH_UNIT), 1, np.iinfo(np.uint16).max)
    units = np.where(grid > wet_depth, units, 0).astype("<u2")
    return base64.b64encode(gzip.compress(units.tobytes(), mtime=0)).decode("ascii")


def _pack_agents(pack: CityPack, state: SceneState, exaggeration: float, origin: np.ndarray):
    """Each kind of :data:`AGENTS` of ``state``: points (float32 x, y, z relative to
    ``origin``, base64) and, for vehicles and walkers, state codes (float32, base64)."""
    from viz.scene import agent_points

    out = {}
    for kind, codes in AGENTS:
        xy = np.asarray(getattr(state, kind), dtype=np.float64).reshape(-1, 2)
        xyz = agent_points(pack, xy, exaggeration) - origin
        out[kind] = base64.b64encode(xyz.astype("<f4").tobytes()).decode("ascii")
        if codes is not None:
            values = np.zeros(len(xy)) if len(xy) == 0 else getattr(state, codes)
            values = np.asarray(values, dtype="<f4")
            if values.shape != (len(xy),):
                raise ValueError(f"{codes} has {values.size} codes for {len(xy)} {kind}")
            out[f"{kind}_state"] = base64.b64encode(values.tobytes()).decode("ascii")
    return out


def _pack_roads(values: np.ndarray) -> str:
    """Road colour values (:func:`viz.scene.road_scalars`) as little-endian float32, base64."""
    return base64.b64encode(np.asarray(values, dtype="<f4").tobytes()).decode("ascii")


def scene_html(
    source: CityPack | str | Path,
    *,
    states: Sequence[SceneState] | None = None,
    city: str | None = None,
    exaggeration: float = 1.5,
    title: str | None = None,
) -> str:
    """The interactive offline 3-D page of a city or a run, as one HTML string.

    Parameters
    ----------
    source
        A :class:`twin.city.CityPack`, a city name (``"monaco"``) or a run folder with depth
        snapshots (``depth.tif``; at most :data:`MAX_STEPS` of them are kept).
    states
        For a pack or a city: the states to page through (time, warning level, depth,
        roads, vehicles and walkers by state, incidents, units); default one dry state at
        t = 0. Ignored for
        a run folder, whose roads follow its depth by the twin's road rule
        (:func:`twin.coupling.roads.flood_roads`).
    city
        City of a run folder without ``run.json``.
    exaggeration
        Vertical exaggeration of terrain, buildings and water (1 = true scale).
    title
        Page title; default names the city or run folder.

    Returns
    -------
    str
        The page: vtk.js viewer, scene and water per time step inlined; it fetches nothing.
    """
    from viz.scene import WATER_LIFT, CityScene, clock_text, road_scalars

    pack, steps, default_title = _steps(source, states, city)
    terrain = pack.terrain
    xmin, ymin, xmax, ymax = terrain.bounds
    origin = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2, 0.0])
    scene = CityScene(pack, exaggeration=exaggeration, window_size=(64, 64))
    try:
        cameras = _cameras(scene, origin)
        scene.camera("oblique")
        archive = _serialise(scene, origin)
        wet_depth = scene.wet_depth
        n_links = scene.road_mesh.n_cells
    finally:
        scene.close()
    ground = np.asarray(terrain.elevation, dtype="<f4")
    data = {
        "scene": base64.b64encode(archive).decode("ascii"),
        "grid": {
            "nx": int(terrain.shape[1]),
            "ny": int(terrain.shape[0]),
            "x0": float(terrain.x0 - origin[0]),
            "y0": float(terrain.y0 - origin[1]),
            "res": float(terrain.resolution),
            "exaggeration": float(exaggeration),
            "lift": float(WATER_LIFT),
            "depthUnit": DEPTH_UNIT,
        },
        "ground": base64.b64encode(ground.tobytes()).decode("ascii"),
        "labels": [clock_text(s.time) for s in steps],
        "warnings": [f"warning: {s.warning}" if s.warning else "" for s in steps],
        "depth": [_pack_depth(s.depth, terrain.shape, wet_depth) for s in steps],
        "roads": [_pack_roads(road_scalars(s, n_links)) for s in steps],
        "agents": [_pack_agents(pack, s, exaggeration, origin) for s in steps],
        "cameras": cameras,
    }
    shown = any(len(getattr(s, kind)) for s in steps for kind, _ in AGENTS)
    return page(title or default_title, data, pack.attribution, agents=shown)


def page(title: str, data: dict, attribution: str, *, agents: bool = False) -> str:
    """The page around ``data`` (see :func:`scene_html`): controls, legend (with the agent
    states, incidents and units when ``agents``), the data block, twin's script and the
    viewer's scripts, each allowed by its hash."""
    from viz.scene import (
        AGENT_COLOURS,
        AGENT_STATES,
        BUILDING_RGB,
        CLOSED_RGB,
        INCIDENT_RGB,
        SEA_RGB,
        UNIT_RGB,
        WATER_CMAP,
    )

    scripts = [_SCRIPT.read_text(encoding="utf-8"), *_viewer_scripts()]
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode('utf-8')).digest()).decode()}'"
        for s in scripts
    )
    payload = json.dumps(data).replace("</", "<\\/")
    buttons = "".join(f'<button class="cam" data-cam="{c}">{c}</button>' for c in data["cameras"])
    swatches = [
        ("sea", f"rgb{SEA_RGB}"),
        ("buildings", f"rgb{BUILDING_RGB}"),
        ("road closed", f"rgb{CLOSED_RGB}"),
        ("water 0 - 1 m", f"linear-gradient(90deg, {', '.join(WATER_CMAP)})"),
        ("road speed index 0 - 1", "linear-gradient(90deg, #d73027, #ffffbf, #1a9850)"),
    ]
    if agents:
        swatches += [(f"agent {AGENT_STATES[k]}", c) for k, c in enumerate(AGENT_COLOURS)]
        swatches += [("incident", f"rgb{INCIDENT_RGB}"), ("unit", f"rgb{UNIT_RGB}")]
    legend = "".join(
        f'<span><i style="background: {colour}"></i>{html.escape(name)}</span>'
        for name, colour in swatches
    )
    setup, module = scripts[1], scripts[2]
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data: blob:; \
style-src 'unsafe-inline'; script-src {hashes}">
<title>{html.escape(title)}</title>
<style>
html, body {{ margin: 0; height: 100%; font-family: sans-serif; color: #222; }}
body {{ display: flex; flex-direction: column; }}
header {{ display: flex; gap: 0.8em; align-items: center; padding: 0.4em 0.8em;
  flex-wrap: wrap; background: #f4f6f8; border-bottom: 1px solid #ccc; }}
header h1 {{ font-size: 1.1em; margin: 0 1em 0 0; }}
#time {{ flex: 1; min-width: 10em; }}
#clock {{ font-family: monospace; font-size: 1.1em; }}
#warning {{ color: #b45000; }}
#view3d {{ position: relative; flex: 1; min-height: 300px; }}
#legend span {{ margin-right: 0.8em; font-size: 0.85em; white-space: nowrap; }}
#legend i {{ display: inline-block; width: 1.2em; height: 0.8em; margin-right: 0.3em;
  vertical-align: middle; border: 1px solid #888; }}
footer {{ font-size: 0.8em; color: #444; padding: 0.3em 0.8em; }}
</style>
</head>
<body>
<header><h1>{html.escape(title)}</h1>{buttons}<button id="play">play</button>
<input id="time" type="range" min="0" max="0" value="0" aria-label="time">
<span id="clock"></span><strong id="warning"></strong>
<span id="legend">{legend}</span></header>
<div id="view3d"></div>
<footer>Drag to rotate, wheel to zoom, right-drag or shift-drag to pan.
{html.escape(attribution)}</footer>
<script id="twin-data" type="application/json">{payload}</script>
<script>{scripts[0]}</script>
<script>{setup}</script>
<script type="module">{module}</script>
</body>
</html>
"""


def write_html3d(
    target: CityPack | str | Path,
    out: Path | str,
    *,
    city: str | None = None,
    exaggeration: float = 1.5,
) -> Path:
    """Write :func:`scene_html` of a city or a run folder to ``out``, atomically; returns
    ``out``."""
    from twin.atomic import write_text

    return write_text(Path(out), scene_html(target, city=city, exaggeration=exaggeration))
