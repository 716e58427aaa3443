"""Hazard chains and the road/shelter trigger actions in the coupled twin (Monaco, 30 m
grid, short windows): the typhoon's wind closes its listed roads for every model, a road
collapses under standing water, a trigger closes a road and opens a shelter, and a
checkpoint taken among all of it resumes to the same bytes."""

from __future__ import annotations

import json
import math
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
TYPHOON = ROOT / "scenarios" / "monaco_typhoon_surge.yaml"
FLASH = ROOT / "scenarios" / "monaco_flash_flood.yaml"
BASELINE = ROOT / "scenarios" / "plans" / "monaco_baseline.yaml"
UNTIL = 1200.0  # 20 min of the flash flood: the ravine is wet from the first minutes

pytestmark = pytest.mark.usefixtures("monaco_env")


def test_typhoon_wind_closes_its_roads_for_traffic_and_response():
    """The typhoon's wind passes 28 m/s at 65.5 min (12 -> 34 m/s over 0-90 min): its listed
    roads close then, for traffic and the response's routing alike, count in the km closed,
    and the chain is logged as cause -> effect. The scenario has no traffic of its own; the
    flash flood's demand is borrowed (wind closures do not depend on it)."""
    from twin.coupling.city_setup import scenario_city
    from twin.coupling.twin_setup import build_parts
    from twin.model import CityTwin
    from twin.scenario.loader import load_plan, load_scenario

    sc = load_scenario(TYPHOON)
    demand = load_scenario(FLASH).demand
    sc = sc.model_copy(
        update={"demand": demand, "city": sc.city.model_copy(update={"resolution": 30.0})}
    )
    until = 3960.0  # 66 min: just past the closing
    parts = build_parts(sc, load_plan(sc.plans[0]), scenario_city(sc), seed=1, until=until)
    (wind,) = [c for c in parts.closures if c.field == "hazards.2"]
    start = 16.0 / 22.0 * 5400.0  # 12 + 22 t / 90 min = 28 m/s
    assert wind.start == pytest.approx(start)
    assert math.isfinite(wind.end)
    assert wind.links.sum() > 0
    twin = CityTwin(parts, until=until)
    while twin.now + twin.exchange_every <= start:
        twin.step()
    assert not twin.exchange.hazard_closed.any()  # before the wind: nothing held closed
    twin.run()
    traffic = parts.traffic.model
    assert traffic.closed[wind.links].all()
    on_edges = wind.links[twin.exchange.edge_links]
    assert parts.response.travel.closed[on_edges].all()
    assert on_edges.sum() == wind.links.sum()
    km = twin.exchange.length[wind.links | twin.exchange.closed_cars].sum() / 1000.0
    assert twin.rows[-1]["km_closed_cars"] == pytest.approx(km)
    (logged,) = [e for e in twin.exchange.events if e["kind"] == "wind_closure"]
    assert logged["time"] == pytest.approx(start)
    assert "wind above 28 m/s -> fallen trees close" in logged["detail"]
    assert not [e for e in twin.exchange.events if e["kind"] == "wind_reopen"]  # after the end


def _scenario(folder: Path) -> Path:
    """The flash flood plus a road that collapses under water standing 1 min within 40 m
    of a street below Monaco-Ville. The depth is 1 mm, not a physical one: at 30 m the
    streets hold under 5 mm in the first 20 min, and this tests the wiring (the rule's
    numbers are tested in test_chains)."""
    text = FLASH.read_text(encoding="utf-8")
    collapse = (
        "  - kind: flood_collapse\n"
        "    name: Sainte-Devote sinkhole\n"
        "    location: [7.4251, 43.7320]\n"
        "    radius: 40 m\n"
        "    depth: 1 mm\n"
        "    duration: 1 min\n"
    )
    text = text.replace("  - kind: drainage", collapse + "  - kind: drainage", 1)
    path = folder / "collapse.yaml"
    path.write_text(text, encoding="utf-8")
    shutil.copytree(ROOT / "scenarios" / "plans", folder / "plans", dirs_exist_ok=True)
    return path


def _plan(folder: Path) -> Path:
    """The baseline plan plus a trigger on the rain forecast (fires at 0 s): close a
    Fontvieille road for 10 min and open the École des Carmes."""
    text = BASELINE.read_text(encoding="utf-8").replace("name: baseline", "name: roads")
    text += textwrap.dedent(
        """
        triggers:
          - when: forecast:rain_mm_h@30min >= 50 mm/h
            then:
              - close_road:
                  {name: Fontvieille road, location: [7.4170, 43.7310], duration: 10 min}
              - open_shelter: École des Carmes
        """
    )
    path = folder / "roads.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _twin(folder: Path):
    from twin.model import CityTwin

    return CityTwin.from_files(
        _scenario(folder), _plan(folder), seed=1, resolution=30.0, until=UNTIL
    )


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    folder = tmp_path_factory.mktemp("straight")
    twin = _twin(folder)
    twin.run()
    return twin, folder


