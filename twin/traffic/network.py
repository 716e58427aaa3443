"""RoadNetwork: the links and nodes of the traffic model as arrays, from a city's link index
or from CSV."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twin.city.road_attrs import JAM_SPACING_M
from twin.errors import Problem, UserInputError

if TYPE_CHECKING:
    import networkx as nx

    from twin.city.links import LinkIndex

#: UXsim's default driver reaction time (s): it sets capacity and wave speed of CSV links.
REACTION_TIME_S = 1.0


@dataclass
class RoadNetwork:
    """Directed road links with a triangular fundamental diagram each, as arrays.

    Attributes
    ----------
    node_ids
        (N,) original node identifiers (OSM ids or names), in index order.
    x, y
        (N,) node coordinates (m, projected).
    link_from, link_to
        (L,) upstream and downstream node index of each link.
    length
        (L,) link length (m).
    free_speed
        (L,) free-flow speed (m/s).
    capacity
        (L,) capacity over all lanes (veh/s).
    jam_density
        (L,) jam density over all lanes (veh/m).
    link_ids
        (L,) original link identifiers (``"u-v-key"`` or CSV names).
    geometry
        (L,) drawn shape of each link (shapely LineStrings in metres, any direction), or
        None (or a None entry): the straight segment between its nodes.
    links
        The city's link index whose links these are, in the same order (see
        :meth:`from_links`), or None for a synthetic or CSV network (one is then built
        from these arrays when a lookup needs it, see :meth:`link_index`).
    """

    node_ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    link_from: np.ndarray
    link_to: np.ndarray
    length: np.ndarray
    free_speed: np.ndarray
    capacity: np.ndarray
    jam_density: np.ndarray
    link_ids: np.ndarray
    geometry: np.ndarray | None = None
    links: LinkIndex | None = None

    def __post_init__(self) -> None:
        self.link_from = np.asarray(self.link_from, dtype=np.int32)
        self.link_to = np.asarray(self.link_to, dtype=np.int32)
        for name in ("length", "free_speed", "capacity", "jam_density", "x", "y"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.float64))
        # a triangular diagram needs capacity below the jam density times free speed
        critical = self.capacity / self.free_speed
        self.capacity = np.where(
            critical > 0.9 * self.jam_density,
            0.9 * self.jam_density * self.free_speed,
            self.capacity,
        )
        self._index = {nid: i for i, nid in enumerate(self.node_ids.tolist())}

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    @property
    def n_links(self) -> int:
        """Number of links."""
        return len(self.link_from)

    @property
    def wave_speed(self) -> np.ndarray:
        """(L,) backward wave speed ``w = q / (k_j - q / v_f)`` (m/s)."""
        return self.capacity / (self.jam_density - self.capacity / self.free_speed)

    @property
    def storage(self) -> np.ndarray:
        """(L,) vehicles a jammed link holds, ``k_j L`` rounded down, at least 1 (veh)."""
        return np.maximum(1, np.floor(self.jam_density * self.length + 1e-9)).astype(np.int64)

    def link_index(self) -> tuple[LinkIndex, np.ndarray]:
        """The link index these links are part of and, for each of its links, the index of
        that link here (the identity for a network built :meth:`from_links`); built once
        from the arrays for a synthetic or CSV network (links sorted by upstream node)."""
        if self.links is not None:
            return self.links, np.arange(self.n_links)
        if getattr(self, "_own_index", None) is None:
            from twin.city.links import index_of_arrays

            self._own_index = index_of_arrays(
                self.link_from,
                self.link_to,
                self.x,
                self.y,
                length=self.length,
                lines=self.geometry,
                kind="traffic",
            )
        return self._own_index

    def link_lines(self) -> np.ndarray:
        """(L,) shapely LineStrings of the links (m), each drawn from its upstream node to
        its downstream one; computed once (by the link index)."""
        index, order = self.link_index()
        if self.links is not None:
            return index.lines()
        lines = np.empty(self.n_links, dtype=object)
        lines[order] = index.lines()
        return lines

    def node_index(self, node_id) -> int:
        """Index of a node given its original id; raises ``KeyError`` when unknown."""
        return self._index[node_id]

    def node_indices(self, node_ids) -> np.ndarray:
        """Indices (int64) of many original node ids; -1 where unknown."""
        return np.array([self._index.get(n, -1) for n in node_ids], dtype=np.int64)

    @classmethod
    def from_links(cls, links: LinkIndex) -> RoadNetwork:
        """Network of a city's drive link index (``pack.links("drive")``: length, free
        speed, capacity in veh/s, storage in vehicles, lanes; a link without lanes has
        one). Links and nodes keep the index's order, so link ``i`` here is link ``i``
        there."""
        length = np.maximum(links.length, 1.0)
        # jam density from the pack's storage (lanes / jam spacing); very short links keep
        # it rather than the "at least one vehicle" of their storage, which `storage` restores
        lanes = np.where(np.isnan(links.lanes), 1.0, links.lanes)
        ids = links.node_ids
        return cls(
            node_ids=ids,
            x=links.x.copy(),
            y=links.y.copy(),
            link_from=links.tail,
            link_to=links.head,
            length=length,
            free_speed=links.speed.copy(),
            capacity=links.capacity.copy(),
            jam_density=np.minimum(links.storage / length, lanes / JAM_SPACING_M),
            link_ids=np.array(
                [
                    f"{ids[u]}-{ids[v]}-{k}"
                    for u, v, k in zip(links.tail, links.head, links.key, strict=True)
                ]
            ),
            links=links,
        )

    @classmethod
    def from_graph(cls, graph: nx.MultiDiGraph) -> RoadNetwork:
        """Network of a CityPack drive graph, through its link index (see
        :meth:`from_links`); prefer ``from_links(pack.links("drive"))``, which reuses the
        pack's stored index."""
        from twin.city.links import LinkIndex

        return cls.from_links(LinkIndex.from_graph(graph, "drive"))

    @classmethod
    def from_csv(cls, folder: Path | str) -> RoadNetwork:
        """Network of a simulator-neutral CSV pair (``nodes.csv``, ``links.csv``).

        ``nodes.csv``: name, x_m, y_m. ``links.csv``: name, from, to, length_m,
        free_flow_speed_mps, jam_density_vpm_per_lane, lanes. Capacity and wave speed follow
        from UXsim's default reaction time ``tau`` = 1 s: ``w = 1 / (tau k_j)`` per lane and
        ``q = v_f w k_j / (v_f + w)`` (veh/s per lane), so both tools see the same diagram.
        """
        folder = Path(folder)
        nodes = _read_rows(folder / "nodes.csv", ("name", "x_m", "y_m"))
        links = _read_rows(
            folder / "links.csv",
            (
                "name",
                "from",
                "to",
                "length_m",
                "free_flow_speed_mps",
                "jam_density_vpm_per_lane",
                "lanes",
            ),
        )
        node_ids = np.array([r["name"] for _, r in nodes])
        index = {n: i for i, n in enumerate(node_ids.tolist())}
        problems = [
            Problem(f"link node {r[k]!r} is not in nodes.csv", folder / "links.csv", line, k)
            for line, r in links
            for k in ("from", "to")
            if r[k] not in index
        ]
        if problems:
            raise UserInputError(problems)
        vf = np.array([float(r["free_flow_speed_mps"]) for _, r in links])
        kj_lane = np.array([float(r["jam_density_vpm_per_lane"]) for _, r in links])
        lanes = np.array([float(r["lanes"]) for _, r in links])
        w = 1.0 / (REACTION_TIME_S * kj_lane)
        q_lane = vf * w * kj_lane / (vf + w)
        return cls(
            node_ids=node_ids,
            x=np.array([float(r["x_m"]) for _, r in nodes]),
            y=np.array([float(r["y_m"]) for _, r in nodes]),
            link_from=np.array([index[r["from"]] for _, r in links]),
            link_to=np.array([index[r["to"]] for _, r in links]),
            length=np.array([float(r["length_m"]) for _, r in links]),
            free_speed=vf,
            capacity=q_lane * lanes,
            jam_density=kj_lane * lanes,
            link_ids=np.array([r["name"] for _, r in links]),
        )


