"""A human dispatcher's commands to a running :class:`~twin.response.model.ResponseModel`
(a drill trainee's decisions, not the plan's policy): send a chosen unit, take a call off
the automatic dispatcher, turn a unit back. The policy's own queue is
:meth:`ResponseModel.release`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twin.response.dispatch import Request

if TYPE_CHECKING:
    from twin.response.incidents import Incident
    from twin.response.model import ResponseModel


def send(model: ResponseModel, unit_id: int, incident: Incident) -> Request:
    """Send a chosen free unit to ``incident`` now: it takes the call's waiting request
    for its type, or a new one.

    Raises
    ------
    ValueError
        The unit is not free (see :attr:`~twin.response.units.Unit.free`).
    """
    unit = model.units[unit_id]
    if not unit.free:
        raise ValueError(f"unit {unit.name} is {unit.state}, not free")
    mine = (q for q in model.pending if q.incident is incident and q.unit_type == unit.type)
    req = next(mine, None)
    if req is None:
        req, model._seq = Request(incident, unit.type, model._seq), model._seq + 1
    else:
        model.pending.remove(req)
    model._assign(unit, req)
    return req


def hold(model: ResponseModel, incident: Incident) -> None:
    """Take the call's waiting requests off the dispatcher (a person dispatches it)."""
    model.pending[:] = [q for q in model.pending if q.incident is not incident]


def recall(model: ResponseModel, unit_id: int, *, request: Request | None = None) -> None:
    """Turn a unit on its way to a call home now; the call waits for dispatch again.
    Given the ``request`` it serves, that request is never offered to it again.

    Raises
    ------
    ValueError
        The unit is not dispatched.
    """
    unit = model.units[unit_id]
    if unit.state != "dispatched":
        raise ValueError(f"unit {unit.name} is {unit.state}, not on its way to a call")
    if request is not None:
        request.excluded.add(unit.id)
    node, _ = unit.position(model.env.now)
    unit.process.interrupt("dispatch")  # its job hands the request back (redirected)
    unit.route, unit.node, unit.incident = None, node, None
    model._set_state(unit, "returning", -1)
    unit.process = model.env.process(model.trips.go_home(unit))
