"""Scenario -> flood inputs: units, times and roughness land on the flood grid correctly."""

from pathlib import Path
from types import SimpleNamespace

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


def flat_pack(datum: float = 0.0):
    """A synthetic flat city over Monaco (terrain only, no buildings or roads), as
    `city: {flat: true}` builds it."""
    import geopandas as gpd

    from twin.city.terrain import TerrainGrid

    elevation = np.full((60, 80), datum, np.float32)
    terrain = TerrainGrid(elevation, 369500.0, 4845800.0, 10.0, "EPSG:32632", "flat", "none")
    return SimpleNamespace(terrain=terrain, buildings=gpd.GeoDataFrame(geometry=[]))


def flat_scenario(scenario, **flood):
    """The example scenario on flat terrain with its rain only and default flood
    settings (scalar roughness, no gauges), plus any ``flood`` settings given."""
    city = scenario.city.model_copy(update={"flat": True})
    rain = [h for h in scenario.hazards if h.kind == "rainfall"]
    settings = type(scenario.flood).model_validate(
        {"manning": 0.03, "buildings": "ignore", **flood}
    )
    return scenario.model_copy(update={"city": city, "hazards": rain, "flood": settings})


def test_flat_city_has_no_sea_unless_the_scenario_says_so(scenario):
    """Issue 10: `flat: true` with no datum put every cell at the default sea elevation
    (0 m) and the flood ran with no rain kept and every gauge at 0; now flat terrain has no
    sea unless the scenario states one, and keeps its rain."""
    from twin.flood import FloodModel

    pack = flat_pack()
    setup = flood_setup(flat_scenario(scenario), pack)
    assert setup.config.sea_elevation is None
    model = FloodModel.from_terrain(pack.terrain, setup.forcing, setup.config)
    model.advance_to(600.0)
    assert (model.kind == 0).all()  # all land
    assert model.balance[-1].rain > 0
    assert model.stored_volume() > 0.9 * model.balance[-1].rain


def test_flat_city_with_a_stated_sea_that_covers_it_all_is_an_error(scenario):
    """Issue 10: a sea stated at or above flat ground makes the whole map sea: refused."""
    from twin.errors import UserInputError
    from twin.flood import FloodModel

    pack = flat_pack()
    setup = flood_setup(flat_scenario(scenario, sea_elevation=0.5), pack)
    assert setup.config.sea_elevation == 0.5
    with pytest.raises(UserInputError, match="whole map is sea"):
        FloodModel.from_terrain(pack.terrain, setup.forcing, setup.config)
