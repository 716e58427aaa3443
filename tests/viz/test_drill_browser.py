"""The drill page in headless Chromium (Debian's, driven by Playwright): play, inject a
call, dispatch a unit through the page, pause; the decision is in the log, the unit's
state changed, the 3-D view's frame holds the vtk.js canvas, no console errors, no request
leaves 127.0.0.1. The delays from the
server's change of state to the page showing it (``window.drillLatencies``) are recorded
as test properties (``update_delay_ms_*``, in the JUnit XML) and printed; they are not
asserted (wall-clock)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.viz.test_report_browser import browser  # noqa: F401 (the fixture)

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "monaco_flash_flood.yaml"

pytestmark = pytest.mark.usefixtures("monaco_env")


def test_play_inject_dispatch_pause_in_the_page(browser, record_property):  # noqa: F811
    from twin.drill import DrillSession
    from viz.drill.app import DrillApp, make_server, url

    session = DrillSession(SCENARIO, seed=1, resolution=30.0, until=600.0)
    app = DrillApp(session)
    server = make_server(app, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app.start()
    origin = f"http://127.0.0.1:{server.server_address[1]}/"
    page = browser.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(url(server, app), wait_until="load")
        page.wait_for_selector("#units tr:nth-child(2)", timeout=60_000)
        page.select_option("#speed", "60")
        page.click("#play")
        page.wait_for_selector("#playing:has-text('playing 60')", timeout=60_000)
        page.click("#inject-go")  # the menu's first inject: a medical call at the example place
        page.wait_for_selector("#incidents tr:nth-child(2)", timeout=60_000)
        page.select_option("#dispatch-unit", "Condamine/ambulance0")
        page.click("#dispatch-go")
        page.wait_for_selector("#log td:text-is('dispatch')", timeout=60_000)
        page.click("#pause")
        page.wait_for_selector("#playing:text-is('(paused)')", timeout=60_000)
        page.click("#map-refresh")
        page.wait_for_selector("#map-img[src^='blob:']", timeout=120_000)
        width = 0
        for _ in range(300):  # the blob decodes after its src is set
            width = page.eval_on_selector("#map-img", "img => img.complete && img.naturalWidth")
            if width:
                break
            page.wait_for_timeout(100)
        message = page.text_content("#message")
        delays = page.evaluate("window.drillLatencies")
        page.click("#scene-refresh")
        frame = page.frame_locator("#scene3d")
        frame.locator("#view3d canvas").first.wait_for(timeout=180_000)
        scene_title = page.frame_locator("#scene3d").locator("h1").text_content()
    finally:
        page.close()
        server.shutdown()
        server.server_close()
        app.stop()
    actions = session.all_actions()
    assert [(a.kind, a.by) for a in actions] == [("incident", "trainer"), ("dispatch", "trainee")]
    unit = next(u for u in session.state()["units"] if u["name"] == "Condamine/ambulance0")
    assert unit["state"] != "available"
    assert unit["incident"] == 0 or unit["state"] in {"returning", "at_hospital", "transporting"}
    assert delays  # the page saw steps arrive by long polling
    ordered = sorted(delays)
    for name, value in (("count", len(ordered)), ("median", ordered[len(ordered) // 2]),
                        ("max", ordered[-1])):  # fmt: skip
        record_property(f"update_delay_ms_{name}", value)
    print(f"update delay to the page (ms): median {ordered[len(ordered) // 2]:.0f}, "
          f"max {ordered[-1]:.0f}, {len(ordered)} updates")  # fmt: skip
    assert not app.playing
    assert width > 100
    assert errors == []
    assert message == ""
    assert requests
    assert scene_title.startswith("drill T+")
    local = (origin, "blob:" + origin, "data:")  # data: URLs (the viewer's icons) stay here
    assert all(r.startswith(local) for r in requests), requests
