"""What a trainer can inject and a trainee can decide in a drill, checked and carried out.

Every action has an argument model (checked when a script or log is read, and again, with
the city, when it is taken) and a function that carries it out on a
:class:`twin.drill.session.DrillSession` at its current time, through the models' public
methods (the response model's ``call``, ``hold``, ``send``, ``recall``,
``out_of_service``, ``schedule``, ``update_roads``; traffic's ``close_links`` and
``open_links``; the crowd component's ``inject``; the exchange's warning board and
``evacuate``).

Injects (trainer): ``incident``, ``false_report``, ``road_collapse``,
``unit_out_of_service``, ``hospital_full``, ``rain`` (rain intensifying: every hyetograph
of the scenario scaled from now on, by giving the running flood model a new forcing whose
rain series have a step at the inject time; refused when a recorded flood is replayed,
the scenario has no rain, or it does not rain now), ``levee_breach`` (a gap opens now in
the nearest levee of the scenario's rivers, through the flood component's ``breach``
action, :func:`twin.flood.river.open_breach`; refused on a map without a levee, off the
levee line, or when a recorded flood is replayed).

Decisions (trainee): ``dispatch``, ``recall``, ``close_road``, ``open_road``, ``warning``,
``evacuate``, ``mutual_aid``.

A mistake (an unknown or busy unit, a place off the map, an incident that is over) raises
:class:`twin.errors.UserInputError` before anything changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, ValidationError

from twin.errors import Problem, UserInputError
from twin.response import manual
from twin.scenario.base import LonLat, Polygon, StrictModel
from twin.scenario.quantities import Duration, Length, PositiveDuration, PositiveLength
from twin.scenario.triggers import DepartureCurve

if TYPE_CHECKING:
    from twin.drill.session import DrillSession

__all__ = ["ACTIONS", "DECISIONS", "INJECTS", "Action", "check_args", "check_tier", "parse_args"]

#: Farthest a place may lie from the nearest road node to count as on the map (m).
MAX_SNAP = 250.0


class IncidentArgs(StrictModel):
    """A call: its type, where (lon, lat), its priority."""

    type: Literal[
        "medical", "fire", "traffic_accident", "rescue", "water_rescue", "hazmat", "police",
        "crowd_crush", "structural",
    ]  # fmt: skip
    """Incident type (a response profile)."""
    location: LonLat
    """Where ([longitude, latitude]); snapped to the nearest road node."""
    priority: Literal[1, 2, 3] = 1
    """1 most urgent."""
    held: bool = True
    """Held for the trainees (the automatic dispatcher does not take it); false: the
    plan's dispatcher handles it as any call. When the trainee plays a tier, a call in
    the tier's area is always the trainee's, one elsewhere the other tiers' (automatic),
    and this is not used."""


class CollapseArgs(StrictModel):
    """A road collapse: every drive and walk link within ``radius`` of ``location``."""

    location: LonLat
    """Centre ([longitude, latitude])."""
    radius: Length = 20.0
    """Radius (m)."""


class UnitTimeArgs(StrictModel):
    """A unit taken out of service for a while."""

    unit: str
    """The unit's name (e.g. 'Condamine/ambulance0')."""
    duration: PositiveDuration = 1800.0
    """How long (s)."""


class HospitalArgs(StrictModel):
    """A hospital on diversion (full) for a while."""

    hospital: str
    """The hospital's name."""
    duration: PositiveDuration = 3600.0
    """How long (s)."""


class RainArgs(StrictModel):
    """Rain intensifying: every rain of the scenario multiplied by ``factor`` from now to
    the end of its hyetograph (a storm that ends still ends)."""

    factor: float = Field(default=2.0, gt=1.0, le=10.0)
    """Multiplier of the intensities (> 1, at most 10)."""


class BreachArgs(StrictModel):
    """A levee breach now: the crest of the nearest levee sinks over ``width`` around
    ``location`` to ``bottom`` within ``growth``, and the river pours through."""

    location: LonLat
    """The breach's middle ([longitude, latitude]), on a levee line (within ``width``)."""
    width: PositiveLength = 50.0
    """Length of levee that fails (m)."""
    growth: Duration = 600.0
    """Time over which the crest sinks (s)."""
    bottom: Length | None = None
    """Crest elevation at the end (m, terrain datum); default the lowest land beside the
    gap (neither levee nor channel, within ``width``)."""


class DispatchArgs(StrictModel):
    """Send a unit to an incident."""

    unit: str
    """The unit's name."""
    incident: int = Field(ge=0)
    """The incident's id."""


