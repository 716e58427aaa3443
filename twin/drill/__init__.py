"""Drills: a coupled twin played step by step while a trainer injects events and trainees
take decisions; every action logged, branches rewound, logs replayed headless.

- :mod:`twin.drill.session`: :class:`DrillSession` (step, act, checkpoint, rewind, state);
- :mod:`twin.drill.actions`: the injects and decisions, checked and carried out;
- :mod:`twin.drill.log`: drill scripts and logs as YAML/JSON with file:line errors;
- :mod:`twin.drill.replay`: ``replay(log) -> KPIs`` and the counterfactual.
"""

from twin.drill.log import DrillLog, DrillScript, read_log, read_script, write_log
from twin.drill.replay import counterfactual, replay
from twin.drill.session import DrillSession

__all__ = [
    "DrillLog",
    "DrillScript",
    "DrillSession",
    "counterfactual",
    "read_log",
    "read_script",
    "replay",
    "write_log",
]
