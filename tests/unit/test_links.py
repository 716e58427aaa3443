"""The link index (twin.city.links), the models built on it, and the one hazard rule
(twin.coupling.hazards): one order of links, one nearest-node lookup, one collapse rule.

Synthetic graphs throughout; the end-to-end collapse test builds a 4 x 4 street grid from
an .osm file (tests/helpers/grid_city.py), so no sample map is needed.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely

from tests.helpers.grid_city import lonlat, one_house, write_grid_osm
from twin.city.links import LinkIndex, index_of_arrays
from twin.coupling.hazards import Closure, links_within, plan_closure_links, timeline
from twin.crowd.network import WalkNetwork
from twin.traffic.network import RoadNetwork


def _graph() -> nx.MultiDiGraph:
    """Four nodes on a 100 m square; edge 1->2 drawn as an arc bulging 40 m north and
    stored in the reverse direction; edges added in an order that is not sorted by tail."""
    g = nx.MultiDiGraph(crs="EPSG:32632")
    for n, (x, y) in {10: (0, 0), 11: (100, 0), 12: (200, 0), 13: (100, 100)}.items():
        g.add_node(n, x=float(x), y=float(y), elevation=float(n))
    arc = shapely.LineString([(200, 0), (150, 40), (100, 0)])  # drawn from 12 to 11
    common = {"speed": 10.0, "capacity": 1800.0, "storage": 20.0, "effective_width": 3.0}
    g.add_edge(12, 11, length=130.0, osmid=7, **common)
    g.add_edge(10, 11, length=100.0, osmid=[5, 6], lanes=2.0, **common)
    g.add_edge(11, 12, length=130.0, osmid=7, geometry=arc, **common)
    g.add_edge(11, 10, length=100.0, osmid=[5, 6], **common)
    g.add_edge(11, 13, length=100.0, osmid=8, **common)
    g.add_edge(13, 11, length=100.0, osmid=8, **common)
    return g


def test_links_follow_the_stated_order_with_csr_offsets_and_si_units():
    """Links sorted by tail node (stable: graph order within a tail); offsets give each
    node's outgoing links; capacity 1,800 veh/h is 0.5 veh/s; merged ways keep both ids."""
    index = LinkIndex.from_graph(_graph(), "drive")
    pairs = list(zip(index.node_ids[index.tail], index.node_ids[index.head], strict=True))
    assert pairs == [(10, 11), (11, 12), (11, 10), (11, 13), (12, 11), (13, 11)]
    assert index.offsets.tolist() == [0, 1, 4, 5, 6]
    assert np.all(index.capacity == 0.5)
    assert index.lanes[0] == 2.0
    assert np.isnan(index.lanes[1])
    assert index.way_ids[index.way_offsets[0] : index.way_offsets[1]].tolist() == [5, 6]
    assert index.way_id.tolist() == [5, 7, 5, 8, 7, 8]
    assert index.z.tolist() == [10.0, 11.0, 12.0, 13.0]


def test_drawn_shapes_run_from_tail_to_head():
    """The arc stored from 12 to 11 is turned round for link 11 -> 12; links without a
    shape are the straight segment."""
    index = LinkIndex.from_graph(_graph(), "drive")
    lines = index.lines()
    assert list(lines[1].coords) == [(100.0, 0.0), (150.0, 40.0), (200.0, 0.0)]
    assert list(lines[0].coords) == [(0.0, 0.0), (100.0, 0.0)]
    assert list(lines[4].coords) == [(200.0, 0.0), (100.0, 0.0)]


def test_the_stored_arrays_read_back_equal_without_pickle():
    """to_npz/from_npz round trip: every array equal, none of object dtype."""
    index = LinkIndex.from_graph(_graph(), "walk")
    back = LinkIndex.from_npz(index.to_npz())
    assert back.kind == "walk"
    for name in ("node_ids", "tail", "head", "key", "offsets", "way_ids", "geom_x", "width"):
        np.testing.assert_array_equal(getattr(back, name), getattr(index, name))
        assert getattr(back, name).dtype != object


