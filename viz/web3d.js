// twin's 3-D page (viz/web3d.py): loads the inlined vtk.js scene into trame-vtk's offline
// viewer, then swaps the chosen time step's water surface, road colours and points
// (vehicles, walkers, incidents, units) into the scene's meshes.
"use strict";
const twin = JSON.parse(document.getElementById("twin-data").textContent);
const slider = document.getElementById("time");
const clock = document.getElementById("clock");
const playButton = document.getElementById("play");
const depthCache = new Map();
let ground = null;
let water = null; // {actor, data}
let roads = null; // vtkPolyData of the drive links, one cell each
// Point clouds: web3d.py's AGENTS, found by their first point count (1, 2, 3, 4)
const AGENT_KINDS = ["vehicles", "walkers", "incidents", "units"];
const agents = new Map(); // kind -> {actor, data}
let timer = null;

function bytesOf(text) {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

async function depthOf(step) {
  if (!depthCache.has(step)) {
    const stream = new Blob([bytesOf(twin.depth[step])])
      .stream()
      .pipeThrough(new DecompressionStream("gzip"));
    depthCache.set(step, new Uint16Array(await new Response(stream).arrayBuffer()));
  }
  return depthCache.get(step);
}

function arrayNamed(actor, name) {
  const mapper = actor.getMapper && actor.getMapper();
  const data = mapper && mapper.getInputData();
  const array = data && data.getCellData && data.getCellData().getArrayByName(name);
  return array && array.getData().length > 0 ? data : null;
}

// The water surface of one step, as CityScene.update draws it: the surface is the ground
// plus max(depth, lift) on wet cells (depth units > 0: web3d.py stores 0 on dry cells); a
// corner's height is the mean of its four cells (edges repeated); only wet cells are
// drawn, one quad each.
function waterSurface(units) {
  const g = twin.grid;
  const { nx, ny } = g;
  const surface = new Float32Array(nx * ny);
  let wet = 0;
  for (let i = 0; i < nx * ny; i++) {
    if (units[i] > 0) {
      surface[i] = ground[i] + Math.max(units[i] * g.depthUnit, g.lift);
      wet++;
    } else {
      surface[i] = ground[i];
    }
  }
  const at = (r, c) =>
    surface[Math.min(Math.max(r, 0), ny - 1) * nx + Math.min(Math.max(c, 0), nx - 1)];
  const corner = (r, c) =>
    ((at(r - 1, c - 1) + at(r - 1, c) + at(r, c - 1) + at(r, c)) / 4) * g.exaggeration;
  const points = new Float32Array(wet * 12);
  const polys = new Uint32Array(wet * 5);
  const depth = new Float32Array(wet);
  let k = 0;
  for (let r = 0; r < ny; r++) {
    for (let c = 0; c < nx; c++) {
      const d = units[r * nx + c] * g.depthUnit;
      if (units[r * nx + c] === 0) continue;
      const quad = [
        [r, c],
        [r, c + 1],
        [r + 1, c + 1],
        [r + 1, c],
      ];
      quad.forEach(([rr, cc], j) => {
        points.set([g.x0 + cc * g.res, g.y0 - rr * g.res, corner(rr, cc)], (4 * k + j) * 3);
      });
      polys.set([4, 4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3], 5 * k);
      depth[k] = d;
      k++;
    }
  }
  return { points, polys, depth, wet };
}

let sceneRenderer = null;

function floats(text) {
  return new Float32Array(bytesOf(text).buffer);
}

// Swap a step's points (and state codes) into one cloud; returns how many it shows.
function showAgents(kind, step) {
  const cloud = agents.get(kind);
  if (cloud === undefined) return 0;
  const points = floats(twin.agents[step][kind]);
  const n = points.length / 3;
  cloud.actor.setVisibility(n > 0);
  if (n === 0) return 0;
  const verts = new Uint32Array(2 * n);
  for (let i = 0; i < n; i++) verts.set([1, i], 2 * i);
  cloud.data.getPoints().setData(points, 3);
  cloud.data.getVerts().setData(verts);
  const codes = twin.agents[step][kind + "_state"];
  const array = cloud.data.getPointData().getArrayByName("state");
  if (codes !== undefined && array) array.setData(floats(codes), 1);
  cloud.data.modified();
  return n;
}

function findAgents(candidate) {
  for (const actor of candidate.getActors()) {
    const mapper = actor.getMapper && actor.getMapper();
    const data = mapper && mapper.getInputData();
    if (!data || !data.getVerts || data.getVerts().getNumberOfCells() === 0) continue;
    const kind = AGENT_KINDS[data.getPoints().getNumberOfPoints() - 1];
    if (kind !== undefined && !agents.has(kind)) agents.set(kind, { actor, data });
  }
}

function roadValues(step) {
  return floats(twin.roads[step]);
}

function renderer() {
  return sceneRenderer;
}

async function show() {
  const step = Number(slider.value);
  const surface = waterSurface(await depthOf(step));
  if (Number(slider.value) !== step) return; // moved on meanwhile
  const data = water.data;
  data.getPoints().setData(surface.points, 3);
  data.getPolys().setData(surface.polys);
  data.getCellData().getArrayByName("depth").setData(surface.depth, 1);
  data.modified();
  water.actor.setVisibility(surface.wet > 0);
  const counts = [];
  for (const kind of AGENT_KINDS) {
    counts.push(showAgents(kind, step));
  }
  document.body.dataset.agents = counts.join(",");
  if (roads !== null) {
    const values = roadValues(step);
    roads.getCellData().getArrayByName("speed_index").setData(values, 1);
    roads.modified();
    document.body.dataset.closedRoads = String(values.filter((v) => v < 0).length);
  }
  renderer().resetCameraClippingRange();
  window.global.renderWindow.render();
  clock.textContent = twin.labels[step];
  document.getElementById("warning").textContent = twin.warnings[step];
  document.body.dataset.step = String(step);
  document.body.dataset.wetCells = String(surface.wet);
}

function useCamera(name) {
  const preset = twin.cameras[name];
  const cam = renderer().getActiveCamera();
  cam.setParallelProjection(preset.parallelProjection);
  cam.setParallelScale(preset.parallelScale);
  cam.setViewAngle(preset.viewAngle);
  cam.setFocalPoint(...preset.focalPoint);
  cam.setPosition(...preset.position);
  cam.setViewUp(...preset.viewUp);
  renderer().resetCameraClippingRange();
  window.global.renderWindow.render();
}

function findWater() {
  // the viewer's window holds its own empty renderer beside the scene's
  const rw = window.global && window.global.renderWindow;
  for (const candidate of rw ? rw.getRenderers() : []) {
    for (const actor of candidate.getActors()) {
      const data = arrayNamed(actor, "depth");
      if (data !== null) {
        sceneRenderer = candidate;
        for (const other of candidate.getActors()) {
          roads = roads || arrayNamed(other, "speed_index");
        }
        findAgents(candidate);
        return { actor, data };
      }
    }
  }
  return null;
}

function start() {
  water = findWater();
  const needRoads = twin.roads[0].length > 0;
  if (water === null || (needRoads && roads === null) || agents.size < AGENT_KINDS.length) {
    setTimeout(start, 50);
    return;
  }
  ground = new Float32Array(bytesOf(twin.ground).buffer);
  slider.max = String(twin.labels.length - 1);
  slider.addEventListener("input", show);
  for (const b of document.querySelectorAll("button.cam")) {
    b.addEventListener("click", () => useCamera(b.dataset.cam));
  }
  playButton.addEventListener("click", () => {
    if (timer) {
      clearInterval(timer);
      timer = null;
      playButton.textContent = "play";
      return;
    }
    playButton.textContent = "pause";
    timer = setInterval(() => {
      slider.value = String((Number(slider.value) + 1) % twin.labels.length);
      show();
    }, 700);
  });
  useCamera("oblique");
  show().then(() => {
    document.body.dataset.ready = "1";
  });
}

// Called by the viewer module once it has loaded (see trame-vtk's vtksz2html).
function loadDataSet() {
  window.OfflineLocalView.load(document.getElementById("view3d"), { base64Str: twin.scene });
  start();
}
