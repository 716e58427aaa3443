"""``twin respond``: runs a scenario and plan, writes KPIs and the event log, refuses bad input."""

from __future__ import annotations

import csv
import json
import os

import pytest

from tests.helpers.runs import invoke, run_into

SCENARIO = """\
version: 1
kind: scenario
name: respond_test
city: {name: monaco}
time: {duration: 6 h}
seed: 4
incidents:
  background: {medical: 1.0, traffic_accident: 0.2}
"""

PLAN = """\
version: 1
kind: plan
name: two
stations:
  - {name: Condamine, location: [7.4205, 43.7345], units: {ambulance: 2, police: 1}}
  - {name: Fontvieille, location: [7.4160, 43.7295], units: {ambulance: 1}}
dispatch: {policy: coverage, coverage_time: 5 min}
"""


@pytest.fixture
def files(tmp_path, monkeypatch, maps_folders, monaco_dir):
    monkeypatch.setenv("TWIN_MAPS", os.pathsep.join(str(f) for f in maps_folders))
    (tmp_path / "scenario.yaml").write_text(SCENARIO)
    (tmp_path / "plan.yaml").write_text(PLAN)
    return tmp_path


def test_respond_writes_kpis_and_log(files):
    out = files / "out"
    result = run_into("respond", files / "scenario.yaml", out, plan=files / "plan.yaml")
    assert result.exit_code == 0, result.output
    kpis = json.loads((out / "two" / "kpis.json").read_text())
    with (out / "two" / "events.csv").open() as f:
        calls = [row for row in csv.DictReader(f) if row["event"] == "call"]
    assert kpis["incidents"] == len(calls) > 0
    assert "Response KPIs: two" in result.output
    assert "residents (estimated from the occupants of mapped buildings)" in result.output


def test_respond_link_times_slow_the_response(files):
    """Given link times three times the free-flow ones, the median response grows."""
    from twin.city import load_city
    from twin.response.network import CityNetwork

    net = CityNetwork.from_pack(load_city("monaco"))
    with (files / "slow.csv").open("w") as f:
        f.write("u,v,key,travel_time\n")
        for (u, v, k), t in zip(net.travel.edges, net.travel.free_flow, strict=True):
            f.write(f"{u},{v},{k},{3 * t}\n")
    medians = []
    for extra in ([], ["--link-times", str(files / "slow.csv")]):
        out = files / f"out{len(extra)}"
        result = run_into("respond", files / "scenario.yaml", out, *extra, plan=files / "plan.yaml")
        assert result.exit_code == 0, result.output
        medians.append(json.loads((out / "two" / "kpis.json").read_text())["response_p50"])
    assert medians[1] > 1.5 * medians[0]


def test_respond_bad_plan_exits_2(files):
    (files / "bad.yaml").write_text(PLAN.replace("police: 1", "rescue_boat: 1"))
    result = invoke(["respond", files / "scenario.yaml", "--plan", files / "bad.yaml"])
    assert result.exit_code == 2
    assert "rescue_boat" in result.output


def test_respond_tiered_example_reports_escalations(files):
    """The example plan with jurisdictions runs (its boat allowed) and reports escalations."""
    from pathlib import Path

    plan = Path(__file__).parents[2] / "scenarios" / "plans" / "monaco_tiered.yaml"
    result = run_into(
        "respond", files / "scenario.yaml", files / "out", "--allow-unneeded-units", plan=plan
    )
    assert result.exit_code == 0, result.output
    assert "Response KPIs: tiered" in result.output
    assert "tiered dispatch:" in result.output
    assert (files / "out" / "tiered" / "kpis.json").exists()


def test_respond_plan_name_with_markup_is_printed_and_kept_in_the_folder(files):
    """A plan named `depot [temporary]` is printed as written (not eaten as rich markup)
    and writes under --out in a folder with a safe name."""
    (files / "depot.yaml").write_text(PLAN.replace("name: two", 'name: "depot [temporary]"'))
    out = files / "out"
    result = run_into("respond", files / "scenario.yaml", out, plan=files / "depot.yaml")
    assert result.exit_code == 0, result.output
    assert "Response KPIs: depot [temporary]" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["depot_temporary"]
    assert (out / "depot_temporary" / "kpis.json").exists()


def test_respond_default_folder_outside_the_tree_needs_out(files, tmp_path_factory):
    """`outputs.folder` pointing outside the scenario's folder and the current folder is
    refused before the run, naming --out."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (files / "far.yaml").write_text(SCENARIO + f"outputs: {{folder: {elsewhere}}}\n")
    result = invoke(["respond", files / "far.yaml", "--plan", files / "plan.yaml"])
    assert result.exit_code == 2
    assert "--out" in result.output
    assert list(elsewhere.iterdir()) == []
