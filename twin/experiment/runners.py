"""Runners: what turns (scenario, plan, seed) into KPIs, kept behind one small protocol.

The experiment layer never imports a model directly: it asks :func:`get_runner` for a
runner by name and calls its three verbs. A runner is any object with

* ``prepare(city)``: state built once per study from the city pack (e.g. the road
  network), picklable: the parent builds it and ships it to every worker;
* ``check(scenario, plan, plan_file, prepared)``: raise a :class:`~twin.errors.UserInputError`
  for a plan that cannot run (before any replication starts);
* ``run(scenario, plan, seed, prepared, series=...)``: one replication, returning a
  :class:`RunOutput`; byte-identical for the same inputs.

Runners are registered by name: the built-ins (today ``response``, the response model on
free-flow roads), packages that declare an entry point in the ``twin.runners`` group
(``name = "package.module:Class"``), and :func:`register` calls in this process. Only a
registered name can be asked for: ``--model os:getcwd`` is refused, so no command line can
make twin import and call an arbitrary ``module:attr``. The parent sends the name's import
path with each task (:func:`registered`), so a worker builds the same runner.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from twin.errors import Problem, ScenarioError, UserInputError

if TYPE_CHECKING:
    from twin.city.pack import CityPack
    from twin.scenario.plan import Plan
    from twin.scenario.schema import Scenario


@dataclass
class RunOutput:
    """What one replication reports.

    Attributes
    ----------
    kpis
        KPI values by name, in the units of :data:`twin.metrics.KPIS` (NaN allowed).
    series
        Optional time series: equal-length columns by name, ``time`` (s) first.
    """

    kpis: dict[str, float]
    series: dict[str, np.ndarray] = field(default_factory=dict)


@runtime_checkable
class Runner(Protocol):
    """A model (or coupled models) the experiment layer can replicate."""

    name: str
    """Registry name."""
    kpis: tuple[str, ...]
    """KPIs every run reports."""
    code: tuple[str, ...]
    """Packages whose source decides the results (for the code version of a run)."""
    preload: tuple[str, ...]
    """Modules local workers import before their first run (empty if none)."""

    def prepare(self, city: CityPack) -> Any:
        """State shared by every run on a city (built once, picklable, sent to workers)."""
        ...

    def check(self, scenario: Scenario, plan: Plan, plan_file: Path | None, prepared: Any) -> None:
        """Raise :class:`~twin.errors.UserInputError` if the plan cannot run."""
        ...

    def run(
        self, scenario: Scenario, plan: Plan, seed: int, prepared: Any, *, series: bool = True
    ) -> RunOutput:
        """One replication."""
        ...


RUNNERS: dict[str, str] = {
    "response": "twin.experiment.runners:ResponseRunner",
    "coupled": "twin.experiment.runners:CoupledRunner",
}
"""Built-in runners and those registered in this process: name -> import path."""

ENTRY_POINT_GROUP = "twin.runners"
"""Entry-point group through which installed packages add runners."""


def register(name: str, target: str) -> None:
    """Register a runner class by import path, ``"package.module:Class"``."""
    RUNNERS[name] = target
    get_runner.cache_clear()


def registered() -> dict[str, str]:
    """Every runner that may be named: entry points of the ``twin.runners`` group, then the
    built-ins and :func:`register` calls (which win on a clash)."""
    from importlib.metadata import entry_points

    found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return {**found, **RUNNERS}


@cache
def get_runner(name: str) -> Runner:
    """The runner registered as ``name`` (see :func:`registered`); one instance per process.

    Raises
    ------
    UserInputError
        If no runner has that name (an import path such as ``os:getcwd`` is no name).
    """
    known = registered()
    target = known.get(name)
    if target is None:
        raise UserInputError(
            Problem(
                f"unknown model {name!r}",
                field="--model",
                fix=f"use one of: {', '.join(sorted(known))} (packages add models through "
                f"the {ENTRY_POINT_GROUP!r} entry-point group)",
            )
        )
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)()


@cache
def code_version(runner_name: str) -> str:
    """``<twin version>+<digest>``: a hash of the source of the runner's packages and of
    the versions of the libraries that change results
    (:func:`twin.versions.dependency_versions`).

    Runs are reused only under the same code version, so changing a model's code or
    upgrading numba, osmnx or shapely makes a rerun compute fresh results instead of
    mixing old and new.
    """
    import twin
    from twin.versions import dependency_versions, twin_version

    runner = get_runner(runner_name)
    digest = hashlib.sha256()
    root = Path(twin.__file__).parent
    for package in sorted(runner.code):
        folder = root.joinpath(*package.split(".")[1:])
        files = sorted(folder.rglob("*.py")) if folder.is_dir() else [folder.with_suffix(".py")]
        for source in files:
            digest.update(source.relative_to(root).as_posix().encode())
            digest.update(source.read_bytes())
    digest.update(json.dumps(dependency_versions(), sort_keys=True).encode())
    return f"{twin_version()}+{digest.hexdigest()[:12]}"


def station_outside_city(plan: Plan, city: CityPack) -> list[tuple[int, str]]:
    """Stations (index, field) placed outside the city's map area (lon/lat bounds)."""
    west, south, east, north = city.bbox_lonlat
    outside = []
    for i, station in enumerate(plan.stations):
        if station.location is not None:
            lon, lat = station.location
            if not (west <= lon <= east and south <= lat <= north):
                outside.append((i, "location"))
    return outside


