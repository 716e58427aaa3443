"""Road travel times: shortest paths, parallel edges, closures, link times, positions."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from twin.response import MatrixTravel, RoadTravel, Route


def line_graph() -> nx.MultiDiGraph:
    """0 -> 1 -> 2 (10 s each) and a slow bypass 0 -> 2 (50 s); both ways."""
    g = nx.MultiDiGraph()
    for n in range(3):
        g.add_node(n, x=100.0 * n, y=0.0)
    for u, v, t in [(0, 1, 10.0), (1, 2, 10.0), (0, 2, 50.0)]:
        g.add_edge(u, v, travel_time=t)
        g.add_edge(v, u, travel_time=t)
    return g


def test_matches_networkx_on_monaco(monaco_pack):
    """Times from csgraph equal networkx's Dijkstra (speed factor applied) on Monaco."""
    graph = monaco_pack.largest_component().drive
    travel = RoadTravel(graph, speed_factor=1.25)
    simple = nx.DiGraph()
    for u, v, t in graph.edges(data="travel_time"):
        if not simple.has_edge(u, v) or simple[u][v]["w"] > t / 1.25:
            simple.add_edge(u, v, w=t / 1.25)
    for origin in list(graph.nodes)[:5]:
        want = nx.single_source_dijkstra_path_length(simple, origin, weight="w")
        got = travel.times_from(travel.index[origin])
        for node, t in want.items():
            assert got[travel.index[node]] == pytest.approx(t, rel=1e-9, abs=1e-6)


def test_parallel_edges_keep_the_fastest():
    g = line_graph()
    g.add_edge(0, 1, travel_time=4.0)
    assert RoadTravel(g, speed_factor=1.0).time(0, 1) == 4.0


def test_closure_reroutes_and_cuts():
    """Closing 1 -> 2 sends 0 -> 2 over the bypass; closing the bypass too cuts it off."""
    travel = RoadTravel(line_graph(), speed_factor=1.0)
    assert travel.time(0, 2) == 20.0
    closed = np.array([(u, v) == (1, 2) for u, v, _ in travel.edges])
    version = travel.version
    travel.set_closed(closed)
    assert travel.version > version
    assert travel.time(0, 2) == 50.0
    travel.set_closed(closed | np.array([(u, v) == (0, 2) for u, v, _ in travel.edges]))
    assert np.isinf(travel.time(0, 2))
    assert travel.route(0, 2) is None


def test_link_times_and_speed_factor():
    """Live link times replace free flow; the emergency factor divides them."""
    travel = RoadTravel(line_graph(), speed_factor=2.0)
    assert travel.time(0, 2) == 10.0
    travel.set_link_times(travel.free_flow * 3)
    assert travel.time(0, 2) == 30.0
    travel.set_link_times(None)
    assert travel.time(0, 2) == 10.0
    with pytest.raises(ValueError, match="> 0"):
        travel.set_link_times(np.zeros(len(travel.edges)))


def test_route_nodes_and_position():
    """A route lists its nodes with arrival times; position gives the next node."""
    route = RoadTravel(line_graph(), speed_factor=1.0).route(0, 2)
    assert route.nodes.tolist() == [0, 1, 2]
    assert route.times.tolist() == [0.0, 10.0, 20.0]
    assert route.position(4.0) == (1, 6.0)
    assert route.position(25.0) == (2, 0.0)
    assert Route(np.array([5]), np.zeros(1)).position(1.0) == (5, 0.0)


def test_matrix_travel_checks_its_input():
    with pytest.raises(ValueError, match="square"):
        MatrixTravel(np.zeros((2, 3)))
    assert MatrixTravel(np.array([[0.0, np.inf], [1.0, 0.0]])).route(0, 1) is None


def test_times_to_is_the_transpose_of_times_from(monaco_pack):
    """Reverse Dijkstra to a node equals the forward times from every node to it."""
    travel = RoadTravel(monaco_pack.largest_component().drive)
    dest = 17
    forward = np.array([travel.times_from(o)[dest] for o in range(travel.n_nodes)])
    assert np.allclose(travel.times_to(dest), forward)


def test_caches_are_bounded(monaco_pack, monkeypatch):
    """With a tiny memory budget the cache keeps 16 origins and still answers right."""
    import twin.response.travel as travel_module

    monkeypatch.setattr(travel_module, "CACHE_BYTES", 0)
    travel = RoadTravel(monaco_pack.largest_component().drive)
    first = travel.times_from(0).copy()
    for origin in range(40):
        travel.times_from(origin)
        travel.times_to(origin)
    assert len(travel._cache) == len(travel._cache_to) == 16
    assert np.array_equal(travel.times_from(0), first)  # evicted, solved again


def test_routes_and_nearest_time_agree_with_times_from(monaco_pack):
    """Routes read from the tree into the destination take the forward shortest time, and
    the multi-source nearest time is the minimum over the sources, cut at the limit."""
    travel = RoadTravel(monaco_pack.largest_component().drive)
    for origin, dest in [(0, 100), (50, 3), (200, 201), (7, 7)]:
        route = travel.route(origin, dest)
        assert route.nodes[0] == origin
        assert route.nodes[-1] == dest
        assert route.duration == pytest.approx(travel.times_from(origin)[dest])
    sources = np.array([3, 90, 250])
    want = np.min([travel.times_from(s) for s in sources], axis=0)
    want[want > 120.0] = np.inf
    assert np.allclose(travel.nearest_time(sources, 120.0), want)


def test_times_between_without_a_cached_tree(monaco_pack):
    """A search that stops at the destinations gives the same times as a full tree."""
    travel = RoadTravel(monaco_pack.largest_component().drive)
    ends = np.array([10, 150, 300])
    first = travel.times_between(42, ends)
    assert np.allclose(first, travel.times_from(42)[ends])
    assert travel.time(300, 42) == pytest.approx(travel.times_to(42)[300])


def test_road_travel_runs_on_the_link_index_and_the_one_router(monaco_pack):
    """The response network is the city's drive link index (no graph of its own): its
    links in the index's order, free-flow times its length over speed, times from the one
    router (twin.city.routing.shortest_tree), routes its tree paths, the nearest node the
    index's lookup."""
    from twin.city.routing import shortest_tree, tree_path
    from twin.response.network import CityNetwork
    from twin.response.travel import EMERGENCY_SPEED_FACTOR

    links = monaco_pack.largest_component().links("drive")
    net = CityNetwork.from_pack(monaco_pack)
    travel = net.travel
    assert travel.links is net.links
    assert np.array_equal(net.edge_links, np.arange(links.n_links))
    ids = links.node_ids
    assert travel.edges == list(
        zip(ids[links.tail].tolist(), ids[links.head].tolist(), links.key.tolist(), strict=True)
    )
    np.testing.assert_array_equal(travel.free_flow, links.length / links.speed)
    weight = links.length / links.speed / EMERGENCY_SPEED_FACTOR
    dist, pred = shortest_tree(links, weight, 42)
    np.testing.assert_array_equal(travel.times_from(42), dist)
    route = travel.route(42, 300)
    path = tree_path(links, pred, 300)
    assert route.nodes.tolist() == [42, *links.head[path].tolist()]
    x, y = links.x[[5, 77]] + 3.0, links.y[[5, 77]] - 4.0
    for got, want in zip(travel.nearest(x, y), links.nearest_nodes(x, y), strict=True):
        np.testing.assert_array_equal(got, want)
