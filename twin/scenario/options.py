"""Model settings, outputs and objectives of a scenario."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator
from pydantic_core import PydanticCustomError

from twin.scenario.base import Latitude, Longitude, LonLat, OutputPath, Polygon, StrictModel
from twin.scenario.quantities import Duration, Length, PositiveDuration, PositiveLength
from twin.scenario.weights import (
    Weight,
    check_weight,
    deprecated_note,
    is_deprecated,
    score_seconds,
)

_N = Annotated[float, Field(gt=0, le=1)]


class ManningByLandUse(StrictModel):
    """Manning's roughness n (s/m^(1/3)) by land use; `default` covers the rest."""

    default: _N = 0.03
    """Any cell not covered by another class."""
    roads: _N | None = None
    """Paved roads and squares (typical 0.015)."""
    buildings: _N | None = None
    """Building footprints when `buildings: raised` or `ignore` (typical 0.1)."""
    parks: _N | None = None
    """Grass, parks and gardens (typical 0.05)."""
    forest: _N | None = None
    """Woods and dense vegetation (typical 0.1)."""
    water: _N | None = None
    """Rivers, canals and harbours (typical 0.025)."""


def _manning_tag(value: Any) -> str:
    return "by_land_use" if isinstance(value, dict | ManningByLandUse) else "uniform"


Manning = Annotated[
    Annotated[float, Field(gt=0, le=1), Tag("uniform")]
    | Annotated[ManningByLandUse, Tag("by_land_use")],
    Discriminator(_manning_tag),
]
"""Manning's n (s/m^(1/3)): one number for the whole grid, or a mapping by land use."""


class Gauge(StrictModel):
    """A point where the water level and depth are recorded over time."""

    name: str
    """Name shown in results (unique)."""
    location: LonLat
    """Where [longitude, latitude]."""


EdgeMode = Literal["open", "closed"]
"""``open``: free outflow at critical depth; ``closed``: a wall."""


class EdgeModes(StrictModel):
    """Boundary condition of each map edge; edges left out are open."""

    north: EdgeMode = "open"
    """Northern edge."""
    south: EdgeMode = "open"
    """Southern edge."""
    east: EdgeMode = "open"
    """Eastern edge."""
    west: EdgeMode = "open"
    """Western edge."""


def _edges_tag(value: Any) -> str:
    return "by_edge" if isinstance(value, dict | EdgeModes) else "all"


Edges = Annotated[
    Annotated[EdgeMode, Tag("all")] | Annotated[EdgeModes, Tag("by_edge")],
    Discriminator(_edges_tag),
]
"""One mode for all map edges, or a mapping by edge."""


class FloodSettings(StrictModel):
    """Settings of the 2-D flood model (local inertial shallow water, twin.flood)."""

    alpha: float = Field(default=0.7, gt=0, le=1)
    """Courant factor of the time step dt = alpha * dx / wave speed (see time_step)."""
    theta: float = Field(default=1.0, ge=0, le=1)
    """Weight of a face's own discharge in de Almeida et al.'s (2012) smoothing; 1 (default)
    gives the plain Bates et al. (2010) scheme; below 1 damps oscillations (needed without
    friction) but makes the answer depend on the time step."""
    manning: Manning = Field(default=0.03, examples=[0.03])
    """Manning's n (s/m^(1/3)): a number, or a mapping by land use, e.g. {roads: 0.015,
    parks: 0.05, default: 0.03}."""
    buildings: Literal["obstacles", "raised", "ignore"] = "obstacles"
    """How buildings enter the terrain: walls water cannot enter (obstacles), raised by their
    height (raised), or left out (ignore)."""
    edges: Edges = "open"
    """Map edges: open (free outflow) or closed (wall); or by edge, e.g. {north: closed}."""
    sea_elevation: Length = 0.0
    """Cells at or below this elevation (m) that connect to the map edge are sea. On flat
    terrain (`city.flat`) there is no sea unless this or a sea_level hazard is given; a map
    with no land left is an error."""
    output_interval: PositiveDuration = 600.0
    """Time between saved depth grids and volume-balance rows (s; default 10 min)."""
    gauge_interval: PositiveDuration | None = None
    """Time between gauge readings (s); default the shorter of output_interval and 1 min."""
    gauges: list[Gauge] = Field(default_factory=list)
    """Points where the water level is recorded."""
    depth_threshold: PositiveLength = 1e-4
    """Flow depth below which a face carries no flow (m; wet/dry front)."""
    wet_depth: PositiveLength = 0.01
    """Depth at which a cell counts as wet, for the time of first wetting (m)."""
    froude_limit: float | None = Field(default=None, gt=0)
    """Cap face discharges at Fr * h * sqrt(g h) (default none). For comparisons with the old
    default (`froude_limit: 1`, `time_step: depth`, `theta: 0.8`) and Landlab's steep_slopes:
    sheet flow on steep slopes then runs at critical depth (36-121 % too deep on 10-50 %)."""
    time_step: Literal["flow", "depth"] = "flow"
    """flow (default): dt from the flow speed plus the wave speed on every face, right on
    steep ground; depth: dt = alpha * dx / sqrt(g * h_max) (Bates et al. 2010), stable on
    steep ground only with froude_limit."""
    dt_max: PositiveDuration = 10.0
    """Longest time step, used while the map is (nearly) dry (s)."""
    area: Polygon | tuple[Longitude, Latitude, Longitude, Latitude] | None = None
    """Area of interest: a polygon of [longitude, latitude] corners, or a box [west, south,
    east, north]. The flood grid is clipped to its bounding box and cells outside the
    polygon are left out (walls), so e.g. a valley runs without its empty slopes; the box's
    sides follow `edges`. Default: the whole map."""

    @model_validator(mode="after")
    def _area_box(self) -> FloodSettings:
        area = self.area
        if isinstance(area, tuple) and not (area[0] < area[2] and area[1] < area[3]):
            raise PydanticCustomError(
                "bad_box",
                f"the box {list(area)} needs west < east and south < north",
                {"subloc": ("area",), "fix": "write [west, south, east, north] in degrees"},
            )
        return self

    @model_validator(mode="after")
    def _unique_gauges(self) -> FloodSettings:
        names = [g.name for g in self.gauges]
        for i, name in enumerate(names):
            if names.count(name) > 1:
                raise PydanticCustomError(
                    "duplicate_name",
                    f"the gauge name {name!r} is used {names.count(name)} times",
                    {"subloc": ("gauges", i, "name"), "fix": "give each gauge its own name"},
                )
        return self


