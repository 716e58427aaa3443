"""``twin validate`` and ``twin schema``: check scenario and plan files, export their schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from twin.cli import app, console, user_errors
from twin.cli.maps_cmds import MapsOption
from twin.errors import Problem, ScenarioError, TwinError, UserInputError
from twin.scenario.hazards import (
    CrowdEvent,
    Drainage,
    GroundCollapse,
    Infiltration,
    Inflow,
    Rainfall,
    SeaLevel,
)
from twin.scenario.jsonschema import write_schemas
from twin.scenario.loader import load_plans, validate_file
from twin.scenario.plan import Plan
from twin.scenario.quantities import RAIN_RATE, humanize_duration
from twin.scenario.schema import Scenario

_MM_H = RAIN_RATE.units["mm/h"]


def _rain_depth(hazard: Rainfall, end: float) -> float:
    """Rain depth (mm) of a step-wise hyetograph up to ``end`` (s)."""
    points = hazard.hyetograph
    depth = 0.0
    for i, point in enumerate(points):
        until = min(points[i + 1].at if i + 1 < len(points) else end, end)
        depth += point.intensity * max(until - point.at, 0.0)
    return depth * 1000.0


def describe_hazard(hazard: object, end: float) -> str:
    """One line about a hazard, in people's units.

    Parameters
    ----------
    hazard
        A hazard model.
    end
        Scenario duration (s), to total the rain.
    """
    match hazard:
        case Rainfall():
            peak = max(p.intensity for p in hazard.hyetograph) / _MM_H
            total = _rain_depth(hazard, end)
            zone = " over a zone" if hazard.zone else ""
            return f"rainfall{zone}: peak {peak:g} mm/h, {total:.0f} mm in all"
        case Inflow():
            peak = max(p.discharge for p in hazard.hydrograph)
            return (
                f"inflow {hazard.name!r}: peak {peak:g} m3/s from {humanize_duration(hazard.start)}"
            )
        case SeaLevel():
            levels = [p.level for p in hazard.levels]
            if len(levels) == 1:
                return f"sea level: fixed at {levels[0]:g} m"
            return f"sea level: {min(levels):g} to {max(levels):g} m"
        case Drainage():
            return f"drainage: {hazard.capacity / _MM_H:g} mm/h"
        case Infiltration():
            return f"infiltration: {hazard.rate / _MM_H:g} mm/h"
        case GroundCollapse():
            return f"ground collapse at {humanize_duration(hazard.at)}, radius {hazard.radius:g} m"
        case CrowdEvent():
            return (
                f"crowd event: {hazard.people} people leave from "
                f"{humanize_duration(hazard.start)} over {humanize_duration(hazard.duration)}"
            )
    return type(hazard).__name__  # pragma: no cover


def _scenario_table(scenario: Scenario, plans: list[Plan]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    city = scenario.city
    source = f"{city.name} (catalogue)" if city.name else str(city.osm)
    terrain = "flat" if city.flat else (f"{len(city.dem)} DEM file(s)" if city.dem else "DEM")
    table.add_row("city", escape(f"{source}, {terrain}, {city.resolution:g} m grid"))
    start = f" from {scenario.time.start.isoformat()}" if scenario.time.start else ""
    table.add_row("time", escape(f"{humanize_duration(scenario.time.duration)}{start}"))
    reps = f", {scenario.replications} replications" if scenario.replications else ""
    table.add_row("seed", f"{scenario.seed}{reps}")
    if scenario.population is not None:
        table.add_row(
            "population",
            f"{scenario.population:,} residents (incident rates scale with it, not with the "
            "occupants of mapped buildings)",
        )
    hazards = [describe_hazard(h, scenario.time.duration) for h in scenario.hazards]
    table.add_row("hazards", escape("\n".join(hazards) or "none"))
    if scenario.flood.gauges:
        table.add_row("gauges", escape(", ".join(g.name for g in scenario.flood.gauges)))
    demand = scenario.demand
    parts = [f"{len(demand.od)} OD slice(s)"] if demand.od else []
    if demand.trips:
        parts.append(f"trips from {demand.trips.name}")
    if demand.evacuation:
        parts.append(f"evacuation ordered at {humanize_duration(demand.evacuation.order_time)}")
    table.add_row("demand", escape(", ".join(parts) or "none"))
    rates = {k: v for k, v in scenario.incidents.background.model_dump().items() if v}
    text = ", ".join(f"{k} {v:g}" for k, v in rates.items())
    text = f"{text} per 1000 residents per day" if text else "no background"
    text += f"; {len(scenario.incidents.scripted)} scripted"
    table.add_row("incidents", escape(text))
    table.add_row("plans", escape("\n".join(_plan_line(p) for p in plans) or "none"))
    table.add_row("objective", escape(scenario.objectives.primary))
    return table


def _plan_line(plan: Plan) -> str:
    units = ", ".join(f"{n} {kind}" for kind, n in plan.unit_totals().items())
    return f"{plan.name}: {len(plan.stations)} station(s) ({units}), {plan.dispatch.policy}"


def _plan_table(plan: Plan) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for station in plan.stations:
        units = ", ".join(f"{n} {k}" for k, n in station.units.model_dump().items() if n)
        table.add_row("station", escape(f"{station.name}: {units}"))
    table.add_row("dispatch", escape(plan.dispatch.policy))
    capacity = sum(s.capacity for s in plan.shelters)
    table.add_row("shelters", f"{len(plan.shelters)} (capacity {capacity} people)")
    if plan.evacuation_routes:
        table.add_row("routes", escape(", ".join(r.name for r in plan.evacuation_routes)))
    if plan.closures:
        table.add_row("closures", escape(", ".join(c.name for c in plan.closures)))
    return table


def print_problems(path: Path, problems: list[Problem]) -> None:
    """Print a file's problems, one block each: where, what, and the fix."""
    count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
    console.print(f"[bold red]✗[/bold red] {escape(str(path))}: {count}", soft_wrap=True)
    for problem in problems:
        where = str(problem.file or path) + (f":{problem.line}" if problem.line else "")
        field = f" {problem.field}:" if problem.field else ""
        console.print(
            f"  {escape(where)}:{escape(field)} {escape(problem.message)}", soft_wrap=True
        )
        if problem.fix:
            console.print(f"      [dim]fix:[/dim] {escape(problem.fix)}", soft_wrap=True)


