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


Hazard = Annotated[
    Rainfall | Inflow | SeaLevel | Drainage | Infiltration | GroundCollapse | CrowdEvent,
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
)
"""The ``kind`` values a hazard may have."""


def hazard_times(hazard: StrictModel) -> list[tuple[str, float]]:
    """Times (s since the scenario start) at which a hazard begins something, by field name."""
    names = ("at", "start") if not isinstance(hazard, Rainfall | SeaLevel) else ()
    return [(n, getattr(hazard, n)) for n in names if hasattr(hazard, n)]
