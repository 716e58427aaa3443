"""``viz.show``: headless without a display is one clear error; the static backend (what
Jupyter gets) is an image of the scene."""

from __future__ import annotations

import numpy as np
import pytest

from twin.errors import UserInputError

# ``viz.show`` is this function (viz/__init__.py); the tests import it from its module, as
# pytest names this test folder ``viz`` too
from viz.window import show


@pytest.fixture
def headless(monkeypatch):
    """No display named, not in Jupyter, a Linux machine."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")


def test_headless_without_a_display_is_a_clear_message(headless, monkeypatch):
    from viz import window

    built = []
    monkeypatch.setattr("viz.scene.CityScene.__init__", lambda *a, **k: built.append(a))
    with pytest.raises(UserInputError) as caught:
        show("monaco")
    text = str(caught.value)
    assert "no display to open a window on" in text
    assert "twin render" in text
    assert "backend='static'" in text
    assert built == []  # refused before any scene (or VTK window) is made
    assert not window.in_jupyter()


def test_a_display_chooses_the_window(headless, monkeypatch):
    from viz import window

    assert not window.has_display()
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert window.has_display()


def test_static_backend_is_an_image_of_the_scene(headless, monaco_pack):
    from tests.viz.conftest import same_hue
    from viz.scene import SEA_RGB

    picture = show(monaco_pack, backend="static", camera="overview", window_size=(320, 200))
    image = np.asarray(picture)
    assert image.shape == (200, 320, 3)
    assert same_hue(image.reshape(-1, 3), SEA_RGB).mean() > 0.05  # the sea is in view


def test_unknown_backend_is_refused(monaco_pack):
    with pytest.raises(UserInputError, match="no backend 'qt'"):
        show(monaco_pack, backend="qt")
