"""``twin maps list|info|fetch`` and ``twin demo``: the city catalogue and city packs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from twin.cli import app, console, err_console, user_errors

maps_app = typer.Typer(help="Known cities, city packs and map downloads.", no_args_is_help=True)
app.add_typer(maps_app, name="maps")

MapsOption = Annotated[
    list[Path] | None,
    typer.Option("--maps", help="Folder to search for map files (before TWIN_MAPS); repeatable."),
]


def load_with_progress(source: str, **options):
    """``load_city`` with a rich progress bar over the build steps (none on a cache hit).

    The libraries a pack needs are imported before the clock starts, so the time reported
    is the load's own (``benchmarks/city_load.py`` reports the import cost too).
    """
    import geopandas  # noqa: F401
    import networkx  # noqa: F401

    import twin.city.terrain  # noqa: F401
    from twin.city.build import BUILD_STEPS
    from twin.city.load import load_city

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(f"building {source}", total=len(BUILD_STEPS))
        seen: list[str] = []

        def on_step(label: str) -> None:
            if seen:
                progress.advance(task)
            seen.append(label)
            progress.update(task, description=f"{source}: {label}")

        start = time.perf_counter()
        pack = load_city(source, on_step=on_step, **options)
        elapsed = time.perf_counter() - start
    return pack, elapsed, bool(seen)


def load_scenario_city(scenario, maps: list[Path] | None = None):
    """The city pack of a validated scenario, with a progress bar while it builds."""
    from twin.coupling.city_setup import city_source

    source, options = city_source(scenario)
    pack, _, _ = load_with_progress(str(source), maps=maps, **options)
    return pack


def print_summary(summary: dict, elapsed: float, built: bool) -> None:
    """Print a pack summary as rich tables."""
    table = Table(title=f"City pack: {summary['name']}", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    rows = [
        ("CRS", summary["crs"]),
        (
            "drive graph",
            f"{summary['drive_nodes']:,} nodes, {summary['drive_edges']:,} directed edges, "
            f"{summary['drive_km']:.1f} km; largest strongly connected component "
            f"{summary['drive_largest_scc_nodes']:,} nodes "
            f"({100 * summary['drive_largest_scc_nodes'] / summary['drive_nodes']:.0f} %)",
        ),
        (
            "walk graph",
            f"{summary['walk_nodes']:,} nodes, {summary['walk_edges']:,} edges, "
            f"{summary['walk_km']:.1f} km",
        ),
        (
            "buildings",
            f"{summary['buildings']:,}; height from "
            + ", ".join(f"{k} {v}" for k, v in summary["buildings_height_from"].items())
            + f"; about {summary['occupants']:,.0f} occupants",
        ),
        (
            "facilities",
            ", ".join(f"{k} {v}" for k, v in summary["facilities"].items()) or "none",
        ),
        (
            "land cover",
            ", ".join(f"{k} {v}" for k, v in summary["landcover"].items()) or "none",
        ),
        (
            "terrain",
            f"{summary['terrain_shape'][1]} x {summary['terrain_shape'][0]} cells at "
            f"{summary['terrain_resolution_m']:g} m, {summary['terrain_min_m']:.1f} to "
            f"{summary['terrain_max_m']:.1f} m ({summary['terrain_datum']}); "
            f"{summary['terrain_voids_filled']} void cells filled",
        ),
        ("bbox (lon/lat)", ", ".join(f"{v:.5f}" for v in summary["bbox_lonlat"])),
        (
            "time",
            f"built in {elapsed:.2f} s"
            if built
            else f"loaded from cache in {elapsed:.3f} s "
            f"(first build took {summary['build_seconds']:.2f} s)",
        ),
    ]
    for row in rows:
        table.add_row(*row)
    console.print(table)
    by_class = Table(title="Drivable km by road class", title_justify="left")
    by_class.add_column("class")
    by_class.add_column("km", justify="right")
    for cls, km in summary["drive_km_by_class"].items():
        by_class.add_row(cls, f"{km:.2f}")
    console.print(by_class)
    console.print(f"Map data {summary['attribution']}", style="dim")


@maps_app.command("list")
@user_errors
def list_maps(maps: MapsOption = None) -> None:
    """List the catalogue's cities, whether their files are on the maps path, and licences."""
    from twin.city.catalogue import load_catalogue, missing_files

    table = Table(title="Known cities")
    for col in ("name", "title", "files", "licence"):
        table.add_column(col)
    for name, entry in load_catalogue().cities.items():
        missing = missing_files(name, maps)
        status = (
            "[green]found[/green]"
            if not missing
            else ("[red]missing[/red] " + ", ".join(m.file for m in missing))
        )
        if entry.osm.package:
            status = f"[green]in the {entry.osm.package} package[/green]"
        table.add_row(name, entry.title, status, entry.osm.licence)
    console.print(table)


@maps_app.command("info")
@user_errors
def info(
    city: Annotated[str, typer.Argument(help="Catalogue name or OSM file.")],
    dem: Annotated[
        list[Path] | None, typer.Option("--dem", help="DEM file (tiles are mosaicked); repeatable.")
    ] = None,
    flat: Annotated[bool, typer.Option(help="No terrain: flat at 0 m.")] = False,
    resolution: Annotated[float, typer.Option(help="Terrain cell size (m).", min=0.5)] = 10.0,
    service_roads: Annotated[bool, typer.Option(help="Include service roads.")] = False,
    maps: MapsOption = None,
    cache: Annotated[bool, typer.Option(help="Use the on-disk pack cache.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Build (or load from cache) a city pack and print its summary."""
    pack, elapsed, built = load_with_progress(
        city,
        dem=dem,
        flat=flat,
        resolution=resolution,
        service_roads=service_roads,
        maps=maps,
        use_cache=cache,
    )
    summary = pack.summary()
    if as_json:
        import json

        console.print_json(json.dumps({**summary, "load_seconds": elapsed}))
    else:
        print_summary(summary, elapsed, built)


@maps_app.command("fetch")
@user_errors
def fetch(
    city: Annotated[str | None, typer.Argument(help="Catalogue name to download.")] = None,
    place: Annotated[
        str | None, typer.Option(help="Place name to download through osmnx (Overpass).")
    ] = None,
    dest: Annotated[Path | None, typer.Option(help="Folder to write to.")] = None,
) -> None:
    """Download map files once (needs internet): a catalogue city, or a place by name."""
    from twin.city.fetch import fetch_city, fetch_place

    if (city is None) == (place is None):
        raise typer.BadParameter("give a catalogue name or --place NAME (one of them)")
    if city is not None:
        written = fetch_city(city, dest)
        for path in written:
            console.print(f"fetched and verified {path}")
        if not written:
            console.print(f"{city}: nothing to fetch, every file is already there")
    else:
        path = fetch_place(place, dest)
        console.print(f"saved {path}; try `twin maps info {path} --flat`")
