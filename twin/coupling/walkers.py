"""Flood -> walkers: water depth, velocity and the Defra/EA hazard rating on each walk link.

The same sampler as the roads (:func:`twin.coupling.roads.sample_links_on_grid`, on the walk
link index) reads the flood's depth and speed along every walk link; each sample gets the
hazard rating of FD2321 and each link the rating of its worst point, the class of that
rating, and what it means for walkers (slowed, avoided, counted as people in hazard).

References
----------
Defra / Environment Agency (2006). *Flood Risks to People, Phase 2*, R&D Technical Report
FD2321/TR2 (HR Wallingford, Flood Hazard Research Centre, Risk & Policy Analysts), with
the hazard rating also in the guidance document FD2321/TR1::

    HR = d (v + 0.5) + DF        d: depth (m), v: velocity (m/s), DF: debris factor

Debris factor (FD2321/TR2 Table 3.1, "guidance on debris factors for different flood
depths, velocities and dominant land uses"), as implemented here (rows checked in order):

    ===============================  ================  ========  =====
    depth d, velocity v              pasture / arable  woodland  urban
    ===============================  ================  ========  =====
    d < 0.25 m                       0                 0         0
    0.25 <= d <= 0.75 m and v <= 2   0                 0.5       1
    d > 0.75 m or v > 2 m/s          0.5               1         1
    ===============================  ================  ========  =====

(``land_use="none"``: DF = 0 everywhere, the plain ``d (v + 0.5)`` of the design notes and
the crowd model's default.) Hazard classes (FD2321/TR2 Table 13.1):

    ==========  ===========  ======================
    HR          class        meaning
    ==========  ===========  ======================
    < 0.75      low          caution
    0.75-1.25   moderate     danger for some
    1.25-2.0    significant  danger for most
    > 2.0       extreme      danger for all
    ==========  ===========  ======================

The table's ranges share their edges; here each edge belongs to the higher class (HR =
1.25 is "significant", HR = 2.0 "extreme"), as the crowd model's ``rating >= threshold``
rules count it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from twin.crowd.kernels import wading_factor

if TYPE_CHECKING:
    from twin.coupling.roads import LinkSampler

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Lower edges (HR, m2/s) of the moderate, significant and extreme classes.
HAZARD_EDGES = (0.75, 1.25, 2.0)
#: Hazard class names, index = class number (0-3).
HAZARD_CLASSES = ("low", "moderate", "significant", "extreme")
#: What each class means for people (FD2321/TR2 Table 13.1).
HAZARD_MEANINGS = ("caution", "danger for some", "danger for most", "danger for all")
#: Debris factor per land use: (0.25 <= d <= 0.75 m and v <= 2 m/s, d > 0.75 m or v > 2 m/s).
DEBRIS_FACTORS: dict[str, tuple[float, float]] = {
    "pasture": (0.0, 0.5),
    "woodland": (0.5, 1.0),
    "urban": (1.0, 1.0),
    "none": (0.0, 0.0),
}
#: Depth (m) below which the debris factor is 0.
DEBRIS_DEPTH = 0.25
#: Depth (m) and velocity (m/s) above which the higher debris factor applies.
DEBRIS_DEEP, DEBRIS_FAST = 0.75, 2.0


def debris_factor(depth, velocity, land_use: str = "urban") -> FloatArray:
    """The debris factor DF of FD2321/TR2 Table 3.1 (see the module's table).

    Parameters
    ----------
    depth, velocity
        Water depth (m) and flow speed (m/s), broadcastable; the speed's magnitude is used.
    land_use
        ``"urban"`` (default), ``"woodland"``, ``"pasture"`` or ``"none"`` (DF = 0).
    """
    if land_use not in DEBRIS_FACTORS:
        raise ValueError(f"unknown land use {land_use!r}; valid: {', '.join(DEBRIS_FACTORS)}")
    mid, high = DEBRIS_FACTORS[land_use]
    d = np.asarray(depth, dtype=np.float64)
    v = np.abs(np.asarray(velocity, dtype=np.float64))
    return np.where(
        d < DEBRIS_DEPTH, 0.0, np.where((d > DEBRIS_DEEP) | (v > DEBRIS_FAST), high, mid)
    )


def hazard_rating(depth, velocity, land_use: str = "urban") -> FloatArray:
    """Flood hazard rating to people, ``HR = d (v + 0.5) + DF`` (FD2321/TR2).

    Parameters
    ----------
    depth, velocity
        Water depth (m; <= 0 is dry, HR 0) and flow speed (m/s, its magnitude).
    land_use
        Selects the debris factor (:func:`debris_factor`).

    Returns
    -------
    numpy.ndarray
        Ratings (FD2321's units, m2/s), broadcast shape.
    """
    d = np.maximum(np.asarray(depth, dtype=np.float64), 0.0)
    v = np.abs(np.asarray(velocity, dtype=np.float64))
    return d * (v + 0.5) + debris_factor(d, v, land_use)


def hazard_class(rating) -> NDArray[np.int8]:
    """Hazard class of ratings: 0 low, 1 moderate, 2 significant, 3 extreme
    (:data:`HAZARD_CLASSES`; an edge belongs to the higher class)."""
    return np.searchsorted(HAZARD_EDGES, np.asarray(rating, dtype=np.float64), "right").astype(
        np.int8
    )


@dataclass(frozen=True, eq=False)
class WalkFlood:
    """The water on each walk link now (arrays over the links, in index order).

    Attributes
    ----------
    rating
        (L,) largest hazard rating along the link (m2/s): the worst point a walker crosses.
    depth, velocity
        (L,) depth (m) and speed (m/s) at that worst point: what the crowd model's
        ``set_flood`` takes. Its own rating of the link then equals ``rating`` for
        ``land_use="none"`` with the crowd's default ``FloodRules`` (debris factor 0), and
        for ``"urban"`` with ``FloodRules(debris_factor=1.0, debris_depth=0.25)`` (but at
        exactly 0.25 m, where the crowd adds its factor only above the depth).
    depth_max
        (L,) deepest water along the link (m).
    hazard_class
        (L,) int8 class of ``rating`` (:func:`hazard_class`).
    """

    rating: FloatArray
    depth: FloatArray
    velocity: FloatArray
    depth_max: FloatArray
    hazard_class: NDArray[np.int8]


def walk_flood(
    sampler: LinkSampler, depth_grid: np.ndarray, speed_grid: np.ndarray, land_use: str = "urban"
) -> WalkFlood:
    """Depth, velocity and hazard rating on every walk link from the flood grid.

    Parameters
    ----------
    sampler
        From :func:`twin.coupling.roads.sample_links_on_grid` on the walk link index.
    depth_grid, speed_grid
        ``(ny, nx)`` water depth (m) and flow speed (m/s), e.g. ``FloodModel.h`` and
        ``FloodModel.speed()``.
    land_use
        Debris factor rule (:func:`debris_factor`).
    """
    d = np.maximum(sampler.values(depth_grid), 0.0)
    v = np.abs(sampler.values(speed_grid))
    hr = hazard_rating(d, v, land_use)
    worst = sampler.link_max(hr)
    if sampler.n_links:
        # first sample of each link at its worst rating
        idx = np.arange(sampler.n_samples)
        at_worst = np.where(hr == worst[sampler.link], idx, sampler.n_samples)
        pick = np.minimum.reduceat(at_worst, sampler.start)
    else:
        pick = np.zeros(0, dtype=np.int64)
    return WalkFlood(
        rating=worst,
        depth=d[pick],
        velocity=v[pick],
        depth_max=sampler.link_max(d),
        hazard_class=hazard_class(worst),
    )


@dataclass(frozen=True)
class WalkerRules:
    """How walkers meet floodwater (the plan sets them).

    Attributes
    ----------
    hazard_rating
        People on a link rated at least this are "in hazardous water" (default 0.75, the
        lower edge of "danger for some").
    avoid_rating
        Walkers do not enter links rated at least this, and routes avoid them (default
        1.25, "danger for most").
    wading_depth, wading_factor
        Walking speed falls linearly from 1 at 0 m to ``wading_factor`` at ``wading_depth``
        (m) and stays there: the crowd model's rule
        (:func:`twin.crowd.kernels.wading_factor`), a modelling assumption, not a
        published curve.
    """

    hazard_rating: float = 0.75
    avoid_rating: float = 1.25
    wading_depth: float = 0.5
    wading_factor: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.hazard_rating <= self.avoid_rating:
            raise ValueError(
                f"need 0 < hazard_rating <= avoid_rating, got {self.hazard_rating}, "
                f"{self.avoid_rating}"
            )
        if not (0 < self.wading_factor <= 1 and self.wading_depth > 0):
            raise ValueError("need 0 < wading_factor <= 1 and wading_depth > 0")


def walker_speed_factor(depth, rules: WalkerRules | None = None) -> FloatArray:
    """Share of dry walking speed left in water of a depth (m), 0-1 (:class:`WalkerRules`)."""
    r = rules if rules is not None else WalkerRules()
    depth = np.maximum(np.asarray(depth, dtype=np.float64), 0.0)
    return wading_factor(depth, r.wading_depth, r.wading_factor)


def avoided_links(rating, rules: WalkerRules | None = None) -> BoolArray:
    """(L,) bool: links walkers will not enter (rating >= ``rules.avoid_rating``)."""
    r = rules if rules is not None else WalkerRules()
    return np.asarray(rating, dtype=np.float64) >= r.avoid_rating


def in_hazard(rating, rules: WalkerRules | None = None) -> BoolArray:
    """(L,) bool: links whose people count as in hazardous water."""
    r = rules if rules is not None else WalkerRules()
    return np.asarray(rating, dtype=np.float64) >= r.hazard_rating


def people_by_class(people_per_link, classes) -> FloatArray:
    """People on links of each hazard class: (4,) counts for low, moderate, significant,
    extreme (a vital sign).

    Parameters
    ----------
    people_per_link
        (L,) people on each link now.
    classes
        (L,) hazard class of each link (:attr:`WalkFlood.hazard_class`).
    """
    return np.bincount(
        np.asarray(classes, dtype=np.int64),
        weights=np.asarray(people_per_link, dtype=np.float64),
        minlength=len(HAZARD_CLASSES),
    )


def walkers_in_hazard(status, link, rating, rules: WalkerRules | None = None) -> BoolArray:
    """(P,) bool: people of the crowd walking a link rated at least the hazard rating now.

    The same rule as the ``people_in_hazard`` vital sign, person by person: that count is
    ``walkers_in_hazard(...).sum()``.

    Parameters
    ----------
    status, link
        (P,) the crowd model's state codes (:mod:`twin.crowd.states`) and current link of
        each person (``CrowdModel.status``, ``CrowdModel.link``).
    rating
        (L,) hazard rating of each walk link (:attr:`WalkFlood.rating`, m2/s).
    rules
        Its ``hazard_rating`` is the threshold (default 0.75, "danger for some").
    """
    from twin.crowd.states import ON_LINK

    status = np.asarray(status)
    on = status == ON_LINK
    out = np.zeros(status.size, dtype=bool)
    links = np.asarray(link, dtype=np.int64)[on]
    out[on] = in_hazard(np.asarray(rating, dtype=np.float64)[links], rules)
    return out


def stranded_occupants(stranded, evacuee_vehicles, car_people) -> float:
    """People aboard the vehicles stranded so far (the car part of ``people_exposed``).

    A stranded vehicle was caught on a link when the water there closed it to cars (0.3 m
    by default, :class:`twin.coupling.roads.RoadThresholds`): at that depth a person's FD2321
    rating with the urban debris factor is at least ``0.3 x 0.5 + 1 = 1.15``, above
    "danger for some". An evacuating car counts the people the evacuee split put in it
    (:mod:`twin.coupling.evacuees`); any other vehicle (background traffic, a response
    unit) counts one person, its driver, because the traffic model does not know its
    occupancy: a lower bound.

    Parameters
    ----------
    stranded
        (V,) bool, vehicles stranded at any exchange so far (the exchange's ``stranded``).
    evacuee_vehicles, car_people
        (E,) vehicle index of each evacuating car and the people in it.
    """
    stranded = np.asarray(stranded, dtype=bool)
    cars = np.asarray(evacuee_vehicles, dtype=np.int64)
    people = np.ones(stranded.size)
    inside = cars < stranded.size
    people[cars[inside]] = np.asarray(car_people, dtype=np.float64)[inside]
    return float(people[stranded].sum())
