"""Emergency response: incidents, units, hospitals and dispatch policies as SimPy processes.

>>> from twin.coupling.response_setup import build_response  # doctest: +SKIP
>>> model = build_response(scenario, plan, pack)  # doctest: +SKIP
>>> kpis = model.run(scenario.time.duration)  # doctest: +SKIP
>>> kpis.response_p90, model.replay() == kpis  # doctest: +SKIP

Modules: :mod:`~twin.response.travel` (road travel times, link times and closures),
:mod:`~twin.response.incidents` (incident types, random streams, call sources, hazard
signals), :mod:`~twin.response.units` (units, states, hospitals),
:mod:`~twin.response.dispatch` (requests and the read-only view policies get),
:mod:`~twin.response.policies` (dispatch plug-ins by name),
:mod:`~twin.response.jurisdictions` (tiered command areas), :mod:`~twin.response.model`
(the SimPy processes), :mod:`~twin.response.unit_trips` (what a dispatched unit does),
:mod:`~twin.response.kpis` (event log and KPIs), :mod:`~twin.response.network` (roads,
residents and hospitals of a city pack). The model takes plain inputs and never reads a
scenario or plan: :mod:`twin.coupling.response_setup` builds it from them, with checks.

What other models call during a run (coupling): :meth:`ResponseModel.update_roads` with link
times and closures, and :meth:`ResponseModel.signal` with a :class:`HazardSignal`.
"""

from twin.response.dispatch import DispatchView, Request
from twin.response.incidents import (
    HAZARD_SIGNALS,
    PROFILES,
    SIGNAL_THRESHOLDS,
    BackgroundDemand,
    HazardSignal,
    Incident,
    IncidentProfile,
    ScriptedCall,
    rng_for,
)
from twin.response.kpis import EVENTS, LogEvent, ResponseKpis, kpis_from_log, write_log
from twin.response.model import ResponseModel
from twin.response.network import CityNetwork, hospitals_of
from twin.response.policies import POLICIES, DispatchPolicy, make_policy, register
from twin.response.travel import MatrixTravel, RoadTravel, Route, StraightTravel, Travel
from twin.response.units import STATES, Hospital, StationSpec, Unit

__all__ = [
    "EVENTS",
    "HAZARD_SIGNALS",
    "POLICIES",
    "PROFILES",
    "SIGNAL_THRESHOLDS",
    "STATES",
    "BackgroundDemand",
    "CityNetwork",
    "DispatchPolicy",
    "DispatchView",
    "HazardSignal",
    "Hospital",
    "Incident",
    "IncidentProfile",
    "LogEvent",
    "MatrixTravel",
    "Request",
    "ResponseKpis",
    "ResponseModel",
    "RoadTravel",
    "Route",
    "ScriptedCall",
    "StationSpec",
    "StraightTravel",
    "Travel",
    "Unit",
    "hospitals_of",
    "kpis_from_log",
    "make_policy",
    "register",
    "rng_for",
    "write_log",
]
