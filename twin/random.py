"""Random streams: ``stream(seed, purpose)`` is the one way twin code gets random numbers.

A run has one seed. Each purpose (``"incidents"``, ``"crowd.speeds"``, ``"demand"``...)
draws from its own :class:`numpy.random.Generator`, derived from the seed and a stable
64-bit key of the purpose's name (the first 8 bytes of its SHA-256), so

* the same (seed, purpose) gives the same numbers on every machine and Python version
  (no ``hash()``, whose value changes between processes);
* one purpose drawing more numbers (a plan with more units, a longer window) never shifts
  another purpose's numbers: common random numbers hold across plans;
* different purposes are independent streams (children of one ``SeedSequence`` with
  different spawn keys).

The derivation is ``SeedSequence(seed, spawn_key=(purpose_key(purpose),))``; it is the
one ``twin.experiment.seeds`` used before this module existed, so results did not change
when the code moved here.
"""

from __future__ import annotations

import hashlib
from numbers import Integral

import numpy as np

__all__ = ["purpose_key", "stream"]


def purpose_key(purpose: str) -> int:
    """A 64-bit number naming a purpose (first 8 bytes of its SHA-256, little-endian).

    Parameters
    ----------
    purpose
        What the numbers are for, e.g. ``"incidents"``.
    """
    return int.from_bytes(hashlib.sha256(purpose.encode()).digest()[:8], "little")


def stream(seed: int, purpose: str) -> np.random.Generator:
    """The random stream of one purpose of a run; the same (seed, purpose), the same numbers.

    Parameters
    ----------
    seed
        The run seed, a whole number 0 or more (a scenario's ``seed``, or a replication's
        seed from :func:`twin.experiment.seeds.replication_seed`).
    purpose
        What the numbers are for, e.g. ``"incidents"``; a dotted name for a part of a model
        (``"crowd.event.0"``).

    Raises
    ------
    ValueError
        If ``seed`` is negative or not a whole number, or ``purpose`` is empty.
    """
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"a run seed is a whole number 0 or more, got {seed!r}")
    if not isinstance(purpose, str) or not purpose:
        raise ValueError(f"a random stream needs a purpose (a non-empty name), got {purpose!r}")
    sequence = np.random.SeedSequence(int(seed), spawn_key=(purpose_key(purpose),))
    return np.random.default_rng(sequence)
