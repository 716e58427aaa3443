"""run.json: provenance of a run, read back as the same scenario, plan and seed; dependency
versions reach the pack cache key and the experiment store's code version."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from test_city_facilities import write_osm

import twin.versions
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
