"""The city's vital signs (:data:`twin.metrics.vitals.VITALS`) read off the models and the
exchange after an exchange: network speed, closures, water, people in hazard, the
evacuation (walkers and cars, :class:`twin.coupling.shelters.CarShelters`), stranded
vehicles, units, incidents, shelter and hospital load, the warning level."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from twin.metrics.vitals import VITALS

if TYPE_CHECKING:
    from twin.coupling.exchange import Exchange

__all__ = ["vital_signs"]

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
