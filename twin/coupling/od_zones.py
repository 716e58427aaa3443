"""A scenario's OD matrices by zones (``demand.od_matrix``) as traffic trips.

Each entry names a CSV matrix (``origin``, ``destination``, ``trips``) and a polygon layer
of zones; the zones become the drive network's nodes inside them, the matrix rows become
:func:`twin.traffic.demand.od_matrix_trips` rows, and that function draws each trip's ends
uniformly among its zones' nodes and spreads departures evenly over the period.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twin.errors import Problem, UserInputError
from twin.traffic.demand import Trips, od_matrix_trips

if TYPE_CHECKING:
    from twin.scenario.demand import OdMatrix
    from twin.traffic.network import RoadNetwork

COLUMNS = ("origin", "destination", "trips")
"""Columns an OD matrix CSV must have (others are ignored)."""
MAX_TRIPS = 1_000_000
"""Most vehicles one row of a matrix may send (as one OD flow of ``demand.od``)."""

Row = tuple[float, float, str, str, int]


def zone_nodes(spec: OdMatrix, net: RoadNetwork, crs: str, *, field: str) -> dict[str, np.ndarray]:
    """Zone name -> indices of the network's nodes inside the zone's polygon.

    Parameters
    ----------
    spec
        The matrix entry (its ``zones`` layer).
    net
        The drive network, in the projected CRS ``crs`` (m).
    field
        The entry's field path, for problems (``demand.od_matrix.0``).

    Raises
    ------
    twin.errors.UserInputError
        If a zone holds no node of the network, naming the zone and the layer.
    """
    import shapely
    from pyproj import Transformer

    to_m = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = np.asarray(net.x, dtype=float), np.asarray(net.y, dtype=float)
    nodes: dict[str, np.ndarray] = {}
    empty: list[str] = []
    for name, ring in spec.zones.zones().items():
        lon, lat = np.asarray(ring, dtype=float).T
        polygon = shapely.Polygon(np.column_stack(to_m.transform(lon, lat)))
        nodes[name] = np.flatnonzero(shapely.contains_xy(polygon, x, y))
        if nodes[name].size == 0:
            empty.append(name)
    if empty:
        raise UserInputError(
            Problem(
                f"zone(s) {', '.join(map(repr, empty))} of {spec.zones.file.name} hold no node "
                "of the road network",
                field=f"{field}.zones",
                fix="draw the zones over streets of the map, or make them larger",
            )
        )
    return nodes


def read_matrix(spec: OdMatrix, zones: set[str]) -> list[Row]:
    """The rows of a matrix CSV as ``(start_s, end_s, origin, destination, vehicles)``.

    Vehicles are the ``trips`` column, or with ``per_hour`` that rate times the period's
    hours rounded to the nearest whole vehicle.

    Raises
    ------
    twin.errors.UserInputError
        Naming the CSV file and line: missing columns, an unknown zone (with the known
        ones), or a trip count that is not a whole number from 0 to :data:`MAX_TRIPS`.
    """
    path = Path(spec.matrix)
    hours = (spec.end - spec.start) / 3600.0
    known = ", ".join(sorted(zones))
    rows: list[Row] = []
    problems: list[Problem] = []
    try:
        fh = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise UserInputError(Problem(f"cannot read the file: {exc}", path)) from None
    with fh:
        reader = csv.DictReader(fh)
        header = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise UserInputError(
                Problem(
                    f"missing column(s) {', '.join(missing)}; the header is {header}",
                    path,
                    1,
                    fix="start the file with the line `origin,destination,trips`",
                )
            )
        reader.fieldnames = header
        for record in reader:
            line = reader.line_num
            ends = {side: (record[side] or "").strip() for side in ("origin", "destination")}
            for side, name in ends.items():
                if name not in zones:
                    problems.append(
                        Problem(
                            f"unknown zone {name!r}",
                            path,
                            line,
                            side,
                            f"use a zone of {spec.zones.file.name}: {known}",
                        )
                    )
            vehicles = _vehicles(record["trips"], hours if spec.per_hour else None)
            if vehicles is None:
                what = "vehicles per hour" if spec.per_hour else "a whole number of vehicles"
                problems.append(
                    Problem(
                        f"trips {record['trips']!r} is not {what} from 0 to {MAX_TRIPS:,}",
                        path,
                        line,
                        "trips",
                        "write e.g. 120",
                    )
                )
                continue
            rows.append((spec.start, spec.end, ends["origin"], ends["destination"], vehicles))
    if problems:
        raise UserInputError(problems)
    return rows


def _vehicles(text: str | None, hours: float | None) -> int | None:
    """Whole vehicles of a ``trips`` cell (a rate times ``hours`` when given), or None."""
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    if not math.isfinite(value) or value < 0:
        return None
    if hours is not None:
        value = round(value * hours)
    elif not value.is_integer():
        return None
    return int(value) if value <= MAX_TRIPS else None


def od_matrix_demand(
    specs: list[OdMatrix], net: RoadNetwork, crs: str, rng: np.random.Generator
) -> Trips:
    """The trips of every OD matrix of a scenario (``demand.od_matrix``), in order.

    Parameters
    ----------
    specs
        The matrix entries.
    net
        The drive network (projected CRS ``crs``, m).
    rng
        Generator of the trip ends' node draws (one stream for all entries).

    Raises
    ------
    twin.errors.UserInputError
        See :func:`zone_nodes` and :func:`read_matrix`.
    """
    parts = []
    for i, spec in enumerate(specs):
        nodes = zone_nodes(spec, net, crs, field=f"demand.od_matrix.{i}")
        parts.append(od_matrix_trips(nodes, read_matrix(spec, set(nodes)), rng))
    return Trips.concat(parts)
