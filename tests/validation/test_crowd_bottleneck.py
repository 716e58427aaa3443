"""A room at 4 persons/m2 empties through a 1 m and a 2 m door.

Laboratory bottleneck experiments give specific flows of about 1.2-2.0 persons/(m s)
(e.g. Kretz et al. 2006; Seyfried et al. 2009, Transportation Science 43; Liao et al. 2014;
the SFPE design value is 1.3): the mean flow over the whole evacuation (people / clearance
time / door width) must fall in that range, and doubling the door must about double it.

Measured (400 people, median of seeds 0-2): 1.65 /(m s) through 1 m, 1.59 through 2 m
(clearance about 243 s and 125 s); total flow through 2 m is 1.94 times that through 1 m.
The tests hold the model to these values within 5 %: seeds 0-5 spread by 1.5 % around them,
and a 5 % change (let alone a 20 % drop, which the published range alone would let pass)
means the model changed. JuPedSim on the same room (radius 0.15 m, benchmarks/crowd.py):
1.55 and 1.48 /(m s), clear at 257 s and 136 s.
"""

from __future__ import annotations

import numpy as np
import pytest

from twin.crowd import CrowdModel
from twin.crowd.geometry import room_with_door

MEASURED = {1.0: 1.65, 2.0: 1.59}
"""Median specific flow by door width (persons/(m s)), seeds 0-2."""
MEASURED_RATIO = 1.94
"""Total flow through the 2 m door over that through the 1 m door."""
MARGIN = 0.05
"""Relative margin around the measured values (seed spread 1.5 %)."""


def evacuate(people: int, door: float, seed: int) -> float:
    """Clearance time (s) of ``people`` at 4 /m2 through a ``door`` (m)."""
    room = room_with_door(people, 4.0, door)
    model = CrowdModel(room.net, np.random.default_rng(seed))
    model.add_destinations([room.exit_node], group="exit")
    pos = np.random.default_rng(seed + 100).uniform(0, room.side, people)
    model.place_people(np.zeros(people, dtype=int), pos, group="exit")
    model.advance_to(1000.0, dt=0.1)
    k = model.kpis()
    assert k.counts["arrived"] == people
    return k.clearance["t100"]


@pytest.fixture(scope="module")
def flows():
    """Median specific flow (persons/(m s)) by door width over three seeds."""
    return {
        door: float(np.median([400 / evacuate(400, door, s) / door for s in range(3)]))
        for door in (1.0, 2.0)
    }


@pytest.mark.parametrize("door", [1.0, 2.0])
def test_specific_flow_in_published_range(flows, door):
    """People per second per metre of door within 1.2-2.0, and within 5 % of the measured
    value the notes state."""
    assert 1.2 <= flows[door] <= 2.0
    assert flows[door] == pytest.approx(MEASURED[door], rel=MARGIN)


def test_doubling_the_door_doubles_the_flow(flows):
    """Total flow through 2 m is 1.94 times that through 1 m, within 5 %."""
    ratio = 2.0 * flows[2.0] / flows[1.0]
    assert ratio == pytest.approx(MEASURED_RATIO, rel=MARGIN)
