"""run.json: provenance of a run, read back as the same scenario, plan and seed; dependency
versions reach the pack cache key and the experiment store's code version."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from test_city_facilities import write_osm

import twin.versions
from tests.helpers.runs import invoke, run_into
from twin import manifest
from twin.city import cache, load_city
from twin.errors import ScenarioError, UserInputError
from twin.experiment import runners
from twin.scenario.loader import load_plan, load_scenario

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "monaco_busy_day.yaml"
STARTED = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def _write(folder: Path, **changes) -> Path:
    scenario = load_scenario(SCENARIO)
    args = {
        "scenario": scenario,
        "plan": load_plan(scenario.plans[0]),
        "seed": 11,
        "command_line": ["twin", "respond", str(SCENARIO)],
        "pack_hash": "ab" * 32,
        "started": STARTED,
        "ended": STARTED + timedelta(seconds=90),
    }
    return manifest.write_manifest(folder, **{**args, **changes})


def test_manifest_round_trips_scenario_plan_and_seed(tmp_path):
    path = _write(tmp_path)
    assert path == tmp_path / "run.json"
    back = manifest.load_manifest(path)
    scenario = load_scenario(SCENARIO)
    assert back.scenario == scenario
    assert back.plan == load_plan(scenario.plans[0])
    assert back.seed == 11
    assert back.pack_hash == "ab" * 32
    assert back.command_line == ["twin", "respond", str(SCENARIO)]
    assert back.ended - back.started == timedelta(seconds=90)


def test_manifest_records_versions_and_utc_times(tmp_path):
    eastern = timezone(timedelta(hours=2))
    data = json.loads(_write(tmp_path, started=STARTED.astimezone(eastern)).read_text())
    assert data["started"] == "2026-03-01T12:00:00Z"
    assert data["ended"] == "2026-03-01T12:01:30Z"
    assert list(data["dependencies"]) == list(twin.versions.DEPENDENCIES)
    assert data["dependencies"]["numpy"] == twin.versions.package_version("numpy") is not None
    assert data["twin_version"] == twin.versions.package_version("twin")
    assert data["scenario"]["time"]["duration"] == load_scenario(SCENARIO).time.duration


def test_manifest_is_strict_json(tmp_path):
    path = _write(tmp_path, extra={"score": float("nan")})
    text = path.read_text()
    assert "NaN" not in text
    data = json.loads(text, parse_constant=lambda token: pytest.fail(f"bare {token}"))
    assert data["extra"]["score"] is None
    assert "extra.score" in data["nulls"]


def test_naive_times_are_refused(tmp_path):
    with pytest.raises(ValueError, match="timezone-aware"):
        _write(tmp_path, started=datetime(2026, 3, 1, 12))


def test_manifest_problems_name_the_field(tmp_path):
    path = _write(tmp_path)
    data = json.loads(path.read_text())
    data["scenario"]["time"]["duration"] = -5
    path.write_text(json.dumps(data))
    with pytest.raises(ScenarioError) as err:
        manifest.load_manifest(path)
    assert "scenario.time.duration" in str(err.value)
    path.write_text("{not json")
    with pytest.raises(UserInputError, match="not JSON"):
        manifest.load_manifest(path)
    with pytest.raises(UserInputError, match="cannot read"):
        manifest.load_manifest(tmp_path / "missing.json")


def test_pack_hash_follows_the_sources(monaco_pack):
    first = manifest.pack_hash(monaco_pack)
    assert len(first) == 64
    assert first == manifest.pack_hash(monaco_pack)
    other = {**monaco_pack.sources, "options": {**monaco_pack.sources["options"], "flat": True}}
    monaco_pack_like = type("P", (), {"name": monaco_pack.name, "crs": monaco_pack.crs,
                                      "sources": other})  # fmt: skip
    assert manifest.pack_hash(monaco_pack_like) != first


def _upgrade(monkeypatch, name: str, version: str) -> None:
    """Pretend distribution ``name`` is installed at ``version`` (the one version source)."""
    real = twin.versions.package_version
    monkeypatch.setattr(
        twin.versions, "package_version", lambda n: version if n == name else real(n)
    )


def test_dependency_upgrade_rebuilds_the_pack(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "cache"))
    osm = write_osm(tmp_path / "tiny.osm")

    def load() -> bool:
        steps: list[str] = []
        load_city(osm, flat=True, on_step=steps.append)
        return bool(steps)

    assert load() is True  # first load builds
    assert load() is False  # second is a cache hit
    key = cache.pack_key({"osm": "x"}, {})
    _upgrade(monkeypatch, "shapely", "99.0")
    assert cache.pack_key({"osm": "x"}, {}) != key
    assert load() is True  # a new shapely: the stale pack is not reused
    assert len(list((tmp_path / "cache" / "packs").iterdir())) == 2


def test_dependency_upgrade_changes_the_code_version(monkeypatch):
    runners.code_version.cache_clear()
    before = runners.code_version("response")
    runners.code_version.cache_clear()
    _upgrade(monkeypatch, "numba", "99.0")
    after = runners.code_version("response")
    runners.code_version.cache_clear()
    assert after != before
    assert before.split("+")[0] == after.split("+")[0] == twin.versions.twin_version()


RESPOND_SCENARIO = """\
version: 1
kind: scenario
name: manifest_test
city: {name: monaco}
time: {duration: 3 h}
seed: 4
incidents:
  background: {medical: 1.0, traffic_accident: 0.2}