def test_road_collapses_under_standing_water_for_every_model(straight):
    """The watch fires once the water has stood 2 min; its links close for traffic, the
    response and (the walk links within the radius) the crowd, from then on; logged."""
    twin, _ = straight
    (watch,) = twin.parts.watches
    assert math.isfinite(watch.fired)
    assert watch.fired >= 60.0  # at least the duration after the first wet exchange
    (closure,) = [c for c in twin.exchange.closures if c.field == "hazards.3"]
    assert closure.start == watch.fired
    assert twin.parts.traffic.model.closed[closure.links].all()
    assert twin.parts.response.travel.closed[closure.links[twin.exchange.edge_links]].all()
    walk = twin.parts.walk_watch_links["hazards.3"]
    assert walk.any()
    assert twin.parts.crowd.model.closed_outside[walk].all()
    (logged,) = [e for e in twin.exchange.events if e["kind"] == "flood_collapse"]
    assert logged["time"] == watch.fired
    assert "Sainte-Devote sinkhole: the road collapses" in logged["detail"]


def test_trigger_closes_a_road_for_its_duration_and_opens_a_shelter(straight):
    """close_road: the Fontvieille road's links are closed for traffic and the response
    from 0 s and open again after its 10 min (unless the water holds them); open_shelter:
    the École des Carmes joins the crowd's shelters with its capacity."""
    twin, _ = straight
    action = twin.parts.actions["triggers.0.then.0"]
    assert action.drive.any()
    assert action.duration == 600.0
    (closure,) = [c for c in twin.exchange.closures if c.field == "triggers.0.then.0"]
    assert (closure.start, closure.end) == (0.0, 600.0)
    held = twin.exchange.closed_cars
    assert not (twin.parts.traffic.model.closed[action.drive & ~held]).any()  # reopened
    assert not twin.exchange.hazard_closed[action.drive].any()
    logged = [e for e in twin.exchange.events if e["kind"] == "road_closed"]
    assert len(logged) == 1
    assert logged[0]["time"] == 0.0
    d = twin.parts.crowd.model.dests
    shelter = twin.parts.actions["triggers.0.then.1"]
    assert shelter.names
    assert shelter.names[0].endswith("École des Carmes")
    k = d.names.index(shelter.names[0])
    assert d.group_names[d.group[k]] == "shelters"
    assert d.capacity[k] == shelter.capacities[0] > 0
    (opened,) = [e for e in twin.exchange.events if e["kind"] == "shelter_opened"]
    assert opened["time"] == 0.0


def test_road_closure_is_active_mid_run():
    """At 5 min (inside its 10 min) the trigger's road is closed for traffic and the
    response; refused roads and shelters name their trigger field."""
    import tempfile

    from twin.errors import UserInputError

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        twin = _twin(folder)
        for _ in range(5):
            twin.step()
        action = twin.parts.actions["triggers.0.then.0"]
        assert twin.parts.traffic.model.closed[action.drive].all()
        edges = action.drive[twin.exchange.edge_links]
        assert twin.parts.response.travel.closed[edges].all()
        bad = _plan(folder).read_text(encoding="utf-8").replace("École des Carmes", "Nowhere")
        (folder / "bad.yaml").write_text(bad, encoding="utf-8")
        from twin.model import CityTwin

        with pytest.raises(UserInputError) as err:
            CityTwin.from_files(_scenario(folder), folder / "bad.yaml", resolution=30.0,
                                until=120.0)  # fmt: skip
        assert "triggers.0.then.1.open_shelter" in str(err.value)


def test_checkpoint_among_chains_resumes_to_the_same_run(straight, tmp_path):
    """Checkpoint at 10 min (road closed by the trigger, the watch's spell or collapse on
    record), restore into a fresh twin, run on: KPIs, vital signs and event log identical
    to the straight run."""
    twin0, folder = straight
    first = _twin(folder)
    while first.now < 600.0:
        first.step()
    path = first.checkpoint(tmp_path / "cp.npz")
    second = _twin(folder)
    second.restore(path)
    second.run()
    assert json.dumps(second.kpis()) == json.dumps(twin0.kpis())  # NaN == NaN here
    assert second.vital_table() == twin0.vital_table()
    assert second.exchange.events == twin0.exchange.events
    assert [w.state() for w in second.exchange.watches] == [
        w.state() for w in twin0.exchange.watches
    ]
    assert np.array_equal(second.exchange.hazard_closed, twin0.exchange.hazard_closed)
