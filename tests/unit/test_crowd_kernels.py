"""Crowd kernels: Weidmann's diagram, the flood hazard rating, FIFO admission, routes."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.crowd import kernels as kn
from twin.crowd.geometry import grid_city
from twin.crowd.network import WalkNetwork, route_tables
from twin.errors import UserInputError


def test_weidmann_end_points_and_a_value():
    """Free speed at 0, nothing at jam density, Weidmann's formula in between."""
    v = kn.weidmann_speed(np.array([0.0, 1.0, 5.4, 6.0]))
    expected = 1.34 * (1 - np.exp(-1.913 * (1 / 1.0 - 1 / 5.4)))
    np.testing.assert_allclose(v, [1.34, expected, 0.0, 0.0])
    assert expected == pytest.approx(1.06, abs=0.005)


def test_weidmann_decreases_with_density():
    """Speed never rises with density."""
    v = kn.weidmann_speed(np.linspace(0, 6, 500))
    assert np.all(np.diff(v) <= 0)


def test_hazard_rating_fd2321():
    """HR = d (v + 0.5) + DF, the debris factor only above its depth."""
    hr = kn.hazard_rating(np.array([0.5, 0.2, 0.5, -1.0]), np.array([1.0, 2.0, -1.0, 3.0]), 0.5)
    np.testing.assert_allclose(hr, [0.75 + 0.5, 0.5, 0.75 + 0.5, 0.0])


def test_wading_factor_linear_then_flat():
    """Dry = 1; linear to the factor at the wading depth; flat beyond."""
    f = kn.wading_factor(np.array([0.0, 0.25, 0.5, 2.0]), 0.5, 0.5)
    np.testing.assert_allclose(f, [1.0, 0.75, 0.5, 0.5])


def test_fifo_admit_head_of_line_blocks():
    """The first in queue 0 wants a full place, so the one behind it waits too."""
    up = np.array([0, 0, 1])
    down = np.array([5, 6, 6])
    moved, _ = kn.fifo_admit(
        up, np.array([9, 9]), down, np.array([0] * 5 + [0, 9]), np.array([1.0, 2.0, 3.0])
    )
    np.testing.assert_array_equal(moved, [False, False, True])


@settings(max_examples=60, deadline=None)
@given(
    k=st.integers(1, 40),
    n_up=st.integers(1, 4),
    n_down=st.integers(1, 4),
    seed=st.integers(0, 10_000),
)
def test_fifo_admit_respects_quotas_and_order(k, n_up, n_down, seed):
    """Quotas hold on both sides; who moves from a queue is its first few, in order."""
    rng = np.random.default_rng(seed)
    up, down = rng.integers(0, n_up, k), rng.integers(0, n_down, k)
    upq, downq = rng.integers(0, 5, n_up), rng.integers(0, 5, n_down)
    ready = rng.random(k)
    moved, order = kn.fifo_admit(up, upq, down, downq, ready)
    np.testing.assert_array_equal(order, np.lexsort((np.arange(k), ready, up)))
    assert np.all(np.bincount(up[moved], minlength=n_up) <= upq)
    assert np.all(np.bincount(down[moved], minlength=n_down) <= downq)
    for q in range(n_up):
        mine = np.flatnonzero(up == q)
        flags = moved[mine[np.argsort(ready[mine])]]
        assert not np.any(flags[1:] & ~flags[:-1])  # no one passes a held person


def test_routes_match_networkx_and_avoid_closed_links():
    """Least times equal networkx's Dijkstra; a closed link is never the next step."""
    net = grid_city(5, 50.0, 2.0)
    rng = np.random.default_rng(1)
    weight = net.length / rng.uniform(0.5, 1.5, net.n_links)
    usable = rng.random(net.n_links) > 0.2
    dist, nxt = route_tables(net, np.array([12, 0]), weight, usable)
    g = nx.DiGraph()
    for i in np.flatnonzero(usable):
        g.add_edge(int(net.tail[i]), int(net.head[i]), w=weight[i])
    for row, target in enumerate((12, 0)):
        lengths = nx.shortest_path_length(g.reverse(), target, weight="w")
        for node in range(net.n_nodes):
            want = lengths.get(node, np.inf)
            assert dist[row, node] == pytest.approx(want)
    hops = nxt[nxt >= 0]
    assert usable[hops].all()


def test_zero_width_is_an_error_unless_floored():
    """A link without positive width is refused, naming the fix; `min_width` floors it."""
    g = nx.MultiDiGraph()
    g.add_node(1, x=0.0, y=0.0)
    g.add_node(2, x=10.0, y=0.0)
    g.add_edge(1, 2, length=10.0, effective_width=0.0)
    with pytest.raises(UserInputError, match="min_width"):
        WalkNetwork.from_graph(g)
    assert WalkNetwork.from_graph(g, min_width=0.8).width[0] == 0.8


@settings(max_examples=60, deadline=None)
@given(k=st.integers(1, 50), groups=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_rank_in_group_matches_lexsort(k, groups, seed):
    """The one-sort fast path orders like a lexsort by (group, key, input order)."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, groups, k)
    key = rng.integers(0, 4, k) * 0.5  # many ties
    order, rank = kn.rank_in_group(group, key)
    np.testing.assert_array_equal(order, np.lexsort((np.arange(k), key, group)))
    for g in range(groups):
        assert sorted(rank[group[order] == g].tolist()) == list(range(np.sum(group == g)))
