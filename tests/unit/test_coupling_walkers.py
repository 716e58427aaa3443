"""Flood -> walkers (twin.coupling.walkers): the Defra/EA FD2321 hazard rating
HR = d (v + 0.5) + DF, its debris factors (FD2321/TR2 Table 3.1) and classes (Table 13.1),
per walk link at its worst point, and what walkers do about it.

Expected ratings are the formula and tables evaluated by hand, not the code's output.
"""

from __future__ import annotations

import numpy as np
import pytest

from twin.city.links import LinkIndex
from twin.coupling.roads import sample_links_on_grid
from twin.coupling.walkers import (
    HAZARD_CLASSES,
    HAZARD_MEANINGS,
    WalkerRules,
    avoided_links,
    debris_factor,
    hazard_class,
    hazard_rating,
    in_hazard,
    people_by_class,
    walk_flood,
    walker_speed_factor,
)
from twin.crowd import kernels as crowd_kernels
from twin.flood.grid import GridSpec


def test_the_rating_is_depth_times_velocity_plus_a_half():
    """Without debris: 0.5 m at 1 m/s -> 0.5 x 1.5 = 0.75; still water 1 m -> 0.5."""
    hr = hazard_rating([0.5, 1.0, 0.0, -0.1], [1.0, 0.0, 3.0, 1.0], land_use="none")
    assert hr == pytest.approx([0.75, 0.5, 0.0, 0.0], abs=1e-12)


@pytest.mark.parametrize(
    ("depth", "velocity", "expected"),
    [
        (0.2, 0.0, (0.0, 0.0, 0.0)),  # below 0.25 m: no debris
        (0.1, 3.0, (0.0, 0.0, 0.0)),  # fast but shallow: still the first row
        (0.25, 0.0, (0.0, 0.5, 1.0)),  # 0.25-0.75 m
        (0.75, 2.0, (0.0, 0.5, 1.0)),  # the row's upper edges are in it
        (0.76, 0.0, (0.5, 1.0, 1.0)),  # deeper than 0.75 m
        (0.5, 2.1, (0.5, 1.0, 1.0)),  # faster than 2 m/s
    ],
)
def test_debris_factors_follow_table_3_1(depth, velocity, expected):
    got = [float(debris_factor(depth, velocity, use)) for use in ("pasture", "woodland", "urban")]
    assert got == list(expected)


def test_an_unknown_land_use_names_the_valid_ones():
    with pytest.raises(ValueError, match="pasture, woodland, urban, none"):
        debris_factor(0.5, 0.0, "desert")


def test_classes_change_at_the_fd2321_thresholds():
    rating = [0.0, 0.7499, 0.75, 1.2499, 1.25, 1.9999, 2.0, 5.0]
    assert hazard_class(rating).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert HAZARD_CLASSES == ("low", "moderate", "significant", "extreme")
    assert HAZARD_MEANINGS[2] == "danger for most"


def test_knee_deep_urban_water_is_danger_for_most():
    """0.3 m at 0.5 m/s in town: 0.3 x 1.0 + DF 1 = 1.3, 'danger for most'; on pasture
    (DF 0) the same water rates 0.3, 'low'."""
    assert float(hazard_rating(0.3, 0.5, "urban")) == pytest.approx(1.3)
    assert int(hazard_class(hazard_rating(0.3, 0.5, "urban"))) == 2
    assert int(hazard_class(hazard_rating(0.3, 0.5, "pasture"))) == 0


def _pool_and_race():
    """A 100 m walk link along row 1 of a 10 m grid: a still pool 0.4 m deep in column 2,
    a shallow race 0.2 m at 3 m/s in column 7."""
    grid = GridSpec((3, 10), 10.0, x0=0.0, y0=30.0)
    links = LinkIndex.from_arrays([0], [1], [0.0, 100.0], [15.0, 15.0], kind="walk")
    depth, speed = np.zeros(grid.shape), np.zeros(grid.shape)
    depth[1, 2] = 0.4
    depth[1, 7], speed[1, 7] = 0.2, 3.0
    return sample_links_on_grid(links, grid.transform, grid.shape), depth, speed


def test_a_link_takes_the_rating_of_its_worst_point():
    """No debris: pool 0.4 x 0.5 = 0.2, race 0.2 x 3.5 = 0.7 -> the race. Urban: pool
    0.2 + 1 = 1.2 (moderate), race 0.7 (0.2 m < 0.25 m, no debris) -> the pool."""
    sampler, depth, speed = _pool_and_race()
    plain = walk_flood(sampler, depth, speed, land_use="none")
    assert plain.rating == pytest.approx([0.7])
    assert (plain.depth.tolist(), plain.velocity.tolist()) == ([0.2], [3.0])
    assert plain.depth_max.tolist() == [0.4]
    town = walk_flood(sampler, depth, speed, land_use="urban")
    assert town.rating == pytest.approx([1.2])
    assert (town.depth.tolist(), town.velocity.tolist()) == ([0.4], [0.0])
    assert town.hazard_class.tolist() == [1]


def test_the_crowd_model_rates_the_link_as_the_coupling_does():
    """The depth and velocity handed to the crowd (its default DF 0) give its own rating
    of the link the coupling's value."""
    sampler, depth, speed = _pool_and_race()
    flood = walk_flood(sampler, depth, speed, land_use="none")
    assert crowd_kernels.hazard_rating(flood.depth, flood.velocity) == pytest.approx(flood.rating)


def test_walkers_slow_in_water_and_avoid_links_above_a_rating():
    """Default rule: speed 1 when dry, 0.75 at 0.25 m, 0.5 from 0.5 m on; links rated
    1.25 or more are avoided, those rated 0.75 or more count as in hazard."""
    assert walker_speed_factor([0.0, 0.25, 0.5, 1.0]) == pytest.approx([1.0, 0.75, 0.5, 0.5])
    rating = np.array([0.74, 0.75, 1.24, 1.25])
    assert in_hazard(rating).tolist() == [False, True, True, True]
    assert avoided_links(rating).tolist() == [False, False, False, True]
    strict = WalkerRules(hazard_rating=0.5, avoid_rating=0.75)
    assert avoided_links(rating, strict).tolist() == [False, True, True, True]
    with pytest.raises(ValueError, match="hazard_rating <= avoid_rating"):
        WalkerRules(hazard_rating=1.5, avoid_rating=1.0)


def test_people_are_counted_by_hazard_class():
    counts = people_by_class([3, 2, 5, 1], [0, 1, 3, 1])
    assert counts.tolist() == [3.0, 3.0, 0.0, 5.0]


def test_urban_debris_is_the_crowds_constant_factor_of_1_above_0_25_m():
    """Table 3.1's urban column is 1 from 0.25 m whatever the velocity, so the crowd's
    FloodRules(debris_factor=1.0, debris_depth=0.25) rates as the coupling does (the two
    differ only at exactly 0.25 m)."""
    d = np.array([0.1, 0.3, 0.8, 1.5, 0.2])
    v = np.array([0.0, 2.5, 0.5, 3.0, 4.0])
    crowd = crowd_kernels.hazard_rating(d, v, debris_factor=1.0, debris_depth=0.25)
    assert hazard_rating(d, v, "urban") == pytest.approx(crowd)
