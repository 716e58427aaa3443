"""twin: a city digital twin for emergencies.

City packs built from OpenStreetMap and terrain, scenario and plan files, flood, traffic,
crowd and response models, and replicated plan comparisons. The Python API (the CLI calls
the same functions)::

    import twin

    city = twin.load_city("monaco")                       # CityPack (cached build)
    scenario = twin.load_scenario("scenarios/monaco_busy_day.yaml")
    out = twin.run(scenario, seed=1)                      # one run: out.kpis
    result = twin.compare("scenarios/monaco_busy_day.yaml", n=5, seed=1)
    result.means("response_time_p90")                     # mean by plan (s)
    rates = {"incidents.background.medical": [0.5, 1.0]}
    twin.sweep("scenarios/monaco_busy_day.yaml", params=rates, n=3)

The verbs are imported on first use, so ``import twin`` stays fast (no numpy, pandas or
model code until a verb is called).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twin.experiment.api import compare, load_city, run, sweep
    from twin.scenario.loader import load_plan, load_scenario

_LAZY = {
    "load_city": "twin.experiment.api",
    "load_scenario": "twin.scenario.loader",
    "load_plan": "twin.scenario.loader",
    "run": "twin.experiment.api",
    "compare": "twin.experiment.api",
    "sweep": "twin.experiment.api",
}
"""Public verb -> the module that defines it (imported when the verb is first used)."""

__all__ = ["__version__", "compare", "load_city", "load_plan", "load_scenario", "run", "sweep"]


def __getattr__(name: str) -> Any:
    if name == "__version__":  # the installed distribution's (written only in pyproject)
        from twin.versions import twin_version

        globals()[name] = twin_version()
        return globals()[name]
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'twin' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, "__version__"})
