"""Tiered jurisdiction: lowest tier first, escalation after a wait or when no unit there can
arrive within target, mutual aid from neighbours, outside aid last.

The constructed city: streets S and T; community A (node 0, its ambulance at node 0) lies in
S, community B (node 1, its ambulance at node 1) in T; A and B are neighbours across the
street border. S's own ambulance waits at node 2. Node 3 lies in A but 1000 s from its
station. Drive times (s):

====== ==== ==== ==== ====
from    0    1    2    3
====== ==== ==== ==== ====
0        0  100  300 1000
1      100    0  300 1000
2      300  300    0  100
3     1000 1000  100    0
====== ==== ==== ==== ====
"""

from __future__ import annotations

import numpy as np
import pytest

from twin.coupling.response_setup import plan_policy, policy_options
from twin.response import IncidentProfile, MatrixTravel, ResponseModel, ScriptedCall, StationSpec
from twin.response.jurisdictions import Jurisdictions, JurisdictionSpec
from twin.response.policies import make_policy
from twin.scenario.plan import TieredDispatch

OUTSIDE_AID_DELAY = TieredDispatch().outside_aid_delay
"""The plan's default travel time of a unit from outside the plan (s)."""

TIMES = np.array(
    [
        [0.0, 100.0, 300.0, 1000.0],
        [100.0, 0.0, 300.0, 1000.0],
        [300.0, 300.0, 0.0, 100.0],
        [1000.0, 1000.0, 100.0, 0.0],
    ]
)
LONG = {"medical": IncidentProfile({"ambulance": 1}, (1.0, 0.0, 0.0), 5000.0, 1e-9)}
STATIONS = [
    StationSpec("A", 0, {"ambulance": 1}),  # unit 0
    StationSpec("B", 1, {"ambulance": 1}),  # unit 1
    StationSpec("S", 2, {"ambulance": 1}),  # unit 2
]


def city(*, neighbours: bool = True) -> Jurisdictions:
    """Streets S and T; A in S and B in T, neighbours unless told otherwise."""
    near = (lambda k: frozenset({k})) if neighbours else (lambda k: frozenset())
    items = [
        JurisdictionSpec("S", "street", None, (2,)),
        JurisdictionSpec("A", "community", 0, (0,), near(3)),
        JurisdictionSpec("T", "street", None, ()),
        JurisdictionSpec("B", "community", 2, (1,), near(1)),
    ]
    return Jurisdictions(items, np.array([1, 3, 0, 1]), len(STATIONS))


def run(calls, *, until=3000.0, jurisdictions=None, **params):
    model = ResponseModel(
        MatrixTravel(TIMES),
        STATIONS,
        policy=plan_policy(
            "tiered",
            escalate_after=60.0,
            jurisdictions=city() if jurisdictions is None else jurisdictions,
            **params,
        ),
        scripted=[ScriptedCall(t, "medical", p, node) for t, p, node in calls],
        profiles=LONG,
        targets=(480.0, 480.0, 480.0),
        coverage_interval=None,
    )
    kpis = model.run(until)
    assert model.replay() == kpis
    return model


def sent(model) -> list[tuple[float, int, int]]:
    """(time, unit, incident) of every dispatch."""
    return [
        (e.time, e.unit, e.incident)
        for e in model.events
        if e.event == "state" and e.detail == "dispatched"
    ]


def climbs(model) -> list[tuple[float, int, str]]:
    return [(e.time, e.incident, e.detail) for e in model.events if e.event == "escalate"]


def test_ladder_goes_up_through_neighbours_to_the_parent():
    """A's rungs: A, then its neighbour B, then street S (cumulative); B is not in S."""
    rungs = city().ladder(0)
    assert [r.label for r in rungs] == [
        "A (community)",
        "neighbours of A (community)",
        "S (street)",
    ]
    assert [sorted(r.stations) for r in rungs] == [[0], [0, 1], [0, 1, 2]]
    assert [sorted(r.stations) for r in city(neighbours=False).ladder(0)] == [[0], [0, 2]]
    assert [r.label for r in city().ladder(0, mutual_aid=False)] == ["A (community)", "S (street)"]
    assert [r.label for r in city().ladder(0, "street")] == ["S (street)"]
    assert [r.label for r in city().ladder(2)] == ["S (street)"]


