"""``twin traffic``: run a scenario's road traffic alone, with a progress bar, and write it."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from twin.cli import app, console, user_errors
from twin.cli.maps_cmds import MapsOption, load_scenario_city
from twin.scenario.loader import load_scenario


@app.command("traffic")
@user_errors
def traffic_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (YAML).")],
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: the scenario's outputs folder / traffic)."),
    ] = None,
    until: Annotated[
        float | None, typer.Option(help="Simulated seconds (default: the scenario's duration).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Model setting KEY=VALUE (dt, route_slice, reroute_every, record_every, "
            "priority_share, stuck_time, max_snap); repeatable.",
        ),
    ] = None,
    maps: MapsOption = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Run a scenario's vehicles (trips, OD slices, evacuation; road closures).

    Writes trips.csv, link_series.npz, mfd.csv and kpis.json.
    """
    from twin.traffic import write_outputs
    from twin.traffic.scenario import parse_settings, traffic_from_scenario

    settings = parse_settings(set_ or [])
    sc = load_scenario(scenario)
    pack = load_scenario_city(sc, maps)
    run = traffic_from_scenario(sc, pack, settings, path=scenario)
    end = sc.time.duration if until is None else until
    folder = out if out is not None else Path(sc.outputs.folder or f"results/{sc.name}") / "traffic"
    start = time.perf_counter()
    with Progress(
        TextColumn("traffic"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not progress,
        transient=True,
    ) as bar:
        task = bar.add_task("run", total=end)
        run.run(end, progress=lambda t: bar.update(task, completed=t))
    wall = time.perf_counter() - start
    model = run.model
    model.check_conservation()
    trips = model.trips()
    files = write_outputs(folder, trips, model.series, model.net.link_ids, model.net.node_ids)
    k = trips.kpis()
    table = Table(title=f"traffic after {end / 60:.0f} min ({wall:.1f} s wall)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in k.items():
        if not math.isfinite(value):
            text = f"- ({trips.UNDEFINED.get(key, 'undefined')})"
        elif isinstance(value, int):
            text = f"{value:,}"
        elif key.endswith("_share"):
            text = f"{100 * value:.1f} %"
        else:
            text = f"{value:,.1f}"
        table.add_row(key.replace("_", " "), text)
    for when, links, name in run.closures:
        table.add_row(f"closed at {when / 60:.0f} min: {name}", f"{links.size} links")
    console.print(table)
    for path in files:
        console.print(f"wrote {path}")
