"""The city's vital signs (:data:`twin.metrics.vitals.VITALS`) read off the models and the
exchange after an exchange: network speed, closures, water, people in hazard, the
evacuation (walkers and cars, :class:`twin.coupling.shelters.CarShelters`), stranded
vehicles, units, incidents, shelter and hospital load, the warning level; and
:class:`Exposure`, the people in hazardous water at any exchange so far, each counted
once (``people_exposed``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from twin.coupling.walkers import stranded_occupants, walkers_in_hazard
from twin.metrics.vitals import VITALS

if TYPE_CHECKING:
    from twin.coupling.exchange import Exchange

__all__ = ["Exposure", "vital_signs"]

_CLASSES = ("low", "moderate", "significant", "extreme")


def vital_signs(ex: Exchange, t: float) -> dict[str, float]:
    """The :data:`~twin.metrics.vitals.VITALS` after exchange ``ex`` at ``t`` (s)."""
    p = ex.parts
    traffic = p.traffic.model
    speed = traffic.speed()
    ratio = np.clip(speed / np.maximum(ex.free_speed, 1e-9), 0.0, 1.0)
    ratio = np.where(traffic.closed, 0.0, ratio)
    total = ex.length.sum()
    out = dict.fromkeys((v.name for v in VITALS), 0.0)
    out["network_speed_index"] = float((ratio * ex.length).sum() / total) if total else 1.0
    cars = ex.closed_cars | ex.hazard_closed
    em = ex.closed_emergency | ex.hazard_closed
    out["km_closed_cars"] = float(ex.length[cars].sum() / 1000.0)
    out["km_closed_emergency"] = float(ex.length[em].sum() / 1000.0)
    if p.flood is not None:
        depth, _ = ex.flood_grids(t)
        land = p.land
        out["flooded_area_m2"] = float(np.count_nonzero(depth[land] >= p.wet_depth)) * (p.cell_area)
        out["max_depth_m"] = float(depth[land].max(initial=0.0))
    out["people_in_hazard"] = ex.in_hazard_people
    for name, value in zip(_CLASSES, ex.people_hazard, strict=True):
        out[f"people_hazard_{name}"] = float(value)
    walked = sheltered = 0.0
    if p.crowd is not None and p.evacuee_people.size:
        st = p.crowd.model.status[p.evacuee_people]
        walked = float(np.count_nonzero(st != 0))
        sheltered = float(np.count_nonzero(st == 3))
    if ex.cars is not None:
        ex.cars.vitals(out, walked, sheltered)
    else:  # nobody walks: the cars' people only
        status = traffic._v.status[p.evacuee_vehicles]
        out["people_evacuated"] = float(p.car_people[status != 0].sum())
        out["people_out_of_zone"] = float(p.car_people[status == 2].sum())
    out["vehicles_stranded"] = float(ex.stranded.sum())
    r = p.response
    out["units_available"] = float(sum(u.state == "available" for u in r.units))
    out["open_incidents"] = float(
        sum(i.first_arrival is None and i.unserved is None for i in r.incidents)
    )
    loads = [
        (len([a for a in h.arrivals if a > t - 3600.0]) / h.per_hour) if h.per_hour else 0.0
        for h in r.hospitals
    ]
    out["hospital_load"] = float(max(loads, default=0.0))
    out["warning_level"] = float(ex.triggers.warning_level)
    return out


class Exposure:
    """People who were in hazardous water at any exchange so far, each counted once: the
    ``people_exposed`` vital sign (and, at the end of a run, KPI).

    Walkers are flagged person by person, the first exchange they walk a link rated at
    least the hazard rating (:func:`twin.coupling.walkers.walkers_in_hazard`, the rule of
    ``people_in_hazard``), and stay flagged: a walker seen in hazard at ten exchanges
    counts once. Car occupants are those of the vehicles stranded by a closure to cars
    (:func:`twin.coupling.walkers.stranded_occupants`). The flags are kept apart from the
    person-minutes (the integral of ``people_in_hazard``), which do not say who it was.

    The exchanges sample the walkers every interval (60 s by default): a walker who
    crosses a hazardous link between two exchanges is not seen, as in the person-minutes.

    Attributes
    ----------
    walkers
        (P,) bool over the crowd's people: flagged so far.
    """

    def __init__(self) -> None:
        self.walkers = np.zeros(0, dtype=bool)

    def update(self, ex: Exchange) -> float:
        """Flag the walkers in hazard after exchange ``ex``; people exposed so far."""
        p = ex.parts
        if p.crowd is not None:
            m = p.crowd.model
            if self.walkers.size < m.status.size:  # people added during the run
                grown = np.zeros(m.status.size, dtype=bool)
                grown[: self.walkers.size] = self.walkers
                self.walkers = grown
            rating = getattr(ex, "rating", None)  # set by the first exchange
            if rating is not None:
                self.walkers |= walkers_in_hazard(m.status, m.link, rating, ex.rules.walkers)
        cars = stranded_occupants(ex.stranded, p.evacuee_vehicles, p.car_people)
        return float(np.count_nonzero(self.walkers)) + cars