@dataclass(frozen=True)
class _ResponseSetup:
    pack: Any
    network: Any


class ResponseRunner:
    """The response model alone on free-flow roads (:mod:`twin.response`).

    KPIs: response percentiles, share within target, unserved, late, hospital overflow,
    mean utilisation, mean coverage (ambulances, else every unit type). Time series every
    ``outputs.timeseries_interval``: calls so far, busy units, calls waiting.
    """

    name = "response"
    kpis = (
        "response_time_p50",
        "response_time_p90",
        "share_within_target",
        "unserved_incidents",
        "late_incidents",
        "incidents",
        "hospital_overflow",
        "utilisation_mean",
        "coverage_mean",
    )
    code = (
        "twin.response",
        "twin.coupling.response_setup",
        "twin.scenario",
        "twin.experiment.runners",
    )
    preload = ("twin.coupling.response_setup", "twin.city.routing")

    def prepare(self, city: CityPack) -> _ResponseSetup:
        """The pack with its road network and population per node (built once)."""
        from twin.response.network import CityNetwork

        return _ResponseSetup(city, CityNetwork.from_pack(city))

    def check(
        self, scenario: Scenario, plan: Plan, plan_file: Path | None, prepared: _ResponseSetup
    ) -> None:
        """Refuse plans for another city and plans whose stations or closures do not fit.

        Raises
        ------
        ScenarioError
            Naming the plan file, line and field.
        """
        from twin.coupling.response_setup import build_response
        from twin.scenario.problems import problem_at

        outside = station_outside_city(plan, prepared.pack)
        if outside:
            west, south, east, north = prepared.pack.bbox_lonlat
            problems = []
            for i, name in outside:
                lon, lat = plan.stations[i].location  # type: ignore[misc]
                problems.append(
                    problem_at(
                        plan,
                        ["stations", i, name],
                        f"station {plan.stations[i].name!r} at [{lon}, {lat}] is outside the "
                        f"{prepared.pack.name} map ([{west:.4f}, {south:.4f}] to "
                        f"[{east:.4f}, {north:.4f}]); is this a plan for another city?",
                        f"compare plans made for {scenario.city.name or prepared.pack.name}",
                        file=plan_file,
                    )
                )
            raise ScenarioError(problems)
        build_response(scenario, plan, prepared.pack, network=prepared.network, plan_file=plan_file)

    def run(
        self,
        scenario: Scenario,
        plan: Plan,
        seed: int,
        prepared: _ResponseSetup,
        *,
        series: bool = True,
    ) -> RunOutput:
        """One replication of the response model over the scenario's duration."""
        from twin.coupling.response_setup import build_response

        model = build_response(scenario, plan, prepared.pack, seed=seed, network=prepared.network)
        k = model.run(scenario.time.duration)
        within = (k.served - k.late) / k.incidents if k.incidents else math.nan
        coverage = k.coverage_mean.get("ambulance")
        if coverage is None:
            coverage = (
                float(np.mean(list(k.coverage_mean.values()))) if k.coverage_mean else math.nan
            )
        kpis = {
            "response_time_p50": k.response_p50,
            "response_time_p90": k.response_p90,
            "share_within_target": within,
            "unserved_incidents": float(k.unserved),
            "late_incidents": float(k.late),
            "incidents": float(k.incidents),
            "hospital_overflow": (
                math.nan if k.hospital_overflow is None else float(k.hospital_overflow)
            ),  # None: the map has no hospital
            "utilisation_mean": float(np.mean(k.utilisation)) if k.utilisation else math.nan,
            "coverage_mean": float(coverage),
        }
        out = RunOutput({n: float(v) for n, v in kpis.items()})
        if series:
            out.series = response_series(
                model.events,
                len(model.units),
                scenario.time.duration,
                scenario.outputs.timeseries_interval,
            )
        return out


