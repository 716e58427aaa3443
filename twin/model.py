"""CityTwin: flood, traffic, crowd and response coupled under one clock, as a Mesa model.

The engine's clock (:class:`twin.engine.clock.Clock`, one SimPy environment) is the only
clock: :meth:`CityTwin.step` advances it one exchange interval with the engine's loop
(:func:`twin.engine.run.run`), which advances every component and then calls the exchange
(:class:`twin.coupling.exchange.Exchange`). :mod:`twin.random` is the only randomness:
Mesa is seeded with the run seed so that it is deterministic, but nothing draws from
``self.rng`` or ``self.random``. The few are Mesa agents (stations, units, hospitals,
shelters, gauges, incidents as they are called), views onto the models' objects; the many
(vehicles, walkers, cells) stay arrays in their models. A :class:`mesa.DataCollector`
records the vital signs (:data:`twin.metrics.vitals.VITALS`) after every exchange, one
column per sign named ``"<name> [<unit>]"``.

>>> twin = CityTwin.from_files("scenarios/monaco_flash_flood.yaml", seed=1)  # doctest: +SKIP
>>> twin.step()  # doctest: +SKIP
>>> twin.datacollector.get_model_vars_dataframe()  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from twin.coupling.exchange import Exchange, ExchangeRules
from twin.coupling.shelters import max_drive
from twin.coupling.vital_signs import Exposure
from twin.engine.run import run as engine_run
from twin.engine.timeline import Timeline
from twin.errors import Problem, UserInputError
from twin.metrics.vitals import VITALS, column, coupled_kpis
from twin.run_outputs import SnapshotRecorder, write_outputs

if TYPE_CHECKING:
    from twin.coupling.twin_setup import TwinParts
    from twin.scenario.schema import Scenario

__all__ = [
    "CHECKPOINT_FORMAT",
    "CityTwin",
    "FacilityAgent",
    "IncidentAgent",
    "UnitAgent",
    "write_outputs",
]

#: Version of the checkpoint file layout.
CHECKPOINT_FORMAT = 1


class FacilityAgent(mesa.Agent):
    """A fixed place of the twin: a station, hospital, shelter or gauge.

    Attributes
    ----------
    kind
        ``station``, ``hospital``, ``shelter`` or ``gauge``.
    name
        Its name.
    """

    def __init__(self, model: CityTwin, kind: str, name: str) -> None:
        super().__init__(model)
        self.kind = kind
        self.name = name


class UnitAgent(mesa.Agent):
    """A response unit (ambulance, fire engine, police car, rescue boat): a view of the
    response model's unit, whose state its SimPy process keeps."""

    def __init__(self, model: CityTwin, unit: Any) -> None:
        super().__init__(model)
        self.unit = unit

    @property
    def state(self) -> str:
        """The unit's state now (``available``, ``en_route``, ...)."""
        return str(self.unit.state)


class IncidentAgent(mesa.Agent):
    """An incident called in (background, scripted or raised by a hazard)."""

    def __init__(self, model: CityTwin, incident: Any) -> None:
        super().__init__(model)
        self.incident = incident

    @property
    def open(self) -> bool:
        """Not yet reached by a unit nor given up."""
        return self.incident.first_arrival is None and self.incident.unserved is None