class RecallArgs(StrictModel):
    """Recall a unit on its way to a call; the call waits for the plan's dispatcher again
    (a held call too). A unit the trainee sent is not sent back to that call; one the
    dispatcher sent may be (its request is the dispatcher's, not the drill's)."""

    unit: str
    """The unit's name."""


class RoadArgs(StrictModel):
    """Close or reopen the roads within ``radius`` of ``location``."""

    location: LonLat
    """Centre ([longitude, latitude])."""
    radius: Length = 15.0
    """Radius (m)."""


class WarningArgs(StrictModel):
    """Issue a warning over the whole map."""

    level: Literal["blue", "yellow", "orange", "red"]
    """Warning level."""
    message: str = ""
    """What people are told."""


class EvacuateArgs(StrictModel):
    """Order the evacuation of a zone (the scenario's evacuees living in it leave)."""

    zone: Polygon
    """Corners ([[longitude, latitude], ...])."""
    curve: DepartureCurve = DepartureCurve()
    """Spread of departures after the order."""


class AidArgs(StrictModel):
    """Ask a neighbour for a unit for an incident; it arrives after ``delay``."""

    incident: int = Field(ge=0)
    """The incident's id."""
    unit_type: Literal["ambulance", "fire_engine", "police", "rescue_boat"]
    """Kind of unit asked for."""
    delay: Duration = 1200.0
    """Time until it arrives (s)."""


@dataclass(frozen=True)
class Action:
    """One kind of action: who takes it, its arguments, what it does.

    ``run(session, args)`` carries it out now and returns what it did, in words.
    """

    kind: str
    by: Literal["trainer", "trainee"]
    args: type[StrictModel]
    run: Callable[[DrillSession, Any], str]
    doc: str


def check_args(kind: str, args: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str, str]]:
    """Problems of an action's kind and arguments, each ``(field path, message, fix)``."""
    if kind not in ACTIONS:
        return [(("kind",), f"unknown action {kind!r}", f"one of {sorted(ACTIONS)}")]
    try:
        ACTIONS[kind].args.model_validate(args)
    except ValidationError as exc:
        return [(("args", *err["loc"]), err["msg"], _fix(kind, err)) for err in exc.errors()]
    return []


def _fix(kind: str, err: Any) -> str:
    """How to mend one argument error of an action."""
    if err["type"] == "missing":
        return f"add `{err['loc'][-1]}` to the {kind}'s args"
    if err["type"] == "extra_forbidden":
        names = sorted(ACTIONS[kind].args.model_fields)
        return f"remove it; a {kind} takes {names}"
    return str((err.get("ctx") or {}).get("fix", f"see the {kind}'s arguments"))


def parse_args(kind: str, args: dict[str, Any]) -> Any:
    """The validated arguments of an action, or a :class:`UserInputError`."""
    problems = check_args(kind, args)
    if problems:
        raise UserInputError(
            [Problem(m, field=".".join(map(str, f)), fix=fix) for f, m, fix in problems]
        )
    return ACTIONS[kind].args.model_validate(args)


# ---------------------------------------------------------------------- helpers
def _refuse(message: str, field: str, fix: str) -> UserInputError:
    return UserInputError(Problem(message, field=field, fix=fix))


def _unit(s: DrillSession, name: str) -> Any:
    units = s.twin.parts.response.units
    for u in units:
        if u.name == name:
            return u
    return _raise(_refuse(f"no unit {name!r}", "args.unit", f"one of {[u.name for u in units]}"))


def _raise(error: Exception) -> Any:
    raise error


def _incident(s: DrillSession, incident_id: int) -> Any:
    incidents = s.twin.parts.response.incidents
    if not 0 <= incident_id < len(incidents):
        raise _refuse(
            f"no incident {incident_id} (there are {len(incidents)})",
            "args.incident",
            "pick an incident from the queue",
        )
    inc = incidents[incident_id]
    if inc.unserved is not None:
        raise _refuse(f"incident {incident_id} is closed: {inc.unserved}", "args.incident",
                      "pick an open incident")  # fmt: skip
    return inc


def _metres(s: DrillSession, lonlat: Any) -> tuple[float, float]:
    from pyproj import Transformer

    to = Transformer.from_crs("EPSG:4326", s.twin.parts.pack.crs, always_xy=True)
    x, y = to.transform(float(lonlat[0]), float(lonlat[1]))
    return float(x), float(y)


