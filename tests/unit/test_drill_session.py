"""Drills on the Monaco flash flood (30 m grid, 10 min): replay reproduces the KPIs,
rewound branches agree before the branch point and differ after, bad decisions are refused
with a message, malformed scripts with file:line."""

from __future__ import annotations

import json

import pytest

from tests.helpers.drill import PLACE, flash_flood_drill
from twin.errors import UserInputError

UNTIL = 600.0

pytestmark = pytest.mark.usefixtures("monaco_env")


def _same(a: dict, b: dict) -> bool:
    """Exact equality, NaN equal to NaN (a KPI with no data is NaN in both)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@pytest.fixture(scope="module")
def drill():
    """A drill: an incident at 2 min, a checkpoint, ambulance0 sent (main); rewound, the
    other branch asks mutual aid (20 min away) instead. Both played to 10 min."""
    s = flash_flood_drill(UNTIL)
    s.run_to(120.0)
    call = s.act("incident", {"type": "medical", "location": PLACE}, by="trainer")
    s.checkpoint("call")
    s.act("dispatch", {"unit": "Condamine/ambulance0", "incident": 0})
    s.step()
    moved = s.state()["units"][0]
    s.run_to(UNTIL)
    main = {"kpis": s.kpis(), "rows": list(s.twin.rows), "events": list(s.twin.exchange.events),
            "snapshots": s.twin.snapshots}  # fmt: skip
    branch = s.rewind("call")
    s.act("mutual_aid", {"incident": 0, "unit_type": "ambulance", "delay": "20 min"})
    s.run_to(UNTIL)
    other = {"kpis": s.kpis(), "rows": list(s.twin.rows)}
    return {"session": s, "call": call, "moved": moved, "main": main, "other": other,
            "branch": branch}  # fmt: skip


def test_decision_logged_with_time_and_what_the_trainee_saw(drill):
    """The dispatch is in the log at 2 min with the open incident the trainee saw; the unit
    is on its way in the state one step later."""
    log = drill["session"].log()
    dispatch = log.actions_of("main")[1]
    assert (dispatch.kind, dispatch.time, dispatch.by) == ("dispatch", 120.0, "trainee")
    assert [i["id"] for i in dispatch.seen["incidents"]] == [0]
    assert dispatch.seen["units"][0]["state"] == "available"
    assert drill["moved"]["state"] in {"dispatched", "on_scene"}
    assert drill["moved"]["incident"] == 0


def test_replay_of_the_log_gives_the_same_kpis_exactly(drill, tmp_path):
    """Written as YAML and JSON, read back and replayed headless: the same KPIs, both
    branches."""
    from twin.drill import read_log, replay, write_log

    log = drill["session"].log()
    for name in ("drill.yaml", "drill.json"):
        back = read_log(write_log(log, tmp_path / name))
        assert back == log
    back = read_log(tmp_path / "drill.yaml")
    assert _same(replay(back), drill["main"]["kpis"])
    assert _same(replay(back, branch=drill["branch"]), drill["other"]["kpis"])


def test_branches_identical_before_the_branch_point_and_differ_after(drill):
    """Vital signs equal up to the checkpoint (2 min = 3 rows); the response time differs
    after: 20 min of mutual aid against ambulance0's drive."""
    main, other = drill["main"], drill["other"]
    assert main["rows"][:3] == other["rows"][:3]
    assert main["kpis"]["response_time_p50"] < 600.0
    assert other["kpis"]["response_time_p50"] != main["kpis"]["response_time_p50"]
    assert other["kpis"]["unserved_incidents"] == 1.0  # aid not there by 10 min


def test_refused_decisions_give_a_message_and_change_nothing(drill):
    """An unknown unit, a busy unit, a place off the map, an inject by a trainee: each a
    UserInputError naming the field; the log does not grow."""
    s = flash_flood_drill(UNTIL)
    s.act("incident", {"type": "medical", "location": PLACE}, by="trainer")
    s.act("dispatch", {"unit": "Condamine/ambulance0", "incident": 0})
    n = len(s.all_actions())
    cases = [
        ("dispatch", {"unit": "Nowhere/ambulance9", "incident": 0}, "trainee", "no unit"),
        ("dispatch", {"unit": "Condamine/ambulance0", "incident": 0}, "trainee", "is busy"),
        ("incident", {"type": "medical", "location": [8.0, 44.0]}, "trainer", "nearest road"),
        ("close_road", {"location": [8.0, 44.0]}, "trainee", "nearest road"),
        ("incident", {"type": "medical", "location": PLACE}, "trainee", "trainer's inject"),
        ("dispatch", {"unit": "Condamine/ambulance1", "incident": 5}, "trainee", "no incident"),
    ]
    for kind, args, by, words in cases:
        with pytest.raises(UserInputError, match=words):
            s.act(kind, args, by=by)
    assert len(s.all_actions()) == n


