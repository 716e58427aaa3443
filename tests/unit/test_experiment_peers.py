"""The CI switch for peer tools: a missing peer skips locally but fails under
``TWIN_REQUIRE_PEERS=1`` (set by ``.ci/run``), so a comparison cannot silently not run."""

from __future__ import annotations

from pathlib import Path

import pytest
from peers import require_peer

REPO = Path(__file__).resolve().parents[2]


def test_missing_peer_skips_by_default(monkeypatch):
    """Without the switch a missing peer is a skip."""
    monkeypatch.delenv("TWIN_REQUIRE_PEERS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="twin_no_such_peer"):
        require_peer("twin_no_such_peer")


def test_missing_peer_fails_when_required(monkeypatch):
    """With ``TWIN_REQUIRE_PEERS=1`` a missing peer is a failure naming the switch."""
    monkeypatch.setenv("TWIN_REQUIRE_PEERS", "1")
    with pytest.raises(pytest.fail.Exception, match="TWIN_REQUIRE_PEERS=1"):
        require_peer("twin_no_such_peer")


def test_present_peer_is_imported(monkeypatch):
    """An installed module is returned (here a standard one stands in for a peer)."""
    monkeypatch.setenv("TWIN_REQUIRE_PEERS", "1")
    assert require_peer("json").dumps([1]) == "[1]"


def test_ci_requires_peers_and_maps():
    """``.ci/run`` sets both switches, so CI fails where a developer's run would skip."""
    text = (REPO / ".ci" / "run").read_text()
    assert "export TWIN_REQUIRE_PEERS=1" in text
    assert "export TWIN_REQUIRE_MAPS=1" in text
