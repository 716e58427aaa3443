"""Trips from and to points inside links: snapping to the nearest road, partial lengths."""

from __future__ import annotations

import numpy as np
import pytest

from twin.errors import UserInputError
from twin.traffic import RoadNetwork, TrafficModel
from twin.traffic.demand import snap_or_refuse, snap_to_links


def _long_link() -> RoadNetwork:
    """Nodes 0 -- 2000 m -- 1 -- 100 m -- 2, one way, 20 m/s (a long street's middle is
    1000 m from either junction)."""
    return RoadNetwork(
        node_ids=np.array(["a", "b", "c"]),
        x=np.array([0.0, 2000.0, 2100.0]),
        y=np.zeros(3),
        link_from=np.array([0, 1]),
        link_to=np.array([1, 2]),
        length=np.array([2000.0, 100.0]),
        free_speed=np.full(2, 20.0),
        capacity=np.full(2, 0.5),
        jam_density=np.full(2, 0.15),
        link_ids=np.array(["ab", "bc"]),
    )


def test_a_point_near_a_long_links_middle_snaps_to_the_link():
    """20 m beside the middle of a 2 km street (1000 m from both ends) is within a 250 m
    limit: it snaps to that street, halfway along, 20 m away."""
    net = _long_link()
    snapped = snap_or_refuse(net, np.array([1000.0]), np.array([20.0]), str, max_snap=250.0)
    assert snapped.link.tolist() == [0]
    assert snapped.at[0] == pytest.approx(0.5)
    assert snapped.distance[0] == pytest.approx(20.0)


def test_a_point_far_from_every_road_is_still_refused():
    """300 m from the street is beyond a 250 m limit: the error says how far and the
    setting that would allow it."""
    net = _long_link()
    with pytest.raises(UserInputError, match=r"here is 300 m .*--set max_snap=300"):
        snap_or_refuse(net, np.array([1000.0]), np.array([300.0]), lambda i: "here")


def test_drawn_shapes_are_used_and_oriented_from_the_upstream_node():
    """A link drawn as a detour (and stored end to start) is snapped along its drawing."""
    import shapely

    net = _long_link()
    bent = shapely.LineString([(2000.0, 0.0), (1000.0, 500.0), (0.0, 0.0)])  # reversed
    net.geometry = np.array([bent, None], dtype=object)
    snapped = snap_to_links(net, np.array([1000.0]), np.array([510.0]))
    assert snapped.link.tolist() == [0]
    assert snapped.distance[0] == pytest.approx(10.0)
    assert snapped.at[0] == pytest.approx(0.5)


def _drive(**ends) -> tuple[float, float]:
    model = TrafficModel(_long_link(), dt=1.0)
    model.add_vehicles([0], [2], [0.0], **ends)
    model.advance_to(600.0)
    trips = model.trips()
    model.check_conservation()
    return float(trips.travel_time[0]), float(trips.distance[0])


def test_a_trip_from_a_links_middle_drives_only_the_rest_of_it():
    """From halfway along the 2 km link to node c: 1000 + 100 m at 20 m/s = 55 s."""
    assert _drive(origin_links=[0], origin_at=[0.5]) == pytest.approx((55.0, 1100.0))


def test_a_trip_to_a_links_middle_stops_there():
    """From node a to three quarters along the 2 km link: 1500 m, 75 s."""
    ends = {"destination_links": [0], "destination_at": [0.75]}
    assert _drive(**ends) == pytest.approx((75.0, 1500.0))


def test_a_trip_within_one_link_drives_between_its_points():
    """From a quarter to three quarters along the 2 km link: 1000 m, 50 s."""
    ends = {"origin_links": [0], "origin_at": [0.25]}
    ends |= {"destination_links": [0], "destination_at": [0.75]}
    assert _drive(**ends) == pytest.approx((50.0, 1000.0))


def test_a_destination_behind_the_start_on_a_one_way_street_is_stranded():
    """Three quarters to a quarter along a one-way link: no way back, stranded at once."""
    model = TrafficModel(_long_link(), dt=1.0)
    ends = {"origin_links": [0], "origin_at": [0.75]}
    ends |= {"destination_links": [0], "destination_at": [0.25]}
    model.add_vehicles([0], [2], [0.0], **ends)
    model.advance_to(60.0)
    assert model.trips().status.tolist() == [3]
    assert model.check_conservation()["stranded_at_origin"] == 1


def test_link_ends_out_of_range_are_refused():
    """A link index past the network or a point outside 0-1 is a user error."""
    model = TrafficModel(_long_link(), dt=1.0)
    with pytest.raises(UserInputError, match="out of range"):
        model.add_vehicles([0], [2], [0.0], origin_links=[5], origin_at=[0.5])
    with pytest.raises(UserInputError, match="out of range"):
        model.add_vehicles([0], [2], [0.0], origin_links=[0], origin_at=[1.5])
