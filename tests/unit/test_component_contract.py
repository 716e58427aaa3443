"""The component contract, checked over every model (small synthetic inputs, seconds).

For each component: the declarations pass :func:`check_component`; ``advance_to`` never
passes the time asked; every declared output exists with its declared shape and dtype; a
snapshot holds numpy arrays and scalars only (it fits an ``.npz``, no pickle); and a FRESH
component restored from a snapshot at ``t`` and advanced to ``T`` equals bit for bit a
straight run to ``T`` (every state array compared with ``np.array_equal``).
"""

from __future__ import annotations

import io

import networkx as nx
import numpy as np
import pytest

from twin.crowd import CrowdModel
from twin.crowd.component import CrowdComponent
from twin.crowd.geometry import grid_city
from twin.engine.component import check_component, check_value
from twin.flood import FloodConfig, FloodModel, Forcing, Gauge, Inflow
from twin.flood.component import FloodComponent
from twin.flood.forcing import uniform_rain
from twin.response import BackgroundDemand, ResponseModel, RoadTravel, StationSpec, make_policy
from twin.response.component import ResponseComponent
from twin.traffic import TrafficModel, grid_network
from twin.traffic.component import TrafficComponent


def make_flood() -> FloodComponent:
    """A 12 x 16 tilted, bumpy valley of 10 m cells with rain, an inflow and a gauge."""
    yy, xx = np.mgrid[0:12, 0:16]
    z = 0.05 * xx + 0.1 * np.abs(yy - 6.0) + 0.02 * np.sin(xx * 1.7 + yy)
    inflow = Inflow((0, 300), (0.2, 0.4), [(35.0, 65.0)], crs=None, name="main")
    forcing = Forcing(rainfall=(uniform_rain(3e-5, 200),), inflows=(inflow,))
    cfg = FloodConfig(
        output_interval=60, gauges=(Gauge("g", (105.0, 55.0), crs=None),), gauge_interval=20
    )
    return FloodComponent(FloodModel(z, 10.0, forcing, cfg))


def make_traffic() -> TrafficComponent:
    """60 cars on a 4 x 4 grid, departing over two minutes, rerouted every 30 s."""
    rng = np.random.default_rng(3)
    model = TrafficModel(grid_network(4, spacing=150.0), dt=1.0, record_every=10.0,
                         reroute_every=30.0)  # fmt: skip
    o, d = rng.integers(0, 16, 60), rng.integers(0, 16, 60)
    keep = o != d
    model.add_vehicles(o[keep], d[keep], np.sort(rng.uniform(0, 120, keep.sum())))
    return TrafficComponent(model)


def make_crowd() -> CrowdComponent:
    """300 walkers on a 5 x 5 grid of 30 m streets going to two shelters."""
    net = grid_city(5, 30.0, 1.5)
    rng = np.random.default_rng(7)
    model = CrowdModel(net, rng)
    model.add_destinations([0, 24], [100, 400], group="shelters")
    model.add_people(rng.integers(0, 25, 300), rng.uniform(0, 60, 300), group="shelters")
    return CrowdComponent(model, dt=1.0)


