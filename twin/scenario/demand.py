"""Who moves and who calls for help: traffic demand, evacuation orders and incidents."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from twin.scenario.base import (
    Fraction,
    InputPath,
    LonLat,
    Polygon,
    StrictModel,
    require_one_of,
)
from twin.scenario.quantities import Duration, PositiveDuration, humanize_duration


class OdFlow(StrictModel):
    """Trips from one place to another during a time slice."""

    origin: LonLat
    """Where trips start [longitude, latitude]; snapped to the nearest road."""
    destination: LonLat
    """Where trips end [longitude, latitude]; snapped to the nearest road."""
    vehicles: int = Field(ge=0, le=1_000_000)
    """Number of vehicles departing over the slice, spread evenly (at most a million)."""


class OdSlice(StrictModel):
    """Origin-destination demand for one time slice ``[start, end)``."""

    start: Duration
    """Slice start, since the scenario start (s)."""
    end: PositiveDuration
    """Slice end, since the scenario start (s); after `start`."""
    flows: list[OdFlow] = Field(min_length=1)
    """The trips of this slice."""

    @model_validator(mode="after")
    def _order(self) -> OdSlice:
        if self.end <= self.start:
            raise PydanticCustomError(
                "slice_order",
                f"the slice ends ({humanize_duration(self.end)}) before it starts "
                f"({humanize_duration(self.start)})",
                {"subloc": ("end",), "fix": "make `end` later than `start`"},
            )
        return self


class ZoneLayer(StrictModel):
    """The zones of an OD matrix: every polygon of a GeoPackage or GeoJSON layer, each
    named by an attribute (see :func:`twin.scenario.geofile.read_zones`)."""

    file: InputPath = Field(examples=["zones.gpkg"])
    """GeoPackage (.gpkg) or GeoJSON (.geojson) file of polygons, relative to the scenario
    file; any CRS (reprojected to WGS84)."""
    layer: str | None = None
    """Layer of the file; may be left out when the file holds one layer."""
    name: str = "name"
    """Attribute holding each zone's name, as the matrix writes it (default `name`)."""

    @model_validator(mode="after")
    def _readable(self, info: ValidationInfo) -> ZoneLayer:
        if (info.context or {}).get("check_paths", True):
            self.zones()  # problems of the layer at this line, not when the run starts
        return self

    def zones(self) -> dict[str, list[tuple[float, float]]]:
        """Zone name -> outer ring [(lon, lat), ...] in WGS84."""
        from twin.scenario.geofile import read_zones

        return read_zones(self.file, self.layer, self.name)


class OdMatrix(StrictModel):
    """Vehicle trips between zones over a period, from a CSV matrix and a zone layer; each
    trip starts and ends at a road node drawn uniformly from its zones, departures spread
    evenly over the period."""

    matrix: InputPath = Field(examples=["od.csv"])
    """CSV file with a header and columns `origin`, `destination` (zone names as in
    `zones`) and `trips` (vehicles of the pair over the period, or per hour with
    `per_hour`); relative to the scenario file."""
    zones: ZoneLayer
    """The zones: {file, layer, name}."""
    start: Duration = 0.0
    """Period start, since the scenario start (s)."""
    end: PositiveDuration
    """Period end, since the scenario start (s); after `start`."""
    per_hour: bool = False
    """Whether `trips` are vehicles per hour over the period (rounded to whole vehicles)
    rather than vehicles over the whole period (then whole numbers)."""

    @model_validator(mode="after")
    def _order(self) -> OdMatrix:
        if self.end <= self.start:
            raise PydanticCustomError(
                "slice_order",
                f"the period ends ({humanize_duration(self.end)}) before it starts "
                f"({humanize_duration(self.start)})",
                {"subloc": ("end",), "fix": "make `end` later than `start`"},
            )
        return self


