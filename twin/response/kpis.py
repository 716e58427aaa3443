"""The event log of a response run and the KPIs computed from it.

Every state change is one :class:`LogEvent`. :func:`kpis_from_log` recomputes the KPIs from
the log alone; the model computes them from its live objects (:meth:`ResponseModel.kpis`),
and the two must agree: the log is complete.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from twin.atomic import atomic_path

EVENTS: dict[str, str] = {
    "call": "a call (incident, node; detail: type; value: priority)",
    "state": "a unit's state change (unit, node, incident or -1; detail: the new state)",
    "unreachable": "a unit cannot reach where it was going (unit, node; detail: why)",
    "unserved": "no unit will reach a call (incident, node; detail: reason)",
    "divert": "nearest hospital full, another taken (unit, node: hospital; detail: its name)",
    "overflow": "every hospital full (unit, node: hospital taken; detail: its name)",
    "no_hospital": "the map has no hospital: patients are not transported and hospital "
    "overflow is not computed (once, at the start)",
    "untransported": "a patient who needs a hospital stays at the scene: the map has none "
    "(unit, incident, node)",
    "coverage": "share of residents covered by a free unit (detail: unit type; value: share)",
    "signal": "a hazard signal (node; detail: kind; value: count)",
    "roads": "the road state changed (value: number of closed links)",
    "move_up": "a parked unit moves to another station (unit, node: station; detail: name)",
    "mutual_aid": "a unit from outside the plan is sent (incident, node; detail: unit type;"
    " value: its travel time, s)",
    "aid_arrival": "the mutual-aid unit arrives (incident, node; detail: unit type)",
    "escalate": "a waiting request moves up the tiered ladder (incident, node; detail: "
    "'<unit type> -> <rung>'; value: the rung's index)",
}
"""Event kinds of the log and what their fields hold (-1: not applicable)."""


class LogEvent(NamedTuple):
    """One line of the event log (see :data:`EVENTS`)."""

    time: float
    """When (s since the run start)."""
    event: str
    """Kind, a key of :data:`EVENTS`."""
    unit: int
    """Unit id, or -1."""
    incident: int
    """Incident id, or -1."""
    node: int
    """Road node index, or -1."""
    detail: str
    """Type, state, reason or name, by kind."""
    value: float
    """Priority, share or count, by kind; 0 if unused."""


NO_HOSPITAL = "no hospital on the map"
"""Why patients are not transported and hospital overflow is not computed."""


def write_log(
    events: list[LogEvent],
    path: Path | str,
    *,
    nodes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> Path:
    """Write the log as CSV (to a temporary name, renamed when complete).

    Parameters
    ----------
    events
        The log.
    path
        The CSV file.
    nodes
        ``(osm_id, lon, lat)``, each (N,) over the road node indices: the CSV then has
        ``lon``, ``lat`` (degrees, WGS 84) and ``osm_node`` columns after ``node``, empty
        for events without a node.
    """
    path = Path(path)
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        if nodes is None:
            writer.writerow(LogEvent._fields)
            writer.writerows(events)
            return path
        osm_id, lon, lat = nodes
        fields = list(LogEvent._fields)
        at = fields.index("node") + 1
        writer.writerow([*fields[:at], "lon", "lat", "osm_node", *fields[at:]])
        for event in events:
            n = event.node
            place = [f"{lon[n]:.7f}", f"{lat[n]:.7f}", int(osm_id[n])] if n >= 0 else ["", "", ""]
            writer.writerow([*event[:at], *place, *event[at:]])
    return path


@dataclass(frozen=True)
class ResponseKpis:
    """KPIs of one run. Times in s; shares 0-1; percentiles over served incidents.

    Attributes
    ----------
    incidents, served, unserved
        Calls, calls a unit reached, calls no unit reached.
    unserved_reasons
        Count of unserved calls by reason.
    late
        Served calls whose response time exceeded their priority's target.
    response_p50, response_p90
        Median and 90th percentile of call-to-first-arrival (s); NaN if none served.
    response_p90_by_priority
        90th percentile of call-to-first-arrival by priority (s), over served calls.
    within_target_by_priority, within_target_by_type
        Share of calls (served or not) reached within their priority's target.
    utilisation
        Share of the horizon each unit was not ``available`` (by unit id).
    coverage_mean, coverage_min
        Mean and lowest share of residents within the priority-1 target of a free unit, by
        unit type, over the coverage samples.
    hospital_overflow, diversions
        Patients brought while every hospital was full (None when the map has no hospital:
        not computed, see ``hospital_note``); trips diverted past a full one.
    untransported
        Patients who needed a hospital and stayed at the scene because the map has none.
    hospital_note
        Why ``hospital_overflow`` is None (:data:`NO_HOSPITAL`), else None.
    """

    incidents: int
    served: int
    unserved: int
    unserved_reasons: dict[str, int]
    late: int
    response_p50: float
    response_p90: float
    response_p90_by_priority: dict[int, float]
    within_target_by_priority: dict[int, float]
    within_target_by_type: dict[str, float]
    utilisation: tuple[float, ...]
    coverage_mean: dict[str, float]
    coverage_min: dict[str, float]
    hospital_overflow: int | None
    diversions: int
    untransported: int = 0
    hospital_note: str | None = None

    def as_dict(self) -> dict:
        """Plain dict (for JSON)."""
        return asdict(self)


def summarize(
    calls: list[tuple[int, str, int, float]],
    arrivals: dict[int, float],
    unserved: dict[int, str],
    busy: list[float],
    coverage: dict[str, list[float]],
    overflow: int,
    diversions: int,
    horizon: float,
    targets: tuple[float, float, float],
    *,
    untransported: int = 0,
    hospitals: bool = True,
) -> ResponseKpis:
    """KPIs from the facts of a run.

    Parameters
    ----------
    calls
        ``(incident id, type, priority, call time)`` of every call.
    arrivals
        First arrival time (s) by incident id.
    unserved
        Reason by incident id for calls no unit reached.
    busy
        Busy time (s) of each unit up to ``horizon``.
    coverage
        Coverage samples by unit type.
    overflow, diversions
        Hospital counts.
    horizon
        Length of the run (s).
    targets
        Target response time of priorities 1, 2, 3 (s).
    untransported
        Patients left at the scene for want of a hospital.
    hospitals
        Whether the map has a hospital (else overflow is not computed: None).
    """
    response = {i: arrivals[i] - t for i, _, _, t in calls if i in arrivals}
    times = np.array(sorted(response.values()))
    within: dict[str, list[bool]] = defaultdict(list)
    by_priority: dict[int, list[bool]] = defaultdict(list)
    late = 0
    for i, type_, priority, _ in calls:
        ok = i in response and response[i] <= targets[priority - 1]
        late += i in response and not ok
        within[type_].append(ok)
        by_priority[priority].append(ok)
    by_priority_times: dict[int, list[float]] = defaultdict(list)
    for i, _, priority, _ in calls:
        if i in response:
            by_priority_times[priority].append(response[i])
    reasons: dict[str, int] = defaultdict(int)
    for reason in unserved.values():
        reasons[reason] += 1
    return ResponseKpis(
        incidents=len(calls),
        served=len(response),
        unserved=len(unserved),
        unserved_reasons=dict(sorted(reasons.items())),
        late=int(late),
        response_p50=float(np.percentile(times, 50)) if len(times) else float("nan"),
        response_p90=float(np.percentile(times, 90)) if len(times) else float("nan"),
        response_p90_by_priority={
            p: float(np.percentile(v, 90)) for p, v in sorted(by_priority_times.items())
        },
        within_target_by_priority={p: float(np.mean(v)) for p, v in sorted(by_priority.items())},
        within_target_by_type={t: float(np.mean(v)) for t, v in sorted(within.items())},
        utilisation=tuple(float(b / horizon) for b in busy),
        coverage_mean={t: float(np.mean(v)) for t, v in sorted(coverage.items()) if v},
        coverage_min={t: float(np.min(v)) for t, v in sorted(coverage.items()) if v},
        hospital_overflow=int(overflow) if hospitals else None,
        diversions=int(diversions),
        untransported=int(untransported),
        hospital_note=None if hospitals else NO_HOSPITAL,
    )


def busy_times(events: list[LogEvent], n_units: int, start: float, end: float) -> np.ndarray:
    """Time each unit spent outside ``available``/``out_of_service`` within ``[start, end]``
    (s), from the log's state events."""
    busy = np.zeros(n_units)
    since = np.zeros(n_units)
    idle = np.ones(n_units, dtype=bool)
    for ev in events:
        if ev.event != "state":
            continue
        u, t = ev.unit, min(max(ev.time, start), end)
        if not idle[u]:
            busy[u] += t - since[u]
        since[u], idle[u] = t, ev.detail in ("available", "out_of_service")
    busy[~idle] += end - since[~idle]
    return busy


