"""What a crowd run records as it goes: link densities and counts on a fixed interval, the
peak density, and the time links spend above the crush density.

Measurement is kept apart from the model's logic: :class:`~twin.crowd.CrowdModel` hands
:meth:`CrowdRecords.observe` each step's densities and counts; the KPIs
(:mod:`twin.crowd.kpis`) and outputs (:mod:`twin.crowd.outputs`) read them back.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class CrowdRecords:
    """Records of a crowd run.

    Parameters
    ----------
    n_links
        Links of the walk network.
    t0
        Start time (s): the first record is taken at the first step.
    interval
        Time between records (s).
    crush_density
        Density above which a link counts as a crush risk (persons/m2).

    Attributes
    ----------
    times
        Time of each record (s).
    density
        Density of every link at each record (persons/m2), float32 arrays ``(n_links,)``.
    counts
        ``(released, arrived, stuck, walking)`` people at each record.
    max_density
        Highest link density seen at the start of a step (persons/m2).
    max_density_link
        Link where it was seen (-1: none yet).
    max_density_time
        When it was seen (s; NaN: none yet).
    crush_link_seconds
        Time each link spent above ``crush_density`` (s), shape ``(n_links,)``.
    """

    def __init__(self, n_links: int, t0: float, interval: float, crush_density: float) -> None:
        self.n_links = n_links
        self.interval = interval
        self.crush_density = crush_density
        self.times: list[float] = []
        self.density: list[np.ndarray] = []
        self.counts: list[tuple[int, int, int, int]] = []
        self.next_time = t0
        self.max_density = 0.0
        self.max_density_link = -1
        self.max_density_time = float("nan")
        self.crush_link_seconds = np.zeros(n_links)

    def observe(
        self,
        t: float,
        density: np.ndarray,
        dt: float,
        counts: Callable[[], tuple[int, int, int, int]],
    ) -> None:
        """Take in the densities of a step starting at ``t`` and lasting ``dt`` (s).

        Parameters
        ----------
        t
            Start of the step (s).
        density
            Density of every link at the start of the step (persons/m2), shape ``(n_links,)``.
        dt
            Length of the step (s).
        counts
            A function returning ``(released, arrived, stuck, walking)``, called only when a
            record is due.
        """
        if density.size:
            i = int(np.argmax(density))
            if density[i] > self.max_density:
                self.max_density, self.max_density_link = float(density[i]), i
                self.max_density_time = t
            self.crush_link_seconds += (density > self.crush_density) * dt
        if t >= self.next_time - 1e-9:
            self.times.append(t)
            self.density.append(density.astype(np.float32))
            self.counts.append(counts())
            self.next_time += self.interval

    def density_series(self) -> tuple[np.ndarray, np.ndarray]:
        """Recorded link densities: times (s), shape ``(r,)``, and densities (persons/m2),
        shape ``(r, n_links)``."""
        rows = self.density or [np.zeros(self.n_links, dtype=np.float32)]
        return np.asarray(self.times), np.vstack(rows)[: len(self.times)]
