"""A drill: a coupled twin played step by step while a trainer injects and trainees decide.

>>> s = DrillSession("scenarios/monaco_flash_flood.yaml", seed=1)  # doctest: +SKIP
>>> s.run_to(300.0)  # doctest: +SKIP
>>> s.act("incident", {"type": "medical", "location": [7.4205, 43.7331]}, by="trainer")
>>> s.act("dispatch", {"unit": "Condamine/ambulance0", "incident": 3})  # doctest: +SKIP
>>> s.checkpoint("before")  # doctest: +SKIP
>>> s.rewind("before")  # a new branch from there  # doctest: +SKIP

Time: the drill advances in the twin's exchange intervals (:meth:`CityTwin.step`); an
action takes effect at the current time, which is always an exchange boundary, before the
next step. The clock's play / pause / speed live in the web app (it calls :meth:`step`
as fast as the speed asks); here the drill is stepped explicitly.

Determinism and rewind, honestly: the twin is deterministic for a scenario, plan and seed,
and every change the drill makes is an action in its log applied at a recorded time. So
the state at a checkpoint is rebuilt, not copied: :meth:`rewind` builds a fresh twin and
replays the branch's actions before the checkpoint at their times (as the response
component's own restore does). It costs a re-run to the checkpoint. Replaying a log
(:func:`twin.drill.replay.replay`) is the same re-run to the end.

Tiers of command: with ``tier`` (a jurisdiction of a tiered plan, e.g. ``West``) the
trainee plays that jurisdiction's command and the plan's automatic dispatch runs the other
tiers; the trainee sees and may act on their tier only (the rules are in
:mod:`twin.drill.tiers`). Without, the trainee commands the whole city. The trainer sees
everything (``state("trainer")``). A refused action changes nothing and is logged
(:attr:`DrillSession.refused`).

Randomness: drill incidents draw their on-scene and handover times from
``stream(seed, "drill")``, so the scenario's own streams are untouched by a drill.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from twin.drill.actions import ACTIONS, check_tier, parse_args
from twin.drill.log import (
    ActionRecord,
    BranchRecord,
    CheckpointRecord,
    DrillLog,
    DrillScript,
    RefusalRecord,
    read_script,
)
from twin.drill.tiers import HeldForTrainee, TierCommand, tier_command
from twin.errors import Problem, UserInputError
from twin.random import stream
from twin.response import manual

__all__ = ["DrillSession"]


class DrillSession:
    """One drill over a :class:`twin.model.CityTwin` (see the module notes).

    Parameters
    ----------
    scenario, plan
        Scenario file and plan file (default the scenario's first plan).
    seed, until, resolution
        As for :meth:`CityTwin.from_files` (run seed, end in s, cell size in m).
    exchange_every
        Exchange interval (s): the drill's step.
    script
        A drill script (path or :class:`~twin.drill.log.DrillScript`) of timed injects.
    flood_cache
        Folder of recorded floods to reuse (see :meth:`CityTwin.from_files`).
    tier
        The jurisdiction the trainee plays (see the module notes), or ``None``.
    """

    def __init__(
        self,
        scenario: Path | str,
        plan: Path | str | None = None,
        *,
        seed: int | None = None,
        until: float | None = None,
        resolution: float | None = None,
        exchange_every: float = 60.0,
        script: Path | str | DrillScript | None = None,
        flood_cache: Path | str | None = None,
        tier: str | None = None,
    ) -> None:
        self.tier = tier
        self.refused: list[RefusalRecord] = []
        self.scenario, self.plan = str(scenario), None if plan is None else str(plan)
        self.seed, self.until, self.resolution = seed, until, resolution
        self.exchange_every = float(exchange_every)
        self.flood_cache = flood_cache
        if script is not None and not isinstance(script, DrillScript):
            script = read_script(script)
        injects = [] if script is None else list(enumerate(script.injects))
        self.script = sorted(injects, key=lambda pair: (pair[1].at, pair[0]))
        self.branches: dict[str, BranchRecord] = {}
        self.actions: dict[str, list[ActionRecord]] = {}
        self.checkpoints: dict[str, CheckpointRecord] = {}
        self.branch = "main"
        self._start("main", None, 0.0, [])

    # ------------------------------------------------------------------ building
    def _build(self) -> Any:
        from twin.model import CityTwin

        return CityTwin.from_files(
            self.scenario,
            self.plan,
            seed=self.seed,
            resolution=self.resolution,
            flood_cache=self.flood_cache,
            until=self.until,
            exchange_every=self.exchange_every,
        )

    def _start(self, name: str, parent: str | None, start: float, head: list) -> None:
        """Begin branch ``name``: a fresh twin with ``head`` (inherited actions) replayed."""
        self.twin = self._build()
        # Memory over a long drill: the twin's render snapshots (a depth and a speed grid
        # every outputs.snapshots interval, for `twin run`'s depth.tif) grew without bound
        # and nothing in a drill reads them (the 3-D view and the report use the live
        # grids or re-runs), so a drill keeps none.
        self.twin.snapshots = None
        if self.seed is None:
            self.seed = int(self.twin.parts.seed)
        if self.until is None:
            self.until = float(self.twin.until)
        self.rng = stream(int(self.twin.parts.seed), "drill")
        r = self.twin.parts.response
        self.command: TierCommand | None = None
        if self.tier is not None:
            self.command = tier_command(r, self.tier)
            r.policy = HeldForTrainee(r.policy, self.command)
        self.held: dict[int, Any] = {}
        self.sent: dict[int, Any] = {}  # unit id -> the request a trainee sent it to
        n = self.twin.exchange.drive.n_links
        self.closed_drive = np.zeros(n, dtype=bool)
        self.closed_walk = np.zeros(self.twin.exchange.walk.n_links, dtype=bool)
        self.branch = name
        self.branches[name] = BranchRecord(name=name, parent=parent, start=start,
                                           inherited=len(head))  # fmt: skip
        self.actions[name] = []
        self._head = list(head)
        for record in head:
            self._step_until(record.time)
            self._apply(record.kind, record.args)
        self._step_until(start)
        self._script_done = sum(1 for r in head if r.script_index is not None)

    def _step_until(self, t: float) -> None:
        while self.twin.now < t - 1e-9 and not self.twin.done:
            self._step_twin()

    def _step_twin(self) -> None:
        self.twin.step()
        self._push_closures()

    # ------------------------------------------------------------------ the clock
    @property
    def now(self) -> float:
        """Simulated time (s)."""
        return float(self.twin.now)

    @property
    def done(self) -> bool:
        """The run reached its end."""
        return bool(self.twin.done)

    def step(self) -> None:
        """Apply the script's injects due by now, then advance one exchange interval."""
        self._due_script()
        if not self.done:
            self._step_twin()
        self._due_script()

    def run_to(self, t: float) -> None:
        """Step until ``t`` (s) or the end."""
        while self.now < t - 1e-9 and not self.done:
            self.step()

    def _due_script(self) -> None:
        while self._script_done < len(self.script):
            index, inject = self.script[self._script_done]
            if inject.at > self.now + 1e-9:
                break
            self._script_done += 1
            try:
                self.act(inject.kind, inject.args, by="script", script_index=index)
            except UserInputError as exc:  # a scripted inject the city refuses: logged
                self.twin.exchange.log(self.now, "drill", "refused", f"script {index}: {exc}")

    # ------------------------------------------------------------------ actions
    def act(
        self,
        kind: str,
        args: dict[str, Any],
        *,
        by: str = "trainee",
        script_index: int | None = None,
    ) -> ActionRecord:
        """Take an action now: check it, carry it out, log it.

        Parameters
        ----------
        kind
            A key of :data:`twin.drill.actions.ACTIONS`.
        args
            Its arguments (plain data).
        by
            ``trainer``, ``trainee`` or ``script``.
        script_index
            The inject's place in the drill script, if it comes from one.

        Returns
        -------
        ActionRecord
            The logged action (with what it did).

        Raises
        ------
        UserInputError
            An unknown kind, bad arguments, an unknown or busy unit, a place off the map:
            nothing is changed and nothing is logged.
        """
        try:
            if self.done:
                raise UserInputError(Problem("the drill is over", fix="rewind to a checkpoint"))
            if kind in ACTIONS and by == "trainee" and ACTIONS[kind].by != "trainee":
                raise UserInputError(
                    Problem(f"{kind!r} is a trainer's inject", field="kind",
                            fix="trainees take decisions: dispatch, recall, close_road, ...")
                )  # fmt: skip
            if by == "trainee" and self.command is not None:
                check_tier(self, kind, parse_args(kind, args))
            seen = self.state() if by == "trainee" else None
            result = self._apply(kind, args)
        except UserInputError as exc:
            self._refused(kind, args, by, str(exc))
            raise
        record = ActionRecord(time=self.now, kind=kind, args=dict(args), by=by, result=result,
                              seen=seen, script_index=script_index)  # fmt: skip
        self.actions[self.branch].append(record)
        self.twin.exchange.log(self.now, "drill", kind, f"{by}: {result}")
        return record

    def _refused(self, kind: Any, args: Any, by: str, reason: str) -> None:
        """Log a refused action (it changed nothing)."""
        plain = args if isinstance(args, dict) else {"given": repr(args)}
        self.refused.append(RefusalRecord(time=self.now, branch=self.branch, kind=str(kind),
                                          args=dict(plain), by=by, reason=reason))  # fmt: skip
        self.twin.exchange.log(self.now, "drill", "refused", f"{by} {kind}: {reason}")

    def automatic(self, keep: frozenset[int] | set[int] = frozenset()) -> None:
        """From now on the plan's dispatcher takes every call: the calls held for the
        trainees and those of the trainee's tier (but the calls ``keep``, by id, that
        nobody else may answer) are handed to it; the trainee's tier is no longer played."""
        r = self.twin.parts.response
        if isinstance(r.policy, HeldForTrainee):
            r.policy = r.policy.inner
            for inc in r.incidents:
                if inc.id in keep and self.command is not None and self.command.holds(inc.node):
                    manual.hold(r, inc)
        self.command = None
        for inc in self.held.values():
            served = inc.first_arrival is not None or inc.unserved is not None
            if not (served or inc.id in keep or any(u.incident is inc for u in r.units)):
                r.release(inc)
        self.held.clear()
        r.poke()

    def _apply(self, kind: str, args: dict[str, Any]) -> str:
        parsed = parse_args(kind, args)
        return ACTIONS[kind].run(self, parsed)

    def close_roads(self, drive: np.ndarray, walk: np.ndarray | None) -> None:
        """Close drive links (cars and units) and walk links (walkers) for the drill."""
        new = drive & ~self.closed_drive
        self.closed_drive |= drive
        if new.any():
            self.twin.parts.traffic.model.close_links(np.flatnonzero(new))
        if walk is not None and self.twin.parts.crowd is not None:
            self.closed_walk |= walk
            self.twin.parts.crowd.inject("close_links", {"links": np.flatnonzero(walk)})
        self._push_closures()

    def open_roads(self, drive: np.ndarray, walk: np.ndarray | None) -> None:
        """Reopen drive and walk links the drill closed (flood closures stay)."""
        ours = drive & self.closed_drive
        self.closed_drive &= ~drive
        ex = self.twin.exchange
        back = ours & ~ex.closed_cars
        if back.any():
            self.twin.parts.traffic.model.open_links(np.flatnonzero(back))
        if walk is not None and self.twin.parts.crowd is not None:
            mine = walk & self.closed_walk
            self.closed_walk &= ~walk
            self.twin.parts.crowd.inject("open_links", {"links": np.flatnonzero(mine)})
        self._push_closures(force=True)

    def _push_closures(self, *, force: bool = False) -> None:
        """Give the response model the exchange's closures and the drill's (the exchange
        sets only its own at every exchange)."""
        if not (force or self.closed_drive.any()):
            return
        ex = self.twin.exchange
        mask = ex.closed_emergency | self.closed_drive
        self.twin.parts.response.update_roads(closed=mask[ex.edge_links])

    # ------------------------------------------------------------------ branches
    def checkpoint(self, name: str | None = None) -> str:
        """Mark the state now; :meth:`rewind` comes back to it. Returns its name."""
        name = name or f"t{int(self.now)}-{self.branch}"
        if name in self.checkpoints:
            raise UserInputError(Problem(f"a checkpoint {name!r} exists", field="name",
                                         fix="give another name"))  # fmt: skip
        self.checkpoints[name] = CheckpointRecord(
            name=name, branch=self.branch, time=self.now, actions=len(self.all_actions())
        )
        return name

    def rewind(self, checkpoint: str, branch: str | None = None) -> str:
        """Start a new branch from a checkpoint (the current branch is kept). Returns the
        new branch's name."""
        if checkpoint not in self.checkpoints:
            raise UserInputError(
                Problem(f"no checkpoint {checkpoint!r}", field="checkpoint",
                        fix=f"one of {sorted(self.checkpoints)}")
            )  # fmt: skip
        ck = self.checkpoints[checkpoint]
        self.branches[self.branch] = self._closed_branch()
        name = branch or f"b{len(self.branches)}"
        if name in self.branches:
            raise UserInputError(Problem(f"a branch {name!r} exists", field="branch",
                                         fix="give another name"))  # fmt: skip
        head = self.all_actions(ck.branch)[: ck.actions]
        self._start(name, ck.branch, ck.time, head)
        return name

    def all_actions(self, branch: str | None = None) -> list[ActionRecord]:
        """Every action of a branch (default the current): inherited, then its own."""
        name = branch or self.branch
        if name == self.branch:
            return self._head + self.actions[name]
        b = self.branches[name]
        parent = self.all_actions(b.parent)[: b.inherited] if b.parent is not None else []
        return parent + self.actions[name]

    def _closed_branch(self) -> BranchRecord:
        b = self.branches[self.branch]
        return b.model_copy(update={"actions": list(self.actions[self.branch]),
                                    "time": self.now})  # fmt: skip

    def log(self) -> DrillLog:
        """The drill log so far (every branch and checkpoint)."""
        branches = dict(self.branches)
        branches[self.branch] = self._closed_branch()
        return DrillLog(
            scenario=self.scenario,
            plan=self.plan,
            seed=self.seed,
            until=self.until,
            resolution=self.resolution,
            exchange_every=self.exchange_every,
            tier=self.tier,
            branches=[branches[k] for k in self.branches],
            checkpoints=list(self.checkpoints.values()),
            refused=list(self.refused),
        )

    # ------------------------------------------------------------------ state
    def kpis(self) -> dict[str, float]:
        """The twin's KPIs over the drill so far."""
        return self.twin.kpis()

    def state(self, view: str = "trainee") -> dict[str, Any]:
        """What ``view`` sees now: the time, vital signs, warning level, open incidents and
        units. ``trainer`` sees everything; a trainee with a tier sees their tier's calls
        and units and, of the rest, how many units of each type are free (``elsewhere``;
        see :mod:`twin.drill.tiers`); a trainee without a tier sees everything."""
        r = self.twin.parts.response
        now = self.now
        mine = self.command if view != "trainer" else None
        tier = self.command
        incidents = [
            {"id": i.id, "type": i.type, "priority": i.priority, "node": i.node,
             "call_time": i.call_time,
             "held": i.id in self.held or (tier is not None and tier.holds(i.node)),
             "units": [u.name for u in r.units if u.incident is i]}
            for i in r.incidents
            if i.first_arrival is None and i.unserved is None
            and (mine is None or mine.holds(i.node))
        ]  # fmt: skip
        units = [
            {"name": u.name, "type": u.type, "state": u.state, "node": int(u.position(now)[0]),
             "incident": None if u.incident is None else u.incident.id}
            for u in r.units
            if mine is None or u.id in mine.units
        ]  # fmt: skip
        elsewhere: dict[str, int] = {}
        if mine is not None:
            for u in r.units:
                if u.id not in mine.units:
                    elsewhere[u.type] = elsewhere.get(u.type, 0) + int(u.free)
        vitals = {k: (v if math.isfinite(v) else None) for k, v in self.twin.vitals.items()}
        out = {
            "time": now,
            "until": self.until,
            "branch": self.branch,
            "vitals": vitals,
            "warning_level": self.twin.exchange.triggers.warning_level_name,
            "incidents": incidents,
            "units": units,
        }
        if tier is not None:
            out["tier"] = tier.name
        if mine is not None:
            out["elsewhere"] = elsewhere
        return out

    def visible_actions(self, view: str = "trainee") -> list[ActionRecord]:
        """The branch's actions ``view`` may see: all for the trainer and for a trainee
        without a tier; a tier's trainee sees the trainees' decisions only (an inject
        elsewhere would tell where)."""
        acts = self.all_actions()
        if view == "trainer" or self.command is None:
            return acts
        return [a for a in acts if a.by == "trainee"]

    def visible_events(self, view: str = "trainee") -> list[dict[str, Any]]:
        """The twin's event log as ``view`` may see it: a tier's trainee does not see the
        drill's lines (injects and refusals anywhere) but sees the city's (warnings,
        closures, triggers)."""
        events = list(self.twin.exchange.events)
        if view == "trainer" or self.command is None:
            return events
        return [e for e in events if e["source"] != "drill"]
