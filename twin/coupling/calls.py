"""Hazards -> incidents: the calls for help that flooded streets, stranded cars, dense crowds
and ground collapses raise, as plain records.

Each function takes the hazard's arrays at one exchange (time ``t``, s since the scenario
start) and returns :class:`Call` records, each saying what caused it. Conditions that
must hold "for a duration" are followed over exchanges by :class:`Episodes` (plain arrays
the caller keeps and passes back): an episode on a link starts at the first exchange the
condition is seen, raises one call once it has lasted ``duration``, and ends at the first
exchange the condition no longer holds (a new episode may then call again).

Randomness (which stranded drivers call, how many people a collapse hurts) comes only from
the :class:`numpy.random.Generator` passed in (:func:`twin.random.stream`, e.g.
``stream(seed, "calls.vehicles")``); each function draws a fixed amount of numbers for
its inputs (not depending on the probabilities), so the same generator state and inputs
give the same calls.

What each call needs (:data:`CALL_KINDS`) agrees with the response model's
``HAZARD_SIGNALS`` and ``PROFILES`` (:mod:`twin.response.incidents`), so the twin can pass a
call on as a ``HazardSignal`` (kind ``signal``) or as an incident of ``incident_type``.

Thresholds and their sources:

* water rescue: people on a walk link whose flood hazard rating (Defra/EA FD2321, see
  :mod:`twin.coupling.walkers`) is in at least the ``significant`` class ("danger for
  most", HR >= 1.25) for 120 s (defaults; the plan sets them);
* vehicle rescue: each vehicle a closure to cars strands
  (:func:`twin.coupling.roads.stranded_on_closing`) calls with a probability (default 1);
* crowd crush: walker density above 4 persons/m2 on a walk link for 60 s (the issue's
  example; the response model's ``SIGNAL_THRESHOLDS`` names 5 /m2, Fruin's level of
  service F, which a plan may choose instead);
* ground collapse: one structural call at the collapse, and one casualty call per person
  hurt among those exposed (binomial with ``casualty_share``, an illustrative planning
  value, not a calibrated one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from twin.coupling.walkers import HAZARD_CLASSES, HAZARD_EDGES, HAZARD_MEANINGS

if TYPE_CHECKING:
    from twin.city.links import LinkIndex

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Call kind -> (response incident type, unit type sent first, priority 1-3, response
#: hazard signal kind or None).
CALL_KINDS: dict[str, tuple[str, str, int, str | None]] = {
    "water_rescue": ("water_rescue", "rescue_boat", 1, "people_in_water"),
    "vehicle_rescue": ("rescue", "fire_engine", 2, "stranded_vehicle"),
    "crowd_crush": ("crowd_crush", "ambulance", 1, "crowd_density"),
    "collapse": ("structural", "fire_engine", 1, "ground_collapse"),
    "collapse_casualty": ("medical", "ambulance", 1, None),
}


@dataclass(frozen=True)
class Call:
    """One call for help a hazard raised.

    Attributes
    ----------
    time
        When (s since the scenario start).
    node
        Road node index nearest to where it happens (the drive link index's nodes).
    priority
        1 (most urgent) to 3.
    unit_type
        The unit type sent first (``rescue_boat``, ``fire_engine``, ``ambulance``).
    kind
        One of :data:`CALL_KINDS`.
    cause
        What caused it, in words, with the numbers that crossed a threshold.
    key
        Stable identity of the hazard (``"water:walk:17@1800"``): the same hazard
        reported again carries the same key.
    count
        People or vehicles concerned (>= 1).
    """

    time: float
    node: int
    priority: int
    unit_type: str
    kind: str
    cause: str
    key: str
    count: int = 1

    @property
    def incident_type(self) -> str:
        """The response model's incident type for this call."""
        return CALL_KINDS[self.kind][0]

    @property
    def signal(self) -> str | None:
        """The response model's hazard signal kind, or None (a casualty call)."""
        return CALL_KINDS[self.kind][3]


def _call(kind: str, t: float, node: int, cause: str, key: str, count: int = 1) -> Call:
    _, unit, priority, _ = CALL_KINDS[kind]
    return Call(float(t), int(node), priority, unit, kind, cause, key, int(count))


# ------------------------------------------------------------------------------ episodes
@dataclass(frozen=True, eq=False)
class Episodes:
    """Per link: since when a condition has held, and whether its episode has called.

    Attributes
    ----------
    since
        (L,) time (s) the condition was first seen in the current episode; NaN: it does
        not hold now.
    called
        (L,) bool: the current episode has raised its call.
    """

    since: FloatArray
    called: BoolArray

    @classmethod
    def none(cls, n_links: int) -> Episodes:
        """No condition holding anywhere (the start of a run)."""
        return cls(np.full(n_links, np.nan), np.zeros(n_links, dtype=bool))


def update_episodes(
    episodes: Episodes, holds: np.ndarray, t: float, duration: float
) -> tuple[Episodes, BoolArray]:
    """Follow a condition to exchange time ``t`` (s).

    Parameters
    ----------
    episodes
        The state after the last exchange (:meth:`Episodes.none` at the start).
    holds
        (L,) bool: the condition holds now.
    t
        Time now (s).
    duration
        How long (s) it must have held, from the exchange it was first seen, to call.

    Returns
    -------
    episodes, due
        The new state, and (L,) bool the links whose episode calls now (once each).
    """
    holds = np.asarray(holds, dtype=bool)
    since = np.where(holds, np.where(np.isnan(episodes.since), t, episodes.since), np.nan)
    called = episodes.called & holds
    due = holds & ~called & (t - np.where(holds, since, t) >= duration)
    return Episodes(since, called | due), due


# ------------------------------------------------------------------------------- the calls
@dataclass(frozen=True)
class WaterRescueRules:
    """When people in floodwater call for rescue.

    Attributes
    ----------
    min_class
        Lowest hazard class that calls (index into :data:`HAZARD_CLASSES`; default 2,
        "significant": danger for most, HR >= 1.25).
    duration
        Seconds people must have been on a link of that class (s; default 120).
    """

    min_class: int = 2
    duration: float = 120.0

    def __post_init__(self) -> None:
        if not 1 <= self.min_class < len(HAZARD_CLASSES):
            raise ValueError(f"min_class is 1-3 (moderate-extreme), got {self.min_class}")
        if self.duration < 0:
            raise ValueError(f"duration must be >= 0 s, got {self.duration}")


def water_rescue_calls(
    t: float,
    people: np.ndarray,
    rating: np.ndarray,
    link_node: np.ndarray,
    episodes: Episodes,
    rules: WaterRescueRules | None = None,
) -> tuple[list[Call], Episodes]:
    """Water rescues: one call per walk link whose people have been in hazardous water
    (rating at least ``rules.min_class``) for ``rules.duration``.

    Parameters
    ----------
    t
        Time now (s).
    people
        (L,) people on each walk link now.
    rating
        (L,) hazard rating of each walk link (:attr:`twin.coupling.walkers.WalkFlood.rating`).
    link_node
        (L,) road node nearest each walk link (:func:`link_nodes`).
    episodes
        State from the last exchange.
    rules
        When to call (default :class:`WaterRescueRules()`).
    """
    r = rules if rules is not None else WaterRescueRules()
    people = np.asarray(people, dtype=np.float64)
    rating = np.asarray(rating, dtype=np.float64)
    holds = (people > 0) & (rating >= HAZARD_EDGES[r.min_class - 1])
    episodes, due = update_episodes(episodes, holds, t, r.duration)
    calls = []
    for i in np.flatnonzero(due).tolist():
        n = int(np.ceil(people[i]))
        level = int(np.searchsorted(HAZARD_EDGES, rating[i], "right"))
        cause = (
            f"{n} people in floodwater rated {rating[i]:.2f} ({HAZARD_MEANINGS[level]}) on walk "
            f"link {i} for {t - episodes.since[i]:.0f} s"
        )
        calls.append(_call("water_rescue", t, link_node[i], cause, f"water:walk:{i}@{t:g}", n))
    return calls, episodes


def vehicle_rescue_calls(
    t: float,
    vehicles: np.ndarray,
    vehicle_link: np.ndarray,
    link_node: np.ndarray,
    rng: np.random.Generator,
    *,
    call_probability: float = 1.0,
    depth: np.ndarray | None = None,
) -> list[Call]:
    """Vehicle rescues: each newly stranded vehicle calls with ``call_probability``.

    Parameters
    ----------
    t
        Time now (s).
    vehicles
        (K,) ids of the vehicles stranded at this exchange
        (``np.flatnonzero(stranded_on_closing(...))``).
    vehicle_link
        (K,) drive link each is stranded on.
    link_node
        (L,) road node of each drive link (e.g. its head, or :func:`link_nodes`).
    rng
        Draws one number per vehicle (whatever the probability).
    call_probability
        Share of stranded vehicles that call (0-1).
    depth
        (L,) water depth per drive link (m), named in the cause if given.
    """
    if not 0 <= call_probability <= 1:
        raise ValueError(f"call_probability is 0-1, got {call_probability}")
    vehicles = np.asarray(vehicles, dtype=np.int64)
    links = np.asarray(vehicle_link, dtype=np.int64)
    calling = rng.random(vehicles.size) < call_probability
    calls = []
    for v, link in zip(vehicles[calling].tolist(), links[calling].tolist(), strict=True):
        water = f" under {depth[link]:.2f} m of water" if depth is not None else ""
        cause = f"vehicle {v} stranded on drive link {link}, closed to cars{water}"
        calls.append(_call("vehicle_rescue", t, link_node[link], cause, f"vehicle:{v}"))
    return calls


@dataclass(frozen=True)
class CrushRules:
    """When a dense crowd raises a crush call.

    Attributes
    ----------
    density
        Density (persons/m2) above which a walk link is dangerous (default 4).
    duration
        Seconds it must stay above (s; default 60).
    """

    density: float = 4.0
    duration: float = 60.0

    def __post_init__(self) -> None:
        if not self.density > 0 or self.duration < 0:
            raise ValueError("need density > 0 persons/m2 and duration >= 0 s")


def crowd_crush_calls(
    t: float,
    density: np.ndarray,
    link_node: np.ndarray,
    episodes: Episodes,
    rules: CrushRules | None = None,
) -> tuple[list[Call], Episodes]:
    """Crowd-crush calls: one per walk link whose density has stayed above
    ``rules.density`` for ``rules.duration``.

    Parameters
    ----------
    t
        Time now (s).
    density
        (L,) walkers per m2 on each walk link (``CrowdModel.density()``).
    link_node, episodes
        As :func:`water_rescue_calls`.
    rules
        When to call (default :class:`CrushRules()`).
    """
    r = rules if rules is not None else CrushRules()
    density = np.asarray(density, dtype=np.float64)
    episodes, due = update_episodes(episodes, density > r.density, t, r.duration)
    calls = []
    for i in np.flatnonzero(due).tolist():
        cause = (
            f"crowd density {density[i]:.1f} /m2 above {r.density:g} /m2 on walk link {i} "
            f"for {t - episodes.since[i]:.0f} s"
        )
        calls.append(_call("crowd_crush", t, link_node[i], cause, f"crush:walk:{i}@{t:g}"))
    return calls, episodes


def collapse_calls(
    t: float,
    node: int,
    rng: np.random.Generator,
    *,
    name: str,
    people_exposed: int = 0,
    casualty_share: float = 0.1,
) -> list[Call]:
    """A ground collapse's calls: one structural call, and one casualty call per person
    hurt, ``Binomial(people_exposed, casualty_share)`` of those on the streets it closes.

    Parameters
    ----------
    t
        Time of the collapse (s).
    node
        Road node nearest to it.
    rng
        Draws one binomial number.
    name
        The hazard's name or field (``"hazards.2"``), named in the causes and keys.
    people_exposed
        Walkers and vehicle occupants on the links the collapse closes.
    casualty_share
        Chance that each is hurt (0-1; an illustrative planning value).
    """
    if not 0 <= casualty_share <= 1 or people_exposed < 0:
        raise ValueError("need 0 <= casualty_share <= 1 and people_exposed >= 0")
    hurt = int(rng.binomial(int(people_exposed), casualty_share))
    calls = [_call("collapse", t, node, f"ground collapse {name}", f"collapse:{name}")]
    calls += [
        _call(
            "collapse_casualty",
            t,
            node,
            f"person {k + 1} of {hurt} hurt among {people_exposed} exposed to ground collapse "
            f"{name}",
            f"collapse:{name}:casualty:{k}",
        )
        for k in range(hurt)
    ]
    return calls


def link_nodes(links: LinkIndex, road: LinkIndex) -> IntArray:
    """(L,) road node nearest the middle of each link's drawn geometry: where a call about
    that link is sent (a walk link's calls go to the street node beside it).

    Parameters
    ----------
    links
        The links the calls are about (walk or drive link index).
    road
        The drive link index whose nodes units drive to (same CRS).
    """
    import shapely

    if links.n_links == 0:
        return np.zeros(0, dtype=np.int64)
    mid = shapely.line_interpolate_point(links.lines(), 0.5, normalized=True)
    node, _ = road.nearest_nodes(shapely.get_x(mid), shapely.get_y(mid))
    return node
