"""``twin compare --from-manifest`` and ``twin sweep --from-manifest``: a study run again
from its manifest (``<study>.run.json``) stores the same KPIs and writes the same summary;
each bad manifest is one clear message (exit 2) naming the field (Monaco response model,
2 h, two plans, 2 replications)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from twin.cli import _register, app
from twin.errors import UserInputError

_register()

SCENARIO = """\
version: 1
kind: scenario
name: rerun_test
city: {name: monaco}
time: {duration: 2 h}
seed: 5
demand: {trips: trips.csv}
incidents:
  background: {medical: 0.6, traffic_accident: 0.1}
objectives:
  primary: response_time_p90
"""

TRIPS = """\
departure,origin_lon,origin_lat,destination_lon,destination_lat
0,7.4145,43.7268,7.4246,43.7384
"""

PLAN = """\
version: 1
kind: plan
name: {name}
stations:
  - {{name: Condamine, location: [7.4205, 43.7345], units: {{ambulance: 2, police: 1}}}}
  - {{name: Fontvieille, location: {where}, units: {{ambulance: 1}}}}
"""


def _invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def study(tmp_path_factory, maps_folders, monaco_dir):
    """A comparison (a.duckdb) and a sweep over two call rates (s.duckdb), both n = 2."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TWIN_MAPS", os.pathsep.join(str(f) for f in maps_folders))
    mp.setenv("TWIN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    mp.setenv("COLUMNS", "160")
    folder = tmp_path_factory.mktemp("rerun")
    (folder / "scenario.yaml").write_text(SCENARIO)
    (folder / "trips.csv").write_text(TRIPS)
    (folder / "a.yaml").write_text(PLAN.format(name="near", where="[7.4160, 43.7295]"))
    (folder / "b.yaml").write_text(PLAN.format(name="far", where="[7.4300, 43.7420]"))
    common = ["--plans", folder / "a.yaml", folder / "b.yaml", "-n", "2", "-j", "1",
              "--no-progress"]  # fmt: skip
    first = _invoke("compare", folder / "scenario.yaml", *common, "--study",
                    folder / "a.duckdb", "--no-report")  # fmt: skip
    assert first.exit_code == 0, first.output
    swept = _invoke("sweep", folder / "scenario.yaml", "--param",
                    "incidents.background.medical=0.3,0.6", *common,
                    "--study", folder / "s.duckdb")  # fmt: skip
    assert swept.exit_code == 0, swept.output
    yield folder, first.output, swept.output
    mp.undo()


def _values(path, study_id):
    from twin.experiment.store import Store

    with Store(path, read_only=True) as store:
        spec = store.spec(study_id)
        return store.values(study_id, len(spec["variants"]), len(spec["plans"]))


def _tables(output: str) -> list[str]:
    """The printed tables and verdicts, without the lines naming files."""
    return [line for line in output.splitlines() if not line.startswith(("study ", "manifest "))]


def test_compare_from_manifest_gives_the_same_study(study):
    """The rerun into b.duckdb has the study's id, 2 replications of both plans, the same
    stored KPIs (exactly), the same printed tables and the same HTML summary, byte for byte."""
    folder, output, _ = study
    again = _invoke("compare", "--from-manifest", folder / "a.run.json", "--study",
                    folder / "b.duckdb", "-j", "1", "--no-progress", "--no-report")  # fmt: skip
    assert again.exit_code == 0, again.output
    first = json.loads((folder / "a.run.json").read_text())
    second = json.loads((folder / "b.run.json").read_text())
    study_id = first["study"]["id"]
    assert second["study"]["id"] == study_id
    assert second["study"]["replications"] == [2]
    assert second["study"]["seeds"] == first["study"]["seeds"]
    a, b = _values(folder / "a.duckdb", study_id), _values(folder / "b.duckdb", study_id)
    assert a.keys() == b.keys()
    assert "response_time_p90" in a
    for name in a:
        assert a[name].shape == (1, 2, 2)  # variants x plans x replications
        np.testing.assert_array_equal(a[name], b[name])
    assert _tables(again.output) == _tables(output)
    assert (folder / "b.html").read_bytes() == (folder / "a.html").read_bytes()


def test_sweep_from_manifest_gives_the_same_study(study):
    """Both variants of the sweep, 2 replications each: the same KPIs and HTML summary."""
    folder, _, output = study
    again = _invoke("sweep", "--from-manifest", folder / "s.run.json", "--study",
                    folder / "t.duckdb", "-j", "1", "--no-progress")  # fmt: skip
    assert again.exit_code == 0, again.output
    study_id = json.loads((folder / "s.run.json").read_text())["study"]["id"]
    a, b = _values(folder / "s.duckdb", study_id), _values(folder / "t.duckdb", study_id)
    assert a["response_time_p90"].shape == (2, 2, 2)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert _tables(again.output) == _tables(output)
    assert (folder / "t.html").read_bytes() == (folder / "s.html").read_bytes()


def _edited(folder, change) -> object:
    """A copy of the comparison's manifest with ``change(data)`` applied."""
    data = json.loads((folder / "a.run.json").read_text())
    change(data)
    path = folder / "edited.run.json"
    path.write_text(json.dumps(data))
    return path


def _refused(folder, manifest, *extra):
    """``twin compare --from-manifest`` that must exit 2 with one message; its text."""
    result = _invoke("compare", "--from-manifest", manifest, "--study", folder / "x.duckdb",
                     "--no-progress", "--no-report", *extra)  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not (folder / "x.duckdb").exists()
    return " ".join(result.output.split())


def _single_run(data):
    del data["kind"]


def _newer(data):
    data["format"] = 2


def _plan_edited(data):
    data["study"]["plans"][1]["plan"]["stations"][1]["units"]["ambulance"] = 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_single_run, "this is a single run's manifest"),
        (_newer, "manifest format 2 is newer than this twin reads (1)"),
        (_plan_edited, "the stored plan 'far' does not match its recorded hash"),
    ],
)
def test_bad_manifest_is_one_clear_error(study, change, message):
    """A single run's manifest, a newer format, an edited plan: refused before any run."""
    folder, _, _ = study
    assert message in _refused(folder, _edited(folder, change))


