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
