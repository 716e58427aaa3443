"""people_exposed: distinct people in hazardous water, each counted once (issue 14).

A real crowd walks a one-way corridor of three 200 m links; the middle one is flooded
(rated above the hazard rating, as the exchange rates it), and the exchange samples who is
where every 60 s. Twenty walkers cross the flooded link, ten stop before it: exactly 20
people were exposed, although the walkers in hazard at one exchange are fewer (they cross
at different times) and the person-minutes are more (each is seen more than once).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin.coupling.walkers import (
    WalkerRules,
    hazard_rating,
    stranded_occupants,
    walkers_in_hazard,
)
from twin.crowd import CrowdModel
from twin.crowd.geometry import corridor

ROOT = Path(__file__).resolve().parents[2]
CROSS, STOP = 20, 10  # walkers crossing the flooded link, walkers stopping before it
EXCHANGE = 60.0  # s, the coupled run's default interval


def _exchanges():
    """Flags and per-exchange counts of the corridor walk (see the module notes)."""
    net = corridor(600.0, 2.0, link_length=200.0)  # links 0-1-2, nodes 0..3 along x
    assert net.n_links == 3
    model = CrowdModel(net, np.random.default_rng(5))
    model.add_destinations([3], [1000], ["far end"], group="far")
    model.add_destinations([1], [1000], ["near"], group="near")
    far = model.add_people(np.zeros(CROSS, int), np.linspace(0, 600, CROSS), group="far")
    near = model.add_people(np.zeros(STOP, int), np.linspace(0, 300, STOP), group="near")
    # 0.4 m of water at 1 m/s on the middle link: urban HR 0.4 x 1.5 + 1 = 1.6 (the
    # crowd itself is not told, so nobody is kept off it: the flags alone are tested)
    rating = hazard_rating(np.array([0.0, 0.4, 0.0]), np.array([0.0, 1.0, 0.0]))
    flags = np.zeros(CROSS + STOP, dtype=bool)
    counts = []
    t = 0.0
    while t < 1800.0:
        t += EXCHANGE
        model.advance_to(t)
        now = walkers_in_hazard(model.status, model.link, rating, WalkerRules())
        counts.append(int(now.sum()))
        flags |= now
    return model, far, near, flags, np.array(counts)


def test_walkers_crossing_one_flooded_link_are_counted_once_each():
    """All 20 crossing walkers are flagged, none of the 10 who stop before the water; every
    walker arrived, and the count is neither the peak nor the sampled person-minutes."""
    model, far, near, flags, counts = _exchanges()
    assert model.counts()["arrived"] == CROSS + STOP
    assert flags[far].all()
    assert not flags[near].any()
    assert int(flags.sum()) == CROSS
    assert counts.max() < CROSS  # the peak in hazard would undercount
    assert counts.sum() > CROSS  # person-minutes (people x 1 min samples) would overcount


def test_the_rule_is_the_people_in_hazard_count_person_by_person():
    """Summed over people, the flags of one exchange are the people_in_hazard vital sign's
    count: people on links rated at least the hazard rating (0.75; a link at exactly 0.75
    counts, one at 0.74 does not); people not walking a link are never in hazard."""
    status = np.array([2, 2, 2, 1, 3, 0])  # on link x3, at a node, arrived, pending
    link = np.array([0, 1, 2, 1, 1, 1])
    rating = np.array([0.75, 0.74, 2.0])
    got = walkers_in_hazard(status, link, rating, WalkerRules())
    np.testing.assert_array_equal(got, [True, False, True, False, False, False])
    count = np.bincount(link[status == 2], minlength=3)
    assert got.sum() == count[rating >= 0.75].sum()
    assert walkers_in_hazard(status, link, rating, WalkerRules(hazard_rating=1.0)).sum() == 1


def test_stranded_cars_count_their_evacuees_and_other_vehicles_their_driver():
    """Vehicles 0 and 2 are evacuating cars with 3 and 4 people; 1, 3 and 4 are other
    traffic. Stranded: 0, 2 and 3 -> 3 + 4 + 1 = 8 people; vehicle 4 came after the
    stranded flags grew (an evacuating car index beyond them is ignored)."""
    stranded = np.array([True, False, True, True])
    assert stranded_occupants(stranded, np.array([0, 2, 7]), np.array([3, 4, 5])) == 8.0
    assert stranded_occupants(np.zeros(4, bool), np.array([0]), np.array([3])) == 0.0


def test_people_exposed_is_a_vital_sign_and_a_coupled_kpi_with_units():
    """The vital sign carries its unit, the KPI its definition, and the coupled runner
    reports it (a scenario weighting it gets a score)."""
    from twin.experiment.runners import CoupledRunner
    from twin.metrics.kpis import KPIS
    from twin.metrics.vitals import COUPLED_KPIS, VITALS, column

    vital = next(v for v in VITALS if v.name == "people_exposed")
    assert column(vital) == "people_exposed [people]"
    assert COUPLED_KPIS["people_exposed"][0] == "people"
    assert KPIS["people_exposed"].unit == "count"
    assert "people_exposed" in CoupledRunner.kpis


@pytest.mark.parametrize("last", [0.0, 7.0])
def test_the_kpi_is_the_last_vital_sign(last):
    """The KPI is the count at the end of the run (the flags are never unset)."""
    from twin.metrics.vitals import coupled_kpis

    row = {"people_in_hazard": 0.0, "people_out_of_zone": 0.0, "vehicles_stranded": 0.0,
           "km_closed_cars": 0.0, "network_speed_index": 1.0}  # fmt: skip
    rows = [{**row, "people_exposed": 0.0}, {**row, "people_exposed": last}]
    out = coupled_kpis([0.0, 60.0], rows, evacuees=0, shelter_overflow=0,
                       vehicle_hours_lost=0, hazard_calls=0)  # fmt: skip
    assert out["people_exposed"] == last


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_the_coupled_runner_scores_every_shipped_scenario(path):
    """Every KPI a shipped scenario weights is reported by the coupled runner (`twin run`,
    the demo, `--model coupled`), so the weighted score is computed, not left out with a
    note (the flash flood and the levee weigh people_exposed, which it lacked)."""
    from twin.experiment.runners import CoupledRunner
    from twin.experiment.study import study_objectives
    from twin.scenario.loader import load_scenario

    scenario = load_scenario(path)
    _, weights, notes = study_objectives(scenario, CoupledRunner())
    assert set(weights) == set(scenario.objectives.weights)
    assert not [n for n in notes if "left out" in n]
