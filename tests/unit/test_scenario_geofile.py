"""Places, lines and areas read from GeoPackage and GeoJSON layers (twin.scenario.geofile).

The layers are written here in projected CRSs (EPSG:3857 and UTM 32N) from the inline
coordinates; loading them must give the same scenario and plan as the inline form.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from twin.errors import ScenarioError
from twin.scenario import load_plan, load_scenario

ZONE_A = [(7.4200, 43.7300), (7.4250, 43.7300), (7.4250, 43.7350), (7.4200, 43.7350)]
ZONE_B = [(7.4100, 43.7200), (7.4150, 43.7200), (7.4150, 43.7250)]
VENUE = [(7.4145, 43.7268), (7.4170, 43.7268), (7.4170, 43.7285), (7.4145, 43.7285)]
SITES = {"collapse": (7.4182, 43.73), "station": (7.4246, 43.7384), "shelter": (7.421, 43.731)}
ROUTE = [(7.4200, 43.7300), (7.4230, 43.7330), (7.4260, 43.7360)]

SCENARIO = """\
version: 1
name: files
city: {{name: monaco}}
time: {{duration: 1 h}}
hazards:
  - kind: crowd_event
    venue: {venue}
    people: 100
    start: 5 min
    duration: 10 min
  - kind: ground_collapse
    at: 15 min
    location: {collapse}
    radius: 15 m
demand:
  evacuation:
    zone: {zone}
    order_time: 10 min
"""

PLAN = """\
version: 1
name: plan
stations:
  - {{name: s1, location: {station}, units: {{ambulance: 1}}}}
shelters:
  - {{name: school, location: {shelter}, capacity: 500}}
evacuation_routes:
  - {{name: north, waypoints: {route}, zone: {zone}}}
closures:
  - {{name: cordon, location: {collapse}}}
"""


def _inline(points) -> str:
    return str([list(p) for p in points]) if isinstance(points, list) else str(list(points))


def _write_layers(folder: Path) -> None:
    zones = gpd.GeoDataFrame(
        {"name": ["A", "B"], "code": [1, 2]},
        geometry=[shapely.Polygon(ZONE_A), shapely.MultiPolygon([shapely.Polygon(ZONE_B)])],
        crs="EPSG:4326",
    )
    zones.to_crs("EPSG:3857").to_file(folder / "zones.gpkg", layer="evac", driver="GPKG")
    sites = gpd.GeoDataFrame(
        {"kind": list(SITES)}, geometry=[shapely.Point(p) for p in SITES.values()], crs=4326
    )
    sites.to_crs("EPSG:3857").to_file(folder / "zones.gpkg", layer="sites", driver="GPKG")
    venue = gpd.GeoDataFrame({"id": [7]}, geometry=[shapely.Polygon(VENUE)], crs=4326)
    venue.to_crs("EPSG:32632").to_file(folder / "venue.geojson", driver="GeoJSON")
    route = gpd.GeoDataFrame({"name": ["north"]}, geometry=[shapely.LineString(ROUTE)], crs=4326)
    route.to_crs("EPSG:32632").to_file(folder / "routes.geojson", driver="GeoJSON")


def _files(folder: Path, scenario: dict[str, str], plan: dict[str, str]) -> tuple[Path, Path]:
    s, p = folder / "scenario.yaml", folder / "plan.yaml"
    s.write_text(SCENARIO.format(**scenario))
    p.write_text(PLAN.format(**plan))
    return s, p


INLINE_S = {
    "venue": _inline(VENUE),
    "collapse": _inline(SITES["collapse"]),
    "zone": _inline(ZONE_A),
}
INLINE_P = {
    "station": _inline(SITES["station"]),
    "shelter": _inline(SITES["shelter"]),
    "route": _inline(ROUTE),
    "zone": _inline(ZONE_B),
    "collapse": _inline(SITES["collapse"]),
}
FILE_S = {
    "venue": "{file: venue.geojson}",
    "collapse": "{file: zones.gpkg, layer: sites, where: {kind: collapse}}",
    "zone": "{file: zones.gpkg, layer: evac, where: {name: A}}",
}
FILE_P = {
    "station": "{file: zones.gpkg, layer: sites, where: {kind: station}}",
    "shelter": "{file: zones.gpkg, layer: sites, where: {kind: shelter}}",
    "route": "{file: routes.geojson, where: {name: north}}",
    "zone": "{file: zones.gpkg, layer: evac, where: {code: 2}}",
    "collapse": "{file: zones.gpkg, layer: sites, where: {kind: collapse}}",
}


def test_layers_in_projected_crs_give_the_inline_scenario_and_plan(tmp_path: Path) -> None:
    """A GPKG in EPSG:3857 and GeoJSON in UTM 32N give the same models as inline lon/lat
    (coordinates kept to 1e-9 degrees, far finer than the projections' round-trip error
    is coarse, so the equality is exact)."""
    _write_layers(tmp_path)
    inline = tmp_path / "inline"
    inline.mkdir()
    s_inline, p_inline = _files(inline, INLINE_S, INLINE_P)
    s_file, p_file = _files(tmp_path, FILE_S, FILE_P)
    a, b = load_scenario(s_inline), load_scenario(s_file)
    assert b.demand.evacuation.zone == [tuple(p) for p in ZONE_A]
    assert b.hazards[0].venue == [tuple(p) for p in VENUE]
    assert a.model_dump(exclude={"outputs"}) == b.model_dump(exclude={"outputs"})
    assert load_plan(p_inline) == load_plan(p_file)
    assert load_plan(p_file).evacuation_routes[0].zone == [tuple(p) for p in ZONE_B]


def _problem(tmp_path: Path, zone: str) -> str:
    _write_layers(tmp_path)
    path, _ = _files(tmp_path, {**FILE_S, "zone": zone}, FILE_P)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (problem,) = info.value.problems
    assert problem.line == 17  # the `zone:` line of demand.evacuation
    assert problem.field == "demand.evacuation.zone"
    assert problem.fix
    return problem.message + " | " + problem.fix


def test_missing_file_names_the_line(tmp_path: Path) -> None:
    """A layer file that does not exist is refused at its line."""
    assert "file not found" in _problem(tmp_path, "{file: nowhere.gpkg, layer: evac}")


def test_unknown_layer_lists_the_layers(tmp_path: Path) -> None:
    """A misspelt layer is refused with the file's layers."""
    text = _problem(tmp_path, "{file: zones.gpkg, layer: evak, where: {name: A}}")
    assert "no layer 'evak'" in text
    assert "evac, sites" in text


