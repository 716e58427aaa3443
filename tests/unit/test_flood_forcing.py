"""Flood forcing and settings: SI time series, their integrals, and clear errors for bad input."""

from __future__ import annotations

import pytest

from twin.errors import UserInputError
from twin.flood import FloodConfig, Forcing, Gauge, Inflow, Rainfall, SeaLevel, mm_per_hour
from twin.flood.forcing import uniform_rain


def test_mm_per_hour_is_si():
    """50 mm/h is 1.389e-5 m/s."""
    assert mm_per_hour(50) == pytest.approx(50e-3 / 3600)


def test_negative_rain_intensity_is_an_error_naming_the_step():
    """A hyetograph with a negative intensity names the step, the value and a fix."""
    with pytest.raises(UserInputError) as err:
        Rainfall(times=(0, 600, 1200), intensities=(1e-5, -2e-6, 0), name="hazards.0")
    text = str(err.value)
    assert "hazards.0.1.intensity" in text
    assert "negative" in text
    assert "fix" in text


def test_rain_times_must_increase():
    """Unsorted or repeated step times are refused."""
    with pytest.raises(UserInputError, match="increase"):
        Rainfall(times=(0, 600, 600), intensities=(1e-5, 0, 0))


def test_rain_depth_integrates_the_steps():
    """Depth over any window is the integral of the step hyetograph (0 before it starts)."""
    rain = Rainfall(times=(100, 200, 300), intensities=(1.0, 2.0, 0.0))
    assert rain.depth(0, 100) == 0.0
    assert rain.depth(50, 150) == pytest.approx(50.0)
    assert rain.depth(150, 250) == pytest.approx(50.0 + 100.0)
    assert rain.depth(0, 1000) == pytest.approx(100.0 + 200.0)


def test_uniform_rain_is_a_block():
    """uniform_rain(i, d) rains i for d seconds and then stops."""
    rain = uniform_rain(2.0, 60.0)
    assert rain.depth(0, 3600) == pytest.approx(120.0)


def test_inflow_volume_is_the_trapezoid_of_the_hydrograph():
    """Linear hydrograph: volume between two times is exact; zero outside its times."""
    inflow = Inflow(times=(0, 100), discharges=(0.0, 10.0), points=[(7.4, 43.7)])
    assert inflow.volume(0, 100) == pytest.approx(500.0)
    assert inflow.volume(100, 200) == 0.0  # no discharge after the last time
    assert inflow.volume(50, 150) == pytest.approx(0.5 * (5.0 + 10.0) * 50)
    assert inflow.volume(-50, 0) == 0.0


def test_negative_discharge_is_an_error():
    """Water only enters through an inflow."""
    with pytest.raises(UserInputError, match="discharge"):
        Inflow(times=(0, 10), discharges=(1.0, -1.0), points=[(0, 0)])


def test_inflow_needs_a_point_or_a_line():
    """A location that is not [x, y] pairs is refused."""
    with pytest.raises(UserInputError, match="location"):
        Inflow(times=(0,), discharges=(1.0,), points=[(1.0, 2.0, 3.0)])


def test_sea_level_interpolates_and_holds():
    """Linear between times, constant outside."""
    sea = SeaLevel(times=(0, 3600), levels=(0.0, 2.0))
    assert sea.level(-10) == 0.0
    assert sea.level(1800) == pytest.approx(1.0)
    assert sea.level(1e5) == 2.0


def test_forcing_rates_must_be_non_negative():
    """Negative drainage or infiltration is refused, both reported at once."""
    with pytest.raises(UserInputError) as err:
        Forcing(drainage_rate=-1e-6, infiltration_rate=-2e-6)
    assert len(err.value.problems) == 2


def test_forcing_breakpoints_merge_all_series():
    """The model never steps across a change of any forcing."""
    forcing = Forcing(
        rainfall=(uniform_rain(1e-5, 600),),
        inflows=(Inflow((100, 700), (1, 2), [(0, 0)], crs=None),),
        sea_level=SeaLevel((0, 50), (0, 1)),
    )
    assert forcing.breakpoints() == [0.0, 50.0, 100.0, 600.0, 700.0]


def test_config_reports_every_bad_setting():
    """Bad numbers in the flood section come back together, each with its field."""
    with pytest.raises(UserInputError) as err:
        FloodConfig(alpha=1.5, theta=-1, output_interval=0, buildings="float")
    fields = {p.field for p in err.value.problems}
    assert {"flood.alpha", "flood.theta", "flood.output_interval", "flood.buildings"} <= fields


def test_config_edges_per_side():
    """Edges as a mapping: missing sides are open; unknown sides are refused."""
    modes = FloodConfig(edges={"south": "closed"}).edge_modes()
    assert modes == {"north": "open", "south": "closed", "west": "open", "east": "open"}
    with pytest.raises(UserInputError, match="unknown edge"):
        FloodConfig(edges={"up": "open"})


def test_gauge_names_must_be_unique():
    """Two gauges with one name would overwrite each other's column."""
    with pytest.raises(UserInputError, match="unique"):
        FloodConfig(gauges=(Gauge("a", (0, 0)), Gauge("a", (1, 1))))