def grid_network(
    size: int,
    *,
    spacing: float = 1000.0,
    free_speed: float = 20.0,
    jam_density: float = 0.2,
) -> RoadNetwork:
    """A ``size`` x ``size`` lattice with one-lane links both ways (UXsim's grid benchmark).

    Node ``n{i}_{j}`` sits at ``(i * spacing, j * spacing)`` m; capacity and wave speed follow
    the 1 s reaction time as in :meth:`RoadNetwork.from_csv`.
    """
    ii, jj = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    ids = np.array([f"n{i}_{j}" for i, j in zip(ii.ravel(), jj.ravel(), strict=True)])
    idx = ii * size + jj
    pairs = [(idx[:-1, :], idx[1:, :]), (idx[:, :-1], idx[:, 1:])]
    frm = np.concatenate([np.concatenate([a.ravel(), b.ravel()]) for a, b in pairs])
    to = np.concatenate([np.concatenate([b.ravel(), a.ravel()]) for a, b in pairs])
    n = len(frm)
    w = 1.0 / (REACTION_TIME_S * jam_density)
    q = free_speed * w * jam_density / (free_speed + w)
    return RoadNetwork(
        node_ids=ids,
        x=ii.ravel() * spacing,
        y=jj.ravel() * spacing,
        link_from=frm,
        link_to=to,
        length=np.full(n, spacing),
        free_speed=np.full(n, free_speed),
        capacity=np.full(n, q),
        jam_density=np.full(n, jam_density),
        link_ids=np.array([f"{ids[a]}__{ids[b]}" for a, b in zip(frm, to, strict=True)]),
    )


def _read_rows(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV file as (1-based line, dict), checking the header names ``required``."""
    if not path.is_file():
        raise UserInputError(Problem("file not found", path, fix="check the folder"))
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise UserInputError(
                Problem(f"missing column(s) {', '.join(missing)}", path, 1, fix="add them")
            )
        return [(i + 2, row) for i, row in enumerate(reader)]


def corridor_network(
    n_links: int,
    *,
    length: float = 100.0,
    free_speed: float = 20.0,
    jam_density: float = 0.2,
    capacity: float | np.ndarray = 0.8,
) -> RoadNetwork:
    """A one-way chain of ``n_links`` links, node ``i`` at ``x = i * length`` m.

    ``capacity`` (veh/s) is one value or one per link (a smaller one is a bottleneck).
    """
    cap = np.broadcast_to(np.asarray(capacity, dtype=float), (n_links,)).copy()
    return RoadNetwork(
        node_ids=np.arange(n_links + 1),
        x=np.arange(n_links + 1) * length,
        y=np.zeros(n_links + 1),
        link_from=np.arange(n_links),
        link_to=np.arange(1, n_links + 1),
        length=np.full(n_links, length),
        free_speed=np.full(n_links, free_speed),
        capacity=cap,
        jam_density=np.full(n_links, jam_density),
        link_ids=np.array([f"c{i}" for i in range(n_links)]),
    )
