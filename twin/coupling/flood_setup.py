"""Scenario + city -> the flood model's inputs (forcing, settings, building raster).

The scenario speaks the user's language (hazards in lon/lat, Manning's n by land use); the
flood model takes SI arrays on its grid. This module is the one place that translates.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twin.errors import Problem, UserInputError
from twin.flood import FloodConfig, Forcing, Gauge, Inflow, Rainfall, SeaLevel
from twin.flood.grid import (
    BuildingRaster,
    GridSpec,
    check_memory,
    rasterize_buildings,
    zone_mask,
)
from twin.flood.river import Breach, Levee, River

if TYPE_CHECKING:
    from twin.scenario.schema import Scenario

#: Paved width (m) given to a road edge per lane, for the ``roads`` roughness class.
LANE_WIDTH_M = 3.5


@dataclass(frozen=True)
class FloodSetup:
    """Everything a flood run needs: its terrain (the city's, clipped to ``flood.area``),
    forcing, settings and building raster on that terrain's grid."""

    forcing: Forcing
    config: FloodConfig
    buildings: BuildingRaster | None
    terrain: object = None


def clip_to_area(terrain, area) -> tuple[object, np.ndarray | None]:
    """The terrain clipped to the bounding box of ``flood.area`` and the mask of its cells
    whose centre is inside the area (``None`` without an area: the whole map).

    ``area`` is a polygon of (lon, lat) corners or a box (west, south, east, north).
    """
    if area is None:
        return terrain, None
    if len(area) == 4 and not isinstance(area[0], tuple | list):
        w, s, e, n = area
        area = [(w, s), (e, s), (e, n), (w, n)]
    corners = [tuple(c) for c in area]
    spec = GridSpec.from_terrain(terrain)
    xy = spec.to_grid_xy(corners, "EPSG:4326", what="flood.area")
    ny, nx = spec.shape
    dx = spec.resolution
    eps = 1e-6  # cells: corners that round-trip through lon/lat land a hair off a cell side
    c0 = max(int(np.floor((xy[:, 0].min() - spec.x0) / dx + eps)), 0)
    c1 = min(int(np.ceil((xy[:, 0].max() - spec.x0) / dx - eps)), nx)
    r0 = max(int(np.floor((spec.y0 - xy[:, 1].max()) / dx + eps)), 0)
    r1 = min(int(np.ceil((spec.y0 - xy[:, 1].min()) / dx - eps)), ny)
    if c1 <= c0 or r1 <= r0:
        raise UserInputError(
            Problem(
                f"the flood area lies outside the map ({spec.describe()})",
                field="flood.area",
                fix="check the corners' coordinates ([longitude, latitude] order) and the map",
            )
        )
    clipped = replace(
        terrain,
        elevation=np.ascontiguousarray(terrain.elevation[r0:r1, c0:c1]),
        x0=spec.x0 + c0 * dx,
        y0=spec.y0 - r0 * dx,
    )
    domain = zone_mask(GridSpec.from_terrain(clipped), corners, "EPSG:4326", what="flood.area")
    return clipped, domain


def forcing_from_hazards(hazards) -> Forcing:
    """The flood forcing of a scenario's hazards (the rest are ignored here).

    Inflow hydrograph times count from the inflow's ``start``. Each forcing is named by its
    place in the scenario (``hazards.1``), so the flood model's problems name the scenario's
    fields (see :func:`locate_in_scenario`).
    """
    rain, inflows, sea, drainage, infiltration = [], [], None, 0.0, 0.0
    rivers = []
    for index, hazard in enumerate(hazards):
        label = f"hazards.{index}"
        if hazard.kind == "rainfall":
            rain.append(
                Rainfall(
                    times=[p.at for p in hazard.hyetograph],
                    intensities=[p.intensity for p in hazard.hyetograph],
                    zone=[tuple(c) for c in hazard.zone] if hazard.zone else None,
                    name=label,
                )
            )
        elif hazard.kind == "inflow":
            points = [hazard.location] if hazard.location else hazard.line
            inflows.append(
                Inflow(
                    times=[hazard.start + p.at for p in hazard.hydrograph],
                    discharges=[p.discharge for p in hazard.hydrograph],
                    points=[tuple(p) for p in points],
                    name=label,
                )
            )
        elif hazard.kind == "sea_level":
            sea = SeaLevel(
                times=[p.at for p in hazard.levels],
                levels=[p.level for p in hazard.levels],
                name=label,
            )
        elif hazard.kind == "river":
            rivers.append(river_forcing(hazard, label))
        elif hazard.kind == "drainage":
            drainage += hazard.capacity
        elif hazard.kind == "infiltration":
            infiltration += hazard.rate
    return Forcing(
        rainfall=tuple(rain),
        inflows=tuple(inflows),
        sea_level=sea,
        drainage_rate=drainage,
        infiltration_rate=infiltration,
        rivers=tuple(rivers),
    )


def river_forcing(hazard, label: str) -> River:
    """The flood model's :class:`~twin.flood.river.River` of a scenario ``river`` hazard
    (lon/lat points, levels in the terrain datum, times since the scenario start)."""
    levees = [
        Levee(
            points=[tuple(p) for p in lv.line],
            crest=lv.crest,
            breach=None
            if lv.breach is None
            else Breach(
                location=tuple(lv.breach.location),
                width=lv.breach.width,
                growth=lv.breach.growth,
                at=lv.breach.at,
                overtop_for=lv.breach.overtop_for,
                bottom=lv.breach.bottom,
            ),
        )
        for lv in hazard.levees
    ]
    return River(
        times=[p.at for p in hazard.stage],
        levels=[p.level for p in hazard.stage],
        points=[tuple(p) for p in hazard.line],
        width=hazard.width,
        levees=levees,
        name=label,
        title=hazard.name,
    )


def manning_grid(manning, pack, spec: GridSpec, buildings: BuildingRaster | None):
    """Manning's n per cell from a land-use mapping (or the scalar itself).

    Classes are burnt in this order, later ones winning: ``default`` everywhere, land
    cover (``parks``, ``forest``, ``water``) from the pack's polygons (cells whose centre is
    inside), ``roads`` along the drive graph (lanes x 3.5 m wide; every cell a road
    touches), ``buildings`` on footprints.
    """
    if isinstance(manning, int | float):
        return float(manning)
    from rasterio.features import rasterize

    grid = np.full(spec.shape, manning.default, dtype=np.float64)

    def burn(shapes, value, *, all_touched: bool = False) -> None:
        shapes = [s for s in shapes if s is not None and not s.is_empty]
        if value is None or not shapes:
            return
        mask = rasterize(
            ((s, 1) for s in shapes),
            out_shape=spec.shape,
            transform=spec.transform,
            fill=0,
            all_touched=all_touched,
        ).astype(bool)
        grid[mask] = value

    for cover in ("parks", "forest", "water"):
        rows = pack.landcover[pack.landcover["cover"] == cover]
        burn(rows.geometry.to_numpy(), getattr(manning, cover))
    if manning.roads is not None:
        # roads are narrower than a cell: any cell they touch counts as road
        burn(_road_polygons(pack.drive), manning.roads, all_touched=True)
    if manning.buildings is not None and buildings is not None:
        grid[buildings.mask] = manning.buildings
    return grid


def _road_polygons(graph):
    import shapely

    lines, widths = [], []
    for u, v, data in graph.edges(data=True):
        geom = data.get("geometry")
        if geom is None:
            a, b = graph.nodes[u], graph.nodes[v]
            geom = shapely.LineString([(a["x"], a["y"]), (b["x"], b["y"])])
        lines.append(geom)
        widths.append(data.get("lanes", 1) * LANE_WIDTH_M)
    return shapely.buffer(np.array(lines, dtype=object), np.array(widths) / 2.0)


def flood_setup(scenario, pack) -> FloodSetup:
    """The flood inputs of a validated :class:`~twin.scenario.Scenario` on a city pack."""
    settings = scenario.flood
    terrain, domain = clip_to_area(pack.terrain, settings.area)
    spec = GridSpec.from_terrain(terrain)
    check_memory(spec.shape, spec.resolution, None)  # before the rasters below
    buildings = None
    if settings.buildings != "ignore" and len(pack.buildings):
        buildings = rasterize_buildings(
            spec, pack.buildings.geometry.to_numpy(), pack.buildings["height"].to_numpy()
        )
    edges = settings.edges if isinstance(settings.edges, str) else settings.edges.model_dump()
    config = FloodConfig(
        alpha=settings.alpha,
        theta=settings.theta,
        manning=manning_grid(settings.manning, pack, spec, buildings),
        buildings=settings.buildings,
        edges=edges,
        output_interval=settings.output_interval,
        gauge_interval=settings.gauge_interval,
        gauges=tuple(Gauge(g.name, tuple(g.location)) for g in settings.gauges),
        depth_threshold=settings.depth_threshold,
        wet_depth=settings.wet_depth,
        froude_limit=settings.froude_limit,
        time_step=settings.time_step,
        dt_max=settings.dt_max,
        sea_elevation=_sea_elevation(scenario),
        domain=domain,
    )
    return FloodSetup(forcing_from_hazards(scenario.hazards), config, buildings, terrain)


def _sea_elevation(scenario) -> float | None:
    """The flood's sea elevation: the scenario's, except on flat terrain (``city.flat``)
    where there is no sea unless the scenario states one (``flood.sea_elevation`` or a
    ``sea_level`` hazard). Flat terrain at the default datum, 0 m, is otherwise all at or
    below the default sea elevation, 0 m, and the whole map would become sea (issue 10).
    """
    settings = scenario.flood
    stated = "sea_elevation" in settings.model_fields_set or any(
        h.kind == "sea_level" for h in scenario.hazards
    )
    if scenario.city.flat and not stated:
        return None
    return settings.sea_elevation


def locate_in_scenario(
    exc: UserInputError, scenario: Scenario, file: Path | str | None = None
) -> UserInputError:
    """The same problems, those about a scenario field given the scenario file and line.

    The flood model names fields by their scenario path (``hazards.1.location``,
    ``flood.gauges.<name>``) but knows no file; this adds the file and line the loader
    recorded for that field of ``scenario`` (:func:`twin.coupling.problems.locate`; the
    YAML is not read again). ``file`` is named when ``scenario`` was built in code.
    """
    from twin.coupling.problems import locate

    return locate(exc, scenario, ("hazards", "flood"), file=file)
