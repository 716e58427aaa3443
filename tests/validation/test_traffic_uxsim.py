"""Peer check: twin and UXsim (per-vehicle, C++ engine, log off) on identical CSV inputs.

Grids of the grid11 kind (1 km one-lane links, 20 m/s, 0.2 veh/m, boundary-to-opposite-
boundary demand for one hour). twin runs with the benchmark settings (routes shared per OD
and 60 s slice, every vehicle rerouted every 60 s; UXsim re-chooses routes by DUO).
Measured: 5 x 5 at 0.005 veh/s per OD (free flow) mean 284.63 s vs 284.43 s (+0.07 %);
9 x 9 at 0.035 veh/s per OD (congested) 720.5 s vs 660.8 s (+9.0 %; twin 31 % and UXsim
20 % over the free-flow mean of 550 s). Both runs are deterministic; the tests assert
these figures with the margins stated there.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from peers import require_peer

require_peer("uxsim")

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "traffic.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("traffic_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _compare(bench, folder):
    twin = bench.run_twin_csv(folder, 7200.0)
    peer = bench.run_uxsim_csv(folder, 7200.0, deltan=1, cpp=True)
    assert twin["vehicles"] == peer["vehicles"]
    assert twin["completed"] == peer["completed"] == peer["vehicles"]
    return twin, peer


def test_free_flow_agrees_with_uxsim_within_half_a_percent(bench, tmp_path):
    """5 x 5 grid, 1,800 vehicles: mean and total travel time +0.07 % over UXsim's
    (measured); asserted within 0.5 %: in free flow both follow the same links at the same
    speeds, and what is left is the departure rounding to 1 s steps (UXsim's platoons of
    deltan = 1 vehicle, twin's 1 s step), under 1 s of a 284 s trip (0.35 %)."""
    twin, peer = _compare(bench, bench.write_grid_case(tmp_path, 5, 0.005))
    assert twin["mean_tt_s"] == pytest.approx(peer["mean_tt_s"], rel=0.005)
    assert twin["total_tt_h"] == pytest.approx(peer["total_tt_h"], rel=0.005)


@pytest.mark.slow
def test_congestion_is_nine_percent_slower_than_uxsim(bench, tmp_path):
    """9 x 9 grid, 40,824 vehicles, queues at most junctions: twin's mean (and total)
    travel time is 9.0 % over UXsim's (measured); asserted 9 +- 3 %: the gap comes from the
    route choice (UXsim's dynamic user optimum vs twin's reroute every 60 s) and the node
    model's tie-breaking, which change with either tool's version; a change of the link or
    node model itself moves it by more."""
    twin, peer = _compare(bench, bench.write_grid_case(tmp_path, 9, 0.035))
    assert twin["mean_tt_s"] > 1.2 * twin["free_tt_s"]  # congested
    assert twin["jumps"] == 0
    assert twin["mean_tt_s"] / peer["mean_tt_s"] == pytest.approx(1.09, abs=0.03)
    assert twin["total_tt_h"] / peer["total_tt_h"] == pytest.approx(1.09, abs=0.03)
