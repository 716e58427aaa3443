"""From scenario, plan and city to a response model: hazards, closures, hospitals, coverage."""

from __future__ import annotations

import numpy as np
import pytest

from twin.coupling.response_setup import build_response, facility_plan
from twin.response.network import CityNetwork, hospitals_of
from twin.scenario.plan import Plan
from twin.scenario.schema import Scenario


@pytest.fixture(scope="module")
def net(monaco_pack):
    return CityNetwork.from_pack(monaco_pack)


def scenario(**extra) -> Scenario:
    data = {
        "version": 1,
        "name": "t",
        "city": {"name": "monaco"},
        "time": {"duration": 7200},
        "incidents": {"background": {"medical": 0.5}},
    }
    return Scenario.model_validate({**data, **extra})


PLAN = Plan.model_validate(
    {
        "version": 1,
        "name": "p",
        "stations": [
            {"name": "C", "location": [7.4205, 43.7345], "units": {"ambulance": 2}},
            {"name": "F", "location": [7.4160, 43.7295], "units": {"ambulance": 1}},
        ],
        "closures": [
            {"name": "cordon", "location": [7.4240, 43.7388], "start": 600, "end": 1800},
        ],
    }
)


def test_population_and_hospitals_from_the_pack(monaco_pack, net):
    """Residents per node add up to the buildings' occupants; hospitals take >= 1 an hour."""
    assert net.population.sum() == pytest.approx(monaco_pack.buildings["occupants"].sum())
    hospitals = hospitals_of(monaco_pack, net)
    assert len(hospitals) == int((monaco_pack.facilities["kind"] == "hospital").sum())
    assert all(h.per_hour >= 1 for h in hospitals)


def test_ground_collapse_raises_a_call_and_closes_roads(monaco_pack, net):
    """A collapse at 10 min: a structural call there, and the links around it close."""
    collapse = {
        "kind": "ground_collapse",
        "at": 600,
        "location": [7.4182, 43.7300],
        "radius": 60,
    }
    sc = scenario(
        hazards=[collapse],
        incidents={"background": {"medical": 0.5, "fire": 0.1}},
    )
    plan = Plan.model_validate(
        {
            "version": 1,
            "name": "p",
            "stations": [
                {"name": "C", "location": [7.4205, 43.7345], "units": {"ambulance": 2}},
                {"name": "E", "location": [7.4160, 43.7295], "units": {"fire_engine": 1}},
            ],
        }
    )
    model = build_response(sc, plan, monaco_pack, network=net)
    model.run(1200.0)
    structural = [i for i in model.incidents if i.type == "structural"]
    assert [(i.call_time, i.priority) for i in structural] == [(600.0, 1)]
    roads = [e for e in model.events if e.event == "roads"]
    assert [e.time for e in roads] == [600.0]
    assert roads[0].value > 0
    assert net.travel.closed.sum() == 0  # the shared network is untouched


def test_a_collapse_closes_the_links_traffic_closes_drawn_not_straight(monaco_pack, net):
    """The response model closes what :mod:`twin.coupling.hazards` closes for every model:
    links whose drawn street passes within the radius. At this collapse one street bends
    within 40 m of the centre while the straight line between its junctions stays farther:
    it is closed (the old straight-segment rule left it open)."""
    from twin.coupling import hazards
    from twin.coupling.response_setup import closure_timeline

    collapse = {"kind": "ground_collapse", "at": 60, "location": [7.4216, 43.73195], "radius": 40}
    [(at, closed)] = closure_timeline(scenario(hazards=[collapse]), PLAN.model_copy(
        update={"closures": []}), net)  # fmt: skip
    assert at == 60.0
    drive = monaco_pack.links("drive")  # the index traffic closes links of
    ids = zip(drive.node_ids[drive.tail], drive.node_ids[drive.head], drive.key, strict=True)
    traffic = {
        (int(a), int(b), int(k))
        for (a, b, k), shut in zip(ids, hazards.collapse_links(drive, monaco_pack.crs,
                                   collapse["location"], 40.0), strict=True)
        if shut
    }  # fmt: skip
    response = {e for e, shut in zip(net.travel.edges, closed, strict=True) if shut}
    assert len(response) == 12
    assert response == traffic & set(net.travel.edges)
    centre = np.array(net.to_xy(*collapse["location"]))

    def chord(a: int, b: int) -> float:  # centre to the straight segment a -> b (m)
        p, q = net.travel.xy[net.travel.index[a]], net.travel.xy[net.travel.index[b]]
        t = np.clip(np.dot(centre - p, q - p) / max(np.dot(q - p, q - p), 1e-12), 0.0, 1.0)
        return float(np.hypot(*(p + t * (q - p) - centre)))

    assert sum(chord(a, b) > 40.0 for a, b, _ in response) == 1


def test_plan_closure_opens_again(monaco_pack, net):
    """A plan closure from 10 to 30 min: closed links at 10 min, none at 30 min."""
    model = build_response(scenario(), PLAN, monaco_pack, network=net)
    model.run(3600.0)
    roads = [(e.time, e.value) for e in model.events if e.event == "roads"]
    assert [t for t, _ in roads] == [600.0, 1800.0]
    assert roads[0][1] >= 1
    assert roads[1][1] == 0


def test_coverage_falls_while_units_are_busy(monaco_pack, net):
    """Coverage samples lie in [0, 1] and drop below full when a unit is out."""
    sc = scenario(incidents={"background": {"medical": 20.0}})
    model = build_response(sc, PLAN, monaco_pack, network=net, coverage_interval=60.0)
    kpis = model.run(7200.0)
    samples = [e.value for e in model.events if e.event == "coverage"]
    assert len(samples) == 120
    assert 0.0 <= min(samples) < max(samples) <= 1.0
    assert kpis.coverage_min["ambulance"] == min(samples)


def test_facility_plan_uses_osm_stations(monaco_pack):
    plan = facility_plan(monaco_pack, units={"fire_station": {"fire_engine": 1}})
    assert len(plan.stations) == int((monaco_pack.facilities["kind"] == "fire_station").sum())
    assert all(s.facility for s in plan.stations)
    assert np.all([s.units.fire_engine == 1 for s in plan.stations])


def test_closure_of_an_unknown_road_is_refused(monaco_pack, net):
    from twin.errors import ScenarioError

    data = PLAN.model_dump()
    data["closures"] = [{"name": "nowhere", "road": "way/1", "start": 0}]
    with pytest.raises(ScenarioError) as info:
        build_response(scenario(), Plan.model_validate(data), monaco_pack, network=net)
    assert info.value.problems[0].field == "closures[0].road"


def test_closure_by_way_id_closes_its_links(monaco_pack, net):
    way = next(w for w in net.travel.way_ids if isinstance(w, int) and w > 0)
    data = PLAN.model_dump()
    data["closures"] = [{"name": "way", "road": f"way/{way}", "start": 60}]
    model = build_response(scenario(), Plan.model_validate(data), monaco_pack, network=net)
    model.run(120.0)
    (roads,) = [e for e in model.events if e.event == "roads"]
    assert roads.value >= 1
