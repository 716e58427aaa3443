"""The crowd model as an engine component (see :mod:`twin.engine.component`).

:class:`CrowdComponent` wraps a :class:`~twin.crowd.model.CrowdModel` stepped with a fixed
``dt``: ``advance_to(t)`` takes steps of ``dt`` and shortens the last one to land on ``t``
(the model's own rule), so stopping at whole multiples of ``dt`` never changes the steps.
It declares the link densities and counts others read, the flood depth and speed and the
closures others write, and snapshots the full state (people, destinations, routes, route
tables, records and the random generator) as numpy arrays and scalars.

>>> import numpy as np
>>> from twin.crowd import CrowdModel
>>> from twin.crowd.geometry import corridor
>>> c = CrowdComponent(CrowdModel(corridor(50.0, 2.0), np.random.default_rng(0)))
>>> c.advance_to(5.0)
>>> c.time
5.0
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from twin.crowd.model import ON_LINK, CrowdModel
from twin.engine.component import (
    Field,
    apply,
    capture,
    check_value,
    field_of,
    rng_state,
    set_rng_state,
)

__all__ = ["CrowdComponent"]


class CrowdComponent:
    """A crowd model behind the engine's component contract.

    Parameters
    ----------
    model
        The model, destinations, routes and people added.
    dt
        Walking step (s).
    name
        The component's name in a run (and in timeline events).
    """

    info: ClassVar[tuple[Field, ...]] = (
        Field("density", "out", "1/m2", "link", "float64", "persons per square metre of link"),
        Field("count", "out", "person", "link", "int64", "persons walking on the link"),
        Field("closed", "out", "1", "link", "bool", "links nobody may enter (any reason)"),
        Field("status", "out", "1", "person", "int8", "0 pending 1 at node 2 walking 3 in 4 stuck"),
        Field("flood_depth", "in", "m", "link", "float64", "water depth on the link"),
        Field("flood_speed", "in", "m/s", "link", "float64", "water speed on the link"),
        Field("closed", "in", "1", "link", "bool", "links closed by others (collapse, cordon)"),
    )  # fmt: skip
    actions: ClassVar[dict[str, str]] = {
        "close_links": "close the links in payload['links'] (indices) from now on",
        "open_links": "reopen the links in payload['links'] closed by close_links",
    }

    def __init__(self, model: CrowdModel, *, dt: float = 1.0, name: str = "crowd") -> None:
        if not dt > 0:
            raise ValueError(f"the crowd's step must be > 0 s, got {dt!r}")
        self.model = model
        self.dt = float(dt)
        self.name = name

    @property
    def time(self) -> float:
        """Model time (s)."""
        return self.model.t

    def sizes(self) -> dict[str, tuple[int, ...]]:
        """Links, nodes and persons."""
        m = self.model
        return {
            "link": (m.net.n_links,),
            "node": (m.net.n_nodes,),
            "person": (m.status.size,),
        }

    def advance_to(self, t: float) -> None:
        """Step by ``dt`` to ``t`` (s), the last step shortened to land on it."""
        self.model.advance_to(t, dt=self.dt)

    def output(self, name: str) -> Any:
        """A declared output now (see :attr:`info`)."""
        field_of(self, name, "out")
        m = self.model
        if name == "density":
            return m.density()
        if name == "count":
            on = m.status == ON_LINK
            return np.bincount(m.link[on], minlength=m.net.n_links).astype(np.int64)
        if name == "closed":
            return m.closed.copy()
        return m.status.copy()

    def set_input(self, name: str, value: Any) -> None:
        """Set the flood depth or speed on links, or the links closed by others."""
        arr = check_value(self, field_of(self, name, "in"), value)
        m = self.model
        if name == "flood_depth":
            m.set_flood(arr, m.velocity)
        elif name == "flood_speed":
            m.set_flood(m.depth, arr)
        else:
            m.set_closed(arr)

    def inject(self, action: str, payload: Mapping[str, Any]) -> None:
        """``close_links`` / ``open_links`` with ``payload['links']`` (indices)."""
        m = self.model
        mask = np.zeros(m.net.n_links, dtype=bool)
        mask[np.asarray(payload.get("links", []), dtype=np.int64)] = True
        if action == "close_links":
            m.set_closed(m.closed_outside | mask)
        elif action == "open_links":
            m.set_closed(m.closed_outside & ~mask)
        else:
            raise KeyError(f"crowd has no action {action!r} (it has {list(self.actions)})")

    def vitals(self) -> dict[str, float]:
        """Persons walking, arrived and stuck; the densest link (persons/m2)."""
        m = self.model
        c = m.counts()
        density = m.density()
        return {
            "walking": float(c["on_link"] + c["at_node"]),
            "arrived": float(c["arrived"]),
            "stuck": float(c["stuck"]),
            "max_density": float(density.max()) if density.size else 0.0,
        }

    def snapshot(self) -> dict[str, Any]:
        """People, links, destinations, routes, route tables, records, random generator."""
        m = self.model
        return {
            **capture(m, "model"),
            **capture(m.dests, "dests"),
            **capture(m.routes, "routes"),
            **capture(m.records, "records"),
            **rng_state(m.rng, "rng"),
        }

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Put this fresh component (same network and parameters) into ``snapshot``'s state."""
        m = self.model
        apply(m, snapshot, "model")
        apply(m.dests, snapshot, "dests")
        apply(m.routes, snapshot, "routes")
        apply(m.records, snapshot, "records")
        set_rng_state(m.rng, snapshot, "rng")
