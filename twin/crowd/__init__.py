"""Crowd: pedestrians on the walk graph, one array entry per person.

Build a :class:`WalkNetwork` (from a CityPack walk graph or from arrays; synthetic ones in
:mod:`twin.crowd.geometry`), a :class:`CrowdModel` on it, add destinations and people
(:mod:`twin.crowd.sources` turns scenario evacuation orders, crowd events and shelters into
them), then ``step(dt)`` / ``advance_to(t)`` and read ``kpis()``, ``density()``,
``crush_links()`` and ``in_hazard()``. Flood coupling: ``set_flood(depth, velocity)`` per link.
"""

from twin.crowd.kpis import CrowdKpis
from twin.crowd.model import CrowdModel
from twin.crowd.network import WalkNetwork
from twin.crowd.params import CrowdParams, FloodRules

__all__ = ["CrowdKpis", "CrowdModel", "CrowdParams", "FloodRules", "WalkNetwork"]
