"""A room at 4 persons/m2 empties through a 1 m and a 2 m door.

Laboratory bottleneck experiments give specific flows of about 1.2-2.0 persons/(m s)
(e.g. Kretz et al. 2006; Seyfried et al. 2009, Transportation Science 43; Liao et al. 2014;
the SFPE design value is 1.3): the mean flow over the whole evacuation (people / clearance
time / door width) must fall in that range, and doubling the door must about double it.

Measured (400 people, seeds 0-2): 1.64 /(m s) through 1 m, 1.58 through 2 m (clearance
244 s and 126 s). JuPedSim on the same room (radius 0.15 m, benchmarks/crowd.py): 1.55 and
1.48 /(m s), clear at 257 s and 136 s.
"""

from __future__ import annotations

import numpy as np
import pytest

from twin.crowd import CrowdModel
from twin.crowd.geometry import room_with_door


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
    """People per second per metre of door within 1.2-2.0."""
    assert 1.2 <= flows[door] <= 2.0


def test_doubling_the_door_doubles_the_flow(flows):
    """Total flow through 2 m is 1.7-2.3 times that through 1 m."""
    ratio = 2.0 * flows[2.0] / flows[1.0]
    assert 1.7 <= ratio <= 2.3
