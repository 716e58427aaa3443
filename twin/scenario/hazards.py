"""Hazards a scenario can contain: one model per ``kind``, joined in the :data:`Hazard` union.

Times inside a hazard (``at``, ``start``) are durations since the scenario start. Time series
(hyetograph, hydrograph, sea levels) must start at 0 and have strictly increasing times.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal, Protocol

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from twin.scenario.base import (
    LonLat,
    NameOrPlace,
    PeopleCount,
    Polygon,
    Polyline,
    StrictModel,
    require_one_of,
)
from twin.scenario.quantities import (
    Discharge,
    Duration,
    Length,
    PositiveDuration,
    PositiveLength,
    RainRate,
    Speed,
    humanize_duration,
)


class _Timed(Protocol):
    at: float


def check_series(points: Sequence[_Timed], what: str) -> None:
    """Check that a time series starts at 0 and that its times strictly increase.

    Parameters
    ----------
    points
        Entries with an ``at`` time in s.
    what
        The series' name, for messages (``"hyetograph"``).

    Raises
    ------
    pydantic_core.PydanticCustomError
        Whose context's ``subloc`` names the offending entry (``(1, "at")``).
    """
    if points and points[0].at != 0:
        raise PydanticCustomError(
            "series_start",
            f"the {what} must start at 0, its first entry is at {humanize_duration(points[0].at)}",
            {"subloc": (0, "at"), "fix": "add a first entry with `at: 0`"},
        )
    for i in range(1, len(points)):
        if points[i].at <= points[i - 1].at:
            raise PydanticCustomError(
                "series_order",
                f"{what} times must strictly increase: entry {i} is at "
                f"{humanize_duration(points[i].at)}, not after entry {i - 1} "
                f"({humanize_duration(points[i - 1].at)})",
                {"subloc": (i, "at"), "fix": "sort the entries by `at` and remove duplicates"},
            )


class HyetographPoint(StrictModel):
    """One step of a hyetograph: from ``at`` on, rain falls at ``intensity``."""

    at: Duration
    """Time since the scenario start when this intensity begins (s; e.g. '30 min')."""
    intensity: RainRate
    """Rain intensity from this time on (m/s inside; files write mm/h, e.g. '50 mm/h')."""


class Rainfall(StrictModel):
    """Rain falling on the city (or on a zone of it), step-wise constant in time.

    The last intensity holds to the end of the scenario: end a storm with an entry of 0.
    """

    kind: Literal["rainfall"] = "rainfall"
    hyetograph: list[HyetographPoint] = Field(min_length=1)
    """Steps of rain intensity: [{at, intensity}], starting at 0, times increasing."""
    zone: Polygon | None = None
    """Area the rain falls on ([longitude, latitude] corners); the whole grid if omitted."""

    @field_validator("hyetograph")
    @classmethod
    def _series(cls, points: list[HyetographPoint]) -> list[HyetographPoint]:
        check_series(points, "hyetograph")
        return points


class HydrographPoint(StrictModel):
    """One point of a hydrograph; discharge is interpolated linearly between points."""

    at: Duration
    """Time since the inflow's ``start`` (s; e.g. '10 min')."""
    discharge: Discharge
    """Water entering at this time (m3/s; e.g. '5 m3/s')."""


class Inflow(StrictModel):
    """Water entering at a point (burst main, culvert) or along a line (river, levee breach)."""

    kind: Literal["inflow"] = "inflow"
    name: str
    """Name shown in results (e.g. 'Vallon de Sainte-Dévote')."""
    location: LonLat | None = None
    """Point of entry [longitude, latitude]; give this or `line`."""
    line: Polyline | None = None
    """Line of entry (a breach or river reach) as [longitude, latitude] points; or `location`."""
    hydrograph: list[HydrographPoint] = Field(min_length=1)
    """Discharge over time: [{at, discharge}], linear between points, starting at 0."""
    start: Duration = 0.0
    """When the inflow begins, since the scenario start (s; e.g. a levee breach at '2 h')."""

    @field_validator("hydrograph")
    @classmethod
    def _series(cls, points: list[HydrographPoint]) -> list[HydrographPoint]:
        check_series(points, "hydrograph")
        return points

    @model_validator(mode="after")
    def _place(self) -> Inflow:
        require_one_of(self, ("location", "line"), "inflow")
        return self


