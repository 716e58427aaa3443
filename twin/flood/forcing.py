"""What drives a flood, in SI units: rain, inflow hydrographs, sea level, sinks, gauges.

These dataclasses do not know about scenario files: an adapter turns a parsed scenario
into a :class:`Forcing` (mm/h -> m/s and so on happens there). Each one checks its own
numbers when built and raises :class:`~twin.errors.UserInputError` naming the field and a
fix; where a thing lies on the grid is checked later, by :mod:`twin.flood.grid`.

Time is seconds since the start of the scenario; lengths are metres; rates are m/s;
discharges are m3/s. Locations are ``(x, y)`` pairs in ``crs`` (default lon/lat,
``"EPSG:4326"``); ``crs=None`` means the flood grid's own projected coordinates.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from twin.errors import Problem, UserInputError

if TYPE_CHECKING:
    from twin.flood.river import River

LONLAT = "EPSG:4326"


def _series(name: str, times: Sequence[float], values: Sequence[float], *, what: str):
    """Check a time series (increasing times, finite values) and return float64 arrays."""
    t = np.asarray(times, dtype=np.float64).ravel()
    v = np.asarray(values, dtype=np.float64).ravel()
    problems: list[Problem] = []
    if t.size == 0 or t.size != v.size:
        problems.append(
            Problem(
                f"needs as many times as {what} values and at least one (got {t.size} times, "
                f"{v.size} values)",
                field=name,
                fix="give one `at` time per value",
            )
        )
    elif not (np.all(np.isfinite(t)) and np.all(np.isfinite(v))):
        problems.append(Problem("has a value that is not a finite number", field=name))
    elif np.any(np.diff(t) <= 0):
        k = int(np.argmax(np.diff(t) <= 0)) + 1
        problems.append(
            Problem(
                f"times must increase strictly; step {k} at {t[k]:g} s does not",
                field=f"{name}.{k}.at",
                fix="sort the steps by time and remove duplicates",
            )
        )
    if problems:
        raise UserInputError(problems)
    return t, v


@dataclass(frozen=True)
class Rainfall:
    """Rain as a step hyetograph, over the whole map or inside one zone.

    The intensity ``intensities[k]`` (m/s) holds from ``times[k]`` (s) until
    ``times[k + 1]``; the last one holds until the end of the run (end rain with a zero
    step). Before ``times[0]`` it does not rain.

    Parameters
    ----------
    times
        Start of each step (s), strictly increasing.
    intensities
        Rain intensity of each step (m/s, >= 0; 50 mm/h = 1.389e-5 m/s).
    zone
        Optional polygon ``[(x, y), ...]`` in ``zone_crs``: rain falls only on cells
        whose centre lies inside it.
    zone_crs
        CRS of ``zone`` (default lon/lat); ``None`` for the grid's own coordinates.
    name
        Label used in messages (e.g. ``hazards.0``).
    """

    times: Sequence[float]
    intensities: Sequence[float]
    zone: Sequence[tuple[float, float]] | None = None
    zone_crs: str | None = LONLAT
    name: str = "rainfall"

    def __post_init__(self) -> None:
        t, v = _series(self.name, self.times, self.intensities, what="intensity")
        bad = np.flatnonzero(v < 0)
        if bad.size:
            k = int(bad[0])
            raise UserInputError(
                Problem(
                    f"rain intensity {v[k]:g} m/s at {t[k]:g} s is negative",
                    field=f"{self.name}.{k}.intensity",
                    fix="give intensities >= 0 (use 0 to stop the rain)",
                )
            )
        if self.zone is not None and len(self.zone) < 3:
            raise UserInputError(
                Problem(
                    "a rain zone needs at least three vertices",
                    field=f"{self.name}.zone",
                    fix="give the zone as a closed polygon [[lon, lat], ...]",
                )
            )
        object.__setattr__(self, "times", tuple(float(x) for x in t))
        object.__setattr__(self, "intensities", tuple(float(x) for x in v))

    def breakpoints(self) -> tuple[float, ...]:
        """Times (s) at which the intensity changes."""
        return self.times

    def intensity(self, t: float) -> float:
        """Intensity (m/s) at time ``t`` (s): that of the step holding ``t``, 0 before it rains."""
        k = bisect.bisect_right(self.times, t) - 1
        return self.intensities[k] if k >= 0 else 0.0

    def depth(self, t0: float, t1: float) -> float:
        """Rain depth (m) that falls between ``t0`` and ``t1`` (s): the integral of the steps."""
        total = 0.0
        times, rates = self.times, self.intensities
        k = bisect.bisect_right(times, t0) - 1
        t = t0
        while t < t1:
            nxt = times[k + 1] if k + 1 < len(times) else np.inf
            end = min(nxt, t1)
            if k >= 0:
                total += rates[k] * (end - t)
            t = end
            k += 1
        return total


@dataclass(frozen=True)
class Inflow:
    """A hydrograph entering at a point (a burst main) or along a line (a river, a breach).

    Discharge is interpolated linearly between the given times and is zero outside them.
    Along a line the discharge is shared among the cells the line crosses in proportion
    to the length of line inside each.

    Parameters
    ----------
    times
        Times of the hydrograph ordinates (s), strictly increasing.
    discharges
        Discharge at each time (m3/s, >= 0).
    points
        One ``(x, y)`` for a point inflow, two or more for a polyline, in ``crs``.
    crs
        CRS of ``points`` (default lon/lat); ``None`` for the grid's own coordinates.
    name
        Label used in messages and outputs.
    """

    times: Sequence[float]
    discharges: Sequence[float]
    points: Sequence[tuple[float, float]]
    crs: str | None = LONLAT
    name: str = "inflow"

    def __post_init__(self) -> None:
        t, v = _series(self.name, self.times, self.discharges, what="discharge")
        bad = np.flatnonzero(v < 0)
        if bad.size:
            k = int(bad[0])
            raise UserInputError(
                Problem(
                    f"discharge {v[k]:g} m3/s at {t[k]:g} s is negative",
                    field=f"{self.name}.hydrograph.{k}.discharge",
                    fix="give discharges >= 0 (water only enters through an inflow)",
                )
            )
        pts = np.asarray(self.points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[0] < 1 or pts.shape[1] != 2:
            raise UserInputError(
                Problem(
                    "location must be one [x, y] point or a line of two or more points",
                    field=f"{self.name}.location",
                )
            )
        object.__setattr__(self, "times", tuple(float(x) for x in t))
        object.__setattr__(self, "discharges", tuple(float(x) for x in v))
        object.__setattr__(self, "points", tuple((float(x), float(y)) for x, y in pts))

    def breakpoints(self) -> tuple[float, ...]:
        """Times (s) at which the hydrograph's slope changes."""
        return self.times

    def volume(self, t0: float, t1: float) -> float:
        """Volume (m3) that enters between ``t0`` and ``t1`` (s): the exact integral of
        the piecewise-linear hydrograph, which is zero outside its times."""
        times = self.times
        a, b = max(t0, times[0]), min(t1, times[-1])
        if b <= a:
            return 0.0
        inside = [t for t in times if a < t < b]
        ts = np.array([a, *inside, b])
        qs = np.interp(ts, times, self.discharges)
        return float(np.sum(0.5 * (qs[1:] + qs[:-1]) * np.diff(ts)))