class CityTwin(mesa.Model):
    """One replication of the coupled city (see the module notes).

    Parameters
    ----------
    parts
        The models, built by :func:`twin.coupling.twin_setup.build_parts`.
    exchange_every
        Exchange interval (s): one :meth:`step`.
    until
        End of the run (s; default the scenario's duration).
    rules
        Exchange thresholds (default :class:`~twin.coupling.exchange.ExchangeRules()`).
    record_flood
        A :class:`~twin.coupling.flood_reuse.FloodRecord` to fill at every exchange (flood
        reuse), or ``None``.
    """

    def __init__(
        self,
        parts: TwinParts,
        *,
        exchange_every: float = 60.0,
        until: float | None = None,
        rules: ExchangeRules | None = None,
        record_flood: Any = None,
    ) -> None:
        super().__init__(seed=int(parts.seed))  # deterministic; never drawn from
        if not (math.isfinite(exchange_every) and exchange_every > 0):
            raise UserInputError(
                Problem(f"exchange interval {exchange_every!r} s must be > 0",
                        field="exchange_every", fix="e.g. 60")
            )  # fmt: skip
        self.parts = parts
        self.exchange_every = float(exchange_every)
        self.until = float(parts.scenario.time.duration if until is None else until)
        self.clock = parts.clock
        self.components = [c for c in (parts.flood, parts.traffic, parts.crowd) if c is not None]
        _check_once(self.components)  # the engine loop of each step then skips its check
        self.exchange = Exchange(parts, rules)
        if self.exchange.cars is not None:  # full shelters send cars on within the plan's
            self.exchange.cars.limit = max_drive(parts.plan)  # limit, as at set-up
        self.exposure = Exposure()
        self.timeline = parts.timeline
        self.record_flood = record_flood
        self.snapshots = _snapshot_recorder(parts)
        self.model_seconds = {c.name: 0.0 for c in self.components}
        self.times: list[float] = []
        self.rows: list[dict[str, float]] = []
        self._events_applied = 0
        self._make_agents()
        self.datacollector = mesa.DataCollector(
            model_reporters={column(v): _reporter(v.name) for v in VITALS}
        )
        self._observe(self.now)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_files(
        cls,
        scenario: Path | str | Scenario,
        plan: Path | str | None = None,
        *,
        seed: int | None = None,
        resolution: float | None = None,
        flood_cache: Path | str | None = None,
        **kwargs: Any,
    ) -> CityTwin:
        """A twin from a scenario file and a plan file (default the scenario's first plan).

        ``scenario`` may also be a loaded scenario (e.g. with ``--set`` changes applied);
        problems then still name the file it was loaded from. ``resolution`` (m)
        overrides the scenario's terrain and flood grid cell size.
        """
        from twin.coupling.city_setup import scenario_city
        from twin.coupling.twin_setup import build_parts
        from twin.scenario.loader import load_plan, load_scenario
        from twin.scenario.problems import adopt, source_of
        from twin.scenario.schema import Scenario

        if isinstance(scenario, Scenario):
            sc = scenario
            source = source_of(sc)
            scenario = source.file if source is not None else None
        else:
            sc = load_scenario(scenario)
        if resolution is not None:
            variant = sc.model_copy(
                update={"city": sc.city.model_copy(update={"resolution": float(resolution)})}
            )
            adopt(variant, sc)  # problems keep the file's lines
            sc = variant
        if plan is None:
            if not sc.plans:
                raise UserInputError(
                    Problem(f"scenario {sc.name!r} lists no plan", file=scenario,
                            field="plans", fix="pass --plan PLAN.yaml")
                )  # fmt: skip
            plan = sc.plans[0]
        plan_obj = load_plan(plan) if isinstance(plan, str | Path) else plan
        pack = scenario_city(sc)
        exchange_every = float(kwargs.get("exchange_every", 60.0))
        parts = build_parts(
            sc,
            plan_obj,
            pack,
            seed=seed,
            until=kwargs.get("until"),
            exchange_every=exchange_every,
            flood_cache=flood_cache,
            scenario_file=scenario,
            plan_file=plan if isinstance(plan, str | Path) else None,
        )
        record = _flood_record(parts, flood_cache)
        return cls(parts, record_flood=record, **kwargs)

    def _make_agents(self) -> None:
        r = self.parts.response
        for s in r.stations:
            FacilityAgent(self, "station", s.name)
        for h in r.hospitals:
            FacilityAgent(self, "hospital", h.name)
        crowd = self.parts.crowd
        if crowd is not None:
            d = crowd.model.dests
            names = d.group_names
            if "shelters" in names:
                for i in np.flatnonzero(d.group == names.index("shelters")).tolist():
                    FacilityAgent(self, "shelter", d.names[i])
        for g in self.parts.scenario.flood.gauges:
            FacilityAgent(self, "gauge", g.name)
        self.unit_agents = [UnitAgent(self, u) for u in r.units]
        self.incident_agents: list[IncidentAgent] = []

    # ------------------------------------------------------------------ running
    @property
    def now(self) -> float:
        """Simulated time (s since the scenario start)."""
        return self.clock.now

    @property
    def vitals(self) -> dict[str, float]:
        """The latest vital signs by name."""
        return self.rows[-1]

    @property
    def done(self) -> bool:
        """The run reached its end."""
        return self.now >= self.until - 1e-9

    def step(self) -> None:
        """Advance one exchange interval (the last one shortened to the end): the engine
        loop advances every model, applies the timeline's events, then the exchange runs;
        the vital signs are recorded and the triggers evaluated."""
        if self.done:
            self.running = False
            return
        t0 = self.now
        t1 = min(t0 + self.exchange_every, self.until)
        # events from t0 (not yet applied: the last step ended before them) to before t1
        due = [e for e in self.timeline.events[self._events_applied :] if e.time < t1 - 1e-9]
        self._events_applied += len(due)
        shifted = Timeline(e for e in due)
        timed = _Timed(self.components, self.model_seconds)
        engine_run(
            timed.components,
            t1,
            clock=self.clock,
            timeline=shifted,
            exchange_every=t1 - t0,
            exchanges=[self.exchange],
            checked=True,
        )
        for e in due:
            self.exchange.log(e.time, e.target, e.action, e.label or "timeline event")
        self._observe(t1)
        if self.done:
            self.running = False

    def _observe(self, t: float) -> None:
        if self.parts.flood is not None:
            if self.record_flood is not None:
                self.record_flood.add(t, *self.exchange.flood_grids(t))
            if self.snapshots is not None and t >= self.snapshots.next_due - 1e-9:
                self.snapshots.add(t, *self.exchange.flood_grids(t))
        vitals = self.exchange.vitals(t)
        vitals["people_exposed"] = self.exposure.update(self.exchange)
        self.exchange.evaluate_triggers(t, vitals)
        vitals["warning_level"] = float(self.exchange.triggers.warning_level)
        self.times.append(float(t))
        self.rows.append(vitals)
        known = len(self.incident_agents)
        for inc in self.parts.response.incidents[known:]:
            self.incident_agents.append(IncidentAgent(self, inc))
        self.datacollector.collect(self)

    def run(self, progress: Any = None) -> dict[str, float]:
        """Step to the end; ``progress(twin)`` after each step. Returns :meth:`kpis`."""
        while not self.done:
            self.step()
            if progress is not None:
                progress(self)
        self.finish()
        return self.kpis()

    def finish(self) -> None:
        """At the end of a run: store the recorded flood for reuse (if recording)."""
        if self.done and self.record_flood is not None and self.parts.flood is not None:
            self.record_flood.save(0.0)
        self.record_flood = None

    # ------------------------------------------------------------------ results
    def kpis(self) -> dict[str, float]:
        """Coupled KPIs (:data:`twin.metrics.vitals.COUPLED_KPIS`) and the response KPIs,
        over the run so far (the response's open calls are closed as unserved)."""
        p = self.parts
        crowd_overflow = 0.0
        evacuees = 0.0
        if p.crowd is not None:
            d = p.crowd.model.dests
            crowd_overflow = float(d.overflow.sum() + d.overflow_by_car.sum())  # both modes
            evacuees += float(p.evacuee_people.size)
        evacuees += float(p.car_people.sum())  # people in the evacuating cars (the split)
        trips = p.traffic.model.trips()
        out = coupled_kpis(
            self.times,
            self.rows,
            evacuees=evacuees,
            shelter_overflow=crowd_overflow,
            vehicle_hours_lost=trips.kpis()["vehicle_hours_delay"],
            hazard_calls=self.exchange.hazard_calls,
        )
        out.update(_response_kpis(p.response, self.now))
        return out

    def vital_table(self) -> dict[str, list[float]]:
        """Columns ``time [s]`` and each vital sign with its unit."""
        out: dict[str, list[float]] = {"time [s]": list(self.times)}
        for v in VITALS:
            out[column(v)] = [row[v.name] for row in self.rows]
        return out

    # ------------------------------------------------------------------ checkpoints
    def checkpoint(self, path: Path | str) -> Path:
        """Write the whole twin (components' snapshots, the exchange's state and the
        response model's inputs, the triggers, the timeline, the random-stream states, the
        vital signs so far) to one ``.npz`` file (arrays, and the JSON parts as text; no
        pickle), atomically."""
        from twin.atomic import atomic_path

        arrays: dict[str, Any] = {}
        for c in self.components:
            for key, value in c.snapshot().items():
                arrays[f"{c.name}/{key}"] = np.asarray(value)
        ex_arrays, ex_data = self.exchange.snapshot()
        for key, value in ex_arrays.items():
            arrays[f"exchange/{key}"] = np.asarray(value)
        arrays["exposure/walkers"] = self.exposure.walkers
        meta = {
            "format": CHECKPOINT_FORMAT,
            "time": self.now,
            "until": self.until,
            "exchange_every": self.exchange_every,
            "seed": self.parts.seed,
            "scenario": self.parts.scenario.name,
            "plan": self.parts.plan.name,
            "flood_key": self.parts.flood_key,
            "flood": None if self.parts.flood is None else type(self.parts.flood).__name__,
            "events_applied": self._events_applied,
            "timeline": self.timeline.as_list(),
            "times": self.times,
            "rows": self.rows,
            "exchange": ex_data,
        }
        if self.snapshots is not None:
            snaps, meta["snapshot_times"] = self.snapshots.state()
            arrays.update({f"snapshots/{k}": v for k, v in snaps.items()})
        arrays["meta.json"] = np.array(json.dumps(meta))
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        return path

    def restore(self, path: Path | str) -> None:
        """Put this FRESH twin (built from the same scenario, plan, seed and options) into
        the state of a :meth:`checkpoint` file.

        Raises
        ------
        UserInputError
            If the file is not a checkpoint of this scenario, plan and seed.
        """
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(str(arrays.pop("meta.json")))
        mine = (self.parts.scenario.name, self.parts.plan.name, self.parts.seed, self.until)
        theirs = (meta["scenario"], meta["plan"], meta["seed"], meta["until"])
        if meta.get("format") != CHECKPOINT_FORMAT or mine != theirs:
            raise UserInputError(
                Problem(
                    f"the checkpoint is of scenario {theirs[0]!r}, plan {theirs[1]!r}, seed "
                    f"{theirs[2]}, until {theirs[3]:g} s; this run is {mine}",
                    file=path,
                    fix="resume with the scenario, plan, seed and --until it was written by",
                )
            )
        if "exposure/walkers" not in arrays:
            raise UserInputError(
                Problem("the checkpoint was written by an older twin (it lacks the people "
                        "exposed so far)", file=path,
                        fix="run again from the start and write a new checkpoint")
            )  # fmt: skip
        if self.now != 0.0:
            raise ValueError("restore needs a fresh twin")
        for c in self.components:
            head = f"{c.name}/"
            snap = {k[len(head) :]: v for k, v in arrays.items() if k.startswith(head)}
            if c is self.parts.flood and type(c).__name__ != meta["flood"]:
                if meta["flood"] != "FloodComponent" or not hasattr(c, "times"):
                    raise UserInputError(
                        Problem("the checkpoint replayed a recorded flood; this run computes it",
                                file=path, fix="resume with the flood reuse of the first run")
                    )  # fmt: skip
                snap = {"replay.t": float(meta["time"])}  # a recorded flood: same grids
            c.restore(snap)
        ex = {k[len("exchange/") :]: v for k, v in arrays.items() if k.startswith("exchange/")}
        self.exchange.restore(ex, meta["exchange"])
        self.exposure.walkers = np.asarray(arrays["exposure/walkers"]).astype(bool)
        if self.snapshots is not None:
            snaps = {
                k[len("snapshots/") :]: v for k, v in arrays.items() if k.startswith("snapshots/")
            }
            self.snapshots.load(snaps, meta["snapshot_times"])
        self.clock.advance_to(float(meta["time"]))
        self._events_applied = int(meta["events_applied"])
        self.times = [float(t) for t in meta["times"]]
        self.rows = [{k: float(v) for k, v in row.items()} for row in meta["rows"]]
        self.incident_agents = [IncidentAgent(self, i) for i in self.parts.response.incidents]
        self.datacollector = mesa.DataCollector(
            model_reporters={column(v): _reporter(v.name) for v in VITALS}
        )
        for row in self.rows:
            self._replay_row(row)

    def _replay_row(self, row: dict[str, float]) -> None:
        saved = self.rows
        self.rows = [row]
        self.datacollector.collect(self)
        self.rows = saved


