"""Hazards -> incidents (twin.coupling.calls): water rescues, vehicle rescues, crowd-crush
and collapse calls as plain records, each with its cause, deterministic given a stream.

Thresholds come from FD2321 (hazard classes: "danger for most" from HR 1.25) and the issue
(4 persons/m2 for a minute); random counts are checked against their binomial mean with
a band of 4.5 standard deviations (fixed seeds: the test is deterministic; the band only
states that the draws have the stated probability).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.city.links import LinkIndex
from twin.coupling.calls import (
    CALL_KINDS,
    CrushRules,
    Episodes,
    WaterRescueRules,
    collapse_calls,
    crowd_crush_calls,
    link_nodes,
    update_episodes,
    vehicle_rescue_calls,
    water_rescue_calls,
)
from twin.random import stream
from twin.response.incidents import HAZARD_SIGNALS, PROFILES


def test_an_episode_calls_once_after_its_duration_and_again_after_a_break():
    ep = Episodes.none(1)
    due_at = []
    for t, holds in [(0, 1), (30, 1), (60, 1), (90, 1), (120, 0), (150, 1), (180, 1), (210, 1)]:
        ep, due = update_episodes(ep, [bool(holds)], float(t), 60.0)
        if due[0]:
            due_at.append(t)
    assert due_at == [60, 210]  # 0 -> 60; broken at 120; 150 -> 210


def test_a_zero_duration_calls_at_first_sight():
    _, due = update_episodes(Episodes.none(3), [False, True, True], 0.0, 0.0)
    assert due.tolist() == [False, True, True]


def test_every_call_kind_is_one_the_response_model_can_serve():
    for kind, (incident, unit, priority, signal) in CALL_KINDS.items():
        assert unit in PROFILES[incident].needs, kind
        assert 1 <= priority <= 3
        if signal is not None:
            assert HAZARD_SIGNALS[signal] == (incident, priority), kind


def test_people_in_water_danger_for_most_for_two_minutes_call_a_rescue():
    """Links rated 2.5 (nobody on it), 1.3 (3 people), 1.0 (2 people: only 'danger for
    some'), 1.25 (5 people: the edge of 'danger for most'); exchanges every 60 s."""
    people = np.array([0, 3, 2, 5])
    rating = np.array([2.5, 1.3, 1.0, 1.25])
    node = np.array([10, 11, 12, 13])
    ep = Episodes.none(4)
    by_time = {}
    for t in (0.0, 60.0, 120.0, 180.0):
        calls, ep = water_rescue_calls(t, people, rating, node, ep)
        by_time[t] = calls
    assert [len(by_time[t]) for t in (0.0, 60.0, 120.0, 180.0)] == [0, 0, 2, 0]
    first, second = by_time[120.0]
    assert (first.node, first.count, first.priority) == (11, 3, 1)
    assert (first.unit_type, first.incident_type, first.signal) == (
        "rescue_boat",
        "water_rescue",
        "people_in_water",
    )
    assert (
        first.cause
        == "3 people in floodwater rated 1.30 (danger for most) on walk link 1 for 120 s"
    )
    assert (second.node, second.count) == (13, 5)


def test_a_lower_class_and_duration_are_parameters():
    rules = WaterRescueRules(min_class=1, duration=0.0)
    calls, _ = water_rescue_calls(
        0.0, np.array([2, 1]), np.array([0.75, 0.7]), np.array([0, 1]), Episodes.none(2), rules
    )
    assert [c.node for c in calls] == [0]  # 0.75 is 'danger for some', 0.7 is not


def test_every_stranded_vehicle_calls_when_the_probability_is_one():
    calls = vehicle_rescue_calls(
        300.0,
        [7, 9],
        [1, 0],
        np.array([40, 41]),
        stream(1, "calls.vehicles"),
        depth=np.array([0.0, 0.35]),
    )
    assert [(c.node, c.key, c.priority, c.unit_type) for c in calls] == [
        (41, "vehicle:7", 2, "fire_engine"),
        (40, "vehicle:9", 2, "fire_engine"),
    ]
    assert (
        calls[0].cause == "vehicle 7 stranded on drive link 1, closed to cars under 0.35 m of water"
    )


def test_vehicle_calls_are_drawn_with_their_probability_and_repeat_with_the_stream():
    n, p = 10_000, 0.3
    vehicles, links, node = np.arange(n), np.zeros(n, dtype=np.int64), np.array([5])
    calls = vehicle_rescue_calls(
        0.0, vehicles, links, node, stream(3, "calls.vehicles"), call_probability=p
    )
    assert abs(len(calls) - n * p) <= 4.5 * math.sqrt(n * p * (1 - p))
    again = vehicle_rescue_calls(
        0.0, vehicles, links, node, stream(3, "calls.vehicles"), call_probability=p
    )
    assert again == calls
    none = vehicle_rescue_calls(
        0.0, vehicles, links, node, stream(3, "calls.vehicles"), call_probability=0.0
    )
    assert none == []


def test_a_crowd_above_4_per_m2_for_a_minute_raises_a_crush_call():
    density = np.array([4.0, 4.1, 6.0])  # 4.0 is not above the threshold
    ep = Episodes.none(3)
    calls0, ep = crowd_crush_calls(0.0, density, np.array([1, 2, 3]), ep)
    calls60, ep = crowd_crush_calls(60.0, density, np.array([1, 2, 3]), ep)
    assert calls0 == []
    assert [(c.node, c.unit_type, c.incident_type) for c in calls60] == [
        (2, "ambulance", "crowd_crush"),
        (3, "ambulance", "crowd_crush"),
    ]
    assert calls60[0].cause == "crowd density 4.1 /m2 above 4 /m2 on walk link 1 for 60 s"
    stricter = CrushRules(density=5.0, duration=0.0)
    calls, _ = crowd_crush_calls(0.0, density, np.array([1, 2, 3]), Episodes.none(3), stricter)
    assert [c.node for c in calls] == [3]


def test_a_collapse_raises_a_structural_call_and_its_casualties():
    alone = collapse_calls(900.0, 4, stream(1, "calls.collapse"), name="hazards.2")
    assert [(c.kind, c.unit_type, c.priority, c.cause) for c in alone] == [
        ("collapse", "fire_engine", 1, "ground collapse hazards.2")
    ]
    n, share = 1000, 0.1
    calls = collapse_calls(
        900.0,
        4,
        stream(1, "calls.collapse"),
        name="hazards.2",
        people_exposed=n,
        casualty_share=share,
    )
    hurt = [c for c in calls if c.kind == "collapse_casualty"]
    assert abs(len(hurt) - n * share) <= 4.5 * math.sqrt(n * share * (1 - share))
    assert {(c.unit_type, c.incident_type, c.node) for c in hurt} == {("ambulance", "medical", 4)}
    assert len({c.key for c in calls}) == len(calls)
    again = collapse_calls(
        900.0,
        4,
        stream(1, "calls.collapse"),
        name="hazards.2",
        people_exposed=n,
        casualty_share=share,
    )
    assert again == calls
    with pytest.raises(ValueError, match="casualty_share"):
        collapse_calls(0.0, 0, stream(1, "x"), name="c", casualty_share=1.5)


def test_calls_about_a_walk_link_go_to_the_road_node_beside_its_middle():
    road = LinkIndex.from_arrays([0, 1], [1, 2], [0.0, 100.0, 200.0], [0.0, 0.0, 0.0])
    walk = LinkIndex.from_arrays([0, 1], [1, 2], [0.0, 170.0, 250.0], [10.0, 10.0, 10.0])
    # middles at x = 85 (nearest road node 1 at x = 100) and x = 210 (node 2 at x = 200)
    assert link_nodes(walk, road).tolist() == [1, 2]