def _node(s: DrillSession, lonlat: Any, field: str) -> int:
    """The response road node nearest ``lonlat``; refused when it is off the map."""
    travel = s.twin.parts.response.travel
    drive = s.twin.exchange.drive
    x, y = _metres(s, lonlat)
    ok = np.array([travel.index.get(int(n), -1) >= 0 for n in drive.node_ids.tolist()])
    d = np.hypot(drive.x - x, drive.y - y)
    d[~ok] = np.inf
    k = int(np.argmin(d))
    if not np.isfinite(d[k]) or d[k] > MAX_SNAP:
        raise _refuse(
            f"{list(lonlat)} is {d[k]:.0f} m from the nearest road of the map",
            field,
            f"pick a place within {MAX_SNAP:.0f} m of a road of {s.twin.parts.scenario.city.name}",
        )
    return int(travel.index[int(drive.node_ids[k])])


def _links(s: DrillSession, lonlat: Any, radius: float, field: str) -> tuple[np.ndarray, Any]:
    from twin.coupling.hazards import collapse_links

    _node(s, lonlat, field)  # refuses a place off the map
    crs = s.twin.parts.pack.crs
    drive = collapse_links(s.twin.exchange.drive, crs, lonlat, radius)
    walk = collapse_links(s.twin.exchange.walk, crs, lonlat, radius) if s.twin.parts.crowd else None
    if not drive.any():
        raise _refuse(f"no road within {radius:g} m of {list(lonlat)}", field,
                      "move the place onto a street or widen the radius")  # fmt: skip
    return drive, walk


# ---------------------------------------------------------------------- injects
def _call(s: DrillSession, a: IncidentArgs, *, false: bool = False) -> str:
    from twin.response.incidents import draw_incident

    r = s.twin.parts.response
    node = _node(s, a.location, "args.location")
    u = s.rng.random(4)
    source = "false_report" if false else "drill"
    inc = draw_incident(
        u, len(r.incidents), a.type, node, r.now, priority=a.priority, source=source,
        profiles=r.profiles,
    )  # fmt: skip
    if false:  # nobody there: units stay a minute, nobody is taken to hospital
        inc.on_scene, inc.transport = 60.0, False
    r.call(inc)
    if a.held and s.command is None:
        manual.hold(r, inc)
        s.held[inc.id] = inc
    return f"incident {inc.id} ({a.type}, priority {a.priority}) at node {node}"


def _incident_inject(s: DrillSession, a: IncidentArgs) -> str:
    return _call(s, a)


def _false_report(s: DrillSession, a: IncidentArgs) -> str:
    return "false report: " + _call(s, a, false=True)


def _collapse(s: DrillSession, a: CollapseArgs) -> str:
    drive, walk = _links(s, a.location, a.radius, "args.location")
    s.close_roads(drive, walk)
    return f"road collapse closes {int(drive.sum())} drive links"


def _out_of_service(s: DrillSession, a: UnitTimeArgs) -> str:
    unit = _unit(s, a.unit)
    if unit.state == "out_of_service":
        raise _refuse(f"{a.unit} is already out of service", "args.unit", "pick another unit")
    r = s.twin.parts.response
    r.out_of_service(unit.id, r.now, r.now + a.duration)
    return f"{a.unit} out of service for {a.duration:g} s"


def _hospital_full(s: DrillSession, a: HospitalArgs) -> str:
    r = s.twin.parts.response
    names = [h.name for h in r.hospitals]
    if a.hospital not in names:
        raise _refuse(f"no hospital {a.hospital!r}", "args.hospital", f"one of {names}")
    h = r.hospitals[names.index(a.hospital)]
    intake = h.per_hour
    h.per_hour = 0.0  # full: Hospital.full holds while arrivals >= per_hour

    def reopen() -> None:
        h.per_hour = intake

    r.schedule(r.now + a.duration, reopen)
    return f"{a.hospital} full for {a.duration:g} s"


def _rain(s: DrillSession, a: RainArgs) -> str:
    from dataclasses import replace

    from twin.flood.forcing import Rainfall

    model = getattr(s.twin.parts.flood, "model", None)
    forcing = getattr(model, "forcing", None)
    if forcing is None:
        raise _refuse("no flood model runs (none in the scenario, or a recorded flood is "
                      "replayed)", "kind", "drill without flood_cache")  # fmt: skip
    now = s.now
    if not forcing.rainfall or not any(r.intensity(now) > 0 for r in forcing.rainfall):
        raise _refuse("it does not rain now: nothing to intensify", "kind",
                      "inject it while the scenario's storm lasts")  # fmt: skip
    rains = []
    for r in forcing.rainfall:
        times = sorted({*r.times, now})
        rates = [r.intensity(t) * (a.factor if t >= now else 1.0) for t in times]
        rains.append(Rainfall(times, rates, zone=r.zone, zone_crs=r.zone_crs, name=r.name))
    model.forcing = replace(forcing, rainfall=tuple(rains))
    mm_h = max(r.intensity(now) for r in rains) * 3.6e6
    return f"rain x{a.factor:g} from now ({mm_h:.0f} mm/h at its heaviest now)"


