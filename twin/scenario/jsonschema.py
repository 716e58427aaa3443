"""JSON Schemas of scenario and plan files, for editors (completion, hover docs, checks).

The schemas are generated from the pydantic models and checked in beside this module
(``scenario.schema.json``, ``plan.schema.json``); a test keeps them up to date. Point the YAML
language server at them with a first line such as
``# yaml-language-server: $schema=../twin/scenario/scenario.schema.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from twin.atomic import write_text
from twin.scenario.plan import Plan
from twin.scenario.schema import Scenario

SCHEMA_DIR = Path(__file__).parent
"""Folder of the checked-in schemas."""

SCHEMAS: dict[str, type[BaseModel]] = {
    "scenario.schema.json": Scenario,
    "plan.schema.json": Plan,
}
"""File name of each schema and the model it describes."""


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a file validated by ``model``.

    Parameters
    ----------
    model
        :class:`~twin.scenario.schema.Scenario` or :class:`~twin.scenario.plan.Plan`.
    """
    schema = model.model_json_schema(mode="validation")
    kind = model.model_fields["kind"].default
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://twin.invalid/schemas/{kind}.schema.json",
        "title": f"twin {kind} file",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def schema_text(model: type[BaseModel]) -> str:
    """The schema as the text written to disk (stable key order, trailing newline)."""
    return json.dumps(json_schema(model), indent=2, ensure_ascii=False) + "\n"


def write_schemas(out_dir: Path | str = SCHEMA_DIR) -> list[Path]:
    """Write every schema into ``out_dir``; each file appears complete or not at all.

    Parameters
    ----------
    out_dir
        Folder to write to (created if needed); the package folder by default.

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in SCHEMAS.items():
        written.append(write_text(out / name, schema_text(model)))
    return written


def stale_schemas(folder: Path | str = SCHEMA_DIR) -> list[Path]:
    """Schema files in ``folder`` that are missing or differ from the models."""
    folder = Path(folder)
    stale = []
    for name, model in SCHEMAS.items():
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != schema_text(model):
            stale.append(path)
    return stale
