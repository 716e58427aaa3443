"""The coupled twin beyond Monaco: the same scenario structure on Helsinki's flat sample
(no DEM, no sea) at a 30 m grid, a sea named where the map has none, and set-up problems
placed at the lines the scenario was loaded with (nothing re-reads the YAML)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

pytestmark = pytest.mark.usefixtures("monaco_env")

UNTIL = 900.0  # 15 min: 15 exchanges, the burst main's water is in the street from 0 s

# Helsinki's sample: 24.934-24.954 E, 60.164-60.179 N (twin maps info helsinki).
HELSINKI = {
    "version": 1,
    "kind": "scenario",
    "name": "helsinki_burst_main",
    "city": {"name": "helsinki", "flat": True, "resolution": "30 m"},
    "time": {"start": "2024-06-01T08:00:00", "duration": "1 h"},
    "seed": 7,
    "hazards": [
        {
            "kind": "rainfall",
            "hyetograph": [{"at": 0, "intensity": "60 mm/h"}, {"at": "30 min", "intensity": 0}],
        },
        {
            "kind": "inflow",
            "name": "burst main",
            "location": [24.9440, 60.1705],
            "start": 0,
            "hydrograph": [
                {"at": 0, "discharge": "15 m3/s"},
                {"at": "1 h", "discharge": "15 m3/s"},
            ],
        },
        {"kind": "drainage", "capacity": "10 mm/h"},
    ],
    "flood": {"buildings": "obstacles", "wet_depth": "1 cm", "dt_max": "10 s"},
    "demand": {
        "od": [
            {
                "start": 0,
                "end": "30 min",
                "flows": [
                    {
                        "origin": [24.9370, 60.1660],
                        "destination": [24.9500, 60.1770],
                        "vehicles": 80,
                    },
                    {
                        "origin": [24.9500, 60.1770],
                        "destination": [24.9370, 60.1660],
                        "vehicles": 60,
                    },
                ],
            }
        ],
        "evacuation": {
            "zone": [
                [24.9410, 60.1690],
                [24.9470, 60.1690],
                [24.9470, 60.1720],
                [24.9410, 60.1720],
            ],
            "order_time": "5 min",
            "curve": {"kind": "rayleigh", "mean": "5 min"},
            "compliance": 0.8,
            "car_share": 0.3,
        },
    },
    "incidents": {"background": {"medical": 0.5, "fire": 0.05}},
    "plans": ["plan.yaml"],
    "outputs": {"timeseries_interval": "1 min"},
}

PLAN = {
    "version": 1,
    "kind": "plan",
    "name": "one_station",
    "stations": [
        {
            "name": "Kamppi",
            "location": [24.9380, 60.1690],
            "units": {"ambulance": 2, "fire_engine": 1},
        }
    ],
    "dispatch": {"policy": "nearest", "travel_time": "live"},
    "shelters": [{"name": "Kaivopuisto", "location": [24.9520, 60.1660], "capacity": 2000}],
}


def _write(folder: Path, scenario: dict) -> Path:
    (folder / "plan.yaml").write_text(yaml.safe_dump(PLAN, sort_keys=False))
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    return path


def test_helsinki_flat_city_without_sea_runs_coupled(tmp_path):
    """Helsinki (flat, no DEM, no sea) with the flash flood's structure: rain, a burst main,
    drainage, traffic, an evacuation, background calls. The flood has no sea cell, water
    from the burst main closes drive links, traffic and walkers move, and every vital sign
    is finite."""
    from twin.flood.kernels import SEA
    from twin.model import CityTwin

    twin = CityTwin.from_files(_write(tmp_path, HELSINKI), seed=3, until=UNTIL)
    flood = twin.parts.flood.model
    assert flood.spec.resolution == 30.0
    assert flood.config.sea_elevation is None  # flat and no sea stated: all land
    assert not (flood.kind == SEA).any()
    assert twin.parts.land.sum() > 0.5 * flood.kind.size  # land, besides the buildings
    twin.run()
    table = twin.vital_table()
    assert len(table["time [s]"]) == 16  # start + 15 exchanges
    for name, values in table.items():
        assert np.isfinite(values).all(), name
    # 15 m3/s spreads over flat ground (2.4 km2 wet at 15 min): 0.27 m here, shallower
    # than the 0.3 m closure, but walkers stand in it and are counted by hazard class.
    assert max(table["max_depth_m [m]"]) > 0.1
    assert max(table["flooded_area_m2 [m2]"]) > 1e6
    assert max(table["people_in_hazard [people]"]) > 0.0
    assert max(table["people_evacuated [people]"]) > 0.0
    kpis = twin.kpis()
    assert kpis["person_minutes_in_hazard"] > 0.0
    assert kpis["min_network_speed_index"] < 1.0  # traffic ran on Helsinki's streets


def test_sea_level_where_the_map_has_no_sea_names_the_field(tmp_path):
    """A storm surge (sea_level hazard) on Helsinki's flat sample, which has no DEM and so
    no coast: one clear message naming hazards.3 with its file and line, no traceback."""
    from twin.errors import UserInputError
    from twin.model import CityTwin

    sc = dict(HELSINKI)
    surge = {"kind": "sea_level", "levels": [{"at": 0, "level": "1.5 m"}]}
    sc["hazards"] = [*HELSINKI["hazards"], surge]
    path = _write(tmp_path, sc)
    with pytest.raises(UserInputError) as info:
        CityTwin.from_files(path, seed=3, until=UNTIL)
    (problem,) = info.value.problems
    assert problem.field == "hazards.3"
    assert Path(problem.file) == path
    assert problem.line == path.read_text().splitlines().index("- kind: sea_level") + 1
    assert "has no sea" in problem.message
    assert "flat" in problem.message


def test_set_up_problems_keep_the_lines_the_scenario_was_loaded_with(tmp_path):
    """Issue 13's rule: a flood set-up problem is placed by the positions the loader kept,
    not by reading the file again; a file edited after loading (five lines added at the
    top) still gets the line the field had when loaded (the old code re-read the YAML and
    gave a line five further down)."""
    from twin.coupling.flood_setup import locate_in_scenario
    from twin.errors import Problem, UserInputError
    from twin.scenario.loader import load_scenario

    path = _write(tmp_path, HELSINKI)
    text = path.read_text()
    lines = text.splitlines()
    line = next(k for k, ln in enumerate(lines) if ln.strip() == "location:") + 1  # inflow's
    assert "burst main" in lines[line - 2]
    sc = load_scenario(path)
    path.write_text("# edited\n" * 5 + text)
    exc = UserInputError(Problem("the inflow lies outside the grid", field="hazards.1.location"))
    (problem,) = locate_in_scenario(exc, sc, path).problems
    assert Path(problem.file) == path
    assert problem.line == line
