"""Larson's hypercube model (Larson 1974, Computers & OR 1): small systems, exact solution.

N units, each at home in its own district (atom); calls arrive at atom k as a Poisson stream
of rate lambda_k; the nearest free unit goes (a fixed preference list per atom); service is
exponential with rate mu; calls that find every unit busy queue first come, first served.
The test solves this continuous-time Markov chain (binary busy states plus a truncated
queue) and checks each unit's workload and the share of dispatches across districts against
simulations (mean and 99 % CI over replications). Travel times are given but tiny next to
the service time, as the hypercube model assumes.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from twin.response import (
    BackgroundDemand,
    IncidentProfile,
    MatrixTravel,
    ResponseModel,
    StationSpec,
    make_policy,
)
from twin.response.kpis import busy_times

SERVICE = 1800.0  # mean service time (s)
QUEUE_CAP = 300  # truncation of the queue in the exact solution


def preference(travel: np.ndarray) -> list[list[int]]:
    """Units by increasing travel time to each atom, ties to the lower id (unit i sits at i)."""
    n = travel.shape[0]
    return [sorted(range(n), key=lambda i: (travel[i, k], i)) for k in range(n)]


def hypercube(rates: np.ndarray, travel: np.ndarray, mu: float) -> tuple[np.ndarray, float]:
    """Exact workloads and share of inter-district dispatches (infinite-line hypercube)."""
    n = len(rates)
    prefs = preference(travel)
    busy_states = list(itertools.product((0, 1), repeat=n))
    index = {b: i for i, b in enumerate(busy_states)}
    full = index[(1,) * n]
    size = len(busy_states) + QUEUE_CAP  # queue states q = 1..QUEUE_CAP follow
    Q = np.zeros((size, size))
    lam = rates.sum()
    for b, i in index.items():
        for k in range(n):
            if i == full:
                break
            unit = next(u for u in prefs[k] if not b[u])
            Q[i, index[tuple(1 if j == unit else x for j, x in enumerate(b))]] += rates[k]
        for u in range(n):
            if b[u]:
                Q[i, index[tuple(0 if j == u else x for j, x in enumerate(b))]] += mu
    Q[full, len(busy_states)] += lam
    for q in range(1, QUEUE_CAP + 1):
        s = len(busy_states) + q - 1
        Q[s, s - 1 if q > 1 else full] += n * mu
        if q < QUEUE_CAP:
            Q[s, s + 1] += lam
    np.fill_diagonal(Q, -Q.sum(axis=1))
    A = np.vstack([Q.T, np.ones(size)])
    p = np.linalg.lstsq(A, np.r_[np.zeros(size), 1.0], rcond=None)[0]
    queued = p[len(busy_states) :].sum()
    workload = np.array([sum(p[i] for b, i in index.items() if b[u]) + queued for u in range(n)])
    inter = 0.0  # unit u's district is atom u
    for b, i in index.items():
        if i != full:
            inter += p[i] * sum(rates[k] for k in range(n) if _first(b, prefs[k]) != k)
    # a unit freed with a queue takes the oldest call, from atom k with probability lam_k/lam
    inter += queued * mu * sum(rates[k] / lam for u in range(n) for k in range(n) if k != u)
    return workload, inter / lam


def _first(busy: tuple[int, ...], prefs: list[int]) -> int:
    return next(u for u in prefs if not busy[u])


def simulate(rates, travel, seed, calls):
    """Workloads and inter-district share of one run (first 5 % of time discarded)."""
    n = len(rates)
    profile = IncidentProfile({"ambulance": 1}, (1.0, 0.0, 0.0), SERVICE, 1.0, 0.0)
    model = ResponseModel(
        MatrixTravel(travel),
        [StationSpec(f"district {i}", i, {"ambulance": 1}) for i in range(n)],
        policy=make_policy("nearest"),
        seed=seed,
        background=BackgroundDemand({"medical": rates.sum()}, rates),
        profiles={"medical": profile},
        coverage_interval=None,
    )
    horizon = calls / rates.sum()
    model.run(horizon)
    start = 0.05 * horizon
    workload = busy_times(model.events, n, start, horizon) / (horizon - start)
    node = {i.id: i.node for i in model.incidents}
    sent = [
        (ev.unit, node[ev.incident])
        for ev in model.events
        if ev.event == "state" and ev.detail == "dispatched" and ev.time >= start
    ]
    inter = np.mean([u != k for u, k in sent])
    return workload, inter


def ci(samples: np.ndarray, level: float = 0.99) -> tuple[np.ndarray, np.ndarray]:
    """Confidence interval of the mean over replications (rows)."""
    mean = samples.mean(axis=0)
    half = stats.t.ppf(0.5 + level / 2, len(samples) - 1) * samples.std(axis=0, ddof=1)
    return mean - half / math.sqrt(len(samples)), mean + half / math.sqrt(len(samples))


TWO = (np.array([1.0, 0.3]) / 3600.0, np.array([[0.0, 1.0], [1.0, 0.0]]))
THREE = (
    np.array([0.9, 0.5, 0.2]) / 3600.0,
    np.array([[0.0, 1.0, 2.0], [1.5, 0.0, 1.0], [2.5, 1.0, 0.0]]),
)


@pytest.mark.parametrize(("rates", "travel"), [TWO, THREE], ids=["2-units", "3-units"])
def test_hypercube_workloads_and_cross_dispatches(rates, travel):
    """Simulated workloads and inter-district share lie in the 99 % CI around the exact
    hypercube solution; the chosen systems are unbalanced, so workloads differ by unit."""
    exact_load, exact_inter = hypercube(rates, travel, 1.0 / SERVICE)
    runs = [simulate(rates, travel, seed, 3000) for seed in range(10)]
    loads = np.array([r[0] for r in runs])
    inters = np.array([[r[1]] for r in runs])
    low, high = ci(loads)
    assert np.all((low <= exact_load) & (exact_load <= high)), (loads.mean(0), exact_load)
    (ilow,), (ihigh,) = ci(inters)
    assert ilow <= exact_inter <= ihigh, (inters.mean(), exact_inter)
    assert np.ptp(exact_load) > 0.05  # the check can tell units apart
    assert np.all(high - low < 0.05)
    assert ihigh - ilow < 0.05
