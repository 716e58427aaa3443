"""Registries of plug-ins by name, shared by the layer that defines them and the files that
name them.

A plug-in (a dispatch policy) is defined in a model package and named in a plan file. The
plan schema (``twin.scenario``) sits below the models and may not import them, so the names
live here, at the base: the model registers into the dictionary, the schema reads it.

:data:`DISPATCH_POLICIES` is the response model's registry itself
(``twin.response.policies.POLICIES`` is this dictionary): register a policy with
``twin.response.policies.register`` and a plan may name it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

DISPATCH_POLICIES: dict[str, type] = {}
"""Dispatch policy classes by name (filled by ``twin.response.policies.register``)."""

AFTER_RUN: dict[str, Callable[..., Path | None]] = {}
"""What runs after ``twin run`` and ``twin compare`` (unless ``--no-report``), by name:
``hook(kind, target, **details)`` returning the file it wrote. Kind ``"run"``: target the
output folder, details ``city`` (name) and ``resolution`` (m); kind ``"compare"``: target
the study file, details ``study_id``. Filled by packages above twin when their ``twin.cli``
entry point loads (viz registers ``report``, the HTML report), so twin never imports them."""


def after_run(kind: str, target: Path, **details: Any) -> list[tuple[str, Path | None, str]]:
    """Call every :data:`AFTER_RUN` hook; returns ``(name, file written, error)`` for each.

    The run's own outputs are on disk by then, so a hook that fails does not fail the run:
    its error comes back in words (``error`` is ``""`` when it succeeded).
    """
    done = []
    for name, hook in AFTER_RUN.items():
        try:
            done.append((name, hook(kind, Path(target), **details), ""))
        except Exception as exc:  # reported to the user, not swallowed
            done.append((name, None, f"{type(exc).__name__}: {exc}"))
    return done
