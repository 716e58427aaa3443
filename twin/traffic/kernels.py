"""Pure array kernels of the traffic model: the link transmission step and queues.

Every function here takes and returns plain numpy arrays (compiled with numba); the state
they update lives in :class:`twin.traffic.model.TrafficModel`.

The link model is Newell's simplified kinematic wave theory on a triangular fundamental
diagram, written for single vehicles (the vehicle-resolved link transmission model,
Yperman 2005). Vehicle ``n`` leaves link ``a`` for link ``b`` at the earliest time ``t`` with

- ``t >= t_in_a(n) + L_a / v_a``              (no earlier than its free-flow time on ``a``),
- ``t >= t_out_a(n - 1) + 1 / q_a``           (no faster than ``a``'s outflow capacity),
- ``t >= t_in_b(n' - 1) + 1 / q_b``           (no faster than ``b``'s inflow capacity),
- ``t >= t_out_b(n' - S_b) + L_b / w_b``      (``b`` holds at most ``S_b = k_j L_b`` vehicles
  and space freed at its exit reaches its entry after the backward wave's ``L_b / w_b``:
  spillback),

where ``n'`` numbers the entries into ``b``. Times are continuous; the fixed step ``dt`` only
sets how often blocked vehicles are looked at again.

Node model: at each node the heads of the incoming links (and of the node's origin queue)
are served one at a time, earliest feasible move first; ties (all waiting for the same free
slot downstream) go to the incoming link whose own capacity clock ``t_out(n - 1) + 1 / q`` is
earliest, i.e. the link held back longest relative to its capacity. Links are FIFO: a head
that cannot move blocks the vehicles behind it.

Priority (emergency) vehicles: on entering a link with a standing queue (its head is
waiting), a priority vehicle is placed behind only ``priority_share`` of the vehicles ahead
of it on that link (the queue and those about to join it), so it bears about that share of
the queue delay; on free-flowing links it keeps its place.

Gridlock relief (as SUMO's time-to-teleport): a head that has waited more than
``stuck_time`` at the end of its link because its next link is full jumps along its path to
the first link with room (or to its destination if none has), keeping the distance and
free-flow time of the links skipped; links never hold more than their storage. Jumps are
counted per vehicle and in total, so a run reports how much it relied on them.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

#: Vehicle status codes.
WAITING = 0  # not departed yet, or in its origin queue
ON_LINK = 1
ARRIVED = 2
STRANDED = 3

INF = np.inf


# Columns of the packed per-vehicle arrays (one row per vehicle keeps a vehicle's hot
# fields in one or two cache lines).
I_STATUS, I_LINK, I_PATH, I_POS, I_QNEXT, I_PRIO, I_JUMPS = range(7)
"""Columns of ``vi`` (int64): status, current link (-1: none), path id, index in the path
of the next link, next vehicle in the same origin queue (-1: none), priority flag, number
of gridlock jumps."""
F_READY, F_DEPART, F_ARRIVE, F_DIST, F_FREE, F_FROM, F_TO, F_SHARE = range(8)
"""Columns of ``vf`` (float64): time it reaches its link's end (s), departure (s), arrival
or stranding (s), distance driven (m), free-flow time of the links driven (s), where on
its first link it starts and where on its last link it stops (shares of the link's
length from its upstream end: 0 and 1 for trips between nodes), share of its current link
it drives."""

#: Slots of the ``counters`` array of :func:`run_steps`: vehicles that arrived, gridlock
#: jumps, vehicles that left their origin queue, stranded vehicles that left the network.
C_ARRIVED, C_JUMPS, C_DEPARTED, C_LEFT_STRANDED = range(4)


class LinkArrays(NamedTuple):
    """What :func:`run_steps` reads of the network (shapes: ``L`` links, ``N`` nodes).

    ``node_in_ptr`` (N+1), ``node_in_links``: the incoming links of each node (CSR);
    ``length`` (L, m); ``base_free_time``, ``free_time`` (L, s): free-flow time without and
    with the speed factor; ``headway`` (L, s): 1 / capacity; ``wave_time`` (L, s): length /
    backward wave speed; ``store`` (L): jam storage (veh); ``hist_ptr``, ``ring_ptr``,
    ``ring_cap`` (L): where each link's exit history and FIFO start in the state arrays and
    the FIFO's room; ``closed`` (L, bool); ``orig_headway`` (N, s): each origin queue's
    tie-break headway.
    """

    node_in_ptr: np.ndarray
    node_in_links: np.ndarray
    length: np.ndarray
    base_free_time: np.ndarray
    free_time: np.ndarray
    headway: np.ndarray
    wave_time: np.ndarray
    store: np.ndarray
    hist_ptr: np.ndarray
    ring_ptr: np.ndarray
    ring_cap: np.ndarray
    closed: np.ndarray
    orig_headway: np.ndarray


class LinkState(NamedTuple):
    """The link and queue state :func:`run_steps` updates in place.

    ``ring``: each link's FIFO of vehicle ids; ``exit_hist``: exit times (s) of each link's
    last ``store`` leavers; ``n_in``, ``n_out`` (L): entries and exits so far; ``last_in``,
    ``last_out`` (L, s): time of the latest; ``head_ready``, ``head_next`` (L): the head
    vehicle's ready time (s) and next link (see :func:`refresh_heads`); ``orig_head`` (N):
    first vehicle of each node's origin queue (-1: empty); ``orig_last`` (N, s): its latest
    release; ``counters``: slots ``C_*``.
    """

    ring: np.ndarray
    exit_hist: np.ndarray
    n_in: np.ndarray
    n_out: np.ndarray
    last_in: np.ndarray
    last_out: np.ndarray
    head_ready: np.ndarray
    head_next: np.ndarray
    orig_head: np.ndarray
    orig_last: np.ndarray
    counters: np.ndarray


class VehicleArrays(NamedTuple):
    """The vehicles :func:`run_steps` moves: ``vi`` (V, 7), ``vf`` (V, 8) packed arrays
    (columns ``I_*``, ``F_*``); path ``p`` is ``path_links[path_ptr[p]:path_ptr[p+1]]``."""

    vi: np.ndarray
    vf: np.ndarray
    path_ptr: np.ndarray
    path_links: np.ndarray


@numba.njit(cache=True, inline="always")
def _next_link(v, vi, path_ptr, path_links):
    """Next link of vehicle ``v`` (-1: it leaves the network at the end of this one)."""
    if vi[v, I_STATUS] == STRANDED:
        return -1
    p = vi[v, I_PATH]
    k = path_ptr[p] + vi[v, I_POS]
    return path_links[k] if k < path_ptr[p + 1] else -1


@numba.njit(cache=True, inline="always")
def _set_head(
    a, ring, ring_ptr, ring_cap, n_in, n_out, vi, vf, path_ptr, path_links, head_ready, head_next
):
    if n_in[a] == n_out[a]:
        head_ready[a] = INF
        head_next[a] = -1
        return
    v = ring[ring_ptr[a] + n_out[a] % ring_cap[a]]
    head_ready[a] = vf[v, F_READY]
    head_next[a] = _next_link(v, vi, path_ptr, path_links)


@numba.njit(cache=True)
def refresh_heads(
    ring, ring_ptr, ring_cap, n_in, n_out, vi, vf, path_ptr, path_links, head_ready, head_next
):
    """Fill the per-link cache (L,) of the head vehicle's ready time (s) and next link."""
    for a in range(ring_cap.shape[0]):
        _set_head(
            a,
            ring,
            ring_ptr,
            ring_cap,
            n_in,
            n_out,
            vi,
            vf,
            path_ptr,
            path_links,
            head_ready,
            head_next,
        )


