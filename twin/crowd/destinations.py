"""Destinations of a crowd model: shelters, assembly points and exits, in groups.

Each destination is a node with a capacity (inf: an exit), a name and why it is one
("designated shelter", "opened by plan"). Destinations belong to a *group*; people of a
group go to its members only, never farther than the group's walking-distance limit.
Occupancy and overflow (people turned away because it was full) are counted per
destination by :class:`~twin.crowd.CrowdModel` as people arrive. In a coupled run people
arriving by car take places too (:meth:`DestinationTable.admit_by_car`, counted apart in
``by_car`` and ``overflow_by_car``): the room left is shared by walkers and cars.
"""

from __future__ import annotations

import numpy as np


class DestinationTable:
    """The destinations of a crowd model, one array entry per destination.

    Attributes
    ----------
    node
        Node index of each destination, shape ``(n_dest,)``.
    capacity
        People each holds (inf: no limit), shape ``(n_dest,)``.
    group
        Group index of each destination, shape ``(n_dest,)``.
    names
        Name of each destination.
    why
        Why each is a destination (may be empty).
    occupancy
        People counted in so far, shape ``(n_dest,)``.
    overflow
        People who reached it full and were sent on, shape ``(n_dest,)``.
    by_car, overflow_by_car
        People counted in who came by car, and people who came by car to it full and were
        sent on, shape ``(n_dest,)`` (coupled runs; zero otherwise).
    group_names
        Name of each group.
    group_limit
        Most walking distance (m) to a destination of each group (inf: no limit).
    """

    def __init__(self) -> None:
        self.node = np.zeros(0, dtype=np.int64)
        self.capacity = np.zeros(0)
        self.group = np.zeros(0, dtype=np.int64)
        self.names: list[str] = []
        self.why: list[str] = []
        self.occupancy = np.zeros(0, dtype=np.int64)
        self.overflow = np.zeros(0, dtype=np.int64)
        self.by_car = np.zeros(0, dtype=np.int64)
        self.overflow_by_car = np.zeros(0, dtype=np.int64)
        self.group_names: list[str] = []
        self.group_limit = np.zeros(0)

    @property
    def size(self) -> int:
        """Number of destinations."""
        return int(self.node.size)

    def add(self, nodes, capacities=None, names=None, *, group: str, why=None) -> np.ndarray:
        """Add a group of destinations (a new group, or more members of one).

        Parameters
        ----------
        nodes
            Node index of each destination.
        capacities
            People each holds (inf if omitted: exits).
        names
            Names for KPIs (``"<group>:<i>"`` if omitted).
        group
            Group name; people of this group go to the nearest member with room left.
        why
            Why each is a destination (e.g. "designated shelter", "opened by plan"), one
            string for all or one per destination; shown in the KPIs.

        Returns
        -------
        numpy.ndarray
            Indices of the new destinations.

        Raises
        ------
        ValueError
            If a capacity is not positive, or names or why do not match the nodes.
        """
        nodes = np.atleast_1d(np.asarray(nodes, dtype=np.int64))
        caps = np.full(nodes.size, np.inf) if capacities is None else np.asarray(capacities, float)
        if caps.shape != nodes.shape or np.any(~(caps > 0)):
            raise ValueError("capacities must be positive, one per destination")
        if group not in self.group_names:
            self.group_names.append(group)
            self.group_limit = np.append(self.group_limit, np.inf)
        g = self.group_names.index(group)
        first = self.node.size
        names = [f"{group}:{i}" for i in range(nodes.size)] if names is None else list(names)
        whys = [why or ""] * nodes.size if why is None or isinstance(why, str) else list(why)
        if len(names) != nodes.size or len(whys) != nodes.size:
            raise ValueError("names and why must have one entry per destination")
        self.why += [str(w) for w in whys]
        self.node = np.concatenate([self.node, nodes])
        self.capacity = np.concatenate([self.capacity, caps])
        self.group = np.concatenate([self.group, np.full(nodes.size, g)])
        self.names += [str(n) for n in names]
        self.occupancy = np.concatenate([self.occupancy, np.zeros(nodes.size, dtype=np.int64)])
        self.overflow = np.concatenate([self.overflow, np.zeros(nodes.size, dtype=np.int64)])
        zeros = np.zeros(nodes.size, dtype=np.int64)
        self.by_car = np.concatenate([self.by_car, zeros])
        self.overflow_by_car = np.concatenate([self.overflow_by_car, zeros])
        return np.arange(first, self.node.size)

    def set_max_distance(self, group: str, metres: float) -> None:
        """Limit the walking distance (m) to the destinations of ``group`` (inf: no limit).

        Raises
        ------
        ValueError
            If ``metres`` is not > 0 or there is no such group.
        """
        if not metres > 0:
            raise ValueError(f"max distance must be > 0 m, got {metres!r}")
        self.group_limit[self.group_index(group)] = float(metres)

    def group_index(self, group: str) -> int:
        """Index of ``group``.

        Raises
        ------
        ValueError
            If no destination of that group was added.
        """
        if group not in self.group_names:
            raise ValueError(f"no destinations in group {group!r}; add them first")
        return self.group_names.index(group)

    def room(self, full: np.ndarray | None = None) -> np.ndarray:
        """People each destination can still take (inf: no limit); ``full``: indices of
        destinations to treat as full (0). Walkers and people by car share it."""
        left = self.capacity - self.occupancy - self.by_car
        if full is not None:
            left[full] = 0
        return left

    def admit_by_car(self, dest: np.ndarray, people: np.ndarray) -> np.ndarray:
        """Count in people who came by car, in the order given: arrival ``k`` brings
        ``people[k]`` to destination ``dest[k]``, which takes as many as it has room for
        (those before it in the list served first); the rest are counted in
        ``overflow_by_car`` and must go on.

        Returns
        -------
        numpy.ndarray
            People taken from each arrival, shape of ``people``.
        """
        dest = np.asarray(dest, dtype=np.int64)
        people = np.asarray(people, dtype=np.int64)
        taken = np.zeros(people.size, dtype=np.int64)
        if people.size == 0:
            return taken
        order = np.lexsort((np.arange(dest.size), dest))  # by destination, keeping the order
        d, n = dest[order], people[order]
        first = np.ones(d.size, dtype=bool)
        first[1:] = d[1:] != d[:-1]
        cum = np.cumsum(n)
        starts = np.flatnonzero(first)
        before = cum - n - np.repeat((cum - n)[starts], np.diff(np.append(starts, d.size)))
        room = self.room()
        left = np.floor(np.where(np.isinf(room), float(people.sum()), room))[d]
        got = np.clip(left - before, 0, n).astype(np.int64)
        taken[order] = got
        np.add.at(self.by_car, d, got)
        np.add.at(self.overflow_by_car, d, n - got)
        return taken
