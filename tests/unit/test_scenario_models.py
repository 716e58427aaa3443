"""Rules of the scenario and plan models beyond types: one-of choices, paths, kinds, dumps."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from twin.errors import ScenarioError
from twin.scenario import (
    City,
    Inflow,
    Plan,
    Rainfall,
    Scenario,
    detect_kind,
    load_plans,
    load_scenario,
    validate_file,
)
from twin.scenario.options import FloodSettings, ManningByLandUse

EXAMPLE = Path(__file__).parents[2] / "scenarios" / "monaco_flash_flood.yaml"


def _scenario(**extra: object) -> dict[str, object]:
    base = {"version": 1, "name": "s", "city": {"name": "monaco"}, "time": {"duration": "1 h"}}
    return base | extra


def test_city_needs_exactly_one_source() -> None:
    """A city is a catalogue name or an OSM file, not both and not neither."""
    with pytest.raises(ValidationError, match="exactly one of `name`"):
        City(name="monaco", osm=Path("a.osm.pbf"))
    with pytest.raises(ValidationError, match="neither given"):
        City()


def test_flat_city_refuses_dem() -> None:
    """`flat: true` and DEM files contradict each other."""
    with pytest.raises(ValidationError, match="flat"):
        City(name="monaco", flat=True, dem=[Path("a.hgt")])


def test_city_defaults() -> None:
    """The grid is 10 m unless told otherwise."""
    assert City(name="monaco").resolution == 10.0


def test_inflow_needs_a_place() -> None:
    """An inflow has a point or a line, exactly one."""
    hydrograph = [{"at": 0, "discharge": 1}]
    with pytest.raises(ValidationError, match="an inflow needs exactly one"):
        Inflow(name="x", hydrograph=hydrograph)
    line = Inflow(name="x", line=[(7.42, 43.73), (7.43, 43.73)], hydrograph=hydrograph)
    assert line.location is None


def test_rain_intensity_in_si() -> None:
    """Hyetograph intensities are held in m/s."""
    rain = Rainfall(hyetograph=[{"at": 0, "intensity": "36 mm/h"}])
    assert rain.hyetograph[0].intensity == pytest.approx(1e-5)


def test_zone_needs_three_corners() -> None:
    """A polygon has at least 3 corners."""
    with pytest.raises(ValidationError, match="at least 3"):
        Rainfall(hyetograph=[{"at": 0, "intensity": 1}], zone=[(7.4, 43.7), (7.5, 43.7)])


def test_manning_number_or_mapping() -> None:
    """Manning's n is one number or a mapping by land use."""
    assert FloodSettings(manning=0.02).manning == 0.02
    by_use = FloodSettings(manning={"roads": 0.015}).manning
    assert isinstance(by_use, ManningByLandUse)
    assert (by_use.roads, by_use.default) == (0.015, 0.03)
    with pytest.raises(ValidationError):
        FloodSettings(manning=0)


def test_alpha_range() -> None:
    """The time-step factor lies in (0, 1]."""
    assert FloodSettings().alpha == 0.7
    with pytest.raises(ValidationError):
        FloodSettings(alpha=1.5)


def test_seed_and_replications() -> None:
    """Seeds are 0 or more; replications 1 or more."""
    assert Scenario.model_validate(_scenario()).seed == 0
    with pytest.raises(ValidationError):
        Scenario.model_validate(_scenario(seed=-1))
    with pytest.raises(ValidationError):
        Scenario.model_validate(_scenario(replications=0))


def test_relative_paths_resolve_against_the_file(tmp_path: Path) -> None:
    """Plan and OSM paths are read from the scenario file's folder, not the current one."""
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "p.yaml").write_text(
        "version: 1\nname: p\nstations:\n"
        "  - {name: a, location: [7.42, 43.73], units: {ambulance: 1}}\n"
    )
    (tmp_path / "city.osm.pbf").write_bytes(b"")
    path = tmp_path / "s.yaml"
    path.write_text(
        "version: 1\nname: s\ncity: {osm: city.osm.pbf}\ntime: {duration: 1 h}\n"
        "plans: [plans/p.yaml]\n"
    )
    scenario = load_scenario(path)
    assert scenario.city.osm == tmp_path / "city.osm.pbf"
    assert scenario.outputs.folder == tmp_path / "results" / "s"
    assert [plan.name for plan in load_plans(scenario)] == ["p"]


