"""The walk network as arrays (links, nodes, widths), from a city's walk link index, and
shortest walking-time routes on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from twin.city.routing import route_tables as city_route_tables
from twin.errors import Problem, UserInputError

if TYPE_CHECKING:
    import networkx as nx

    from twin.city.links import LinkIndex


@dataclass
class WalkNetwork:
    """A directed walk network in arrays.

    Attributes
    ----------
    tail, head
        Start and end node index of each link, shape ``(n_links,)``.
    length
        Link length (m), > 0.
    width
        Walkable (effective) width (m), > 0.
    x, y
        Node coordinates (m, projected CRS), shape ``(n_nodes,)``.
    z
        Node elevation (m), shape ``(n_nodes,)``.
    node_ids
        Original node ids (OSM ids for a city), shape ``(n_nodes,)``.
    crs
        CRS of ``x``/``y`` (e.g. ``"EPSG:32632"``), or None for synthetic networks.
    links
        The city's walk link index these links are, in the same order (see
        :meth:`from_links`); None for a synthetic network (see :meth:`link_index`).
    """

    tail: np.ndarray
    head: np.ndarray
    length: np.ndarray
    width: np.ndarray
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    node_ids: np.ndarray
    crs: str | None = None
    links: LinkIndex | None = None

    @property
    def n_links(self) -> int:
        """Number of directed links."""
        return int(self.tail.size)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.x.size)

    @classmethod
    def from_arrays(
        cls,
        tail,
        head,
        length,
        width,
        x,
        y,
        z=None,
        node_ids=None,
        crs: str | None = None,
        *,
        min_length: float = 0.1,
    ) -> WalkNetwork:
        """A network from link and node arrays; checks widths and lengths.

        Links shorter than ``min_length`` (m) are lengthened to it (coincident OSM nodes give
        0 m segments). A width that is missing, zero or negative is an error.

        Raises
        ------
        twin.errors.UserInputError
            If a width is not a positive number, or a link names a missing node.
        """
        tail = np.asarray(tail, dtype=np.int64)
        head = np.asarray(head, dtype=np.int64)
        x = np.asarray(x, dtype=np.float64)
        width = np.asarray(width, dtype=np.float64)
        n = x.size
        if tail.size and (min(tail.min(), head.min()) < 0 or max(tail.max(), head.max()) >= n):
            raise UserInputError("a link names a node index outside the node arrays")
        bad = np.flatnonzero(~(np.isfinite(width) & (width > 0)))
        if bad.size:
            ids = np.arange(n) if node_ids is None else np.asarray(node_ids)
            sample = ", ".join(f"{ids[tail[i]]}->{ids[head[i]]}" for i in bad[:5])
            raise UserInputError(
                Problem(
                    f"{bad.size} walk link(s) have no positive width (e.g. {sample}); "
                    "the crowd model needs a width to limit flow and density",
                    field="effective_width",
                    fix="rebuild the city pack (it imputes widths), or pass "
                    "`min_width=` to use a documented floor instead",
                )
            )
        length = np.maximum(np.nan_to_num(np.asarray(length, dtype=np.float64)), min_length)
        return cls(
            tail=tail,
            head=head,
            length=length,
            width=width,
            x=x,
            y=np.asarray(y, dtype=np.float64),
            z=np.zeros(n) if z is None else np.asarray(z, dtype=np.float64),
            node_ids=np.arange(n) if node_ids is None else np.asarray(node_ids),
            crs=crs,
        )

    @classmethod
    def from_links(
        cls, links: LinkIndex, *, crs: str | None = None, min_width: float | None = None
    ) -> WalkNetwork:
        """Arrays of a city's walk link index (``pack.links("walk")``: length, effective
        width, node elevation); link ``i`` here is link ``i`` there.

        Parameters
        ----------
        links
            The walk link index (metres).
        crs
            Its CRS, kept for turning lon/lat into nodes.
        min_width
            If given, widths that are missing or below it are set to it (m); otherwise a
            missing or non-positive width raises :class:`~twin.errors.UserInputError`.
        """
        width = links.width.copy()
        if min_width is not None:
            width = np.where(np.isfinite(width), np.maximum(width, min_width), min_width)
        net = cls.from_arrays(
            links.tail, links.head, links.length, width, links.x, links.y, links.z,
            links.node_ids, crs=crs,
        )  # fmt: skip
        net.links = links
        return net

    @classmethod
    def from_graph(
        cls, graph: nx.MultiDiGraph, *, crs: str | None = None, min_width: float | None = None
    ) -> WalkNetwork:
        """Arrays of a walk graph (edges ``length``, ``effective_width`` or ``width``; nodes
        ``x``, ``y``, ``elevation``) through its link index (see :meth:`from_links`; prefer
        ``from_links(pack.links("walk"))``, which reuses the pack's stored index)."""
        from twin.city.links import LinkIndex

        return cls.from_links(LinkIndex.from_graph(graph, "walk"), crs=crs, min_width=min_width)

    def link_index(self) -> tuple[LinkIndex, np.ndarray]:
        """The link index these links are part of and, for each of its links, the index of
        that link here (the identity for a network built :meth:`from_links`); built once
        from the arrays for a synthetic network."""
        if self.links is not None:
            return self.links, np.arange(self.n_links)
        if getattr(self, "_own_index", None) is None:
            from twin.city.links import index_of_arrays

            self._own_index = index_of_arrays(
                self.tail, self.head, self.x, self.y, length=self.length, kind="walk"
            )
        return self._own_index

    def nearest_nodes(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Index of the nearest node to each point, and the distance to it (m): the link
        index's lookup (its k-d tree is built once)."""
        return self.link_index()[0].nearest_nodes(x, y)


def route_tables(
    net: WalkNetwork, targets: np.ndarray, weight: np.ndarray, usable: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Shortest walking times to each target node and the next link to take (the city
    router's :func:`twin.city.routing.route_tables` on the walk links).

    Parameters
    ----------
    net
        The network.
    targets
        Target node indices, shape ``(d,)``.
    weight
        Cost of each link (s), shape ``(n_links,)``, > 0.
    usable
        Which links may be used, shape ``(n_links,)``.

    Returns
    -------
    dist
        ``dist[i, n]``: least cost from node ``n`` to ``targets[i]`` (s; inf if none),
        shape ``(d, n_nodes)``.
    next_link
        ``next_link[i, n]``: the first link of that route (-1 at the target or if none).
    """
    return city_route_tables(net.n_nodes, net.tail, net.head, targets, weight, usable)
