"""Peer tools the validation tests compare twin with (UXsim, Landlab, JuPedSim).

A missing peer skips its tests on a developer's machine, but fails them when
``TWIN_REQUIRE_PEERS=1`` (``.ci/run`` sets it): in CI a comparison that silently did not
run is a failure. Importable from any test (pytest puts ``tests/`` on the path for
``conftest.py``).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

ENV = "TWIN_REQUIRE_PEERS"


def require_peer(module: str) -> ModuleType:
    """Import the peer ``module``; skip (or, with ``TWIN_REQUIRE_PEERS=1``, fail) if it is
    not installed. Works at module level and inside a test."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        message = f"peer {module!r} is not installed ({exc}); pip install -e '.[test]'"
        if os.environ.get(ENV) == "1":
            pytest.fail(f"{message} ({ENV}=1)", pytrace=False)
        pytest.skip(message, allow_module_level=True)
