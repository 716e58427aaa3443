"""Key results of a crowd run: clearance times, destinations, densities, hazard exposure."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.crowd.choice import STUCK_REASONS
from twin.crowd.states import STUCK

if TYPE_CHECKING:
    from twin.crowd.model import CrowdModel

NOT_COUPLED = "not computed (flood not coupled)"
"""Why ``person_minutes_in_hazard`` is None: the run had no flood depths."""

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
        People by state (pending, at_node, on_link, arrived, stuck, total).
    flows
        People ``released`` (their departure time came, or placed on a link) and
        ``arrived`` (counted into a destination), each counted where it happened rather
        than from the states, so ``released - arrived - stuck`` must equal the people
        walking or waiting.
    clearance
        ``t50``, ``t90``, ``t100``: times by which that share of all people had arrived (s;
        NaN if not reached).
    destinations
        Per destination: name, group, why it is one (e.g. "designated shelter", "opened
        by plan"), capacity, occupancy, overflow (people turned away because it was full).
    routes
        Per evacuation route: name, destination, people sent along it, and ``dropped``:
        those who left it (its destination full or out of reach).
    stuck_reasons
        Number of stuck people by reason.
    unfinished
        Everyone who has not arrived, by reason: the stuck reasons, "still walking at end"
        (on a link or waiting at a node) and "not departed yet".
    max_density
        Highest link density seen (persons/m2), its link, its (from, to) node ids and when.
    crush_link_minutes
        Sum over links of the minutes spent above the crush density.
    person_minutes_in_hazard
        Minutes people spent on links at or above the flood hazard rating; None if the
        model was never given flood depths (``hazard_note`` says why).
    hazard_note
        Why ``person_minutes_in_hazard`` is None ("" when it was computed).
    """

    time: float
    people: int
    counts: dict[str, int]
    clearance: dict[str, float]
    flows: dict[str, int] = field(default_factory=dict)
    destinations: list[dict[str, Any]] = field(default_factory=list)
    routes: list[dict[str, Any]] = field(default_factory=list)
    stuck_reasons: dict[str, int] = field(default_factory=dict)
    unfinished: dict[str, int] = field(default_factory=dict)
    max_density: float = 0.0
    max_density_link: int = -1
    max_density_nodes: tuple[Any, Any] | None = None
    max_density_time: float = float("nan")
    crush_link_minutes: float = 0.0
    person_minutes_in_hazard: float | None = None
    hazard_note: str = NOT_COUPLED

    def as_dict(self) -> dict[str, Any]:
        """Plain types for JSON: NaN and inf (a time not reached, an exit without limit)
        become None, since JSON has no such numbers."""
        out = asdict(self)
        if self.max_density_nodes is not None:
            out["max_density_nodes"] = [int(n) for n in self.max_density_nodes]
        return _finite(out)


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def collect_kpis(model: CrowdModel) -> CrowdKpis:
    """The KPIs of a :class:`~twin.crowd.CrowdModel` as it stands."""
    net, rec, dests = model.net, model.records, model.dests
    link = rec.max_density_link
    where = None
    if link >= 0:
        where = (int(net.node_ids[net.tail[link]]), int(net.node_ids[net.head[link]]))
    stuck = model.status == STUCK
    reasons = {
        text: int(np.count_nonzero(stuck & (model.reason == code)))
        for code, text in STUCK_REASONS.items()
    }
    reasons = {k: v for k, v in reasons.items() if v}
    counts = model.counts()
    unfinished = dict(reasons)
    unfinished["still walking at end"] = counts["on_link"] + counts["at_node"]
    unfinished["not departed yet"] = counts["pending"]
    routed = np.bincount(
        np.maximum(model.route, 0), weights=model.route >= 0, minlength=model.routes.size
    )
    coupled = model.flood_coupled
    return CrowdKpis(
        time=model.t,
        people=int(model.status.size),
        counts=counts,
        flows={"released": int(model.released), "arrived": int(model.arrivals)},
        clearance=clearance_times(model.arrive, model.status.size),
        destinations=[
            {
                "name": dests.names[d],
                "group": dests.group_names[dests.group[d]],
                "why": dests.why[d],
                "capacity": float(dests.capacity[d]),
                "occupancy": int(dests.occupancy[d]),
                "overflow": int(dests.overflow[d]),
            }
            for d in range(dests.size)
        ],
        routes=[
            {
                "name": name,
                "destination": dests.names[model.routes.dest[r]],
                "following": int(routed[r]),
                "dropped": int(model.routes.dropped[r]),
            }
            for r, name in enumerate(model.routes.names)
        ],
        stuck_reasons=reasons,
        unfinished={k: v for k, v in unfinished.items() if v},
        max_density=rec.max_density,
        max_density_link=link,
        max_density_nodes=where,
        max_density_time=rec.max_density_time,
        crush_link_minutes=float(rec.crush_link_seconds.sum() / 60.0),
        person_minutes_in_hazard=float(model.hazard_seconds.sum() / 60.0) if coupled else None,
        hazard_note="" if coupled else NOT_COUPLED,
    )
