"""Fuzzing the scenario schema: every generated file is either refused with file:line, or
accepted and then runs the response model for a few minutes without error.

The files mix good and bad values where users (and attackers) go wrong: durations and rates
that are negative, infinite, NaN, huge or not numbers; names holding paths and rich markup;
places off the map or with lat and lon swapped; populations and weights out of range;
unknown keys. They run on a small synthetic city (a 4 x 4 street grid with houses and a
hospital, built from an .osm file written here), so no sample maps are needed.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from twin.coupling.response_setup import build_response
from twin.errors import ScenarioError
from twin.scenario import load_plan, load_scenario

LON0, LAT0, STEP = 7.420, 43.730, 8e-4  # about 65 m between junctions


def _write_osm(path: Path) -> Path:
    """A 4 x 4 grid of residential streets, a house beside each junction, and a hospital."""
    nodes, ways = [], []
    grid = {(i, j): 10 * i + j + 1 for i in range(4) for j in range(4)}
    for (i, j), nid in grid.items():
        nodes.append((nid, LON0 + STEP * i, LAT0 + STEP * j, {}))
    for i in range(4):
        ways.append((1000 + i, [grid[i, j] for j in range(4)], {"highway": "residential"}))
        ways.append((1100 + i, [grid[j, i] for j in range(4)], {"highway": "residential"}))
    boxes = [
        (2000 + 10 * i + j, LON0 + STEP * (i + 0.3), LAT0 + STEP * (j + 0.3), {"building": "house"})
        for i in range(3)
        for j in range(3)
    ]
    boxes.append(
        (3000, LON0 + STEP * 1.5, LAT0 + STEP * 1.5, {"building": "yes", "amenity": "hospital"})
    )
    nid = 5000
    for wid, lon, lat, tags in boxes:
        ring = []
        for dx, dy in ((0, 0), (2e-4, 0), (2e-4, 1.5e-4), (0, 1.5e-4)):
            nodes.append((nid, lon + dx, lat + dy, {}))
            ring.append(nid)
            nid += 1
        ways.append((wid, [*ring, ring[0]], tags))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    nodes.sort()
    ways.sort()  # readers want ids in order
    for n, lon, lat, _ in nodes:
        lines.append(f'<node id="{n}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>')
    for w, refs, tags in ways:
        inner = "".join(f'<nd ref="{r}"/>' for r in refs)
        inner += "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{w}" version="1">{inner}</way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """The synthetic city's folder (with t.osm and a plan) and its pack."""
    from twin.city import load_city

    folder = tmp_path_factory.mktemp("fuzz")
    pack = load_city(_write_osm(folder / "t.osm"), flat=True, use_cache=False)
    (folder / "plan.yaml").write_text(
        "version: 1\nkind: plan\nname: p\nstations:\n"
        f"  - {{name: s, location: [{LON0 + STEP}, {LAT0 + STEP}], "
        "units: {ambulance: 2}}\n",
        encoding="utf-8",
    )
    return folder, pack


