"""River, levee and breach hazards: the scenario kinds, the overtopping time, bad input."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from twin.coupling.flood_setup import forcing_from_hazards
from twin.errors import ScenarioError, UserInputError
from twin.flood import FloodConfig, FloodModel, Forcing
from twin.flood.build import flood_model
from twin.flood.river import Breach, Levee, River, RiverFloodModel, overtop_start
from twin.scenario import load_scenario

RIVER = """\
version: 1
name: river
city: {name: monaco}
time:
  duration: 2 h
hazards:
  - kind: river
    name: Test river
    line: [[7.41, 43.73], [7.42, 43.73]]
    width: 30 m
    stage:
      - {at: 0, level: 1 m}
      - {at: 1 h, level: 5 m}
    levees:
      - line: [[7.41, 43.7302], [7.42, 43.7302]]
        crest: 4 m
        breach: {location: [7.415, 43.7302], width: 40 m, growth: 5 min, at: BREACH}
"""


def _scenario(tmp_path: Path, breach_at: str = "90 min") -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(RIVER.replace("BREACH", breach_at), encoding="utf-8")
    return path


def test_overtop_start() -> None:
    """Crossings of a linear stage: rises over 3 m at 400 s in [1 m at 0, 4 m at 600 s]."""
    assert overtop_start([0, 600], [1, 4], 3.0, 120.0) == pytest.approx(520.0)
    assert overtop_start([0, 600], [1, 4], 3.0, 0.0) == pytest.approx(400.0)
    # above for 300 s (200..500), then again from 700 s to the end (held after 800 s)
    times, levels = [0, 400, 600, 800], [2, 4, 2, 4]
    assert overtop_start(times, levels, 3.0, 150.0) == pytest.approx(350.0)
    assert overtop_start(times, levels, 3.0, 300.0) == pytest.approx(500.0)
    assert overtop_start(times, levels, 3.0, 350.0) == pytest.approx(700.0 + 350.0)
    assert overtop_start([0, 600], [1, 2], 3.0, 0.0) is None
    assert overtop_start([0], [5], 3.0, 1e6) == pytest.approx(1e6)


def test_scenario_river_becomes_forcing(tmp_path: Path) -> None:
    """The river hazard parses with units and becomes the flood's River (SI, lon/lat)."""
    sc = load_scenario(_scenario(tmp_path))
    (river,) = forcing_from_hazards(sc.hazards).rivers
    assert river.times == (0.0, 3600.0)
    assert river.levels == (1.0, 5.0)
    assert river.width == 30.0
    assert river.title == "Test river"
    assert river.name == "hazards.0"
    (levee,) = river.levees
    assert levee.crest == 4.0
    assert levee.breach.at == 5400.0
    assert levee.breach.growth == 300.0
    assert river.breach_time(levee) == 5400.0


def test_breach_after_the_end_is_refused_at_its_line(tmp_path: Path) -> None:
    """A breach at or after the scenario's end names the file and the levees line."""
    path = _scenario(tmp_path, "3 h")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (problem,) = info.value.problems
    assert problem.file is not None
    assert Path(problem.file).name == "s.yaml"
    assert problem.line == 14  # `levees:`
    assert "at or after the scenario ends" in problem.message


def test_breach_needs_a_time_or_an_overtop_duration(tmp_path: Path) -> None:
    """A breach with neither `at` nor `overtop_for` is refused."""
    path = tmp_path / "s.yaml"
    path.write_text(RIVER.replace(", at: BREACH", ""), encoding="utf-8")
    with pytest.raises(ScenarioError):
        load_scenario(path)


def _terrain(z: np.ndarray) -> SimpleNamespace:
    return SimpleNamespace(elevation=z, resolution=10.0, x0=0.0, y0=z.shape[0] * 10.0, crs=None)


def _model(river: River, z: np.ndarray | None = None) -> FloodModel:
    z = np.zeros((20, 30)) if z is None else z
    cfg = FloodConfig(edges="closed", sea_elevation=None)
    return flood_model(_terrain(z), Forcing(rivers=[river]), cfg)


def test_levee_line_outside_the_terrain_is_named() -> None:
    """A levee point off the grid: the error names the levee's field."""
    levee = Levee(points=[(105.0, 5.0), (105.0, 900.0)], crest=3.0)
    river = River([0], [1.0], [(50.0, 5.0), (50.0, 195.0)], 40.0, [levee], crs=None,
                  name="hazards.2")  # fmt: skip
    with pytest.raises(UserInputError) as info:
        _model(river)
    assert info.value.problems[0].field == "hazards.2.levees.0.line"


def test_a_stage_below_the_bed_says_the_map_has_no_river() -> None:
    """A river whose stage never tops its channel's bed: a clear message, not a dry run."""
    river = River([0, 60], [-1.0, -0.5], [(50.0, 5.0), (50.0, 195.0)], 40.0, crs=None,
                  name="hazards.0")  # fmt: skip
    with pytest.raises(UserInputError) as info:
        _model(river)
    problem = info.value.problems[0]
    assert problem.field == "hazards.0.stage"
    assert "the map has no river here" in problem.message


def test_channel_holds_the_stage_and_a_plain_model_refuses_rivers() -> None:
    """Channel cells sit at the stage at every time; FloodModel alone refuses rivers."""
    river = River([0, 600], [0.5, 1.5], [(50.0, 5.0), (50.0, 195.0)], 40.0, crs=None)
    z = np.zeros((20, 30))
    z[:, :10] = -1.0
    model = _model(river, z)
    assert isinstance(model, RiverFloodModel)
    model.advance_to(300.0)
    model._apply_river(model.t)  # the level the next sub-step starts from
    assert np.allclose(model.level()[:, 3:7], 1.0)
    assert math.isclose(model.volume_balance().relative_error, 0.0, abs_tol=1e-9)
    with pytest.raises(TypeError):
        FloodModel(z, 10.0, Forcing(rivers=[river]))


def test_breach_far_from_its_levee_is_refused() -> None:
    """A breach point 300 m from the levee line is refused at its field."""
    levee = Levee(
        points=[(105.0, 5.0), (105.0, 195.0)], crest=3.0,
        breach=Breach(location=(280.0, 100.0), width=20.0, growth=0.0, at=10.0),
    )  # fmt: skip
    river = River([0], [1.0], [(50.0, 5.0), (50.0, 195.0)], 40.0, [levee], crs=None)
    with pytest.raises(UserInputError) as info:
        _model(river)
    assert info.value.problems[0].field == "river.levees.0.breach.location"
