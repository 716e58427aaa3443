"""The trainee's tier of command: one jurisdiction of the plan played by a person while the
other tiers run the plan's automatic dispatch.

A plan with ``dispatch: {policy: tiered}`` and ``jurisdictions`` (e.g.
``scenarios/plans/monaco_tiered.yaml``) splits the city into a tree of jurisdictions. A
trainee playing jurisdiction ``X`` (a district's command, say ``West``) takes its place:

- **X's calls**: every call at a road node of X's area (X's own or that of a
  jurisdiction below it) is the trainee's. The automatic dispatcher never takes it (it
  waits in the queue for the trainee), whatever its priority and however long it waits:
  escalating it is the trainee's decision (``mutual_aid``).
- **X's units**: the units of X's stations and of the stations of every jurisdiction
  below it. The automatic dispatcher never sends them, not even as mutual aid or
  escalation for the other tiers' calls.
- **The other tiers** (the city, the other districts and their streets) keep the plan's
  tiered policy for every other call and every other unit, as without a drill.

What the trainee sees (:meth:`TierCommand.visible`): X's open calls and X's units in
full; the shared city picture a real command room has: the clock, the city's vital signs,
the warning level in force, the map (water and closed roads) and, for the rest of the city,
only how many units of each type are free. Not the other tiers' calls, units or the drill
lines of the event log (a trainer's inject elsewhere would tell where).

What the trainee may do (:meth:`TierCommand.check`): dispatch and recall X's units to X's
calls, ask mutual aid for X's calls, close and open roads in X's area, order the
evacuation of a zone whose road nodes all lie in X's area. A warning is city-wide (the
twin's warning board has one level for the whole map): the city tier's, refused to a
district trainee. Every refusal raises :class:`twin.errors.UserInputError` naming the
field; the session logs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.errors import Problem, UserInputError
from twin.response.policies import DispatchPolicy

if TYPE_CHECKING:
    from twin.response.dispatch import DispatchView, Request
    from twin.response.units import Unit

__all__ = ["HeldForTrainee", "TierCommand", "tier_command"]


@dataclass(frozen=True)
class TierCommand:
    """The jurisdiction a trainee plays.

    Attributes
    ----------
    name, tier
        The jurisdiction's name and tier (e.g. ``West``, ``district``).
    area
        Boolean mask over the response model's road nodes: the places it answers for.
    units
        Ids of its units (its stations' and those of the jurisdictions below it).
    """

    name: str
    tier: str
    area: np.ndarray
    units: frozenset[int]

    def holds(self, node: int) -> bool:
        """Whether road node ``node`` lies in the jurisdiction's area."""
        return bool(self.area[int(node)])

    def refuse(self, what: str, field: str, fix: str) -> UserInputError:
        """The error of a decision outside the trainee's tier."""
        return UserInputError(
            Problem(f"{what}: outside {self.name} ({self.tier}), the trainee's tier",
                    field=field, fix=fix)
        )  # fmt: skip


def tier_command(response: Any, name: str) -> TierCommand:
    """The jurisdiction ``name`` of the response model's tiered plan as a trainee's tier.

    Raises
    ------
    UserInputError
        The plan's dispatch is not tiered with jurisdictions, or has no jurisdiction
        ``name`` (the message lists them).
    """
    jur = getattr(response.policy, "jurisdictions", None)
    if jur is None:
        raise UserInputError(
            Problem(f"tier {name!r}: the plan has no tiered jurisdictions", field="tier",
                    fix="use a plan with `dispatch: {policy: tiered}` and `jurisdictions` "
                    "(e.g. scenarios/plans/monaco_tiered.yaml), or play without a tier")
        )  # fmt: skip
    names = [j.name for j in jur.items]
    if name not in names:
        raise UserInputError(Problem(f"no jurisdiction {name!r} in the plan", field="tier",
                                     fix=f"one of {names}"))  # fmt: skip
    k = names.index(name)
    below = _below(jur.items, k)
    area = np.isin(jur.home, sorted(below))
    stations = jur.subtree[k]
    units = frozenset(u.id for u in response.units if u.station in stations)
    return TierCommand(name, jur.items[k].tier, area, units)


def _below(items: Sequence[Any], k: int) -> set[int]:
    """Jurisdiction ``k`` and every one below it (indices)."""
    out, grew = {k}, True
    while grew:
        more = {i for i, j in enumerate(items) if j.parent in out} - out
        out |= more
        grew = bool(more)
    return out


class HeldForTrainee(DispatchPolicy):
    """The plan's policy for every call and unit but the trainee's (see the module notes):
    calls in the trainee's area wait for the trainee; the trainee's units are never offered.

    Parameters
    ----------
    inner
        The plan's policy.
    command
        The trainee's tier.
    """

    def __init__(self, inner: DispatchPolicy, command: TierCommand) -> None:
        self.inner = inner
        self.command = command
        self.name = inner.name
        self.preempts = inner.preempts
        self.timed = inner.timed

    def _mine(self, request: Request) -> bool:
        return self.command.holds(request.incident.node)

    def key(self, request: Request) -> tuple:
        return self.inner.key(request)

    def choose(
        self, view: DispatchView, request: Request, units: Sequence[Unit], times: np.ndarray
    ) -> Unit | None:
        if self._mine(request):
            return None
        keep = [k for k, u in enumerate(units) if u.id not in self.command.units]
        if not keep:
            return None
        return self.inner.choose(view, request, [units[k] for k in keep], times[keep])

    def retry_at(self, view: DispatchView, request: Request) -> float | None:
        return None if self._mine(request) else self.inner.retry_at(view, request)

    def mutual_aid(self, view: DispatchView, request: Request) -> float | None:
        return None if self._mine(request) else self.inner.mutual_aid(view, request)

    def preempt_for(self, view: DispatchView, request: Request) -> Unit | None:
        if self._mine(request):
            return None
        unit = self.inner.preempt_for(view, request)
        return None if unit is None or unit.id in self.command.units else unit

    def move_ups(self, view: DispatchView) -> list[tuple[Unit, int]]:
        return [(u, s) for u, s in self.inner.move_ups(view) if u.id not in self.command.units]
