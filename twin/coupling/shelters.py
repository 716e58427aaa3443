"""crowd <-> traffic: evacuating drivers go to shelters, and shelters fill from both.

At set-up (:func:`nearest_shelters`, called by :mod:`twin.coupling.traffic_setup`) each
evacuating car is sent to the shelter nearest its start by road (link lengths; the crowd's
shelters, each at the drive junction nearest it within :data:`MAX_SHELTER_SNAP`), if one
lies within the drive limit (the plan's ``max_shelter_drive``, :func:`max_drive`; default
:data:`DEFAULT_MAX_DRIVE`: none); otherwise it leaves for the
zone's edge as before. Cars on a plan's evacuation route for cars go to the route's shelter.

In the run (:class:`CarShelters`, every exchange) the cars that have arrived at a shelter
since the last exchange are counted in, in order of arrival time, with their people (each
car's people from the split, :mod:`twin.coupling.evacuees`): the shelter's places are the
crowd's (:meth:`twin.crowd.destinations.DestinationTable.admit_by_car`), shared with the
walkers. People a full shelter cannot take are counted as overflow (as the walkers are) and
drive on, in the same car, to the next shelter nearest by road with room left (a new trip
of the traffic model, starting at the shelter's junction at the exchange time); with none
left within the drive limit they are reported unsheltered. Cars are admitted at the
exchange after they arrive, so a walker arriving within the same interval is served first:
the order between the modes is exact to one exchange interval.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from twin.crowd.model import CrowdModel
    from twin.scenario.plan import Plan
    from twin.traffic.model import TrafficModel
    from twin.traffic.network import RoadNetwork

__all__ = [
    "DEFAULT_MAX_DRIVE",
    "MAX_SHELTER_SNAP",
    "CarShelters",
    "max_drive",
    "nearest_shelters",
    "road_distances",
    "shelter_junctions",
]

DEFAULT_MAX_DRIVE = math.inf
"""Most road distance (m) a car is sent to a shelter when the plan sets no
``max_shelter_drive``: no limit, any shelter on the map (a car with none within the limit
leaves for the zone's edge)."""


def max_drive(plan: Plan | None) -> float:
    """The drive limit (m) of a plan: its ``max_shelter_drive``, else
    :data:`DEFAULT_MAX_DRIVE` (no limit)."""
    limit = None if plan is None else plan.max_shelter_drive
    return DEFAULT_MAX_DRIVE if limit is None else float(limit)


MAX_SHELTER_SNAP = 250.0
"""Most distance (m) from a shelter to the drive junction cars stop at (as for routes'
waypoints); a shelter farther from every road takes walkers only."""
_ARRIVED = 2  # the traffic model's status of a vehicle at its destination


def road_distances(net: RoadNetwork, targets: np.ndarray) -> np.ndarray:
    """(K, N) shortest road distance (m) from every node of ``net`` to each of the ``K``
    ``targets`` (node indices), on link lengths, one-way streets respected (inf: no way)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    n = net.n_nodes
    a = np.asarray(net.link_from, dtype=np.int64)
    b = np.asarray(net.link_to, dtype=np.int64)
    w = np.maximum(np.asarray(net.length, dtype=np.float64), 1e-3)  # a 0 m link stays a link
    order = np.lexsort((w, a, b))  # the shortest of parallel links first
    a, b, w = a[order], b[order], w[order]
    first = np.ones(a.size, dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    graph = csr_matrix((w[first], (b[first], a[first])), shape=(n, n))  # reversed
    targets = np.atleast_1d(np.asarray(targets, dtype=np.int64))
    if targets.size == 0:
        return np.zeros((0, n))
    return np.atleast_2d(dijkstra(graph, directed=True, indices=targets))


def shelter_junctions(net: RoadNetwork, xy: np.ndarray) -> np.ndarray:
    """The drive junction (node index) nearest each shelter at ``xy`` ((K, 2) m), -1 where
    farther than :data:`MAX_SHELTER_SNAP`."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if xy.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    node, gap = net.link_index()[0].nearest_nodes(xy[:, 0], xy[:, 1])
    return np.where(np.asarray(gap) <= MAX_SHELTER_SNAP, node, -1).astype(np.int64)


def nearest_shelters(
    net: RoadNetwork,
    start: np.ndarray,
    extra: np.ndarray,
    junctions: np.ndarray,
    *,
    limit: float = DEFAULT_MAX_DRIVE,
) -> tuple[np.ndarray, np.ndarray]:
    """The shelter nearest by road to each start, within ``limit`` (m).

    Parameters
    ----------
    net
        The drive network.
    start, extra
        (M,) node each trip leaves from and metres it drives before it (the rest of the
        link it starts inside).
    junctions
        (K,) the shelters' junctions (:func:`shelter_junctions`; -1: not by a road).
    limit
        Most road distance (m).

    Returns
    -------
    shelter, distance
        (M,) index of the shelter (-1: none within the limit) and its road distance (m).
    """
    start = np.asarray(start, dtype=np.int64)
    best = np.full(start.size, -1, dtype=np.int64)
    dist = np.full(start.size, np.inf)
    usable = np.flatnonzero(junctions >= 0)
    if usable.size == 0 or start.size == 0:
        return best, dist
    d = road_distances(net, junctions[usable])[:, start] + np.asarray(extra)[None, :]
    k = np.argmin(d, axis=0)
    dist = d[k, np.arange(start.size)]
    ok = dist <= limit
    best[ok] = usable[k[ok]]
    return best, np.where(ok, dist, np.inf)


class CarShelters:
    """The evacuating cars' people and the shelters they fill (see the module notes).

    Parameters
    ----------
    traffic, crowd
        The traffic model and the crowd model whose ``"shelters"`` destinations the cars
        fill.
    cars, people, shelter
        (M,) the evacuating vehicles, the people in each, and the shelter each drives to
        (index among the crowd's shelters at set-up, in order; -1: the zone's edge).
    limit
        Most road distance (m) to the next shelter after a full one.
    """

    def __init__(
        self,
        traffic: TrafficModel,
        crowd: CrowdModel,
        cars: np.ndarray,
        people: np.ndarray,
        shelter: np.ndarray,
        *,
        limit: float = DEFAULT_MAX_DRIVE,
    ) -> None:
        self.traffic, self.crowd, self.limit = traffic, crowd, float(limit)
        self.cars = np.asarray(cars, dtype=np.int64)
        d = crowd.dests
        group = d.group_names.index("shelters")
        members = np.flatnonzero(d.group == group)
        n = traffic.n_vehicles
        self.people = np.zeros(n, dtype=np.int64)
        """People aboard each vehicle now (0: none of the evacuation's)."""
        self.people[self.cars] = people
        self.load = self.people.copy()
        """People each evacuating car set off with."""
        self.target = np.full(n, -1, dtype=np.int64)
        """Destination (crowd index) each vehicle drives to (-1: no shelter)."""
        shelter = np.asarray(shelter, dtype=np.int64)
        self.target[self.cars] = np.where(shelter >= 0, members[np.maximum(shelter, 0)], -1)
        self.done = np.zeros(n, dtype=bool)
        """Vehicles whose arrival was counted."""
        self.unsheltered = 0
        """People by car left with no shelter with room within reach."""
        self.continued = 0
        """Trips on to a next shelter after a full one."""
        self._nodes: tuple[int, np.ndarray, np.ndarray] | None = None

    def _grow(self) -> None:
        extra = self.traffic.n_vehicles - self.people.size
        if extra > 0:
            self.people = np.concatenate([self.people, np.zeros(extra, np.int64)])
            self.load = np.concatenate([self.load, np.zeros(extra, np.int64)])
            self.target = np.concatenate([self.target, np.full(extra, -1, np.int64)])
            self.done = np.concatenate([self.done, np.zeros(extra, bool)])

    def _junctions(self) -> tuple[np.ndarray, np.ndarray]:
        """Each destination's drive junction (-1: none or not a shelter) and the (K, N)
        road distances to the shelters' junctions; recomputed when a shelter opens."""
        d = self.crowd.dests
        if self._nodes is None or self._nodes[0] != d.size:
            net = self.crowd.net
            xy = np.column_stack([net.x[d.node], net.y[d.node]])
            node = shelter_junctions(self.traffic.net, xy)
            node[d.group != d.group_names.index("shelters")] = -1
            dist = road_distances(self.traffic.net, np.maximum(node, 0))
            self._nodes = (d.size, node, dist)
        return self._nodes[1], self._nodes[2]

    def update(self, t: float) -> tuple[int, int, int]:
        """Count in the cars arrived at shelters by ``t`` (s) and send on the people a full
        shelter turns away. Returns people counted in, people sent on and people left with
        no shelter, at this exchange."""
        self._grow()
        v = self.traffic._v
        n = self.traffic.n_vehicles
        arrived = (v.status[:n] == _ARRIVED) & ~self.done & (self.target >= 0)
        ids = np.flatnonzero(arrived)
        if ids.size == 0:
            return 0, 0, 0
        ids = ids[np.lexsort((ids, v.t_arrive[ids]))]  # in order of arrival
        self.done[ids] = True
        dests = self.crowd.dests
        where = self.target[ids]
        taken = dests.admit_by_car(where, self.people[ids])
        rest = self.people[ids] - taken
        self.people[ids] = 0
        turned = rest > 0
        if not turned.any():
            return int(taken.sum()), 0, 0
        ids, where, rest = ids[turned], where[turned], rest[turned]
        node, dist = self._junctions()
        open_ = (node >= 0) & (dests.room() >= 1)
        cost = np.where(open_[:, None], dist[:, node[where]], np.inf)  # (K dests, m cars)
        cost[where, np.arange(where.size)] = np.inf  # not the full one again
        nxt = np.argmin(cost, axis=0)
        ok = cost[nxt, np.arange(where.size)] <= self.limit
        self.unsheltered += int(rest[~ok].sum())
        if ok.any():
            depart = np.full(int(ok.sum()), max(float(t), self.traffic.time))
            new = self.traffic.add_vehicles(node[where[ok]], node[nxt[ok]], depart)
            self._grow()
            self.people[new] = rest[ok]
            self.target[new] = nxt[ok]
            self.continued += int(ok.sum())
        return int(taken.sum()), int(rest[ok].sum()), int(rest[~ok].sum())

    def vitals(self, out: dict[str, float], walked: float, sheltered: float) -> None:
        """Write the evacuation's vital signs into ``out``, given the walkers who have left
        and those counted in at shelters: ``people_evacuated`` (walkers left plus the
        people of evacuating cars that left), ``people_sheltered`` (walkers plus people by
        car counted in), ``people_out_of_zone`` (sheltered walkers plus the people of
        evacuating cars arrived, at a shelter or at the zone's edge) and ``shelter_load``
        (people by both modes over the shelters' places)."""
        self._grow()
        status = self.traffic._v.status[self.cars]
        d = self.crowd.dests
        sel = d.group == d.group_names.index("shelters")
        by_car = float(d.by_car[sel].sum())
        cap = float(d.capacity[sel].sum())
        inside = float(d.occupancy[sel].sum()) + by_car
        out["shelter_load"] = inside / cap if cap > 0 else 0.0
        out["people_evacuated"] = walked + float(self.load[self.cars][status != 0].sum())
        out["people_sheltered"] = sheltered + by_car
        out["people_out_of_zone"] = sheltered + float(self.load[self.cars][status == 2].sum())

    # ------------------------------------------------------------------ state
    def snapshot(self) -> dict[str, Any]:
        """Arrays of the state (the shelters' counts are the crowd's, in its snapshot)."""
        self._grow()
        return {
            "cars.people": self.people,
            "cars.load": self.load,
            "cars.target": self.target,
            "cars.done": self.done,
            "cars.counts": np.array([self.unsheltered, self.continued], dtype=np.int64),
        }

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        """Put a fresh bookkeeper into a snapshot's state."""
        self.people = np.asarray(arrays["cars.people"], dtype=np.int64).copy()
        self.load = np.asarray(arrays["cars.load"], dtype=np.int64).copy()
        self.target = np.asarray(arrays["cars.target"], dtype=np.int64).copy()
        self.done = np.asarray(arrays["cars.done"]).astype(bool)
        self.unsheltered, self.continued = (int(x) for x in arrays["cars.counts"])
        self._nodes = None
