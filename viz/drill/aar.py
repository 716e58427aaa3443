"""The after-action report of a drill log: one self-contained HTML file (no scripts, no
network; the map inlined as a base64 PNG).

What it holds:

- the timeline of the main branch: every inject and decision with its time and result;
- KPIs of the drill (the log replayed) against the counterfactual: the same scenario, plan
  and seed with the same injects but no trainee decisions, every injected call handed to
  the plan's automatic dispatcher (``held: false``);
- per decision, the minutes of delay attributable to it: two re-runs that differ only in
  that decision, both with the log's actions before it and, from the decision point on,
  the injects alone and every held call handed to the dispatcher (in the run with the
  decision, except the call it answered). ``delay`` is the sum over
  calls of minutes from the call to the first arrival (or to the end of play if nobody
  came); positive: the decision cost that many minutes against the automatic choice.
  Each decision costs two re-runs of the drill, so only the first ``max_decisions`` are
  scored (the report says how many were left out).

Re-runs build fresh twins (:class:`twin.drill.DrillSession`), as
:func:`twin.drill.replay.replay` does. Handing held calls back
(:meth:`twin.drill.DrillSession.automatic`) re-queues them with the response model's
``release``; with a trainee's tier, the tier is handed to the plan's dispatcher too.
"""

from __future__ import annotations

import base64
import json
import tempfile
from pathlib import Path
from typing import Any

from twin.drill.log import ActionRecord, DrillLog, read_log

__all__ = ["DecisionScore", "score_decisions", "waiting_minutes", "write_aar"]

#: Decisions scored by default (two re-runs each).
MAX_DECISIONS = 5
#: KPIs shown first in the table, when present.
KEY_KPIS = ("response_time_p50", "response_time_p90", "unserved_incidents")


def waiting_minutes(session: Any) -> float:
    """Sum over the calls so far of minutes from the call to the first arrival, or to now
    if nobody has arrived (min)."""
    now = session.now
    total = 0.0
    for inc in session.twin.parts.response.incidents:
        end = inc.first_arrival if inc.first_arrival is not None else now
        total += max(0.0, end - inc.call_time)
    return total / 60.0


def _session(log: DrillLog, flood_cache: Path | str | None) -> Any:
    from twin.drill import DrillSession

    return DrillSession(log.scenario, log.plan, seed=log.seed, until=log.until,
                        resolution=log.resolution, exchange_every=log.exchange_every,
                        flood_cache=flood_cache, tier=log.tier)  # fmt: skip


def _release_held(session: Any, keep: set[int]) -> None:
    """Hand every held call nobody serves yet, except those in ``keep`` (ids the scored
    decision answered), to the plan's dispatcher (module notes)."""
    session.automatic(frozenset(keep))


def _automatic(record: ActionRecord) -> tuple[str, dict[str, Any], str]:
    """An inject as the automatic run takes it: calls not held for trainees."""
    args = dict(record.args)
    if record.kind in ("incident", "false_report"):
        args["held"] = False
    return record.kind, args, "trainer"


def play(log: DrillLog, kept: list[ActionRecord], automatic_from: float | None,
         later: list[ActionRecord], *, flood_cache: Path | str | None = None,
         keep: frozenset[int] = frozenset()) -> Any:  # fmt: skip
    """Re-run a drill: ``kept`` actions as logged, then (from ``automatic_from`` s, held
    calls but ``keep`` released) ``later`` injects taken automatically; played to the main
    branch's end. Returns the session."""
    s = _session(log, flood_cache)
    end = log.branch("main").time
    for record in kept:
        s.run_to(record.time)
        s.act(record.kind, record.args, by=record.by)
    if automatic_from is not None:
        s.run_to(automatic_from)
        _release_held(s, set(keep))
        for record in later:
            s.run_to(record.time)
            kind, args, by = _automatic(record)
            s.act(kind, args, by=by)
    s.run_to(end)
    return s


class DecisionScore(dict):
    """One decision's score: ``time`` (s), ``kind``, ``result``, ``with_min`` and
    ``automatic_min`` (waiting minutes), ``delay_min`` (their difference)."""


