"""A levee breach opened while the flood runs (issue 17's drill inject): through the flood
component's ``breach`` action it is the same breach a scenario schedules, bit for bit, and
a map without a levee or a point off the levee is refused with a message.

The valley is tests/validation/test_levee.py's (10 m cells, grid coordinates): a channel
held at 1 m, a levee along x = 105 m with its crest at 3 m, a floodplain at 0 m behind it.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from twin.errors import UserInputError
from twin.flood import FloodConfig, FloodModel, Forcing
from twin.flood.build import flood_model
from twin.flood.component import FloodComponent
from twin.flood.river import Breach, Levee, River, open_breach

DX, NY, NX = 10.0, 30, 80
T_BREACH, GROWTH, WIDTH = 300.0, 60.0, 40.0
POINT = (105.0, 150.0)


def valley(breach: Breach | None = None):
    z = np.zeros((NY, NX))
    z[:, :10] = -2.0
    levee = Levee(points=[(105.0, 1.0), (105.0, 299.0)], crest=3.0, breach=breach)
    river = River(
        times=[0.0], levels=[1.0], points=[(50.0, 5.0), (50.0, 295.0)], width=100.0,
        levees=[levee], crs=None, name="hazards.0",
    )  # fmt: skip
    terrain = SimpleNamespace(elevation=z, resolution=DX, x0=0.0, y0=NY * DX, crs=None)
    return flood_model(
        terrain, Forcing(rivers=[river]), FloodConfig(edges="closed", sea_elevation=None)
    )


def test_an_injected_breach_is_the_scheduled_breach_bit_for_bit() -> None:
    """Breach injected at 300 s (default bottom: the floodplain beside it, 0 m) against
    the same breach scheduled at 300 s: dry behind the levee before, and the same depths,
    discharges and volume balance after 4 minutes (no tolerance: the same arithmetic)."""
    scheduled = valley(Breach(location=POINT, width=WIDTH, growth=GROWTH, at=T_BREACH))
    component = FloodComponent(valley())
    component.advance_to(T_BREACH)
    assert float(component.model.h[:, 11:].sum()) == 0.0  # dry behind the levee before
    component.inject("breach", {"location": POINT, "width": WIDTH, "growth": GROWTH, "crs": None})
    scheduled.advance_to(T_BREACH)  # the same sub-steps: both stop at 300 s
    scheduled.advance_to(T_BREACH + 240.0)
    component.advance_to(T_BREACH + 240.0)
    injected = component.model
    assert float(injected.h[:, 11:].sum()) * DX * DX > 100.0  # m3 crossed
    assert np.array_equal(injected.h, scheduled.h)
    assert np.array_equal(injected.qx, scheduled.qx)
    assert injected.volume_balance() == scheduled.volume_balance()


def test_the_opened_breach_says_where_and_how_deep() -> None:
    """Levee 0 of the river, 4 cells of a 40 m gap on 10 m cells (centres within 20 m),
    bottom 0 m, starting at the model's time."""
    model = valley()
    model.advance_to(60.0)
    opened = open_breach(model, POINT, WIDTH, crs=None, field="args")
    assert (opened.levee, opened.cells, opened.bottom, opened.start) == (0, 4, 0.0, 60.0)


def test_a_map_without_a_levee_is_refused() -> None:
    """A flood model without rivers: the message says the map has no levee."""
    model = FloodModel(np.ones((NY, NX)), DX)
    with pytest.raises(UserInputError, match="no levee to breach") as exc:
        FloodComponent(model).inject("breach", {"location": POINT, "width": WIDTH, "crs": None})
    assert exc.value.problems[0].fix


def test_a_point_off_the_levee_is_refused() -> None:
    """200 m east of the levee (farther than the 40 m width): refused, nothing opened."""
    model = valley()
    with pytest.raises(UserInputError, match="200 m from the nearest levee"):
        open_breach(model, (305.0, 150.0), WIDTH, crs=None, field="args")
    assert len(model._levees) == 1  # nothing was added


def test_a_bottom_above_the_crest_is_refused() -> None:
    with pytest.raises(UserInputError, match="not below the levee's crest"):
        open_breach(valley(), POINT, WIDTH, bottom=3.5, crs=None)
