"""The scenario model: a city, a time window, hazards, demand, incidents, plans and objectives.

A scenario file is YAML whose top level validates as :class:`Scenario`; see
``scenarios/README.md`` for the format in prose and ``scenarios/`` for examples.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from twin.scenario.base import InputPath, Name, PlanPaths, StrictModel, Version, file_name
from twin.scenario.demand import Demand, Incidents
from twin.scenario.hazards import Hazard, hazard_times
from twin.scenario.options import FloodSettings, Objectives, Outputs
from twin.scenario.quantities import Length, PositiveDuration, PositiveLength, humanize_duration

SINGLE_HAZARDS = frozenset({"sea_level", "drainage", "infiltration"})
"""Hazard kinds a scenario may hold at most once (they apply to the whole map)."""


class City(StrictModel):
    """The city a scenario runs in: a catalogue name, or an OSM file and optional DEM tiles."""

    name: str | None = None
    """Name of a city in the map catalogue (maps/catalogue.yaml), e.g. 'monaco'; or `osm`."""
    osm: InputPath | None = None
    """OpenStreetMap file (.osm.pbf, .osm, .osm.bz2), relative to the scenario file; or `name`."""
    dem: list[InputPath] = Field(default_factory=list)
    """Elevation files (GeoTIFF, SRTM .hgt, ESRI ASCII), relative to the scenario file;
    with `name`, they replace the catalogue's."""
    flat: bool = False
    """Build flat terrain at `datum` instead of reading a DEM."""
    datum: Length = 0.0
    """Ground elevation of flat terrain (m above sea level)."""
    resolution: PositiveLength = 10.0
    """Cell size of the terrain and flood grid (m; default 10 m)."""

    @model_validator(mode="after")
    def _source(self) -> City:
        if (self.name is None) == (self.osm is None):
            said = "both given" if self.name is not None else "neither given"
            raise PydanticCustomError(
                "one_of",
                f"a city needs exactly one of `name` (catalogue) or `osm` (file), {said}",
                {"fix": "write e.g. `name: monaco`, or `osm: maps/city.osm.pbf`"},
            )
        if self.flat and self.dem:
            raise PydanticCustomError(
                "flat_with_dem",
                "`flat: true` builds terrain without elevation, but `dem` files are given",
                {"subloc": ("flat",), "fix": "remove `dem`, or set `flat: false`"},
            )
        return self


class TimeWindow(StrictModel):
    """When the scenario happens and how long it runs."""

    start: datetime | None = None
    """Clock time of the scenario start (ISO 8601, e.g. 2024-10-17T14:00:00); sets the hour
    of day for demand and incidents. Optional."""
    duration: PositiveDuration = Field(examples=["6 h"])
    """How long the scenario runs (s; e.g. '6 h'). Required."""


class Scenario(StrictModel):
    """A whole scenario: everything a run needs except the response plan(s)."""

    kind: Literal["scenario"] = "scenario"
    """File kind; optional (a file with `city` and `time` is a scenario)."""
    version: Version = Field(examples=[1])
    """File format version. Required; write `version: 1`."""
    name: Name = Field(examples=["my_scenario"])
    """Short name shown in reports; result folders use a safe file name made of it."""
    description: str = ""
    """What the scenario is about, in words."""
    city: City = Field(examples=[{"name": "monaco"}])
    """The city: a catalogue `name`, or an `osm` file with optional `dem` files."""
    time: TimeWindow = Field(examples=[{"duration": "6 h"}])
    """Start (optional clock time) and `duration` (required)."""
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    """Seed of all random draws of a run (0 to 2^63 - 1)."""
    replications: int | None = Field(default=None, ge=1, le=100_000)
    """Default number of replications when comparing plans (1 to 100,000)."""
    population: int | None = Field(default=None, ge=1, le=50_000_000, examples=[38_000])
    """Residents of the mapped area; background incident rates scale with it instead of
    the estimate from mapped buildings (which undercounts where buildings are poorly
    mapped). Their spread over the map still follows the buildings."""
    hazards: list[Hazard] = Field(default_factory=list)
    """Hazards, each with a `kind`: rainfall, inflow, sea_level, drainage, infiltration,
    ground_collapse, crowd_event."""
    flood: FloodSettings = FloodSettings()
    """Settings of the flood model."""
    demand: Demand = Demand()
    """Traffic demand and evacuation orders."""
    incidents: Incidents = Incidents()
    """Background incident rates and scripted incidents."""
    plans: PlanPaths = Field(default_factory=list)
    """Response plan files to run, relative to this file and inside its folder tree."""
    outputs: Outputs = Outputs()
    """What to write, and where."""
    objectives: Objectives = Objectives()
    """How plans are scored."""

    @model_validator(mode="before")
    @classmethod
    def _default_output_folder(cls, data: Any, info: ValidationInfo) -> Any:
        """Put results in ``results/<name>`` beside the file unless ``outputs.folder`` says."""
        if not (isinstance(data, dict) and isinstance(data.get("name"), str)):
            return data
        outputs = data.get("outputs", {})
        if (info.context or {}).get("base_dir") is None or not isinstance(outputs, dict):
            return data
        if outputs.get("folder") is None:
            folder = f"results/{file_name(data['name'])}"
            data = {**data, "outputs": {**outputs, "folder": folder}}
        return data

    @model_validator(mode="after")
    def _single_hazards(self) -> Scenario:
        seen: dict[str, int] = {}
        for i, hazard in enumerate(self.hazards):
            if hazard.kind in SINGLE_HAZARDS and hazard.kind in seen:
                raise PydanticCustomError(
                    "duplicate_hazard",
                    f"only one {hazard.kind} hazard is allowed; hazards[{seen[hazard.kind]}] "
                    "is one already",
                    {"loc": ("hazards", i, hazard.kind, "kind"), "fix": "merge them into one"},
                )
            seen.setdefault(hazard.kind, i)
        return self

    @model_validator(mode="after")
    def _within_duration(self) -> Scenario:
        end = self.time.duration
        events: list[tuple[tuple[str | int, ...], float]] = []
        for i, hazard in enumerate(self.hazards):
            events += [(("hazards", i, hazard.kind, n), t) for n, t in hazard_times(hazard)]
        for i, incident in enumerate(self.incidents.scripted):
            events.append((("incidents", "scripted", i, "at"), incident.at))
        if self.demand.evacuation is not None:
            events.append(
                (("demand", "evacuation", "order_time"), self.demand.evacuation.order_time)
            )
        for loc, when in events:
            if when >= end:
                raise PydanticCustomError(
                    "after_end",
                    f"this happens at {humanize_duration(when)}, at or after the scenario "
                    f"ends ({humanize_duration(end)})",
                    {"loc": loc, "fix": "make it earlier, or lengthen `time.duration`"},
                )
        return self
