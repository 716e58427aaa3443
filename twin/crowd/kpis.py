"""Key results of a crowd run: clearance times, destinations, densities, hazard exposure."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

CLEARANCE_SHARES = (0.5, 0.9, 1.0)
"""Shares of all people whose arrival times are reported."""


def clearance_times(arrive: np.ndarray, people: int) -> dict[str, float]:
    """Times (s) by which 50 %, 90 % and 100 % of ``people`` had arrived (NaN: not yet).

    Parameters
    ----------
    arrive
        Arrival time of each person (s), NaN for people who have not arrived.
    people
        Number of people the shares refer to (everyone added, arrived or not).
    """
    done = np.sort(arrive[np.isfinite(arrive)])
    out: dict[str, float] = {}
    for share in CLEARANCE_SHARES:
        need = int(np.ceil(share * people)) if people else 0
        key = f"t{round(share * 100)}"
        out[key] = float(done[need - 1]) if 0 < need <= done.size else float("nan")
    return out


@dataclass
class CrowdKpis:
    """What a crowd run produced, in SI units.

    Attributes
    ----------
    time
        Model time when taken (s).
    people
        Everyone added.
    counts
        People by state (pending, at_node, on_link, arrived, stuck, total); pending + at_node
        + on_link + arrived + stuck == total always holds.
    clearance
        ``t50``, ``t90``, ``t100``: times by which that share of all people had arrived (s;
        NaN if not reached).
    destinations
        Per destination: name, group, capacity, occupancy, overflow (people turned away
        because it was full).
    stuck_reasons
        Number of stuck people by reason.
    max_density
        Highest link density seen (persons/m2), its link, its (from, to) node ids and when.
    crush_link_minutes
        Sum over links of the minutes spent above the crush density.
    person_minutes_in_hazard
        Minutes people spent on links at or above the flood hazard rating.
    """

    time: float
    people: int
    counts: dict[str, int]
    clearance: dict[str, float]
    destinations: list[dict[str, Any]] = field(default_factory=list)
    stuck_reasons: dict[str, int] = field(default_factory=dict)
    max_density: float = 0.0
    max_density_link: int = -1
    max_density_nodes: tuple[Any, Any] | None = None
    max_density_time: float = float("nan")
    crush_link_minutes: float = 0.0
    person_minutes_in_hazard: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Plain types, for JSON."""
        out = asdict(self)
        if self.max_density_nodes is not None:
            out["max_density_nodes"] = [int(n) for n in self.max_density_nodes]
        return out
