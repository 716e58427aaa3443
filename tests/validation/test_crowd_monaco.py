"""Monaco: everyone below 10 m walks to shelters above 30 m; nobody is lost.

The people are the occupants of the buildings whose ground is below 10 m (about 7,400),
all on foot, leaving after a Rayleigh delay (mean 10 min). The shelters are the schools
and other shelter-kind facilities whose walk node is at least 30 m up (8 schools, 4,245
places with the city's bounded capacity estimates: fewer than the people). Monaco's walk
graph has 21 pieces; people in a piece without a shelter must be reported stuck for want of
a route, and that must be true of the graph; the others stuck found every shelter full.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from twin.crowd import CrowdModel, WalkNetwork
from twin.crowd.model import DESTINATIONS_FULL, NO_ROUTE, ON_LINK, STUCK
from twin.crowd.sources import evacuees, shelters_from_facilities, shelters_from_plan, venue_crowd
from twin.errors import UserInputError
from twin.scenario.demand import DepartureCurve, Evacuation
from twin.scenario.hazards import CrowdEvent
from twin.scenario.plan import Shelter


@pytest.fixture(scope="module")
def low_order(monaco_pack):
    """An evacuation order for every building below 10 m, on foot."""
    b = monaco_pack.buildings
    ids = [f"way/{i}" for i in b.loc[b["ground_elevation"] < 10, "osm_id"]]
    return Evacuation(
        buildings=ids, order_time=0, car_share=0.0, curve=DepartureCurve(kind="rayleigh", mean=600)
    )


@pytest.fixture(scope="module")
def run(monaco_pack, low_order):
    """The model after 2 simulated hours."""
    net = WalkNetwork.from_graph(monaco_pack.walk, crs=monaco_pack.crs)
    nodes, depart = evacuees(monaco_pack, net, low_order, np.random.default_rng(1))
    shelters = shelters_from_facilities(monaco_pack, net, min_elevation=30.0)
    model = CrowdModel(net, np.random.default_rng(2))
    model.add_destinations(shelters.nodes, shelters.capacities, shelters.names, group="s")
    model.add_people(nodes, depart, group="s")
    model.advance_to(7200.0, dt=1.0)
    return model, shelters


def test_shelters_are_high(run):
    """Every destination is at least 30 m above the datum."""
    model, shelters = run
    assert shelters.nodes.size >= 3
    assert np.all(model.net.z[shelters.nodes] >= 30.0)


def test_nobody_is_lost(run):
    """Released (counted at release) = arrived (counted into shelters) + stuck + still
    walking (per-link counts) or waiting; everyone departed; capacities hold."""
    model, _ = run
    k = model.kpis()
    c = k.counts
    assert c["total"] > 5000
    assert k.flows["released"] == np.count_nonzero(model.depart < model.t) == c["total"]
    assert k.flows["arrived"] == sum(d["occupancy"] for d in k.destinations)
    assert k.flows["arrived"] == np.count_nonzero(np.isfinite(model.arrive))
    waiting = np.count_nonzero((model.link < 0) & np.isnan(model.arrive)) - c["stuck"]
    walking = int(model.count.sum()) + waiting
    assert k.flows["released"] == k.flows["arrived"] + c["stuck"] + walking
    assert all(d["occupancy"] <= d["capacity"] for d in k.destinations)
    assert sum(k.stuck_reasons.values()) == c["stuck"]


def test_stuck_people_really_have_no_route(run, monaco_pack):
    """Each person stuck for want of a route stands where no walkway leads to a shelter;
    each stuck for want of room saw every shelter full; everyone else got there or is still
    on the way (most arrived)."""
    model, shelters = run
    graph = nx.DiGraph()
    graph.add_edges_from(zip(model.net.tail.tolist(), model.net.head.tolist(), strict=True))
    can_reach = set(shelters.nodes.tolist())
    for s in shelters.nodes.tolist():
        can_reach |= nx.ancestors(graph, s)
    stuck = model.status == STUCK
    no_route = stuck & (model.reason == NO_ROUTE)
    full = stuck & (model.reason == DESTINATIONS_FULL)
    assert np.count_nonzero(no_route | full) == np.count_nonzero(stuck)
    assert not set(model.node[no_route].tolist()) & can_reach
    assert np.all(model.dests.occupancy == model.dests.capacity)  # everyone stuck for room saw this
    c = model.counts()
    assert c["arrived"] >= 0.9 * (c["total"] - c["stuck"])
    assert np.isfinite(model.kpis().clearance["t50"])


def test_zone_outside_the_map_is_an_error(monaco_pack):
    """An evacuation zone in the sea off Corsica names the field and the map's extent."""
    net = WalkNetwork.from_graph(monaco_pack.walk, crs=monaco_pack.crs)
    order = Evacuation(zone=[(8.0, 43.0), (8.1, 43.0), (8.1, 43.1)], order_time=0)
    with pytest.raises(UserInputError, match="outside the map") as err:
        evacuees(monaco_pack, net, order, np.random.default_rng(0))
    assert err.value.problems[0].field == "demand.evacuation.zone"


