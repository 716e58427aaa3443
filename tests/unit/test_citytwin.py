"""CityTwin on the Monaco flash flood at a 30 m grid over a short window (20 min): the Mesa
interface, checkpoint/restore, determinism, flood reuse and conservation across models."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pytest

from twin.metrics.vitals import VITALS, column

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "monaco_flash_flood.yaml"
UNTIL = 1200.0  # 20 min: 20 exchanges, enough for the rain to wet the streets

pytestmark = pytest.mark.usefixtures("monaco_env")


def _twin(**kwargs):
    from twin.model import CityTwin

    return CityTwin.from_files(SCENARIO, seed=1, resolution=30.0, until=UNTIL, **kwargs)


@pytest.fixture(scope="module")
def straight():
    """A straight run to the end."""
    twin = _twin()
    twin.run()
    return twin


def test_mesa_model_steps_and_collects_every_vital_sign_with_units():
    """Built from Python, stepped; the DataCollector has one column per vital sign with its
    unit in the name, a row at the start and after each step; Mesa's own generator is
    never drawn from."""
    import mesa

    twin = _twin()
    state = twin.rng.bit_generator.state
    assert isinstance(twin, mesa.Model)
    twin.step()
    twin.step()
    frame = twin.datacollector.get_model_vars_dataframe()
    assert list(frame.columns) == [column(v) for v in VITALS]
    assert "km_closed_cars [km]" in frame.columns
    assert "people_in_hazard [people]" in frame
    assert len(frame) == 3
    assert twin.now == 120.0
    assert twin.rng.bit_generator.state == state
    kinds = {a.kind for a in twin.agents if hasattr(a, "kind")}
    assert {"station", "gauge", "shelter"} <= kinds
    assert len(twin.unit_agents) == len(twin.parts.response.units) == 8


def test_checkpoint_then_resume_equals_straight_run(straight, tmp_path):
    """Checkpoint at 10 min, restore into a fresh twin, run on: same KPIs, vital signs and
    files as the straight run."""
    from twin.model import write_outputs

    first = _twin()
    while first.now < 600.0:
        first.step()
    path = first.checkpoint(tmp_path / "ck.npz")
    resumed = _twin()
    resumed.restore(path)
    assert resumed.now == 600.0
    resumed.run()
    assert resumed.kpis() == pytest.approx(straight.kpis(), nan_ok=True, rel=0, abs=0)
    assert resumed.vital_table() == straight.vital_table()
    a = write_outputs(straight, tmp_path / "a")
    b = write_outputs(resumed, tmp_path / "b")
    for fa, fb in zip(a, b, strict=True):
        assert filecmp.cmp(fa, fb, shallow=False), fa.name


def test_same_seed_same_bytes_and_flood_reuse(straight, tmp_path):
    """A second run with the same seed writes identical files; recording the flood and
    replaying it from the cache (no flood computed) changes no byte either."""
    from twin.coupling.flood_reuse import FloodReplay
    from twin.model import write_outputs

    cache = tmp_path / "floods"
    recorded = _twin(flood_cache=cache)
    recorded.run()
    replayed = _twin(flood_cache=cache)
    assert isinstance(replayed.parts.flood, FloodReplay)
    replayed.run()
    a = write_outputs(straight, tmp_path / "a")
    for other, name in ((recorded, "b"), (replayed, "c")):
        b = write_outputs(other, tmp_path / name)
        for fa, fb in zip(a, b, strict=True):
            assert filecmp.cmp(fa, fb, shallow=False), (name, fa.name)


def test_conservation_across_models(straight):
    """Every vehicle and every walker is somewhere, each state counted on its own (link
    occupancy arrays vs. status and arrival counters), and the evacuation's walkers plus
    drivers are the ordered people once (no one ordered twice)."""
    from twin.traffic.demand import PERSONS_PER_CAR

    traffic = straight.parts.traffic.model
    status = traffic._v.status[: traffic.n_vehicles]  # the arrays grow in blocks
    on_links = int(traffic.vehicles_on_links().sum())  # from the links' own counts
    waiting = int(np.count_nonzero(status == 0))
    stranded = int(np.count_nonzero(status == 3))
    assert on_links + waiting + int(traffic.arrived) + stranded == traffic.n_vehicles
    # units drove as priority vehicles (twin.coupling.unit_vehicles), counted apart: the
    # driver's drives are its vehicles' trips, each ended once or still on the road
    units = straight.exchange.units
    c = units.counts()
    priority = np.flatnonzero(traffic.trips().priority)
    assert np.array_equal(priority, units.vehicles())
    assert c["vehicles"] > 0
    drives = sum(1 for _, vid in units.calls if vid >= 0)
    assert c["arrived"] + c["stranded"] + c["driving"] == drives
    assert traffic.check_conservation()["added"] == traffic.n_vehicles  # raises if lost
    assert not traffic.trips().priority[straight.parts.evacuee_vehicles].any()
    crowd = straight.parts.crowd
    c = crowd.model.counts()
    assert int(crowd.output("count").sum()) == c["on_link"]
    assert c["pending"] + c["at_node"] + c["on_link"] + c["arrived"] + c["stuck"] == c["total"]
    assert int(crowd.model.dests.occupancy.sum()) == c["arrived"]
    # ordered people: occupants of the zone's buildings x compliance, rounded once per
    # building and then split into walkers and people by car (twin.coupling.evacuees), so
    # walkers + the people in the cars are within one person per building of it
    import shapely

    sc = straight.parts.scenario
    evac = sc.demand.evacuation
    pack = straight.parts.pack
    from pyproj import Transformer

    to = Transformer.from_crs("EPSG:4326", pack.crs, always_xy=True)
    zone = shapely.Polygon([to.transform(*p) for p in evac.zone])
    pts = pack.buildings.geometry.representative_point()
    inside = shapely.contains_xy(zone, pts.x.to_numpy(), pts.y.to_numpy())
    ordered = float(np.nansum(pack.buildings["occupants"].to_numpy(float)[inside])) * (
        evac.compliance
    )
    people = straight.parts.evacuee_people.size
    cars = straight.parts.evacuee_vehicles.size
    in_cars = int(straight.exchange.cars.load[straight.parts.evacuee_vehicles].sum())
    assert abs(people + in_cars - ordered) <= inside.sum()
    assert in_cars / cars == pytest.approx(PERSONS_PER_CAR, abs=0.1)
    assert people > 0
    assert cars > 0


def test_people_exposed_counts_each_person_once(straight):
    """people_exposed never falls, ends as the KPI, is at least the most people in hazard
    at one exchange plus the stranded cars' people, and at most every exchange's people in
    hazard summed plus those people (each walker flagged at most once); the flags are the
    walkers in hazard now, person by person."""
    from twin.coupling.walkers import stranded_occupants, walkers_in_hazard

    rows = straight.rows
    exposed = np.array([r["people_exposed"] for r in rows])
    hazard = np.array([r["people_in_hazard"] for r in rows])
    p, ex = straight.parts, straight.exchange
    cars = stranded_occupants(ex.stranded, p.evacuee_vehicles, p.car_people)
    assert np.all(np.diff(exposed) >= 0)
    assert straight.kpis()["people_exposed"] == exposed[-1]
    assert hazard.max() + cars <= exposed[-1] <= hazard.sum() + cars
    m = p.crowd.model
    now = walkers_in_hazard(m.status, m.link, ex.rating, ex.rules.walkers)
    assert now.sum() == rows[-1]["people_in_hazard"]
    assert not (now & ~straight.exposure.walkers).any()


def test_unsupported_trigger_action_is_refused(tmp_path):
    """A plan trigger whose action the coupled run cannot carry out yet is refused at its
    field, naming what is supported."""
    from twin.coupling.twin_actions import check_plan_actions
    from twin.errors import ScenarioError
    from twin.scenario.plan import Plan

    plan = Plan.model_validate(
        {
            "version": 1,
            "name": "x",
            "stations": [{"name": "A", "location": [7.42, 43.73], "units": {"ambulance": 1}}],
            "triggers": [
                {
                    "when": "max_depth_m > 0.3 m",
                    "then": [{"preposition": {"to": "A", "ambulance": 1}}],
                }
            ],
        }
    )
    with pytest.raises(ScenarioError, match="preposition") as err:
        check_plan_actions(plan)
    assert "triggers.0.then.0.preposition" in str(err.value)
    assert "warning" in str(err.value)
