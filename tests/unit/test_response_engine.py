"""`twin respond` runs the response model on the engine with one environment: the engine's
clock is the model's SimPy environment (twin.coupling.response_setup.run_response)."""

from __future__ import annotations

from pathlib import Path

from twin.coupling.response_setup import build_response, run_response
from twin.engine.run import Callback
from twin.scenario.loader import load_plan, load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_the_clock_is_the_models_environment(monaco_pack):
    """At every stop the run's clock holds the model's own environment, at the stop's time;
    the run ends with the model's environment at the end time (a second environment would
    leave the clock and the model each with its own)."""
    sc = load_scenario(SCENARIOS / "monaco_busy_day.yaml")
    plan = load_plan(SCENARIOS / "plans" / "monaco_tiered.yaml")
    model = build_response(sc, plan, monaco_pack, seed=1)
    seen = []

    def check(t, run):
        seen.append((t, run.clock.env is model.env, float(model.env.now)))

    result = run_response(model, 3600.0, stops=6, observers=[Callback(check)])
    assert result.time == 3600.0
    assert model.env.now == 3600.0
    assert [t for t, _, _ in seen] == [600.0, 1200.0, 1800.0, 2400.0, 3000.0, 3600.0]
    assert all(same and now == t for t, same, now in seen)