class DepartureCurve(StrictModel):
    """How departures after an evacuation order spread in time.

    ``rayleigh`` and ``exponential`` have the given mean delay; ``uniform`` spreads departures
    evenly over twice the mean; ``immediate`` sends everyone at the order time.
    """

    kind: Literal["rayleigh", "exponential", "uniform", "immediate"] = "rayleigh"
    """Shape of the delay distribution."""
    mean: PositiveDuration | None = 1200.0
    """Mean delay between the order and departure (s; e.g. '20 min'); unused by `immediate`."""

    @model_validator(mode="after")
    def _mean(self) -> DepartureCurve:
        if self.kind != "immediate" and self.mean is None:
            raise PydanticCustomError(
                "curve_mean",
                f"a {self.kind} departure curve needs a `mean` delay",
                {"subloc": ("mean",), "fix": "add e.g. `mean: 20 min`"},
            )
        return self

    def delays(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Delays (s) between the order and each of ``n`` departures, drawn from this curve:
        Rayleigh or exponential with its mean, uniform on [0, 2 mean], or all 0."""
        if self.kind == "immediate" or n == 0:
            return np.zeros(n)
        mean = float(self.mean)
        if self.kind == "rayleigh":
            return rng.rayleigh(mean / np.sqrt(np.pi / 2.0), n)
        if self.kind == "exponential":
            return rng.exponential(mean, n)
        return rng.uniform(0.0, 2.0 * mean, n)


class Evacuation(StrictModel):
    """An evacuation order for the people in a zone or in listed buildings."""

    zone: Polygon | None = None
    """Area ordered to leave ([longitude, latitude] corners); give this or `buildings`."""
    buildings: list[str] | None = Field(default=None, min_length=1)
    """OSM ids of the buildings ordered to leave (e.g. 'way/123456'); or `zone`."""
    order_time: Duration
    """When the order is given, since the scenario start (s)."""
    curve: DepartureCurve = DepartureCurve()
    """Spread of departures after the order (default Rayleigh, mean 20 min)."""
    compliance: Fraction = 1.0
    """Share of people who obey the order (0-1)."""
    car_share: Fraction = 0.5
    """Share of evacuees who leave by car; the rest walk (0-1)."""

    @model_validator(mode="after")
    def _where(self) -> Evacuation:
        require_one_of(self, ("zone", "buildings"), "evacuation")
        return self


class Demand(StrictModel):
    """Traffic and evacuation demand. Every part is optional."""

    trips: InputPath | None = None
    """CSV file of background trips, one per row: departure (s), origin_lon, origin_lat,
    destination_lon, destination_lat; relative to the scenario file."""
    od: list[OdSlice] = Field(default_factory=list)
    """Origin-destination demand by time slice."""
    od_matrix: list[OdMatrix] = Field(default_factory=list)
    """Trips between zones: a CSV matrix (origin, destination, trips) over the polygons of
    a zone layer, one entry per period."""
    evacuation: Evacuation | None = None
    """An evacuation order (zone or buildings, order time, departure curve)."""


IncidentType = Literal[
    "medical", "fire", "traffic_accident", "rescue", "water_rescue", "hazmat", "police"
]
"""Kinds of incident the response model knows."""


MAX_RATE = 100.0
"""Highest background rate of one incident type (calls / 1000 residents / day): one call a
day per ten residents, some 300 times the usual rate of medical calls (about 0.3)."""

Rate = Annotated[float, Field(ge=0, le=MAX_RATE)]
"""A background incident rate (calls / 1000 residents / day), 0 to :data:`MAX_RATE`."""


class BackgroundRates(StrictModel):
    """Everyday incident rates, in calls per 1000 residents per day, by type."""

    medical: Rate = 0.0
    """Medical emergencies (calls / 1000 residents / day)."""
    fire: Rate = 0.0
    """Fires (calls / 1000 residents / day)."""
    traffic_accident: Rate = 0.0
    """Road crashes (calls / 1000 residents / day)."""
    rescue: Rate = 0.0
    """Technical rescues (calls / 1000 residents / day)."""
    water_rescue: Rate = 0.0
    """Water rescues (calls / 1000 residents / day)."""
    hazmat: Rate = 0.0
    """Hazardous materials (calls / 1000 residents / day)."""
    police: Rate = 0.0
    """Police calls (calls / 1000 residents / day)."""


class ScriptedIncident(StrictModel):
    """One incident that happens at a given time and place, whatever the random draws."""

    at: Duration
    """When it is called in, since the scenario start (s)."""
    type: IncidentType
    """Kind of incident."""
    priority: int = Field(ge=1, le=3)
    """1 (life-threatening) to 3 (can wait)."""
    location: LonLat
    """Where it is [longitude, latitude]."""
    description: str = ""
    """Free text shown in the event log."""


class Incidents(StrictModel):
    """Calls for help: a random background stream plus scripted incidents."""

    background: BackgroundRates = BackgroundRates()
    """Poisson rates by type (calls per 1000 residents per day); hazards add their own."""
    scripted: list[ScriptedIncident] = Field(default_factory=list)
    """Incidents at fixed times and places."""