def _on_city(scenario: Scenario, path: Path, plans: list[Plan], maps: list[Path] | None) -> list:
    """Problems of a scenario and its plans on their city (loaded or built first)."""
    from twin.cli.maps_cmds import load_scenario_city
    from twin.coupling.scenario_checks import check_on_city

    try:
        pack = load_scenario_city(scenario, maps)
    except UserInputError as exc:
        return exc.problems
    except TwinError as exc:
        return [Problem(f"cannot load the city: {exc}", path, field="city")]
    return check_on_city(scenario, path, list(zip(scenario.plans, plans, strict=True)), pack)


def _check(path: Path, *, city: bool = True, maps: list[Path] | None = None) -> bool:
    """Validate one file and print what it holds or what is wrong; True if valid.

    A scenario is checked against its city too unless ``city`` is False."""
    try:
        result = validate_file(path)
        plans: list[Plan] = []
        if isinstance(result, Scenario):
            plans = load_plans(result)
    except ScenarioError as exc:
        print_problems(path, exc.problems)
        return False
    if city and isinstance(result, Scenario):
        problems = _on_city(result, path, plans, maps)
        if problems:
            print_problems(path, problems)
            return False
    kind = "scenario" if isinstance(result, Scenario) else "plan"
    title = f"[bold green]✓[/bold green] {escape(str(path))}: {kind} {escape(repr(result.name))}"
    console.print(title, soft_wrap=True)
    if result.description:
        console.print(f"  {escape(result.description.strip())}", soft_wrap=True)
    table = _scenario_table(result, plans) if isinstance(result, Scenario) else _plan_table(result)
    console.print(table)
    return True


@app.command("validate")
@user_errors
def validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario or plan files (YAML).")],
    no_city: Annotated[
        bool,
        typer.Option("--no-city", help="Check the files only, not their places on the map."),
    ] = False,
    maps: MapsOption = None,
) -> None:
    """Check scenario and plan files; show what each holds, or every problem with its line.

    A scenario's plan files are checked too, and, unless --no-city, every place of both
    against the city (built or loaded from the cache first): on the map, near the roads or
    footpaths each model uses, inflows not on buildings. Exits with 0 if all files are
    valid, else 2.
    """
    bad = [path for path in files if not _check(path, city=not no_city, maps=maps)]
    if bad:
        console.print(f"[bold red]{len(bad)} of {len(files)} file(s) invalid[/bold red]")
        raise typer.Exit(code=2)


@app.command("schema")
@user_errors
def schema(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder to write the schema files to.")
    ] = Path("."),
) -> None:
    """Write scenario.schema.json and plan.schema.json for editors (YAML language server)."""
    try:
        written = write_schemas(out)
    except OSError as exc:
        raise UserInputError(f"cannot write schemas to {out}: {exc}") from None
    for path in written:
        console.print(f"wrote {escape(str(path))}", soft_wrap=True)
