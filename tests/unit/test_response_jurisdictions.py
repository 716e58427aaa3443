"""Jurisdictions from a plan file: areas on the road graph, derived neighbours, and refusals
of bad input with file, line, field and a fix."""

from __future__ import annotations

import textwrap
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from twin.coupling.response_setup import build_response
from twin.errors import ScenarioError
from twin.response.network import CityNetwork
from twin.scenario import load_plan
from twin.scenario.schema import Scenario

EXAMPLE = Path(__file__).parents[2] / "scenarios" / "plans" / "monaco_tiered.yaml"

DAY = Scenario.model_validate(
    {
        "version": 1,
        "name": "day",
        "city": {"name": "monaco"},
        "time": {"duration": 86400},
        "seed": 3,
        "incidents": {
            "background": {"medical": 0.6, "traffic_accident": 0.1, "fire": 0.05, "police": 0.2}
        },
    }
)

STATIONS = """\
stations:
  - {name: A, location: [7.4205, 43.7345], units: {ambulance: 1}}
  - {name: B, location: [7.4160, 43.7295], units: {ambulance: 1}}
"""


def write(tmp_path, jurisdictions: str, stations: str = STATIONS) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(
        "version: 1\nkind: plan\nname: t\n"  # lines 1-3
        + stations  # lines 4-6
        + "dispatch: {policy: tiered}\n"  # line 7
        + "jurisdictions:\n"  # line 8
        + textwrap.indent(textwrap.dedent(jurisdictions), "  ")
    )
    return path


def refusal(path: Path):
    with pytest.raises(ScenarioError) as info:
        load_plan(path)
    (problem,) = info.value.problems
    return problem


@pytest.fixture(scope="module")
def net(monaco_pack):
    return CityNetwork.from_pack(monaco_pack)


@pytest.fixture(scope="module")
def example(monaco_pack, net):
    plan = load_plan(EXAMPLE)
    model = build_response(DAY, plan, monaco_pack, network=net, allow_unneeded_units=True)
    return model, model.policy.jurisdictions


def test_example_areas(example, net):
    """Every road node has a home; the districts split at 43.737 N; Larvotto is a circle of
    400 m; the city keeps nothing of its own (West and East tile the map)."""
    model, juris = example
    names = [j.name for j in juris.items]
    home = np.array(names, dtype=object)[juris.home]
    assert (juris.home >= 0).all()
    from pyproj import Transformer

    _lon, lat = Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True).transform(
        *net.travel.xy.T
    )
    assert set(home[lat > 43.7371]) == {"Monte-Carlo", "Larvotto"}  # the border is
    assert set(home[lat < 43.7369]) == {"Fontvieille", "Condamine"}  # straight in UTM
    centre = net.snap((7.4350, 43.7487))[0]
    assert home[centre] == "Larvotto"
    assert Counter(home)["Larvotto"] < Counter(home)["Monte-Carlo"]
    assert [home[s.node] for s in model.stations] == [
        "Condamine",
        "Condamine",
        "Fontvieille",
        "Monte-Carlo",
        "Larvotto",
    ]


def test_example_neighbours_share_a_street_border(example):
    """Neighbours come from road links across borders, at the same tier only."""
    _, juris = example
    by_name = {j.name: j for j in juris.items}

    def near(name):
        return {juris.items[k].name for k in by_name[name].neighbours}

    assert near("West") == {"East"}
    assert near("Condamine") == {"Fontvieille", "Monte-Carlo"}
    assert near("Larvotto") == set()


def test_example_day_is_served_and_climbs(example):
    """A day of calls: all served, the log replays, and calls escalated (logged)."""
    model, _ = example
    kpis = model.run(86400.0)
    assert kpis.served == kpis.incidents > 30
    assert model.replay() == kpis
    assert any(e.event == "escalate" for e in model.events)