class _Timed:
    """The components wrapped so that each model's wall time is summed (benchmarks)."""

    def __init__(self, components: list, seconds: dict[str, float]) -> None:
        self.components = [_TimedComponent(c, seconds) for c in components]


class _TimedComponent:
    def __init__(self, inner: Any, seconds: dict[str, float]) -> None:
        self._inner = inner
        self._seconds = seconds

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def advance_to(self, t: float) -> None:
        import time

        w0 = time.perf_counter()
        self._inner.advance_to(t)
        self._seconds[self._inner.name] += time.perf_counter() - w0


def _check_once(components: list) -> None:
    """The engine's component contract check, done once for the whole run."""
    from twin.engine.component import check_component

    names = [c.name for c in components]
    if len(set(names)) != len(names):
        raise ValueError(f"two components share a name: {names}")
    for c in components:
        check_component(c)


def _snapshot_recorder(parts: TwinParts) -> SnapshotRecorder | None:
    """The recorder of the render snapshots the scenario's ``outputs.snapshots`` asks for
    (``None``: it asks for none, or the run has no flood)."""
    from twin.coupling.twin_setup import grid_transform

    interval = parts.scenario.outputs.snapshots
    if interval is None or parts.flood is None or parts.land is None:
        return None
    transform, _ = grid_transform(parts)
    return SnapshotRecorder(interval, parts.land, transform, parts.pack.crs)


