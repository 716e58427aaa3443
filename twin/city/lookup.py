"""Finding things on a city pack by kind, position or name, in lon/lat for people.

These back ``twin maps facilities`` and ``twin maps where``, so that a user can write a
scenario's coordinates (``[lon, lat]``) without scripts of their own.
"""

from __future__ import annotations

import difflib
import unicodedata
from typing import TYPE_CHECKING

import numpy as np

from twin.city.geometry import to_lonlat
from twin.errors import Problem, UserInputError

if TYPE_CHECKING:
    import pandas as pd

    from twin.city.pack import CityPack


def normalise(text: str) -> str:
    """Case- and accent-free form of a name (``"École"`` -> ``"ecole"``) for matching."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def _project_point(pack: CityPack, lon: float, lat: float) -> tuple[float, float]:
    from pyproj import Transformer

    to_crs = Transformer.from_crs("EPSG:4326", pack.crs, always_xy=True)
    x, y = to_crs.transform(lon, lat)
    return float(x), float(y)


def facility_table(
    pack: CityPack,
    *,
    kind: str | None = None,
    near: tuple[float, float] | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """The pack's facilities as a table for people, optionally of one kind and by distance.

    Parameters
    ----------
    pack
        The city.
    kind
        Keep only this kind (``hospital``, ``fire_station``, ``police``, ``shelter``,
        ``assembly_point``, ``school``, ``community_centre``).
    near
        ``(lon, lat)`` in degrees: sort by straight-line distance from it and add
        ``distance_m``.
    limit
        At most this many rows (after sorting).

    Returns
    -------
    pandas.DataFrame
        ``name``, ``kind``, ``status``, ``lon``, ``lat`` (degrees), ``osm`` (``way/123``),
        ``capacity`` (beds or persons, NaN for stations), ``capacity_source`` and, with
        ``near``, ``distance_m``.

    Raises
    ------
    twin.errors.UserInputError
        An unknown kind (the message lists the kinds this city has).
    """
    import pandas as pd

    f = pack.facilities
    if kind is not None:
        known = sorted(set(f["kind"]))
        if kind not in set(f["kind"]):
            raise UserInputError(
                Problem(
                    f"no facility of kind {kind!r} in {pack.name}",
                    field="--kind",
                    fix=f"use one of: {', '.join(known) or 'none (the map has no facilities)'}",
                )
            )
        f = f[f["kind"] == kind]
    x = f.geometry.x.to_numpy()
    y = f.geometry.y.to_numpy()
    lon, lat = to_lonlat(pack.crs, x, y) if len(f) else (np.array([]), np.array([]))
    table = pd.DataFrame(
        {
            "name": [n if isinstance(n, str) else "" for n in f["name"]],
            "kind": f["kind"].to_numpy(),
            "status": f["status"].to_numpy(),
            "lon": lon,
            "lat": lat,
            "osm": [f"{t}/{i}" for t, i in zip(f["osm_type"], f["osm_id"], strict=True)],
            "capacity": f["capacity"].to_numpy(dtype=float),
            "capacity_source": f["capacity_source"].to_numpy(),
        }
    )
    if near is not None:
        px, py = _project_point(pack, *near)
        table["distance_m"] = np.hypot(x - px, y - py)
        table = table.sort_values("distance_m", kind="stable")
    return table.head(limit).reset_index(drop=True) if limit else table.reset_index(drop=True)


def _street_points(pack: CityPack) -> dict[str, tuple[float, float, str]]:
    """One point per street name: the middle of its longest edge, with that edge's OSM way."""
    import shapely

    best: dict[str, tuple[float, float, float, str]] = {}
    for graph in (pack.drive, pack.walk):
        for u, v, data in graph.edges(data=True):
            names = data.get("name")
            if not names:
                continue
            length = float(data.get("length", 0.0))
            for name in names if isinstance(names, list) else [names]:
                if name in best and best[name][0] >= length:
                    continue
                geom = data.get("geometry")
                if geom is None:
                    nu, nv = graph.nodes[u], graph.nodes[v]
                    geom = shapely.LineString([(nu["x"], nu["y"]), (nv["x"], nv["y"])])
                mid = geom.interpolate(0.5, normalized=True)
                osmid = data.get("osmid")
                osmid = osmid[0] if isinstance(osmid, list) else osmid
                best[name] = (length, mid.x, mid.y, f"way/{osmid}")
    return {name: (x, y, ref) for name, (_, x, y, ref) in best.items()}


def _candidates(pack: CityPack) -> list[tuple[str, str, float, float, str]]:
    """``(name, what, x, y, osm)`` of every named thing: facilities, buildings, places,
    streets."""
    rows = []
    f = pack.facilities
    for name, kind, geom, t, i in zip(
        f["name"], f["kind"], f.geometry, f["osm_type"], f["osm_id"], strict=True
    ):
        if isinstance(name, str) and name:
            rows.append((name, f"facility: {kind}", geom.x, geom.y, f"{t}/{i}"))
    b = pack.buildings
    named = b[b["name"].notna()]
    if len(named):
        inside = named.geometry.representative_point()
        for name, kind, x, y, i in zip(
            named["name"], named["building"], inside.x, inside.y, named["osm_id"], strict=True
        ):
            if isinstance(name, str) and name:
                rows.append((name, f"building={kind}", x, y, f"way/{i}"))
    if pack.places is not None:
        p = pack.places
        for name, what, geom, i in zip(p["name"], p["what"], p.geometry, p["osm_id"], strict=True):
            rows.append((name, what, geom.x, geom.y, f"node/{i}"))
    for name, (x, y, ref) in _street_points(pack).items():
        rows.append((name, "street", x, y, ref))
    return rows


def find_named(pack: CityPack, query: str, *, limit: int = 20) -> pd.DataFrame:
    """Named things whose name contains ``query`` (case and accents ignored), best first.

    Exact matches come first, then names starting with the query, then names with a word
    starting with it, then any other containing it; ties keep facilities, buildings, places
    and streets in that order.

    Returns
    -------
    pandas.DataFrame
        ``name``, ``what`` (``facility: hospital``, ``building=school``, ``amenity=townhall``,
        ``street``), ``lon``, ``lat`` (degrees) and ``osm`` (``node/1``, ``way/2``); empty when
        nothing matches (see :func:`similar_names`).
    """
    import pandas as pd

    wanted = normalise(query)
    scored = []
    for order, row in enumerate(_candidates(pack)):
        name = normalise(row[0])
        if wanted not in name:
            continue
        if name == wanted:
            rank = 0
        elif name.startswith(wanted):
            rank = 1
        elif any(word.startswith(wanted) for word in name.split()):
            rank = 2
        else:
            rank = 3
        scored.append((rank, order, row))
    scored.sort(key=lambda item: item[:2])
    rows = [row for _, _, row in scored[:limit]]
    xs = np.array([r[2] for r in rows], dtype=float)
    ys = np.array([r[3] for r in rows], dtype=float)
    lon, lat = to_lonlat(pack.crs, xs, ys) if rows else (xs, ys)
    return pd.DataFrame(
        {
            "name": [r[0] for r in rows],
            "what": [r[1] for r in rows],
            "lon": lon,
            "lat": lat,
            "osm": [r[4] for r in rows],
        }
    )


def similar_names(pack: CityPack, query: str, *, n: int = 5) -> list[str]:
    """Names in the pack that look like ``query`` (for "did you mean")."""
    names = {normalise(r[0]): r[0] for r in _candidates(pack)}
    close = difflib.get_close_matches(normalise(query), list(names), n=n, cutoff=0.6)
    return [names[c] for c in close]
