"""Putting vehicles into a traffic model: checked trips, origin queues, earlier departures
and new destinations for vehicles on their way.

The functions here are the bodies of :class:`~twin.traffic.model.TrafficModel`'s demand
methods (:meth:`~twin.traffic.model.TrafficModel.add_vehicles`,
:meth:`~twin.traffic.model.TrafficModel.depart_earlier`,
:meth:`~twin.traffic.model.TrafficModel.redirect`); they read and write the model's
vehicle arrays and reroute through its router.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from twin.errors import Problem, UserInputError
from twin.traffic import kernels as kern
from twin.traffic.budget import check_vehicles

if TYPE_CHECKING:
    from twin.traffic.model import TrafficModel


def add_vehicles(
    model: TrafficModel,
    origins,
    destinations,
    departures,
    priority=False,
    *,
    origin_links=None,
    origin_at=None,
    destination_links=None,
    destination_at=None,
    route=None,
) -> np.ndarray:
    """Add vehicles to ``model`` (see :meth:`TrafficModel.add_vehicles`); returns their ids."""
    o = np.atleast_1d(np.asarray(origins, dtype=np.int64))
    d = np.atleast_1d(np.asarray(destinations, dtype=np.int64))
    t = np.atleast_1d(np.asarray(departures, dtype=np.float64))
    if not (len(o) == len(d) == len(t)):
        raise UserInputError("origins, destinations and departures differ in length")
    check_vehicles(model.n_vehicles + len(t), model.max_memory_bytes, field="vehicles")
    net = model.net
    bad_node = np.flatnonzero((o < 0) | (o >= net.n_nodes) | (d < 0))
    bad_node = np.union1d(bad_node, np.flatnonzero(d >= net.n_nodes))
    if bad_node.size:
        raise UserInputError(
            Problem(f"trip {int(bad_node[0])}: node index out of range", fix="snap first")
        )
    early = np.flatnonzero(t < model.time - 1e-9)
    if early.size:
        raise UserInputError(
            Problem(
                f"trip {int(early[0])} departs at {t[early[0]]:.1f} s, before the model's "
                f"time {model.time:.1f} s",
                field="departure",
                fix="inject vehicles at or after the current time",
            )
        )
    bad_time = np.flatnonzero(~np.isfinite(t))
    if bad_time.size:
        raise UserInputError(
            Problem(
                f"trip {int(bad_time[0])} departs at {t[bad_time[0]]} s",
                field="departure",
                fix="give finite departure times",
            )
        )
    m = len(o)
    ends = trip_ends(model, m, origin_links, origin_at, destination_links, destination_at)
    model.routes.add_vehicles(model.n_vehicles, m, route)
    ids = np.arange(model.n_vehicles, model.n_vehicles + m)
    model._v.grow(model.n_vehicles + m)
    v = model._v
    v.origin[ids], v.dest[ids], v.t_depart[ids], v.t_ready[ids] = o, d, t, t
    first, start_at, last, end_at = ends
    v.first_link[ids], v.start_at[ids] = first, np.where(first >= 0, start_at, 0.0)
    v.last_link[ids], v.end_at[ids] = last, np.where(last >= 0, end_at, 1.0)
    v.origin[ids[first >= 0]] = net.link_from[first[first >= 0]]
    v.dest[ids[last >= 0]] = net.link_to[last[last >= 0]]
    model._inside_links |= bool((first >= 0).any() or (last >= 0).any())
    model._added += m
    v.priority[ids] = np.broadcast_to(np.asarray(priority, dtype=np.bool_), (m,))
    v.status[ids], v.veh_link[ids], v.path_id[ids] = kern.WAITING, -1, -1
    model.n_vehicles += m
    rebuild_origin_queues(model)
    if np.isfinite(model._routed_until):
        model._plan(until=model._routed_until, reroute=None)
    return ids


def trip_ends(model: TrafficModel, m, first, start_at, last, end_at) -> tuple[np.ndarray, ...]:
    """Checked (M,) arrays of the links trips start and end on and where (see
    :meth:`TrafficModel.add_vehicles`); -1 and 0 or 1 for trips between nodes."""
    out = []
    n_links = model.net.n_links
    for links, at, fill in ((first, start_at, 0.0), (last, end_at, 1.0)):
        links = np.full(m, -1, np.int64) if links is None else np.asarray(links, np.int64)
        at = np.full(m, fill) if at is None else np.asarray(at, np.float64)
        links, at = np.broadcast_to(links, (m,)).copy(), np.broadcast_to(at, (m,)).copy()
        bad = np.flatnonzero((links >= n_links) | ((links >= 0) & ~((at >= 0.0) & (at <= 1.0))))
        if bad.size:
            raise UserInputError(
                Problem(
                    f"trip {int(bad[0])}: link {int(links[bad[0]])} or point on it "
                    f"{at[bad[0]]} out of range",
                    fix="snap first (twin.traffic.demand.snap_to_links)",
                )
            )
        out += [links, at]
    return tuple(out)


def rebuild_origin_queues(model: TrafficModel) -> None:
    """Chain the waiting vehicles of every origin node by departure time (then id)."""
    v, n = model._v, model.n_vehicles
    waiting = np.flatnonzero(v.status[:n] == kern.WAITING)
    order = waiting[np.lexsort((waiting, v.t_depart[waiting], v.origin[waiting]))]
    v.queue_next[order] = -1
    same = v.origin[order[1:]] == v.origin[order[:-1]]
    v.queue_next[order[:-1][same]] = order[1:][same]
    model._orig_head[:] = -1
    if order.size:
        first = np.ones(order.size, dtype=bool)
        first[1:] = ~same
        model._orig_head[v.origin[order[first]]] = order[first]


def depart_earlier(model: TrafficModel, vehicles, departures) -> np.ndarray:
    """Move departures earlier (see :meth:`TrafficModel.depart_earlier`); the ids moved."""
    ids = np.atleast_1d(np.asarray(vehicles, dtype=np.int64))
    new = np.maximum(np.broadcast_to(np.asarray(departures, np.float64), ids.shape), model.time)
    v = model._v
    move = (
        (v.status[ids] == kern.WAITING) & (v.t_depart[ids] > model.time) & (new < v.t_depart[ids])
    )
    ids, new = ids[move], new[move]
    if ids.size:
        v.t_depart[ids] = new
        v.t_ready[ids] = new
        rebuild_origin_queues(model)
        if np.isfinite(model._routed_until):
            model._plan(until=model._routed_until, reroute=None)
    return ids


def redirect(model: TrafficModel, vehicles, destinations) -> np.ndarray:
    """Send vehicles still waiting or on their way to new destination nodes (see
    :meth:`TrafficModel.redirect`); returns the ids redirected."""
    ids = np.atleast_1d(np.asarray(vehicles, dtype=np.int64))
    dest = np.broadcast_to(np.asarray(destinations, dtype=np.int64), ids.shape)
    if np.any((dest < 0) | (dest >= model.net.n_nodes)):
        raise UserInputError(Problem("redirect: node index out of range", fix="snap first"))
    v = model._v
    live = (v.status[ids] == kern.WAITING) | (v.status[ids] == kern.ON_LINK)
    ids, dest = ids[live], dest[live]
    if ids.size == 0:
        return ids
    v.dest[ids], v.last_link[ids], v.end_at[ids] = dest, -1, 1.0
    routed = ids[v.path_id[ids] >= 0]  # the others get a path when their window is planned
    if routed.size:
        link = v.veh_link[routed]
        starts = np.where(link >= 0, model.net.link_to[np.maximum(link, 0)], v.origin[routed])
        model._assign(routed, starts, np.full(routed.size, 2, dtype=np.int8))
        if np.any(v.status[routed] == kern.STRANDED):
            rebuild_origin_queues(model)
    return ids
