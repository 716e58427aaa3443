"""Monaco's flash-flood evacuation on foot: which shelters are open, how far evacuees may be
sent, evacuation routes, and what `twin crowd` writes.

Monaco maps no designated shelter: its schools are candidate shelters, open only when a plan
opens them. The evacuation order (lower Sainte-Devote ravine, 80 % comply, 70 % on foot)
sends 2,542 people walking.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from twin.cli import _register, app, crowd_cmds  # noqa: F401  (registers the command)
from twin.coupling.crowd_setup import crowd_from_scenario
from twin.crowd import choice
from twin.crowd.network import route_tables
from twin.errors import UserInputError
from twin.scenario.hazards import CrowdEvent
from twin.scenario.loader import load_plan, load_scenario
from twin.scenario.plan import Plan

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
FLOOD = SCENARIOS / "monaco_flash_flood.yaml"
STADIUM = SCENARIOS / "monaco_stadium_exit.yaml"
STATIONS = [{"name": "Condamine", "location": [7.4205, 43.7345], "units": {"ambulance": 1}}]


def _plan(**fields) -> Plan:
    return Plan.model_validate({"version": 1, "name": "test", "stations": STATIONS, **fields})


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(FLOOD)


def test_candidate_shelters_stay_closed_without_a_plan(scenario, monaco_pack):
    """No designated shelter and no plan: the evacuation has nowhere to go (schools were
    used silently before)."""
    with pytest.raises(UserInputError, match="open_candidates"):
        crowd_from_scenario(scenario, monaco_pack, None)


def test_a_plan_opens_candidates_by_name_osm_id_or_place(scenario, monaco_pack):
    """Only the candidates the plan names become shelters, each marked as opened by it."""
    plan = _plan(open_shelters=["école de la condamine", "way/176131190", [7.4352, 43.7488]])
    model = crowd_from_scenario(scenario, monaco_pack, plan).model
    assert model.dests.names == [
        "school École de Fontvieille",
        "school École de la Condamine",
        "school École des Carmes",
    ]
    assert set(model.dests.why) == {"candidate opened by plan"}
    every = crowd_from_scenario(scenario, monaco_pack, _plan(open_candidates=True)).model
    f = monaco_pack.facilities
    assert len(every.dests.names) == int((f["status"] == "candidate").sum()) == 11


def test_unknown_shelter_to_open_is_named(scenario, monaco_pack):
    """A name that is no candidate is refused with its plan field."""
    with pytest.raises(UserInputError) as err:
        crowd_from_scenario(scenario, monaco_pack, _plan(open_shelters=["Town Hall"]))
    assert "open_shelters.0" in str(err.value)
    assert "École des Carmes" in str(err.value)


def test_nobody_is_sent_beyond_the_plan_limit(scenario, monaco_pack):
    """With every candidate open and a 400 m limit, the shelter each evacuee is sent to when
    leaving home is at most 400 m away on the walk graph; those with none that near are
    stuck with that reason."""
    run = crowd_from_scenario(
        scenario, monaco_pack, _plan(open_candidates=True, max_shelter_distance="400 m")
    )
    model = run.model
    home = model.node.copy()
    first = np.full(home.size, -1)

    def record(m) -> None:  # after every 1 s step: the choice made on leaving home
        new = (first < 0) & (m.target >= 0)
        first[new] = m.target[new]

    run.run(5400.0, chunk=1.0, on_progress=record)
    k = model.kpis()
    reason = "no destination with room within the walking-distance limit"
    assert k.unfinished[reason] == k.counts["stuck"] > 0
    sent = np.flatnonzero(first >= 0)
    assert sent.size > 500
    dist, _ = route_tables(
        model.net, model.dests.node, model.net.length, np.ones(model.net.n_links, bool)
    )
    # a walker can pass at most 2.5 m (2.5 m/s x 1 s) before the record: a shelter it
    # found full that near is where its next choice was measured from
    assert dist[first[sent], home[sent]].max() <= 400.0 + 2.5


def test_an_evacuation_route_sends_walkers_to_its_shelter(scenario, monaco_pack):
    """The plan's walking route leads every evacuee to Stade Louis II; without it the
    nearer Monaco-Ville fills first (800 places). Every walker of the evacuees' split
    (twin.coupling.evacuees) is on the route."""
    from twin.coupling.evacuees import split_evacuees

    plan = load_plan(SCENARIOS / "plans" / "monaco_two_stations.yaml")
    occupancy = {}
    for name, p in (("route", plan), ("none", plan.model_copy(update={"evacuation_routes": []}))):
        run = crowd_from_scenario(scenario, monaco_pack, p)
        run.run(5400.0)
        k = run.model.kpis()
        occupancy[name] = {d["name"]: d["occupancy"] for d in k.destinations}
        if name == "route":
            walkers = split_evacuees(monaco_pack, scenario.demand.evacuation, scenario.seed)
            assert k.routes[0]["following"] == k.people == walkers.walkers.sum() > 2000
    assert occupancy["none"]["Monaco-Ville"] == 800
    assert occupancy["route"]["Monaco-Ville"] == 0
    assert occupancy["route"]["Stade Louis II"] > 800


def test_too_many_walkers_for_memory_are_refused(monaco_pack, monkeypatch):
    """A crowd event larger than the memory limit is refused before anyone is drawn."""
    monkeypatch.setattr(choice, "memory_limit", lambda: 2**30)
    sc = load_scenario(STADIUM)
    event = sc.hazards[0].model_copy(update={"people": 10_000_000})
    assert isinstance(event, CrowdEvent)
    big = sc.model_copy(update={"hazards": [event, *sc.hazards[1:]]})
    with pytest.raises(UserInputError, match=r"hazards\.0\.people: 10,000,000 walkers need"):
        crowd_from_scenario(big, monaco_pack)


@pytest.mark.parametrize(
    ("args", "field"),
    [(["--dt", "0"], "--dt"), (["--dt", "-1"], "--dt"), (["--dt", "nan"], "--dt"),
     (["--until", "-5"], "--until"), (["--until", "inf"], "--until")],
)  # fmt: skip
def test_cli_refuses_bad_times(args, field, tmp_path):
    """Bad --dt or --until exit 2 with the option named, before any work."""
    _register()
    result = CliRunner().invoke(app, ["crowd", str(FLOOD), "--out", str(tmp_path), *args])
    assert result.exit_code == 2, result.output
    assert field in result.output
    assert not any(tmp_path.iterdir())


def test_cli_writes_outputs_per_plan(monaco_dir, tmp_path, monkeypatch):
    """`twin crowd --plan P --out DIR` writes kpis.json, link densities, clearance and
    shelters (Parquet, and CSV unless --no-csv) under DIR/<plan>; hazard exposure is "not
    computed" while the flood is not coupled (it printed 0 before)."""
    monkeypatch.setenv("TWIN_MAPS", str(monaco_dir.parent))
    plan = SCENARIOS / "plans" / "monaco_two_stations.yaml"
    _register()
    args = ["crowd", str(FLOOD), "--plan", str(plan), "--out", str(tmp_path), "--until", "3600"]
    result = CliRunner().invoke(app, [*args, "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "not computed (flood not coupled)" in result.output
    folder = tmp_path / "two_stations"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["kpis.json", "link_density.parquet", "clearance.csv", "clearance.parquet",
         "shelters.csv", "shelters.parquet", "crowd.gpkg", "run.json"]
    )  # fmt: skip
    kpis = json.loads((folder / "kpis.json").read_text())
    assert kpis["person_minutes_in_hazard"] is None
    assert kpis["hazard_note"] == "not computed (flood not coupled)"
    assert kpis["routes"][0]["name"] == "Ravine to the stadium"
    density = pq.read_table(folder / "link_density.parquet").to_pandas()
    assert density["time_s"].max() == 3540.0
    assert (density["density"] > 0).all()
    with (folder / "clearance.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 60
    assert int(rows[-1]["released"]) <= kpis["flows"]["released"]
    with (folder / "shelters.csv").open() as f:
        shelters = {r["name"]: r for r in csv.DictReader(f)}
    assert shelters["Stade Louis II"]["why"] == "listed in plan"
    assert int(shelters["Stade Louis II"]["occupancy"]) == kpis["flows"]["arrived"]
