"""A study's manifest (``compare.run.json`` beside its database): what ``twin compare`` and
``twin sweep`` ran, with which scenario, plans, replications, seeds, code and versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import twin
from twin.errors import UserInputError
from twin.manifest import load_manifest, pack_hash
from twin.scenario.plan import Plan
from twin.scenario.schema import Scenario

BUSY_DAY = Path(__file__).parents[2] / "scenarios" / "monaco_busy_day.yaml"


@pytest.fixture(scope="module")
def compared(tmp_path_factory, monaco_dir, maps_folders):
    """``twin.compare`` of the busy day's two plans, 2 replications (4 runs)."""
    folder = tmp_path_factory.mktemp("study_manifest")
    return twin.compare(
        BUSY_DAY, n=2, seed=1, study_file=folder / "c.duckdb", workers=1, maps=maps_folders
    )


def _refuse_constant(name: str) -> None:
    raise AssertionError(f"non-strict JSON token {name}")


def test_manifest_beside_the_study(compared) -> None:
    """``c.duckdb`` gets ``c.run.json``: strict JSON of kind study with the study's id."""
    assert compared.manifest == compared.path.with_name("c.run.json")
    data = json.loads(compared.manifest.read_text(), parse_constant=_refuse_constant)
    assert data["kind"] == "study"
    assert data["study"]["id"] == compared.study_id
    assert data["study"]["database"] == str(compared.path)
    assert data["study"]["summary_html"] == str(compared.html)
    assert data["study"]["kind"] == "compare"


def test_manifest_records_plans_replications_and_seeds(compared) -> None:
    """Both plans resolved, 2 complete replications, and each plan's run seeds: the
    study's, the same for both plans (common random numbers)."""
    data = json.loads(compared.manifest.read_text())["study"]
    study = compared.study
    assert data["replications"] == [2]
    assert data["seeds"] == {
        "baseline": [study.seed(0, 0), study.seed(1, 0)],
        "two_stations": [study.seed(0, 1), study.seed(1, 1)],
    }
    assert data["seeds"]["baseline"] == data["seeds"]["two_stations"]
    assert [p["name"] for p in data["plans"]] == ["baseline", "two_stations"]
    for stored, entry in zip(data["plans"], study.plans, strict=True):
        assert Plan.model_validate(stored["plan"]) == entry.plan
        assert stored["hash"] == entry.hash
    scenario = Scenario.model_validate(json.loads(compared.manifest.read_text())["scenario"])
    assert scenario == study.variants[0].scenario


def test_manifest_records_versions_and_the_city(compared, maps_folders) -> None:
    """Code and dependency versions and the city pack's hash are recorded."""
    data = json.loads(compared.manifest.read_text())
    assert data["twin_version"] == twin.__version__
    assert {"numpy", "scipy", "shapely"} <= set(data["dependencies"])
    assert data["study"]["code_version"]
    city = twin.load_city(twin.load_scenario(BUSY_DAY), maps=maps_folders)
    assert data["pack_hash"] == pack_hash(city)
    assert data["seed"] == 1


def test_single_run_loader_refuses_a_study_manifest(compared) -> None:
    """``--from-manifest`` of a study's manifest says what it is instead of running the
    scenario alone."""
    with pytest.raises(UserInputError, match="a study's manifest") as info:
        load_manifest(compared.manifest)
    assert info.value.problems[0].field == "kind"


def test_sweep_manifest_records_each_variant(tmp_path, maps_folders, monaco_dir) -> None:
    """A sweep over two call rates records both variants' parameters and resolved
    scenarios, and one complete replication of each."""
    result = twin.sweep(
        BUSY_DAY,
        params={"incidents.background.medical": [0.35, 1.4]},
        n=1,
        seed=1,
        study_file=tmp_path / "w.duckdb",
        workers=1,
        maps=maps_folders,
    )
    data = json.loads((tmp_path / "w.run.json").read_text())["study"]
    assert result.manifest == tmp_path / "w.run.json"
    assert data["kind"] == "sweep"
    assert data["replications"] == [1, 1]
    assert [v["params"] for v in data["variants"]] == [
        {"incidents.background.medical": 0.35},
        {"incidents.background.medical": 1.4},
    ]
    rates = [v["scenario"]["incidents"]["background"]["medical"] for v in data["variants"]]
    assert rates == [0.35, 1.4]


def test_compare_accepts_its_manifest(compared, tmp_path, maps_folders) -> None:
    """``twin.compare(from_manifest=...)`` reruns the study the returned manifest records:
    same id, 2 replications, same means by plan (exactly: same seeds, same KPIs)."""
    again = twin.compare(
        from_manifest=compared.manifest, study_file=tmp_path / "again.duckdb", workers=1,
        maps=maps_folders,
    )  # fmt: skip
    assert again.study_id == compared.study_id
    assert again.summary.variants[0].replications == 2
    assert again.means() == compared.means()
    assert again.means("unserved_incidents") == compared.means("unserved_incidents")
    assert again.manifest == tmp_path / "again.run.json"


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"n": 3}, "n"),
        ({"seed": 2}, "seed"),
        ({"scenario": BUSY_DAY}, "scenario"),
        ({}, "study_file"),
    ],
)
def test_compare_from_manifest_refuses_what_it_gives(compared, tmp_path, options, field) -> None:
    """The study's own arguments come from the manifest; a rerun needs its own database."""
    if field != "study_file":
        options = {**options, "study_file": tmp_path / "x.duckdb"}
    with pytest.raises(UserInputError) as info:
        twin.compare(from_manifest=compared.manifest, **options)
    assert info.value.problems[0].field == field
    assert not (tmp_path / "x.duckdb").exists()
