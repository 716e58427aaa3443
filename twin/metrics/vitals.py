"""The city's vital signs (one row per exchange of a coupled run) and the coupled KPIs.

:data:`VITALS` names every vital sign with its unit and meaning; :func:`column` gives the
column name ``"<name> [<unit>]"`` the :class:`twin.model.CityTwin` DataCollector uses, so
units travel with the numbers. The trigger signals of a plan (``twin.scenario.signals``)
use the same names and units. :data:`COUPLED_KPIS` documents the KPIs
:func:`coupled_kpis` derives from the series.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["COUPLED_KPIS", "VITALS", "Vital", "column", "coupled_kpis"]


@dataclass(frozen=True)
class Vital:
    """One vital sign.

    Attributes
    ----------
    name
        Its name (the trigger signal's where there is one).
    unit
        Unit of its values (``"1"`` for shares).
    doc
        What it measures, in one line.
    """

    name: str
    unit: str
    doc: str


VITALS: tuple[Vital, ...] = (
    Vital("network_speed_index", "1", "length-weighted mean of traffic speed over free speed "
          "on drive links (1 = free flow; closed links count 0)"),
    Vital("km_closed_cars", "km", "drive-link length closed to cars by water"),
    Vital("km_closed_emergency", "km", "drive-link length closed to emergency vehicles"),
    Vital("flooded_area_m2", "m2", "land cells at or above the flood's wet depth, times cell area"),
    Vital("max_depth_m", "m", "deepest water on land"),
    Vital("people_in_hazard", "people", "walkers on walk links rated at least the plan's hazard "
          "rating (Defra FD2321 HR, default 0.75: danger for some)"),
    Vital("people_hazard_low", "people", "walkers on links of hazard class low (HR < 0.75)"),
    Vital("people_hazard_moderate", "people", "walkers on links of class moderate (0.75-1.25)"),
    Vital("people_hazard_significant", "people", "walkers on links of class significant "
          "(1.25-2.0)"),
    Vital("people_hazard_extreme", "people", "walkers on links of class extreme (>= 2.0)"),
    Vital("people_exposed", "people", "people in hazardous water at any exchange so far, each "
          "counted once: walkers seen on a link rated at least the hazard rating, plus the "
          "occupants of stranded vehicles (twin.coupling.vital_signs.Exposure)"),
    Vital("people_evacuated", "people", "evacuees who have left home: walkers set off plus "
          "the people in evacuating cars set off"),
    Vital("people_sheltered", "people", "evacuees counted in at shelters: walkers plus people "
          "who came by car"),
    Vital("people_out_of_zone", "people", "evacuees arrived: sheltered walkers plus the people "
          "in evacuating cars arrived (at a shelter or the zone's edge)"),
    Vital("vehicles_stranded", "vehicles", "vehicles caught on a link when water closed it to "
          "cars, so far"),
    Vital("units_available", "units", "response units free to be dispatched"),
    Vital("open_incidents", "incidents", "incidents called in and not yet reached or given up"),
    Vital("shelter_load", "1", "people in shelters (walkers and by car) over shelter "
          "capacity (1 = full)"),
    Vital("hospital_load", "1", "ambulance arrivals in the last hour over hospital capacity, "
          "the fullest hospital (1 = on diversion)"),
    Vital("warning_level", "level", "highest warning level in force (none 0 ... red 4)"),
)  # fmt: skip
"""Every vital sign, in the order of the DataCollector's columns."""


def column(v: Vital) -> str:
    """DataCollector column of a vital sign: ``"<name> [<unit>]"``."""
    return f"{v.name} [{v.unit}]"


COUPLED_KPIS: dict[str, tuple[str, str]] = {
    "person_minutes_in_hazard": ("person·min", "integral of people_in_hazard over the run "
                                 "(sampled at each exchange, held over the interval)"),
    "time_to_95_evacuated": ("s", "first exchange time at which 95 % of the evacuees are out of "
                             "the zone (NaN: never in the run)"),
    "shelter_overflow": ("people", "evacuees (walkers and people by car) who reached a full "
                         "shelter and were sent on"),
    "vehicle_hours_lost": ("veh·h", "traffic delay beyond free flow, arrived and travelling"),
    "stranded_vehicles": ("vehicles", "vehicles caught by a closure to cars in the run"),
    "peak_km_closed_cars": ("km", "largest length closed to cars at any exchange"),
    "min_network_speed_index": ("1", "lowest network speed index at any exchange"),
    "peak_people_in_hazard": ("people", "largest number of people in hazardous water"),
    "people_exposed": ("people", "distinct people in hazardous water at any exchange: walkers "
                       "flagged the first time, plus people aboard stranded vehicles (one per "
                       "vehicle but evacuating cars, which count their evacuees)"),
    "hazard_calls": ("calls", "calls raised by hazards (water, stranded vehicles, crowds)"),
}  # fmt: skip
"""Coupled KPIs: name -> (unit, meaning)."""


def coupled_kpis(
    times: Sequence[float],
    rows: Sequence[Mapping[str, float]],
    *,
    evacuees: float,
    shelter_overflow: float,
    vehicle_hours_lost: float,
    hazard_calls: int,
) -> dict[str, float]:
    """The :data:`COUPLED_KPIS` of a run from its vital-sign rows.

    Parameters
    ----------
    times, rows
        Exchange times (s) and the vital signs by name at each (the first at the start).
    evacuees
        People the evacuation orders cover (walkers plus drivers' persons).
    shelter_overflow, vehicle_hours_lost, hazard_calls
        Counted by the models and the exchange.
    """
    t = np.asarray(times, dtype=np.float64)
    hazard = np.array([r["people_in_hazard"] for r in rows], dtype=np.float64)
    out_zone = np.array([r["people_out_of_zone"] for r in rows], dtype=np.float64)
    dt = np.diff(t)
    # value seen at an exchange held over the interval that follows it
    minutes = float(np.sum(hazard[:-1] * dt) / 60.0) if t.size > 1 else 0.0
    t95 = math.nan
    if evacuees > 0:
        reached = np.flatnonzero(out_zone >= 0.95 * evacuees)
        if reached.size:
            t95 = float(t[reached[0]])
    return {
        "person_minutes_in_hazard": minutes,
        "time_to_95_evacuated": t95,
        "shelter_overflow": float(shelter_overflow),
        "vehicle_hours_lost": float(vehicle_hours_lost),
        "stranded_vehicles": float(rows[-1]["vehicles_stranded"]) if rows else 0.0,
        "peak_km_closed_cars": float(max(r["km_closed_cars"] for r in rows)) if rows else 0.0,
        "min_network_speed_index": (
            float(min(r["network_speed_index"] for r in rows)) if rows else math.nan
        ),
        "peak_people_in_hazard": float(hazard.max(initial=0.0)),
        "people_exposed": float(rows[-1]["people_exposed"]) if rows else 0.0,
        "hazard_calls": float(hazard_calls),
    }
