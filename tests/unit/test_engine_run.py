"""The engine: one clock, the one loop, its timeline and observers (tiny synthetic models)."""

from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
import pytest
import simpy

from twin.engine import Clock, Event, Field, Timeline, VitalSigns, check_component, run
from twin.engine.run import Callback
from twin.errors import UserInputError
from twin.traffic import TrafficModel, grid_network
from twin.traffic.component import TrafficComponent


class Ticker:
    """A fixed-step component that logs every step and every inject (for the tests)."""

    info: ClassVar = (Field("level", "out", "1", "scalar", "float64", "steps taken so far"),)
    actions: ClassVar = {"poke": "log the payload"}

    def __init__(self, dt: float = 1.0, name: str = "ticker") -> None:
        self.name, self.dt, self.t = name, dt, 0.0
        self.log: list[tuple[str, float]] = []

    @property
    def time(self) -> float:
        return self.t

    def sizes(self):
        return {}

    def advance_to(self, t: float) -> None:
        while self.t + self.dt <= t + 1e-9:
            self.t += self.dt
            self.log.append(("step", self.t))

    def output(self, name):
        return float(len(self.log))

    def set_input(self, name, value):
        raise KeyError(name)

    def inject(self, action, payload):
        self.log.append((f"{action}:{payload['what']}", self.t))

    def vitals(self):
        return {"steps": float(sum(1 for k, _ in self.log if k == "step"))}

    def snapshot(self):
        return {"t": self.t}

    def restore(self, snapshot):
        self.t = float(snapshot["t"])


def test_events_act_after_every_component_reached_their_time_in_order():
    """An event at t is applied once the component stands at t, ties in the order given;
    one at the end of the run is not applied."""
    c = Ticker()
    tl = Timeline(
        [
            Event(3.0, "ticker", "poke", {"what": "b"}),
            Event(2.0, "ticker", "poke", {"what": "a"}),
            Event(3.0, "ticker", "poke", {"what": "c"}),
            Event(5.0, "ticker", "poke", {"what": "late"}),
        ]
    )
    result = run([c], 5.0, timeline=tl, exchange_every=60.0)
    assert [k for k, _ in c.log if k != "step"] == ["poke:a", "poke:b", "poke:c"]
    assert [t for k, t in c.log if k != "step"] == [2.0, 3.0, 3.0]
    assert c.time == 5.0
    assert [e.payload["what"] for e in result.applied] == ["a", "b", "c"]


def test_exchange_hooks_run_at_every_interval_and_the_clock_stops_at_events():
    """Hooks see every component at the exchange time; stops = exchanges + event times + end."""
    c = Ticker()
    seen = []
    result = run(
        [c],
        100.0,
        timeline=[Event(45.0, "ticker", "poke", {"what": "x"})],
        exchange_every=30.0,
        exchanges=[lambda t, comps: seen.append((t, comps["ticker"].time))],
    )
    assert seen == [(30.0, 30.0), (60.0, 60.0), (90.0, 90.0)]
    assert result.exchanges == 3
    assert result.stops == 5  # 30, 45, 60, 90, 100


def test_simpy_processes_share_the_one_clock():
    """A SimPy process on the clock's environment sees the same time the components do."""
    clock = Clock()
    c = Ticker()
    heard = []

    def proc(env: simpy.Environment):
        while True:
            yield env.timeout(25.0)
            heard.append((env.now, c.time))

    clock.env.process(proc(clock.env))
    run([c], 60.0, clock=clock, exchange_every=10.0)
    # a SimPy event between two stops sees the components at the earlier stop; one at a
    # stop is processed when the clock goes on, after the components reached that stop
    assert heard == [(25.0, 20.0), (50.0, 50.0)]
    assert clock.now == 60.0


def test_clock_never_goes_back():
    clock = Clock(10.0)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance_to(5.0)