def test_a_sweep_manifest_is_not_a_comparison(study):
    folder, _, _ = study
    text = _refused(folder, folder / "s.run.json")
    assert "this manifest is of a twin sweep, not of a twin compare" in text
    assert "twin sweep --from-manifest" in text


def test_changed_input_file_is_named(study):
    """trips.csv edited since the study ran: the field, the path and both hashes."""
    folder, _, _ = study
    trips = folder / "trips.csv"
    recorded = json.loads((folder / "a.run.json").read_text())["study"]["files"]
    assert [f["field"] for f in recorded] == ["variants.0.scenario.demand.trips"]
    try:
        trips.write_text(TRIPS + "60,7.4145,43.7268,7.4246,43.7384\n")
        text = _refused(folder, folder / "a.run.json")
    finally:
        trips.write_text(TRIPS)
    assert f"{trips} changed since the study ran" in text
    assert f"SHA-256 {recorded[0]['sha256'][:12]}... recorded" in text
    assert "variants.0.scenario.demand.trips" in text


def test_missing_input_file_is_named(study):
    folder, _, _ = study
    trips = folder / "trips.csv"
    shutil.move(trips, folder / "moved.csv")
    try:
        text = _refused(folder, folder / "a.run.json")
    finally:
        shutil.move(folder / "moved.csv", trips)
    assert f"file not found: {trips}" in text
    assert "study.variants.0.scenario.demand.trips" in text


@pytest.mark.parametrize(
    ("extra", "field"),
    [(["-n", "3"], "--replications"), (["--seed", "2"], "--seed"), (["--no-crn"], "--no-crn")],
)
def test_options_the_manifest_gives_are_refused(study, extra, field):
    folder, _, _ = study
    text = _refused(folder, folder / "a.run.json", *extra)
    assert f"--from-manifest gives the study's {field}" in text


def test_rerun_needs_its_own_study_file(study):
    folder, _, _ = study
    result = _invoke("compare", "--from-manifest", folder / "a.run.json", "--no-progress")
    assert result.exit_code == 2, result.output
    assert "needs its own results database" in result.output
    assert "Traceback" not in result.output


def test_other_city_pack_names_the_changed_source(study, monaco_pack):
    """A pack whose OSM file differs from the study's: refused, naming the source."""
    from twin.experiment.manifest import check_pack, load_study_manifest

    folder, _, _ = study
    record = load_study_manifest(folder / "a.run.json", "compare")
    check_pack(record, monaco_pack)  # the study's own pack passes
    osm = {**monaco_pack.sources["osm"], "sha256": "0" * 64}
    other = dataclasses.replace(monaco_pack, sources={**monaco_pack.sources, "osm": osm})
    with pytest.raises(UserInputError, match=r"pack_sources\.osm\.sha256") as info:
        check_pack(record, other)
    assert info.value.problems[0].field == "pack_hash"
