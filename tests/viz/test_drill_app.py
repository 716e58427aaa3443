"""The drill web app over HTTP (stdlib urllib against 127.0.0.1), ``twin drill --replay``
and the after-action report, on the Monaco flash flood (30 m grid, 5 min)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.drill import FLASH_FLOOD, PLACE, flash_flood_drill

ROOT = Path(__file__).resolve().parents[2]
UNTIL = 300.0

pytestmark = pytest.mark.usefixtures("monaco_env")


def _get(base: str, path: str, body=None, token: str | None = None) -> tuple[int, bytes]:
    headers = {} if token is None else {"X-Drill-Token": token}
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _serve(app):
    from viz.drill.app import make_server

    server = make_server(app, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module")
def local():
    """A drill app on 127.0.0.1 (no --host): GETs open, POSTs need the token."""
    from viz.drill.app import DrillApp

    session = flash_flood_drill(UNTIL)
    app = DrillApp(session)
    server, base = _serve(app)
    yield app, base
    server.shutdown()
    server.server_close()


def test_page_open_but_state_and_posts_need_a_token(local):
    """On 127.0.0.1 the page and its script load without a token, the state does not (its
    view is the token's role); an inject without a token (or with a wrong one) is refused
    with 403 and changes nothing."""
    app, base = local
    assert _get(base, "/")[0] == 200
    assert _get(base, "/page.js")[0] == 200
    assert _get(base, "/api/state")[0] == 403
    assert _get(base, "/api/state?view=trainer")[0] == 403
    n = len(app.session.all_actions())
    body = {"kind": "incident", "args": {"type": "medical", "location": PLACE}}
    assert _get(base, "/api/act?view=trainer", body)[0] == 403
    assert _get(base, "/api/act?view=trainer", body, token="wrong")[0] == 403
    assert len(app.session.all_actions()) == n


def test_bad_inputs_give_400_with_a_message_and_change_nothing(local):
    """An unknown unit, a place off the map, a trainee injecting, a speed of 100x, a body
    that is not JSON: each HTTP 400 with the reason; the log does not grow."""
    app, base = local
    token = app.token
    n = len(app.session.all_actions())
    cases = [
        ("/api/act", {"kind": "dispatch", "args": {"unit": "Nowhere/x", "incident": 0}},
         token, "no unit"),
        ("/api/act", {"kind": "incident", "args": {"type": "medical", "location": [8.0, 44.0]}},
         token, "nearest road"),
        ("/api/act", {"kind": "incident", "args": {"type": "medical", "location": PLACE}},
         app.trainee_token, "trainer's inject"),
        ("/api/clock", {"speed": 100}, token, "between 1x and 60x"),
    ]  # fmt: skip
    for path, body, who, words in cases:
        status, raw = _get(base, path, body, token=who)
        assert status == 400, (path, raw)
        assert words in json.loads(raw)["error"]
    request = urllib.request.Request(base + "/api/act", data=b"{nope",
                                     headers={"X-Drill-Token": token})  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request, timeout=60)
    assert exc.value.code == 400
    assert len(app.session.all_actions()) == n
    assert _get(base, "/api/state", token=token)[0] == 200  # still serving


def test_inject_dispatch_and_step_through_the_api(local):
    """The trainer injects a call (held for trainees), the trainee sends ambulance0, one
    step: the unit is on its way or there, the log holds both at the same time."""
    app, base = local
    token = app.token
    body = {"kind": "incident", "args": {"type": "medical", "location": PLACE}}
    status, raw = _get(base, "/api/act", body, token=token)
    assert status == 200, raw
    incident = int(json.loads(raw)["result"].split()[1])
    state = json.loads(_get(base, "/api/state", token=token)[1])
    assert [i["held"] for i in state["incidents"] if i["id"] == incident] == [True]
    body = {"kind": "dispatch", "args": {"unit": "Condamine/ambulance0", "incident": incident}}
    assert _get(base, "/api/act", body, token=token)[0] == 200
    before = state["time"]
    assert _get(base, "/api/clock", {"step": True}, token=token)[0] == 200
    state = json.loads(_get(base, "/api/state", token=token)[1])
    assert state["time"] == before + 60.0
    unit = next(u for u in state["units"] if u["name"] == "Condamine/ambulance0")
    assert unit["state"] in {"dispatched", "on_scene"}
    assert unit["incident"] == incident
    kinds = [(a["kind"], a["by"]) for a in state["log"]][-2:]
    assert kinds == [("incident", "trainer"), ("dispatch", "trainee")]


def test_trainee_token_has_no_inject_menu_and_no_clock(local):
    """The view is the token's: the trainee's token gets no inject menu even when asking
    ``?view=trainer``, and its inject, clock, checkpoint and rewind are refused."""
    app, base = local
    trainee = json.loads(_get(base, "/api/state?view=trainer", token=app.trainee_token)[1])
    trainer = json.loads(_get(base, "/api/state", token=app.token)[1])
    assert (trainee["view"], trainer["view"]) == ("trainee", "trainer")
    assert "incident" in trainer["actions"]
    assert "incident" not in trainee["actions"]
    assert "dispatch" in trainee["actions"]
    n = len(app.session.all_actions())
    body = {"kind": "incident", "args": {"type": "medical", "location": PLACE}}
    status, raw = _get(base, "/api/act?view=trainer", body, token=app.trainee_token)
    assert status == 400
    assert "trainer's inject" in json.loads(raw)["error"]
    for path in ("/api/clock", "/api/checkpoint", "/api/rewind"):
        assert _get(base, path, {"step": True}, token=app.trainee_token)[0] == 403
    assert len(app.session.all_actions()) == n
    assert app.session.refused[-1].kind == "incident"


def test_long_poll_answers_when_the_state_changes(local):
    """``/api/state?after=N`` with N the current version answers after a step (version
    N + 1, the clock 60 s on), not before; with an older N at once."""
    app, base = local
    token = app.token
    state = json.loads(_get(base, "/api/state", token=token)[1])
    got: list[dict] = []
    after = f"/api/state?after={state['version']}"
    poll = threading.Thread(
        target=lambda: got.append(json.loads(_get(base, after, token=token)[1]))
    )
    poll.start()
    assert _get(base, "/api/clock", {"step": True}, token=token)[0] == 200
    poll.join(timeout=120)
    assert got
    assert got[0]["version"] > state["version"]
    assert got[0]["time"] == state["time"] + 60.0
    again = json.loads(_get(base, after, token=token)[1])
    assert again["version"] == got[0]["version"]


def test_map_png_is_an_image_of_the_city(local):
    from io import BytesIO

    from PIL import Image

    _, base = local
    status, raw = _get(base, "/api/map.png")
    assert status == 200
    with Image.open(BytesIO(raw)) as image:
        assert image.format == "PNG"
        assert min(image.size) > 100


def test_scene_shows_the_drills_closed_roads_in_3d(local):
    """``/api/scene.html`` is the offline 3-D page of the state now, its scripts allowed by
    hash in the header too: after a road closure by the trainee, its roads hold -1 on
    exactly the links the drill closed, indexed as the twin's drive links (the map and
    the scene drew the whole road graph, 753 links, against the twin's 673 before)."""
    import base64
    import re

    import numpy as np

    app, base = local
    token = app.token
    if not app.session.closed_drive.any():
        body = {"kind": "close_road", "args": {"location": PLACE}}
        assert _get(base, "/api/act", body, token=token)[0] == 200
    closed = app.session.closed_drive | app.session.twin.exchange.closed_cars
    pack, state = app.picture()
    assert pack.links("drive").n_links == closed.size == state.closed.size
    request = urllib.request.Request(base + "/api/scene.html", headers={"X-Drill-Token": token})
    with urllib.request.urlopen(request, timeout=300) as response:
        csp = response.headers["Content-Security-Policy"]
        text = response.read().decode()
    assert "script-src 'sha256-" in csp
    assert "frame-ancestors 'self'" in csp
    assert re.search(r"""(src|href)=["']?https?:""", text) is None
    raw = re.search(r'<script id="twin-data" type="application/json">(.*?)</script>', text, re.S)
    data = json.loads(raw.group(1))
    roads = np.frombuffer(base64.b64decode(data["roads"][0]), dtype="<f4")
    assert roads.size == closed.size
    assert np.array_equal(roads == -1, closed)


def test_with_a_host_every_request_needs_the_token(local):
    """--host given: the state and the page are refused without the token (403), served
    with it (header or ?token=)."""
    from viz.drill.app import DrillApp

    app = DrillApp(local[0].session, token_everywhere=True)
    server, base = _serve(app)
    try:
        assert _get(base, "/")[0] == 403
        assert _get(base, "/api/state")[0] == 403
        assert _get(base, "/api/state", token="wrong")[0] == 403
        assert _get(base, "/api/state", token=app.token)[0] == 200
        assert _get(base, f"/?token={app.token}")[0] == 200
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def mutual_aid_log(tmp_path_factory):
    """A log: a held call at 1 min answered with mutual aid 20 min away (past the end)."""
    from twin.drill import write_log

    s = flash_flood_drill(UNTIL)
    s.run_to(60.0)
    s.act("incident", {"type": "medical", "location": PLACE}, by="trainer")
    s.act("mutual_aid", {"incident": 0, "unit_type": "ambulance", "delay": "20 min"})
    s.run_to(UNTIL)
    path = write_log(s.log(), tmp_path_factory.mktemp("drill") / "drill.yaml")
    return path, s.kpis()


def test_cli_replay_prints_the_drill_kpis(mutual_aid_log):
    """``twin drill --replay LOG`` prints the KPIs the drill ended with (6 significant
    digits, as printed)."""
    from typer.testing import CliRunner

    from twin.cli import _register, app

    path, kpis = mutual_aid_log
    _register()
    result = CliRunner().invoke(app, ["drill", "--replay", str(path)])
    assert result.exit_code == 0, result.output
    printed = dict(line.split(": ") for line in result.output.strip().splitlines())
    assert printed["unserved_incidents"] == f"{kpis['unserved_incidents']:.6g}" == "1"


def test_slow_mutual_aid_costs_minutes_against_the_automatic_dispatch(mutual_aid_log):
    """Mutual aid 20 min away, against the plan's dispatcher sending a local ambulance:
    the call waits from 1 min to the end (4 min) with it; the delay attributable is
    positive and under those 4 min."""
    from viz.drill.aar import score_decisions

    scores, left = score_decisions(mutual_aid_log[0])
    assert left == 0
    assert len(scores) == 1
    score = scores[0]
    assert score["kind"] == "mutual_aid"
    assert score["with_min"] == pytest.approx(4.0)  # exact in s; approx for /60 rounding
    assert 0.0 < score["delay_min"] <= 4.0


def test_after_action_report_is_self_contained(mutual_aid_log, tmp_path):
    """``twin drill --report LOG -o aar.html``: timeline, KPI table (drill: 1 unserved;
    automatic: 0), the decision's delay, the map inlined; no external reference."""
    import re

    from typer.testing import CliRunner

    from twin.cli import _register, app

    _register()
    out = tmp_path / "aar.html"
    result = CliRunner().invoke(app, ["drill", "--report", str(mutual_aid_log[0]), "-o", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    for section in ("timeline", "kpis", "decisions", "map", "credit"):
        assert f'id="{section}"' in html
    assert "mutual_aid" in html
    assert "incident" in html
    row = re.search(r"<td>unserved_incidents</td><td>([^<]*)</td><td>([^<]*)</td>", html)
    assert row is not None
    assert row.groups() == ("1", "0")
    assert "data:image/png;base64," in html
    assert not re.search(r"(src|href)=\"(?!data:)", html)


def test_cli_refuses_an_unknown_tier(tmp_path):
    """``twin drill SCENARIO --plan TIERED --tier North``: a message naming the field and
    the plan's jurisdictions, no traceback, before anything is served."""
    from typer.testing import CliRunner

    from twin.cli import _register, app

    plan = tmp_path / "tiered.yaml"
    tiered = ROOT / "scenarios" / "plans" / "monaco_tiered.yaml"
    plan.write_text(tiered.read_text() + "\nopen_candidates: true\n")
    _register()
    args = ["drill", str(FLASH_FLOOD), "--plan", str(plan), "--resolution", "30", "--until",
            "5 min", "--tier", "North", "--port", "0"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert "no jurisdiction 'North'" in result.output
    assert "West" in result.output
    assert "Traceback" not in result.output
