"""A day of background incidents in Monaco, with the stations found in OpenStreetMap."""

from __future__ import annotations

import pytest

from twin.coupling.response_setup import build_response, facility_plan
from twin.response.network import CityNetwork
from twin.response.units import TRANSITIONS
from twin.scenario.schema import Scenario

DAY = 86400.0


@pytest.fixture(scope="module")
def day_scenario() -> Scenario:
    return Scenario.model_validate(
        {
            "version": 1,
            "name": "monaco_day",
            "city": {"name": "monaco"},
            "time": {"duration": DAY},
            "seed": 3,
            "incidents": {
                "background": {
                    "medical": 0.6,
                    "traffic_accident": 0.1,
                    "fire": 0.05,
                    "police": 0.2,
                    "rescue": 0.03,
                },
                "scripted": [
                    {"at": 3600, "type": "fire", "priority": 1, "location": [7.4205, 43.7345]}
                ],
            },
        }
    )


DISPATCH = [
    {"policy": "nearest"},
    {"policy": "priority", "preempt": True},
    {"policy": "coverage", "coverage_time": 240},
    {"policy": "tiered", "local_radius": 120, "escalate_after": 60},
]


@pytest.fixture(scope="module", params=DISPATCH, ids=[d["policy"] for d in DISPATCH])
def day_run(request, monaco_pack, day_scenario):
    net = CityNetwork.from_pack(monaco_pack)
    plan = facility_plan(monaco_pack, dispatch=request.param)
    model = build_response(day_scenario, plan, monaco_pack, network=net)
    kpis = model.run(DAY)
    return model, kpis, net, plan


def test_stations_come_from_osm(day_run, monaco_pack):
    """Every fire station and police station of the map is a station of the plan."""
    model, _, _, plan = day_run
    kinds = monaco_pack.facilities["kind"]
    assert len(model.stations) == int(kinds.isin(["fire_station", "police"]).sum())
    assert {s.facility for s in plan.stations} >= {
        f"{t}/{i}"
        for t, i, k in zip(
            monaco_pack.facilities["osm_type"], monaco_pack.facilities["osm_id"], kinds, strict=True
        )
        if k == "fire_station"
    }


def test_every_incident_served_or_reported(day_run):
    """Each call is either reached by a unit or reported unserved with a reason."""
    model, kpis, _, _ = day_run
    assert kpis.incidents == len(model.incidents) > 30
    for inc in model.incidents:
        assert (inc.first_arrival is None) != (inc.unserved is None), inc
        if inc.unserved is not None:
            assert inc.unserved.strip()
    assert kpis.served + kpis.unserved == kpis.incidents
    assert kpis.served > 0.9 * kpis.incidents
    # counted independently, from the event log as it was written: calls, arrivals on scene
    # (a unit's state change or mutual aid arriving) and calls given up, not from the status
    # that finish() settles
    called = {e.incident for e in model.events if e.event == "call"}
    reached = {
        e.incident
        for e in model.events
        if (e.event == "state" and e.detail == "on_scene") or e.event == "aid_arrival"
    }
    given_up = {e.incident for e in model.events if e.event == "unserved"}
    assert called == {inc.id for inc in model.incidents}
    assert reached.isdisjoint(given_up)
    assert reached | given_up == called
    assert (len(reached), len(given_up)) == (kpis.served, kpis.unserved)
    assert 0 < kpis.response_p50 <= kpis.response_p90 < 1800


def test_no_unit_in_two_places(day_run):
    """Replaying the log, every unit follows the state machine, works one call at a time,
    and is at the call's node when on scene and at its station when available."""
    model, _, _, _ = day_run
    nodes = {i.id: i.node for i in model.incidents}
    hospitals = {h.node for h in model.hospitals}
    state = {u.id: "available" for u in model.units}
    job: dict[int, int] = {}
    for ev in model.events:
        if ev.event != "state" or (ev.time == 0.0 and ev.detail == "available"):
            continue
        unit = model.units[ev.unit]
        assert ev.detail in TRANSITIONS[state[ev.unit]], (state[ev.unit], ev)
        if ev.detail == "dispatched":
            assert ev.unit not in job or state[ev.unit] == "dispatched", ev
            job[ev.unit] = ev.incident
        elif ev.detail in ("on_scene", "transporting", "at_hospital"):
            assert job.get(ev.unit) == ev.incident, ev
        elif ev.detail == "returning":
            job.pop(ev.unit, None)
        if ev.detail == "on_scene":
            assert ev.node == nodes[ev.incident]
        if ev.detail == "at_hospital":
            assert ev.node in hospitals
        if ev.detail == "available":
            assert ev.node == unit.home
        state[ev.unit] = ev.detail


