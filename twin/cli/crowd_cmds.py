"""``twin crowd``: run the crowd model alone on a scenario's city and print its KPIs."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from twin.atomic import write_text
from twin.cli import app, console, err_console, user_errors
from twin.cli.maps_cmds import MapsOption, load_scenario_city

if TYPE_CHECKING:  # the model is imported when a run starts, not for `twin --help`
    from twin.crowd.kpis import CrowdKpis


def _minutes(seconds: float) -> str:
    return "-" if not math.isfinite(seconds) else f"{seconds / 60:.1f} min"


def print_kpis(kpis: CrowdKpis, wall: float) -> None:
    """Print a run's KPIs as tables."""
    c = kpis.counts
    table = Table(title=f"crowd after {_minutes(kpis.time)} ({wall:.1f} s wall)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name in ("total", "arrived", "on_link", "at_node", "pending", "stuck"):
        table.add_row(name.replace("_", " "), f"{c[name]:,}")
    for reason, n in kpis.stuck_reasons.items():
        table.add_row(f"  stuck: {reason}", f"{n:,}")
    for key, value in kpis.clearance.items():
        table.add_row(f"clearance {key[1:]} %", _minutes(value))
    where = kpis.max_density_nodes
    table.add_row(
        "max density",
        f"{kpis.max_density:.2f} /m2 on link {where} at {_minutes(kpis.max_density_time)}",
    )
    table.add_row("crush-risk link-minutes (> 4 /m2)", f"{kpis.crush_link_minutes:,.0f}")
    table.add_row("person-minutes in hazardous water", f"{kpis.person_minutes_in_hazard:,.0f}")
    console.print(table)
    dest = Table(title="destinations")
    for col in ("name", "group", "capacity", "occupancy", "overflow"):
        dest.add_column(col, justify="left" if col in ("name", "group") else "right")
    for d in kpis.destinations:
        if d["occupancy"] or d["overflow"] or math.isfinite(d["capacity"]):
            cap = "-" if not math.isfinite(d["capacity"]) else f"{d['capacity']:,.0f}"
            dest.add_row(d["name"], d["group"], cap, f"{d['occupancy']:,}", f"{d['overflow']:,}")
    console.print(dest)


@app.command("crowd")
@user_errors
def crowd_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (YAML).")],
    until: Annotated[
        float | None, typer.Option(help="Simulated seconds (default: the scenario's duration).")
    ] = None,
    dt: Annotated[float, typer.Option(help="Time step (s).")] = 1.0,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the KPIs to this JSON file.")
    ] = None,
    maps: MapsOption = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Run the pedestrians of a scenario (evacuation on foot, crowd events) and print KPIs."""
    from twin.crowd.scenario import crowd_from_scenario
    from twin.scenario.loader import load_plans, load_scenario

    sc = load_scenario(scenario)
    plans = load_plans(sc)
    pack = load_scenario_city(sc, maps)
    run = crowd_from_scenario(sc, pack, plans[0] if plans else None)
    end = sc.time.duration if until is None else until
    start = time.perf_counter()
    with Progress(
        TextColumn("[bold blue]crowd"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[walking]} walking"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not progress,
    ) as bar:
        task = bar.add_task("crowd", total=end, walking=0)

        def on_progress(model) -> None:
            c = model.counts()
            bar.update(task, completed=model.t, walking=f"{c['on_link'] + c['at_node']:,}")

        run.run(end, dt=dt, on_progress=on_progress)
    kpis = run.model.kpis()
    print_kpis(kpis, time.perf_counter() - start)
    if json_out is not None:
        write_text(json_out, json.dumps(kpis.as_dict(), indent=2, default=float))
