"""KPI definitions: name, unit, which direction is better, and what each one measures.

Runs report KPIs as plain ``{name: float}`` dicts in SI units (s, shares 0-1, counts); this
module says what those numbers mean, so that statistics, tables and reports treat them
alike whatever model produced them. A run may report only some KPIs (the response model
alone reports no flood exposure); a KPI it does not report is absent, never zero.

>>> KPIS["response_time_p90"].unit
's'
>>> weighted_score({"response_time_p90": 600.0, "unserved_incidents": 2.0},
...                {"response_time_p90": 1.0, "unserved_incidents": 60.0})
720.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from twin.errors import Problem, UserInputError
from twin.scenario.options import KpiName

Better = Literal["lower", "higher"]


@dataclass(frozen=True)
class Kpi:
    """One key performance indicator.

    Attributes
    ----------
    name
        Key in run results (``response_time_p90``).
    unit
        SI unit of the stored value: ``s``, ``h``, ``share`` (0-1) or ``count``.
    better
        ``"lower"`` if smaller values are better, else ``"higher"``.
    label
        Short title for tables.
    doc
        What it measures, in one or two sentences.
    """

    name: str
    unit: str
    better: Better
    label: str
    doc: str

    @property
    def sign(self) -> float:
        """+1 if lower is better, -1 if higher is better (so ``sign * value``: lower wins)."""
        return 1.0 if self.better == "lower" else -1.0

    @property
    def display_unit(self) -> str:
        """Unit of :meth:`show`'s numbers: ``min`` for times, ``%`` for shares."""
        return {"s": "min", "share": "%", "h": "h"}.get(self.unit, "")

    def show(self, value: float | None, *, signed: bool = False, unit: bool = True) -> str:
        """Value in display units: minutes for times in s, % for shares.

        Parameters
        ----------
        value
            Value in the KPI's SI unit.
        signed
            Print a ``+`` on positive values (for differences).
        unit
            Append the display unit.
        """
        if value is None or not math.isfinite(value):
            return "-"
        scale = {"s": 1 / 60, "share": 100.0}.get(self.unit, 1.0)
        text = f"{value * scale:{'+' if signed else ''}.{1 if self.unit == 'share' else 2}f}"
        if unit and self.display_unit:
            text += f" {self.display_unit}"
        return text


