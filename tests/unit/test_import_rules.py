"""The import rules of ``pyproject.toml`` hold with no exception listed (issue 13)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import grimp
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_contracts_list_no_exception():
    """No contract carries ``ignore_imports``: every rule holds for the whole code."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert [c["id"] for c in config["contracts"] if c.get("ignore_imports")] == []


def test_crowd_kpis_do_not_import_the_model():
    """The crowd's KPIs read the person states from ``twin.crowd.states``: ``crowd.model``
    imports ``crowd.kpis`` (to collect its KPIs), never the reverse, even inside a function."""
    graph = grimp.build_graph("twin", exclude_type_checking_imports=True)
    chain = graph.find_shortest_chain(importer="twin.crowd.kpis", imported="twin.crowd.model")
    assert chain is None


def test_lint_imports_passes(monkeypatch):
    """``lint-imports`` (as ``make lint`` runs it) keeps every contract."""
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0