def _levee_breach(s: DrillSession, a: BreachArgs) -> str:
    flood = s.twin.parts.flood
    if getattr(flood, "model", None) is None:
        raise _refuse("no flood model runs (none in the scenario, or a recorded flood is "
                      "replayed)", "kind", "drill without flood_cache")  # fmt: skip
    from twin.flood.river import open_breach

    # what the flood component's ``breach`` action does, called here for its result
    opened = open_breach(
        flood.model, tuple(a.location), a.width, growth=a.growth, bottom=a.bottom, field="args"
    )
    return (f"levee breach: {opened.river} levee {opened.levee} opens over {a.width:g} m "
            f"({opened.cells} cells), its crest sinking to {opened.bottom:.2f} m "
            f"in {a.growth:g} s")  # fmt: skip


def levee_places(s: DrillSession) -> list[list[float]]:
    """The middle of every levee of the scenario's rivers ([longitude, latitude], by
    length along its line): where the trainer's menu suggests a breach. Empty without a
    flood model or a levee given in lon/lat."""
    import shapely

    forcing = getattr(getattr(s.twin.parts.flood, "model", None), "forcing", None)
    out = []
    for river in getattr(forcing, "rivers", ()):
        if river.crs != "EPSG:4326":
            continue
        for levee in river.levees:
            mid = shapely.LineString(levee.points).interpolate(0.5, normalized=True)
            out.append([round(float(mid.x), 6), round(float(mid.y), 6)])
    return out


# ---------------------------------------------------------------------- decisions
def _dispatch(s: DrillSession, a: DispatchArgs) -> str:
    unit = _unit(s, a.unit)
    inc = _incident(s, a.incident)
    if not unit.free:
        raise _refuse(f"{a.unit} is busy ({unit.state})", "args.unit",
                      "pick an available or returning unit")  # fmt: skip
    s.sent[unit.id] = manual.send(s.twin.parts.response, unit.id, inc)
    return f"{a.unit} sent to incident {inc.id}"


def _recall(s: DrillSession, a: RecallArgs) -> str:
    unit = _unit(s, a.unit)
    if unit.state != "dispatched":
        raise _refuse(f"{a.unit} is not on its way to a call ({unit.state})", "args.unit",
                      "recall a dispatched unit")  # fmt: skip
    inc = unit.incident
    # a unit the trainee sent is not sent straight back to that call by the dispatcher
    manual.recall(s.twin.parts.response, unit.id, request=s.sent.pop(unit.id, None))
    return f"{a.unit} recalled from incident {inc.id if inc is not None else -1}"


def _close_road(s: DrillSession, a: RoadArgs) -> str:
    drive, walk = _links(s, a.location, a.radius, "args.location")
    s.close_roads(drive, walk)
    return f"closed {int(drive.sum())} drive links"


def _open_road(s: DrillSession, a: RoadArgs) -> str:
    drive, walk = _links(s, a.location, a.radius, "args.location")
    if not (drive & s.closed_drive).any():
        raise _refuse("no road closed by the drill there", "args.location",
                      "pick a road the drill closed")  # fmt: skip
    s.open_roads(drive, walk)
    return f"reopened {int((drive).sum())} drive links"


def _warning(s: DrillSession, a: WarningArgs) -> str:
    from twin.scenario.triggers import WarningAction

    ex = s.twin.exchange
    issued = ex.triggers.board.apply(
        s.twin.now, WarningAction(level=a.level, message=a.message), "drill decision"
    )
    if issued is None:
        raise _refuse(f"a {a.level} warning is already in force or higher", "args.level",
                      "issue a higher level")  # fmt: skip
    ex.log(s.twin.now, "drill", "warning", f"{a.level} for the whole map: drill decision")
    return f"{a.level} warning issued"


def _evacuate(s: DrillSession, a: EvacuateArgs) -> str:
    import shapely

    xy = [_metres(s, p) for p in a.zone]
    zone = shapely.Polygon(xy)
    drive = s.twin.exchange.drive
    if not zone.is_valid or not shapely.contains_xy(zone, drive.x, drive.y).any():
        raise _refuse("the zone holds no road node of the map", "args.zone",
                      "draw the zone over the city")  # fmt: skip
    walkers, cars = s.twin.exchange.evacuate(s.twin.now, a, "drill decision")
    return f"evacuation: {walkers} walkers and {cars} cars leave earlier"


