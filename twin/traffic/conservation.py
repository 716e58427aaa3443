"""Vehicle conservation of a traffic model, counted by independent paths."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from twin.traffic import kernels as kern

if TYPE_CHECKING:
    from twin.traffic.model import TrafficModel


def check_conservation(model: TrafficModel) -> dict[str, int]:
    """Count vehicles in and out by separate paths and check none was created or lost.

    Counted where they happen: vehicles given to :meth:`TrafficModel.add_vehicles` (``added``),
    released from their origin queue (``departed``, in the kernel), arrived and
    stranded ones leaving the network (``arrived``, ``left_stranded``, in the kernel),
    stranded before leaving their origin (``stranded_at_origin``, by the router). The
    vehicles on links come from the links' entry and exit counters (``on_links``), those
    still waiting from walking the origin queues (``waiting``). Then
    ``departed == arrived + left_stranded + on_links`` and ``added == departed +
    waiting + stranded_at_origin``, and the per-vehicle status array must agree.

    Returns
    -------
    dict
        The counts above and ``stranded`` (stranded and off the network).

    Raises
    ------
    RuntimeError
        If the counts disagree (a bug, never a user error).
    """
    v, n, c = model._v, model.n_vehicles, model._counters
    counts = {
        "added": model._added,
        "departed": int(c[kern.C_DEPARTED]),
        "waiting": kern.count_queued(model._orig_head, model._v.vi),
        "on_links": int((model.n_in - model.n_out).sum()),
        "arrived": int(c[kern.C_ARRIVED]),
        "left_stranded": int(c[kern.C_LEFT_STRANDED]),
        "stranded_at_origin": model._stranded_unreleased,
    }
    counts["stranded"] = counts["left_stranded"] + counts["stranded_at_origin"]
    problems = []
    out = counts["arrived"] + counts["left_stranded"] + counts["on_links"]
    if counts["departed"] != out:
        problems.append(f"departures {counts['departed']} != arrivals + exits + on links")
    if counts["added"] != counts["departed"] + counts["waiting"] + counts["stranded_at_origin"]:
        problems.append("vehicles added != departed + waiting + stranded at their origin")
    status = v.status[:n]
    by_status = {
        "waiting": int((status == kern.WAITING).sum()),
        "on_links": int((v.veh_link[:n] >= 0).sum()),
        "arrived": int((status == kern.ARRIVED).sum()),
        "stranded": int(((status == kern.STRANDED) & (v.veh_link[:n] < 0)).sum()),
    }
    for key, value in by_status.items():
        if value != counts[key]:
            problems.append(f"{key}: {counts[key]} counted, {value} by vehicle status")
    if counts["added"] != n:
        problems.append(f"{counts['added']} vehicles added, {n} stored")
    if np.any(model.n_in - model.n_out > model._store) or np.any(model.n_out > model.n_in):
        problems.append("a link holds more than its storage or fewer than none")
    if problems:
        raise RuntimeError(f"traffic conservation: {'; '.join(problems)} ({counts})")
    return counts
