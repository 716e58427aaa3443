"""Who walks where: evacuees from buildings, venue crowds, shelters, all on a CityPack.

Each function returns plain arrays (node indices of a :class:`~twin.crowd.WalkNetwork`,
departure times in s) for :meth:`~twin.crowd.CrowdModel.add_people` and
:meth:`~twin.crowd.CrowdModel.add_destinations`. Mistakes a user can make (a zone off the
map, a venue with no walkway, a shelter far from any path) raise
:class:`~twin.errors.UserInputError` naming the scenario field and a fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely
from pyproj import Transformer

from twin.crowd.choice import check_memory
from twin.errors import Problem, UserInputError

if TYPE_CHECKING:
    from twin.city import CityPack
    from twin.crowd.network import WalkNetwork
    from twin.scenario.demand import Evacuation
    from twin.scenario.hazards import CrowdEvent
    from twin.scenario.plan import Shelter

SHELTER_KINDS = ("shelter", "assembly_point", "school", "community_centre")
"""Facility kinds that are shelters or may be opened as one."""
STATUS_OF_KIND = {"shelter": "shelter", "assembly_point": "shelter",
                  "school": "candidate", "community_centre": "candidate"}  # fmt: skip
"""A facility's shelter status by kind, for packs built before facilities had a ``status``:
``shelter`` (designated: evacuees may go there) or ``candidate`` (only if a plan opens it)."""
WHY = {"shelter": "designated shelter", "candidate": "candidate opened by plan"}
"""Why a city facility is a destination, by status."""
MAX_OPEN_SNAP = 250.0
"""A [lon, lat] in ``open_shelters`` names the candidate nearest it within this (m)."""


@dataclass(frozen=True)
class Destinations:
    """Destination nodes with capacities (inf: no limit), names and why each is one."""

    nodes: np.ndarray
    capacities: np.ndarray
    names: list[str]
    why: list[str] | None = None


def candidate_names(pack: CityPack) -> list[str]:
    """Names of the city's candidate shelters (schools, community centres), as the KPIs
    name them."""
    f = pack.facilities
    status = shelter_status(f)
    return [n for n, s in zip(_facility_names(f), status, strict=True) if s == "candidate"]


def shelter_status(facilities) -> np.ndarray:
    """``shelter``, ``candidate`` or ``""`` for each facility (its ``status`` column, or its
    kind when the pack predates it)."""
    if "status" in facilities.columns:
        status = facilities["status"].astype(str).to_numpy()
        return np.where(np.isin(status, ("shelter", "candidate")), status, "")
    return np.array([STATUS_OF_KIND.get(k, "") for k in facilities["kind"]], dtype=object)


def _facility_names(f) -> list[str]:
    return [
        f"{k} {n}" if isinstance(n, str) and n else f"{k} {t}/{i}"
        for k, n, t, i in zip(f["kind"], f["name"], f["osm_type"], f["osm_id"], strict=True)
    ]


def _project(pack: CityPack, lonlat) -> np.ndarray:
    to_xy = Transformer.from_crs("EPSG:4326", pack.crs, always_xy=True)
    pts = np.asarray(lonlat, dtype=np.float64).reshape(-1, 2)
    x, y = to_xy.transform(pts[:, 0], pts[:, 1])
    return np.column_stack([x, y])


def _polygon(pack: CityPack, lonlat, field: str) -> shapely.Polygon:
    """A lon/lat polygon in the pack's CRS; an error if it misses the walk network."""
    poly = shapely.Polygon(_project(pack, lonlat))
    if not poly.is_valid:
        poly = poly.buffer(0)
    xy = np.array([(d["x"], d["y"]) for _, d in pack.walk.nodes(data=True)])
    hull = shapely.MultiPoint(xy).convex_hull if len(xy) else shapely.Polygon()
    if not poly.intersects(hull):
        w, s, e, n = pack.bbox_lonlat
        raise UserInputError(
            Problem(
                f"the area lies outside the map of {pack.name} "
                f"(its walkways span lon {w:.4f}..{e:.4f}, lat {s:.4f}..{n:.4f})",
                field=field,
                fix="check the corners are [longitude, latitude] inside the city",
            )
        )
    return poly


