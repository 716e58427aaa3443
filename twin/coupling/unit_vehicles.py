"""traffic <-> response: dispatched units drive as priority vehicles inside the traffic model.

Design, read as prose:

* When the response model sends a road unit somewhere (to a scene, a hospital, its
  station, a move-up), its trip process asks its driver (:class:`UnitVehicles`, plugged in
  as :attr:`twin.response.unit_trips.UnitTrips.driver`) instead of timing the drive on
  link times. The driver inserts one traffic vehicle flagged ``priority=True`` from the
  unit's node to the destination, departing now (the traffic model is at the last stop
  of the clock, at most one exchange interval behind; the departure time is exact). The
  traffic model routes it on its current link times and closures, and its kernel lets it
  pass queues (it waits behind only ``priority_share`` of a standing queue, see
  :mod:`twin.traffic.kernels`): jams and closures delay units through the traffic
  physics, not only through link times.
* A unit sent elsewhere while its vehicle is still on the road (a returning unit
  dispatched, a unit redirected to a more urgent call) keeps its vehicle:
  :meth:`TrafficModel.redirect <twin.traffic.model.TrafficModel.redirect>` gives it the new
  destination from the end of the link it is on. The redirect acts on the traffic model's
  state at the last stop, up to one exchange interval before the dispatch.
* At every exchange (:meth:`poll`, before the response model gets the road state) the
  driver looks at the vehicles of units on the move: an arrived vehicle makes its unit
  arrive now; the response model's log therefore records the arrival at the first
  exchange at or after the traffic vehicle's arrival, **at most one exchange interval
  late** (``0 <= logged - traffic arrival < exchange_every``).
* Stranded: a unit's vehicle whose destination no open road reaches any more (a closure
  cut it off; traffic closures are the car closures, see below) is stranded by the
  traffic model. The unit's drive then ends unarrived at the node the vehicle stopped at
  (the end of the link it was on, or its origin): the response model logs the scene
  ``unreachable`` for it and offers the call to another unit, and the unit drives home
  from there (a new vehicle). A vehicle on a link that closes under it drives out of the
  link (traffic's rule) and is rerouted from its end: the unit is delayed, not lost.
* Limits: inside the traffic model units obey the traffic closures, which close links to
  cars (0.3 m of water), not the emergency threshold (0.6 m) the dispatcher ranks units
  with; and the dispatcher's idea of where a moving unit is comes from the route the
  road state gave at its departure, not from its vehicle.
* Checkpoints: the response model's SimPy processes are rebuilt by replaying its inputs
  (:meth:`twin.coupling.exchange.Exchange.restore`). The driver records every drive it
  was asked for (unit, vehicle) and every outcome it gave (exchange time, unit, vehicle,
  arrived, node); the replay gives the same vehicles and outcomes at the same times
  without touching the traffic model (restored from its own snapshot), so a resumed run
  is the straight run bit for bit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from twin.traffic import kernels as kern

if TYPE_CHECKING:
    import simpy

    from twin.traffic.model import TrafficModel

__all__ = ["UnitVehicles"]


class UnitVehicles:
    """Drives response units as priority vehicles of a traffic model (see the module notes).

    Parameters
    ----------
    traffic
        The run's traffic model.
    env
        The run's SimPy environment (the response model's clock).
    to_traffic
        (N,) traffic node index of each response node (-1: not in the traffic network;
        units from or to such a node drive on the response model's link times).
    """

    def __init__(self, traffic: TrafficModel, env: simpy.Environment, to_traffic) -> None:
        self.traffic = traffic
        self.env = env
        self.to_traffic = np.asarray(to_traffic, dtype=np.int64)
        back = np.full(traffic.net.n_nodes, -1, dtype=np.int64)
        ok = self.to_traffic >= 0
        back[self.to_traffic[ok]] = np.flatnonzero(ok)
        self.to_response = back
        self.live: dict[int, tuple[int, simpy.Event, int]] = {}
        """Units on the move: unit id -> (vehicle id, its arrival event, destination)."""
        self.calls: list[tuple[int, int]] = []
        """Every drive asked for: (unit id, vehicle id; -1 when already there)."""
        self.outcomes: list[tuple[float, int, int, int, int, float]] = []
        """Every drive ended: (exchange time, unit id, vehicle id, arrived 0/1, node,
        the traffic vehicle's arrival or exit time (s))."""
        self.at: dict[int, int] = {}
        """Response node where each unit's last drive ended (all its road moves are
        drives here, so this is where it is; a unit never driven is where the response
        model says)."""
        self._replay: tuple[list, list] | None = None

    # ------------------------------------------------------------------ the driver
    def drive(self, unit: Any, origin: int, destination: int) -> simpy.Event | None:
        """Start ``unit``'s drive from response node ``origin`` to ``destination`` now
        (see :class:`twin.response.unit_trips.Driver`); ``None`` for a node outside the
        traffic network."""
        if self.to_traffic[origin] < 0 or self.to_traffic[destination] < 0:
            return None
        done = self.env.event()
        previous = self.live.pop(unit.id, None)
        origin = self.at.get(unit.id, origin) if previous is None else origin
        if self._replay is not None:
            uid, vid = self._replay[0][len(self.calls)]
            if uid != unit.id:  # pragma: no cover - a replay that diverged is a bug
                raise RuntimeError(f"unit replay diverged: unit {unit.id}, recorded {uid}")
        else:
            vid = self._start(previous, origin, destination)
        self.calls.append((int(unit.id), int(vid)))
        if vid < 0:
            self.at[unit.id] = destination
            done.succeed((True, destination))
        else:
            self.live[unit.id] = (vid, done, destination)
        return done

    def _start(self, previous, origin: int, destination: int) -> int:
        """The vehicle that drives to ``destination``: the unit's own if it is still on
        the road (redirected), else a new priority vehicle from where the unit is."""
        tm = self.traffic
        dest = int(self.to_traffic[destination])
        start = int(self.to_traffic[origin])
        if previous is not None:
            vid = previous[0]
            if tm.redirect([vid], [dest]).size:
                return vid
            start = self._stop_node(vid, previous[2])  # done since the last exchange
        if start == dest:
            return -1
        return int(tm.add_vehicles([start], [dest], [max(self.env.now, tm.time)], True)[0])

    def _stop_node(self, vid: int, destination: int) -> int:
        """Traffic node where vehicle ``vid`` (bound for response node ``destination``)
        is or stopped: its destination if arrived, else the end of the link it is on, the
        last link of its path it entered, or its origin."""
        tm, v = self.traffic, self.traffic._v
        if v.status[vid] == kern.ARRIVED:
            return int(self.to_traffic[destination])
        if v.veh_link[vid] >= 0:
            return int(tm.net.link_to[v.veh_link[vid]])
        p, pos = int(v.path_id[vid]), int(v.pos[vid])
        if p >= 0 and pos > 0:
            return int(tm.net.link_to[tm._path_links[tm._path_ptr[p] + pos - 1]])
        return int(v.origin[vid])

    # ------------------------------------------------------------------ every exchange
    def poll(self, t: float) -> None:
        """At the exchange at ``t`` (s): units whose vehicle arrived arrive now, those
        whose vehicle is stranded stop where it did (their drive ends unarrived)."""
        if self._replay is not None:
            outcomes = self._replay[1]
            while len(self.outcomes) < len(outcomes) and outcomes[len(self.outcomes)][0] <= t:
                _, uid, _, arrived, node, _ = outcomes[len(self.outcomes)]
                self._end(int(uid), outcomes[len(self.outcomes)], bool(arrived), int(node))
            return
        v = self.traffic._v
        for uid in sorted(self.live):
            vid, _, dest = self.live[uid]
            status = int(v.status[vid])
            if status == kern.ARRIVED:
                node, arrived = dest, True
            elif status == kern.STRANDED:
                node, arrived = int(self.to_response[self._stop_node(vid, dest)]), False
            else:
                continue
            at = float(v.t_arrive[vid]) if np.isfinite(v.t_arrive[vid]) else float(t)
            self._end(uid, (float(t), uid, vid, int(arrived), node, at), arrived, node)

    def _end(self, uid: int, outcome: tuple, arrived: bool, node: int) -> None:
        _, done, _ = self.live.pop(uid)
        self.outcomes.append(tuple(outcome))
        self.at[uid] = node
        done.succeed((arrived, node))

    # ------------------------------------------------------------------ reading
    def vehicles(self) -> np.ndarray:
        """Ids of the traffic vehicles that carried units, in the order they were added."""
        ids = [vid for _, vid in self.calls if vid >= 0]
        return np.unique(np.asarray(ids, dtype=np.int64))

    def mask(self, n: int) -> np.ndarray:
        """(n,) bool: which of the first ``n`` traffic vehicles carry units."""
        out = np.zeros(n, dtype=bool)
        ids = self.vehicles()
        out[ids[ids < n]] = True
        return out

    def counts(self) -> dict[str, int]:
        """Unit vehicles by what the driver knows of them: ``vehicles`` added, ``driving``
        (a unit still on board), ``arrived`` and ``stranded`` drives (a redirected vehicle
        counts once per drive it ended)."""
        ended = np.asarray([o[3] for o in self.outcomes], dtype=np.int64)
        return {
            "vehicles": int(self.vehicles().size),
            "driving": len(self.live),
            "arrived": int((ended == 1).sum()),
            "stranded": int((ended == 0).sum()),
        }

    # ------------------------------------------------------------------ state
    def snapshot(self) -> dict[str, np.ndarray]:
        """The drives asked for and their outcomes (arrays for the checkpoint)."""
        return {
            "units.calls": np.asarray(self.calls, dtype=np.int64).reshape(-1, 2),
            "units.outcomes": np.asarray(self.outcomes, dtype=np.float64).reshape(-1, 6),
        }

    def start_replay(self, arrays: dict[str, np.ndarray]) -> None:
        """Replay a snapshot's drives (see the module notes) until :meth:`end_replay`."""
        calls = [
            tuple(int(x) for x in c)
            for c in np.asarray(arrays.get("units.calls", np.zeros((0, 2)))).tolist()
        ]
        outcomes = [
            (o[0], int(o[1]), int(o[2]), int(o[3]), int(o[4]), o[5])
            for o in np.asarray(arrays.get("units.outcomes", np.zeros((0, 6)))).tolist()
        ]
        self.calls, self.outcomes, self.live, self.at = [], [], {}, {}
        self._replay = (calls, outcomes)

    def end_replay(self) -> None:
        """Back to live driving; every recorded drive and outcome must have been replayed."""
        calls, outcomes = self._replay or ([], [])
        self._replay = None
        if len(self.calls) != len(calls) or len(self.outcomes) != len(outcomes):
            raise RuntimeError(  # pragma: no cover - a replay that diverged is a bug
                f"unit replay: {len(self.calls)}/{len(calls)} drives, "
                f"{len(self.outcomes)}/{len(outcomes)} outcomes"
            )
