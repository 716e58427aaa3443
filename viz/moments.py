"""Key moments of a run for the report's 3-D stills: first closure, peak depth, slowest
response, each found in the run's own outputs.

- Depth snapshots (``twin flood``'s ``depth.tif``): the roads' state at each snapshot by
  the twin's one road rule (:func:`twin.coupling.roads.flood_roads`, a drive link closed
  to cars where its deepest sampled point is at least 0.3 m, the default
  :class:`~twin.coupling.roads.RoadThresholds`); *first closure* is the first snapshot
  with a closed link, *peak depth* the snapshot with the deepest cell.
- A coupled run (``twin run``: ``vitals.csv`` and ``flood_maps.npz``, no snapshots): the
  times come from the vital signs (first ``km_closed_cars`` > 0, largest
  ``max_depth_m``); the only grid is the deepest water seen over the run, so the peak
  depth still shows it, with roads closed by the same rule, and the first closure is
  named in words (no grid of that time is recorded).
- A response run (``twin respond``'s ``events.csv``): *slowest response* is each plan's
  call with the longest time to the first unit on scene (never reached counts as
  slowest); the still looks at its incident, with every unit where it last reported
  before the call.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from viz.scene import SceneState, clock_text


@dataclass
class Moment:
    """One key moment: what to draw and how to say it.

    Attributes
    ----------
    title
        ``first closure``, ``peak depth`` or ``slowest response (plan)``.
    time
        Seconds since the scenario start.
    note
        One sentence for the caption (what the picture shows and where it comes from).
    state
        The scene state to draw; None: the moment is known only in words.
    focus
        (x, y) in the pack CRS (m) to look at; None: the oblique view of the city.
    """

    title: str
    time: float
    note: str
    state: SceneState | None = None
    focus: tuple[float, float] | None = None

    @property
    def caption(self) -> str:
        """``title at T+hh:mm:ss: note``."""
        return f"{self.title} at {clock_text(self.time)}: {self.note}"


def _roads(pack, depth: np.ndarray):
    """The drive links' state under ``depth`` (the scene's link order)."""
    from twin.coupling.roads import flood_roads, sample_links_on_grid

    terrain = pack.terrain
    sampler = sample_links_on_grid(pack.links("drive"), terrain.transform, terrain.shape)
    return flood_roads(sampler, np.nan_to_num(depth, nan=0.0))


def _state(pack, time: float, depth: np.ndarray) -> SceneState:
    roads = _roads(pack, depth)
    return SceneState(
        time=time, depth=depth, speed_index=roads.speed_factor, closed=roads.closed_cars
    )


def snapshot_moments(pack, folder: Path) -> list[Moment]:
    """First closure and peak depth from a folder's depth snapshots."""
    from viz.runs import DepthSnapshots

    snaps = DepthSnapshots.find(folder)
    moments: list[Moment] = []
    peaks = []
    closure = None
    for k, t in enumerate(snaps.times):
        depth = snaps.depth(k)
        if depth.shape != pack.terrain.shape:
            return []
        peaks.append(float(np.nanmax(depth)) if np.isfinite(depth).any() else 0.0)
        if closure is None:
            roads = _roads(pack, depth)
            if roads.closed_cars.any():
                closure = (float(t), depth, int(roads.closed_cars.sum()))
    if closure is not None:
        t, depth, n = closure
        moments.append(
            Moment(
                "first closure",
                t,
                f"the first snapshot with a street closed to cars ({n} drive links at 0.3 m "
                "or deeper, magenta)",
                _state(pack, t, depth),
            )
        )
    k = int(np.argmax(peaks))
    if peaks[k] > 0:
        t = float(snaps.times[k])
        moments.append(
            Moment(
                "peak depth",
                t,
                f"the snapshot with the deepest water, {peaks[k]:.2f} m",
                _state(pack, t, snaps.depth(k)),
            )
        )
    return moments


def vitals_moments(pack, folder: Path) -> list[Moment]:
    """First closure (in words) and peak depth of a coupled run (``vitals.csv``,
    ``flood_maps.npz``)."""
    from viz.plots import read_vitals

    table = read_vitals(folder / "vitals.csv")[0]
    moments: list[Moment] = []
    if "km_closed_cars" in table:
        closed = table[table["km_closed_cars"] > 0]
        if len(closed):
            row = closed.iloc[0]
            moments.append(
                Moment(
                    "first closure",
                    float(row["time"]),
                    f"{row['km_closed_cars']:.2f} km of road closed to cars (vital signs; the "
                    "run records no water grid of this time)",
                )
            )
    maps = folder / "flood_maps.npz"
    if "max_depth_m" in table and maps.is_file() and table["max_depth_m"].max() > 0:
        k = int(np.argmax(table["max_depth_m"].to_numpy()))
        with np.load(maps) as data:
            deepest = np.asarray(data["max_depth"], dtype=float)
        if deepest.shape == pack.terrain.shape:
            t = float(table["time"].iloc[k])
            moments.append(
                Moment(
                    "peak depth",
                    t,
                    f"deepest water {table['max_depth_m'].iloc[k]:.2f} m (vital signs); "
                    "drawn: the deepest water each cell saw over the run",
                    _state(pack, t, deepest),
                )
            )
    return moments


def slowest_response(pack, plan: str, events_csv: Path) -> Moment | None:
    """The plan's slowest call (never reached counts as slowest), its incident and the
    units where they last reported before the call."""
    from pyproj import Transformer

    from viz.plots import response_times

    events = pd.read_csv(events_csv)
    calls = events[events["event"] == "call"].groupby("incident").first()
    if calls.empty:
        return None
    times = response_times(events_csv)
    k = int(np.argmax(np.where(np.isfinite(times), times, np.inf)))
    call = calls.iloc[k]
    t = float(call["time"])
    to_xy = Transformer.from_crs("EPSG:4326", pack.crs, always_xy=True)
    ix, iy = to_xy.transform(float(call["lon"]), float(call["lat"]))
    before = events[(events["unit"] >= 0) & (events["time"] <= t)]
    last = before.groupby("unit").last()
    ux, uy = to_xy.transform(last["lon"].to_numpy(float), last["lat"].to_numpy(float))
    took = "never reached" if not np.isfinite(times[k]) else f"{times[k] / 60:.1f} min"
    return Moment(
        f"slowest response ({plan})",
        t,
        f"incident {calls.index[k]} ({call['detail']}), first unit on scene: {took}; "
        f"red: the incident, black: the {len(last)} units where they last reported",
        SceneState(
            time=t,
            incidents=np.array([[ix, iy]]),
            units=np.column_stack([np.atleast_1d(ux), np.atleast_1d(uy)]),
        ),
        focus=(float(ix), float(iy)),
    )


def key_moments(pack, folders: dict[str, Path]) -> list[Moment]:
    """The key moments the folders' outputs allow, in the order first closure, peak depth,
    slowest response (one per plan)."""
    first = next(iter(folders.values()))
    if (first / "depth.tif").is_file() or (first / "flood" / "depth.tif").is_file():
        moments = snapshot_moments(pack, first)
    elif (first / "vitals.csv").is_file():
        moments = vitals_moments(pack, first)
    else:
        moments = []
    for plan, folder in folders.items():
        path = folder / "events.csv"
        if path.is_file() and "event" in pd.read_csv(path, nrows=0):
            moment = slowest_response(pack, plan, path)
            if moment is not None:
                moments.append(moment)
    return moments
