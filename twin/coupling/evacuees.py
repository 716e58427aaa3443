"""Who leaves under an evacuation order, split once per building into walkers and drivers.

The crowd set-up (:mod:`twin.coupling.crowd_setup`) and the traffic set-up
(:mod:`twin.coupling.traffic_setup`) both call :func:`split_evacuees` with the run seed, so
they read the same split (one random stream, ``evacuation.split``): no evacuee walks and
drives, none is left out. Per ordered building ``b``:

1. evacuees ``E_b``: its ``occupants`` times ``compliance``, rounded without bias (floor
   plus a Bernoulli draw of the remainder);
2. people by car ``P_b ~ Binomial(E_b, car_share)`` (each evacuee chooses alone), walkers
   ``W_b = E_b - P_b``;
3. cars ``C_b``: ``P_b / persons_per_car`` rounded without bias, at least one when
   ``P_b > 0`` and at most ``P_b`` (each car has its driver); the ``P_b`` people are shared
   out over the ``C_b`` cars as evenly as whole people allow.

So ``sum(W_b) + sum(people per car) = sum(E_b)`` exactly, and the mean occupancy of a car
is close to ``persons_per_car`` (the traffic model's
:data:`twin.traffic.demand.PERSONS_PER_CAR` by default; the scenario has no occupancy field).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from twin.crowd.sources import round_people
from twin.errors import Problem, UserInputError
from twin.random import stream
from twin.traffic.demand import PERSONS_PER_CAR, building_key

if TYPE_CHECKING:
    from twin.city.pack import CityPack
    from twin.scenario.demand import Evacuation

__all__ = ["EvacueeSplit", "ordered_buildings", "split_evacuees"]


@dataclass(frozen=True)
class EvacueeSplit:
    """The evacuees of an order, per building of the city (length = the pack's buildings).

    Attributes
    ----------
    evacuees
        People who obey the order, per building (0 for buildings not ordered).
    walkers, cars
        Of them, people who walk, and cars that leave, per building.
    car_people
        People in each car, in the order of ``numpy.repeat(arange(n_buildings), cars)``.
    """

    evacuees: np.ndarray
    walkers: np.ndarray
    cars: np.ndarray
    car_people: np.ndarray

    @property
    def people_by_car(self) -> np.ndarray:
        """People who leave by car, per building."""
        return self.evacuees - self.walkers


def ordered_buildings(pack: CityPack, order: Evacuation) -> tuple[np.ndarray, str]:
    """Mask of the pack's buildings an order covers (a footprint's representative point in
    ``order.zone``, or its OSM id in ``order.buildings``: ``way/123`` or ``123``), and the
    order's field.

    Raises
    ------
    twin.errors.UserInputError
        If a listed building is not in the city, or no building is ordered.
    """
    import shapely
    from pyproj import Transformer

    b = pack.buildings
    if order.zone is not None:
        to = Transformer.from_crs("EPSG:4326", pack.crs, always_xy=True)
        xs, ys = to.transform(*np.asarray(order.zone, dtype=np.float64).T)
        poly = shapely.Polygon(np.column_stack([xs, ys]))
        pts = b.geometry.representative_point()
        inside = shapely.contains_xy(poly, pts.x.to_numpy(), pts.y.to_numpy())
        where = "demand.evacuation.zone"
    else:
        ids = b["osm_id"].astype(str)
        known = set(ids)
        wanted = {ref: building_key(ref, known) for ref in order.buildings or []}
        missing = [ref for ref, key in wanted.items() if key not in known]
        if missing:
            raise UserInputError(
                Problem(
                    f"unknown building(s) {missing[:5]}",
                    field="demand.evacuation.buildings",
                    fix="use OSM ids of the map's buildings, e.g. 'way/123456' or '123456'",
                )
            )
        inside = ids.isin(set(wanted.values())).to_numpy()
        where = "demand.evacuation.buildings"
    if not inside.any():
        raise UserInputError(
            Problem(
                f"no building of {pack.name} is in the evacuation order",
                field=where,
                fix="draw the zone around buildings, or list OSM ids like 'way/123456'",
            )
        )
    return np.asarray(inside, dtype=bool), where


def split_evacuees(
    pack: CityPack,
    order: Evacuation,
    seed: int,
    *,
    persons_per_car: float = PERSONS_PER_CAR,
) -> EvacueeSplit:
    """The evacuees of ``order`` split once into walkers and cars (see the module notes).

    Parameters
    ----------
    pack, order
        The city and the scenario's ``demand.evacuation``.
    seed
        Run seed (stream ``evacuation.split``): the same seed gives the same split to
        every model.
    persons_per_car
        Mean people per evacuating car (> 0).

    Raises
    ------
    twin.errors.UserInputError
        As :func:`ordered_buildings`.
    """
    if not persons_per_car > 0:
        raise ValueError(f"persons_per_car must be > 0, got {persons_per_car!r}")
    inside, _ = ordered_buildings(pack, order)
    rng = stream(seed, "evacuation.split")
    occupants = np.nan_to_num(pack.buildings["occupants"].to_numpy(dtype=np.float64))
    expected = np.where(inside, np.maximum(occupants, 0.0) * order.compliance, 0.0)
    evacuees = round_people(expected, rng)
    by_car = rng.binomial(evacuees, order.car_share).astype(np.int64)
    cars = np.clip(round_people(by_car / persons_per_car, rng), np.minimum(by_car, 1), by_car)
    car_people = np.zeros(int(cars.sum()), dtype=np.int64)
    if car_people.size:
        owner = np.repeat(np.arange(cars.size), cars)
        k = np.arange(car_people.size) - np.repeat(np.cumsum(cars) - cars, cars)
        share, extra = by_car[owner] // cars[owner], by_car[owner] % cars[owner]
        car_people = share + (k < extra)
    return EvacueeSplit(evacuees, evacuees - by_car, cars, car_people.astype(np.int64))