def _reporter(name: str):
    return lambda model: model.vitals[name]


def _flood_record(parts: TwinParts, flood_cache: Path | str | None):
    from twin.coupling.flood_reuse import FloodRecord, FloodReplay

    if flood_cache is None or parts.flood is None or isinstance(parts.flood, FloodReplay):
        return None
    path = Path(flood_cache) / "coupled_flood" / f"{parts.flood_key}.npz"
    return FloodRecord(path, parts.land, parts.wet_depth, parts.cell_area)


def _response_kpis(response: Any, now: float) -> dict[str, float]:
    """The response model's KPIs at ``now`` without ending its run (open calls are
    counted unserved in a copy of the reckoning, not in the model)."""
    import copy

    model = copy.copy(response)
    model.incidents = [copy.copy(i) for i in response.incidents]
    model.events = list(response.events)
    for inc in model.incidents:
        if inc.first_arrival is None and inc.unserved is None:
            inc.unserved = "open at end"
    model.horizon = float(now)
    k = model.kpis()
    within = (k.served - k.late) / k.incidents if k.incidents else math.nan
    return {
        "response_time_p50": float(k.response_p50),
        "response_time_p90": float(k.response_p90),
        "share_within_target": float(within),
        "unserved_incidents": float(k.unserved),
        "incidents": float(k.incidents),
    }
