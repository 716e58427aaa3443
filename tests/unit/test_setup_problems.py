"""The model set-ups in twin/coupling name a problem's file and line from the positions the
loader kept (twin.scenario.problems.where): they never read a scenario or plan file again,
so a file changed or removed after loading still gets the lines it was loaded with."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.coupling.crowd_setup import crowd_from_scenario
from twin.coupling.scenario_checks import check_on_city
from twin.coupling.traffic_setup import traffic_from_scenario
from twin.errors import UserInputError
from twin.scenario.loader import load_scenario

STADIUM = Path(__file__).resolve().parents[2] / "scenarios" / "monaco_stadium_exit.yaml"
OFF_MAP = "[7.3000, 43.6500]"  # at sea, some 10 km south-west of Monaco
FAR_ROAD = "[7.4300, 43.7200]"  # on the map, in the harbour's water, far from any road


def _scenario(tmp_path: Path, venue: str, origin: str) -> tuple[Path, int, int]:
    """The stadium scenario without plans, its venue at ``venue`` and one OD flow from
    ``origin``; the file and the lines of the venue and the flow."""
    text = STADIUM.read_text().replace("plans:\n  - plans/monaco_stadium_response.yaml\n", "")
    start = text.index("    venue: ")
    end = text.index("\n", start)
    text = text[:start] + f"    venue: [{venue}, {venue}, {venue}]" + text[end:]
    text += (
        "\ndemand:\n  od:\n    - start: 0\n      end: 30 min\n      flows:\n"
        f"        - {{origin: {origin}, destination: [7.4160, 43.7285], vehicles: 10}}\n"
    )
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    lines = text.splitlines()
    venue_line = next(i for i, s in enumerate(lines, 1) if s.startswith("    venue: "))
    flow_line = next(i for i, s in enumerate(lines, 1) if "{origin:" in s)
    return path, venue_line, flow_line


def _scramble(path: Path) -> None:
    """Move every line of ``path`` down by 40 (a file edited after it was loaded)."""
    path.write_text("#\n" * 40 + path.read_text())


def test_the_crowd_set_up_names_the_line_the_scenario_was_loaded_with(tmp_path, monaco_pack):
    """A venue off the map is reported at the venue's line of the file as loaded; the old
    set-up read the file again and named the line of the changed file."""
    path, venue_line, _ = _scenario(tmp_path, OFF_MAP, "[7.4340, 43.7460]")
    sc = load_scenario(path)
    _scramble(path)
    with pytest.raises(UserInputError) as err:
        crowd_from_scenario(sc, monaco_pack, scenario_file=path)
    (problem,) = err.value.problems
    assert (problem.file, problem.line, problem.field) == (path, venue_line, "hazards.0.venue")


def test_the_traffic_set_up_names_the_line_the_scenario_was_loaded_with(tmp_path, monaco_pack):
    """An OD origin far from every road is reported at its flow's line as loaded, also
    with the file gone (the old set-up read it again and gave no file at all)."""
    path, _, flow_line = _scenario(tmp_path, "[7.4160, 43.7280]", FAR_ROAD)
    sc = load_scenario(path)
    path.unlink()
    with pytest.raises(UserInputError) as err:
        traffic_from_scenario(sc, monaco_pack)
    (problem,) = err.value.problems
    assert problem.field.startswith("demand.od.0.flows.0")
    assert (problem.file, problem.line) == (path, flow_line)


def test_validate_names_the_lines_the_scenario_was_loaded_with(tmp_path, monaco_pack):
    """twin validate's city checks (check_on_city) locate a venue off the map at its line
    as loaded."""
    path, venue_line, _ = _scenario(tmp_path, OFF_MAP, "[7.4340, 43.7460]")
    sc = load_scenario(path)
    _scramble(path)
    problems = [p for p in check_on_city(sc, path, [], monaco_pack) if "venue" in p.field]
    assert problems
    assert {(p.file, p.line) for p in problems} == {(path, venue_line)}
