"""``twin crowd`` on the ready Monaco stadium scenario: 15,000 leave Stade Louis II while a
sinkhole closes the paths around it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from twin.cli import (
    _register,
    app,
    crowd_cmds,  # noqa: F401  (registers the command)
)
from twin.coupling.crowd_setup import crowd_from_scenario
from twin.crowd.model import ON_LINK
from twin.scenario.loader import load_scenario

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "monaco_stadium_exit.yaml"


@pytest.fixture(scope="module")
def stadium(monaco_pack):
    """The stadium scenario's crowd run, set up but not run."""
    return crowd_from_scenario(load_scenario(SCENARIO), monaco_pack)


def test_sinkhole_closes_links_and_nobody_walks_into_them(stadium):
    """The collapse closes the links within 15 m at 15 min; no one enters them after."""
    when, mask, _ = stadium.closures[0]
    assert when == 900.0
    assert 0 < mask.sum() < 40
    model = stadium.model
    stadium.run(when)
    inside = set(np.flatnonzero((model.status == ON_LINK) & mask[np.maximum(model.link, 0)]))

    def check(m):
        now = np.flatnonzero((m.status == ON_LINK) & mask[np.maximum(m.link, 0)])
        assert set(now.tolist()) <= inside

    stadium.run(3600.0, chunk=30.0, on_progress=check)
    assert model.closed[mask].all()
    k = model.kpis()
    assert k.flows["released"] == 15_000  # all left the stands within 35 min
    assert k.flows["arrived"] == sum(d["occupancy"] for d in k.destinations)
    waiting = np.count_nonzero((model.link < 0) & np.isnan(model.arrive)) - k.counts["stuck"]
    walking = int(model.count.sum()) + waiting
    assert k.flows["released"] == k.flows["arrived"] + k.counts["stuck"] + walking
    assert k.flows["arrived"] >= 14_000
    assert {d["why"] for d in k.destinations} == {"exit of the venue"}  # was blank


def test_cli_prints_kpis_and_writes_json(monaco_dir, tmp_path, monkeypatch):
    """`twin crowd SCENARIO --until 600 --json out` prints the table and writes the KPIs."""
    monkeypatch.setenv("TWIN_MAPS", str(monaco_dir.parent))
    out = tmp_path / "kpis.json"
    _register()
    args = ["crowd", str(SCENARIO), "--until", "600", "--json", str(out), "--out", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "clearance 50 %" in result.output
    kpis = json.loads(out.read_text())
    assert kpis["counts"]["total"] == 15_000
    assert kpis["time"] == 600.0