def test_area_without_roads_is_refused(tmp_path, monaco_pack, net):
    """A circle at sea holds no road node: refused at its line, naming the jurisdiction."""
    path = write(
        tmp_path,
        """\
        - {name: City, tier: city, stations: [A]}
        - name: Sea
          tier: street
          parent: City
          area: {center: [7.440, 43.725], radius: 100 m}
          stations: [B]
        """,
    )
    with pytest.raises(ScenarioError) as info:
        build_response(DAY, load_plan(path), monaco_pack, network=net, plan_file=path)
    (problem,) = info.value.problems
    assert problem.field == "jurisdictions[1].area"
    assert problem.line == 13
    assert "Sea" in problem.message
    assert "no road" in problem.message


def test_station_in_no_jurisdiction(tmp_path):
    path = write(tmp_path, "- {name: City, tier: city, stations: [A]}\n")
    problem = refusal(path)
    assert (problem.field, problem.line) == ("stations[1].name", 6)
    assert "'B' belongs to no jurisdiction" in problem.message
    assert "stations" in problem.fix


def test_unknown_parent(tmp_path):
    path = write(
        tmp_path,
        """\
        - {name: City, tier: city, stations: [A]}
        - {name: Port, tier: street, parent: Harbour, stations: [B]}
        """,
    )
    problem = refusal(path)
    assert (problem.field, problem.line) == ("jurisdictions[1].parent", 10)
    assert "'Harbour'" in problem.message
    assert "City, Port" in problem.message


def test_unknown_station(tmp_path):
    path = write(tmp_path, "- {name: City, tier: city, stations: [A, B, C]}\n")
    problem = refusal(path)
    assert problem.field == "jurisdictions[0].stations[2]"
    assert "'C'" in problem.message
    assert "A, B" in problem.message


def test_station_owned_twice(tmp_path):
    path = write(
        tmp_path,
        """\
        - {name: City, tier: city, stations: [A, B]}
        - {name: Port, tier: street, parent: City, stations: [B]}
        """,
    )
    problem = refusal(path)
    assert problem.field == "jurisdictions[1].stations[0]"
    assert "both 'City' and 'Port'" in problem.message


def test_parent_must_be_a_higher_tier(tmp_path):
    path = write(
        tmp_path,
        """\
        - {name: Port, tier: street, stations: [A]}
        - {name: Quay, tier: district, parent: Port, stations: [B]}
        """,
    )
    problem = refusal(path)
    assert problem.field == "jurisdictions[1].parent"
    assert "community < street < district < city" in problem.fix


def test_unknown_neighbour(tmp_path):
    path = write(tmp_path, "- {name: City, tier: city, stations: [A, B], neighbours: [Nice]}\n")
    problem = refusal(path)
    assert problem.field == "jurisdictions[0].neighbours[0]"
    assert "'Nice'" in problem.message


def test_unknown_tier(tmp_path):
    path = write(tmp_path, "- {name: City, tier: county, stations: [A, B]}\n")
    problem = refusal(path)
    assert problem.field == "jurisdictions[0].tier"
    assert "community" in problem.message + problem.fix


def test_circle_needs_a_radius(tmp_path):
    path = write(
        tmp_path,
        """\
        - name: City
          tier: city
          stations: [A, B]
          area: {center: [7.42, 43.73]}
        """,
    )
    problem = refusal(path)
    assert problem.field == "jurisdictions[0].area.radius"
    assert "radius" in problem.fix


def test_two_jurisdictions_cannot_both_cover_the_map(tmp_path):
    path = write(
        tmp_path,
        """\
        - {name: Monaco, tier: city, stations: [A]}
        - {name: Nice, tier: city, stations: [B]}
        """,
    )
    problem = refusal(path)
    assert problem.field == "jurisdictions[1].area"
    assert "whole map" in problem.message


def test_child_without_area_or_stations(tmp_path):
    path = write(
        tmp_path,
        """\
        - {name: City, tier: city, stations: [A, B]}
        - {name: Empty, tier: street, parent: City}
        """,
    )
    problem = refusal(path)
    assert problem.field == "jurisdictions[1]"
    assert "neither an area nor stations" in problem.message