def response_series(
    events: list, n_units: int, duration: float, interval: float
) -> dict[str, np.ndarray]:
    """Calls so far, busy units and calls waiting, sampled every ``interval`` (s).

    Parameters
    ----------
    events
        The response model's event log (:class:`twin.response.kpis.LogEvent`).
    n_units
        Number of units.
    duration, interval
        Run length and sampling interval (s).
    """
    times = np.arange(0.0, duration + 1e-9, interval)
    calls = np.zeros(len(times))
    busy = np.zeros(len(times))
    waiting = np.zeros(len(times))
    idle_states = ("available", "out_of_service")
    state_idle = np.ones(n_units, dtype=bool)
    open_calls: set[int] = set()
    n_calls = 0
    k = 0
    for ev in events:
        while k < len(times) and times[k] < ev.time:
            calls[k], busy[k], waiting[k] = n_calls, n_units - state_idle.sum(), len(open_calls)
            k += 1
        if ev.event == "call":
            n_calls += 1
            open_calls.add(ev.incident)
        elif ev.event == "state":
            state_idle[ev.unit] = ev.detail in idle_states
            if ev.detail == "on_scene":
                open_calls.discard(ev.incident)
        elif ev.event in ("unserved", "aid_arrival"):
            open_calls.discard(ev.incident)
    calls[k:], busy[k:], waiting[k:] = n_calls, n_units - state_idle.sum(), len(open_calls)
    return {"time": times, "calls": calls, "busy_units": busy, "waiting_calls": waiting}


class CoupledRunner:
    """The coupled twin (:class:`twin.model.CityTwin`): flood, traffic, crowd and response.

    The flood is computed once per scenario and reused by every replication and plan
    (a plan cannot change the water; :mod:`twin.coupling.twin_setup`), from the cache
    folder (``TWIN_CACHE_DIR``). KPIs: evacuation, traffic and response (see
    :data:`twin.metrics.vitals.COUPLED_KPIS`); series: the vital signs.
    """

    name = "coupled"
    kpis = (
        "person_minutes_in_hazard",
        "people_exposed",
        "time_to_95_evacuated",
        "shelter_overflow",
        "vehicle_hours_lost",
        "stranded_vehicles",
        "response_time_p50",
        "response_time_p90",
        "share_within_target",
        "unserved_incidents",
        "incidents",
    )
    code = ("twin",)
    preload = ("twin.model",)

    def prepare(self, city: CityPack) -> Any:
        """The city pack (every run builds its models on it)."""
        return city

    def check(self, scenario: Scenario, plan: Plan, plan_file: Path | None, prepared: Any) -> None:
        """Refuse trigger actions the coupled run cannot carry out."""
        from twin.coupling.twin_setup import check_plan_actions

        check_plan_actions(plan, plan_file)

    def run(
        self, scenario: Scenario, plan: Plan, seed: int, prepared: Any, *, series: bool = True
    ) -> RunOutput:
        """One coupled replication over the scenario's duration."""
        from twin.coupling.twin_setup import build_parts
        from twin.model import CityTwin, _flood_record
        from twin.settings import cache_dir

        cache = cache_dir()
        parts = build_parts(scenario, plan, prepared, seed=seed, flood_cache=cache)
        twin = CityTwin(parts, record_flood=_flood_record(parts, cache))
        kpis = twin.run()
        out = RunOutput({k: float(kpis[k]) for k in self.kpis})
        if series:
            table = twin.vital_table()
            table["time"] = table.pop("time [s]")
            out.series = {"time": np.asarray(table.pop("time"))}
            out.series.update({k: np.asarray(v, dtype=float) for k, v in table.items()})
        return out