def test_paths_unchecked_on_request(tmp_path: Path) -> None:
    """`check_paths=False` accepts files that do not exist (yet)."""
    path = tmp_path / "s.yaml"
    path.write_text("version: 1\nname: s\ncity: {osm: x.pbf}\ntime: {duration: 1 h}\n")
    assert load_scenario(path, check_paths=False).city.osm == tmp_path / "x.pbf"
    with pytest.raises(ScenarioError):
        load_scenario(path)


def test_detect_kind_by_keys() -> None:
    """Without `kind`, the keys decide."""
    assert detect_kind({"stations": []}) == "plan"
    assert detect_kind({"city": {}, "time": {}}) == "scenario"
    assert detect_kind({"kind": "plan", "city": {}}) == "plan"


def test_validate_file_returns_the_right_model() -> None:
    """validate_file gives a Scenario for a scenario file and a Plan for a plan file."""
    assert isinstance(validate_file(EXAMPLE), Scenario)
    plan = EXAMPLE.parent / "plans" / "monaco_baseline.yaml"
    assert isinstance(validate_file(plan), Plan)


def test_dump_reloads_to_the_same_scenario() -> None:
    """A scenario dumped to JSON (for provenance) validates back to itself."""
    scenario = load_scenario(EXAMPLE)
    again = Scenario.model_validate(scenario.model_dump(mode="json"))
    assert again == scenario


def test_plan_unit_totals() -> None:
    """Unit totals add up over stations and skip kinds with none."""
    plan = validate_file(EXAMPLE.parent / "plans" / "monaco_two_stations.yaml")
    assert isinstance(plan, Plan)
    assert plan.unit_totals() == {"ambulance": 3, "fire_engine": 2, "police": 2, "rescue_boat": 1}


def test_route_must_lead_to_a_listed_shelter() -> None:
    """An evacuation route naming an unknown shelter is refused."""
    data = {
        "version": 1,
        "name": "p",
        "stations": [{"name": "a", "location": [7.42, 43.73], "units": {"police": 1}}],
        "evacuation_routes": [
            {"name": "r", "waypoints": [[7.42, 43.73], [7.41, 43.72]], "shelter": "nowhere"}
        ],
    }
    with pytest.raises(ValidationError, match="does not list"):
        Plan.model_validate(data)


def test_station_without_units() -> None:
    """A station with no units is a mistake."""
    data = {
        "version": 1,
        "name": "p",
        "stations": [{"name": "a", "facility": "node/1", "units": {}}],
    }
    with pytest.raises(ValidationError, match="has no units"):
        Plan.model_validate(data)


def test_edges_one_word_or_by_edge() -> None:
    """Map edges take one mode for all, or a mode per edge (the rest open)."""
    assert FloodSettings(edges="closed").edges == "closed"
    by_edge = FloodSettings(edges={"north": "closed"}).edges
    assert not isinstance(by_edge, str)
    assert (by_edge.north, by_edge.south) == ("closed", "open")


def test_gauge_names_are_unique() -> None:
    """Two gauges with one name are refused."""
    gauge = {"name": "g", "location": [7.42, 43.73]}
    with pytest.raises(ValidationError, match="used 2 times"):
        FloodSettings(gauges=[gauge, gauge])


def test_whole_map_hazards_at_most_once() -> None:
    """Sea level, drainage and infiltration apply to the whole map: one of each at most."""
    drains = {"kind": "drainage", "capacity": "20 mm/h"}
    with pytest.raises(ValidationError, match="only one drainage hazard"):
        Scenario.model_validate(_scenario(hazards=[drains, drains]))