@numba.njit(cache=True, inline="always")
def _move_time(
    t,
    a,
    nxt,
    last_out,
    headway,
    last_in,
    n_in,
    n_out,
    store,
    hist_ptr,
    exit_hist,
    wave_time,
    closed,
):
    """Earliest time (s) a head ready at ``t`` on link ``a`` (-1: origin) enters ``nxt``
    (-1: leaves the network)."""
    if a >= 0:
        t = max(t, last_out[a] + headway[a])
    if nxt < 0:
        return t
    if closed[nxt]:
        return INF
    t = max(t, last_in[nxt] + headway[nxt])
    s = store[nxt]
    n = n_in[nxt]
    if n - n_out[nxt] >= s:
        return INF
    if n >= s:
        t = max(t, exit_hist[hist_ptr[nxt] + (n - s) % s] + wave_time[nxt])
    return t


@numba.njit(cache=True, inline="always")
def _share(v, k, p0, p1, from_origin, vf):
    """Share of the link at index ``k`` of ``v``'s path (``path_links[p0:p1]``) that ``v``
    drives: from its start point if it enters from its origin queue, to its end point if
    the link is the last of its path, else all of it."""
    start = vf[v, F_FROM] if from_origin else 0.0
    end = vf[v, F_TO] if k == p1 - 1 else 1.0
    return end - start


