"""A levee breach injected in a drill (issue 17) on the synthetic valley
(scenarios/valley_levee.yaml, the city generated into a temporary maps folder; 20 m grid,
seed 1, first 40 min). The scenario's own breach comes at 45 min, after this window, and
its stage tops the levee crest only at 40 min: until then the town behind the levee is
dry. The trainer breaches the levee at 20 min opposite Valley Road; the water reaches the
toe ditch and First Street by 40 min, and the log replays to the same KPIs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from twin.errors import UserInputError

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "valley_levee.yaml"
INJECT, UNTIL = 1200.0, 2400.0
LEVEE = [9.00431, 45.00675]  # on the levee line, opposite Valley Road
TOE_DITCH = (9.00470, 45.00675)  # gauges of the scenario, behind the levee
FIRST_STREET = (9.00533, 45.00630)
TOWN = [9.00850, 45.00675]  # Valley Road, 330 m east of the levee


@pytest.fixture(scope="module")
def valley_env(tmp_path_factory):
    from twin.city.synthetic import generate

    maps = tmp_path_factory.mktemp("maps")
    generate("valley", maps)
    mp = pytest.MonkeyPatch()
    mp.setenv("TWIN_MAPS", str(maps))
    mp.setenv("TWIN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


def _cell(s, lonlat) -> tuple[int, int]:
    """(row, col) of the flood grid at a lon/lat point."""
    from pyproj import Transformer

    from twin.coupling.twin_setup import grid_transform

    (a, _, c, _, e, f), _ = grid_transform(s.twin.parts)
    to = Transformer.from_crs("EPSG:4326", s.twin.parts.pack.crs, always_xy=True)
    x, y = to.transform(*lonlat)
    return int((y - f) // e), int((x - c) // a)


def _protected(s) -> dict[str, float]:
    """Depths (m) behind the levee now: the deepest cell east of it (two cells on, past
    the levee's own slope), the toe ditch and First Street."""
    depth, _ = s.twin.exchange.flood_grids(s.now)
    col = _cell(s, LEVEE)[1]
    return {
        "deepest": float(depth[:, col + 2 :].max()),
        "toe_ditch": float(depth[_cell(s, TOE_DITCH)]),
        "first_street": float(depth[_cell(s, FIRST_STREET)]),
    }


@pytest.fixture(scope="module")
def drill(valley_env):
    """The drill: breach injected at 20 min (50 m, default growth and bottom), played to
    40 min; and the off-levee and bad-width attempts refused on the way."""
    from twin.drill import DrillSession

    s = DrillSession(SCENARIO, seed=1, resolution=20.0, until=UNTIL)
    s.run_to(INJECT)
    before = _protected(s)
    refused = []
    for args in ({"location": TOWN}, {"location": LEVEE, "width": 0}):
        with pytest.raises(UserInputError) as exc:
            s.act("levee_breach", args, by="trainer")
        refused.append(str(exc.value))
    record = s.act("levee_breach", {"location": LEVEE, "width": "50 m"}, by="trainer")
    s.run_to(UNTIL)
    return {"session": s, "before": before, "after": _protected(s), "record": record,
            "refused": refused, "kpis": s.kpis()}  # fmt: skip


def test_the_breach_floods_the_protected_side_after_it_and_not_before(drill):
    """Before the inject no cell behind the levee holds water; 20 min after it the toe
    ditch holds more than 1 m and First Street more than 0.1 m (measured 1.9 and 0.67)."""
    assert drill["before"] == {"deepest": 0.0, "toe_ditch": 0.0, "first_street": 0.0}
    assert drill["after"]["toe_ditch"] > 1.0
    assert drill["after"]["first_street"] > 0.1
    assert drill["record"].time == INJECT
    assert "levee breach: Valley river levee 0 opens over 50 m" in drill["record"].result


def test_the_breach_closes_roads_the_plain_run_keeps_open(drill):
    """The plan's run without the inject (the counterfactual) closes fewer km of road."""
    from twin.drill import counterfactual

    plain = counterfactual(drill["session"].log())
    assert drill["kpis"]["peak_km_closed_cars"] > plain["peak_km_closed_cars"]


def test_replay_of_the_breach_log_gives_the_same_kpis_exactly(drill, tmp_path):
    """The log, written as YAML and read back, replays headless to the same KPIs."""
    from twin.drill import read_log, replay, write_log

    log = read_log(write_log(drill["session"].log(), tmp_path / "drill.yaml"))
    assert [a.kind for a in log.actions_of("main")] == ["levee_breach"]
    same = json.dumps(replay(log), sort_keys=True) == json.dumps(drill["kpis"], sort_keys=True)
    assert same


def test_a_breach_off_the_levee_line_is_refused_and_logged(drill):
    """Valley Road is ~330 m from the levee: refused with the distance; width 0 refused
    by the argument check; both in the refusals, neither in the actions."""
    s = drill["session"]
    assert "m from the nearest levee" in drill["refused"][0]
    assert "args.location" in drill["refused"][0]
    assert "width" in drill["refused"][1]
    assert [r.kind for r in s.refused] == ["levee_breach", "levee_breach"]
    assert len(s.all_actions()) == 1


def test_the_menu_suggests_the_levee(drill):
    """The trainer's menu example place is the middle of the scenario's levee."""
    from twin.drill.actions import levee_places

    (place,) = levee_places(drill["session"])
    assert place == pytest.approx([9.00431, 45.006745], abs=1e-5)
    assert np.isfinite(place).all()


def test_a_breach_on_a_map_without_a_levee_is_refused(monaco_env):
    """Monaco has no river: the trainer is told the map has no levee, nothing is logged."""
    from twin.drill import DrillSession

    s = DrillSession(ROOT / "scenarios" / "monaco_flash_flood.yaml", seed=1, resolution=30.0,
                     until=120.0)  # fmt: skip
    with pytest.raises(UserInputError, match="no levee to breach"):
        s.act("levee_breach", {"location": [7.4205, 43.7331]}, by="trainer")
    assert s.all_actions() == []
    assert [r.kind for r in s.refused] == ["levee_breach"]
