"""CAP 1.2 export: required elements in the schema's order, value formats, message chains.

The element orders below are copied from the OASIS CAP 1.2 specification (section 3.2,
"alert", "info" and "area" element sequences of the XML schema), not from twin.coupling.cap,
so a change of the writer's order fails here.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from twin.coupling.cap import CapArea, cap_alert, cap_messages, cap_time, write_cap
from twin.coupling.triggers import TriggerSet

NS = "{urn:oasis:names:tc:emergency:cap:1.2}"
ALERT_ORDER = [
    "identifier", "sender", "sent", "status", "msgType", "source", "scope", "restriction",
    "addresses", "code", "note", "references", "incidents", "info",
]  # fmt: skip
INFO_ORDER = [
    "language", "category", "event", "responseType", "urgency", "severity", "certainty",
    "audience", "eventCode", "effective", "onset", "expires", "senderName", "headline",
    "description", "instruction", "web", "contact", "parameter", "resource", "area",
]  # fmt: skip
AREA_ORDER = ["areaDesc", "polygon", "circle", "geocode", "altitude", "ceiling"]
REQUIRED = {
    "alert": ["identifier", "sender", "sent", "status", "msgType", "scope"],
    "info": ["category", "event", "urgency", "severity", "certainty"],
    "area": ["areaDesc"],
}
CAP_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")  # no Z (3.3.2)
MONACO = CapArea("Monaco", polygon=[(7.40, 43.72), (7.44, 43.72), (7.44, 43.75), (7.40, 43.75)])
PORT = {"name": "Port Hercule", "polygon": [[7.418, 43.733], [7.424, 43.733], [7.421, 43.737]]}
START = datetime(2024, 10, 17, 14, 0, tzinfo=UTC)


def _warnings(*steps: tuple[float, float]) -> list:
    """Warnings of a set that goes yellow at 0.2 m, red at 0.6 m for the port, clears at 0."""
    ts = TriggerSet.from_data(
        [
            {"when": "max_depth_m > 0.2", "then": [{"warning": {"level": "yellow", "area": PORT}}]},
            {
                "when": "max_depth_m > 0.6 for 10 min",
                "then": [{"warning": {"level": "red", "area": PORT, "message": "Go upstairs"}}],
            },
            {
                "when": "forecast:rain_mm_h@30min > 20 mm/h",
                "then": [{"warning": {"level": "orange"}}],
            },
            {
                "when": "max_depth_m <= 0.0",
                "then": [{"warning": {"level": "none", "area": PORT, "lower": True}}],
            },
        ]
    )
    for t, depth in steps:
        ts.update(t, {"max_depth_m": depth, "forecast:rain_mm_h@1800s": 0.0})
    return ts.board.issued


def _parse(xml: str) -> ET.Element:
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(xml.encode("utf-8"))
    assert root.tag == NS + "alert"
    return root


def _check_order(element: ET.Element, order: list[str], what: str) -> list[str]:
    names = [child.tag.removeprefix(NS) for child in element]
    assert all(n in order for n in names), (what, names)
    positions = [order.index(n) for n in names]
    assert positions == sorted(positions), (what, names)
    for name in REQUIRED[what]:
        assert names.count(name) == 1, (what, name, names)
    return names


def _text(element: ET.Element, path: str) -> str:
    found = element.find("/".join(NS + p for p in path.split("/")))
    assert found is not None, path
    return found.text or ""


def test_alert_has_the_required_elements_in_the_specs_order() -> None:
    """alert, info and area: every required element once, all in the schema's sequence."""
    (warning,) = _warnings((0.0, 0.3))
    root = _parse(cap_alert(warning, "twin@example.org", START, status="Exercise"))
    _check_order(root, ALERT_ORDER, "alert")
    (info,) = root.findall(NS + "info")
    _check_order(info, INFO_ORDER, "info")
    (area,) = info.findall(NS + "area")
    _check_order(area, AREA_ORDER, "area")
    assert _text(root, "status") == "Exercise"
    assert _text(root, "msgType") == "Alert"
    assert _text(root, "scope") == "Public"
    assert _text(root, "sender") == "twin@example.org"
    assert _text(info, "category") == "Met"
    assert _text(info, "event") == "Flooding"
    assert _text(area, "areaDesc") == "Port Hercule"


@pytest.mark.parametrize(
    ("depths", "level", "severity", "urgency"),
    [
        ([0.3], "yellow", "Moderate", "Expected"),
        ([0.7] * 11, "red", "Extreme", "Immediate"),
    ],
)
def test_severity_and_urgency_follow_the_level(depths, level, severity, urgency) -> None:
    """yellow -> Moderate/Expected, red -> Extreme/Immediate; observed signal -> Observed."""
    warning = _warnings(*((60.0 * k, d) for k, d in enumerate(depths)))[-1]
    assert warning.level == level
    info = _parse(cap_alert(warning, "twin", START)).find(NS + "info")
    assert (_text(info, "severity"), _text(info, "urgency")) == (severity, urgency)
    assert _text(info, "certainty") == "Observed"


