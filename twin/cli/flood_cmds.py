"""``twin flood``: run the flood model alone on a city's terrain and write its outputs.

:func:`run_flood_command` is what the command calls once the scenario and the city are
loaded and the scenario is translated into forcing (:mod:`twin.coupling.flood_setup`): it
runs the flood on the engine (:func:`twin.flood.component.run_flood`; no loop here) and
prints the summary::

    setup = flood_setup(scenario, pack)
    run_flood_command(pack.terrain, setup.forcing, setup.config, out_dir, duration=7200.0,
                      buildings=setup.buildings)
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from twin.cli import app, user_errors
from twin.cli import console as cli_console
from twin.cli._options import (
    DURATION_HELP,
    CsvOption,
    SetOption,
    scenario_with,
    seconds,
    show_progress,
    with_csv,
)
from twin.cli._threads import ThreadsOption, use_threads
from twin.cli.maps_cmds import MapsOption, load_scenario_city
from twin.errors import Problem, UserInputError

if TYPE_CHECKING:  # the model (numba) is imported when a run starts, not for `twin --help`
    from twin.flood import FloodConfig, Forcing
    from twin.flood.component import FloodRunReport
    from twin.flood.grid import BuildingRaster


def run_flood_command(
    terrain,
    forcing: Forcing,
    config: FloodConfig,
    out_dir: Path | str,
    *,
    duration: float,
    buildings: BuildingRaster | None = None,
    sea: np.ndarray | None = None,
    snapshots: bool = True,
    console: Console | None = None,
    progress: bool = True,
    start_time: datetime | None = None,
) -> FloodRunReport:
    """Run the flood on the engine (:func:`twin.flood.component.run_flood`, same
    parameters) and print its summary on ``console``.

    Raises
    ------
    UserInputError
        Bad forcing or settings (before anything is written).
    KeyboardInterrupt
        On Ctrl-C; the files of the unfinished run are deleted first.
    """
    from twin.flood.component import run_flood

    _check_duration(duration, "duration")
    console = console or Console()
    report = run_flood(
        terrain,
        forcing,
        config,
        out_dir,
        duration=duration,
        buildings=buildings,
        sea=sea,
        snapshots=snapshots,
        console=console,
        progress=progress,
        start_time=start_time,
    )
    _print_summary(console, report, Path(out_dir))
    for line in pit_lines(terrain, config, buildings, sea):
        console.print(line, markup=False)
    return report


def _check_duration(seconds: float, what: str) -> None:
    """Refuse a run length that is not a finite number of seconds > 0 (inf, NaN, -5)."""
    if not (math.isfinite(seconds) and seconds > 0):
        raise UserInputError(
            Problem(
                f"{seconds!r} s: a run needs a finite number of seconds > 0",
                field=what,
                fix="e.g. --until 7200 (2 h), or leave it out for the scenario's duration",
            )
        )


def _clock(seconds: float) -> str:
    """``h:mm:ss`` of a time in seconds."""
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _print_summary(console: Console, report: FloodRunReport, out_dir: Path) -> None:
    b = report.balance
    table = Table(title=f"Flood run: {_clock(b.time)} simulated in {report.wall_seconds:.1f} s")
    table.add_column("volume (m3)")
    table.add_column("value", justify="right")
    for label, value in (
        ("rain", b.rain),
        ("inflow", b.inflow),
        ("out over the map edges", b.edge_outflow),
        ("into the sea (net)", b.to_sea),
        ("drained by sewers", b.drainage),
        ("infiltrated", b.infiltration),
        ("on land now", b.stored),
        ("balance error", b.error),
    ):
        table.add_row(label, f"{value:,.1f}")
    console.print(table)
    console.print(
        f"{report.substeps} sub-steps, {report.cell_updates_per_second / 1e6:.1f} M "
        f"cell-updates/s; relative volume error {b.relative_error:.1e}; "
        f"{len(report.files)} files in {out_dir}"
    )
    for line in limiter_lines(report):
        console.print(line, markup=False)


def limiter_lines(report: FloodRunReport) -> list[str]:
    """The limiters' hits in words: which, how often, where (the most hit cell)."""
    hits = report.limiters
    if hits is None:
        return []

    def where(worst: tuple[int, int, int] | None) -> str:
        if worst is None or report.grid is None:
            return ""
        row, col, n = worst
        lonlat = report.grid.cell_lonlat(row, col)
        at = f"{lonlat[0]:.5f}, {lonlat[1]:.5f}" if lonlat else f"row {row}, column {col}"
        return f"; most at {at} ({n:,} times)"

    if hits.froude_face_steps:
        froude = (
            f"Froude cap: hit {hits.froude_face_steps:,} times on faces of "
            f"{hits.froude_cells:,} cells{where(hits.froude_worst)}"
        )
    else:
        froude = "Froude cap: never hit (off unless flood.froude_limit is set)"
    outflow = (
        f"positivity limiter: scaled {hits.outflow_cell_steps:,} cell outflows "
        f"({hits.outflow_cell_steps / max(hits.substeps, 1):,.1f} a sub-step) in "
        f"{hits.outflow_cells:,} cells{where(hits.outflow_worst)}; it keeps depths >= 0 "
        "where thin sheets drain"
    )
    return [froude, outflow]


