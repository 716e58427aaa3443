"""Incidents: kinds and their needs, random streams, and where calls come from.

Calls come from three sources, all turned into :class:`Incident` objects whose every random
attribute (priority, on-scene time, transport, handover) is drawn when the call is made, from
a stream that does not depend on the plan (:func:`twin.random.stream` of the run seed and a
purpose): common random numbers hold across plans.

* background: a Poisson process per road node, its rate scaled by the people living nearest
  to it (:class:`BackgroundDemand`);
* scripted: a list of ``(time, type, priority, node)`` from the scenario;
* hazard signals from other models (:class:`HazardSignal`, see
  :meth:`twin.response.model.ResponseModel.signal`).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

from twin.random import stream

UNIT_TYPES: tuple[str, ...] = ("ambulance", "fire_engine", "police", "rescue_boat")
"""Kinds of response unit, as in plan files (a test holds them equal to the plan schema's
``UnitType``)."""

DAY = 86400.0
"""Seconds in a day."""


@dataclass(frozen=True)
class IncidentProfile:
    """What an incident of one type needs and how long it keeps units busy.

    Attributes
    ----------
    needs
        Units required, by unit type (e.g. ``{"ambulance": 1, "police": 1}``).
    priorities
        Probability of priority 1, 2 and 3 for background calls.
    on_scene_mean
        Mean time units spend on scene (s).
    on_scene_cv
        Coefficient of variation of the on-scene time; 1 draws it exponential, other values
        lognormal with that mean and CV.
    transport_share
        Share of incidents whose patient an ambulance takes to hospital (0-1).
    handover_mean
        Mean time an ambulance spends at hospital handing over (s, exponential).
    """

    needs: dict[str, int]
    priorities: tuple[float, float, float] = (0.3, 0.5, 0.2)
    on_scene_mean: float = 1200.0
    on_scene_cv: float = 0.5
    transport_share: float = 0.0
    handover_mean: float = 900.0


PROFILES: dict[str, IncidentProfile] = {
    "medical": IncidentProfile({"ambulance": 1}, (0.3, 0.5, 0.2), 900.0, 0.5, 0.6, 900.0),
    "fire": IncidentProfile({"fire_engine": 2}, (0.5, 0.3, 0.2), 2700.0, 0.6),
    "traffic_accident": IncidentProfile(
        {"ambulance": 1, "police": 1}, (0.3, 0.5, 0.2), 1500.0, 0.5, 0.4
    ),
    "rescue": IncidentProfile({"fire_engine": 1}, (0.5, 0.4, 0.1), 2400.0, 0.6, 0.2),
    "water_rescue": IncidentProfile(
        {"rescue_boat": 1, "ambulance": 1}, (0.8, 0.2, 0.0), 1800.0, 0.5, 0.5
    ),
    "hazmat": IncidentProfile({"fire_engine": 1, "police": 1}, (0.4, 0.4, 0.2), 3600.0, 0.6),
    "police": IncidentProfile({"police": 1}, (0.2, 0.5, 0.3), 1800.0, 0.7),
    "crowd_crush": IncidentProfile(
        {"ambulance": 2, "police": 1}, (1.0, 0.0, 0.0), 1800.0, 0.5, 0.8
    ),
    "structural": IncidentProfile(
        {"fire_engine": 1, "ambulance": 1}, (0.9, 0.1, 0.0), 3600.0, 0.5, 0.3
    ),
}
"""Default profiles of every incident type. ``crowd_crush`` and ``structural`` come only from
hazard signals (the scenario schema has no background rate for them). The numbers are
illustrative planning values, not calibrated to a city."""


rng_for = stream
"""The random stream of one purpose of a run: :func:`twin.random.stream` (the one source of
randomness), under the name older callers use."""


@dataclass(eq=False)
class Incident:
    """One call for help and what became of it.

    Attributes
    ----------
    id
        Sequence number (0-based, in call order within the run).
    type, priority, node
        Kind (a key of :data:`PROFILES`), priority (1 most urgent) and road node index.
    call_time
        When the call came in (s since the run start).
    on_scene
        Time each unit stays on scene after it arrives (s).
    transport
        Whether an ambulance takes the patient to hospital.
    handover
        Time the transporting ambulance spends at hospital (s).
    needs
        Units required by type.
    source
        ``"background"``, ``"scripted"`` or the hazard signal's kind.
    first_arrival
        When the first unit arrived (s), or ``None``.
    unserved
        Why no unit arrived, or ``None``; exactly one of the two is set after a run.
    transported
        Whether an ambulance has taken the patient to hospital (set during the run).
    arrivals
        Arrival time of every unit (s), mutual aid included.
    """

    id: int
    type: str
    priority: int
    node: int
    call_time: float
    on_scene: float
    transport: bool
    handover: float
    needs: dict[str, int]
    source: str = "background"
    first_arrival: float | None = None
    unserved: str | None = None
    transported: bool = False
    arrivals: list[float] = field(default_factory=list)

    @property
    def response_time(self) -> float | None:
        """Call to first arrival (s), or ``None`` when no unit arrived."""
        return None if self.first_arrival is None else self.first_arrival - self.call_time


def draw_incident(
    u: np.ndarray,
    incident_id: int,
    type_: str,
    node: int,
    when: float,
    *,
    priority: int | None = None,
    source: str = "background",
    profiles: dict[str, IncidentProfile] = PROFILES,
) -> Incident:
    """Make an incident, its random attributes drawn from four uniforms ``u`` in [0, 1).

    Taking uniforms rather than a generator keeps the number of draws per call fixed, so
    streams stay aligned whatever happens elsewhere.

    Parameters
    ----------
    u
        Four uniform numbers: priority, on-scene time, transport, handover time.
    incident_id, type_, node, when
        Id, type, road node index and call time (s).
    priority
        Fixed priority, or ``None`` to draw it from the profile.
    source
        Where the call came from.
    profiles
        Incident profiles by type.
    """
    profile = profiles[type_]
    if priority is None:
        p1, p2, p3 = profile.priorities
        x = u[0] * (p1 + p2 + p3)
        priority = 1 if x < p1 else (2 if x < p1 + p2 else 3)
    mean, cv = profile.on_scene_mean, profile.on_scene_cv
    if cv == 1.0:
        on_scene = -mean * math.log1p(-u[1])
    else:
        sigma = math.sqrt(math.log1p(cv * cv))
        z = _NORMAL.inv_cdf(min(max(float(u[1]), 1e-12), 1 - 1e-12))
        on_scene = mean * math.exp(sigma * z - sigma * sigma / 2)
    return Incident(
        id=incident_id,
        type=type_,
        priority=priority,
        node=int(node),
        call_time=float(when),
        on_scene=float(on_scene),
        transport=bool(u[2] < profile.transport_share),
        handover=float(-profile.handover_mean * math.log1p(-u[3])),
        needs=dict(profile.needs),
        source=source,
    )


_NORMAL = NormalDist()


@dataclass(frozen=True)
class BackgroundDemand:
    """A Poisson stream of calls, by type, spread over road nodes by population.

    Parameters
    ----------
    rates
        Calls per second by incident type, for the whole area.
    weights
        Relative weight of each node (e.g. residents nearest to it); sums need not be 1.
    """

    rates: dict[str, float]
    weights: np.ndarray

    @classmethod
    def per_resident(
        cls, per_1000_per_day: dict[str, float], population: np.ndarray
    ) -> BackgroundDemand:
        """Rates in calls per 1000 residents per day, and residents per node."""
        people = float(np.sum(population))
        rates = {t: r * people / 1000.0 / DAY for t, r in per_1000_per_day.items() if r > 0}
        return cls(rates, np.asarray(population, dtype=float))

    @property
    def total_rate(self) -> float:
        """Calls per second of every type."""
        return float(sum(self.rates.values()))

    def types(self) -> set[str]:
        """Incident types with a positive rate."""
        return {t for t, r in self.rates.items() if r > 0}


@dataclass(frozen=True)
class ScriptedCall:
    """An incident at a fixed time and node (from the scenario or a drill inject)."""

    at: float
    type: str
    priority: int
    node: int
    description: str = ""


_BLOCK = 256
"""Background calls drawn at once."""


def background_calls(
    model, demand: BackgroundDemand, rng: np.random.Generator, profiles: dict
) -> Generator:
    """SimPy process: Poisson calls of ``demand`` passed to ``model.call``.

    Each call takes seven uniforms (gap, type, node, then four for :func:`draw_incident`),
    drawn in blocks, so the stream never depends on what the model does with the calls.
    """
    env = model.env
    types = sorted(demand.rates)
    type_cdf = np.cumsum([demand.rates[t] for t in types]) / demand.total_rate
    node_cdf = np.cumsum(demand.weights) / np.sum(demand.weights)
    mean_gap = 1.0 / demand.total_rate
    while True:
        block = rng.random((_BLOCK, 7))
        gaps = -mean_gap * np.log1p(-block[:, 0])
        kinds = np.minimum(np.searchsorted(type_cdf, block[:, 1], "right"), len(types) - 1)
        nodes = np.minimum(np.searchsorted(node_cdf, block[:, 2], "right"), len(node_cdf) - 1)
        for k in range(_BLOCK):
            yield env.timeout(gaps[k])
            model.call(
                draw_incident(
                    block[k, 3:],
                    len(model.incidents),
                    types[kinds[k]],
                    int(nodes[k]),
                    env.now,
                    profiles=profiles,
                )
            )


def scripted_calls(
    model, calls: list[ScriptedCall], rng: np.random.Generator, profiles: dict
) -> Generator:
    """SimPy process: the scripted calls, in time order, passed to ``model.call``."""
    env = model.env
    for c in sorted(calls, key=lambda c: c.at):
        if c.at > env.now:
            yield env.timeout(c.at - env.now)
        model.call(
            draw_incident(
                rng.random(4),
                len(model.incidents),
                c.type,
                c.node,
                env.now,
                priority=c.priority,
                source="scripted",
                profiles=profiles,
            )
        )


HAZARD_SIGNALS: dict[str, tuple[str, int]] = {
    "people_in_water": ("water_rescue", 1),
    "stranded_vehicle": ("rescue", 2),
    "crowd_density": ("crowd_crush", 1),
    "ground_collapse": ("structural", 1),
}
"""Hazard signal kind -> (incident type, priority) it raises."""

SIGNAL_THRESHOLDS: dict[str, tuple[str, float, str]] = {
    "people_in_water": ("flood hazard rating d x (v + 0.5) where people are", 0.75, "m2/s"),
    "stranded_vehicle": ("water depth on a road link carrying cars", 0.3, "m"),
    "crowd_density": ("pedestrian density on a walk link", 5.0, "1/m2"),
    "ground_collapse": ("a collapse event of the scenario (no threshold)", 0.0, "-"),
}
"""When a model should raise each signal: (quantity, threshold, unit). The reporting model
(through twin/coupling) applies them; the response model takes the signal as given.