def test_forecast_warning_is_likely_and_needs_an_area() -> None:
    """A whole-map warning from a forecast: certainty Likely; CAP needs the map's outline."""
    ts = TriggerSet.from_data(
        [{"when": "forecast:rain_mm_h@30min > 20", "then": [{"warning": {"level": "orange"}}]}]
    )
    ts.update(0.0, {"forecast:rain_mm_h@1800s": 25.0})
    (warning,) = ts.board.issued
    with pytest.raises(ValueError, match="outline"):
        cap_alert(warning, "twin", START)
    info = _parse(cap_alert(warning, "twin", START, MONACO)).find(NS + "info")
    assert _text(info, "certainty") == "Likely"
    assert _text(info, "severity") == "Severe"
    assert _text(info, "event") == "Heavy rain"


def test_polygon_is_a_closed_ring_of_lat_lon_pairs() -> None:
    """CAP writes "lat,lon" pairs, at least 4, the first repeated last."""
    (warning,) = _warnings((0.0, 0.3))
    polygon = _text(_parse(cap_alert(warning, "twin", START)), "info/area/polygon")
    pairs = [tuple(map(float, p.split(","))) for p in polygon.split(" ")]
    assert len(pairs) == 4
    assert pairs[0] == pairs[-1]
    assert pairs[:3] == [(43.733, 7.418), (43.733, 7.424), (43.737, 7.421)]


def test_circle_is_lat_lon_and_radius_in_km() -> None:
    """A circular warning area: "lat,lon radius" with the radius in km."""
    ts = TriggerSet.from_data(
        [
            {
                "when": "max_depth_m > 0.2",
                "then": [
                    {
                        "warning": {
                            "level": "blue",
                            "area": {"name": "Stade", "center": [7.415, 43.728], "radius": "800 m"},
                        }
                    }
                ],
            }
        ]
    )
    ts.update(0.0, {"max_depth_m": 0.5})
    area = _parse(cap_alert(ts.board.issued[0], "twin", START)).find(f"{NS}info/{NS}area")
    assert _check_order(area, AREA_ORDER, "area") == ["areaDesc", "circle"]
    assert _text(area, "circle") == "43.728000,7.415000 0.800"


def test_sent_has_an_explicit_offset_and_utc_is_minus_zero() -> None:
    """CAP 1.2 times carry an offset; UTC is written -00:00, never Z; naive is refused."""
    (warning,) = _warnings((0.0, 0.3))
    sent = _text(_parse(cap_alert(warning, "twin", cap_time(START, 90.0))), "sent")
    assert sent == "2024-10-17T14:01:30-00:00"
    assert CAP_DATETIME.match(sent)
    paris = datetime(2024, 10, 17, 16, 0, tzinfo=timezone(timedelta(hours=2)))
    assert _text(_parse(cap_alert(warning, "twin", paris)), "sent") == "2024-10-17T16:00:00+02:00"
    with pytest.raises(ValueError, match="time zone"):
        cap_alert(warning, "twin", datetime(2024, 10, 17, 14, 0))
    assert cap_time(None, 60.0) == datetime(1970, 1, 1, 0, 1, tzinfo=UTC)


def test_sender_and_identifier_may_not_hold_spaces_or_commas() -> None:
    """CAP forbids spaces, commas and < & in sender and identifier."""
    (warning,) = _warnings((0.0, 0.3))
    with pytest.raises(ValueError, match="sender"):
        cap_alert(warning, "twin city", START)
    with pytest.raises(ValueError, match="identifier"):
        cap_alert(warning, "twin", START, identifier="a,b")


def test_messages_chain_alert_update_cancel() -> None:
    """Yellow, then red (Update naming the yellow), then all-clear (Cancel naming both)."""
    warnings = _warnings(
        *[(60.0 * k, 0.3) for k in range(2)],
        *[(60.0 * k, 0.7) for k in range(2, 13)],
        (780.0, 0.0),
    )
    assert [w.level for w in warnings] == ["yellow", "red", "none"]
    messages = cap_messages(warnings, "twin@example.org", START, MONACO)
    roots = [_parse(xml) for _, xml in messages]
    assert [_text(r, "msgType") for r in roots] == ["Alert", "Update", "Cancel"]
    assert roots[0].find(NS + "references") is None
    first = f"twin@example.org,{messages[0][0]},{_text(roots[0], 'sent')}"
    second = f"twin@example.org,{messages[1][0]},{_text(roots[1], 'sent')}"
    assert _text(roots[1], "references") == first
    assert _text(roots[2], "references") == f"{first} {second}"
    assert [_text(r, "sent") for r in roots] == [
        "2024-10-17T14:00:00-00:00",
        "2024-10-17T14:12:00-00:00",
        "2024-10-17T14:13:00-00:00",
    ]
    for root in roots:
        _check_order(root, ALERT_ORDER, "alert")
    assert "Go upstairs" in _text(roots[1], "info/instruction")


def test_write_cap_writes_one_file_per_message(tmp_path: Path) -> None:
    """Files named by identifier, each parsing as a CAP alert; no temporary left."""
    messages = cap_messages(_warnings((0.0, 0.3)), "twin", START, MONACO)
    paths = write_cap(tmp_path / "cap", messages)
    assert [p.name for p in paths] == ["twin-1-20241017T140000.xml"]
    assert sorted(p.name for p in (tmp_path / "cap").iterdir()) == [paths[0].name]
    _parse(paths[0].read_text(encoding="utf-8"))
