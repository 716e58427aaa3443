"""traffic <-> response in the coupled twin: dispatched units drive as priority vehicles
inside the traffic model (:mod:`twin.coupling.unit_vehicles`).

A synthetic city: one two-way street of six junctions A0 .. A5 about 100 m apart (with a
short side street at each inner junction; written as an .osm file here; flat, no water,
no hospital), an ambulance station at A0 and one medical call at A5 at 2 min. The jam
(trip file): 150 ordinary cars from A1 to A5 leaving in the first minute, and the last
link A4 -> A5 slowed to 5 % of its free speed (a bottleneck set on the traffic model, as
the flood's speed factors are), so a queue stands on the street when the ambulance
leaves; and one ordinary car from A0 to A5 leaving with the ambulance (its id is lower:
it leaves A0 first). The empty street's trip file has one car the other way (A5 -> A4).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

LON0, LAT0 = 7.420, 43.730
DLON = 1.25e-3  # about 100 m at this latitude
N = 6
CALL_AT = 120.0
EXCHANGE = 60.0  # the twin's exchange interval (s): the most an arrival is logged late


def _write_osm(path: Path) -> Path:
    """The street (nodes 1 .. N) and a 50 m dead-end side street north of every inner
    junction (nodes 101 ..), so that the inner junctions stay nodes of the road graph."""
    nodes = [(i + 1, LON0 + DLON * i, LAT0) for i in range(N)]
    nodes += [(101 + i, LON0 + DLON * i, LAT0 + 4.5e-4) for i in range(1, N - 1)]
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    for n, lon, lat in nodes:
        lines.append(f'<node id="{n}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>')
    ways = [(100, range(1, N + 1))] + [(200 + i, (i + 1, 101 + i)) for i in range(1, N - 1)]
    for w, refs in ways:
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        lines.append(f'<way id="{w}" version="1">{nds}<tag k="highway" v="residential"/></way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _lonlat(i: float) -> str:
    return f"[{LON0 + DLON * i:.6f}, {LAT0:.6f}]"


SCENARIO = f"""\
version: 1
name: street
city: {{osm: t.osm, flat: true}}
time: {{duration: 30 min}}
demand: {{trips: TRIPS}}
incidents:
  scripted:
    - {{at: 2 min, type: medical, priority: 1, location: {_lonlat(N - 1)}}}
"""
PLAN = f"""\
version: 1
kind: plan
name: p
stations:
  - {{name: s, location: {_lonlat(0)}, units: {{ambulance: 1}}}}
"""


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """The synthetic city's folder (t.osm, trip files, jam.yaml, empty.yaml, p.yaml) with
    its own cache."""
    folder = tmp_path_factory.mktemp("street")
    _write_osm(folder / "t.osm")
    jam = [f"{t:.3f},2,{N}" for t in np.linspace(0.0, 60.0, 150)] + [f"{CALL_AT},1,{N}"]
    (folder / "jam.csv").write_text("\n".join(["departure,origin,destination", *jam]))
    (folder / "empty.csv").write_text(f"departure,origin,destination\n0,{N},{N - 1}\n")
    for name in ("jam", "empty"):
        text = SCENARIO.replace("TRIPS", f"{name}.csv")
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    (folder / "p.yaml").write_text(PLAN, encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.setenv("TWIN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield folder
    mp.undo()


def _node(traffic, i: int) -> int:
    return int(traffic.net.node_index(i + 1))  # OSM node ids 1 .. N


def _link(traffic, a: int, b: int) -> int:
    net = traffic.net
    return int(
        np.flatnonzero((net.link_from == _node(traffic, a)) & (net.link_to == _node(traffic, b)))[0]
    )


def _twin(city, *, jam: bool, rules=None, until: float = 1800.0):
    """The twin before its run; with ``jam`` the jam's trips and the bottleneck."""
    from twin.model import CityTwin

    name = "jam" if jam else "empty"
    twin = CityTwin.from_files(
        city / f"{name}.yaml", city / "p.yaml", seed=1, until=until, rules=rules
    )
    if jam:
        traffic = twin.parts.traffic.model
        traffic.speed_factor[_link(traffic, N - 2, N - 1)] = 0.05
        twin.car = 150
        assert traffic.trips().depart[twin.car] == CALL_AT
    return twin


