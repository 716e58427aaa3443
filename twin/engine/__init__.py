"""The engine under every model: one clock, one component contract, one timeline, one loop.

* :mod:`twin.engine.clock`: :class:`Clock`, one :class:`simpy.Environment` for a whole run
  (seconds since the scenario start);
* :mod:`twin.engine.component`: the :class:`Component` protocol every model implements
  (``time``, ``advance_to``, declared inputs and outputs, ``snapshot``/``restore``) and
  :func:`check_component`;
* :mod:`twin.engine.timeline`: scheduled events and injects (:class:`Event`,
  :class:`Timeline`), to and from YAML/JSON;
* :mod:`twin.engine.run`: :func:`run`, the one loop, with observers (progress bar,
  writers, :class:`VitalSigns`).

The engine imports no model; the models' adapters (``twin/<model>/component.py``) import
the engine.
"""

from twin.engine.clock import Clock
from twin.engine.component import Component, Field, check_component
from twin.engine.run import Observer, ProgressBar, Run, RunResult, VitalSigns, run
from twin.engine.timeline import Event, Timeline

__all__ = [
    "Clock",
    "Component",
    "Event",
    "Field",
    "Observer",
    "ProgressBar",
    "Run",
    "RunResult",
    "Timeline",
    "VitalSigns",
    "check_component",
    "run",
]
