"""Rules of the response model, one small system each."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from twin.coupling.response_setup import plan_policy
from twin.random import stream
from twin.response import (
    HazardSignal,
    Hospital,
    IncidentProfile,
    MatrixTravel,
    ResponseModel,
    RoadTravel,
    ScriptedCall,
    StationSpec,
    make_policy,
)

FIXED = {  # deterministic-ish: on-scene times drawn with a tiny spread
    "medical": IncidentProfile({"ambulance": 1}, (1.0, 0.0, 0.0), 100.0, 1e-9, 0.0),
    "police": IncidentProfile({"police": 1}, (1.0, 0.0, 0.0), 100.0, 1e-9, 0.0),
    "transport": IncidentProfile({"ambulance": 1}, (1.0, 0.0, 0.0), 100.0, 1e-9, 1.0, 100.0),
}


def model_on(travel, stations, calls, policy="nearest", **kw):
    scripted = [ScriptedCall(t, kind, p, node) for t, kind, p, node in calls]
    return ResponseModel(
        travel,
        stations,
        policy=plan_policy(policy, **kw.pop("params", {})),
        scripted=scripted,
        profiles=FIXED,
        coverage_interval=None,
        **kw,
    )


def road() -> RoadTravel:
    """0 - 1 - 2 at 50 s a link, with a slow bypass 0 - 2 (300 s)."""
    g = nx.MultiDiGraph()
    for n in range(3):
        g.add_node(n, x=100.0 * n, y=0.0)
    for u, v, t in [(0, 1, 50.0), (1, 2, 50.0), (0, 2, 300.0)]:
        g.add_edge(u, v, travel_time=t)
        g.add_edge(v, u, travel_time=t)
    return RoadTravel(g, speed_factor=1.0)


def test_response_time_is_call_to_first_arrival():
    m = model_on(road(), [StationSpec("s", 0, {"ambulance": 1})], [(10.0, "medical", 1, 2)])
    m.run(1000.0)
    assert m.incidents[0].response_time == pytest.approx(100.0)


def test_unit_reroutes_when_a_link_closes_ahead():
    """Closed 1 -> 2 at t=20 s: the unit finishes link 0 -> 1 (t=50), goes back to 0 (100)
    and takes the bypass (400)."""
    travel = road()
    m = model_on(travel, [StationSpec("s", 0, {"ambulance": 1})], [(0.0, "medical", 1, 2)])
    closed = np.array([(u, v) == (1, 2) for u, v, _ in travel.edges])
    m.schedule(20.0, lambda: m.update_roads(closed=closed))
    m.run(2000.0)
    assert m.incidents[0].first_arrival == pytest.approx(400.0)


def test_unreachable_call_is_reported():
    """Every road into node 2 closes while the unit drives: it reports it, the call is
    unserved with a reason, and the unit goes home."""
    travel = road()
    m = model_on(travel, [StationSpec("s", 0, {"ambulance": 1})], [(0.0, "medical", 1, 2)])
    closed = np.array([v == 2 for _, v, _ in travel.edges])
    m.schedule(10.0, lambda: m.update_roads(closed=closed))
    kpis = m.run(2000.0)
    assert [e.detail for e in m.events if e.event == "unreachable"] == ["no route to the scene"]
    assert kpis.unserved_reasons == {"no ambulance can reach it by road": 1}
    assert m.units[0].state == "available"


def test_missing_unit_type_is_reported():
    m = model_on(road(), [StationSpec("s", 0, {"ambulance": 1})], [(0.0, "police", 2, 1)])
    assert m.run(100.0).unserved_reasons == {"no police in the plan": 1}


def test_calls_open_at_the_end_have_a_reason():
    travel = MatrixTravel(np.array([[0.0, 500.0], [500.0, 0.0]]))
    calls = [(0.0, "medical", 1, 1), (1.0, "medical", 1, 1)]
    kpis = model_on(travel, [StationSpec("s", 0, {"ambulance": 1})], calls).run(100.0)
    assert kpis.unserved_reasons == {"unit en route at end": 1, "waiting at end": 1}


@pytest.mark.parametrize(("policy", "first"), [("nearest", 3), ("priority", 1)])
def test_priority_policy_serves_priority_1_first(policy, first):
    """Two calls wait for one busy unit: FCFS takes the older P3, priority takes the P1."""
    travel = MatrixTravel(np.zeros((1, 1)))
    calls = [(0.0, "medical", 2, 0), (1.0, "medical", 3, 0), (2.0, "medical", 1, 0)]
    m = model_on(travel, [StationSpec("s", 0, {"ambulance": 1})], calls, policy)
    m.run(1000.0)
    second = min(m.incidents[1:], key=lambda i: i.first_arrival)
    assert second.priority == first


def test_tiered_waits_for_local_unit_then_escalates():
    """The local unit is busy: the call waits escalate_after (60 s), then the city unit goes."""
    travel = MatrixTravel(np.array([[0.0, 100.0, 900.0], [100.0, 0.0, 900.0], [900.0] * 3]))
    stations = [StationSpec("local", 0, {"ambulance": 1}), StationSpec("city", 2, {"ambulance": 1})]
    calls = [(0.0, "medical", 1, 0), (1.0, "medical", 1, 1)]
    params = {"local_radius": 300.0, "escalate_after": 60.0}
    m = model_on(travel, stations, calls, "tiered", params=params, targets=(2000.0, 2000.0, 2000.0))
    m.run(5000.0)
    sent = [(e.time, e.unit) for e in m.events if e.event == "state" and e.detail == "dispatched"]
    assert sent == [(0.0, 0), (61.0, 1)]


def test_hospital_diversion_and_overflow():
    """One arrival an hour each: the second patient is diverted, the third overflows."""
    travel = MatrixTravel(np.array([[0, 10, 20], [10, 0, 10], [20, 10, 0]], dtype=float))
    hospitals = [Hospital("near", 1, 1.0), Hospital("far", 2, 1.0)]
    calls = [(0.0, "transport", 1, 0), (1.0, "transport", 1, 0), (2.0, "transport", 1, 0)]
    m = model_on(travel, [StationSpec("s", 0, {"ambulance": 3})], calls, hospitals=hospitals)
    kpis = m.run(3000.0)
    assert (kpis.diversions, kpis.hospital_overflow) == (1, 1)
    assert [e.detail for e in m.events if e.event in ("divert", "overflow")] == ["far", "near"]


def test_returning_unit_takes_a_new_call():
    """A unit driving home is sent on from where it is: it finishes the link it is on (back
    at its station at 2100 s, 600 s after the call) and drives 1000 s to the call."""
    travel = MatrixTravel(np.array([[0.0, 1000.0], [1000.0, 0.0]]))
    calls = [(0.0, "medical", 1, 1), (1500.0, "medical", 1, 1)]
    m = model_on(travel, [StationSpec("s", 0, {"ambulance": 1})], calls)
    m.run(5000.0)
    states = [e.detail for e in m.events if e.event == "state"]
    assert "returning" in states
    assert states[states.index("returning") + 1] == "dispatched"
    assert m.incidents[1].response_time == pytest.approx(600.0 + 1000.0)


def test_hazard_signal_raises_calls():
    travel = MatrixTravel(np.zeros((1, 1)))
    profiles = {"crowd_crush": IncidentProfile({"ambulance": 2}, (1.0, 0.0, 0.0), 60.0)}
    m = ResponseModel(
        travel,
        [StationSpec("s", 0, {"ambulance": 2})],
        policy=make_policy("nearest"),
        profiles=profiles,
        coverage_interval=None,
    )
    m.signal_at(30.0, HazardSignal("crowd_density", 0, count=2))
    m.run(600.0)
    assert [(i.type, i.priority, i.call_time) for i in m.incidents] == [
        ("crowd_crush", 1, 30.0),
        ("crowd_crush", 1, 30.0),
    ]
    with pytest.raises(ValueError, match="valid: crowd_density"):
        HazardSignal("tsunami", 0)


def test_hazard_signal_key_raises_calls_once():
    """A model reporting the same hazard every coupling interval raises one call; another
    key raises its own."""
    m = model_on(MatrixTravel(np.zeros((1, 1))), [StationSpec("s", 0, {"ambulance": 1})], [])
    m.profiles = {"crowd_crush": IncidentProfile({"ambulance": 1}, (1.0, 0.0, 0.0), 60.0)}
    first = m.signal(HazardSignal("crowd_density", 0, key="crowd:link:7"))
    again = m.signal(HazardSignal("crowd_density", 0, key="crowd:link:7"))
    other = m.signal(HazardSignal("crowd_density", 0, key="crowd:link:8"))
    assert (len(first), len(again), len(other)) == (1, 0, 1)
    assert [e.event for e in m.events].count("signal") == 2


def test_streams_are_per_purpose():
    """Each purpose has its own reproducible stream."""
    a = stream(5, "incidents").random(3)
    assert np.array_equal(a, stream(5, "incidents").random(3))
    assert not np.array_equal(a, stream(5, "hazards").random(3))
    assert not np.array_equal(a, stream(6, "incidents").random(3))


@pytest.mark.parametrize(("preempt", "p1_response"), [(False, 440.0), (True, 140.0)])
def test_preempt_redirects_a_unit_from_a_priority_3_call(preempt, p1_response):
    """Road 4 - 0 - 1 - 2 - 3, 50 s a link, station at 0. The only unit leaves for a P3 call
    at 3; a P1 call at 4 comes in at t=10. With preempt the unit finishes its link (node 1
    at t=50) and turns back (4 at t=150); without, it goes to 3 first. The P3 call is
    served either way."""
    g = nx.MultiDiGraph()
    for n in range(5):
        g.add_node(n, x=100.0 * n, y=0.0)
    for u, v in [(4, 0), (0, 1), (1, 2), (2, 3)]:
        g.add_edge(u, v, travel_time=50.0)
        g.add_edge(v, u, travel_time=50.0)
    travel = RoadTravel(g, speed_factor=1.0)
    calls = [(0.0, "medical", 3, 3), (10.0, "medical", 1, 4)]
    params = {"preempt": preempt}
    m = model_on(travel, [StationSpec("s", 0, {"ambulance": 1})], calls, "priority", params=params)
    m.run(5000.0)
    p3, p1 = m.incidents
    assert p1.response_time == pytest.approx(p1_response)
    assert p3.first_arrival is not None
    states = [e.detail for e in m.events if e.event == "state"]
    assert (states[1:3] == ["dispatched", "dispatched"]) == preempt


def test_coverage_move_up_fills_an_empty_station():
    """Station B's only unit leaves for a call; one of station A's two parked units moves to
    B (the log says so) and parks there."""
    travel = MatrixTravel(np.array([[0.0, 900.0, 900.0], [900.0, 0.0, 60.0], [900.0, 60.0, 0.0]]))
    stations = [StationSpec("A", 0, {"ambulance": 2}), StationSpec("B", 1, {"ambulance": 1})]
    m = model_on(
        travel,
        stations,
        [(0.0, "medical", 1, 2)],
        "coverage",
        params={"coverage_time": 300.0},
        coverage_weights=np.array([1.0, 1.0, 1.0]),
    )
    m.run(600.0)
    moves = [(e.unit, e.detail) for e in m.events if e.event == "move_up"]
    assert moves == [(1, "B")]
    assert m.units[1].home == 1
    assert m.incidents[0].response_time == pytest.approx(60.0)


def test_tiered_mutual_aid_when_no_unit_is_free():
    """The only unit is busy for long: local and city rungs hold the same unit, so the call
    is at the top rung at once; after escalate_after (60 s) there a unit from outside the
    plan is sent and arrives the plan's default outside_aid_delay later; without mutual aid
    the call waits."""
    from twin.scenario.plan import TieredDispatch

    delay = TieredDispatch().outside_aid_delay

    travel = MatrixTravel(np.zeros((1, 1)))
    profiles = {"medical": IncidentProfile({"ambulance": 1}, (1.0, 0.0, 0.0), 1e5, 1e-9)}
    for aid, expected in [(True, 60.0 + delay), (False, None)]:
        m = ResponseModel(
            travel,
            [StationSpec("s", 0, {"ambulance": 1})],
            policy=plan_policy("tiered", escalate_after=60.0, mutual_aid=aid),
            scripted=[ScriptedCall(0.0, "medical", 1, 0), ScriptedCall(0.0, "medical", 1, 0)],
            profiles=profiles,
            coverage_interval=None,
        )
        kpis = m.run(5000.0)
        assert m.incidents[1].response_time == expected
        assert m.replay() == kpis


def test_out_of_service_unit_is_not_sent():
    """Off duty 0-500 s: the call at 100 s waits for the unit's return to duty at 500 s; a
    unit busy when its spell begins goes off duty once it parks."""
    travel = MatrixTravel(np.zeros((1, 1)))
    m = model_on(travel, [StationSpec("s", 0, {"ambulance": 1})], [(100.0, "medical", 1, 0)])
    m.out_of_service(0, 0.0, 500.0)
    kpis = m.run(1000.0)
    assert m.incidents[0].response_time == pytest.approx(400.0)
    assert kpis.utilisation[0] == pytest.approx(0.1)  # 100 s on scene; off duty is not busy
    states = [e.detail for e in m.events if e.event == "state"]
    assert states[:3] == ["available", "out_of_service", "available"]

    busy = model_on(travel, [StationSpec("s", 0, {"ambulance": 1})], [(0.0, "medical", 1, 0)])
    busy.out_of_service(0, 50.0, 300.0)
    busy.run(1000.0)
    spells = [(e.time, e.detail) for e in busy.events if e.event == "state"][-3:]
    assert [d for _, d in spells] == ["available", "out_of_service", "available"]
    assert [t for t, _ in spells] == pytest.approx([100.0, 100.0, 300.0])


def test_slower_links_retime_a_unit_on_the_move():
    """Link times double at t=20 s: the unit reaches node 1 at 50 s as planned, then takes
    100 s (not 50) for the last link; it keeps its path (no closure)."""
    travel = road()
    m = model_on(travel, [StationSpec("s", 0, {"ambulance": 1})], [(0.0, "medical", 1, 2)])
    m.schedule(20.0, lambda: m.update_roads(link_times=travel.free_flow * 2))
    m.run(1000.0)
    assert m.incidents[0].first_arrival == pytest.approx(150.0)


def test_rescue_boat_goes_straight_over_water():
    """Every road into node 2 is closed (flooded): the ambulance cannot reach the water
    rescue, the boat goes straight (200 m at 4 m/s = 50 s) from its station at node 0."""
    from twin.response import StraightTravel

    travel = road()
    travel.set_closed(np.array([v == 2 for _, v, _ in travel.edges]))
    profiles = {
        "water_rescue": IncidentProfile({"rescue_boat": 1, "ambulance": 1}, (1.0, 0, 0), 100.0)
    }
    m = ResponseModel(
        travel,
        [StationSpec("port", 0, {"rescue_boat": 1, "ambulance": 1})],
        policy=make_policy("nearest"),
        scripted=[ScriptedCall(0.0, "water_rescue", 1, 2)],
        profiles=profiles,
        coverage_interval=None,
        water=StraightTravel(travel.xy, 4.0),
    )
    kpis = m.run(1000.0)
    assert m.incidents[0].response_time == pytest.approx(50.0)
    boat = next(u for u in m.units if u.type == "rescue_boat")
    assert boat.state == "available"  # back at the port
    assert kpis.served == 1
    assert m.replay() == kpis