def _on_scene(twin) -> list[float]:
    return [
        e.time for e in twin.parts.response.events if e.event == "state" and e.detail == "on_scene"
    ]


@pytest.fixture(scope="module")
def jammed(city):
    twin = _twin(city, jam=True)
    twin.run()
    return twin


@pytest.fixture(scope="module")
def empty(city):
    twin = _twin(city, jam=False)
    twin.run()
    return twin


def _unit_vehicle(twin) -> int:
    calls = twin.exchange.units.calls
    assert calls
    assert calls[0][0] == 0
    return calls[0][1]


def test_a_unit_drives_as_a_priority_vehicle_from_its_station_at_dispatch(jammed):
    """The ambulance's drive to the call is one traffic vehicle flagged priority, from A0
    to A5, leaving at the call (2 min; the dispatch is immediate)."""
    traffic = jammed.parts.traffic.model
    vid = _unit_vehicle(jammed)
    trips = traffic.trips()
    assert trips.priority[vid]
    assert not trips.priority[jammed.car]
    assert trips.origin[vid] == _node(traffic, 0)
    assert trips.destination[vid] == _node(traffic, N - 1)
    assert trips.depart[vid] == CALL_AT


def test_the_logged_arrival_is_the_traffic_arrival_at_most_one_exchange_late(jammed, empty):
    """The response log's on-scene time is the first exchange at or after the traffic
    vehicle's arrival: 0 <= logged - traffic < the exchange interval (60 s)."""
    for twin in (jammed, empty):
        arrive = twin.parts.traffic.model.trips().arrive[_unit_vehicle(twin)]
        logged = _on_scene(twin)[0]
        assert 0.0 <= logged - arrive < EXCHANGE
        assert logged % EXCHANGE == 0.0
        incident = twin.parts.response.incidents[0]
        assert incident.first_arrival == logged


def test_a_jam_delays_the_unit_and_priority_passes_the_queue(jammed, empty):
    """Through the jam the ambulance arrives later than on the empty street, and earlier
    than the ordinary car that left the station with it (ahead of it) on the same path."""
    t_jam = jammed.parts.traffic.model.trips()
    t_empty = empty.parts.traffic.model.trips()
    unit_jam = t_jam.arrive[_unit_vehicle(jammed)]
    unit_empty = t_empty.arrive[_unit_vehicle(empty)]
    car = t_jam.arrive[jammed.car]
    assert np.isfinite(unit_jam)
    assert np.isfinite(car)
    assert unit_jam > unit_empty + EXCHANGE  # the jam shows beyond the logging lag
    assert unit_jam < car
    assert _on_scene(jammed)[0] > _on_scene(empty)[0]


def test_without_units_in_traffic_the_unit_ignores_the_queue(city, jammed):
    """ExchangeRules(units_in_traffic=False): no unit vehicle; the ambulance is timed on
    link times only and reaches the scene before it does through the traffic."""
    from twin.coupling.exchange import ExchangeRules

    twin = _twin(city, jam=True, rules=ExchangeRules(units_in_traffic=False))
    twin.run()
    assert twin.exchange.units is None
    assert not twin.parts.traffic.model.trips().priority.any()
    assert _on_scene(twin)[0] < _on_scene(jammed)[0]


def test_conservation_with_unit_vehicles_counted_apart(jammed):
    """Every vehicle is somewhere (link counts vs status vs counters), and the unit
    vehicles, counted by the driver, are the priority ones; the cars are the rest; each
    unit drive ended once (arrived or stranded) or is still on."""
    traffic = jammed.parts.traffic.model
    counts = traffic.check_conservation()
    trips = traffic.trips()
    units = jammed.exchange.units
    ids = units.vehicles()
    c = units.counts()
    assert c["vehicles"] == ids.size == int(trips.priority.sum()) >= 2  # to the scene, home
    assert np.array_equal(np.flatnonzero(trips.priority), ids)
    cars = traffic.n_vehicles - ids.size
    assert cars == 151
    assert counts["added"] == cars + c["vehicles"]
    drives = sum(1 for _, vid in units.calls if vid >= 0)
    assert c["arrived"] + c["stranded"] + c["driving"] == drives
    assert int(trips.arrived[ids].sum()) == c["arrived"]


