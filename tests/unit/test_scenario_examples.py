"""The ready-to-run files in scenarios/ validate, and the checked-in JSON Schemas are current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twin.scenario import Scenario, load_plans, validate_file
from twin.scenario.jsonschema import SCHEMA_DIR, SCHEMAS, stale_schemas, write_schemas
from twin.scenario.loader import plain, read_yaml

SCENARIOS = Path(__file__).parents[2] / "scenarios"
EXAMPLES = sorted(SCENARIOS.rglob("*.yaml"))


def test_there_are_examples() -> None:
    """The examples the docs promise exist."""
    names = {p.relative_to(SCENARIOS).as_posix() for p in EXAMPLES}
    assert {
        "monaco_flash_flood.yaml",
        "plans/monaco_baseline.yaml",
        "plans/monaco_two_stations.yaml",
    } <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_validates(path: Path) -> None:
    """Every example file validates, with the plans it names."""
    result = validate_file(path)
    if isinstance(result, Scenario):
        load_plans(result)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_points_editors_at_the_schema(path: Path) -> None:
    """Every example starts with the YAML language server's schema comment, and it resolves."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    target = (path.parent / first.split("=", 1)[1]).resolve()
    assert target.parent == SCHEMA_DIR.resolve()
    assert target.name in SCHEMAS


def test_checked_in_schemas_are_up_to_date() -> None:
    """The JSON Schemas beside the models match them (regenerate with `twin schema`)."""
    assert stale_schemas() == [], "run: twin schema --out twin/scenario"


def test_write_schemas(tmp_path: Path) -> None:
    """write_schemas writes both files, complete, and nothing else."""
    written = write_schemas(tmp_path)
    assert sorted(p.name for p in written) == sorted(SCHEMAS)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(SCHEMAS)
    assert stale_schemas(tmp_path) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_pass_the_json_schema(path: Path) -> None:
    """What editors check agrees with the loader on the examples."""
    jsonschema = pytest.importorskip("jsonschema")
    data = plain(read_yaml(path))
    if "start" in data.get("time", {}):
        data["time"]["start"] = data["time"]["start"].isoformat()
    name = "plan.schema.json" if data.get("kind") == "plan" else "scenario.schema.json"
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(data)