class SeaLevelPoint(StrictModel):
    """One point of a sea-level series; linear between points."""

    at: Duration
    """Time since the scenario start (s)."""
    level: Length
    """Still-water level above the terrain datum (m; may be negative; e.g. '0.8 m')."""


class SeaLevel(StrictModel):
    """Sea level over time (tide, storm surge); one entry = fixed; one at most.

    Sea cells (at or below ``flood.sea_elevation`` and connected to the map edge) keep their
    water surface at this level: runoff into them leaves the model, a surge floods the land.
    """

    kind: Literal["sea_level"] = "sea_level"
    levels: list[SeaLevelPoint] = Field(min_length=1)
    """Levels over time: [{at, level}], linear between points, starting at 0."""

    @field_validator("levels")
    @classmethod
    def _series(cls, points: list[SeaLevelPoint]) -> list[SeaLevelPoint]:
        check_series(points, "sea level series")
        return points


class Drainage(StrictModel):
    """Storm drains: a sink removing water up to a capacity, as a rate of depth; one at most."""

    kind: Literal["drainage"] = "drainage"
    capacity: RainRate
    """Most water the drains remove from every land cell (m/s inside; files write mm/h,
    e.g. '20 mm/h')."""


class Infiltration(StrictModel):
    """Water soaking into the ground at a constant rate; one at most."""

    kind: Literal["infiltration"] = "infiltration"
    rate: RainRate
    """Infiltration on every land cell (m/s inside; files write mm/h, e.g. '10 mm/h')."""


class GroundCollapse(StrictModel):
    """A sinkhole or collapse that closes roads and paths within a radius."""

    kind: Literal["ground_collapse"] = "ground_collapse"
    name: str | None = None
    """Name shown in results."""
    at: Duration
    """When it happens, since the scenario start (s; e.g. '2 h')."""
    location: LonLat
    """Centre [longitude, latitude]."""
    radius: PositiveLength
    """Radius of the closed area (m; e.g. '25 m')."""


class CrowdEvent(StrictModel):
    """A venue emptying: ``people`` leave ``venue`` on foot from ``start`` over ``duration``."""

    kind: Literal["crowd_event"] = "crowd_event"
    name: str | None = None
    """Name shown in results (e.g. 'Stade Louis II match')."""
    venue: Polygon
    """Outline of the venue ([longitude, latitude] corners)."""
    people: PeopleCount
    """Number of people leaving (at most 10 million)."""
    start: Duration
    """When they start leaving, since the scenario start (s)."""
    duration: PositiveDuration
    """Time over which they leave (s; e.g. '30 min')."""


class StagePoint(StrictModel):
    """One point of a river's stage hydrograph; linear between points."""

    at: Duration
    """Time since the scenario start (s)."""
    level: Length
    """Water level in the channel (m, the terrain's datum; e.g. '4.5 m')."""


class LeveeBreach(StrictModel):
    """A breach in a levee: at a time, or once the stage has topped the crest for a while."""

    location: LonLat
    """Middle of the breach [longitude, latitude], on the levee line."""
    width: PositiveLength
    """Length of levee that fails (m; e.g. '40 m')."""
    growth: Duration = 600.0
    """Time over which the crest sinks to the ground (s; default '10 min')."""
    at: Duration | None = None
    """When the breach starts, since the scenario start (s); or `overtop_for`."""
    overtop_for: PositiveDuration | None = None
    """The breach starts once the stage has stood above the crest this long (s); or `at`."""
    bottom: Length | None = None
    """Crest elevation once breached (m); default the ground under the levee."""

    @model_validator(mode="after")
    def _when(self) -> LeveeBreach:
        require_one_of(self, ("at", "overtop_for"), "breach")
        return self


class LeveeLine(StrictModel):
    """A levee along a river: a line raised to a crest elevation."""

    line: Polyline
    """The levee as [longitude, latitude] points."""
    crest: Length
    """Crest elevation (m, the terrain's datum; e.g. '5 m')."""
    breach: LeveeBreach | None = None
    """Where and when it fails; never without this."""


