// The drill page: follows /api/state (long polls: the server answers when the state
// changes), posts clock changes, injects and decisions. The role (trainer or trainee) is
// the token's; the server says which. Every piece of text from the server goes in through
// textContent (no HTML parsing).
"use strict";
const query = new URLSearchParams(location.search);
const TOKEN = query.get("token") || "";
let last = null;
// The 3-D view reloads when the simulated time has moved this far (s) or the branch changed,
// once the previous one has loaded (app.py's SCENE_EVERY).
const SCENE_EVERY = 300;
let scene = { time: null, branch: null, busy: false };
// Delay (ms) from the server's change of state to the page showing it, one per update.
window.drillLatencies = [];

function api(path, body) {
  const opts = { headers: { "X-Drill-Token": TOKEN } };
  if (body !== undefined) {
    opts.method = "POST";
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  return fetch(path, opts);
}

function say(text) { document.getElementById("message").textContent = text; }

async function post(path, body) {
  const r = await api(path, body);
  const data = await r.json();
  if (!r.ok) { say(data.error || ("HTTP " + r.status)); return null; }
  say("");
  await refresh();
  return data;
}

function clock(t) {
  const s = Math.round(t), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
  return "T+" + [h, m, s % 60].map(v => String(v).padStart(2, "0")).join(":");
}

function table(id, header, rows) {
  const el = document.getElementById(id);
  el.replaceChildren();
  const head = el.insertRow();
  header.forEach(h => { const th = document.createElement("th"); th.textContent = h; head.appendChild(th); });
  rows.forEach(row => {
    const tr = el.insertRow();
    row.forEach(v => { tr.insertCell().textContent = v === null || v === undefined ? "" : String(v); });
  });
}

function options(id, values, labels) {
  const el = document.getElementById(id);
  const keep = el.value;
  el.replaceChildren();
  values.forEach((v, i) => {
    const o = document.createElement("option");
    o.value = v; o.textContent = labels ? labels[i] : v;
    el.appendChild(o);
  });
  if (values.map(String).includes(keep)) el.value = keep;
}

function example(kind, s) {
  const place = s.place, unit = s.units.length ? s.units[0].name : "";
  const incident = s.incidents.length ? s.incidents[0].id : 0;
  const examples = {
    incident: { type: "medical", location: place, priority: 1 },
    false_report: { type: "medical", location: place },
    road_collapse: { location: place, radius: 20 },
    unit_out_of_service: { unit: unit, duration: "30 min" },
    hospital_full: { hospital: s.hospitals[0] || "", duration: "1 h" },
    rain: { factor: 2 },
    levee_breach: { location: (s.levees || [])[0] || place, width: 50, growth: "10 min" },
    dispatch: { unit: unit, incident: incident },
    recall: { unit: unit },
    close_road: { location: place, radius: 15 },
    open_road: { location: place, radius: 15 },
    warning: { level: "yellow", message: "Flooding: avoid low streets" },
    evacuate: { zone: [[place[0] - 0.002, place[1] - 0.002], [place[0] + 0.002, place[1] - 0.002],
                       [place[0] + 0.002, place[1] + 0.002], [place[0] - 0.002, place[1] + 0.002]] },
    mutual_aid: { incident: incident, unit_type: "ambulance", delay: "20 min" },
  };
  return JSON.stringify(examples[kind] || {});
}

function menus(s) {
  if (last !== null) return;
  const injects = Object.keys(s.actions).filter(k => s.actions[k].by === "trainer");
  const decisions = Object.keys(s.actions).filter(k => s.actions[k].by === "trainee");
  options("inject-kind", injects);
  options("decide-kind", decisions);
  document.getElementById("inject-panel").hidden = injects.length === 0;
  const fill = (kind, area) => { document.getElementById(area).value = example(document.getElementById(kind).value, s); };
  document.getElementById("inject-kind").onchange = () => fill("inject-kind", "inject-args");
  document.getElementById("decide-kind").onchange = () => fill("decide-kind", "decide-args");
  if (injects.length) fill("inject-kind", "inject-args");
  fill("decide-kind", "decide-args");
}

function show(s) {
  menus(s);
  last = s;
  document.getElementById("view").textContent = s.view + " view";
  document.getElementById("clock").textContent = clock(s.time) + " / " + clock(s.until);
  document.getElementById("playing").textContent = s.done ? "(over)" : s.playing ? "(playing " + s.speed + "x)" : "(paused)";
  const w = document.getElementById("warning");
  w.textContent = s.warning_level; w.className = "warning-" + s.warning_level;
  document.getElementById("branch").textContent = s.branch;
  document.getElementById("tiers").textContent = s.tier ? "tier " + s.tier : "(the whole city)";
  document.getElementById("elsewhere").textContent = s.elsewhere ?
    "free elsewhere: " + Object.entries(s.elsewhere).map(([k, v]) => k + " " + v).join(", ") : "";
  table("vitals", ["sign", "value"], Object.entries(s.vitals).map(([k, v]) => [k, v === null ? "-" : Math.round(v * 100) / 100]));
  table("incidents", ["id", "type", "priority", "called", "held", "units"],
        s.incidents.map(i => [i.id, i.type, i.priority, clock(i.call_time), i.held ? "held" : "", i.units.join(", ")]));
  table("units", ["unit", "type", "state", "incident"], s.units.map(u => [u.name, u.type, u.state, u.incident]));
  table("log", ["time", "by", "action", "result"], s.log.slice().reverse().map(a => [clock(a.time), a.by, a.kind, a.result]));
  table("events", ["time", "source", "event", "detail"], s.events.slice().reverse().map(e => [clock(e.time), e.source, e.kind, e.detail]));
  options("dispatch-unit", s.units.filter(u => u.state === "available" || u.state === "returning").map(u => u.name));
  options("dispatch-incident", s.incidents.map(i => i.id), s.incidents.map(i => i.id + " " + i.type));
  options("rewind-to", s.checkpoints);
  if (s.messages.length) say(s.messages[s.messages.length - 1]);
  scene3d(s, false);
}

function scene3d(s, force) {
  if (scene.busy) return;
  const due = scene.time === null || s.branch !== scene.branch || Math.abs(s.time - scene.time) >= SCENE_EVERY;
  if (!force && !due) return;
  scene = { time: s.time, branch: s.branch, busy: true };
  document.getElementById("scene-time").textContent = "at " + clock(s.time);
  document.getElementById("scene3d").src = "/api/scene.html?token=" + encodeURIComponent(TOKEN) + "&v=" + s.version;
}

async function refresh() {
  const r = await api("/api/state");
  if (!r.ok) { say("HTTP " + r.status + ": " + ((await r.json()).error || "")); return; }
  show(await r.json());
}

const pause = ms => new Promise(done => setTimeout(done, ms));

async function follow() {
  let version = -1;
  for (;;) {
    try {
      const r = await api("/api/state?after=" + version);
      if (!r.ok) { say("HTTP " + r.status + ": " + ((await r.json()).error || "")); await pause(1000); continue; }
      const s = await r.json();
      if (s.version > version) {
        show(s);
        if (version >= 0) window.drillLatencies.push(Date.now() - s.stamp);
        version = s.version;
      }
    } catch (e) {
      await pause(1000);
    }
  }
}

async function refreshMap() {
  const r = await api("/api/map.png");
  if (!r.ok) { say("map: HTTP " + r.status); return; }
  const img = document.getElementById("map-img");
  const old = img.src;
  img.src = URL.createObjectURL(await r.blob());
  if (old.startsWith("blob:")) URL.revokeObjectURL(old);
}

function parsed(id) {
  try { return JSON.parse(document.getElementById(id).value); }
  catch (e) { say("the arguments are not JSON: " + e.message); return null; }
}

function wire() {
  const on = (id, f) => document.getElementById(id).addEventListener("click", f);
  on("play", () => post("/api/clock", { play: true, speed: Number(document.getElementById("speed").value) }));
  on("pause", () => post("/api/clock", { play: false }));
  on("step", () => post("/api/clock", { step: true }));
  document.getElementById("speed").addEventListener("change", e => post("/api/clock", { speed: Number(e.target.value) }));
  on("inject-go", () => { const a = parsed("inject-args"); if (a !== null) post("/api/act", { kind: document.getElementById("inject-kind").value, args: a }); });
  on("decide-go", () => { const a = parsed("decide-args"); if (a !== null) post("/api/act", { kind: document.getElementById("decide-kind").value, args: a }); });
  on("dispatch-go", () => post("/api/act", { kind: "dispatch", args: {
    unit: document.getElementById("dispatch-unit").value,
    incident: Number(document.getElementById("dispatch-incident").value) } }));
  on("checkpoint-go", () => post("/api/checkpoint", {}));
  on("rewind-go", () => post("/api/rewind", { checkpoint: document.getElementById("rewind-to").value }));
  on("map-refresh", refreshMap);
  document.getElementById("scene3d").addEventListener("load", () => { scene.busy = false; });
  on("scene-refresh", () => { if (last !== null) { scene.busy = false; scene3d(last, true); } });
  follow();
}

document.addEventListener("DOMContentLoaded", wire);