ON_MAP = [LON0 + 1.2 * STEP, LAT0 + 2.1 * STEP]
PLACES = st.sampled_from(
    [ON_MAP, [LON0 + 2 * STEP, LAT0], [13.40, 48.00], [LAT0, LON0], [200.0, 100.0], "here"]
)
NUMBERS = st.one_of(
    st.sampled_from([0, 1, -1, 0.5, 1e300, -1e300, float("inf"), float("nan"), "abc", True]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
)
DURATIONS = st.one_of(
    st.sampled_from(["10 min", "1 h", "2 d", "PT30M", "1e300", "-5 min", "5 parsecs", 0, 600]),
    NUMBERS,
)
NAMES = st.one_of(
    st.sampled_from(["ok", "depot [temporary]", "[/bold]", "../../x", "/abs", "", "a\x00b"]),
    st.text(max_size=12),
)


def _pick(draw: st.DrawFn, good: st.SearchStrategy, bad: st.SearchStrategy):
    """A good value, or (one time in ten) a bad one: some files are valid, most not."""
    return draw(bad if draw(st.integers(0, 9)) == 0 else good)


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    """A scenario mapping: well formed, with bad values drawn where users slip."""
    good_time = st.sampled_from(["10 min", "1 h", 600, "PT30M", "2 d"])
    good_at = st.sampled_from([0, "1 min", 120, "3 min"])
    data: dict = {
        "version": _pick(draw, st.just(1), st.sampled_from([2, "1", None])),
        "kind": "scenario",
        "name": _pick(draw, st.sampled_from(["ok", "depot [temporary]", "flood v2"]), NAMES),
        "city": {"osm": "t.osm", "flat": True},
        "time": {"duration": _pick(draw, good_time, DURATIONS)},
        "plans": ["plan.yaml"],
    }
    kinds = st.sampled_from(["medical", "fire", "police"])
    rates = draw(st.dictionaries(kinds, st.sampled_from([0, 0.5, 2.0, 50]), max_size=3))
    if draw(st.integers(0, 5)) == 0:
        rates[draw(st.sampled_from(["medical", "flu"]))] = draw(NUMBERS)
    scripted = [
        {
            "at": _pick(draw, good_at, DURATIONS),
            "type": _pick(draw, kinds, st.just("alien")),
            "priority": _pick(draw, st.integers(1, 3), st.integers(-1, 4)),
            "location": _pick(draw, st.just(ON_MAP), PLACES),
        }
        for _ in range(draw(st.integers(0, 2)))
    ]
    data["incidents"] = {"background": rates, "scripted": scripted}
    if draw(st.booleans()):
        data["population"] = _pick(draw, st.integers(1, 10**6), NUMBERS)
    if draw(st.booleans()):
        data["seed"] = _pick(draw, st.integers(0, 2**40), st.integers(-5, 2**70) | NUMBERS)
    if draw(st.booleans()):
        weight = _pick(draw, st.floats(0, 10), NUMBERS)
        data["objectives"] = {"weights": {"hospital_overflow": weight}}
    if draw(st.booleans()):
        data["hazards"] = [
            {"kind": "rainfall",
             "hyetograph": [{"at": 0, "intensity": _pick(draw, st.just("20 mm/h"), NUMBERS)}]},
            {"kind": "ground_collapse", "at": _pick(draw, good_at, DURATIONS),
             "location": _pick(draw, st.just(ON_MAP), PLACES),
             "radius": _pick(draw, st.just("30 m"), NUMBERS)},
        ]  # fmt: skip
    if draw(st.integers(0, 5)) == 0:
        data[draw(st.sampled_from(["seeed", "outputs", "replications"]))] = draw(NUMBERS)
    return data


def _dump(data: dict) -> str:
    yaml = YAML(typ="safe", pure=True)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=scenarios())
def test_every_scenario_is_refused_with_a_line_or_runs(city, data: dict) -> None:
    """Refused: every problem names a file and a line. Accepted: the response model builds
    (or is refused the same way for places that do not fit) and runs 5 minutes."""
    folder, pack = city
    path = folder / "scenario.yaml"
    path.write_text(_dump(data), encoding="utf-8")
    plan_file = folder / "plan.yaml"
    problems, model = [], None
    try:
        scenario = load_scenario(path)
        model = build_response(
            scenario,
            load_plan(plan_file),
            pack,
            plan_file=plan_file,
            scenario_file=path,
            allow_unneeded_units=True,  # a rule of its own, tested elsewhere
        )
    except ScenarioError as exc:
        problems = exc.problems
    if model is None:
        assert problems
        for problem in problems:
            assert problem.file in (path, plan_file), problem
            assert problem.line is not None, problem
        return
    kpis = model.run(min(scenario.time.duration, 300.0))
    assert kpis.incidents >= kpis.served
