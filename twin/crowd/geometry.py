"""Synthetic walk networks for validation and benchmarks: a corridor, a room with a door, a
grid city."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.crowd.network import WalkNetwork


def corridor(length: float, width: float, *, link_length: float = 10.0) -> WalkNetwork:
    """A straight one-way corridor from node 0 (x = 0) to its last node (x = ``length``).

    Parameters
    ----------
    length
        Corridor length (m).
    width
        Corridor width (m).
    link_length
        Length of each link (m); the corridor is cut into equal links of about this.
    """
    n = max(1, round(length / link_length))
    x = np.linspace(0.0, length, n + 1)
    tail = np.arange(n)
    return WalkNetwork.from_arrays(
        tail, tail + 1, np.diff(x), np.full(n, width), x, np.zeros(n + 1)
    )


@dataclass(frozen=True)
class Room:
    """A square room emptying through one door into an open area.

    Links: 0 = the room (from its back wall to the door; as wide as the room), 1 = the door
    (``door_depth`` long, ``door_width`` wide), 2 = the area outside. Node 3 is the exit.

    Attributes
    ----------
    net
        The network.
    side
        Side of the square room (m).
    door_width
        Width of the door (m).
    exit_node
        Where people are counted out.
    """

    net: WalkNetwork
    side: float
    door_width: float
    exit_node: int = 3

    @property
    def room_link(self) -> int:
        """Index of the room link."""
        return 0


def room_with_door(
    people: int,
    density: float,
    door_width: float,
    *,
    door_depth: float = 0.5,
    outside_length: float = 5.0,
    outside_width: float = 10.0,
) -> Room:
    """A square room holding ``people`` at ``density`` (persons/m2) with a door of
    ``door_width`` (m) in one wall, ``door_depth`` (m) thick, opening onto an area
    ``outside_length`` x ``outside_width`` (m) whose far end is the exit."""
    side = float(np.sqrt(people / density))
    lengths = np.array([side, door_depth, outside_length])
    x = np.concatenate([[0.0], np.cumsum(lengths)])
    net = WalkNetwork.from_arrays(
        [0, 1, 2], [1, 2, 3], lengths, [side, door_width, outside_width], x, np.zeros(4)
    )
    return Room(net=net, side=side, door_width=door_width)


def grid_city(n: int, spacing: float = 100.0, width: float = 3.0) -> WalkNetwork:
    """An ``n`` x ``n`` grid of streets ``spacing`` (m) apart, ``width`` (m) wide, walkable
    both ways (``4 n (n - 1)`` links)."""
    ij = np.arange(n * n).reshape(n, n)
    east = np.column_stack([ij[:, :-1].ravel(), ij[:, 1:].ravel()])
    north = np.column_stack([ij[:-1, :].ravel(), ij[1:, :].ravel()])
    pairs = np.concatenate([east, north, east[:, ::-1], north[:, ::-1]])
    yy, xx = np.divmod(np.arange(n * n), n)
    return WalkNetwork.from_arrays(
        pairs[:, 0],
        pairs[:, 1],
        np.full(len(pairs), spacing),
        np.full(len(pairs), width),
        xx * spacing,
        yy * spacing,
    )
