"""Traffic outputs: trip records, link time series, KPIs, the network's MFD, and writing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from twin.atomic import atomic_path, write_json

#: Trip status names by code (see :mod:`twin.traffic.kernels`).
STATUS_NAMES = {0: "waiting", 1: "en_route", 2: "arrived", 3: "stranded"}
REASONS = {0: "", 1: "no route at departure", 2: "no route left after a closure"}


@dataclass
class TripRecords:
    """One row per vehicle (arrays of length V).

    Attributes
    ----------
    origin, destination
        Node indices.
    depart, arrive
        Departure and arrival time (s); ``arrive`` is NaN unless arrived.
    distance
        Length of the links left so far (m).
    free_time
        Free-flow time of those links (s).
    status
        0 waiting, 1 en route, 2 arrived, 3 stranded (see :data:`STATUS_NAMES`).
    reason
        Why a vehicle is stranded (see :data:`REASONS`), else 0.
    priority
        Emergency vehicles.
    jumps
        Gridlock jumps each vehicle made (see ``TrafficModel(stuck_time=...)``).
    now
        Model time the records were taken at (s).
    """

    origin: np.ndarray
    destination: np.ndarray
    depart: np.ndarray
    arrive: np.ndarray
    distance: np.ndarray
    free_time: np.ndarray
    status: np.ndarray
    reason: np.ndarray
    priority: np.ndarray
    jumps: np.ndarray
    now: float

    @property
    def arrived(self) -> np.ndarray:
        """Mask of vehicles that reached their destination."""
        return self.status == 2

    @property
    def travel_time(self) -> np.ndarray:
        """Arrival minus departure (s); NaN unless arrived."""
        return self.arrive - self.depart

    @property
    def delay(self) -> np.ndarray:
        """Travel time minus the free-flow time of the path driven (s); NaN unless arrived."""
        return np.maximum(self.travel_time - self.free_time, 0.0)

    def kpis(self) -> dict[str, float]:
        """Completed trips, mean and p95 travel time (s), vehicle-hours of delay (arrived
        trips, plus time so far beyond free flow for those still travelling), stranded, and
        gridlock relief: jumps, and the trips (and share of completed trips) that arrived
        having jumped at least once. Undefined values are NaN (see :attr:`UNDEFINED`)."""
        done = self.arrived
        tt = self.travel_time[done]
        started = (self.status == 1) | done
        elapsed = np.where(done, self.arrive, self.now) - self.depart
        delay = np.clip(elapsed - self.free_time, 0.0, None)[started]
        by_jump = int((done & (self.jumps > 0)).sum())
        return {
            "vehicles": int(self.status.size),
            "completed": int(done.sum()),
            "en_route": int((self.status == 1).sum()),
            "waiting": int((self.status == 0).sum()),
            "stranded": int((self.status == 3).sum()),
            "mean_travel_time_s": float(tt.mean()) if tt.size else float("nan"),
            "p95_travel_time_s": float(np.percentile(tt, 95)) if tt.size else float("nan"),
            "total_travel_time_h": float(tt.sum() / 3600.0),
            "vehicle_hours_delay": float(delay.sum() / 3600.0),
            "gridlock_jumps": int(self.jumps.sum()),
            "vehicles_that_jumped": int((self.jumps > 0).sum()),
            "completed_by_jump": int(by_jump),
            "completed_by_jump_share": float(by_jump / done.sum()) if done.any() else float("nan"),
        }

    #: Why a KPI may be undefined (written beside it as ``null`` in ``kpis.json``).
    UNDEFINED: ClassVar[dict[str, str]] = {
        "mean_travel_time_s": "no trip completed",
        "p95_travel_time_s": "no trip completed",
        "completed_by_jump_share": "no trip completed",
    }


@dataclass
class LinkSeries:
    """Link state sampled every record interval: cumulative counts and queues.

    Attributes
    ----------
    length
        (L,) link lengths (m), for densities and the MFD.
    times
        Sample times (s).
    entered, left
        Per sample, (L,) cumulative vehicles that entered and left each link.
    queued
        Per sample, (L,) vehicles waiting at each link's end.
    speed
        Per sample, (L,) expected speed of a vehicle entering the link (m/s; 0 when
        closed), see :meth:`twin.traffic.TrafficModel.speed`; empty if not recorded.
    closed
        Per sample, (L,) whether the link was closed; empty if not recorded.
    """

    length: np.ndarray
    times: list[float] = field(default_factory=list)
    entered: list[np.ndarray] = field(default_factory=list)
    left: list[np.ndarray] = field(default_factory=list)
    queued: list[np.ndarray] = field(default_factory=list)
    speed: list[np.ndarray] = field(default_factory=list)
    closed: list[np.ndarray] = field(default_factory=list)

    def add(
        self,
        t: float,
        n_in: np.ndarray,
        n_out: np.ndarray,
        queue: np.ndarray,
        speed: np.ndarray | None = None,
        closed: np.ndarray | None = None,
    ) -> None:
        """Append one sample (``speed`` in m/s and ``closed`` optional, given together)."""
        self.times.append(float(t))
        self.entered.append(n_in.astype(np.int32))
        self.left.append(n_out.astype(np.int32))
        self.queued.append(queue.astype(np.int32))
        if speed is not None and closed is not None:
            self.speed.append(speed.astype(np.float32))
            self.closed.append(closed.astype(np.bool_))

    def next_time(self, every: float) -> float:
        """Time of the next sample (s)."""
        return self.times[-1] + every if self.times else 0.0

    def arrays(self) -> dict[str, np.ndarray]:
        """``time`` (T,), ``vehicles``, ``queue``, ``outflow_vph`` (T, L) as arrays, and
        ``speed`` (m/s) and ``closed`` (T, L) when every sample recorded them."""
        t = np.asarray(self.times)
        entered, left = np.stack(self.entered), np.stack(self.left)
        gap = np.diff(t, prepend=t[0])[:, None]
        out = np.diff(left, axis=0, prepend=left[:1]) / np.where(gap > 0, gap, 1.0) * 3600.0
        arrays = {
            "time": t,
            "vehicles": entered - left,
            "queue": np.stack(self.queued),
            "outflow_vph": out,
        }
        if self.speed and len(self.speed) == len(self.times):
            arrays["speed"] = np.stack(self.speed)
            arrays["closed"] = np.stack(self.closed)
        return arrays

    def mfd(self) -> dict[str, np.ndarray]:
        """The network's macroscopic fundamental diagram, one point per interval.

        Returns
        -------
        dict
            ``time`` (s, interval end), ``density`` (veh/km, vehicles over total link
            length, averaged over the interval ends), ``flow`` (veh/h, vehicle-km driven
            over total link-km and the interval: the length-weighted mean link flow).
        """
        a = self.arrays()
        t = a["time"]
        total_km = self.length.sum() / 1000.0
        left = np.stack(self.left).astype(np.float64)
        vkm = (np.diff(left, axis=0) * self.length / 1000.0).sum(axis=1)
        hours = np.diff(t) / 3600.0
        veh = a["vehicles"].sum(axis=1)
        return {
            "time": t[1:],
            "density": 0.5 * (veh[1:] + veh[:-1]) / total_km,
            "flow": vkm / total_km / np.where(hours > 0, hours, 1.0),
        }


def series_table(series: LinkSeries, link_ids: np.ndarray, free_speed: np.ndarray | None = None):
    """The link series as one long table (a ``pyarrow.Table``), one row per record time and
    link: ``time_s``, ``link`` (index), ``link_id``, ``vehicles``, ``queue``,
    ``outflow_vph``, and when recorded ``speed_mps``, ``speed_index`` (speed over
    ``free_speed``, 0-1; 0 when closed; only with ``free_speed``) and ``closed``."""
    import pyarrow as pa

    a = series.arrays()
    n_t, n_l = a["vehicles"].shape
    rows, cols = np.divmod(np.arange(n_t * n_l), n_l)
    columns = {
        "time_s": pa.array(a["time"][rows], pa.float64()),
        "link": pa.array(cols, pa.int32()),
        "link_id": pa.array(np.asarray(link_ids).astype(str)[cols]),
        "vehicles": pa.array(a["vehicles"].ravel(), pa.int32()),
        "queue": pa.array(a["queue"].ravel(), pa.int32()),
        "outflow_vph": pa.array(a["outflow_vph"].ravel(), pa.float64()),
    }
    if "speed" in a:
        columns["speed_mps"] = pa.array(a["speed"].ravel(), pa.float32())
        if free_speed is not None:
            index = (a["speed"] / np.asarray(free_speed)[None, :]).astype(np.float32)
            columns["speed_index"] = pa.array(index.ravel(), pa.float32())
        columns["closed"] = pa.array(a["closed"].ravel(), pa.bool_())
    return pa.table(columns)


def write_outputs(
    folder: Path | str,
    trips: TripRecords,
    series: LinkSeries,
    link_ids: np.ndarray,
    node_ids: np.ndarray,
    *,
    node_lonlat: tuple[np.ndarray, np.ndarray] | None = None,
    free_speed: np.ndarray | None = None,
) -> list[Path]:
    """Write ``trips.csv``, ``link_series.npz``, ``link_series.parquet`` (see
    :func:`series_table`), ``mfd.csv`` and ``kpis.json`` to ``folder``.

    Parameters
    ----------
    node_lonlat
        (N,) longitude and latitude of each node (degrees, WGS 84): ``trips.csv`` then has
        ``origin_lon``, ``origin_lat``, ``destination_lon``, ``destination_lat`` columns.
    free_speed
        (L,) free speed of each link (m/s), for the series' ``speed_index``.

    Each file is written under a temporary name and renamed when complete.
    """
    import pyarrow.parquet as pq

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []

    def _commit(name: str, write) -> None:
        final = folder / name
        with atomic_path(final) as tmp:
            write(tmp)
        written.append(final)

    def _trips(path: Path) -> None:
        status = np.array([STATUS_NAMES[int(s)] for s in range(4)])[trips.status]
        reason = np.array([REASONS[int(r)] for r in range(3)])[trips.reason]
        header = (
            "vehicle,origin,destination,depart_s,arrive_s,distance_m,delay_s,status,"
            "reason,priority,jumps"
        )
        if node_lonlat is not None:
            header += ",origin_lon,origin_lat,destination_lon,destination_lat"
            lon, lat = node_lonlat
        with path.open("w") as fh:
            fh.write(header + "\n")
            for i in range(trips.status.size):
                o, d = trips.origin[i], trips.destination[i]
                fh.write(
                    f"{i},{node_ids[o]},{node_ids[d]},"
                    f"{trips.depart[i]:.1f},{trips.arrive[i]:.1f},{trips.distance[i]:.1f},"
                    f"{trips.delay[i]:.1f},{status[i]},{reason[i]},{int(trips.priority[i])},{trips.jumps[i]}"
                )
                if node_lonlat is not None:
                    fh.write(f",{lon[o]:.7f},{lat[o]:.7f},{lon[d]:.7f},{lat[d]:.7f}")
                fh.write("\n")

    def _series(path: Path) -> None:
        with path.open("wb") as fh:
            np.savez_compressed(fh, link_id=link_ids.astype(str), **series.arrays())

    def _parquet(path: Path) -> None:
        pq.write_table(series_table(series, link_ids, free_speed), path)

    def _mfd(path: Path) -> None:
        m = series.mfd()
        rows = np.column_stack([m["time"], m["density"], m["flow"]])
        np.savetxt(
            path,
            rows,
            delimiter=",",
            header="time_s,density_veh_km,flow_veh_h",
            comments="",
            fmt="%.4f",
        )

    _commit("trips.csv", _trips)
    _commit("link_series.npz", _series)
    _commit("link_series.parquet", _parquet)
    _commit("mfd.csv", _mfd)
    written.append(write_json(folder / "kpis.json", trips.kpis(), reasons=trips.UNDEFINED))
    return written
