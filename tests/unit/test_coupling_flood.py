"""Scenario -> flood inputs: units, times and roughness land on the flood grid correctly."""

from pathlib import Path

import numpy as np
import pytest

from twin.coupling.city_setup import scenario_city
from twin.coupling.flood_setup import flood_setup, forcing_from_hazards
from twin.flood.grid import GridSpec
from twin.scenario import load_scenario

EXAMPLE = Path(__file__).resolve().parents[2] / "scenarios" / "monaco_flash_flood.yaml"


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(EXAMPLE)


def test_forcing_converts_units_and_shifts_inflow_times(scenario):
    forcing = forcing_from_hazards(scenario.hazards)
    rain = forcing.rainfall[0]
    assert list(rain.times[:3]) == [0.0, 900.0, 1800.0]
    assert rain.intensities[2] == pytest.approx(90e-3 / 3600)  # 90 mm/h in m/s
    inflow = forcing.inflows[0]
    assert inflow.times[0] == 2400.0  # starts 40 min in: hydrograph times count from there
    assert max(inflow.discharges) == 6.0
    assert list(forcing.sea_level.levels) == [0.4]
    assert forcing.drainage_rate == pytest.approx(25e-3 / 3600)
    assert forcing.infiltration_rate == pytest.approx(2e-3 / 3600)


def test_setup_burns_roads_landcover_and_buildings(scenario, monaco_pack):
    setup = flood_setup(scenario, monaco_pack)
    n = setup.config.manning
    assert n.shape == monaco_pack.terrain.shape
    assert set(np.unique(n)) == {0.015, 0.03, 0.05}
    # the cell under a drive-graph node is road
    spec = GridSpec.from_terrain(monaco_pack.terrain)
    node = next(iter(monaco_pack.drive.nodes(data=True)))[1]
    col = int((node["x"] - spec.x0) // spec.resolution)
    row = int((spec.y0 - node["y"]) // spec.resolution)
    assert n[row, col] == 0.015
    assert setup.buildings is not None
    assert setup.buildings.mask.sum() > 1000  # 1,205 footprints, many over several cells
    assert setup.config.gauges[0].name == "Sainte-Devote"


def test_scalar_manning_and_ignored_buildings(scenario, monaco_pack):
    flood = scenario.flood.model_copy(update={"manning": 0.04, "buildings": "ignore"})
    setup = flood_setup(scenario.model_copy(update={"flood": flood}), monaco_pack)
    assert setup.config.manning == 0.04
    assert setup.buildings is None


def test_scenario_city_is_the_catalogue_pack(scenario, monaco_pack, maps_folders):
    pack = scenario_city(scenario, maps=maps_folders)
    # build_seconds differs when another xdist worker built (and cached) the pack.
    first = {k: v for k, v in pack.summary().items() if k != "build_seconds"}
    second = {k: v for k, v in monaco_pack.summary().items() if k != "build_seconds"}
    assert first == second