def make_response() -> ResponseComponent:
    """Two stations on a 3 x 3 grid of 60 s roads; background medical and fire calls at
    about one a minute (its own random streams: arrivals, places, scene times)."""
    g = nx.MultiDiGraph()
    for n in range(9):
        g.add_node(n, x=500.0 * (n % 3), y=500.0 * (n // 3))
    for n in range(9):
        for m in (n + 1, n + 3):
            if m < 9 and (m == n + 3 or n % 3 < 2):
                g.add_edge(n, m, travel_time=60.0)
                g.add_edge(m, n, travel_time=60.0)
    stations = [
        StationSpec("west", 0, {"ambulance": 2, "fire_engine": 1}),
        StationSpec("east", 8, {"ambulance": 1, "police": 1}),
    ]
    demand = BackgroundDemand({"medical": 1 / 90.0, "fire": 1 / 400.0}, np.ones(9))
    model = ResponseModel(
        RoadTravel(g), stations, policy=make_policy("nearest"), seed=11, background=demand
    )
    return ResponseComponent(model)


MAKERS = {
    "flood": make_flood,
    "traffic": make_traffic,
    "crowd": make_crowd,
    "response": make_response,
}
#: Where a snapshot is taken and where runs end (s): the snapshot time is an output time of
#: the flood (where it stops in any run), so the straight run takes the same sub-steps.
T_SNAP, T_END = 120.0, 300.0
#: A link closed at T_SNAP - 30 s, so the snapshot holds a closure and rerouted paths.
CLOSED = [5, 6]


def _advance(c, t: float) -> None:
    """Advance with the contract's check, closing links on the way where the model can."""
    if "close_links" in c.actions and c.time < T_SNAP - 30.0 <= t:
        c.advance_to(T_SNAP - 30.0)
        c.inject("close_links", {"links": CLOSED})
    c.advance_to(t)


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "fc":
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)


@pytest.mark.parametrize("kind", MAKERS)
def test_declarations_are_valid_and_outputs_match_them(kind):
    """check_component passes, before and after stepping; every output has its shape."""
    c = MAKERS[kind]()
    check_component(c)
    _advance(c, 90.0)
    check_component(c)
    outs = [f for f in c.info if f.intent == "out"]
    assert outs
    for f in outs:
        check_value(c, f, c.output(f.name))
        assert f.units
        assert f.doc


@pytest.mark.parametrize("kind", MAKERS)
def test_advance_to_never_passes_the_time_asked(kind):
    """Times on and off the step grid: the component stops at or before each, never after,
    and never goes back."""
    c = MAKERS[kind]()
    before = c.time
    for t in (0.4, 7.3, 7.3, 20.0, 33.3, 60.0, 61.9, 100.5):
        c.advance_to(t)
        assert before <= c.time <= t
        assert t - c.time < 1.0  # within one step (1 s) of it
        before = c.time


@pytest.mark.parametrize("kind", MAKERS)
def test_snapshot_holds_arrays_and_scalars_only(kind):
    """No object arrays, nothing but numpy arrays and plain scalars: it fits an .npz."""
    c = MAKERS[kind]()
    _advance(c, T_SNAP)
    snap = c.snapshot()
    for key, value in snap.items():
        assert isinstance(value, (np.ndarray, np.generic, bool, int, float, str)), key
        assert np.asarray(value).dtype != object, key
    buf = io.BytesIO()
    np.savez(buf, **snap)
    buf.seek(0)
    back = dict(np.load(buf, allow_pickle=False))
    assert set(back) == set(snap)


@pytest.mark.parametrize("kind", MAKERS)
def test_restore_into_a_fresh_component_continues_bit_for_bit(kind):
    """Snapshot at T_SNAP (through an .npz), restore into a fresh component, advance to
    T_END: every state array equals a straight run's to T_END."""
    straight = MAKERS[kind]()
    _advance(straight, T_END)

    first = MAKERS[kind]()
    _advance(first, T_SNAP)
    buf = io.BytesIO()
    np.savez(buf, **first.snapshot())
    buf.seek(0)
    fresh = MAKERS[kind]()
    fresh.restore(dict(np.load(buf, allow_pickle=False)))
    assert fresh.time == T_SNAP
    fresh.advance_to(T_END)

    a, b = straight.snapshot(), fresh.snapshot()
    assert set(a) == set(b)
    differ = [k for k in a if not _same(a[k], b[k])]
    assert differ == []
    for f in straight.info:
        if f.intent == "out":
            assert _same(straight.output(f.name), fresh.output(f.name)), f.name


@pytest.mark.parametrize("kind", MAKERS)
def test_the_runs_are_not_trivial(kind):
    """The contract is checked on models that move: the state at T_END differs from T_SNAP."""
    c = MAKERS[kind]()
    _advance(c, T_SNAP)
    mid = c.snapshot()
    c.advance_to(T_END)
    end = c.snapshot()
    changed = [k for k in mid if isinstance(mid[k], np.ndarray) and not _same(mid[k], end[k])]
    assert len(changed) >= 3


def test_response_restore_replays_and_refuses_other_construction_inputs():
    """The response's snapshot is its inputs log (SimPy generators cannot be copied):
    restore re-runs and replays it, and checks the replay reached the snapshot's state; a
    component built with another seed does not, and is refused."""
    first = make_response()
    _advance(first, T_SNAP)
    snap = first.snapshot()
    assert snap["inputs.n"] == 1
    assert snap["inputs.0.t"] == T_SNAP - 30.0
    assert int(snap["digest.events"]) > 10
    other = make_response()
    other.model = ResponseModel(
        other.model.travel.fresh(),
        other.model.stations,
        policy=other.model.policy,
        seed=12,
        background=BackgroundDemand({"medical": 1 / 90.0, "fire": 1 / 400.0}, np.ones(9)),
    )
    with pytest.raises(ValueError, match="not built from the same"):
        other.restore(snap)