def test_log_replays_to_the_same_kpis(day_run):
    """KPIs recomputed from the event log alone equal the live ones."""
    model, kpis, _, _ = day_run
    assert model.replay() == kpis


def test_same_seed_same_kpis_and_calls_do_not_depend_on_plan(day_run, monaco_pack, day_scenario):
    """A second run with the same seed gives identical KPIs; another plan sees the same calls."""
    model, kpis, net, plan = day_run
    again = build_response(day_scenario, plan, monaco_pack, network=net)
    assert again.run(DAY) == kpis
    other = facility_plan(monaco_pack, units={"fire_station": {"fire_engine": 1, "ambulance": 1}})
    rival = build_response(day_scenario, other, monaco_pack, network=net)
    rival.run(DAY)
    calls = [(i.call_time, i.type, i.priority, i.node, i.on_scene) for i in model.incidents]
    assert calls == [(i.call_time, i.type, i.priority, i.node, i.on_scene) for i in rival.incidents]


@pytest.mark.parametrize("dispatch", DISPATCH, ids=[d["policy"] for d in DISPATCH])
def test_stress_live_roads_closures_and_signals(monaco_pack, dispatch):
    """Ten times the usual call rate, link times and 5 % random closures changing every
    2 min, people in water every 30 min, a sinkhole: the run finishes, the log replays to
    the KPIs, every state change is allowed and every call is served or has a reason."""
    from twin.random import stream
    from twin.response.incidents import HazardSignal

    scenario = Scenario.model_validate(
        {
            "version": 1,
            "name": "stress",
            "city": {"name": "monaco"},
            "time": {"duration": DAY / 2},
            "seed": 5,
            "hazards": [
                {"kind": "ground_collapse", "at": 3600, "location": [7.4182, 43.73], "radius": 80}
            ],
            "incidents": {
                "background": {
                    "medical": 6,
                    "traffic_accident": 1,
                    "fire": 0.5,
                    "police": 2,
                    "water_rescue": 0.2,
                }
            },
        }
    )
    units = {"fire_station": {"fire_engine": 2, "ambulance": 3, "rescue_boat": 1}}
    plan = facility_plan(monaco_pack, units={**units, "police": {"police": 1}}, dispatch=dispatch)
    model = build_response(scenario, plan, monaco_pack)
    rng = stream(1, "stress")
    free_flow = model.travel.free_flow

    def roads():
        while True:
            yield model.env.timeout(120.0)
            closed = rng.random(len(free_flow)) < 0.05
            model.update_roads(link_times=free_flow * (1 + 2 * rng.random(len(free_flow))),
                               closed=closed)  # fmt: skip

    def water():
        while True:
            yield model.env.timeout(1800.0)
            model.signal(HazardSignal("people_in_water", int(rng.integers(model.travel.n_nodes))))

    model.env.process(roads())
    model.env.process(water())
    kpis = model.run(DAY / 2)
    assert model.replay() == kpis
    state = {u.id: "available" for u in model.units}
    for ev in model.events:
        if ev.event == "state" and not (ev.time == 0.0 and ev.detail == "available"):
            assert ev.detail in TRANSITIONS[state[ev.unit]], (state[ev.unit], ev)
            state[ev.unit] = ev.detail
    for inc in model.incidents:
        assert (inc.first_arrival is None) != (inc.unserved is None)
    assert kpis.incidents > 300
    assert any(e.event == "unreachable" for e in model.events)
