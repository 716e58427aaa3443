"""Every shipped plan runs against every scenario it is meant for: those that list it under
`plans:`, and those its header or the docs name (:data:`ALSO`). A plan no scenario is
meant for fails the test, so a new plan gets a pairing.

A scenario with traffic demand runs on the coupled twin (what `twin run` builds), from the
files, over its first 2 min (the set-up is where a plan and a scenario disagree: a missing
shelter, a station off the map, an action the run cannot carry out), Monaco's flood on a
30 m grid, the synthetic valley's on 20 m. A scenario without any (no trips, OD flows or
evacuation by car) cannot build the coupled twin's traffic today; its pairs run on the
response model (`twin respond`, `twin compare`'s default), checked and run to the end, and
the coupled run of the two hazard scenarios among them is an expected failure, as is the
night collapse with the baseline plan it lists (:data:`REFUSED`).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from twin.errors import UserInputError

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
PLANS = SCENARIOS / "plans"
UNTIL = 120.0  # s: two exchanges

ALSO = {
    # the busy day's header: "plans/monaco_tiered.yaml ... can be added with --plan";
    # the flash flood: its README line and `twin run ... --plan monaco_tiered.yaml`
    "monaco_tiered.yaml": ("monaco_busy_day.yaml", "monaco_flash_flood.yaml"),
    # the demo's early warning, compared on the flash flood (twin/cli/demo_cmds.py)
    "monaco_early_warning.yaml": ("monaco_flash_flood.yaml",),
}
"""Pairings no scenario's `plans:` lists: plan file -> scenario files."""


def _pairs() -> list[tuple[str, str]]:
    from twin.scenario.loader import load_scenario

    pairs = set()
    for path in sorted(SCENARIOS.glob("*.yaml")):
        for plan in load_scenario(path).plans:
            pairs.add((path.name, Path(plan).name))
    for plan, scenarios in ALSO.items():
        pairs.update((s, plan) for s in scenarios)
    return sorted(pairs)


PAIRS = _pairs()


def test_every_shipped_plan_has_a_scenario():
    """Each file of scenarios/plans is paired with at least one scenario."""
    paired = {plan for _, plan in PAIRS}
    assert sorted(p.name for p in PLANS.glob("*.yaml")) == sorted(paired)


@pytest.fixture(scope="module")
def valley_maps(tmp_path_factory):
    """The synthetic valley generated into a maps folder (the levee scenario's city)."""
    from twin.city.synthetic import generate

    maps = tmp_path_factory.mktemp("maps")
    generate("valley", maps)
    return maps


def _has_traffic(scenario: str) -> bool:
    from twin.scenario.loader import load_scenario

    d = load_scenario(SCENARIOS / scenario).demand
    cars = d.evacuation is not None and d.evacuation.car_share > 0
    return d.trips is not None or bool(d.od) or bool(d.od_matrix) or cars


def _coupled(scenario: str, plan: str, request, monkeypatch, tmp_path) -> None:
    """Build the coupled twin from the files and run it 2 min."""
    from twin.model import CityTwin

    if scenario.startswith("valley"):
        monkeypatch.setenv("TWIN_MAPS", str(request.getfixturevalue("valley_maps")))
        monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "cache"))
        resolution = 20.0
    else:
        request.getfixturevalue("monaco_env")  # the maps, a module cache (one pack build)
        resolution = 30.0
    twin = CityTwin.from_files(
        SCENARIOS / scenario, PLANS / plan, seed=1, resolution=resolution, until=UNTIL
    )
    kpis = twin.run()
    assert twin.now == UNTIL
    assert kpis["people_exposed"] >= 0
    assert not math.isnan(kpis["person_minutes_in_hazard"])


REFUSED = {
    ("monaco_night_collapse.yaml", "monaco_baseline.yaml"): (
        "the scenario lists the baseline plan, whose rescue boat the response model refuses "
        "where no incident needs one (stations[0].units.rescue_boat)"
    ),
}
"""Known mismatches between a scenario and a plan it lists: pair -> the refusal."""


def _param(scenario: str, plan: str):
    reason = REFUSED.get((scenario, plan))
    marks = [pytest.mark.xfail(strict=True, raises=UserInputError, reason=reason)] if reason else []
    return pytest.param(scenario, plan, marks=marks, id=f"{scenario}+{plan}")


@pytest.mark.slow
@pytest.mark.parametrize(("scenario", "plan"), [_param(s, p) for s, p in PAIRS])
def test_the_plan_runs_on_its_scenario(scenario, plan, request, monkeypatch, tmp_path):
    """Coupled: built and stepped 2 min, every coupled KPI present (people_exposed a count
    >= 0). Response model: the plan passes the runner's check and a replication reports a
    call count."""
    if _has_traffic(scenario):
        _coupled(scenario, plan, request, monkeypatch, tmp_path)
        return
    from twin.coupling.city_setup import scenario_city
    from twin.experiment.runners import ResponseRunner
    from twin.scenario.loader import load_plan, load_scenario

    request.getfixturevalue("monaco_env")
    sc = load_scenario(SCENARIOS / scenario)
    runner = ResponseRunner()
    prepared = runner.prepare(scenario_city(sc))
    runner.check(sc, load_plan(PLANS / plan), PLANS / plan, prepared)
    out = runner.run(sc, load_plan(PLANS / plan), 1, prepared, series=False)
    assert out.kpis["incidents"] >= 0


NO_TRAFFIC_HAZARDS = [
    ("monaco_night_collapse.yaml", "monaco_baseline.yaml"),
    ("monaco_typhoon_surge.yaml", "monaco_baseline.yaml"),
]


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    raises=UserInputError,
    reason="the coupled twin needs traffic demand and these hazard scenarios have none "
    "('the scenario sends no vehicle'); tests borrow the flash flood's demand",
)
@pytest.mark.parametrize(("scenario", "plan"), NO_TRAFFIC_HAZARDS)
def test_hazard_scenarios_without_traffic_run_coupled(
    scenario, plan, request, monkeypatch, tmp_path
):
    """Known gap: `twin run` of the night collapse and the typhoon as shipped."""
    assert not _has_traffic(scenario)
    _coupled(scenario, plan, request, monkeypatch, tmp_path)
