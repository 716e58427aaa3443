"""What the response model takes from a city pack: the drivable roads, who lives where, and
the hospitals.

>>> net = CityNetwork.from_pack(pack)  # doctest: +SKIP
>>> hospitals = hospitals_of(pack, net)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from twin.response.travel import EMERGENCY_SPEED_FACTOR, RoadTravel
from twin.response.units import ARRIVALS_PER_BED_HOUR, Hospital

if TYPE_CHECKING:
    from twin.city.links import LinkIndex
    from twin.city.pack import CityPack


@dataclass(frozen=True)
class CityNetwork:
    """What the response model takes from a city: the drivable graph and who lives where.

    Attributes
    ----------
    travel
        Road travel on the largest strongly connected part of the drive graph.
    population
        Residents nearest to each node (from building occupants).
    crs
        The pack's projected CRS.
    links
        The city's drive link index on the same graph (:mod:`twin.city.links`), or
        ``None``: what hazards and closures are worked out on, for every model alike.
    edge_links
        Position in ``links`` of each of ``travel.edges``: a mask over the index's links
        ``m`` is ``m[edge_links]`` over the edges units drive.
    """

    travel: RoadTravel
    population: np.ndarray
    crs: str
    links: LinkIndex | None = None
    edge_links: np.ndarray | None = None

    @classmethod
    def from_pack(
        cls, pack: CityPack, *, speed_factor: float = EMERGENCY_SPEED_FACTOR
    ) -> CityNetwork:
        """Road travel, population per node and the link index from a city pack."""
        links = pack.largest_component().links("drive")
        travel = RoadTravel(links, speed_factor=speed_factor)
        edge_links = np.arange(links.n_links, dtype=np.int64)  # travel drives the index's links
        centres = pack.buildings.geometry.centroid
        nodes, _ = travel.nearest(centres.x.to_numpy(), centres.y.to_numpy())
        people = np.nan_to_num(pack.buildings["occupants"].to_numpy(dtype=float))
        population = np.bincount(nodes, weights=people, minlength=travel.n_nodes)
        return cls(travel, population, pack.crs, links, edge_links)

    def to_xy(self, lon: float, lat: float) -> tuple[float, float]:
        """A ``(lon, lat)`` place in the network's projected metres."""
        from pyproj import Transformer

        x, y = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True).transform(lon, lat)
        return float(x), float(y)

    def snap(self, lonlat: tuple[float, float]) -> tuple[int, float]:
        """Nearest node index to a ``(lon, lat)`` place and the distance to it (m)."""
        x, y = self.to_xy(*lonlat)
        node, distance = self.travel.nearest(np.array([x]), np.array([y]))
        return int(node[0]), float(distance[0])


def hospitals_of(pack: CityPack, net: CityNetwork) -> list[Hospital]:
    """The city's hospitals, each taking ``beds x ARRIVALS_PER_BED_HOUR`` arrivals an hour
    (at least one)."""
    rows = pack.facilities[pack.facilities["kind"] == "hospital"]
    if rows.empty:
        return []
    centres = rows.geometry.centroid
    nodes, _ = net.travel.nearest(centres.x.to_numpy(), centres.y.to_numpy())
    beds = np.nan_to_num(rows["capacity"].to_numpy(dtype=float))
    names = [str(n) if isinstance(n, str) else f"hospital {k}" for k, n in enumerate(rows["name"])]
    return [
        Hospital(name, int(node), max(1.0, float(b) * ARRIVALS_PER_BED_HOUR))
        for name, node, b in zip(names, nodes, beds, strict=True)
    ]