def test_subset_equals_the_index_of_the_subgraph():
    """Dropping node 13 keeps the other links in order, as the subgraph's own index."""
    g = _graph()
    index = LinkIndex.from_graph(g, "drive")
    sub = index.subset(index.node_ids != 13)
    own = LinkIndex.from_graph(g.subgraph([10, 11, 12]).copy(), "drive")
    for name in ("node_ids", "tail", "head", "offsets", "length", "way_offsets", "way_ids"):
        np.testing.assert_array_equal(getattr(sub, name), getattr(own, name))
    np.testing.assert_array_equal(sub.geom_x, own.geom_x)


def test_the_nearest_node_tree_is_built_once_per_index():
    """Two lookups share one k-d tree (the crowd network built a new one per call);
    ``among`` limits the answer to some nodes."""
    net = WalkNetwork.from_graph(_graph())
    node, dist = net.nearest_nodes([1.0], [2.0])
    tree = net.links._memo["kdtree"]
    net.nearest_nodes([150.0], [90.0])
    assert net.links._memo["kdtree"] is tree
    assert node.tolist() == [0]
    assert dist[0] == pytest.approx(np.hypot(1, 2))
    far, _ = net.links.nearest_nodes([1.0], [2.0], among=net.links.node_ids == 13)
    assert far.tolist() == [3]


def test_snap_finds_the_drawn_street_and_breaks_ties_by_link_order():
    """A point 5 m above the arc's top snaps to link 11 -> 12 (5 m from its drawn shape,
    halfway along; the straight link back, 12 -> 11, is 45 m away); a point on the
    straight 10-11 street, on both of its links, picks the lower one."""
    index = LinkIndex.from_graph(_graph(), "drive")
    link, at, dist = index.snap([150.0, 50.0], [45.0, 0.0])
    assert link.tolist() == [1, 0]
    assert dist[0] == pytest.approx(5.0)
    assert at[0] == pytest.approx(0.5)
    assert at[1] == pytest.approx(0.5)


def test_models_take_the_index_links_in_its_order():
    """Traffic and crowd networks from the same index: link i is the index's link i; the
    traffic capacity comes in veh/s, the walk width in metres."""
    index = LinkIndex.from_graph(_graph(), "drive")
    road = RoadNetwork.from_links(index)
    walk = WalkNetwork.from_links(index)
    np.testing.assert_array_equal(road.link_from, index.tail)
    np.testing.assert_array_equal(walk.head, index.head)
    assert road.link_ids[1] == "11-12-0"
    assert road.capacity[0] == pytest.approx(0.5)
    assert np.all(walk.width == 3.0)
    assert road.link_lines()[1] is index.lines()[1]


def test_synthetic_networks_map_their_own_link_order():
    """A network whose links are not sorted by tail gets an index and the map back."""
    index, order = index_of_arrays([2, 0, 1], [0, 1, 2], [0.0, 10.0, 20.0], [0.0, 0.0, 5.0])
    assert index.tail.tolist() == [0, 1, 2]
    assert order.tolist() == [1, 2, 0]


def test_city_pack_modules_import_without_each_other_in_a_circle():
    """twin.city.pack no longer reaches into twin.city.build for its nearest nodes (build
    imports pack, not the reverse)."""
    import inspect

    import twin.city.build as build
    import twin.city.pack as pack

    assert "from twin.city.build import" not in inspect.getsource(pack)
    assert "from twin.city.pack import" in inspect.getsource(build)


# ---------------------------------------------------------------- the one hazard rule
def test_a_collapse_closes_links_whose_drawn_shape_passes_within_its_radius():
    """A 10 m collapse at the top of the arc (150, 40) closes link 11 -> 12, drawn as the
    arc, although its straight segment is 40 m away (the crowd model used to test the
    straight segment and left it open), and nothing else (12 -> 11 is stored straight)."""
    index = LinkIndex.from_graph(_graph(), "walk")
    closed = links_within(index, shapely.Point(150.0, 40.0), 10.0)
    pairs = {(int(index.node_ids[a]), int(index.node_ids[b])) for a, b in
             zip(index.tail[closed], index.head[closed], strict=True)}  # fmt: skip
    assert pairs == {(11, 12)}