def test_shelter_off_the_walkways_is_an_error(monaco_pack):
    """A plan shelter 2 km out at sea cannot be reached: an error naming it."""
    net = WalkNetwork.from_graph(monaco_pack.walk, crs=monaco_pack.crs)
    bad = Shelter(name="boat", location=(7.45, 43.72), capacity=100)
    with pytest.raises(UserInputError, match="boat") as err:
        shelters_from_plan(monaco_pack, net, [bad])
    assert err.value.problems[0].field == "shelters.0.location"


def test_venue_crowd_leaves_by_the_exits(monaco_pack):
    """1,000 people leave a square around the Place du Casino in 10 min and all get out."""
    net = WalkNetwork.from_graph(monaco_pack.walk, crs=monaco_pack.crs)
    lon, lat, d = 7.4275, 43.7395, 0.0008
    event = CrowdEvent(
        venue=[(lon - d, lat - d), (lon + d, lat - d), (lon + d, lat + d), (lon - d, lat + d)],
        people=1000,
        start=0,
        duration=600,
    )
    nodes, depart, exits = venue_crowd(monaco_pack, net, event, np.random.default_rng(0))
    model = CrowdModel(net, np.random.default_rng(1))
    model.add_destinations(exits.nodes, group="exits")
    model.add_people(nodes, depart, group="exits")
    model.advance_to(1800.0)
    assert model.counts()["arrived"] == 1000


def test_zone_order_sends_the_walking_share_of_occupants(monaco_pack):
    """A zone around La Condamine: walkers = occupants x compliance x (1 - car share), up to
    rounding, leaving after the order from nodes near their buildings."""
    net = WalkNetwork.from_graph(monaco_pack.walk, crs=monaco_pack.crs)
    zone = [(7.418, 43.732), (7.424, 43.732), (7.424, 43.737), (7.418, 43.737)]
    order = Evacuation(zone=zone, order_time=600, compliance=0.8, car_share=0.25)
    nodes, depart = evacuees(monaco_pack, net, order, np.random.default_rng(0))
    b = monaco_pack.buildings.to_crs("EPSG:4326")
    pts = b.geometry.representative_point()
    inside = (pts.x > 7.418) & (pts.x < 7.424) & (pts.y > 43.732) & (pts.y < 43.737)
    expected = b.loc[inside, "occupants"].sum() * 0.8 * 0.75
    assert expected > 100
    assert abs(nodes.size - expected) <= inside.sum()
    assert depart.min() >= 600.0


def test_plan_shelters_by_facility_and_location(monaco_pack):
    """A facility id maps to its walk node; an unknown id is an error naming the field."""
    net = WalkNetwork.from_graph(monaco_pack.walk, crs=monaco_pack.crs)
    f = monaco_pack.facilities.iloc[0]
    good = [
        Shelter(name="a", facility=f"{f['osm_type']}/{f['osm_id']}", capacity=50),
        Shelter(name="b", location=(7.4246, 43.7384), capacity=80),
    ]
    dest = shelters_from_plan(monaco_pack, net, good)
    assert net.node_ids[dest.nodes[0]] == f["walk_node"]
    assert dest.capacities.tolist() == [50.0, 80.0]
    with pytest.raises(UserInputError) as err:
        shelters_from_plan(monaco_pack, net, [Shelter(name="x", facility="way/1", capacity=5)])
    assert err.value.problems[0].field == "shelters.0.facility"


def test_flooded_low_streets_close_and_count_exposure(monaco_pack, low_order):
    """Set from outside: 0.6 m of still water on links below 3 m (HR 0.3, passable, slow)
    and 1.2 m at 1 m/s below 2 m (HR 1.8, closed). Nobody enters a closed link; those on
    one when it closed wade out and count person-minutes in hazard; nobody is lost."""
    net = WalkNetwork.from_graph(monaco_pack.walk, crs=monaco_pack.crs)
    low = np.minimum(net.z[net.tail], net.z[net.head])
    depth = np.where(low < 2, 1.2, np.where(low < 3, 0.6, 0.0))
    speed = np.where(low < 2, 1.0, 0.0)
    nodes, _ = evacuees(monaco_pack, net, low_order, np.random.default_rng(1))
    shelters = shelters_from_facilities(monaco_pack, net, min_elevation=30.0)
    model = CrowdModel(net, np.random.default_rng(2))
    model.add_destinations(shelters.nodes, shelters.capacities, group="s")
    model.add_people(nodes[::4], 0.0, group="s")
    model.step(1.0)
    closed = low < 2
    model.place_people(np.flatnonzero(closed)[:20], 0.0, group="s")  # caught by the water
    model.set_flood(depth, speed)
    assert np.array_equal(model.closed, closed)
    on = model.status == ON_LINK
    already = np.flatnonzero(on & closed[np.maximum(model.link, 0)])
    for _ in range(900):
        model.step(1.0)
        on = model.status == ON_LINK
        assert np.all(~closed[model.link[on]] | np.isin(np.flatnonzero(on), already))
    k = model.kpis()
    assert k.person_minutes_in_hazard > 0
    assert sum(k.counts[s] for s in ("pending", "at_node", "on_link", "arrived", "stuck")) == (
        model.status.size
    )