def test_bad_runs_are_refused_with_the_reason():
    c = Ticker()
    with pytest.raises(UserInputError, match="not after its start"):
        run([c], 0.0)
    with pytest.raises(UserInputError, match="no action 'jump'"):
        run([c], 5.0, timeline=[Event(1.0, "ticker", "jump")])
    with pytest.raises(UserInputError, match="names component 'crowd'"):
        run([c], 5.0, timeline=[Event(1.0, "crowd", "poke")])
    with pytest.raises(UserInputError, match="two components"):
        run([c, Ticker()], 5.0)


def test_check_component_refuses_bad_declarations():
    c = Ticker()
    c.info = (Field("level", "out", "", "scalar", "float64", "no units"),)
    with pytest.raises(TypeError, match="needs units"):
        check_component(c)
    c.info = (Field("level", "out", "1", "cell", "float64", "unknown place"),)
    with pytest.raises(TypeError, match="location 'cell'"):
        check_component(c)


def test_ctrl_c_tells_the_observers_and_propagates():
    c = Ticker()
    finished = []

    class Watch:
        def start(self, run):
            pass

        def update(self, t, run):
            if t >= 20.0:
                raise KeyboardInterrupt

        def finish(self, run, *, interrupted):
            finished.append(interrupted)

    with pytest.raises(KeyboardInterrupt):
        run([c], 100.0, exchange_every=10.0, observers=[Watch()])
    assert finished == [True]
    assert c.time == 20.0


def test_vital_signs_are_collected_at_start_exchanges_and_end():
    c = Ticker()
    vitals = VitalSigns()
    run([c], 25.0, exchange_every=10.0, observers=[vitals])
    table = vitals.table()
    assert table["time"] == [0.0, 10.0, 20.0, 25.0]
    assert table["ticker.steps"] == [0.0, 10.0, 20.0, 25.0]


def test_timeline_round_trips_through_json_and_yaml(tmp_path):
    tl = Timeline(
        [
            Event(600.0, "traffic", "close_links", {"links": np.array([3, 4])}, "collapse"),
            Event(0.0, "crowd", "close_links", {"links": [1]}),
        ]
    )
    assert [e.time for e in tl] == [0.0, 600.0]
    assert Timeline.from_json(tl.to_json()) == tl
    assert Timeline.from_yaml(tl.to_yaml()) == tl
    for suffix in (".json", ".yaml"):
        path = tl.write(tmp_path / f"timeline{suffix}")
        assert Timeline.read(path) == tl
    assert json.loads(tl.to_json())[1]["payload"] == {"links": [3, 4]}


def test_a_malformed_timeline_names_the_entry_and_file(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("- time: 5\n  target: traffic\n- time: x\n  target: a\n  action: b\n")
    with pytest.raises(UserInputError) as err:
        Timeline.read(path)
    text = str(err.value)
    assert f"{path}: 0: needs time" in text
    assert f"{path}: 1: needs time" in text
    with pytest.raises(UserInputError, match=">= 0"):
        Timeline([Event(-1.0, "a", "b")])


def test_a_traffic_closure_on_the_timeline_reroutes_as_a_direct_call_does():
    """The engine's inject of a closure equals calling the model by hand at that time."""

    def model():
        m = TrafficModel(grid_network(3, spacing=300.0), dt=1.0)
        m.add_vehicles([0] * 20, [8] * 20, np.linspace(0, 100, 20))
        return m

    by_hand = model()
    by_hand.advance_to(50.0)
    by_hand.close_links([0, 1])
    by_hand.advance_to(400.0)

    engine = TrafficComponent(model())
    stops = []
    run(
        [engine],
        400.0,
        timeline=[Event(50.0, "traffic", "close_links", {"links": [0, 1]})],
        observers=[Callback(lambda t, r: stops.append(t))],
    )
    assert 50.0 in stops
    a, b = by_hand.trips(), engine.model.trips()
    assert np.array_equal(a.arrive, b.arrive, equal_nan=True)
    assert np.array_equal(a.distance, b.distance)
    assert engine.model.closed[[0, 1]].all()