def test_several_layers_need_a_name(tmp_path: Path) -> None:
    """A file of two layers without `layer` asks for one."""
    assert "holds 2 layers" in _problem(tmp_path, "{file: zones.gpkg, where: {name: A}}")


def test_no_matching_feature(tmp_path: Path) -> None:
    """A `where` no feature matches is refused, naming the layer and the values."""
    text = _problem(tmp_path, "{file: zones.gpkg, layer: evac, where: {name: C}}")
    assert "no feature of layer 'evac'" in text
    assert "name = 'C'" in text


def test_several_features_need_a_where(tmp_path: Path) -> None:
    """A layer of two features without `where` asks for one."""
    assert "holds 2 features" in _problem(tmp_path, "{file: zones.gpkg, layer: evac}")


def test_unknown_attribute(tmp_path: Path) -> None:
    """A `where` on an attribute the layer lacks lists the attributes."""
    text = _problem(tmp_path, "{file: zones.gpkg, layer: evac, where: {nom: A}}")
    assert "no attribute 'nom'" in text
    assert "name, code" in text


def test_wrong_geometry_type(tmp_path: Path) -> None:
    """A point layer where an area is wanted is refused."""
    text = _problem(tmp_path, "{file: zones.gpkg, layer: sites, where: {kind: station}}")
    assert "is a Point; this field takes a polygon" in text


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_layer_without_crs(tmp_path: Path) -> None:
    """A layer without CRS is refused with how to set one in QGIS."""
    gpd.GeoDataFrame({"name": ["A"]}, geometry=[shapely.Polygon(ZONE_A)]).to_file(
        tmp_path / "bare.gpkg", layer="evac", driver="GPKG"
    )
    text = _problem(tmp_path, "{file: bare.gpkg}")
    assert "no coordinate reference system" in text
    assert "Layer Properties" in text


def test_name_or_place_reports_only_the_place(tmp_path: Path) -> None:
    """A layer reference where a name or a place is taken (open_shelters) is read as a
    place, and a problem with it is one problem (not one per union member as before)."""
    _write_layers(tmp_path)
    plan = tmp_path / "plan.yaml"
    text = PLAN.format(**INLINE_P) + "open_shelters:\n  - school\n  - {file: zones.gpkg}\n"
    plan.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_plan(plan)
    (problem,) = info.value.problems
    assert problem.field == "open_shelters[1]"
    assert "holds 2 layers" in problem.message
    plan.write_text(text.replace("{file: zones.gpkg}", FILE_P["shelter"]))
    assert load_plan(plan).open_shelters == ["school", SITES["shelter"]]
