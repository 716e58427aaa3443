"""KPI definitions: every objective a scenario may name is defined, with a unit."""

from __future__ import annotations

import math

import pytest

from twin.errors import UserInputError
from twin.experiment.runners import ResponseRunner
from twin.metrics.kpis import KPIS, OBJECTIVE_NAMES, kpi, weighted_score


def test_every_objective_is_defined():
    """Each name of the scenario schema's KpiName has a unit, a direction and a docstring."""
    for name in OBJECTIVE_NAMES:
        d = KPIS[name]
        assert d.unit in ("s", "h", "share", "count")
        assert d.better in ("lower", "higher")
        assert len(d.doc) > 20


def test_runner_kpis_are_defined():
    """The response runner reports only defined KPIs."""
    assert set(ResponseRunner.kpis) <= set(KPIS)


def test_unknown_kpi_names_the_valid_ones():
    """A misspelt KPI gets a suggestion and the list of names."""
    with pytest.raises(UserInputError, match="did you mean 'response_time_p90'") as err:
        kpi("response_time_p9")
    assert "share_within_target" in str(err.value)


def test_weighted_score_rewards_improvement():
    """A higher share within target lowers the score; a missing KPI gives NaN."""
    w = {"response_time_p90": 1.0, "share_within_target": 600.0}
    good = weighted_score({"response_time_p90": 600.0, "share_within_target": 0.9}, w)
    bad = weighted_score({"response_time_p90": 600.0, "share_within_target": 0.5}, w)
    assert good < bad
    assert math.isnan(weighted_score({"response_time_p90": 1.0}, w))


def test_display_units():
    """Times show in minutes, shares in percent."""
    assert KPIS["response_time_p90"].show(90.0) == "1.50 min"
    assert KPIS["share_within_target"].show(0.25, signed=True) == "+25.0 %"
    assert KPIS["unserved_incidents"].show(float("nan")) == "-"