_DEFS = [
    Kpi(
        "response_time_p50",
        "s",
        "lower",
        "response p50",
        "Median time from call to first unit on scene over served incidents (s).",
    ),
    Kpi(
        "response_time_p90",
        "s",
        "lower",
        "response p90",
        "90th percentile of call-to-first-arrival over served incidents (s); the usual "
        "headline of emergency response standards.",
    ),
    Kpi(
        "share_within_target",
        "share",
        "higher",
        "within target",
        "Share of all calls (served or not) reached within their priority's target "
        "(scenario objectives.targets), 0-1.",
    ),
    Kpi(
        "unserved_incidents",
        "count",
        "lower",
        "unserved",
        "Calls no unit reached by the end of the run (no unit of the needed type, "
        "unreachable, or still waiting).",
    ),
    Kpi(
        "people_exposed",
        "count",
        "lower",
        "people exposed",
        "Distinct people who were in hazardous water (Defra/EA FD2321 hazard rating "
        "d (v + 0.5) + DF at least the plan's hazard rating, default 0.75, 'danger for some') "
        "at any exchange of the coupled run, each counted once: walkers flagged the first "
        "time, plus the people aboard stranded vehicles (twin.coupling.vital_signs.Exposure).",
    ),
    Kpi(
        "evacuation_clearance_time",
        "s",
        "lower",
        "clearance time",
        "Time from the evacuation order until the last evacuee reached safety (s).",
    ),
    Kpi(
        "vehicle_delay_hours",
        "h",
        "lower",
        "vehicle delay",
        "Vehicle-hours lost against free-flow travel over all trips (h).",
    ),
    Kpi(
        "shelter_overflow",
        "count",
        "lower",
        "shelter overflow",
        "Evacuees who arrived at a full shelter.",
    ),
    Kpi(
        "hospital_overflow",
        "count",
        "lower",
        "hospital overflow",
        "Patients brought to hospital while every hospital was full.",
    ),
    Kpi(
        "incidents",
        "count",
        "lower",
        "incidents",
        "Calls made during the run (the same for every plan under common random numbers).",
    ),
    Kpi(
        "late_incidents",
        "count",
        "lower",
        "late",
        "Served calls whose response time exceeded their priority's target.",
    ),
    Kpi(
        "utilisation_mean",
        "share",
        "lower",
        "utilisation",
        "Mean over units of the share of the run each unit was busy, 0-1.",
    ),
    Kpi(
        "coverage_mean",
        "share",
        "higher",
        "coverage",
        "Mean share of residents within the priority-1 target of a free ambulance "
        "(or of any free unit if there are no ambulances), 0-1.",
    ),
    Kpi(
        "person_minutes_in_hazard",
        "count",
        "lower",
        "person-minutes in hazard",
        "Person-minutes walkers spent on links rated at least the hazard rating (Defra "
        "FD2321, default 0.75), summed over the coupled run's exchanges (twin.metrics.vitals).",
    ),
    Kpi(
        "time_to_95_evacuated",
        "s",
        "lower",
        "time to 95 % evacuated",
        "First exchange time (s) at which 95 % of the evacuees were out of the zone "
        "(coupled run; NaN if never).",
    ),
    Kpi(
        "shelter_overflow",
        "count",
        "lower",
        "shelter overflow",
        "Evacuees, walkers and people by car, who reached a full shelter and were sent on "
        "(coupled run).",
    ),
    Kpi(
        "vehicle_hours_lost",
        "h",
        "lower",
        "vehicle-hours lost",
        "Traffic delay beyond free flow, arrived and travelling vehicles (coupled run).",
    ),
    Kpi(
        "stranded_vehicles",
        "count",
        "lower",
        "stranded vehicles",
        "Vehicles caught on a link when water closed it to cars (coupled run).",
    ),
    Kpi(
        "score",
        "s",
        "lower",
        "score",
        "Weighted score of the scenario's objectives.weights, a time (s): e.g. p90 response "
        "time + 10 min x unserved calls (see twin/scenario/weights.py).",
    ),
]

KPIS: dict[str, Kpi] = {k.name: k for k in _DEFS}
"""Every KPI a run may report, by name."""

OBJECTIVE_NAMES: tuple[str, ...] = get_args(KpiName)
"""KPIs a scenario may name in ``objectives`` (the scenario schema's ``KpiName``)."""

assert set(OBJECTIVE_NAMES) <= set(KPIS), "every objective KPI needs a definition"


def kpi(name: str, *, field: str = "objective") -> Kpi:
    """The definition of a KPI.

    Raises
    ------
    UserInputError
        If ``name`` is not a known KPI; the message lists the known ones.
    """
    if name not in KPIS:
        from difflib import get_close_matches

        close = get_close_matches(name, list(KPIS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UserInputError(
            Problem(
                f"unknown KPI {name!r}{hint}",
                field=field,
                fix=f"use one of: {', '.join(KPIS)}",
            )
        )
    return KPIS[name]


def weighted_score(values: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """Combined score of one run: sum of ``weight * sign * value`` (lower is better).

    ``sign`` is +1 for lower-is-better KPIs and -1 for higher-is-better ones, so that a
    positive weight always rewards improvement. Values are in SI units, so weights convert
    units into a common currency (e.g. 60 on a count makes one unserved call cost as much
    as a minute of p90 response time).

    Returns NaN if a weighted KPI is missing or NaN in ``values``.
    """
    total = 0.0
    for name, weight in weights.items():
        value = values.get(name, math.nan)
        if value is None or math.isnan(value):
            return math.nan
        total += weight * KPIS[name].sign * value
    return total