def test_malformed_script_rejected_with_file_and_line(tmp_path):
    """A misspelt kind on line 5 and a missing unit on line 8, each named with its line."""
    from twin.drill import read_script

    path = tmp_path / "drill.yaml"
    path.write_text(
        "kind: drill_script\n"
        "injects:\n"
        "  - at: 5 min\n"
        "    args: {type: medical, location: [7.42, 43.73]}\n"
        "    kind: incidnet\n"
        "  - at: 10 min\n"
        "    kind: unit_out_of_service\n"
        "    args: {duration: 30 min}\n"
    )
    with pytest.raises(UserInputError) as err:
        read_script(path)
    text = str(err.value)
    assert f"{path}:5: injects[0].kind: unknown action 'incidnet'" in text
    assert f"{path}:8: injects[1].args.unit" in text
    path.write_text("kind: drill_script\ninjects:\n  - at: soon\n    kind: incident\n")
    with pytest.raises(UserInputError, match=f"{path}:3"):
        read_script(path)


def test_script_injects_at_their_time_and_replay_without_the_script(tmp_path):
    """A scripted incident at 90 s lands at the 2 min exchange, logged as by the script;
    a hospital full and a unit out of service too; the log replays without the script."""
    from twin.drill import replay

    path = tmp_path / "drill.yaml"
    path.write_text(
        "kind: drill_script\n"
        "injects:\n"
        "  - at: 90 s\n"
        "    kind: incident\n"
        f"    args: {{type: medical, location: {PLACE}, held: false}}\n"
        "  - {at: 60 s, kind: unit_out_of_service, args: {unit: Condamine/ambulance0}}\n"
        "  - at: 60 s\n"
        "    kind: hospital_full\n"
        "    args: {hospital: Centre hospitalier Princesse Grace}\n"
    )
    s = flash_flood_drill(300.0, script=path)
    s.run_to(300.0)
    acts = s.all_actions()
    assert [(a.kind, a.time, a.by) for a in acts] == [
        ("unit_out_of_service", 60.0, "script"),
        ("hospital_full", 60.0, "script"),
        ("incident", 120.0, "script"),
    ]
    states = {u["name"]: u["state"] for u in s.state()["units"]}
    assert states["Condamine/ambulance0"] == "out_of_service"
    assert _same(replay(s.log()), s.kpis())


def test_recall_road_closure_and_warning_change_the_twin():
    """A recalled ambulance turns home and its call waits for the dispatcher again; a
    closed street closes its traffic links until reopened; a red warning raises the
    level in force and a second red one is refused."""
    s = flash_flood_drill(UNTIL)
    s.act("incident", {"type": "medical", "location": PLACE}, by="trainer")
    s.act("dispatch", {"unit": "Condamine/ambulance0", "incident": 0})
    s.act("recall", {"unit": "Condamine/ambulance0"})
    s.step()
    units = {u["name"]: u for u in s.state()["units"]}
    assert units["Condamine/ambulance0"]["incident"] is None
    traffic = s.twin.parts.traffic.model
    s.act("close_road", {"location": PLACE})
    closed = s.closed_drive.copy()
    assert closed.any()
    assert traffic.closed[closed].all()
    s.act("open_road", {"location": PLACE})
    assert not traffic.closed[closed].any()
    s.act("warning", {"level": "red"})
    assert s.state()["warning_level"] == "red"
    with pytest.raises(UserInputError, match="already in force"):
        s.act("warning", {"level": "red"})


def test_rain_intensifying_raises_the_water():
    """Rain x3 injected at 20 min (40 mm/h then): by 40 min more water is stored and
    deeper than without, the rain that fell after the inject is exactly 3x the plain
    run's (same cells, same times), the volume balance still closes, and the log replays;
    a factor of 1 is refused."""
    from twin.drill import replay

    runs = {}
    for factor in (None, 3.0):
        s = flash_flood_drill(2400.0)
        s.run_to(1200.0)
        flood = s.twin.parts.flood.model
        before = (dict(s.twin.vitals), flood.volume_balance().rain)
        if factor is not None:
            with pytest.raises(UserInputError, match="factor"):
                s.act("rain", {"factor": 1.0}, by="trainer")
            assert "rain x3" in s.act("rain", {"factor": factor}, by="trainer").result
        s.run_to(2400.0)
        runs[factor] = (before, dict(s.twin.vitals), flood.volume_balance(), s)
    (plain_0, rain_0), plain, plain_balance, _ = runs[None]
    (wet_0, wet_rain_0), wet, balance, s = runs[3.0]
    assert plain_0 == wet_0
    assert wet["max_depth_m"] > plain["max_depth_m"]
    assert wet["flooded_area_m2"] > plain["flooded_area_m2"]
    assert balance.stored > plain_balance.stored
    # rel 1e-9: the same rain summed sub-step by sub-step in two runs with other dt
    assert balance.rain - wet_rain_0 == pytest.approx(3 * (plain_balance.rain - rain_0), rel=1e-9)
    assert abs(balance.relative_error) < 1e-9  # float round-off of the mass balance
    assert _same(replay(s.log()), s.kpis())


def test_a_drill_keeps_no_render_snapshots(drill):
    """Memory over a long drill: the twin's render snapshots (a depth and a speed grid per
    outputs.snapshots interval, which grew without bound and nothing in a drill reads)
    are not kept, on the main branch at 10 min nor on the rewound one, while the vital
    signs go on (one row per exchange)."""
    s = drill["session"]
    assert drill["main"]["snapshots"] is None
    assert s.twin.snapshots is None
    assert len(drill["main"]["rows"]) == len(s.twin.rows) > 1