@numba.njit(cache=True, inline="always")
def _jump_target(v, vi, path_ptr, path_links, n_in, n_out, store, closed):
    """Index in ``v``'s path of the first link after the next one with room (the path's
    length: none, go to the destination); -1 if a closed link comes first."""
    p0 = path_ptr[vi[v, I_PATH]]
    p1 = path_ptr[vi[v, I_PATH] + 1]
    for k in range(p0 + vi[v, I_POS] + 1, p1):
        c = path_links[k]
        if closed[c]:
            return -1
        if n_in[c] - n_out[c] < store[c]:
            return k - p0
    return p1 - p0


@numba.njit(cache=True)
def run_steps(t0, n_steps, dt, net, state, veh, priority_share, stuck_time):
    """Advance the network by ``n_steps`` steps of ``dt`` seconds from time ``t0`` (s).

    Moves vehicles between links, out of origin queues and out of the network at their
    destination under the constraints of the module docstring; updates the arrays of
    ``state`` (:class:`LinkState`) and ``veh`` (:class:`VehicleArrays`) in place, reading
    the network from ``net`` (:class:`LinkArrays`), and adds to ``state.counters`` (slots
    ``C_*``) the vehicles that arrived, the gridlock jumps, the vehicles released from
    their origin queue and the stranded vehicles that left the network, each counted where
    it happens (for an independent conservation check).

    A vehicle drives only part of a link when its trip starts or ends inside it: its time
    and distance there are the link's times the share (``F_FROM``, ``F_TO``) it drives.
    ``priority_share`` is the share of a standing queue a priority vehicle waits behind;
    a head waiting longer than ``stuck_time`` (s) behind a full link jumps past it.
    """
    node_in_ptr, node_in_links, length = net.node_in_ptr, net.node_in_links, net.length
    base_free_time, free_time, headway = net.base_free_time, net.free_time, net.headway
    wave_time, store, hist_ptr = net.wave_time, net.store, net.hist_ptr
    ring_ptr, ring_cap, closed, orig_headway = (
        net.ring_ptr,
        net.ring_cap,
        net.closed,
        net.orig_headway,
    )
    ring, exit_hist, n_in, n_out = state.ring, state.exit_hist, state.n_in, state.n_out
    last_in, last_out = state.last_in, state.last_out
    head_ready, head_next = state.head_ready, state.head_next
    orig_head, orig_last, counters = state.orig_head, state.orig_last, state.counters
    vi, vf, path_ptr, path_links = veh.vi, veh.vf, veh.path_ptr, veh.path_links
    n_nodes = node_in_ptr.shape[0] - 1
    for step in range(n_steps):
        t_now = t0 + step * dt
        t_end = t_now + dt
        for node in range(n_nodes):
            lo = node_in_ptr[node]
            hi = node_in_ptr[node + 1]
            while True:
                best_t = INF
                best_key = INF
                best_slot = -2  # -2: none, lo - 1: origin queue, else index in node_in_links
                best_jump = -1
                for j in range(lo - 1, hi):
                    if j < lo:
                        v = orig_head[node]
                        if v < 0 or vf[v, F_DEPART] >= t_end:
                            continue
                        a = -1
                        key = orig_last[node] + orig_headway[node]
                        ready = vf[v, F_DEPART]
                        nxt = _next_link(v, vi, path_ptr, path_links)
                    else:
                        a = node_in_links[j]
                        ready = head_ready[a]
                        if ready >= t_end:
                            continue
                        key = last_out[a] + headway[a]
                        nxt = head_next[a]
                    t = _move_time(
                        max(ready, t_now),
                        a,
                        nxt,
                        last_out,
                        headway,
                        last_in,
                        n_in,
                        n_out,
                        store,
                        hist_ptr,
                        exit_hist,
                        wave_time,
                        closed,
                    )
                    jump = -1
                    if t == INF and nxt >= 0 and t_now - ready > stuck_time and not closed[nxt]:
                        if a >= 0:
                            v = ring[ring_ptr[a] + n_out[a] % ring_cap[a]]
                        jump = _jump_target(v, vi, path_ptr, path_links, n_in, n_out, store, closed)
                        if jump >= 0:
                            t = max(ready, t_now)
                            if a >= 0:
                                t = max(t, last_out[a] + headway[a])
                    if t < best_t or (t == best_t and key < best_key):
                        best_t = t
                        best_key = key
                        best_slot = j
                        best_jump = jump
                if best_slot == -2 or best_t >= t_end:
                    break
                # move the chosen head
                from_origin = best_slot < lo
                if from_origin:
                    v = orig_head[node]
                    orig_head[node] = vi[v, I_QNEXT]
                    orig_last[node] = best_t
                    counters[C_DEPARTED] += 1
                else:
                    a = node_in_links[best_slot]
                    v = ring[ring_ptr[a] + n_out[a] % ring_cap[a]]
                    exit_hist[hist_ptr[a] + n_out[a] % store[a]] = best_t
                    n_out[a] += 1
                    last_out[a] = best_t
                    vf[v, F_DIST] += length[a] * vf[v, F_SHARE]
                    vf[v, F_FREE] += base_free_time[a] * vf[v, F_SHARE]
                    _set_head(
                        a,
                        ring,
                        ring_ptr,
                        ring_cap,
                        n_in,
                        n_out,
                        vi,
                        vf,
                        path_ptr,
                        path_links,
                        head_ready,
                        head_next,
                    )
                p0 = path_ptr[max(vi[v, I_PATH], 0)]
                p1 = path_ptr[max(vi[v, I_PATH], 0) + 1]
                if best_jump >= 0:  # gridlock relief: skip the full links ahead
                    for k in range(p0 + vi[v, I_POS], p0 + best_jump):
                        share = _share(v, k, p0, p1, from_origin and k == p0, vf)
                        vf[v, F_DIST] += length[path_links[k]] * share
                        vf[v, F_FREE] += base_free_time[path_links[k]] * share
                    from_origin = False  # its start point was on a skipped link
                    vi[v, I_POS] = best_jump
                    vi[v, I_JUMPS] += 1
                    counters[C_JUMPS] += 1
                b = _next_link(v, vi, path_ptr, path_links)
                if b < 0:
                    if vi[v, I_STATUS] != STRANDED:
                        vi[v, I_STATUS] = ARRIVED
                        counters[C_ARRIVED] += 1
                    else:
                        counters[C_LEFT_STRANDED] += 1
                    vi[v, I_LINK] = -1
                    vf[v, F_ARRIVE] = best_t
                    continue
                share = _share(v, p0 + vi[v, I_POS], p0, p1, from_origin, vf)
                vi[v, I_POS] += 1
                vi[v, I_STATUS] = ON_LINK
                vi[v, I_LINK] = b
                vf[v, F_SHARE] = share
                vf[v, F_READY] = best_t + free_time[b] * share
                last_in[b] = best_t
                s = ring_cap[b]
                base = ring_ptr[b]
                slot = n_in[b]
                n_in[b] += 1
                ring[base + slot % s] = v
                if vi[v, I_PRIO] and slot > n_out[b] and head_ready[b] < best_t:
                    # a standing queue: wait behind only a share of the vehicles ahead
                    target = n_out[b] + int(np.ceil(priority_share * (slot - n_out[b])))
                    i = slot
                    while i > target:
                        ring[base + i % s] = ring[base + (i - 1) % s]
                        i -= 1
                    ring[base + target % s] = v
                    if target > n_out[b]:  # not ready before the vehicle now ahead of it
                        w = ring[base + (target - 1) % s]
                        vf[v, F_READY] = max(vf[v, F_READY], vf[w, F_READY])
                    slot = target
                if slot == n_out[b]:
                    _set_head(
                        b,
                        ring,
                        ring_ptr,
                        ring_cap,
                        n_in,
                        n_out,
                        vi,
                        vf,
                        path_ptr,
                        path_links,
                        head_ready,
                        head_next,
                    )