def round_people(expected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Round expected head counts to integers without bias (floor + a Bernoulli draw)."""
    base = np.floor(expected)
    return (base + (rng.random(expected.size) < expected - base)).astype(np.int64)


def evacuees(
    pack: CityPack,
    net: WalkNetwork,
    order: Evacuation,
    rng: np.random.Generator,
    *,
    walkers_only: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Origins and departure times of the people an evacuation order sends on foot.

    People are the ``occupants`` of the buildings in ``order.zone`` (a footprint's
    representative point inside it) or in ``order.buildings``, times ``compliance``, times
    ``1 - car_share`` if ``walkers_only``; each leaves from the walk node nearest its
    building at ``order_time`` plus a delay drawn from ``order.curve``.

    Returns
    -------
    nodes, depart
        Origin node index and departure time (s) of each person.

    Raises
    ------
    twin.errors.UserInputError
        If the zone lies outside the map, or no listed building is in the city.
    """
    b = pack.buildings
    if order.zone is not None:
        poly = _polygon(pack, order.zone, "demand.evacuation.zone")
        inside = shapely.contains(poly, b.geometry.representative_point().values)
        where = "demand.evacuation.zone"
    else:
        wanted = {str(s).rsplit("/", 1)[-1] for s in order.buildings}
        inside = b["osm_id"].astype(str).isin(wanted).to_numpy()
        where = "demand.evacuation.buildings"
    if not inside.any():
        raise UserInputError(
            Problem(
                f"no building of {pack.name} is in the evacuation order",
                field=where,
                fix="draw the zone around buildings, or list OSM ids like 'way/123456'",
            )
        )
    chosen = b[inside]
    share = order.compliance * ((1.0 - order.car_share) if walkers_only else 1.0)
    heads = round_people(chosen["occupants"].to_numpy(dtype=float) * share, rng)
    check_memory(heads.sum(), net.n_links, net.n_nodes, 1, field=where)
    pts = chosen.geometry.representative_point()
    node, _ = net.nearest_nodes(pts.x.to_numpy(), pts.y.to_numpy())
    nodes = np.repeat(node, heads)
    depart = order.order_time + order.curve.delays(nodes.size, rng)
    return nodes, depart


def venue_crowd(
    pack: CityPack,
    net: WalkNetwork,
    event: CrowdEvent,
    rng: np.random.Generator,
    *,
    field: str = "hazards.crowd_event.venue",
) -> tuple[np.ndarray, np.ndarray, Destinations]:
    """People leaving a venue and the venue's exits.

    The people start spread evenly over the walk nodes inside the venue polygon and leave
    uniformly over ``[start, start + duration]``. Exits are the nodes outside the venue at
    the end of a link that leaves it. ``field``: the scenario field of the venue, for errors
    (``hazards.<i>.venue``).

    Raises
    ------
    twin.errors.UserInputError
        If the venue is off the map, or no walkway leads out of it.
    """
    poly = _polygon(pack, event.venue, field)
    inside = shapely.contains_xy(poly, net.x, net.y)
    exits = np.unique(net.head[inside[net.tail] & ~inside[net.head]])
    if not inside.any() or exits.size == 0:
        raise UserInputError(
            Problem(
                f"no walkway leads out of the venue of {event.name or 'the crowd event'}",
                field=field,
                fix="draw the venue so that it contains the paths and squares people leave by",
            )
        )
    starts = np.flatnonzero(inside & np.isin(np.arange(net.n_nodes), net.tail))
    nodes = starts[rng.integers(0, starts.size, event.people)]
    depart = event.start + rng.uniform(0.0, event.duration, event.people)
    names = [f"exit {net.node_ids[n]}" for n in exits]
    why = ["exit of the venue"] * exits.size
    return nodes, depart, Destinations(exits, np.full(exits.size, np.inf), names, why)


def shelters_from_facilities(
    pack: CityPack,
    net: WalkNetwork,
    *,
    kinds: tuple[str, ...] = SHELTER_KINDS,
    min_elevation: float | None = None,
) -> Destinations:
    """Facilities of ``kinds`` with a capacity (and a walk node at or above ``min_elevation``
    m, if given) as destinations."""
    f = pack.facilities
    f = f[f["kind"].isin(kinds) & (f["capacity"] > 0)]
    index = {nid: i for i, nid in enumerate(net.node_ids.tolist())}
    nodes = np.array([index.get(n, -1) for n in f["walk_node"]], dtype=np.int64)
    keep = nodes >= 0
    if min_elevation is not None:
        keep &= net.z[np.maximum(nodes, 0)] >= min_elevation
    names = _facility_names(f)
    why = [WHY.get(s, "") for s in shelter_status(f)]
    return Destinations(
        nodes[keep],
        np.floor(f["capacity"].to_numpy(dtype=float)[keep]),
        [nm for nm, k in zip(names, keep, strict=True) if k],
        [w for w, k in zip(why, keep, strict=True) if k],
    )


def city_shelters(
    pack: CityPack, net: WalkNetwork, *, open_all: bool = False, opened=(), field="open_shelters"
) -> Destinations:
    """The city's designated shelters and the candidates a plan opens.

    Parameters
    ----------
    open_all
        Open every candidate shelter (schools, community centres).
    opened
        Candidates to open: a facility name (case-insensitive), an OSM id
        (``"way/123456"``) or a ``(lon, lat)`` (the candidate nearest it, within
        :data:`MAX_OPEN_SNAP` m).
    field
        Plan field of ``opened``, for errors.

    Raises
    ------
    twin.errors.UserInputError
        Naming every entry of ``opened`` that matches no shelter or candidate of the city.
    """
    f = pack.facilities
    status = shelter_status(f)
    chosen = status == "shelter"
    if open_all:
        chosen |= status == "candidate"
    problems = []
    names = [str(n).casefold() if isinstance(n, str) else "" for n in f["name"]]
    ids = (f["osm_type"].astype(str) + "/" + f["osm_id"].astype(str)).tolist()
    shelterish = status != ""
    pts = np.column_stack([f.geometry.x.to_numpy(), f.geometry.y.to_numpy()])
    for i, entry in enumerate(opened):
        if isinstance(entry, str):
            hit = np.flatnonzero(
                shelterish & ((np.array(ids) == entry) | (np.array(names) == entry.casefold()))
            )
        else:
            xy = _project(pack, entry)[0]
            dist = np.where(shelterish, np.hypot(*(pts - xy).T), np.inf)
            hit = np.flatnonzero(dist == dist.min()) if dist.min() <= MAX_OPEN_SNAP else []
        if len(hit) == 0:
            known = ", ".join(nm for nm, s in zip(_facility_names(f), status, strict=True) if s)
            problems.append(
                Problem(
                    f"{entry!r} is no shelter or candidate shelter of {pack.name} "
                    f"(candidates and shelters: {known or 'none'})",
                    field=f"{field}.{i}",
                    fix="give a name or OSM id from `twin maps facilities`, or a [lon, lat] "
                    f"within {MAX_OPEN_SNAP:.0f} m of one",
                )
            )
            continue
        chosen[hit[0]] = True
    if problems:
        raise UserInputError(problems)
    index = {nid: i for i, nid in enumerate(net.node_ids.tolist())}
    nodes = np.array([index.get(n, -1) for n in f["walk_node"]], dtype=np.int64)
    capacity = np.floor(np.nan_to_num(f["capacity"].to_numpy(dtype=float)))
    keep = chosen & (nodes >= 0) & (capacity > 0)
    all_names = _facility_names(f)
    return Destinations(
        nodes[keep],
        capacity[keep],
        [all_names[i] for i in np.flatnonzero(keep)],
        [WHY[status[i]] for i in np.flatnonzero(keep)],
    )


def shelters_from_plan(
    pack: CityPack, net: WalkNetwork, shelters: list[Shelter], *, max_snap: float = 250.0
) -> Destinations:
    """A plan's shelters as destinations: a ``location`` snaps to the nearest walk node (at
    most ``max_snap`` m away), a ``facility`` id to the facility's walk node.

    Raises
    ------
    twin.errors.UserInputError
        Naming every shelter that is off the walk network or not a facility of the city.
    """
    f = pack.facilities
    ids = (f["osm_type"].astype(str) + "/" + f["osm_id"].astype(str)).tolist()
    index = {nid: i for i, nid in enumerate(net.node_ids.tolist())}
    nodes, problems = [], []
    for i, s in enumerate(shelters):
        field = f"shelters.{i}"
        if s.facility is not None:
            if s.facility not in ids:
                problems.append(
                    Problem(
                        f"shelter {s.name!r}: facility {s.facility} is not in "
                        f"the city's facilities",
                        field=f"{field}.facility",
                        fix="use `location: [lon, lat]` instead",
                    )
                )
                continue
            nodes.append(index.get(f["walk_node"].iloc[ids.index(s.facility)], -1))
        else:
            xy = _project(pack, s.location)
            node, dist = net.nearest_nodes(xy[:, 0], xy[:, 1])
            if dist[0] > max_snap:
                problems.append(
                    Problem(
                        f"shelter {s.name!r} is {dist[0]:.0f} m from the "
                        f"nearest walkway (at most {max_snap:.0f} m)",
                        field=f"{field}.location",
                        fix="place it at a street or square of the city",
                    )
                )
                continue
            nodes.append(int(node[0]))
    if problems:
        raise UserInputError(problems)
    return Destinations(
        np.asarray(nodes, dtype=np.int64),
        np.array([s.capacity for s in shelters], dtype=float),
        [s.name for s in shelters],
        ["listed in plan"] * len(shelters),
    )
