"""Fixtures of the viz tests: a small off-screen scene of the Monaco pack."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyvista")

#: Small windows keep the software renderer fast.
WINDOW = (400, 300)


@pytest.fixture
def scene(monaco_pack):
    """The Monaco scene, top-down, 400x300 pixels; closed after the test."""
    from viz.scene import CityScene

    city = CityScene(monaco_pack, window_size=WINDOW)
    yield city
    city.close()


def sample_cells(scene, image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Pixel colours (n, 3) at the centres of terrain cells ``(rows, cols)``, seen by
    ``scene``'s camera; cells outside the image give -1000 (matches no colour)."""
    terrain = scene.pack.terrain
    x = terrain.x0 + (cols + 0.5) * terrain.resolution
    y = terrain.y0 - (rows + 0.5) * terrain.resolution
    pixels = scene.to_pixels(x, y, scene.ground[rows, cols])
    h, w = image.shape[:2]
    inside = (pixels[:, 0] >= 0) & (pixels[:, 0] < w) & (pixels[:, 1] >= 0) & (pixels[:, 1] < h)
    out = np.full((len(rows), 3), -1000, dtype=int)
    out[inside] = image[pixels[inside, 1], pixels[inside, 0]]
    return out


def near(colours: np.ndarray, rgb, tolerance: int = 30) -> np.ndarray:
    """Which colours are within ``tolerance`` (per channel, 0-255) of ``rgb``."""
    return (np.abs(colours - np.asarray(rgb)) <= tolerance).all(axis=1)


def same_hue(colours: np.ndarray, rgb, cosine: float = 0.995) -> np.ndarray:
    """Which colours are ``rgb`` under some shading: the same direction in RGB space (a lit
    surface is its colour times a factor between about 0.5 and 1)."""
    c = np.asarray(colours, dtype=float)
    ref = np.asarray(rgb, dtype=float)
    norms = np.linalg.norm(c, axis=1) * np.linalg.norm(ref)
    return (c @ ref) / np.where(norms > 0, norms, 1) >= cosine


WARNED_TRIGGER = """
triggers:
  - name: water on the streets
    when: max_depth_m > 0.2 m for 2 min
    then:
      - warning: {level: yellow, message: Water on the streets}
"""


def _twin(*args: str) -> None:
    """Run one ``twin`` command in-process; fail the fixture with its output if it fails."""
    from typer.testing import CliRunner

    from twin.cli import _register, app

    _register()
    result = CliRunner().invoke(app, [*args, "--no-progress"])
    assert result.exit_code == 0, f"twin {' '.join(args)}:\n{result.output}"


@pytest.fixture(scope="session")
def outputs(tmp_path_factory, monaco_pack):
    """Real small outputs of the run commands on Monaco (short ``--until``):

    - ``flood``: ``twin flood monaco_flash_flood --until 600`` (gauges.csv, depth.tif
      with bands at 0, 300, 600 s, run.json)
    - ``run``: ``twin run monaco_flash_flood --until 10min`` with the baseline plan plus a
      trigger (depth > 0.2 m for 2 min -> yellow warning), which fires at 180 s
    - ``respond``: ``twin respond monaco_busy_day`` (baseline/ and two_stations/)
    - ``crowd``: ``twin crowd monaco_stadium_exit --until 900``
    - ``traffic``: ``twin traffic monaco_flash_flood --until 600``
    - ``study``: ``twin compare monaco_busy_day -n 3`` (study.duckdb)
    """
    from tests.conftest import REPO

    root = tmp_path_factory.mktemp("outputs")
    scenarios = REPO / "scenarios"
    plan = root / "warned.yaml"
    text = (scenarios / "plans" / "monaco_baseline.yaml").read_text(encoding="utf-8")
    plan.write_text(text.replace("name: baseline", "name: warned") + WARNED_TRIGGER)
    flood = str(scenarios / "monaco_flash_flood.yaml")
    busy = str(scenarios / "monaco_busy_day.yaml")
    _twin("flood", flood, "--out", str(root / "flood"), "--until", "600")
    _twin("run", flood, "--plan", str(plan), "--out", str(root / "run"), "--until", "10min")
    _twin("respond", busy, "--out", str(root / "respond"))
    _twin(
        "crowd",
        str(scenarios / "monaco_stadium_exit.yaml"),
        "--out",
        str(root / "crowd"),
        "--until",
        "900",
    )
    _twin("traffic", flood, "--out", str(root / "traffic"), "--until", "600")
    _twin("compare", busy, "-n", "3", "--study", str(root / "study.duckdb"))
    from twin.experiment.store import Store

    with Store(root / "study.duckdb", read_only=True) as store:
        failed = store.failures(store.studies()[0]["study_id"])
    assert not failed, f"twin compare: {len(failed)} runs failed, first:\n{failed[0][3]}"
    return root