@numba.njit(cache=True)
def queue_counts(t_now, ring, ring_ptr, ring_cap, n_in, n_out, vf):
    """Vehicles per link (L) that reached the link's end before ``t_now`` (s) and wait there."""
    n_links = ring_cap.shape[0]
    out = np.zeros(n_links, dtype=np.int64)
    for a in range(n_links):
        s = ring_cap[a]
        for i in range(n_out[a], n_in[a]):
            if vf[ring[ring_ptr[a] + i % s], F_READY] < t_now:
                out[a] += 1
    return out


@numba.njit(cache=True)
def count_queued(orig_head, vi):
    """Vehicles (int) in the origin queues (N heads, chained by ``vi[:, I_QNEXT]``)."""
    total = 0
    for node in range(orig_head.shape[0]):
        v = orig_head[node]
        while v >= 0:
            total += 1
            v = vi[v, I_QNEXT]
    return total


@numba.njit(cache=True)
def last_flagged(path_ptr, path_links, flagged):
    """Per path (P), the largest index within the path of a flagged link (-1 if none)."""
    n_paths = path_ptr.shape[0] - 1
    out = np.full(n_paths, -1, dtype=np.int64)
    for p in range(n_paths):
        for k in range(path_ptr[p + 1] - 1, path_ptr[p] - 1, -1):
            if flagged[path_links[k]]:
                out[p] = k - path_ptr[p]
                break
    return out


@numba.njit(cache=True)
def unrouted_before(vi, vf, n, until):
    """(n,) bool: which of the first ``n`` vehicles wait without a path and depart before
    ``until`` (s): those the next planning window routes."""
    out = np.zeros(n, dtype=np.bool_)
    for v in range(n):
        out[v] = vi[v, I_PATH] < 0 and vi[v, I_STATUS] == WAITING and vf[v, F_DEPART] < until
    return out


@numba.njit(cache=True)
def can_reroute(vi, n, path_ptr):
    """(n,) bool: which of the first ``n`` vehicles a periodic reroute looks at: those with a
    path that are waiting to depart, or on a link that is not the last of their path (on the
    last one there is nothing left to choose, and a trip ending inside it must keep it)."""
    out = np.zeros(n, dtype=np.bool_)
    for v in range(n):
        p = vi[v, I_PATH]
        if p < 0:
            continue
        status = vi[v, I_STATUS]
        if status == WAITING:
            out[v] = True
        elif status == ON_LINK:
            out[v] = path_ptr[p + 1] - path_ptr[p] > vi[v, I_POS]
    return out