def _mutual_aid(s: DrillSession, a: AidArgs) -> str:
    inc = _incident(s, a.incident)
    r = s.twin.parts.response
    r.record("mutual_aid", -1, inc.id, inc.node, a.unit_type, a.delay)

    def arrive() -> None:
        r.record("aid_arrival", -1, inc.id, inc.node, a.unit_type)
        inc.arrivals.append(r.now)
        if inc.first_arrival is None and inc.unserved is None:
            inc.first_arrival = r.now

    r.schedule(r.now + a.delay, arrive)
    return f"mutual aid: a {a.unit_type} arrives at incident {inc.id} in {a.delay:g} s"


# ---------------------------------------------------------------------- tiers
def check_tier(s: DrillSession, kind: str, a: Any) -> None:
    """Refuse a trainee's decision outside the tier they play (rules in
    :mod:`twin.drill.tiers`); nothing is changed."""
    c = s.command
    if c is None:
        return
    if kind in ("dispatch", "recall"):
        unit = _unit(s, a.unit)
        if unit.id not in c.units:
            names = [u.name for u in s.twin.parts.response.units if u.id in c.units]
            raise c.refuse(f"{a.unit} is not a unit of {c.name}", "args.unit",
                           f"command your own units: {names}")  # fmt: skip
    if kind in ("dispatch", "mutual_aid"):
        inc = _incident(s, a.incident)
        if not c.holds(inc.node):
            raise c.refuse(f"incident {inc.id} is another tier's call", "args.incident",
                           "pick a call of your queue")  # fmt: skip
    if kind in ("close_road", "open_road") and not c.holds(_node(s, a.location, "args.location")):
        raise c.refuse(f"the road at {list(a.location)}", "args.location",
                       f"pick a road in {c.name}")  # fmt: skip
    if kind == "evacuate":
        nodes = _zone_nodes(s, a.zone)
        if not nodes.size or not c.area[nodes].all():
            raise c.refuse("the zone reaches beyond the tier's area", "args.zone",
                           f"draw the zone inside {c.name}")  # fmt: skip
    if kind == "warning":
        raise c.refuse("a warning is city-wide (one level for the whole map)", "args.level",
                       "ask the city tier (the trainer) to issue it")  # fmt: skip


def _zone_nodes(s: DrillSession, zone: Any) -> np.ndarray:
    """Response road nodes inside a [lon, lat] polygon."""
    import shapely

    poly = shapely.Polygon([_metres(s, p) for p in zone])
    drive = s.twin.exchange.drive
    if not poly.is_valid:
        return np.zeros(0, dtype=np.int64)
    inside = drive.node_ids[shapely.contains_xy(poly, drive.x, drive.y)]
    index = s.twin.parts.response.travel.index
    nodes = [index.get(int(n), -1) for n in inside.tolist()]
    return np.array([n for n in nodes if n >= 0], dtype=np.int64)


ACTIONS: dict[str, Action] = {
    a.kind: a
    for a in (
        Action("incident", "trainer", IncidentArgs, _incident_inject, "a new call"),
        Action("false_report", "trainer", IncidentArgs, _false_report, "a call with nobody there"),
        Action("road_collapse", "trainer", CollapseArgs, _collapse, "a road collapses"),
        Action("unit_out_of_service", "trainer", UnitTimeArgs, _out_of_service,
               "a unit goes off duty"),
        Action("hospital_full", "trainer", HospitalArgs, _hospital_full, "a hospital on diversion"),
        Action("rain", "trainer", RainArgs, _rain, "rain intensifying"),
        Action("levee_breach", "trainer", BreachArgs, _levee_breach, "a levee breaches"),
        Action("dispatch", "trainee", DispatchArgs, _dispatch, "send a unit to an incident"),
        Action("recall", "trainee", RecallArgs, _recall, "recall a unit on its way"),
        Action("close_road", "trainee", RoadArgs, _close_road, "close roads"),
        Action("open_road", "trainee", RoadArgs, _open_road, "reopen roads the drill closed"),
        Action("warning", "trainee", WarningArgs, _warning, "issue a warning"),
        Action("evacuate", "trainee", EvacuateArgs, _evacuate, "order a zone to evacuate"),
        Action("mutual_aid", "trainee", AidArgs, _mutual_aid, "ask a neighbour for a unit"),
    )
}  # fmt: skip
"""Every action kind by name."""

INJECTS = tuple(k for k, a in ACTIONS.items() if a.by == "trainer")
DECISIONS = tuple(k for k, a in ACTIONS.items() if a.by == "trainee")
