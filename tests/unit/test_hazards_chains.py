"""Hazard chain rules: wind closure windows, collapse under standing water, breach log."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.coupling.chains import (
    CollapseWatch,
    above_intervals,
    breach_links,
    collapse_closure,
    flood_collapses,
    wind_windows,
)
from twin.flood import Forcing
from twin.flood.river import Breach, Levee, River


def test_above_intervals() -> None:
    """Crossings of a linear series; held after the last time."""
    assert above_intervals([0, 100, 200], [0, 20, 0], 10) == [(50.0, 150.0)]
    assert above_intervals([0, 100], [0, 20], 10) == [(50.0, math.inf)]
    assert above_intervals([0, 100], [0, 5], 10) == []


def test_wind_closes_above_and_reopens_after_the_lull_and_clearance() -> None:
    """Wind 0 -> 40 m/s at 1 h -> 0 at 2 h: above 30 m/s from 45 min; at or below 20 m/s
    from 90 min; + 30 min of clearance: reopen at 2 h."""
    times, speeds = [0, 3600, 7200], [0, 40, 0]
    (w,) = wind_windows(times, speeds, 30.0, 20.0, 1800.0)
    assert w == pytest.approx((2700.0, 5400.0 + 1800.0))
    # without reopen_below: the lull is when it drops to 30 m/s again (75 min)
    (w,) = wind_windows(times, speeds, 30.0, None, 0.0)
    assert w == pytest.approx((2700.0, 4500.0))


def test_wind_back_up_during_clearance_keeps_roads_closed() -> None:
    """A second gust peak during the clearance: one window, reopening after the second."""
    times, speeds = [0, 1000, 2000, 3000, 4000], [0, 40, 0, 40, 0]
    # above 30 m/s on 750..1250 and 2750..3250 s; 1250 + 1600 = 2850 is in the second gust
    windows = wind_windows(times, speeds, 30.0, 30.0, 1600.0)
    assert len(windows) == 1
    assert windows[0] == pytest.approx((750.0, 3250.0 + 1600.0))
    # a short clearance ends before the second gust: two windows
    short = wind_windows(times, speeds, 30.0, 30.0, 100.0)
    assert short == [pytest.approx((750.0, 1350.0)), pytest.approx((2750.0, 3350.0))]


def test_wind_never_calm_again_closes_for_good() -> None:
    """Wind that stays above the threshold to the end: closed until inf."""
    assert wind_windows([0, 600], [10, 50], 30.0) == [pytest.approx((300.0, math.inf))]


def test_collapse_after_depth_stands_for_the_duration() -> None:
    """Watched links 1 and 2: depth >= 0.5 m from 120 s on (a break at 60 s resets), so a
    10 min hold fires at 720 s, once; link 0's deeper water is not watched."""
    times = np.arange(0, 1200, 60.0)
    depths = np.zeros((times.size, 3))
    depths[:, 0] = 2.0
    depths[times == 0, 1] = 0.6  # a first spell that breaks at 60 s
    depths[times >= 120, 2] = 0.55
    watch = CollapseWatch(np.array([1, 2]), depth=0.5, duration=600.0, name="Quai", field="h.1")
    (link,) = flood_collapses(times, depths, [watch])
    assert link.time == 720.0
    assert link.kind == "flood_collapse"
    assert "0.55 m" in link.cause
    assert "10 min" in link.cause
    closure = collapse_closure(link, watch, 3)
    assert closure.links.tolist() == [False, True, True]
    assert closure.start == 720.0
    assert math.isinf(closure.end)
    shallow = depths.copy()
    shallow[:, 2] = 0.49
    assert flood_collapses(times, shallow, [watch]) == []


def test_breach_log_says_cause_and_effect() -> None:
    """An overtopping breach is logged at its time with the crest and the hold."""
    levee = Levee(
        points=[(0.0, 0.0), (0.0, 100.0)], crest=3.0,
        breach=Breach(location=(0.0, 50.0), width=40.0, growth=600.0, overtop_for=120.0),
    )  # fmt: skip
    river = River([0, 600], [1.0, 4.0], [(-50, 0), (-50, 100)], 20.0, [levee], crs=None,
                  name="hazards.0", title="Valley river")  # fmt: skip
    (link,) = breach_links(Forcing(rivers=[river]))
    assert link.time == pytest.approx(520.0)
    assert link.kind == "levee_breach"
    assert "crest 3 m for 2 min" in link.cause
    assert "40 m" in link.effect
    assert link.field == "hazards.0.levees.0"
