"""Seeds: common random numbers across plans, one stream per purpose."""

from __future__ import annotations

import numpy as np

from twin.experiment.seeds import replication_seed, stream
from twin.response.incidents import rng_for


def test_stream_is_the_response_models_stream():
    """The experiment layer and the response model derive purpose streams the same way."""
    for seed in (0, 7, 2**62):
        for purpose in ("incidents", "hazards", "scripted"):
            assert np.array_equal(stream(seed, purpose).random(5), rng_for(seed, purpose).random(5))


def test_purposes_are_independent():
    """Different purposes of one seed give different numbers."""
    assert not np.array_equal(stream(1, "incidents").random(4), stream(1, "weather").random(4))


def test_crn_seeds_are_shared_by_plans():
    """With CRN every plan gets the replication's seed; without, each plan its own."""
    assert replication_seed(5, 3) == replication_seed(5, 3)
    assert replication_seed(5, 3, plan_key="a") != replication_seed(5, 3, plan_key="b")
    seeds = {replication_seed(5, r) for r in range(100)}
    assert len(seeds) == 100
    assert all(0 <= s < 2**63 for s in seeds)
