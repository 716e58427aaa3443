"""Replay a drill log headless: the same twin, the same actions at the same times, its KPIs.

>>> replay(read_log("drill.yaml"))  # doctest: +SKIP
{'response_time_p90': 512.0, ...}
"""

from __future__ import annotations

from pathlib import Path

from twin.drill.log import DrillLog, read_log
from twin.drill.session import DrillSession
from twin.errors import Problem, UserInputError

__all__ = ["counterfactual", "replay"]


def _session(log: DrillLog, flood_cache: Path | str | None, *, tiers: bool = True) -> DrillSession:
    return DrillSession(
        log.scenario,
        log.plan,
        seed=log.seed,
        until=log.until,
        resolution=log.resolution,
        exchange_every=log.exchange_every,
        flood_cache=flood_cache,
        tier=log.tier if tiers else None,
    )


def replay(
    log: DrillLog | Path | str,
    *,
    branch: str = "main",
    until: float | None = None,
    flood_cache: Path | str | None = None,
) -> dict[str, float]:
    """Replay one branch of a drill log to ``until`` (s; default the branch's end of
    play) and return the twin's KPIs there.

    Raises
    ------
    UserInputError
        A branch the log lacks, or an action the replayed twin refuses (the log does not
        belong to this scenario, plan and seed).
    """
    if not isinstance(log, DrillLog):
        log = read_log(log)
    b = log.branch(branch)
    end = b.time if until is None else float(until)
    session = _session(log, flood_cache)
    for k, record in enumerate(log.actions_of(branch)):
        session.run_to(record.time)
        if abs(session.now - record.time) > 1e-6:
            raise UserInputError(
                Problem(f"action {k} is at {record.time:g} s, between the drill's steps "
                        f"(the twin is at {session.now:g} s)", field=f"{branch}.actions.{k}",
                        fix=f"actions happen at multiples of {log.exchange_every:g} s")
            )  # fmt: skip
        session.act(record.kind, record.args, by=record.by)
    session.run_to(end)
    return session.kpis()


def counterfactual(
    log: DrillLog | Path | str, *, until: float | None = None, flood_cache=None
) -> dict[str, float]:
    """KPIs of the same scenario, plan and seed with no drill actions (the plan's automatic
    dispatch alone, for the trainee's tier too), to ``until`` (s; default the main branch's
    end of play)."""
    if not isinstance(log, DrillLog):
        log = read_log(log)
    session = _session(log, flood_cache, tiers=False)
    session.run_to(log.branch("main").time if until is None else float(until))
    return session.kpis()