class Outputs(StrictModel):
    """What a run writes, and where."""

    folder: OutputPath | None = None
    """Folder for results, relative to the scenario file; default `results/<name>` beside it."""
    kpis: bool = True
    """Write the KPI table."""
    timeseries_interval: PositiveDuration = 60.0
    """Time between rows of the time series (s; default 1 min)."""
    events: bool = True
    """Write the event log (incidents, dispatches, closures)."""
    snapshots: PositiveDuration | None = None
    """Time between full-state snapshots for 3D replay (s; e.g. '1 min'); none if omitted."""
    flood_maps: bool = True
    """Write maximum depth and velocity rasters."""
    csv: bool = True
    """Keep CSV copies of the tabular series (gauges, trips, events...) beside their Parquet
    files; default true (the plots and reports read the CSVs). `--csv/--no-csv` overrides."""


KpiName = Literal[
    "response_time_p50",
    "response_time_p90",
    "share_within_target",
    "unserved_incidents",
    "people_exposed",
    "evacuation_clearance_time",
    "vehicle_delay_hours",
    "shelter_overflow",
    "hospital_overflow",
]
"""Names of the KPIs a run reports."""


class ResponseTargets(StrictModel):
    """Target response times by incident priority, for `share_within_target`."""

    priority_1: Duration = 480.0
    """Life-threatening incidents (s; default 8 min)."""
    priority_2: Duration = 900.0
    """Urgent incidents (s; default 15 min)."""
    priority_3: Duration = 1800.0
    """Incidents that can wait (s; default 30 min)."""


class Objectives(StrictModel):
    """How plans are scored: a primary KPI, and weights for a combined score."""

    primary: KpiName = "response_time_p90"
    """The KPI plans are ranked by."""
    weights: dict[KpiName, Weight] = Field(default_factory=dict)
    """Weights of KPIs in the combined score, a time (lower is better): a factor on a time
    KPI (`response_time_p90: 1`), else a duration, what one unserved call, person,
    vehicle-hour or percentage point costs (`unserved_incidents: 10 min`); see
    twin/scenario/weights.py. Empty: primary only."""
    targets: ResponseTargets = ResponseTargets()
    """Response-time targets by priority."""

    @model_validator(mode="after")
    def _weight_units(self) -> Objectives:
        for name, value in self.weights.items():
            try:
                check_weight(name, value)
            except PydanticCustomError as error:
                ctx = dict(error.context or {})
                ctx["subloc"] = ("weights", *ctx.get("subloc", ()))
                raise PydanticCustomError(error.type, error.message(), ctx) from None
        return self

    def score_weights(self) -> dict[str, float]:
        """Weights in seconds of score per unit of each KPI's stored (SI) value."""
        return {name: score_seconds(name, value) for name, value in self.weights.items()}

    def weight_notes(self) -> list[str]:
        """A deprecation note for each old bare-number weight on a non-time KPI."""
        return [
            deprecated_note(name, float(value))
            for name, value in self.weights.items()
            if is_deprecated(name, value)
        ]