@dataclass(frozen=True)
class SeaLevel:
    """Sea (or a fixed-level water body) level over time: tide, storm surge.

    The level (m, in the terrain's vertical datum) is interpolated linearly and held
    constant before the first and after the last time. Sea cells keep their water surface
    at this level (a Dirichlet boundary): water that runs into them leaves the model,
    water that the surge pushes onto land enters it.

    Parameters
    ----------
    times
        Times (s), strictly increasing.
    levels
        Water level at each time (m).
    name
        Label used in messages.
    """

    times: Sequence[float]
    levels: Sequence[float]
    name: str = "sea_level"

    def __post_init__(self) -> None:
        t, v = _series(self.name, self.times, self.levels, what="level")
        object.__setattr__(self, "times", tuple(float(x) for x in t))
        object.__setattr__(self, "levels", tuple(float(x) for x in v))

    def breakpoints(self) -> tuple[float, ...]:
        """Times (s) at which the level's slope changes."""
        return self.times

    def level(self, t: float) -> float:
        """Level (m) at time ``t`` (s)."""
        return float(np.interp(t, self.times, self.levels))


@dataclass(frozen=True)
class Gauge:
    """A named point where the water level is recorded over time.

    Parameters
    ----------
    name
        Name used as the column header of the gauge table.
    location
        ``(x, y)`` in ``crs``.
    crs
        CRS of ``location`` (default lon/lat); ``None`` for the grid's own coordinates.
    """

    name: str
    location: tuple[float, float]
    crs: str | None = LONLAT


@dataclass(frozen=True)
class Forcing:
    """Everything that adds or removes water, for one run.

    Parameters
    ----------
    rainfall
        Hyetographs; where zones overlap their intensities add up.
    inflows
        Point and line inflow hydrographs.
    sea_level
        Level of the sea cells over time, or ``None`` (then sea cells, if any, are kept
        at ``FloodConfig.sea_elevation``, 0 m by default: a free outlet).
    drainage_rate
        Capacity of the sewers as a sink on every land cell (m/s; 20 mm/h = 5.56e-6 m/s).
    infiltration_rate
        Constant infiltration on every land cell (m/s).
    rivers
        River reaches with stage hydrographs and levees (:class:`twin.flood.river.River`);
        ``twin.flood.build.flood_model`` builds a :class:`~twin.flood.river.RiverFloodModel`
        when there are any.
    """

    rainfall: tuple[Rainfall, ...] = ()
    inflows: tuple[Inflow, ...] = ()
    sea_level: SeaLevel | None = None
    drainage_rate: float = 0.0
    infiltration_rate: float = 0.0
    rivers: tuple[River, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "rainfall", tuple(self.rainfall))
        object.__setattr__(self, "rivers", tuple(self.rivers))
        object.__setattr__(self, "inflows", tuple(self.inflows))
        problems = []
        for name in ("drainage_rate", "infiltration_rate"):
            value = float(getattr(self, name))
            if not np.isfinite(value) or value < 0:
                problems.append(
                    Problem(f"{value:g} m/s is not a rate >= 0", field=name, fix="give 0 or more")
                )
            object.__setattr__(self, name, value)
        if problems:
            raise UserInputError(problems)

    def breakpoints(self) -> list[float]:
        """Every time (s) at which some forcing changes its rate or slope, sorted."""
        times: set[float] = set()
        for item in (*self.rainfall, *self.inflows):
            times.update(item.breakpoints())
        if self.sea_level is not None:
            times.update(self.sea_level.breakpoints())
        return sorted(times)


def uniform_rain(intensity: float, duration: float, *, start: float = 0.0) -> Rainfall:
    """A block of rain: ``intensity`` (m/s) from ``start`` for ``duration`` seconds."""
    return Rainfall(times=(start, start + duration), intensities=(intensity, 0.0))


def mm_per_hour(value: float) -> float:
    """Convert an intensity in mm/h to m/s."""
    return value / 1000.0 / 3600.0