class River(StrictModel):
    """A river reach whose channel holds a stage hydrograph, with its levees.

    Channel cells (within half the width of the line) keep their water surface at the
    stage; water leaves the channel over banks and through breaches by the flood model's
    own face fluxes (see twin/flood/river.py).
    """

    kind: Literal["river"] = "river"
    name: str
    """Name shown in results and the chain log (e.g. 'Valley river')."""
    line: Polyline
    """Channel centreline as [longitude, latitude] points."""
    width: PositiveLength
    """Channel width (m; e.g. '30 m')."""
    stage: list[StagePoint] = Field(min_length=1)
    """Water level over time: [{at, level}], linear between points, starting at 0."""
    levees: list[LeveeLine] = Field(default_factory=list)
    """Levees along the river."""

    @field_validator("stage")
    @classmethod
    def _series(cls, points: list[StagePoint]) -> list[StagePoint]:
        check_series(points, "stage hydrograph")
        return points


class WindPoint(StrictModel):
    """One point of a wind-speed series; linear between points."""

    at: Duration
    """Time since the scenario start (s)."""
    speed: Speed
    """Sustained wind speed (m/s; e.g. '30 m/s', '110 km/h')."""


class Wind(StrictModel):
    """Strong wind (a typhoon's) that brings trees down on listed roads.

    Each listed road closes when the wind rises above `close_above`; it reopens `clearance`
    after the wind has fallen to `reopen_below` (crews clear the trees once it is safe).
    """

    kind: Literal["wind"] = "wind"
    name: str | None = None
    """Name shown in results (e.g. 'Typhoon gusts')."""
    speeds: list[WindPoint] = Field(min_length=1)
    """Wind speed over time: [{at, speed}], linear between points, starting at 0."""
    close_above: Speed
    """Listed roads close when the wind is above this (m/s; e.g. '25 m/s')."""
    reopen_below: Speed | None = None
    """They may reopen once the wind is at or below this (default `close_above`)."""
    clearance: Duration = 1800.0
    """Time to clear the fallen trees once the wind allows (s; default '30 min')."""
    roads: list[NameOrPlace] = Field(min_length=1)
    """Roads with trees: OSM way ids ('way/123456') or [longitude, latitude] points (the
    nearest road both ways)."""

    @field_validator("speeds")
    @classmethod
    def _series(cls, points: list[WindPoint]) -> list[WindPoint]:
        check_series(points, "wind speed series")
        return points

    @model_validator(mode="after")
    def _thresholds(self) -> Wind:
        if self.reopen_below is not None and self.reopen_below > self.close_above:
            raise PydanticCustomError(
                "wind_reopen",
                f"reopen_below ({self.reopen_below:g} m/s) is above close_above "
                f"({self.close_above:g} m/s)",
                {"subloc": ("reopen_below",), "fix": "make reopen_below <= close_above"},
            )
        return self


class FloodCollapse(StrictModel):
    """A road that collapses once flood water has stood on it deep enough for long enough
    (undermined pavement): then closes roads and paths within a radius, as a collapse."""

    kind: Literal["flood_collapse"] = "flood_collapse"
    name: str | None = None
    """Name shown in results and the chain log."""
    location: LonLat
    """Centre [longitude, latitude]; the watched roads are the drive links within `radius`."""
    radius: PositiveLength
    """Radius of the watched and then closed area (m; e.g. '20 m')."""
    depth: PositiveLength
    """Water depth on a watched road that undermines it (m; e.g. '0.5 m')."""
    duration: Duration = 0.0
    """How long that depth must stand without a break (s; e.g. '20 min')."""


Hazard = Annotated[
    Rainfall
    | Inflow
    | SeaLevel
    | Drainage
    | Infiltration
    | GroundCollapse
    | CrowdEvent
    | River
    | Wind
    | FloodCollapse,
    Field(discriminator="kind"),
]
"""Any hazard, told apart by its ``kind``."""

HAZARD_KINDS: tuple[str, ...] = (
    "rainfall",
    "inflow",
    "sea_level",
    "drainage",
    "infiltration",
    "ground_collapse",
    "crowd_event",
    "river",
    "wind",
    "flood_collapse",
)
"""The ``kind`` values a hazard may have."""


def hazard_times(hazard: StrictModel) -> list[tuple[str, float]]:
    """Times (s since the scenario start) at which a hazard begins something, by field name."""
    names = ("at", "start") if not isinstance(hazard, Rainfall | SeaLevel) else ()
    out = [(n, getattr(hazard, n)) for n in names if hasattr(hazard, n)]
    if isinstance(hazard, River):  # a breach's time: the `levees` entry is named
        out += [
            ("levees", lv.breach.at)
            for lv in hazard.levees
            if lv.breach is not None and lv.breach.at is not None
        ]
    return out
