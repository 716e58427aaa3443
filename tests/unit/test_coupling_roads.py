"""Flood -> roads (twin.coupling.roads): depth along the drawn streets, the Pregnolato et al.
(2017) depth-disruption curve, closures per vehicle class and reopening, stranded vehicles.

Expected speeds are the paper's function evaluated by hand, v = 0.0009 w^2 - 0.5529 w +
86.9448 km/h with w in mm (Transportation Research Part D 55, 67-81), not the code's output.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from twin.city.links import LinkIndex
from twin.coupling.roads import (
    RoadThresholds,
    flood_roads,
    link_state,
    pregnolato_speed,
    pregnolato_speed_factor,
    sample_links_on_grid,
    stranded_on_closing,
)
from twin.flood.grid import GridSpec

V0 = 86.9448  # km/h, the curve at w = 0
V100 = 0.0009 * 100**2 - 0.5529 * 100 + 86.9448  # 40.6548 km/h at 100 mm
V290 = 0.0009 * 290**2 - 0.5529 * 290 + 86.9448  # 2.2938 km/h at 290 mm
V300 = 0.0009 * 300**2 - 0.5529 * 300 + 86.9448  # 2.0748 km/h, the quadratic at 300 mm


def test_the_curve_at_its_published_points():
    """86.9448 km/h on a dry road, 40.65 km/h at 100 mm, and 0 from 300 mm on, where the
    paper takes the road as impassable."""
    v = pregnolato_speed(np.array([0.0, 0.1, 0.29, 0.3, 0.5]))
    assert v == pytest.approx([V0, V100, V290, 0.0, 0.0], abs=1e-9)  # float rounding only


def test_the_quadratic_has_no_root_so_the_zero_is_the_cut_off_at_300_mm():
    """Discriminant 0.5529^2 - 4 x 0.0009 x 86.9448 < 0: the bare curve stays above its
    minimum 86.9448 - 0.5529^2 / 0.0036 = 2.03 km/h (at 0.5529 / 0.0018 = 307 mm)."""
    assert 0.5529**2 - 4 * 0.0009 * 86.9448 < 0
    w = np.linspace(0.0, 0.6, 6001)
    bare = pregnolato_speed(w, impassable=np.inf)
    assert bare.min() == pytest.approx(86.9448 - 0.5529**2 / 0.0036, abs=1e-6)  # grid step
    assert w[np.argmin(bare)] == pytest.approx(0.5529 / 0.0018 / 1000, abs=1e-4)  # 0.1 mm grid
    assert pregnolato_speed(0.2999) > 0
    assert pregnolato_speed(0.3) == 0


def test_the_speed_factor_is_the_curve_over_its_dry_value():
    f = pregnolato_speed_factor(np.array([-0.05, 0.0, 0.1, 0.3]))
    assert f == pytest.approx([1.0, 1.0, V100 / V0, 0.0], abs=1e-12)


def test_cars_close_at_0_3_m_and_emergency_vehicles_at_0_6_m():
    depth = np.array([0.0, 0.29, 0.3, 0.59, 0.6, 1.0])
    s = link_state(depth)
    assert s.closed_cars.tolist() == [False, False, True, True, True, True]
    assert s.closed_emergency.tolist() == [False, False, False, False, True, True]
    assert s.speed_factor == pytest.approx([1, V290 / V0, 0, 0, 0, 0], abs=1e-12)
    # emergency vehicles below their threshold crawl at the curve's last value (300 mm)
    assert s.emergency_speed_factor == pytest.approx(
        [1, V290 / V0, V300 / V0, V300 / V0, 0, 0], abs=1e-12
    )


def test_closure_depths_are_parameters():
    s = link_state(np.array([0.15, 0.2, 0.45, 0.5]), RoadThresholds(cars=0.2, emergency=0.5))
    assert s.closed_cars.tolist() == [False, True, True, True]
    assert s.closed_emergency.tolist() == [False, False, False, True]
    with pytest.raises(ValueError, match="cars <= emergency"):
        RoadThresholds(cars=0.6, emergency=0.3)


def test_links_reopen_as_the_water_recedes():
    """Hysteresis 0: open again below 0.3 m. Hysteresis 0.05 m: a closed link stays closed
    until below 0.25 m, and a link that never closed opens at any depth below 0.3 m."""
    closed = link_state(np.array([0.35, 0.35]))
    receding = np.array([0.29, 0.0])
    assert not link_state(receding, previous=closed).closed_cars.any()

    th = RoadThresholds(hysteresis=0.05)
    before = link_state(np.array([0.35, 0.27]), th)
    assert before.closed_cars.tolist() == [True, False]
    still = link_state(np.array([0.27, 0.27]), th, previous=before)
    assert still.closed_cars.tolist() == [True, False]
    assert link_state(np.array([0.24, 0.27]), th, previous=still).closed_cars.tolist() == [
        False,
        False,
    ]


def _grid() -> GridSpec:
    """12 x 5 cells of 10 m; north-west corner (0, 50)."""
    return GridSpec((5, 12), 10.0, x0=0.0, y0=50.0)


def _row_street() -> LinkIndex:
    """Link 0: 0 -> 1 from (0, 15) to (100, 15) along row 3; link 1: back, 1 -> 0."""
    return LinkIndex.from_arrays([0, 1], [1, 0], [0.0, 100.0], [15.0, 15.0])


def test_samples_lie_on_the_drawn_street_at_most_spacing_apart():
    grid = _grid()
    s = sample_links_on_grid(_row_street(), grid.transform, grid.shape, spacing=5.0)
    assert s.count.tolist() == [20, 20]  # 100 m / 5 m
    first = slice(0, 20)
    assert s.x[first] == pytest.approx(np.arange(2.5, 100, 5.0))  # piece centres, tail first
    assert s.x[20:] == pytest.approx(np.arange(97.5, 0, -5.0))  # the reverse link
    assert np.all(s.y == 15.0)
    assert s.cell[first].tolist() == [3 * 12 + c for c in range(10) for _ in range(2)]
    assert s.at[first] == pytest.approx((np.arange(20) + 0.5) / 20)


def test_a_bent_street_is_sampled_along_its_drawing_not_its_chord():
    """The street 0 -> 1 bulges north through cell (row 0, col 5); its straight chord along
    y = 15 m does not: water in that cell reaches the drawn street only."""
    grid = _grid()
    bend = shapely.LineString([(0, 15), (50, 45), (100, 15)])
    links = LinkIndex.from_arrays([0], [1], [0.0, 100.0], [15.0, 15.0], lines=[bend])
    depth = np.zeros(grid.shape)
    depth[0, 5] = 0.4
    s = sample_links_on_grid(links, grid.transform, grid.shape)
    deepest, _ = s.sample(depth)
    assert deepest.tolist() == [0.4]
    assert np.hypot(np.diff(s.x), np.diff(s.y)).max() <= 5.0 + 1e-9  # half a cell
    chord = LinkIndex.from_arrays([0], [1], [0.0, 100.0], [15.0, 15.0])
    assert sample_links_on_grid(chord, grid.transform, grid.shape).sample(depth)[0] == [0.0]


def test_depth_per_link_is_one_gather_with_max_and_length_weighted_mean():
    grid = _grid()
    s = sample_links_on_grid(_row_street(), grid.transform, grid.shape)
    depth = np.zeros(grid.shape)
    depth[3, 4] = 0.5  # 10 m of the 100 m street
    deepest, mean = s.sample(depth)
    assert deepest == pytest.approx([0.5, 0.5])
    assert mean == pytest.approx([0.05, 0.05])  # 0.5 m over a tenth of the length


def test_samples_off_the_grid_read_dry():
    grid = _grid()
    links = LinkIndex.from_arrays([0], [1], [-50.0, 50.0], [15.0, 15.0])  # half off the west
    s = sample_links_on_grid(links, grid.transform, grid.shape, spacing=5.0)
    assert int(s.off_grid.sum()) == 10
    _, mean = s.sample(np.full(grid.shape, 0.2))
    assert mean == pytest.approx([0.1])


def test_an_open_link_is_driven_at_the_harmonic_mean_of_its_pieces():
    """100 m street, 10 m of it under 0.1 m: travel time 90 / v + 10 / (f v) with f =
    40.6548 / 86.9448, so the link's factor is 100 / (90 + 10 / f) = 0.8978."""
    grid = _grid()
    s = sample_links_on_grid(_row_street(), grid.transform, grid.shape)
    depth = np.zeros(grid.shape)
    depth[3, 4] = 0.1
    state = flood_roads(s, depth)
    f = V100 / V0
    assert state.speed_factor == pytest.approx([100 / (90 + 10 / f)] * 2, rel=1e-12)
    assert not state.closed_cars.any()


