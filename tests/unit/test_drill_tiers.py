"""A trainee playing one tier of command (the West district of the tiered Monaco plan) on
the Monaco flash flood (30 m grid): they see their district only, cannot act outside it,
and the plan's automatic dispatch runs the other districts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twin.errors import UserInputError

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "monaco_flash_flood.yaml"
TIERED = ROOT / "scenarios" / "plans" / "monaco_tiered.yaml"
UNTIL = 600.0
WEST = [7.4205, 43.7331]  # a street of La Condamine (West district)
EAST = [7.4300, 43.7420]  # Monte-Carlo (East district), away from its station

pytestmark = pytest.mark.usefixtures("monaco_env")


@pytest.fixture(scope="module")
def plan(tmp_path_factory) -> Path:
    """The tiered plan, with the candidate shelters open (the flash flood evacuates; the
    plan as shipped names no shelter)."""
    path = tmp_path_factory.mktemp("plan") / "tiered.yaml"
    path.write_text(TIERED.read_text() + "\nopen_candidates: true\n")
    return path


@pytest.fixture(scope="module")
def drill(plan):
    """The trainee plays West. At 2 min the trainer injects a call in West (0) and one in
    East (1); two steps pass before the trainee sends Condamine/ambulance0 to call 0."""
    from twin.drill import DrillSession

    s = DrillSession(SCENARIO, plan, seed=1, resolution=30.0, until=UNTIL, tier="West")
    s.run_to(120.0)
    s.act("incident", {"type": "medical", "location": WEST}, by="trainer")
    s.act("incident", {"type": "medical", "location": EAST}, by="trainer")
    seen = {"trainee": s.state(), "trainer": s.state("trainer"),
            "events": s.visible_events(), "log": s.visible_actions()}  # fmt: skip
    s.step()
    s.step()
    r = s.twin.parts.response
    before = {"units": {i.id: [u.name for u in r.units if u.incident is i] for i in r.incidents},
              "events": list(r.events)}  # fmt: skip
    s.act("dispatch", {"unit": "Condamine/ambulance0", "incident": 0})
    s.run_to(UNTIL)
    return {"session": s, "seen": seen, "before": before}


def test_the_tier_is_the_plans_west_district(drill):
    """West holds the Condamine and Fontvieille stations' 5 units, none of the city's."""
    c = drill["session"].command
    units = drill["session"].twin.parts.response.units
    assert (c.name, c.tier) == ("West", "district")
    assert sorted(u.name for u in units if u.id in c.units) == [
        "Condamine/ambulance0", "Condamine/police0", "Fontvieille/ambulance0",
        "Fontvieille/fire_engine0", "Fontvieille/police0",
    ]  # fmt: skip


def test_trainee_sees_their_district_the_trainer_everything(drill):
    """The trainee's queue holds the West call only and their board West's units; the
    trainer's both calls and all 12 units; the trainee gets free-unit counts for the rest
    and no drill line of the event log (the East inject would tell where)."""
    trainee, trainer = drill["seen"]["trainee"], drill["seen"]["trainer"]
    assert [i["id"] for i in trainee["incidents"]] == [0]
    assert [i["id"] for i in trainer["incidents"]] == [0, 1]
    assert {u["name"].split("/")[0] for u in trainee["units"]} == {"Condamine", "Fontvieille"}
    assert len(trainer["units"]) == 12
    assert trainee["tier"] == "West"
    assert "elsewhere" not in trainer
    assert trainee["elsewhere"] == {"ambulance": 3, "fire_engine": 2, "rescue_boat": 1,
                                    "police": 1}  # fmt: skip
    assert all(e["source"] != "drill" for e in drill["seen"]["events"])
    assert drill["seen"]["log"] == []  # injects are the trainer's
    assert "incident 1" not in json.dumps(trainee)


def test_other_districts_are_dispatched_automatically_the_trainees_call_waits(drill):
    """Two steps after the calls: an East unit was sent to the East call by the plan's
    dispatcher; nobody was sent to the West call (it waits for the trainee) and no West
    unit was used for East."""
    s = drill["session"]
    units = s.twin.parts.response.units
    west = {u.id for u in units if u.id in s.command.units}
    sent = [e for e in drill["before"]["events"] if e.event == "state" and e.detail == "dispatched"]
    assert {e.incident for e in sent} == {1}
    assert not {e.unit for e in sent} & west
    assert units[sent[0].unit].name.startswith("Monte-Carlo/")
    assert drill["before"]["units"][0] == []


def test_trainee_cannot_act_outside_their_tier(drill, plan):
    """Another district's unit, another district's call, a road in East, a city-wide
    warning: each refused naming the field and the tier; nothing is logged as taken, every
    refusal is logged as refused."""
    from twin.drill import DrillSession

    s = DrillSession(SCENARIO, plan, seed=1, resolution=30.0, until=UNTIL, tier="West")
    s.act("incident", {"type": "medical", "location": WEST}, by="trainer")
    s.act("incident", {"type": "medical", "location": EAST}, by="trainer")
    n = len(s.all_actions())
    cases = [
        ("dispatch", {"unit": "Monte-Carlo/ambulance0", "incident": 0}, "args.unit"),
        ("dispatch", {"unit": "Condamine/ambulance0", "incident": 1}, "args.incident"),
        ("mutual_aid", {"incident": 1, "unit_type": "ambulance"}, "args.incident"),
        ("close_road", {"location": EAST}, "args.location"),
        ("warning", {"level": "red"}, "args.level"),
    ]
    for kind, args, field in cases:
        with pytest.raises(UserInputError, match=f"{field}: .*outside West"):
            s.act(kind, args)
    assert len(s.all_actions()) == n
    assert [(r.kind, r.by) for r in s.log().refused] == [(k, "trainee") for k, _, _ in cases]
    assert s.act("dispatch", {"unit": "Condamine/ambulance0", "incident": 0}).by == "trainee"


def test_tier_drill_replays_exactly(drill, tmp_path):
    """The log keeps the tier: read back and replayed headless (West played by the log's
    decisions, the rest automatic), the same KPIs exactly."""
    from twin.drill import read_log, replay, write_log

    s = drill["session"]
    back = read_log(write_log(s.log(), tmp_path / "drill.yaml"))
    assert back.tier == "West"
    assert json.dumps(replay(back), sort_keys=True) == json.dumps(s.kpis(), sort_keys=True)


def test_a_tier_needs_a_tiered_plan_and_a_known_jurisdiction(plan):
    """The default plan (nearest) has no jurisdictions; 'North' is not one of the tiered
    plan's: both refused at the `tier` field with a fix."""
    from twin.drill import DrillSession

    with pytest.raises(UserInputError, match=r"tier: .*no tiered jurisdictions"):
        DrillSession(SCENARIO, seed=1, resolution=30.0, until=UNTIL, tier="West")
    with pytest.raises(UserInputError, match=r"no jurisdiction 'North'.*'East'"):
        DrillSession(SCENARIO, plan, seed=1, resolution=30.0, until=UNTIL, tier="North")


def test_automatic_hands_the_tier_back_to_the_plans_dispatcher(plan):
    """The after-action report's automatic re-runs: a West call waits two steps for the
    trainee; once the session goes automatic the plan's dispatcher sends a unit to it at
    the next step, and the tier's state rules end (the trainee sees every call)."""
    from twin.drill import DrillSession

    s = DrillSession(SCENARIO, plan, seed=1, resolution=30.0, until=UNTIL, tier="West")
    s.act("incident", {"type": "medical", "location": WEST}, by="trainer")
    s.step()
    s.step()
    r = s.twin.parts.response
    assert [u for u in r.units if u.incident is r.incidents[0]] == []
    s.automatic()
    s.step()
    sent = [e for e in r.events if e.event == "state" and e.detail == "dispatched"]
    assert [(e.incident, e.time) for e in sent] == [(0, 120.0)]
    assert "tier" not in s.state()