#: Closed hollows deeper than this (m) are reported.
PIT_DEPTH = 1.0


def pit_lines(terrain, config: FloodConfig, buildings=None, sea=None) -> list[str]:
    """Closed hollows deeper than :data:`PIT_DEPTH` on the flood's grid, in words."""
    from twin.flood.grid import GridSpec, find_pits, sea_mask

    z = np.asarray(terrain.elevation, dtype=np.float64)
    blocked = np.zeros(z.shape, bool)
    if buildings is not None and config.buildings == "obstacles":
        blocked |= buildings.mask
    elif buildings is not None and config.buildings == "raised":
        z = z + buildings.height
    if config.domain is not None:
        blocked |= ~np.asarray(config.domain, bool)
    if sea is None and config.sea_elevation is not None:
        sea = sea_mask(z, config.sea_elevation)
    pits = find_pits(z, terrain.resolution, blocked=blocked, sea=sea, min_depth=PIT_DEPTH)
    if not pits:
        return [f"closed hollows deeper than {PIT_DEPTH:g} m: none"]
    deepest = pits[0]
    lonlat = GridSpec.from_terrain(terrain).cell_lonlat(deepest.row, deepest.col)
    at = f"{lonlat[0]:.5f}, {lonlat[1]:.5f}" if lonlat else f"row {deepest.row}, col {deepest.col}"
    return [
        f"closed hollows deeper than {PIT_DEPTH:g} m: {len(pits)}, holding "
        f"{sum(p.volume for p in pits):,.0f} m3 before water runs on (deepest "
        f"{deepest.depth:.1f} m, {deepest.volume:,.0f} m3, at {at}); DEM artefacts such as "
        "burnt-in bridges look like this"
    ]


@app.command("flood")
@user_errors
def flood_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (YAML).")],
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: the scenario's outputs folder / flood)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help=f"End of the run: {DURATION_HELP}; default the scenario's duration."),
    ] = None,
    snapshots: Annotated[
        bool, typer.Option(help="Write depth and speed grids every output interval.")
    ] = True,
    set_: SetOption = None,
    maps: MapsOption = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    threads: ThreadsOption = None,
    csv: CsvOption = None,
) -> None:
    """Run a scenario's flood (rain, inflows, sea level, drainage) and write its maps.

    Writes depth and speed snapshots, maximum depth, time of first wetting, gauge series and
    the volume balance.
    """
    from twin.coupling.flood_setup import flood_setup, locate_in_scenario
    from twin.manifest import record_run
    from twin.tables import SERIES, series_tables

    started = datetime.now(UTC)
    end = seconds(until, "--until")  # before the (slow) city is loaded
    use_threads(threads)
    sc = with_csv(scenario_with(scenario, set_), csv)
    pack = load_scenario_city(sc, maps)
    setup = flood_setup(sc, pack)
    folder = out if out is not None else Path(sc.outputs.folder or f"results/{sc.name}") / "flood"
    try:
        run_flood_command(
            setup.terrain,
            setup.forcing,
            setup.config,
            folder,
            duration=sc.time.duration if end is None else end,
            buildings=setup.buildings,
            snapshots=snapshots,
            console=cli_console,
            progress=show_progress(progress),
            start_time=sc.time.start,
        )
    except UserInputError as exc:
        raise locate_in_scenario(exc, sc, scenario) from None
    extra = {"until_s": end, "set": set_ or []}
    series_tables(folder, SERIES["flood"], csv=sc.outputs.csv)
    record_run(folder, scenario=sc, started=started, pack=pack, extra=extra)