def test_a_plan_closure_closes_a_way_or_the_nearest_street_both_ways():
    """``road: way/8`` closes 11 <-> 13; a location near the 10-11 street closes both of
    its links; an unknown way is refused naming the field."""
    from twin.errors import UserInputError

    index = LinkIndex.from_graph(_graph(), "drive")
    by_way = plan_closure_links(index, "EPSG:32632", road="way/8")
    assert np.flatnonzero(by_way).tolist() == [3, 5]
    with pytest.raises(UserInputError) as err:
        plan_closure_links(index, "EPSG:32632", road="way/99", field="closures.2")
    assert err.value.problems[0].field == "closures.2.road"
    closures = [Closure(60.0, 120.0, by_way, "cordon", "closures.0")]
    assert [(t, m.sum()) for t, m in timeline(closures, index.n_links)] == [(60.0, 2), (120.0, 0)]


N = 4


def test_a_collapse_closes_the_same_streets_for_traffic_and_crowd(tmp_path):
    """One scenario, one collapse of 20 m at junction (2, 1): the traffic set-up and the
    crowd set-up close the same street links (by their junctions' OSM ids), 8 of them
    (the four streets meeting there, both ways)."""
    from twin.city import load_city
    from twin.coupling.crowd_setup import crowd_from_scenario
    from twin.coupling.traffic_setup import traffic_from_scenario
    from twin.scenario.loader import load_plan, load_scenario

    pack = load_city(write_grid_osm(tmp_path / "t.osm", N, one_house()), flat=True, use_cache=False)
    zone = ", ".join(lonlat(i, j) for i, j in ((-0.5, -0.5), (0.8, -0.5), (0.8, 0.8), (-0.5, 0.8)))
    (tmp_path / "s.yaml").write_text(
        "version: 1\nname: c\ncity: {osm: t.osm, flat: true}\ntime: {duration: 1 h}\n"
        f"hazards:\n  - {{kind: ground_collapse, at: 10 min, location: {lonlat(2, 1)}, "
        "radius: 20 m}\n"
        f"demand:\n  evacuation: {{zone: [{zone}], order_time: 0 min, car_share: 0.5, "
        "compliance: 1.0, curve: {kind: uniform, mean: 2 min}}\n",
        encoding="utf-8",
    )
    (tmp_path / "p.yaml").write_text(
        "version: 1\nkind: plan\nname: p\n"
        f"stations:\n  - {{name: s, location: {lonlat(2, 2)}, units: {{ambulance: 1}}}}\n"
        f"shelters:\n  - {{name: ne, location: {lonlat(3, 3)}, capacity: 500}}\n",
        encoding="utf-8",
    )
    sc, plan = load_scenario(tmp_path / "s.yaml"), load_plan(tmp_path / "p.yaml")
    traffic = traffic_from_scenario(sc, pack, plan=plan)
    crowd = crowd_from_scenario(sc, pack, plan)
    ((t_at, t_links, _),) = traffic.closures
    ((c_at, c_mask, _),) = crowd.closures
    road, walk = traffic.model.net, crowd.model.net

    def pairs(ids, tail, head):
        return {(int(ids[a]), int(ids[b])) for a, b in zip(tail, head, strict=True)}

    by_traffic = pairs(road.node_ids, road.link_from[t_links], road.link_to[t_links])
    by_crowd = pairs(walk.node_ids, walk.tail[c_mask], walk.head[c_mask])
    assert t_at == c_at == 600.0
    assert by_traffic == by_crowd
    assert len(by_traffic) == 8


# ---------------------------------------------------------------- the one router
def _grid_index(n: int = 6, seed: int = 3):
    """An n x n lattice, links both ways, random costs; the index and its costs."""
    from twin.traffic import grid_network

    net = grid_network(n, spacing=100.0)
    index, order = net.link_index()
    cost = np.random.default_rng(seed).uniform(1.0, 10.0, net.n_links)[order]
    return index, cost