def test_a_closed_link_knows_where_its_water_is_and_strands_only_cars_in_it():
    """Cells 4 and 5 (40-60 m) under 0.4 m: both directions close to cars (not to
    emergency vehicles); the water spans 0.4-0.6 of link 0 and 0.4-0.6 of its reverse."""
    grid = _grid()
    s = sample_links_on_grid(_row_street(), grid.transform, grid.shape)
    depth = np.zeros(grid.shape)
    depth[3, 4:6] = 0.4
    state = flood_roads(s, depth)
    assert state.closed_cars.tolist() == [True, True]
    assert not state.closed_emergency.any()
    assert state.wet_from == pytest.approx([0.4, 0.4])
    assert state.wet_to == pytest.approx([0.6, 0.6])

    veh_link = np.array([0, 0, 0, 1, -1])
    veh_at = np.array([0.2, 0.5, 0.9, 0.45, 0.5])
    everyone = stranded_on_closing(veh_link, state.closed_cars)
    assert everyone.tolist() == [True, True, True, True, False]
    inside = stranded_on_closing(
        veh_link,
        state.closed_cars,
        vehicle_at=veh_at,
        wet_from=state.wet_from,
        wet_to=state.wet_to,
    )
    assert inside.tolist() == [False, True, False, True, False]
    # closed at the last exchange already: nobody newly stranded
    assert not stranded_on_closing(veh_link, state.closed_cars, state.closed_cars).any()