def test_community_unit_first():
    """A free unit of the call's own community that can make the target goes."""
    assert sent(run([(0.0, 2, 0)])) == [(0.0, 0, 0)]


def test_escalates_after_the_wait():
    """A's unit is busy (could make the target once back), mutual aid is off: the second
    call waits escalate_after (60 s) at A, then S's unit goes."""
    model = run([(0.0, 2, 0), (10.0, 2, 0)], mutual_aid=False)
    assert sent(model) == [(0.0, 0, 0), (70.0, 2, 1)]
    assert climbs(model) == [(70.0, 1, "ambulance -> S (street)")]


def test_escalates_at_once_when_no_unit_there_can_make_the_target():
    """Node 3 is in A, but A's station is 1000 s away (target 480 s): the call goes up at
    once, past neighbour B (also 1000 s), and S's unit (100 s) is sent at the call time."""
    model = run([(5.0, 2, 3)])
    assert sent(model) == [(5.0, 2, 0)]
    assert [d for _, _, d in climbs(model)] == [
        "ambulance -> neighbours of A (community)",
        "ambulance -> S (street)",
    ]
    assert model.incidents[0].response_time == pytest.approx(100.0)


def test_neighbour_gives_mutual_aid_before_the_street():
    """A's unit busy: after the wait at A the neighbour B (another street) lends its unit,
    100 s away, before street S is asked; without neighbours S's unit (300 s) goes."""
    with_aid = run([(0.0, 2, 0), (10.0, 2, 0)])
    assert sent(with_aid) == [(0.0, 0, 0), (70.0, 1, 1)]
    assert climbs(with_aid) == [(70.0, 1, "ambulance -> neighbours of A (community)")]
    alone = run([(0.0, 2, 0), (10.0, 2, 0)], jurisdictions=city(neighbours=False))
    assert sent(alone) == [(0.0, 0, 0), (70.0, 2, 1)]


def test_lowest_tier_by_priority():
    """Priority 1 may start no lower than the street: with A's unit busy the P1 call gets
    S's unit at once, no wait at A."""
    model = run([(0.0, 3, 0), (10.0, 1, 0)], lowest_tier={"priority_1": "street"})
    assert sent(model) == [(0.0, 0, 0), (10.0, 2, 1)]
    assert climbs(model) == []


def test_outside_aid_after_the_top_waits():
    """Every unit busy: the fourth call climbs to B's aid (70 s) and to S (130 s), waits
    there 60 s, and a unit from outside the plan arrives OUTSIDE_AID_DELAY later."""
    calls = [(0.0, 2, 0), (1.0, 2, 1), (2.0, 2, 2), (10.0, 2, 0)]
    model = run(calls, until=3000.0)
    assert [t for t, incident, _ in climbs(model) if incident == 3] == [70.0, 130.0]
    assert model.incidents[3].first_arrival == pytest.approx(190.0 + OUTSIDE_AID_DELAY)
    none = run(calls, until=3000.0, outside_aid_delay=None)
    assert none.incidents[3].first_arrival is None


def test_place_outside_every_jurisdiction_draws_on_all():
    """A node no jurisdiction holds is served by every unit of the plan."""
    j = Jurisdictions([JurisdictionSpec("A", "community", None, (0,))], np.array([0, -1]), 2)
    assert [sorted(r.stations) for r in j.ladder(1)] == [[0, 1]]


def test_bad_structures_are_refused():
    """A parent of a lower tier, or an unknown tier, is a programming error."""
    with pytest.raises(ValueError, match="higher tier"):
        Jurisdictions(
            [JurisdictionSpec("D", "district", 1), JurisdictionSpec("S", "street")],
            np.zeros(1, dtype=int),
            0,
        )
    with pytest.raises(ValueError, match="tier"):
        Jurisdictions([JurisdictionSpec("X", "county")], np.zeros(1, dtype=int), 0)
    with pytest.raises(Exception, match="lowest_tier"):
        make_policy(
            "tiered", **{**policy_options(TieredDispatch()), "lowest_tier": ["province"] * 3}
        )