* ``people_in_water``: Defra/EA FD2321 hazard rating above 0.75 ("danger for some");
* ``stranded_vehicle``: 0.3 m of water stalls and floats most cars;
* ``crowd_density``: above 5 persons/m2 crowd pressure can injure (Fruin level of
  service F; the crowd model's crush threshold);
* ``ground_collapse``: raised by the scenario timeline at the hazard's time.
"""


@dataclass(frozen=True)
class HazardSignal:
    """A hazard another model reports to the response model
    (:meth:`~twin.response.model.ResponseModel.signal`).

    The interface for the flood, traffic and crowd models (through twin/coupling): each
    coupling interval, report what crossed a threshold of :data:`SIGNAL_THRESHOLDS` at the
    road node nearest to it (:meth:`twin.response.network.CityNetwork.snap` for a place,
    ``RoadTravel.nearest`` for projected x, y); give each hazard a stable ``key`` so that
    reporting it again raises no new call.

    Attributes
    ----------
    kind
        One of :data:`HAZARD_SIGNALS`: ``people_in_water`` (flood: people in water deeper than
        the safe limit), ``stranded_vehicle`` (flood: a car stalled in water),
        ``crowd_density`` (crowd: density over the crush threshold), ``ground_collapse``.
    node
        Road node index nearest to where it happens.
    count
        Number of separate incidents it raises (e.g. people in water in separate places).
    key
        Identity of the hazard in the reporting model (e.g. ``"flood:cell:5512"``,
        ``"crowd:link:88"``); a key raises calls once per run, later signals with it are
        ignored. ``None``: every signal raises calls.
    """

    kind: str
    node: int
    count: int = 1
    key: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in HAZARD_SIGNALS:
            valid = ", ".join(sorted(HAZARD_SIGNALS))
            raise ValueError(f"unknown hazard signal {self.kind!r}; valid: {valid}")
        if self.count < 1:
            raise ValueError(f"count must be >= 1, got {self.count}")


def unit_types_needed(incident_types: set[str]) -> set[str]:
    """Unit types any of these incident types need."""
    return {u for t in incident_types for u in PROFILES[t].needs}