def test_the_previous_state_carries_the_hysteresis_through_flood_roads():
    grid = _grid()
    s = sample_links_on_grid(_row_street(), grid.transform, grid.shape)
    th = RoadThresholds(hysteresis=0.1)
    depth = np.zeros(grid.shape)
    depth[3, 4] = 0.35
    first = flood_roads(s, depth, th)
    depth[3, 4] = 0.25  # receding, still above 0.3 - 0.1
    second = flood_roads(s, depth, th, previous=first)
    assert second.closed_cars.all()
    assert second.speed_factor.tolist() == [0.0, 0.0]
    assert second.wet_from.tolist() == [0.0, 0.0]  # no piece above 0.3 m: whole link
    depth[3, 4] = 0.15
    assert not flood_roads(s, depth, th, previous=second).closed_cars.any()


def test_a_zero_length_link_reads_its_cell_and_an_empty_index_reads_nothing():
    """A link whose two ends coincide (mapped that way in OSM) has one sample at its point;
    an index with no links gives empty arrays."""
    grid = _grid()
    point = LinkIndex.from_arrays([0], [1], [30.0, 30.0], [15.0, 15.0])
    s = sample_links_on_grid(point, grid.transform, grid.shape)
    assert (s.count.tolist(), s.cell.tolist()) == ([1], [3 * 12 + 3])
    depth = np.zeros(grid.shape)
    depth[3, 3] = 0.4
    assert flood_roads(s, depth).closed_cars.tolist() == [True]
    empty = sample_links_on_grid(
        LinkIndex.from_arrays([], [], [0.0], [0.0]), grid.transform, grid.shape
    )
    state = flood_roads(empty, depth)
    assert (empty.n_links, state.speed_factor.size, state.wet_from.size) == (0, 0, 0)


def test_samples_sit_on_winding_streets_where_shapely_locates_them():
    """Random winding streets (8-30 vertices each): every sample lies on its own link's
    drawing (to 1e-6 m, float rounding) at the share of its length shapely finds for it."""
    rng = np.random.default_rng(5)
    shapes = [np.cumsum(rng.normal(0, 7, (rng.integers(8, 31), 2)), axis=0) + 60 for _ in range(6)]
    lines = [shapely.LineString(s) for s in shapes]
    x = np.concatenate([[s[0, 0], s[-1, 0]] for s in shapes])
    y = np.concatenate([[s[0, 1], s[-1, 1]] for s in shapes])
    links = LinkIndex.from_arrays(np.arange(0, 12, 2), np.arange(1, 12, 2), x, y, lines=lines)
    grid = GridSpec((12, 12), 10.0, x0=0.0, y0=120.0)
    s = sample_links_on_grid(links, grid.transform, grid.shape, spacing=2.0)
    own = links.lines()[s.link]
    pts = shapely.points(s.x, s.y)
    assert shapely.distance(own, pts).max() < 1e-6
    assert shapely.line_locate_point(own, pts, normalized=True) == pytest.approx(s.at, abs=1e-9)
    assert s.length == pytest.approx([line.length for line in lines], rel=1e-12)
