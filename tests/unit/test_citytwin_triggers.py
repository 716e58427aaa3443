"""Trigger actions in the coupled twin: an early-warning evacuation order brings the
scenario's evacuation forward (Monaco flash flood, 30 m grid, 20 min window)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from twin.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "monaco_flash_flood.yaml"
BASELINE = ROOT / "scenarios" / "plans" / "monaco_baseline.yaml"
ZONE = "[[7.4215, 43.7370], [7.4265, 43.7370], [7.4265, 43.7400], [7.4215, 43.7400]]"
UNTIL = 1200.0  # 20 min: before the scenario's own order (45 min)

pytestmark = pytest.mark.usefixtures("monaco_env")


def early_plan(folder: Path, evacuate: str = f"{{zone: {ZONE}, curve: {{mean: 5 min}}}}") -> Path:
    """The baseline plan plus a trigger on the rain forecast: orange warning and the
    evacuation of the scenario's zone."""
    text = BASELINE.read_text(encoding="utf-8").replace("name: baseline", "name: early")
    text += textwrap.dedent(
        f"""
        triggers:
          - when: forecast:rain_mm_h@30min >= 50 mm/h
            then:
              - warning: {{level: orange, message: Flash flood - leave the ravine}}
              - evacuate: {evacuate}
        """
    )
    path = folder / "early.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(plan, folder):
    from twin.model import CityTwin

    twin = CityTwin.from_files(
        SCENARIO, plan, seed=1, resolution=30.0, until=UNTIL, flood_cache=folder
    )
    twin.run()
    return twin


def test_evacuation_trigger_releases_the_zone_before_the_scheduled_order(tmp_path):
    """The forecast (90 mm/h at 30-60 min) fires at the start: walkers and drivers of the
    zone leave within the 20 min window; without the trigger nobody leaves before the
    scenario's order at 45 min. The order is logged with its trigger."""
    none = _run(BASELINE, tmp_path)
    early = _run(early_plan(tmp_path), tmp_path)
    assert none.rows[-1]["people_evacuated"] == 0.0
    p = early.parts
    walkers = np.count_nonzero(p.crowd.model.status[p.evacuee_people] != 0)
    v = p.traffic.model._v
    cars = np.count_nonzero(v.t_depart[p.evacuee_vehicles] < UNTIL)  # due: left or queued
    assert np.count_nonzero(v.status[p.evacuee_vehicles] != 0) > 0.5 * cars  # on the road
    # Rayleigh mean 5 min: P(delay > 20 min) = exp(-pi/4 * 16) ~ 3e-6 of the evacuees;
    # homes are the walkers' start nodes and the cars' origin nodes, and a building of the
    # zone may snap to a node just outside it (it keeps the 45 min order): 95 %, not all
    assert walkers >= 0.95 * p.evacuee_people.size
    assert cars >= 0.95 * p.evacuee_vehicles.size
    assert p.evacuee_people.size > 0
    assert p.evacuee_vehicles.size > 0
    assert early.rows[-1]["people_evacuated"] > 0.0
    assert early.rows[-1]["warning_level"] == 3.0
    orders = [e for e in early.exchange.events if e["kind"] == "evacuation_order"]
    assert len(orders) == 1
    assert orders[0]["time"] == 0.0
    moved_w, moved_c = (int(w) for w in orders[0]["detail"].split()[0:4:3])
    assert moved_w <= walkers <= moved_w + 1  # 1: a scheduled departure before 20 min
    assert moved_c <= cars


def test_evacuation_order_that_sets_its_own_split_is_refused(tmp_path):
    """compliance and car_share are the scenario's: an order setting them is refused at
    its field, naming what to give instead."""
    from twin.model import CityTwin

    plan = early_plan(tmp_path, f"{{zone: {ZONE}, compliance: 0.9, car_share: 0.2}}")
    with pytest.raises(ScenarioError) as err:
        CityTwin.from_files(SCENARIO, plan, seed=1, resolution=30.0, until=120.0)
    text = str(err.value)
    assert "triggers.0.then.1.evacuate.compliance" in text
    assert "triggers.0.then.1.evacuate.car_share" in text
    assert "demand.evacuation" in text
