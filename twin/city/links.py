"""LinkIndex: one array view of a street graph (drive or walk) that every model builds on.

A :class:`LinkIndex` holds what the traffic, crowd and response models need of a graph as
plain arrays in SI units: nodes (OSM ids, ``x``/``y``/``z`` in metres), directed links in a
stated order (tail and head node indices, OSM way ids, length, free speed, lanes, capacity,
jam storage, walkable width) laid out as CSR by tail node, and each link's drawn shape as
flat coordinate arrays oriented from its tail to its head. It is built once with a city pack
and stored with it (an ``.npz`` per graph, see :mod:`twin.city.store`), so every model sees
the same links in the same order, whatever networkx's iteration order.

Link order: nodes in the graph's stored order; links sorted by tail node index (stable), in
the graph's stored edge order within a tail. :meth:`LinkIndex.subset` keeps that order.

The two lookups every model needs live here, each built once per index and kept on it:
:meth:`LinkIndex.nearest_nodes` (a k-d tree of the nodes) and :meth:`LinkIndex.snap` (the
nearest point on any link, an R-tree of the drawn shapes).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import networkx as nx

#: The graphs a pack indexes.
KINDS = ("drive", "walk")


@dataclass(eq=False)
class LinkIndex:
    """The links and nodes of one street graph as arrays.

    Shapes: ``N`` nodes, ``L`` links, ``G`` shape vertices in all.

    Attributes
    ----------
    kind
        ``"drive"`` or ``"walk"`` (or a free label for synthetic networks).
    node_ids
        (N,) int64 OSM node ids (or any integer ids).
    x, y, z
        (N,) float64 node coordinates and elevation (m; ``z`` is 0 where unknown).
    tail, head
        (L,) int64 start and end node index of each link; ``tail`` is sorted.
    key
        (L,) int64 key of the link among parallel ones (multigraph key).
    offsets
        (N+1,) int64 CSR offsets: the links leaving node ``n`` are
        ``offsets[n]:offsets[n+1]`` (links are sorted by tail).
    length
        (L,) float64 length (m).
    speed
        (L,) float64 free speed (m/s; nan where the graph has none, e.g. walk links).
    lanes
        (L,) float64 lanes per direction (nan where unknown).
    capacity
        (L,) float64 capacity over all lanes (veh/s; nan where unknown).
    storage
        (L,) float64 vehicles the link holds when jammed (veh; nan where unknown).
    width
        (L,) float64 walkable (effective) width (m; nan where unknown, e.g. drive links).
    way_offsets, way_ids
        OSM way ids of link ``i``: ``way_ids[way_offsets[i]:way_offsets[i+1]]`` (a
        simplified link may merge several ways; none for synthetic links).
    geom_offsets, geom_x, geom_y
        Drawn shape of link ``i``: vertices ``geom_offsets[i]:geom_offsets[i+1]`` of the
        flat coordinate arrays (m), from its tail to its head (the straight segment where
        the graph has no shape).
    """

    kind: str
    node_ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    tail: np.ndarray
    head: np.ndarray
    key: np.ndarray
    offsets: np.ndarray
    length: np.ndarray
    speed: np.ndarray
    lanes: np.ndarray
    capacity: np.ndarray
    storage: np.ndarray
    width: np.ndarray
    way_offsets: np.ndarray
    way_ids: np.ndarray
    geom_offsets: np.ndarray
    geom_x: np.ndarray
    geom_y: np.ndarray
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_ids.size)

    @property
    def n_links(self) -> int:
        """Number of directed links."""
        return int(self.tail.size)

    @property
    def way_id(self) -> np.ndarray:
        """(L,) int64 first OSM way id of each link (-1: none)."""
        n = np.diff(self.way_offsets)
        out = np.full(self.n_links, -1, dtype=np.int64)
        out[n > 0] = self.way_ids[self.way_offsets[:-1][n > 0]]
        return out

    def incoming(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR of the links entering each node: ``links[ptr[n]:ptr[n+1]]`` (in link order)."""
        if "incoming" not in self._memo:
            order = np.argsort(self.head, kind="stable")
            self._memo["incoming"] = (_offsets(self.head[order], self.n_nodes), order)
        return self._memo["incoming"]

    def node_index(self) -> dict[int, int]:
        """``{OSM node id: node index}``, built once."""
        if "node_index" not in self._memo:
            self._memo["node_index"] = {n: i for i, n in enumerate(self.node_ids.tolist())}
        return self._memo["node_index"]

    def lines(self) -> np.ndarray:
        """(L,) shapely LineStrings of the links (m), each from its tail to its head; built
        once."""
        if "lines" not in self._memo:
            import shapely

            coords = np.column_stack([self.geom_x, self.geom_y])
            which = np.repeat(np.arange(self.n_links), np.diff(self.geom_offsets))
            lines = np.empty(self.n_links, dtype=object)
            if self.n_links:
                lines[:] = shapely.linestrings(coords, indices=which)
            self._memo["lines"] = lines
        return self._memo["lines"]

    def nearest_nodes(self, x, y, *, among=None) -> tuple[np.ndarray, np.ndarray]:
        """Index (int64) of the node nearest each point ``(x, y)`` (m) and the distance to
        it (m), by a k-d tree of the nodes built once per index.

        ``among`` (N, bool) limits the answer to those nodes (a tree of them is built for
        this call); with no node allowed the distance is ``inf`` and the index 0.
        """
        from scipy.spatial import cKDTree

        pts = np.column_stack([np.ravel(x), np.ravel(y)]).astype(np.float64)
        allowed = np.arange(self.n_nodes) if among is None else np.flatnonzero(among)
        if allowed.size == 0:
            return np.zeros(len(pts), dtype=np.int64), np.full(len(pts), np.inf)
        if among is not None:
            tree = cKDTree(np.column_stack([self.x[allowed], self.y[allowed]]))
            dist, idx = tree.query(pts)
            return allowed[idx].astype(np.int64), dist
        if "kdtree" not in self._memo:
            self._memo["kdtree"] = cKDTree(np.column_stack([self.x, self.y]))
        dist, idx = self._memo["kdtree"].query(pts)
        return idx.astype(np.int64), dist

    def snap(self, x, y, *, rank=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The nearest point on any link of each point ``(x, y)`` (m).

        By an R-tree of the links' drawn shapes (shapely ``STRtree.query_nearest``, built
        once per index); of two links at the same distance (the two directions of a street)
        the one with the lower index, or the lower ``rank`` (L,) if given.

        Returns
        -------
        link, at, distance
            (K,) index of the nearest link, where on it as a share of its length from its
            tail (0-1), and the distance from the point to it (m).
        """
        import shapely

        lines = self.lines()
        if "strtree" not in self._memo:
            self._memo["strtree"] = shapely.STRtree(lines)
        pts = shapely.points(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        (which, link), dist = self._memo["strtree"].query_nearest(
            pts, return_distance=True, all_matches=True
        )
        tie = link if rank is None else np.asarray(rank)[link]
        order = np.lexsort((tie, which))  # keep the lowest link index (rank) per point
        which, link, dist = which[order], link[order], dist[order]
        first = np.ones(which.size, dtype=bool)
        first[1:] = which[1:] != which[:-1]
        link, dist = link[first].astype(np.int64), dist[first]
        at = shapely.line_locate_point(lines[link], pts, normalized=True)
        return link, np.clip(np.nan_to_num(at), 0.0, 1.0), dist

    def subset(self, keep_nodes: np.ndarray) -> LinkIndex:
        """The index restricted to the nodes where ``keep_nodes`` (N, bool) is true and the
        links between them, in the same order."""
        keep_nodes = np.asarray(keep_nodes, dtype=bool)
        new_index = np.cumsum(keep_nodes) - 1
        keep = keep_nodes[self.tail] & keep_nodes[self.head]
        tail = new_index[self.tail[keep]]
        n_ways = np.diff(self.way_offsets)[keep]
        n_geom = np.diff(self.geom_offsets)[keep]
        return LinkIndex(
            kind=self.kind,
            node_ids=self.node_ids[keep_nodes],
            x=self.x[keep_nodes],
            y=self.y[keep_nodes],
            z=self.z[keep_nodes],
            tail=tail,
            head=new_index[self.head[keep]],
            key=self.key[keep],
            offsets=_offsets(tail, int(keep_nodes.sum())),
            length=self.length[keep],
            speed=self.speed[keep],
            lanes=self.lanes[keep],
            capacity=self.capacity[keep],
            storage=self.storage[keep],
            width=self.width[keep],
            way_offsets=_ptr(n_ways),
            way_ids=self.way_ids[_gather(self.way_offsets, keep, n_ways)],
            geom_offsets=_ptr(n_geom),
            geom_x=self.geom_x[_gather(self.geom_offsets, keep, n_geom)],
            geom_y=self.geom_y[_gather(self.geom_offsets, keep, n_geom)],
        )

    def to_npz(self) -> bytes:
        """The arrays as ``.npz`` bytes (no pickled objects; see :meth:`from_npz`)."""
        sink = io.BytesIO()
        np.savez(sink, kind=np.array(self.kind), **{k: getattr(self, k) for k in _ARRAYS})
        return sink.getvalue()

    @classmethod
    def from_npz(cls, data: bytes) -> LinkIndex:
        """Inverse of :meth:`to_npz` (read with ``allow_pickle=False``)."""
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in _ARRAYS}
            kind = str(archive["kind"])
        return cls(kind=kind, **arrays)

    @classmethod
    def from_graph(cls, graph: nx.MultiDiGraph, kind: str) -> LinkIndex:
        """The index of a pack's street graph (osmnx conventions, metres).

        Nodes give ``x``, ``y`` and ``elevation``; edges ``length`` (m), ``speed`` (m/s),
        ``lanes``, ``capacity`` (veh/h, stored in veh/s), ``storage`` (veh),
        ``effective_width`` (or ``width``, m), ``osmid`` (one way id or a list) and
        ``geometry`` (a LineString in either direction, or none: the straight segment).
        """
        nodes = graph.nodes
        node_ids = np.fromiter(nodes, dtype=np.int64, count=graph.number_of_nodes())
        ids = node_ids.tolist()
        index = {n: i for i, n in enumerate(ids)}
        rows = list(graph.edges(keys=True, data=True))
        tail = np.array([index[u] for u, *_ in rows], dtype=np.int64)
        order = np.argsort(tail, kind="stable")  # the stated link order
        rows = [rows[i] for i in order]
        tail = tail[order]
        head = np.array([index[v] for _, v, *_ in rows], dtype=np.int64)
        x = np.array([nodes[n]["x"] for n in ids], dtype=np.float64)
        y = np.array([nodes[n]["y"] for n in ids], dtype=np.float64)

        def column(name: str, default: float = np.nan, scale: float = 1.0) -> np.ndarray:
            return np.array([_number(d.get(name), default) * scale for *_, d in rows])

        width = np.array(
            [_number(d.get("effective_width", d.get("width")), np.nan) for *_, d in rows]
        )
        ways = [_way_ids(d.get("osmid")) for *_, d in rows]
        shapes = [
            _oriented(d.get("geometry"), x[a], y[a], x[b], y[b])
            for (*_, d), a, b in zip(rows, tail, head, strict=True)
        ]
        return cls(
            kind=kind,
            node_ids=node_ids,
            x=x,
            y=y,
            z=np.array([_number(nodes[n].get("elevation"), 0.0) for n in ids]),
            tail=tail,
            head=head,
            key=np.array([int(k) for _, _, k, _ in rows], dtype=np.int64),
            offsets=_offsets(tail, len(ids)),
            length=column("length"),
            speed=column("speed"),
            lanes=column("lanes"),
            capacity=column("capacity", scale=1.0 / 3600.0),
            storage=column("storage"),
            width=width,
            way_offsets=_ptr(np.array([len(w) for w in ways], dtype=np.int64)),
            way_ids=np.array([w for ws in ways for w in ws], dtype=np.int64),
            geom_offsets=_ptr(np.array([len(s) for s in shapes], dtype=np.int64)),
            geom_x=np.concatenate([s[:, 0] for s in shapes]) if shapes else np.zeros(0),
            geom_y=np.concatenate([s[:, 1] for s in shapes]) if shapes else np.zeros(0),
        )

    @classmethod
    def from_arrays(
        cls,
        tail,
        head,
        x,
        y,
        *,
        length=None,
        kind: str = "synthetic",
        node_ids=None,
        lines=None,
    ) -> LinkIndex:
        """An index of a synthetic network (no OSM ids): links ``tail -> head`` between
        nodes at ``x``, ``y`` (m), drawn as ``lines`` (shapely LineStrings, any direction;
        None or a None entry: the straight segment); attributes not given are nan.

        Links keep their given order, which must be sorted by tail; ``length`` defaults to
        the drawn length (m).
        """
        tail = np.asarray(tail, dtype=np.int64)
        head = np.asarray(head, dtype=np.int64)
        if tail.size > 1 and np.any(np.diff(tail) < 0):
            raise ValueError("links of a LinkIndex are sorted by tail node")
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        given = [None] * tail.size if lines is None else list(lines)
        shapes = [
            _oriented(g, x[a], y[a], x[b], y[b]) for g, a, b in zip(given, tail, head, strict=True)
        ]
        if length is None:
            length = [float(np.hypot(*np.diff(s, axis=0).T).sum()) for s in shapes]
        nan = np.full(tail.size, np.nan)
        return cls(
            kind=kind,
            node_ids=np.arange(x.size) if node_ids is None else np.asarray(node_ids),
            x=x,
            y=y,
            z=np.zeros(x.size),
            tail=tail,
            head=head,
            key=np.zeros(tail.size, dtype=np.int64),
            offsets=_offsets(tail, x.size),
            length=np.asarray(length, dtype=np.float64),
            speed=nan,
            lanes=nan.copy(),
            capacity=nan.copy(),
            storage=nan.copy(),
            width=nan.copy(),
            way_offsets=np.zeros(tail.size + 1, dtype=np.int64),
            way_ids=np.zeros(0, dtype=np.int64),
            geom_offsets=_ptr(np.array([len(s) for s in shapes], dtype=np.int64)),
            geom_x=np.concatenate([s[:, 0] for s in shapes]) if shapes else np.zeros(0),
            geom_y=np.concatenate([s[:, 1] for s in shapes]) if shapes else np.zeros(0),
        )


def index_of_arrays(
    tail, head, x, y, *, length=None, lines=None, kind: str = "synthetic"
) -> tuple[LinkIndex, np.ndarray]:
    """An index of a synthetic network's links in any order (see
    :meth:`LinkIndex.from_arrays`) and, for each of its links, the position of that link
    in the given arrays (its links are sorted by tail, stably)."""
    tail = np.asarray(tail, dtype=np.int64)
    order = np.argsort(tail, kind="stable")
    index = LinkIndex.from_arrays(
        tail[order],
        np.asarray(head, dtype=np.int64)[order],
        x,
        y,
        length=None if length is None else np.asarray(length, dtype=np.float64)[order],
        lines=None if lines is None else np.asarray(lines, dtype=object)[order],
        kind=kind,
    )
    return index, order


#: The stored arrays of an index, by attribute name.
_ARRAYS = tuple(f.name for f in fields(LinkIndex) if f.name not in ("kind", "_memo"))


def _number(value, default: float) -> float:
    """A float attribute; lists (merged ways) give their first entry; missing -> default."""
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return out


def _way_ids(value) -> list[int]:
    """OSM way ids of an edge's ``osmid`` (an int, or a list after simplification)."""
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        try:
            out.append(int(v))
        except (TypeError, ValueError):
            continue
    return out


def _oriented(geometry, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """(k, 2) vertices of a link's shape from its tail ``(x0, y0)`` (the straight segment
    to ``(x1, y1)`` if ``geometry`` is None)."""
    if geometry is None:
        return np.array([[x0, y0], [x1, y1]], dtype=np.float64)
    coords = np.asarray(geometry.coords, dtype=np.float64)[:, :2]
    start, end = coords[0], coords[-1]
    if np.hypot(end[0] - x0, end[1] - y0) < np.hypot(start[0] - x0, start[1] - y0):
        coords = coords[::-1]
    return np.ascontiguousarray(coords)


def _ptr(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    out[1:] = np.cumsum(counts)
    return out


def _offsets(sorted_nodes: np.ndarray, n_nodes: int) -> np.ndarray:
    """CSR offsets of links grouped by a sorted node array."""
    return np.searchsorted(sorted_nodes, np.arange(n_nodes + 1), side="left").astype(np.int64)


def _gather(offsets: np.ndarray, keep: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Positions in a flat array of the runs of the kept links."""
    starts = offsets[:-1][keep]
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + within
