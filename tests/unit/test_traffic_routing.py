"""Shortest paths: forward and reversed searches agree, closed links are avoided."""

from __future__ import annotations

import numpy as np

from twin.traffic import grid_network
from twin.traffic.routing import shortest_paths


def _cost_of(ptr, links, cost):
    return np.array([cost[links[ptr[i] : ptr[i + 1]]].sum() for i in range(len(ptr) - 1)])


def test_reversed_search_finds_paths_as_short_as_the_forward_one():
    """Many starts to few targets (searched from the targets) cost the same as the same
    pairs searched from the starts, and each path is connected end to end."""
    net = grid_network(6)
    rng = np.random.default_rng(0)
    cost = rng.uniform(10, 100, net.n_links)
    starts = rng.integers(0, 36, 200)
    few = rng.integers(0, 36, 200) % 3  # 3 targets: reversed search
    args = (36, net.link_from, net.link_to, cost, starts, few)
    ptr_r, links_r, found_r = shortest_paths(*args, reverse=True)
    ptr_f, links_f, found_f = shortest_paths(*args, reverse=False)
    assert found_r.all()
    assert found_f.all()
    assert np.allclose(_cost_of(ptr_r, links_r, cost), _cost_of(ptr_f, links_f, cost))
    for i in range(200):
        path = links_r[ptr_r[i] : ptr_r[i + 1]]
        if starts[i] == few[i]:
            assert path.size == 0
            continue
        assert net.link_from[path[0]] == starts[i]
        assert net.link_to[path[-1]] == few[i]
        assert np.all(net.link_to[path[:-1]] == net.link_from[path[1:]])


def test_closed_links_are_never_used():
    """With the links out of a node closed, no path leaves it, and its pairs are not found."""
    net = grid_network(3)
    cost = np.ones(net.n_links)
    cost[net.link_from == 4] = np.inf
    for reverse in (False, True):
        _, links, found = shortest_paths(
            9, net.link_from, net.link_to, cost, [4, 0], [0, 8], reverse=reverse
        )
        assert found.tolist() == [False, True]
        assert not np.any(net.link_from[links] == 4)


def test_one_walk_reads_the_same_paths_from_either_end():
    """With random costs (every shortest path unique), the paths walked back from the
    targets of forward searches and on from the starts of reversed searches are the same
    link sequences, start to target, with ``found`` false only where no route exists."""
    net = grid_network(7)
    rng = np.random.default_rng(4)
    cost = rng.uniform(10, 100, net.n_links)
    cost[rng.random(net.n_links) < 0.15] = np.inf  # some pairs unreachable
    starts, targets = rng.integers(0, 49, 300), rng.integers(0, 49, 300)
    args = (49, net.link_from, net.link_to, cost, starts, targets)
    ptr_f, links_f, found_f = shortest_paths(*args, reverse=False)
    ptr_r, links_r, found_r = shortest_paths(*args, reverse=True)
    assert np.array_equal(found_f, found_r)
    assert np.array_equal(ptr_f, ptr_r)
    assert np.array_equal(links_f, links_r)
    assert 0 < found_f.sum() < 300
    for i in np.flatnonzero(found_f & (starts != targets)):
        path = links_f[ptr_f[i] : ptr_f[i + 1]]
        assert (net.link_from[path[0]], net.link_to[path[-1]]) == (starts[i], targets[i])
        assert np.all(net.link_to[path[:-1]] == net.link_from[path[1:]])
