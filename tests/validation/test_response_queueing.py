"""One station, c units, Poisson calls, exponential service, zero travel: an M/M/c queue.

The probability that a call waits and the mean wait must match Erlang C within the 99 %
confidence interval of a long run (batch means over calls, warm-up discarded).
"""

from __future__ import annotations

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

SERVICE = 600.0  # mean on-scene time (s)
BATCHES = 20


def erlang_c(c: int, load: float) -> tuple[float, float]:
    """P(wait > 0) and mean wait (in units of the mean service time) of M/M/c at load a."""
    head = sum(load**k / math.factorial(k) for k in range(c))
    tail = load**c / math.factorial(c) * c / (c - load)
    p_wait = tail / (head + tail)
    return p_wait, p_wait / (c - load)


def simulate_waits(c: int, rho: float, calls: int, seed: int = 11) -> np.ndarray:
    """Waits (s) of ``calls`` calls to one station of ``c`` ambulances at utilisation rho."""
    rate = rho * c / SERVICE
    profile = IncidentProfile({"ambulance": 1}, (1.0, 0.0, 0.0), SERVICE, 1.0, 0.0)
    model = ResponseModel(
        MatrixTravel(np.zeros((1, 1))),
        [StationSpec("only", 0, {"ambulance": c})],
        policy=make_policy("nearest"),
        seed=seed,
        background=BackgroundDemand({"medical": rate}, np.ones(1)),
        profiles={"medical": profile},
        coverage_interval=None,
    )
    model.run(calls / rate)
    waits = [i.response_time for i in model.incidents]
    served = np.array([w for w in waits if w is not None])
    return served[len(served) // 20 :]  # drop the first 5 % (warm-up from empty)


def batch_ci(values: np.ndarray, level: float = 0.99) -> tuple[float, float, float]:
    """Mean and confidence interval by batch means."""
    means = np.array([b.mean() for b in np.array_split(values, BATCHES)])
    half = stats.t.ppf(0.5 + level / 2, BATCHES - 1) * means.std(ddof=1) / math.sqrt(BATCHES)
    return float(means.mean()), float(means.mean() - half), float(means.mean() + half)


CASES = [
    pytest.param(1, 0.5, 40_000, id="c1-rho0.5"),
    pytest.param(2, 0.5, 40_000, id="c2-rho0.5"),
    pytest.param(5, 0.5, 40_000, id="c5-rho0.5"),
    pytest.param(1, 0.9, 200_000, id="c1-rho0.9", marks=pytest.mark.slow),
    pytest.param(2, 0.9, 200_000, id="c2-rho0.9", marks=pytest.mark.slow),
    pytest.param(5, 0.9, 150_000, id="c5-rho0.9", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("c", "rho", "calls"), CASES)
def test_erlang_c(c, rho, calls):
    """P(wait) and mean wait of M/M/c fall inside the simulation's 99 % CI."""
    p_theory, wait_theory = erlang_c(c, rho * c)
    waits = simulate_waits(c, rho, calls)
    p_mean, p_low, p_high = batch_ci((waits > 0).astype(float))
    w_mean, w_low, w_high = batch_ci(waits / SERVICE)
    assert p_low <= p_theory <= p_high, (p_mean, p_theory)
    assert w_low <= wait_theory <= w_high, (w_mean, wait_theory)
    # and the run is long enough for the check to mean something
    assert p_high - p_low < 0.1
    assert w_high - w_low < 0.6 * wait_theory
