"""The report opens in headless Chromium (Debian's, driven by Playwright): no console
errors, no request leaves the file, every section present, every image decoded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.viz.test_report import SECTIONS

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium; skipped (with the reason) only when it or Playwright is
    missing and TWIN_REQUIRE_BROWSER is not set (.ci/run sets it)."""
    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"{CHROMIUM} (make viz-browser)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing.append("the playwright package (pip install -e .[test])")
    if missing:
        message = "no headless browser: missing " + " and ".join(missing)
        if os.environ.get("TWIN_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


def _open(browser, path: Path) -> dict:
    page = browser.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri(), wait_until="load")
    found = {s: page.locator(f"#{s}").count() for s in SECTIONS}
    widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete && i.naturalWidth)")
    page.close()
    return {"errors": errors, "requests": requests, "sections": found, "widths": widths}


@pytest.mark.parametrize("target", ["flood", "respond", "study.duckdb"])
def test_report_opens_offline_in_headless_chromium(browser, outputs, tmp_path, target):
    from viz.report import write_report

    path = write_report(outputs / target, tmp_path / "report.html")
    seen = _open(browser, path)
    assert seen["errors"] == []
    assert seen["requests"] == [path.as_uri()]  # the file itself, nothing else
    assert all(n == 1 for n in seen["sections"].values()), seen["sections"]
    assert len(seen["widths"]) >= 1
    assert all(w > 0 for w in seen["widths"]), seen["widths"]
