"""The river-levee chain on the coupled twin (issue 14): scenarios/valley_levee.yaml on the
synthetic valley (generated into a temporary maps folder), 20 m grid, first 75 min, seed 1,
with its two plans. The stage tops the levee crest at 40 min and the levee breaches after
5 min of overtopping (45 min); the water crosses the floodplain into the town, closes its
roads, strands cars and puts walkers in hazardous water. The early-evacuation plan's
trigger (river gauge > 5.5 m for 5 min) fires before the breach, issues an orange warning
and orders the town out; the no-warning plan waits for the official order (1 h).

The flood is computed once (no plan changes the water) and replayed for the second plan.
One seed: the flood and its closures do not depend on it, and the plan contrasts asserted
here are several times their size (measured: person-minutes in hazard 46 vs 6, stranded
vehicles 3 vs 0, hazard calls 4 vs 0)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "valley_levee.yaml"
PLANS = ROOT / "scenarios" / "plans"
BREACH_S = 2700.0  # 40 min to the crest + 5 min of overtopping
UNTIL = 4500.0  # 75 min: 30 min of breach flow
FIRST_STREET = (9.00533, 45.00630)  # the town's street nearest the levee (a gauge)
ORANGE = 3.0  # warning_level: none 0, blue 1, yellow 2, orange 3, red 4

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from twin.city.synthetic import generate
    from twin.model import CityTwin

    maps = tmp_path_factory.mktemp("maps")
    generate("valley", maps)
    cache = tmp_path_factory.mktemp("cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("TWIN_MAPS", str(maps))
    mp.setenv("TWIN_CACHE_DIR", str(cache))
    out = {}
    for name in ("no_warning", "early_evacuation"):
        twin = CityTwin.from_files(
            SCENARIO, PLANS / f"valley_{name}.yaml", seed=1, resolution=20.0, until=UNTIL,
            flood_cache=cache,
        )  # fmt: skip
        twin.run()
        out[name] = twin
    mp.undo()
    return out


def _series(twin, name: str) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(twin.times), np.array([row[name] for row in twin.rows])


def _events(twin, kind: str) -> list[dict]:
    return [e for e in twin.exchange.events if e["kind"] == kind]


def _depth_at(twin, lonlat: tuple[float, float], grid: np.ndarray) -> float:
    """``grid`` (the flood grid, row 0 north) at a lon/lat point."""
    from pyproj import Transformer

    from twin.coupling.twin_setup import grid_transform

    (a, _, c, _, e, f), _ = grid_transform(twin.parts)
    x, y = Transformer.from_crs("EPSG:4326", twin.parts.pack.crs, always_xy=True).transform(*lonlat)
    return float(grid[int((y - f) // e), int((x - c) // a)])


@pytest.mark.parametrize("plan", ["no_warning", "early_evacuation"])
def test_the_levee_breaches_and_the_water_reaches_the_town(runs, plan):
    """The breach is logged at 45 min (cause -> effect); the flooded area grows more than
    fivefold in the 30 min after it; First Street's deepest water is over 0.1 m."""
    twin = runs[plan]
    breaches = _events(twin, "levee_breach")
    assert [e["time"] for e in breaches] == [BREACH_S]
    assert "->" in breaches[0]["detail"]
    t, area = _series(twin, "flooded_area_m2")
    assert area[-1] > 5 * area[t == BREACH_S][0]
    assert _depth_at(twin, FIRST_STREET, twin.exchange.peak_depth) > 0.1


@pytest.mark.parametrize("plan", ["no_warning", "early_evacuation"])
def test_roads_close_only_after_the_breach(runs, plan):
    """No drive link closed to cars before the breach; over 5 km closed by the end; the
    network slows (speed index below 0.5 at the end, 1.0 before the breach)."""
    twin = runs[plan]
    t, closed = _series(twin, "km_closed_cars")
    assert np.all(closed[t <= BREACH_S] == 0.0)
    assert closed[-1] > 5.0
    _, speed = _series(twin, "network_speed_index")
    assert speed[t <= BREACH_S].min() > 0.9
    assert speed[-1] < 0.5
    assert min(e["time"] for e in _events(twin, "roads_closed")) > BREACH_S


def test_warning_fires_before_the_breach_only_in_the_early_plan(runs):
    """Early plan: the trigger fires (logged with its gauge reading) before the breach,
    the warning level is orange from then on and the town starts leaving; no-warning plan:
    no trigger, level 0 throughout, nobody evacuated before the official order (1 h)."""
    early, none = runs["early_evacuation"], runs["no_warning"]
    fired = _events(early, "fired")
    assert len(fired) == 1
    when = fired[0]["time"]
    assert when < BREACH_S
    assert "River gauge" in fired[0]["detail"]
    assert _events(early, "evacuation_order")[0]["time"] == when
    t, level = _series(early, "warning_level")
    assert np.all(level[t < when] == 0.0)
    assert np.all(level[t >= when] == ORANGE)
    _, gone = _series(early, "people_evacuated")
    assert gone[t == BREACH_S][0] > 1000  # measured 2600 of about 3000 ordered
    assert not _events(none, "fired")
    _, level = _series(none, "warning_level")
    assert np.all(level == 0.0)
    t, gone = _series(none, "people_evacuated")
    assert np.all(gone[t <= 3600.0] == 0.0)


def test_early_evacuation_keeps_people_out_of_the_water(runs):
    """The chain's end in numbers, early plan vs none on the same water and seed: fewer
    person-minutes in hazardous water, fewer stranded cars and fewer calls raised by the
    hazard. The price: the evacuation's traffic (vehicle-hours lost) rises."""
    early, none = runs["early_evacuation"].kpis(), runs["no_warning"].kpis()
    print({k: (none[k], early[k]) for k in none})
    assert none["person_minutes_in_hazard"] > 0
    assert early["person_minutes_in_hazard"] < 0.5 * none["person_minutes_in_hazard"]
    assert none["stranded_vehicles"] > early["stranded_vehicles"]
    assert none["hazard_calls"] > early["hazard_calls"]
    assert early["vehicle_hours_lost"] > none["vehicle_hours_lost"]