"""

RESPOND_PLAN = """\
version: 1
kind: plan
name: two
stations:
  - {name: Condamine, location: [7.4205, 43.7345], units: {ambulance: 2, police: 1}}
dispatch: {policy: nearest}
"""


def test_respond_reruns_from_its_manifest(tmp_path, monkeypatch, maps_folders, monaco_dir):
    """twin respond writes run.json; --from-manifest reproduces kpis.json and events.csv
    byte for byte, with the recorded seed (5, not the scenario's 4)."""
    monkeypatch.setenv("TWIN_MAPS", os.pathsep.join(str(f) for f in maps_folders))
    (tmp_path / "scenario.yaml").write_text(RESPOND_SCENARIO)
    (tmp_path / "plan.yaml").write_text(RESPOND_PLAN)
    runs = {
        "first": ["--seed", "5"],
        "again": ["--from-manifest", str(tmp_path / "first" / "two" / "run.json")],
        "seed4": [],
    }
    for name, args in runs.items():
        if name == "again":
            result = invoke(["respond", *args, "--out", tmp_path / name, "--no-progress"])
        else:
            scenario, plan = tmp_path / "scenario.yaml", tmp_path / "plan.yaml"
            result = run_into("respond", scenario, tmp_path / name, *args, plan=plan)
        assert result.exit_code == 0, result.output
    record = manifest.load_manifest(tmp_path / "first" / "two" / "run.json")
    assert record.seed == 5
    assert record.plan.name == "two"
    for output in ("kpis.json", "events.csv"):
        first = (tmp_path / "first" / "two" / output).read_bytes()
        assert (tmp_path / "again" / "two" / output).read_bytes() == first
    events = (tmp_path / "first" / "two" / "events.csv").read_bytes()
    assert (tmp_path / "seed4" / "two" / "events.csv").read_bytes() != events
    again = manifest.load_manifest(tmp_path / "again" / "two" / "run.json")
    assert again.scenario == record.scenario
    assert again.pack_hash == record.pack_hash


def test_from_manifest_needs_its_own_out(tmp_path):
    path = _write(tmp_path)
    result = invoke(["respond", "--from-manifest", path])
    assert result.exit_code != 0
    assert "--out" in result.output
    assert "Traceback" not in result.output


TRAFFIC_SCENARIO = """\
version: 1
name: manifest_traffic
city: {name: monaco}
time: {duration: 10 min}
demand:
  od:
    - start: 0 min
      end: 5 min
      flows:
        - {origin: [7.4145, 43.7268], destination: [7.4246, 43.7384], vehicles: 20}
"""

FLOOD_SCENARIO = """\
version: 1
name: manifest_flood
city: {name: monaco}
time: {duration: 2 min}
hazards:
  - kind: rainfall
    hyetograph:
      - {at: 0, intensity: 50 mm/h}
flood: {output_interval: 1 min}
"""


@pytest.mark.parametrize(
    ("command", "text", "options"),
    [("traffic", TRAFFIC_SCENARIO, ["--set", "dt=2"]), ("flood", FLOOD_SCENARIO, [])],
)
def test_run_commands_write_run_json(command, text, options, tmp_path, monaco_pack):
    """twin traffic and twin flood leave a run.json beside their outputs that loads back
    as the scenario they ran, with the city pack's hash."""
    path = tmp_path / "s.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    result = run_into(command, path, out, *options)
    assert result.exit_code == 0, result.output
    record = manifest.load_manifest(out / "run.json")
    assert record.scenario == load_scenario(path)
    assert record.plan is None
    assert record.pack_hash == manifest.pack_hash(monaco_pack)
    assert record.started <= record.ended
    if command == "traffic":
        assert record.extra["settings"] == ["dt=2"]
