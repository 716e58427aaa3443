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


def _lonlat(points):
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:32632", "EPSG:4326", always_xy=True)
    return [tuple(float(v) for v in tr.transform(x, y)) for x, y in points]


def test_flood_area_clips_the_grid_and_leaves_out_cells_outside_it(scenario):
    """Issue 10: `flood.area` (a polygon in lon/lat) clips the flood grid to its bounding
    box, and cells outside the polygon get no rain and no flow; the run's budget closes."""
    from twin.flood import FloodModel
    from twin.flood.kernels import BLOCKED, LAND

    pack = flat_pack(datum=5.0)  # x 369500..370300, y 4845200..4845800 (UTM 32N)
    triangle = _lonlat([(369600.0, 4845300.0), (370000.0, 4845300.0), (369600.0, 4845700.0)])
    setup = flood_setup(flat_scenario(scenario, area=triangle), pack)
    terrain = setup.terrain
    assert terrain.elevation.shape == (40, 40)  # 400 m x 400 m of 10 m cells, not 60 x 80
    assert terrain.x0 == pytest.approx(369600.0)
    assert terrain.y0 == pytest.approx(4845700.0)
    inside = setup.config.domain
    assert inside.sum() == pytest.approx(40 * 40 / 2, rel=0.05)  # half the box
    assert inside[-1, 0]  # the south-west corner is in
    assert not inside[0, -1]  # the north-east corner is out
    model = FloodModel.from_terrain(terrain, setup.forcing, setup.config)
    assert (model.kind[~inside] == BLOCKED).all()
    assert (model.kind[inside] == LAND).all()
    model.advance_to(600.0)
    assert (model.h[~inside] == 0).all()
    last = model.volume_balance()
    assert last.rain == pytest.approx(model.forcing.rainfall[0].depth(0, 600) * inside.sum() * 100)
    assert abs(last.relative_error) < 1e-12


def test_flood_area_as_a_box_and_its_errors(scenario):
    """A box [west, south, east, north] clips to the cells it covers (a lon/lat box is
    slightly tilted on the UTM grid: > 90 % of them are inside); a box off the map or with
    west > east is refused naming `flood.area`."""
    from twin.errors import UserInputError
    from twin.scenario.options import FloodSettings

    pack = flat_pack(datum=5.0)
    (w, s), (e, n) = _lonlat([(369700.0, 4845400.0), (369900.0, 4845600.0)])
    setup = flood_setup(flat_scenario(scenario, area=(w, s, e, n)), pack)
    rows, cols = setup.terrain.elevation.shape
    assert 20 <= rows <= 22  # 200 m and a cell or two for the tilt of a lon/lat box
    assert 20 <= cols <= 22
    assert setup.config.domain.mean() > 0.9
    with pytest.raises(UserInputError, match=r"flood\.area"):
        flood_setup(flat_scenario(scenario, area=(w + 1.0, s, e + 1.0, n)), pack)
    with pytest.raises(ValueError, match="west < east"):
        FloodSettings.model_validate({"area": [e, s, w, n]})
