"""Warnings as CAP 1.2 messages (OASIS Common Alerting Protocol, Version 1.2, 2010).

:func:`cap_alert` writes one :class:`~twin.coupling.triggers.IssuedWarning` as a CAP
``<alert>``: its elements in the order of the CAP 1.2 schema (``alert``: identifier, sender,
sent, status, msgType, scope, references, info; ``info``: language, category, event,
urgency, severity, certainty, senderName, headline, description, instruction, area;
``area``: areaDesc, polygon, circle). :func:`cap_messages` writes a run's warnings with
msgType *Alert* for an area's first warning, *Update* for later ones (``references``
naming the earlier messages of that area) and *Cancel* for an all-clear (level ``none``;
a warning after it starts a new *Alert*);
:func:`write_cap` writes them beside a run, atomically.

Level to CAP (the colour scale of Meteoalarm and China's warning signals, blue lowest):

========  ===========  ==========
level     severity     urgency
========  ===========  ==========
blue      Minor        Future
yellow    Moderate     Expected
orange    Severe       Immediate
red       Extreme      Immediate
none      Minor        Past        (an all-clear, msgType Cancel)
========  ===========  ==========

Certainty is *Likely* for a warning caused by a forecast, *Observed* otherwise; category
*Met* for flood and rain signals, *Safety* for the others.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from twin.atomic import write_text
from twin.coupling.triggers import IssuedWarning

__all__ = [
    "CAP_NAMESPACE",
    "CapArea",
    "cap_alert",
    "cap_messages",
    "cap_time",
    "write_cap",
]

CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
"""The XML namespace of CAP 1.2 messages."""

SEVERITY = {
    "none": "Minor",
    "blue": "Minor",
    "yellow": "Moderate",
    "orange": "Severe",
    "red": "Extreme",
}
"""CAP severity of each warning level."""
URGENCY = {
    "none": "Past",
    "blue": "Future",
    "yellow": "Expected",
    "orange": "Immediate",
    "red": "Immediate",
}
"""CAP urgency of each warning level."""

_RESTRICTED = re.compile(r"[\s,<&]")


@dataclass(frozen=True)
class CapArea:
    """A CAP area: a description and a polygon or a circle, in WGS84 longitude/latitude.

    Parameters
    ----------
    description
        areaDesc, e.g. ``"Fontvieille"``.
    polygon
        Corners ``[(lon, lat), ...]`` (at least 3); closed in the message if open.
    center
        Centre ``(lon, lat)`` of a circle, with ``radius``.
    radius
        Radius of the circle (m; written in km as CAP wants).
    """

    description: str
    polygon: Sequence[tuple[float, float]] | None = None
    center: tuple[float, float] | None = None
    radius: float | None = None

    def __post_init__(self) -> None:
        if (self.polygon is None) == (self.center is None):
            raise ValueError("a CAP area needs a polygon or a circle (center and radius)")
        if self.center is not None and (self.radius is None or not self.radius > 0):
            raise ValueError("a CAP circle needs a radius > 0 (m)")
        if self.polygon is not None and len(self.polygon) < 3:
            raise ValueError("a CAP polygon needs at least 3 corners")
        points = list(self.polygon or []) + ([self.center] if self.center else [])
        for lon, lat in points:
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise ValueError(f"({lon}, {lat}) is not a longitude/latitude in degrees")

    @classmethod
    def of(cls, warning: IssuedWarning) -> CapArea | None:
        """The area a warning names, or ``None`` for a whole-map warning."""
        area = warning.area
        if area is None:
            return None
        if area.polygon is not None:
            return cls(area.name, polygon=[tuple(p) for p in area.polygon])
        return cls(area.name, center=tuple(area.center), radius=area.radius)

    def ring(self) -> str:
        """The polygon as CAP writes it: ``"lat,lon lat,lon ..."``, first pair repeated last."""
        points = [(lat, lon) for lon, lat in self.polygon or ()]
        if points[0] != points[-1]:
            points.append(points[0])
        return " ".join(f"{lat:.6f},{lon:.6f}" for lat, lon in points)

    def circle(self) -> str:
        """The circle as CAP writes it: ``"lat,lon radius_km"``."""
        lon, lat = self.center
        return f"{lat:.6f},{lon:.6f} {self.radius / 1000.0:.3f}"


def cap_time(start: datetime | None, t: float) -> datetime:
    """The clock time of a run time: ``start + t``.

    Parameters
    ----------
    start
        The scenario's ``time.start``; a time without zone is read as UTC; ``None`` (no
        start given) is the Unix epoch, so that messages stay byte-for-byte reproducible.
    t
        Seconds since the scenario start.
    """
    base = start or datetime(1970, 1, 1, tzinfo=UTC)
    if base.tzinfo is None:
        base = base.replace(tzinfo=UTC)
    return base + timedelta(seconds=float(t))


def _cap_datetime(when: datetime) -> str:
    """CAP 1.2 dateTime: seconds, explicit offset, UTC as ``-00:00`` (no ``Z``)."""
    if when.tzinfo is None:
        raise ValueError("a CAP time needs a time zone (see cap_time)")
    text = when.replace(microsecond=0).isoformat()
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


def _check_token(value: str, what: str) -> str:
    if not value or _RESTRICTED.search(value):
        raise ValueError(f"a CAP {what} may not be empty or hold spaces, commas, < or &: {value!r}")
    return value


def cap_alert(
    warning: IssuedWarning,
    sender: str,
    sent: datetime,
    area: CapArea | None = None,
    *,
    status: str = "Exercise",
    identifier: str | None = None,
    references: Sequence[str] = (),
    msg_type: str | None = None,
    sender_name: str = "twin city digital twin",
    language: str = "en-GB",
) -> str:
    """One warning as a CAP 1.2 XML message.

    Parameters
    ----------
    warning
        The warning (a change of level in an area).
    sender
        Who sends it, e.g. ``"twin@example.org"`` (no spaces, commas, < or &).
    sent
        When, with a time zone (see :func:`cap_time`).
    area
        Where; default the warning's own area (required for a whole-map warning: the map's
        outline, say).
    status
        ``Actual`` for a real warning, ``Exercise`` (default: a simulated run) or another
        CAP status (``System``, ``Test``, ``Draft``).
    identifier
        Unique id of the message; default ``twin-<sequence>-<sent as YYYYMMDDTHHMMSS>``.
    references
        Earlier messages this one updates or cancels, each ``"sender,identifier,sent"``.
    msg_type
        ``Alert``, ``Update`` or ``Cancel``; default ``Cancel`` for an all-clear, else
        ``Update`` with ``references`` and ``Alert`` without.
    sender_name
        Human-readable sender (CAP senderName).
    language
        Language of the texts (RFC 3066 code).

    Returns
    -------
    str
        The XML document (UTF-8 declaration, ``alert`` in the CAP 1.2 namespace).

    Raises
    ------
    ValueError
        For a naive ``sent``, a sender or identifier with a space or comma, an unknown
        status or msgType, or no area.
    """
    if status not in ("Actual", "Exercise", "System", "Test", "Draft"):
        raise ValueError(f"CAP status {status!r} is not one of Actual, Exercise, System, ...")
    area = area or CapArea.of(warning)
    if area is None:
        raise ValueError("a whole-map warning needs an area (the map's outline) for CAP")
    sent_text = _cap_datetime(sent)
    msg_type = msg_type or (
        "Cancel" if warning.level == "none" else "Update" if references else "Alert"
    )
    if msg_type not in ("Alert", "Update", "Cancel"):
        raise ValueError(f"CAP msgType {msg_type!r} is not Alert, Update or Cancel")
    if msg_type != "Alert" and not references:
        raise ValueError(f"a CAP {msg_type} message names the messages it follows (references)")
    identifier = identifier or _identifier(warning, sent)

    alert = ET.Element("alert", xmlns=CAP_NAMESPACE)
    _add(alert, "identifier", _check_token(identifier, "identifier"))
    _add(alert, "sender", _check_token(sender, "sender"))
    _add(alert, "sent", sent_text)
    _add(alert, "status", status)
    _add(alert, "msgType", msg_type)
    _add(alert, "scope", "Public")
    if references:
        _add(alert, "references", " ".join(references))
    info = ET.SubElement(alert, "info")
    _add(info, "language", language)
    _add(info, "category", warning.category)
    _add(info, "event", warning.event)
    _add(info, "urgency", URGENCY[warning.level])
    _add(info, "severity", SEVERITY[warning.level])
    _add(info, "certainty", "Likely" if warning.forecast else "Observed")
    _add(info, "senderName", sender_name)
    if warning.level == "none":
        headline = f"All clear: {warning.event} ({area.description})"
    else:
        headline = f"{warning.level.capitalize()} warning: {warning.event} ({area.description})"
    _add(info, "headline", headline)
    description = f"Level {warning.level} (was {warning.previous}). Cause: {warning.cause}."
    _add(
        info, "description", f"{warning.message}\n{description}" if warning.message else description
    )
    if warning.message:
        _add(info, "instruction", warning.message)
    area_el = ET.SubElement(info, "area")
    _add(area_el, "areaDesc", area.description)
    if area.polygon is not None:
        _add(area_el, "polygon", area.ring())
    else:
        _add(area_el, "circle", area.circle())
    ET.indent(alert, space="  ")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(alert, encoding="unicode") + "\n"
    )


def _add(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = text
    return element


def _identifier(warning: IssuedWarning, sent: datetime) -> str:
    return f"twin-{warning.sequence}-{sent:%Y%m%dT%H%M%S}"


def cap_messages(
    warnings: Sequence[IssuedWarning],
    sender: str,
    start: datetime | None,
    whole_map: CapArea,
    *,
    status: str = "Exercise",
) -> list[tuple[str, str]]:
    """A run's warnings as CAP messages, each updating or cancelling its area's earlier ones.

    Parameters
    ----------
    warnings
        The warnings in the order issued (``TriggerSet.board.issued``).
    sender
        Who sends them.
    start
        The scenario's start time (see :func:`cap_time`).
    whole_map
        The area of warnings that name none (the map's outline).
    status
        CAP status (default ``Exercise``).

    Returns
    -------
    list of (identifier, xml)
    """
    earlier: dict[str, list[str]] = {}
    out = []
    for warning in warnings:
        sent = cap_time(start, warning.time)
        identifier = _identifier(warning, sent)
        refs = earlier.setdefault(warning.area_name, [])
        msg_type = "Cancel" if warning.level == "none" else ("Update" if refs else "Alert")
        xml = cap_alert(
            warning,
            sender,
            sent,
            CapArea.of(warning) or whole_map,
            status=status,
            identifier=identifier,
            references=tuple(refs),
            msg_type=msg_type,
        )
        refs.append(f"{sender},{identifier},{_cap_datetime(sent)}")
        if msg_type == "Cancel":
            refs.clear()  # a later warning in this area starts a new Alert
        out.append((identifier, xml))
    return out


def write_cap(folder: Path | str, messages: Sequence[tuple[str, str]]) -> list[Path]:
    """Write CAP messages as ``<folder>/<identifier>.xml``, each atomically.

    Parameters
    ----------
    folder
        Where (created if needed), e.g. ``<run>/cap``.
    messages
        ``(identifier, xml)`` pairs from :func:`cap_messages`.
    """
    return [write_text(Path(folder) / f"{ident}.xml", xml) for ident, xml in messages]