def test_a_unit_cut_off_on_its_way_stops_at_its_link_end_and_the_call_waits(city):
    """On the empty street slowed to 15 % (1.25 m/s, so that the ambulance is on A0 -> A1
    at the exchange after its dispatch), closing A3 -> A4 strands its vehicle: the drive
    ends unarrived at A1 (the end of its link), the scene is logged unreachable there, the
    call is not served, and the ambulance drives home from A1 in a new vehicle."""
    twin = _twin(city, jam=False)
    traffic = twin.parts.traffic.model
    traffic.speed_factor[:] = 0.15
    while twin.now < CALL_AT + EXCHANGE:
        twin.step()
    vid = _unit_vehicle(twin)
    link = int(traffic._v.veh_link[vid])
    assert link == _link(traffic, 0, 1)
    traffic.close_links([_link(traffic, 3, 4)])
    twin.run()
    r = twin.parts.response
    node = twin.exchange.units.to_response[_node(traffic, 1)]
    unreachable = [e for e in r.events if e.event == "unreachable"]
    assert [(e.unit, e.node) for e in unreachable] == [(0, node)]
    assert unreachable[0].time == CALL_AT + 2 * EXCHANGE  # the exchange after it stopped
    assert r.incidents[0].first_arrival is None
    assert traffic.trips().status[vid] == 3  # stranded
    home = twin.exchange.units.calls[1]
    assert home[0] == 0
    assert home[1] != vid
    assert traffic.trips().origin[home[1]] == _node(traffic, 1)
    assert traffic.trips().destination[home[1]] == _node(traffic, 0)
    assert r.units[0].state == "available"


def test_a_returning_unit_sent_to_a_new_call_keeps_its_vehicle(city):
    """On the empty street slowed to 15 % (1.25 m/s) once the ambulance is at A5 (the
    run goes on to 1 h), a medical call at A2 while it drives home redirects its vehicle
    (no new one): that vehicle's trip ends at A2, the unit is logged on scene there at
    most one exchange later, then drives home from A2 in a new vehicle."""
    from twin.response.incidents import draw_incident

    twin = _twin(city, jam=False, until=3600.0)
    traffic = twin.parts.traffic.model
    r = twin.parts.response
    units = twin.exchange.units
    while r.units[0].state != "on_scene":
        twin.step()
    traffic.speed_factor[:] = 0.15
    while not (r.units[0].state == "returning" and 0 in units.live):
        twin.step()
    vid = units.live[0][0]
    assert traffic._v.veh_link[vid] >= 0  # on the road home
    a2 = int(units.to_response[_node(traffic, 2)])
    u = np.full(4, 0.5)
    r.call(draw_incident(u, len(r.incidents), "medical", a2, r.now, priority=1, source="test"))
    twin.run()
    drives = [vehicle for unit, vehicle in units.calls if unit == 0]
    k = drives.index(vid)
    assert drives[k + 1] == vid  # the second call's drive is the same vehicle
    assert traffic.trips().destination[vid] == _node(traffic, 2)
    second = r.incidents[1]
    assert second.first_arrival is not None
    assert second.first_arrival - traffic.trips().arrive[vid] < EXCHANGE
    assert drives[k + 2] not in (-1, vid)  # home from A2 in a new vehicle
    assert traffic.trips().origin[drives[k + 2]] == _node(traffic, 2)


def test_checkpoint_while_a_unit_drives_resumes_to_the_same_run(city, jammed, tmp_path):
    """Checkpoint at 3 min (the ambulance's vehicle in the queue), restore into a fresh
    twin, run on: the same KPIs, vital signs, response log and unit drives."""
    first = _twin(city, jam=True)
    while first.now < 180.0:
        first.step()
    assert first.exchange.units.live  # a unit is on the road
    path = first.checkpoint(tmp_path / "ck.npz")
    resumed = _twin(city, jam=True)
    resumed.restore(path)
    resumed.run()
    assert resumed.kpis() == pytest.approx(jammed.kpis(), nan_ok=True, rel=0, abs=0)
    assert resumed.vital_table() == jammed.vital_table()
    assert resumed.parts.response.events == jammed.parts.response.events
    assert resumed.exchange.units.calls == jammed.exchange.units.calls
    assert resumed.exchange.units.outcomes == jammed.exchange.units.outcomes
