"""The traffic model's per-step and per-replanning bookkeeping: done once, and only where
it is needed (issue 13: grid11 had become slower than before the engine change through
work the old code did not do)."""

from __future__ import annotations

import numpy as np

from twin.traffic import TrafficModel, grid_network
from twin.traffic import kernels as kern
from twin.traffic.component import TrafficComponent


def test_a_record_counts_the_queues_once(monkeypatch):
    """Each record of the link series counts the link queues once (they give both the
    queue lengths and the speeds; counting twice was the old cost): a run with nothing to
    route makes one count at the start and one per record interval."""
    calls = []
    count = kern.queue_counts
    monkeypatch.setattr(kern, "queue_counts", lambda *a: calls.append(1) or count(*a))
    model = TrafficModel(grid_network(3), dt=1.0, record_every=60.0)
    model.advance_to(600.0)
    assert len(model.series.times) == 11
    assert len(calls) == 11


def test_trips_between_nodes_skip_the_inside_link_bookkeeping(monkeypatch):
    """Trips that start and end at nodes, on no waypoint route, are routed without the
    work for trips inside links (their first and last links) or for routes; a trip that
    starts inside a link turns it on."""
    net = grid_network(4)
    model = TrafficModel(net, dt=1.0, route_slice=60.0, reroute_every=60.0)
    ends = []
    link_ends = model._link_ends
    monkeypatch.setattr(model, "_link_ends", lambda *a: ends.append(1) or link_ends(*a))
    model.add_vehicles([0, 3, 12], [15, 12, 3], [0.0, 10.0, 20.0])
    model.advance_to(600.0)
    assert ends == []
    assert model.trips().arrived.all()
    model.add_vehicles([0], [15], [600.0], origin_links=[0], origin_at=[0.5])
    model.advance_to(1200.0)
    assert len(ends) > 0
    assert model.trips().arrived.all()


def test_reroute_candidates_are_those_with_a_choice_left():
    """:func:`kernels.can_reroute` picks the vehicles with a path that wait to depart or
    are on a link short of their path's last, as the array expression it replaces."""
    rng = np.random.default_rng(2)
    n, n_paths = 500, 40
    lengths = rng.integers(1, 6, n_paths)
    path_ptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    vi = np.zeros((n, 7), dtype=np.int64)
    vi[:, kern.I_PATH] = rng.integers(-1, n_paths, n)
    vi[:, kern.I_STATUS] = rng.integers(0, 4, n)
    pid = np.maximum(vi[:, kern.I_PATH], 0)
    vi[:, kern.I_POS] = rng.integers(0, lengths[pid] + 1)
    status, has_path = vi[:, kern.I_STATUS], vi[:, kern.I_PATH] >= 0
    left = path_ptr[pid + 1] - path_ptr[pid] - vi[:, kern.I_POS]
    want = has_path & ((status == kern.WAITING) | ((status == kern.ON_LINK) & (left > 0)))
    got = kern.can_reroute(vi, n, path_ptr)
    assert np.array_equal(got, want)
    assert 0 < got.sum() < n


def test_unrouted_departures_are_those_without_a_path_due_before_the_window_ends():
    """:func:`kernels.unrouted_before` picks the waiting vehicles without a path that depart
    before the planning window ends, as the array expression it replaces."""
    rng = np.random.default_rng(3)
    n = 500
    vi = np.zeros((n, 7), dtype=np.int64)
    vf = np.zeros((n, 8))
    vi[:, kern.I_PATH] = rng.integers(-1, 3, n)
    vi[:, kern.I_STATUS] = rng.integers(0, 4, n)
    vf[:, kern.F_DEPART] = rng.uniform(0.0, 600.0, n)
    want = (
        (vi[:, kern.I_PATH] < 0)
        & (vi[:, kern.I_STATUS] == kern.WAITING)
        & (vf[:, kern.F_DEPART] < 300.0)
    )
    got = kern.unrouted_before(vi, vf, n - 10, 300.0)
    assert np.array_equal(got, want[: n - 10])
    assert 0 < got.sum() < n - 10


def test_a_snapshot_without_the_inside_link_flag_restores_trips_inside_links():
    """The flag that turns the inside-link work on is derived from the vehicles on
    restore, so a snapshot written before it existed, holding trips inside links added
    during the run, still routes them as a straight run does (bit for bit)."""

    def build() -> TrafficComponent:
        model = TrafficModel(grid_network(4), dt=1.0, route_slice=60.0, reroute_every=60.0)
        model.add_vehicles([0, 3], [15, 12], [0.0, 10.0])  # between nodes
        return TrafficComponent(model)

    def add_inside(c: TrafficComponent) -> None:  # added at 50 s, as a coupled run adds
        c.model.add_vehicles(
            [0, 5, 5], [15, 10, 1], [50.0, 80.0, 200.0],
            origin_links=[0, -1, 5], origin_at=[0.3, 0.0, 0.5],
            destination_links=[-1, 7, -1], destination_at=[1.0, 0.4, 1.0],
        )  # fmt: skip  # the last starts halfway along 5 -> 9 and must drive on to 9

    straight, first = build(), build()
    for c in (straight, first):
        c.advance_to(50.0)
        add_inside(c)
    straight.advance_to(900.0)
    first.advance_to(100.0)
    snap = first.snapshot()
    assert snap.pop("model._inside_links") is True
    fresh = build()
    fresh.restore(snap)
    fresh.advance_to(900.0)
    a, b = straight.model.trips(), fresh.model.trips()
    assert a.arrived.all()
    assert np.array_equal(a.arrive, b.arrive)
    assert np.array_equal(a.distance, b.distance)
