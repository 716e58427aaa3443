"""The traffic set-up (twin/coupling/traffic_setup.py) draws its randomness from the run's
named streams (twin.random.stream), like every other part of twin."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twin.coupling.traffic_setup import traffic_from_scenario
from twin.random import stream
from twin.scenario.loader import load_scenario
from twin.traffic.demand import evacuation_trips
from twin.traffic.network import RoadNetwork

FLASH_FLOOD = Path(__file__).resolve().parents[2] / "scenarios" / "monaco_flash_flood.yaml"


def test_evacuation_departures_come_from_the_named_stream(monaco_pack):
    """The evacuating drivers leave at the times drawn from stream(seed,
    'traffic.evacuation') (it was default_rng([seed, 4]), outside the one scheme), their
    cars per building the evacuees' split (stream 'evacuation.split'); another seed gives
    other times."""
    from twin.coupling.evacuees import split_evacuees

    sc = load_scenario(FLASH_FLOOD)
    run = traffic_from_scenario(sc, monaco_pack)
    depart = run.model.trips().depart[run.evacuees]
    pack = monaco_pack.largest_component()
    net = RoadNetwork.from_links(pack.links("drive"))
    expected = evacuation_trips(
        sc.demand.evacuation,
        pack.buildings,
        net,
        pack.crs,
        stream(sc.seed, "traffic.evacuation"),
        end=sc.time.duration,
        cars=split_evacuees(pack, sc.demand.evacuation, sc.seed).cars,
    ).depart
    assert run.evacuees.size > 0
    np.testing.assert_array_equal(depart, expected)
    other = traffic_from_scenario(sc.model_copy(update={"seed": sc.seed + 1}), monaco_pack)
    assert not np.array_equal(other.model.trips().depart[other.evacuees], depart)