def score_decisions(
    log: DrillLog | Path | str,
    *,
    max_decisions: int = MAX_DECISIONS,
    flood_cache: Path | str | None = None,
) -> tuple[list[DecisionScore], int]:
    """Minutes of delay attributable to each of the main branch's first ``max_decisions``
    trainee decisions (module notes). Returns the scores and how many were not scored."""
    if not isinstance(log, DrillLog):
        log = read_log(log)
    actions = log.actions_of("main")
    decisions = [k for k, a in enumerate(actions) if a.by == "trainee"]
    scores = []
    for k in decisions[:max_decisions]:
        before = actions[:k]
        injects_after = [a for a in actions[k + 1 :] if a.by != "trainee"]
        time = actions[k].time
        injects_at = [a for a in injects_after if a.time <= time]
        late = [a for a in injects_after if a.time > time]
        answered = actions[k].args.get("incident")
        keep = frozenset([answered]) if isinstance(answered, int) else frozenset()
        taken = play(log, before + injects_at + [actions[k]], time, late,
                     flood_cache=flood_cache, keep=keep)  # fmt: skip
        auto = play(log, before + injects_at, time, late, flood_cache=flood_cache)
        with_min, auto_min = waiting_minutes(taken), waiting_minutes(auto)
        scores.append(DecisionScore(time=time, kind=actions[k].kind, result=actions[k].result,
                                    with_min=with_min, automatic_min=auto_min,
                                    delay_min=with_min - auto_min))  # fmt: skip
    return scores, max(0, len(decisions) - max_decisions)


def _show(value: Any) -> str:
    if isinstance(value, float):
        return "-" if value != value else f"{value:.4g}"
    return str(value)


def _clock(t: float) -> str:
    s = round(t)
    return f"T+{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def write_aar(log: DrillLog | Path | str, out: Path | str, *,
              max_decisions: int = MAX_DECISIONS,
              flood_cache: Path | str | None = None) -> Path:  # fmt: skip
    """Write the after-action report of a drill log to ``out`` (HTML, atomically)."""
    import jinja2

    from twin.atomic import write_text
    from viz.map2d import draw_map
    from viz.report import OSM_CREDIT
    from viz.scene import SceneState

    if not isinstance(log, DrillLog):
        log = read_log(log)
    actions = log.actions_of("main")
    drill = play(log, actions, None, [], flood_cache=flood_cache)
    injects = [a for a in actions if a.by != "trainee"]
    auto = play(log, [], 0.0, injects, flood_cache=flood_cache)
    kpis, base = drill.kpis(), auto.kpis()
    names = [k for k in KEY_KPIS if k in kpis] + sorted(k for k in kpis if k not in KEY_KPIS)
    rows = [(k, _show(kpis[k]), _show(base.get(k, float("nan")))) for k in names]
    rows.append(("waiting minutes (sum over calls)", _show(waiting_minutes(drill)),
                 _show(waiting_minutes(auto))))  # fmt: skip
    scores, left = score_decisions(log, max_decisions=max_decisions, flood_cache=flood_cache)
    ex = drill.twin.exchange
    depth, _ = ex.flood_grids(drill.twin.now)
    with tempfile.TemporaryDirectory() as tmp:
        state = SceneState(time=drill.now, depth=depth, closed=ex.closed_cars | drill.closed_drive)
        pack = drill.twin.parts.pack.largest_component()  # the roads closures index
        png = draw_map(pack, state, Path(tmp) / "map.png").read_bytes()
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).resolve().parents[1] / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    html = env.get_template("aar.html.j2").render(
        title=f"After-action report: {Path(log.scenario).stem}",
        summary=[
            ("scenario", log.scenario),
            ("plan", log.plan or "the scenario's first"),
            ("seed", log.seed),
            ("played to", _clock(log.branch("main").time)),
            ("branches", ", ".join(b.name for b in log.branches)),
        ],
        timeline=[(_clock(a.time), a.by, a.kind, json.dumps(a.args), a.result) for a in actions],
        kpi_rows=rows,
        scores=[{**s, "clock": _clock(s["time"])} for s in scores],
        left_out=left,
        map_png=base64.b64encode(png).decode("ascii"),
        credit=OSM_CREDIT,
    )
    return write_text(Path(out), html)
