"""Seeds and common random numbers: one seed per replication, one stream per purpose.

A study has a base seed (the scenario's ``seed``). Replication ``r`` runs with
:func:`replication_seed` ``(base, r)`` for every plan, so every plan meets the same
incidents, demand and weather draws (common random numbers, CRN). Inside a run each
purpose (``"incidents"``, ``"weather"``, ``"demand"``...) draws from its own stream,
:func:`stream` ``(seed, purpose)``, so a plan that makes one model draw more numbers does
not shift another model's draws. :func:`stream` lives in :mod:`twin.random` (the one
source of randomness) and is re-exported here; :func:`twin.response.incidents.rng_for`
derives the same streams (a test holds them equal).

Without CRN (``crn=False``, for checking what CRN buys) each plan gets its own seed per
replication, independent of the others.
"""

from __future__ import annotations

import numpy as np

from twin.random import purpose_key, stream

__all__ = ["SEED_BITS", "purpose_key", "replication_seed", "stream"]

SEED_BITS = 63
"""Run seeds are below 2**63 (they fit a signed 64-bit database column)."""


def replication_seed(base: int, replication: int, *, plan_key: str | None = None) -> int:
    """Run seed of replication ``replication`` (0-based) of a study with seed ``base``.

    Parameters
    ----------
    base
        The study's seed (0 or more).
    replication
        Replication index.
    plan_key
        ``None`` for common random numbers (the same seed for every plan); else a plan's
        hash, giving each plan an independent seed.
    """
    keys: tuple[int, ...] = (replication,)
    if plan_key is not None:
        keys += (purpose_key(f"plan:{plan_key}"),)
    state = np.random.SeedSequence(base, spawn_key=keys).generate_state(1, np.uint64)[0]
    return int(state) >> (64 - SEED_BITS)
