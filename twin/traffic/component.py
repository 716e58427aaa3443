"""The traffic model as an engine component (see :mod:`twin.engine.component`).

:class:`TrafficComponent` wraps a :class:`~twin.traffic.model.TrafficModel`: it declares
what the model gives others (link speeds, densities, queues, closures) and takes from them
(speed factors, closures), advances it in whole steps of its ``dt`` without ever passing
the time asked, and snapshots its full state (links, vehicles, paths, routes, records)
as numpy arrays and scalars.

>>> from twin.traffic import TrafficModel, grid_network
>>> c = TrafficComponent(TrafficModel(grid_network(3), dt=1.0))
>>> c.advance_to(10.5)
>>> c.time
10.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from twin.engine.component import Field, apply, capture, check_value, field_of
from twin.traffic.model import TrafficModel

__all__ = ["TrafficComponent"]


class TrafficComponent:
    """A traffic model behind the engine's component contract.

    Parameters
    ----------
    model
        The model, vehicles and routes added.
    name
        The component's name in a run (and in timeline events).
    """

    info: ClassVar[tuple[Field, ...]] = (
        Field("speed", "out", "m/s", "link", "float64", "speed of a vehicle entering now"),
        Field("density", "out", "veh/m", "link", "float64", "vehicles a metre, all lanes"),
        Field("queue_length", "out", "veh", "link", "int64", "vehicles waiting at the link's end"),
        Field("vehicles", "out", "veh", "link", "int64", "vehicles on the link"),
        Field("closed", "out", "1", "link", "bool", "links no vehicle may enter"),
        Field("speed_factor", "in", "1", "link", "float64", "free-speed factor 0-1 (0 closes)"),
        Field("closed", "in", "1", "link", "bool", "links closed by others (flood, plan)"),
    )  # fmt: skip
    actions: ClassVar[dict[str, str]] = {
        "close_links": "close the links in payload['links'] (indices); reroutes at once",
        "open_links": "reopen the links in payload['links'] (indices)",
    }

    def __init__(self, model: TrafficModel, *, name: str = "traffic") -> None:
        self.model = model
        self.name = name

    @property
    def time(self) -> float:
        """Model time (s): a whole number of steps."""
        return self.model.time

    def sizes(self) -> dict[str, tuple[int, ...]]:
        """Links, nodes and vehicles."""
        net = self.model.net
        return {
            "link": (net.n_links,),
            "node": (net.n_nodes,),
            "vehicle": (self.model.n_vehicles,),
        }

    def advance_to(self, t: float) -> None:
        """Advance in whole steps of ``dt`` to the last step time at or before ``t`` (s)."""
        dt = self.model.dt
        n = math.floor(t / dt + 1e-9)
        if n * dt > t:  # the margin above must never put the model past t
            n -= 1
        if n * dt > self.model.time:
            self.model.advance_to(n * dt)

    def output(self, name: str) -> Any:
        """A declared output now (see :attr:`info`)."""
        field_of(self, name, "out")
        m = self.model
        if name == "speed":
            return m.speed()
        if name == "density":
            return m.density()
        if name == "queue_length":
            return m.queue_length().astype(np.int64)
        if name == "vehicles":
            return m.vehicles_on_links().astype(np.int64)
        return m.closed.copy()

    def set_input(self, name: str, value: Any) -> None:
        """Set ``speed_factor`` or ``closed`` (taking effect at the next step)."""
        arr = check_value(self, field_of(self, name, "in"), value)
        if name == "speed_factor":
            self.model.speed_factor[:] = arr
        else:
            self.model.closed[:] = arr.astype(bool)

    def inject(self, action: str, payload: Mapping[str, Any]) -> None:
        """``close_links`` or ``open_links`` with ``payload['links']``."""
        links = np.asarray(payload.get("links", []), dtype=np.int64)
        if action == "close_links":
            self.model.close_links(links)
        elif action == "open_links":
            self.model.open_links(links)
        else:
            raise KeyError(f"traffic has no action {action!r} (it has {list(self.actions)})")

    def vitals(self) -> dict[str, float]:
        """Vehicles on the roads and arrived, links closed, mean speed (m/s) over links."""
        m = self.model
        return {
            "on_roads": float(m.vehicles_on_links().sum()),
            "arrived": float(m.arrived),
            "closed_links": float(m.closed.sum()),
            "mean_speed": float(m.speed().mean()) if m.net.n_links else 0.0,
        }

    def snapshot(self) -> dict[str, Any]:
        """Links, vehicles (packed arrays), paths, waypoint routes, link records, time."""
        m = self.model
        v = m._v
        views = (*v.INT_COLS, *v.FLOAT_COLS)
        return {
            **capture(m, "model"),
            **capture(v, "vehicles", skip=views),
            **capture(m.routes, "routes"),
            **capture(m.series, "series"),
        }

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Put this fresh component (same network and settings) into ``snapshot``'s state."""
        m = self.model
        apply(m, snapshot, "model")
        apply(m._v, snapshot, "vehicles")
        m._v._views()
        # derived, not read: a checkpoint written before the flag existed lacks it
        v, n = m._v, m.n_vehicles
        m._inside_links = bool((v.first_link[:n] >= 0).any() or (v.last_link[:n] >= 0).any())
        apply(m.routes, snapshot, "routes")
        apply(m.series, snapshot, "series")
