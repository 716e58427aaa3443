"""The one rule for what a hazard or a closure closes: links of a city's link index.

Every model asks this module which of its links a ground collapse or a plan's closure
closes, so cars, walkers and ambulances see the same closed streets:

- a shape (a point with a radius, a line, a polygon; metres) closes every link whose
  *drawn* geometry (:meth:`twin.city.links.LinkIndex.lines`, the street as mapped, not the
  straight segment between its junctions) passes within the radius of it (touches it, for
  radius 0; a polygon also closes the links inside it): :func:`links_within`;
- a ground collapse is its centre (lon/lat) with its radius: :func:`collapse_closures`;
- a plan closure closes the link nearest its ``location`` and the link back along the same
  street (same two junctions), or every link of the OSM way it names:
  :func:`plan_closure_links`.

Masks are over the links of the index given (traffic: the drive index of the largest
component; crowd: the walk index; response: the drive index), in its order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from twin.errors import Problem, UserInputError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    import shapely

    from twin.city.links import LinkIndex

#: Largest distance (m) from a plan closure's ``location`` to the road it closes.
MAX_CLOSURE_SNAP = 100.0


@dataclass(frozen=True)
class Closure:
    """Links closed from ``start`` until ``end`` (s since the scenario start).

    Attributes
    ----------
    start, end
        When the links close and reopen (s; ``end`` inf: never).
    links
        (L,) bool mask over the index's links.
    name
        The hazard's or closure's name (None if it has none).
    field
        Where it comes from in its file (``"hazards.3"``, ``"closures.0"``).
    """

    start: float
    end: float
    links: np.ndarray
    name: str | None
    field: str


def links_within(links: LinkIndex, shape: shapely.Geometry, radius: float = 0.0) -> np.ndarray:
    """(L,) bool: links whose drawn geometry passes within ``radius`` (m) of ``shape``.

    Parameters
    ----------
    links
        A city's link index (metres, the pack's CRS).
    shape
        A shapely point, line or polygon in the same CRS (m).
    radius
        Distance (m) >= 0; 0 closes the links that touch (or, for a polygon, enter) it.
    """
    import shapely

    if links.n_links == 0:
        return np.zeros(0, dtype=bool)
    return shapely.distance(links.lines(), shape) <= float(radius)


def collapse_links(links: LinkIndex, crs: str, location: Sequence[float], radius: float):
    """(L,) bool: links a ground collapse at ``location`` (lon, lat) with ``radius`` (m)
    closes (:func:`links_within` its centre)."""
    import shapely

    x, y = _to_metres(crs, [location])[0]
    return links_within(links, shapely.Point(x, y), radius)


def collapse_closures(hazards: Iterable, links: LinkIndex, crs: str) -> list[Closure]:
    """The ground collapses among a scenario's ``hazards`` as closures (from their time
    on, for good), in time order; each names its field ``hazards.<i>``."""
    out = [
        Closure(
            float(h.at),
            np.inf,
            collapse_links(links, crs, h.location, h.radius),
            h.name,
            f"hazards.{i}",
        )
        for i, h in enumerate(hazards)
        if getattr(h, "kind", None) == "ground_collapse"
    ]
    return sorted(out, key=lambda c: c.start)


def plan_closure_links(
    links: LinkIndex,
    crs: str,
    *,
    road: str | None = None,
    location: Sequence[float] | None = None,
    field: str = "closures",
    max_snap: float = MAX_CLOSURE_SNAP,
) -> np.ndarray:
    """(L,) bool: the links a plan closure closes.

    ``road`` (``"way/123"`` or ``"123"``) closes every link of that OSM way; ``location``
    (lon, lat) closes the link nearest it (its drawn geometry) and any link joining the
    same two junctions (the other direction of the street).

    Raises
    ------
    twin.errors.UserInputError
        The way is not in the index, or the location is more than ``max_snap`` (m) from
        every link; the problem names ``field`` (``.road`` or ``.location``).
    """
    if road is not None:
        number = str(road).strip().rpartition("/")[2]
        way = int(number) if number.isdigit() else None
        per_link = np.repeat(np.arange(links.n_links), np.diff(links.way_offsets))
        mask = np.zeros(links.n_links, dtype=bool)
        mask[per_link[links.way_ids == way]] = True
        if not mask.any():
            raise UserInputError(
                Problem(
                    f"road {road!r} is not a {links.kind} street of the map",
                    field=f"{field}.road",
                    fix="write `road: way/<OSM id>` of a street of the map, or `location`",
                )
            )
        return mask
    if location is None:
        raise ValueError("a closure needs a road or a location")
    xy = _to_metres(crs, [location])
    (k,), _, (distance,) = links.snap(xy[:, 0], xy[:, 1])
    if not distance <= max_snap:
        raise UserInputError(
            Problem(
                f"the closure is {distance:.0f} m from the nearest street (at most "
                f"{max_snap:.0f} m)",
                field=f"{field}.location",
                fix="put it on the street to close",
            )
        )
    a, b = min(links.tail[k], links.head[k]), max(links.tail[k], links.head[k])
    lo, hi = np.minimum(links.tail, links.head), np.maximum(links.tail, links.head)
    return (lo == a) & (hi == b)


def timeline(closures: Iterable[Closure], n_links: int) -> list[tuple[float, np.ndarray]]:
    """When the set of closed links changes, and the (L,) closed mask from then on."""
    closures = list(closures)
    times = sorted({t for c in closures for t in (c.start, c.end) if np.isfinite(t)})
    out = []
    for t in times:
        closed = np.zeros(n_links, dtype=bool)
        for c in closures:
            if c.start <= t < c.end:
                closed |= c.links
        out.append((t, closed))
    return out


def _to_metres(crs: str, lonlat) -> np.ndarray:
    from pyproj import Transformer

    lon, lat = np.asarray(lonlat, dtype=float).T
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    return np.column_stack([np.atleast_1d(x), np.atleast_1d(y)])
