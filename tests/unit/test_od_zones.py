"""An OD matrix by zones (``demand.od_matrix``: a CSV and a zone layer) reaches the traffic
demand through twin.coupling.od_zones and twin.traffic.demand.od_matrix_trips.

The city is a 4 x 4 grid of residential streets (about 100 m apart) written here as an .osm
file; the zones are its west and east halves, drawn in EPSG:3857 in a GeoJSON file.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from twin.city import load_city
from twin.coupling.traffic_setup import traffic_from_scenario
from twin.errors import ScenarioError, UserInputError
from twin.scenario.loader import load_scenario

LON0, LAT0 = 7.420, 43.730
DLON, DLAT = 1.25e-3, 9.0e-4  # about 100 m each way
N = 4


def _write_osm(path: Path) -> Path:
    """A 4 x 4 grid of two-way residential streets (OSM node ids 10 i + j + 1)."""
    grid = {(i, j): 10 * i + j + 1 for i in range(N) for j in range(N)}
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    for (i, j), n in sorted(grid.items(), key=lambda kv: kv[1]):
        lines.append(
            f'<node id="{n}" version="1" lat="{LAT0 + DLAT * j:.7f}" lon="{LON0 + DLON * i:.7f}"/>'
        )
    ways = [(1000 + i, [grid[i, j] for j in range(N)]) for i in range(N)]
    ways += [(1100 + i, [grid[j, i] for j in range(N)]) for i in range(N)]
    for w, refs in ways:
        inner = "".join(f'<nd ref="{r}"/>' for r in refs)
        lines.append(f'<way id="{w}" version="1">{inner}<tag k="highway" v="residential"/></way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _box(i0: float, i1: float) -> shapely.Polygon:
    """Columns i0..i1 of the grid (all rows), in lon/lat."""
    lon0, lon1 = LON0 + DLON * i0, LON0 + DLON * i1
    lat0, lat1 = LAT0 - DLAT * 0.5, LAT0 + DLAT * (N - 0.5)
    return shapely.box(lon0, lat0, lon1, lat1)


def _setup(folder: Path, matrix: str, *, extra: str = "", zone_field: str = "zone") -> Path:
    _write_osm(folder / "t.osm")
    zones = gpd.GeoDataFrame(
        {"zone": ["W", "E"]}, geometry=[_box(-0.5, 1.5), _box(1.5, 3.5)], crs="EPSG:4326"
    )
    zones.to_crs("EPSG:3857").to_file(folder / "zones.geojson", driver="GeoJSON")
    (folder / "od.csv").write_text(matrix, encoding="utf-8")
    scenario = folder / "s.yaml"
    scenario.write_text(
        "version: 1\nname: od\ncity: {osm: t.osm, flat: true}\ntime: {duration: 2 h}\n"
        "demand:\n  od_matrix:\n    - matrix: od.csv\n"
        f"      zones: {{file: zones.geojson, name: {zone_field}}}\n"
        f"      start: 10 min\n      end: 40 min\n{extra}",
        encoding="utf-8",
    )
    return scenario


@pytest.fixture
def grid_pack(tmp_path: Path):
    return load_city(_write_osm(tmp_path / "t.osm"), flat=True, use_cache=False)


def _zone_counts(run) -> dict[tuple[str, str], int]:
    """Vehicles by (origin zone, destination zone), the zones told by the nodes' OSM ids
    (10 i + j + 1: columns i = 0, 1 are west), not by the layer."""
    column = (run.model.net.node_ids.astype(int) - 1) // 10
    names = np.where(column < 2, "W", "E")
    trips = run.model.trips()
    counts: dict[tuple[str, str], int] = {}
    for pair in zip(names[trips.origin], names[trips.destination], strict=True):
        counts[str(pair[0]), str(pair[1])] = counts.get((str(pair[0]), str(pair[1])), 0) + 1
    return counts


def test_zone_matrix_gives_the_trips_between_zones(tmp_path: Path, grid_pack) -> None:
    """A 2 x 2 matrix (W->E 30, E->W 12, W->W 4, E->E 0) gives exactly those vehicles
    between the zones' nodes, departing within the period 10-40 min."""
    matrix = "origin,destination,trips\nW,E,30\nE,W,12\nW,W,4\nE,E,0\n"
    sc = load_scenario(_setup(tmp_path, matrix))
    run = traffic_from_scenario(sc, grid_pack)
    assert _zone_counts(run) == {("W", "E"): 30, ("E", "W"): 12, ("W", "W"): 4}
    depart = run.model.trips().depart
    assert depart.min() >= 600.0
    assert depart.max() < 2400.0


def test_per_hour_rates(tmp_path: Path, grid_pack) -> None:
    """With `per_hour`, 60 vehicles/h over the 30 min period send 30; 5/h send 2.5 -> 2
    (rounded half to even) and 7/h 3.5 -> 4."""
    matrix = "origin,destination,trips\nW,E,60\nE,W,5\nW,W,7\n"
    sc = load_scenario(_setup(tmp_path, matrix, extra="      per_hour: true\n"))
    run = traffic_from_scenario(sc, grid_pack)
    assert _zone_counts(run) == {("W", "E"): 30, ("E", "W"): 2, ("W", "W"): 4}


def test_unknown_zone_names_the_csv_line(tmp_path: Path, grid_pack) -> None:
    """An unknown zone and a fractional count are refused at their CSV lines, naming the
    zones the layer has."""
    matrix = "origin,destination,trips\nW,E,3\nW,North,2\nE,W,1.5\n"
    sc = load_scenario(_setup(tmp_path, matrix))
    with pytest.raises(UserInputError) as info:
        traffic_from_scenario(sc, grid_pack)
    first, second = info.value.problems
    assert (first.file, first.line, first.field) == (tmp_path / "od.csv", 3, "destination")
    assert first.message == "unknown zone 'North'"
    assert "E, W" in first.fix
    assert (second.line, second.field) == (4, "trips")


def test_zone_layer_problems_at_the_scenario_line(tmp_path: Path) -> None:
    """A zone attribute the layer lacks is refused when the scenario loads, at the `zones`
    line."""
    path = _setup(tmp_path, "origin,destination,trips\n", zone_field="taz")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (problem,) = info.value.problems
    assert problem.line == 8
    assert "no attribute 'taz'" in problem.message
