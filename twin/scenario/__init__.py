"""Scenario and plan files: schema, units, loading and validation with file:line errors.

>>> from twin.scenario import load_scenario  # doctest: +SKIP
>>> scenario = load_scenario("scenarios/monaco_flash_flood.yaml")  # doctest: +SKIP

Values are SI inside (s, m, m/s, m3/s); files may write units (``"15 min"``, ``"50 mm/h"``).
"""

from twin.scenario.hazards import (
    CrowdEvent,
    Drainage,
    GroundCollapse,
    Hazard,
    Infiltration,
    Inflow,
    Rainfall,
    SeaLevel,
)
from twin.scenario.jsonschema import json_schema, write_schemas
from twin.scenario.loader import detect_kind, load_plan, load_plans, load_scenario, validate_file
from twin.scenario.plan import Plan, Station
from twin.scenario.quantities import (
    DISCHARGE,
    DURATION,
    LENGTH,
    RAIN_RATE,
    SPEED,
    Discharge,
    Duration,
    Length,
    QuantityKind,
    RainRate,
    Speed,
)
from twin.scenario.schema import City, Scenario, TimeWindow

__all__ = [
    "DISCHARGE",
    "DURATION",
    "LENGTH",
    "RAIN_RATE",
    "SPEED",
    "City",
    "CrowdEvent",
    "Discharge",
    "Drainage",
    "Duration",
    "GroundCollapse",
    "Hazard",
    "Infiltration",
    "Inflow",
    "Length",
    "Plan",
    "QuantityKind",
    "RainRate",
    "Rainfall",
    "Scenario",
    "SeaLevel",
    "Speed",
    "Station",
    "TimeWindow",
    "detect_kind",
    "json_schema",
    "load_plan",
    "load_plans",
    "load_scenario",
    "validate_file",
    "write_schemas",
]