def kpis_from_log(
    events: list[LogEvent], n_units: int, horizon: float, targets: tuple[float, float, float]
) -> ResponseKpis:
    """Replay a log into KPIs (see :func:`summarize`)."""
    calls: list[tuple[int, str, int, float]] = []
    arrivals: dict[int, float] = {}
    unserved: dict[int, str] = {}
    coverage: dict[str, list[float]] = defaultdict(list)
    overflow = diversions = untransported = 0
    hospitals = True
    for ev in events:
        if ev.event == "call":
            calls.append((ev.incident, ev.detail, int(ev.value), ev.time))
        elif (ev.event == "state" and ev.detail == "on_scene") or ev.event == "aid_arrival":
            if ev.incident not in arrivals and ev.incident not in unserved:
                arrivals[ev.incident] = ev.time
        elif ev.event == "unserved":
            unserved[ev.incident] = ev.detail
        elif ev.event == "coverage":
            coverage[ev.detail].append(ev.value)
        elif ev.event == "overflow":
            overflow += 1
        elif ev.event == "divert":
            diversions += 1
        elif ev.event == "untransported":
            untransported += 1
        elif ev.event == "no_hospital":
            hospitals = False
    busy = busy_times(events, n_units, 0.0, horizon).tolist()
    return summarize(
        calls,
        arrivals,
        unserved,
        busy,
        coverage,
        overflow,
        diversions,
        horizon,
        targets,
        untransported=untransported,
        hospitals=hospitals,
    )