def test_the_tree_matches_scipy_and_its_paths_add_up():
    """From node 0: costs equal scipy's Dijkstra on the same links (to 1e-9 s, float
    sums in another order); each path read from the tree costs what the tree says."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    from twin.city.routing import shortest_tree, tree_path

    index, cost = _grid_index()
    n = index.n_nodes
    dist, pred = shortest_tree(index, cost, 0)
    ref = dijkstra(csr_matrix((cost, (index.tail, index.head)), shape=(n, n)), indices=0)
    np.testing.assert_allclose(dist, ref, rtol=0, atol=1e-9)
    for node in (7, 35):
        path = tree_path(index, pred, node)
        assert index.tail[path[0]] == 0
        assert index.head[path[-1]] == node
        assert cost[path].sum() == pytest.approx(dist[node], abs=1e-9)


def test_the_tree_stops_early_searches_backwards_and_respects_a_limit():
    """A search for node 1 settles fewer nodes than a full one but gives its exact cost;
    the reversed search to node 0 gives the costs from every node (the forward ones read
    per node); a limit leaves farther nodes at inf."""
    from twin.city.routing import shortest_tree, tree_path

    index, cost = _grid_index()
    full, _ = shortest_tree(index, cost, 0)
    part, _ = shortest_tree(index, cost, 0, targets=[1])
    assert part[1] == full[1]
    assert np.isinf(part).sum() > 0
    back, pred = shortest_tree(index, cost, 0, reverse=True)
    to_zero = [shortest_tree(index, cost, k, targets=[0])[0][0] for k in (5, 20, 35)]
    np.testing.assert_allclose(back[[5, 20, 35]], to_zero, rtol=0, atol=1e-9)
    path = tree_path(index, pred, 35, reverse=True)
    assert index.tail[path[0]] == 35
    assert index.head[path[-1]] == 0
    near, _ = shortest_tree(index, cost, 0, limit=15.0)
    assert np.all(np.isinf(near[full > 15.0]))
    np.testing.assert_array_equal(near[full <= 15.0], full[full <= 15.0])


def test_a_closed_link_is_never_used():
    """Costs of inf close links: node 1's only links in closed, it is unreachable."""
    from twin.city.routing import shortest_tree

    index, cost = _grid_index()
    cost = cost.copy()
    cost[index.head == 1] = np.inf
    dist, pred = shortest_tree(index, cost, 0)
    assert np.isinf(dist[1])
    assert pred[1] == -1


# ---------------------------------------------------------------- stored with the pack
def test_the_index_is_stored_with_the_pack_and_read_back_equal(tmp_path, monkeypatch):
    """A built pack carries both indexes; the cache stores them as drive_links.npz and
    walk_links.npz under the manifest's hashes and the cached pack reads them back equal
    (not rebuilt from its graphs); a pack whose graph is replaced builds a new one."""
    import dataclasses
    import json

    from test_city_facilities import write_osm

    from twin.city import load_city

    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "cache"))
    osm = write_osm(tmp_path / "tiny.osm")
    built = load_city(osm, flat=True)
    cached = load_city(osm, flat=True)
    (folder,) = (tmp_path / "cache" / "packs").iterdir()
    files = json.loads((folder / "manifest.json").read_text())["files"]
    assert {"drive_links.npz", "walk_links.npz"} <= set(files)
    for kind in ("drive", "walk"):
        graph, stored = cached.link_indexes[kind]
        assert graph is getattr(cached, kind)
        assert cached.links(kind) is stored
        a = built.links(kind)
        assert a.n_links == getattr(built, kind).number_of_edges() > 0
        for name in ("node_ids", "tail", "head", "key", "length", "geom_x", "way_ids", "width"):
            np.testing.assert_array_equal(getattr(stored, name), getattr(a, name))
    smaller = cached.drive.subgraph(list(cached.drive.nodes)[1:]).copy()
    other = dataclasses.replace(cached, drive=smaller)
    assert other.links("drive").n_nodes == cached.links("drive").n_nodes - 1
