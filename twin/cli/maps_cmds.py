"""``twin maps list|info|export|facilities|where|fetch``: the city catalogue and city packs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from twin.cli import app, console, err_console, user_errors
from twin.cli._options import show_progress

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
        disable=not show_progress(True),
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


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "-"


def _terrain_text(summary: dict) -> str:
    cells = (
        f"{summary['terrain_shape'][1]} x {summary['terrain_shape'][0]} cells at "
        f"{summary['terrain_resolution_m']:g} m"
    )
    if summary["terrain_flat"]:
        return (
            f"flat: every cell at {summary['terrain_min_m']:g} m ({summary['terrain_datum']}); "
            f"{cells}; no slopes, so water and walkers see no hills"
        )
    return (
        f"{cells}, {summary['terrain_min_m']:.1f} to {summary['terrain_max_m']:.1f} m "
        f"({summary['terrain_datum']}); {summary['terrain_voids_filled']} void cells filled"
    )


def _extent_text(summary: dict) -> str:
    """The data's extent (west, south, east, north), and the file header's box when the two
    differ by more than about 100 m (0.001 degree)."""
    extent, header = summary["extent_lonlat"], summary["bbox_lonlat"]
    text = f"{', '.join(f'{v:.5f}' for v in extent)} (west, south, east, north; from the data)"
    if max(abs(a - b) for a, b in zip(extent, header, strict=True)) > 1e-3:
        text += f"; the file's header says {', '.join(f'{v:.5f}' for v in header)}"
    return text


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
            f"({_share(summary['drive_largest_scc_nodes'], summary['drive_nodes'])})",
        ),
        (
            "walk graph",
            f"{summary['walk_nodes']:,} nodes, {summary['walk_edges']:,} edges, "
            f"{summary['walk_km']:.1f} km; largest connected component "
            f"{summary['walk_largest_component_nodes']:,} nodes "
            f"({_share(summary['walk_largest_component_nodes'], summary['walk_nodes'])})",
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
        ("terrain", _terrain_text(summary)),
        ("extent (lon/lat)", _extent_text(summary)),
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
        elif any(not f.file and not f.package for f in (entry.osm, *entry.dem)):
            status = "[red]the catalogue names no file[/red]"
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

        from twin.atomic import json_ready

        data, nulls = json_ready({**summary, "load_seconds": elapsed})
        if nulls:  # strict JSON: null, and why, instead of a bare NaN token
            data["nulls"] = nulls
        console.print_json(json.dumps(data, allow_nan=False))
    else:
        print_summary(summary, elapsed, built)


@maps_app.command("export")
@user_errors
def export(
    city: Annotated[str, typer.Argument(help="Catalogue name or OSM file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="GeoPackage to write (.gpkg).")],
    dem: Annotated[
        list[Path] | None, typer.Option("--dem", help="DEM file (tiles are mosaicked); repeatable.")
    ] = None,
    flat: Annotated[bool, typer.Option(help="No terrain: flat at 0 m.")] = False,
    resolution: Annotated[float, typer.Option(help="Terrain cell size (m).", min=0.5)] = 10.0,
    service_roads: Annotated[bool, typer.Option(help="Include service roads.")] = False,
    terrain: Annotated[
        bool, typer.Option(help="Also write the terrain as <name>_terrain.tif beside it.")
    ] = True,
    maps: MapsOption = None,
    cache: Annotated[bool, typer.Option(help="Use the on-disk pack cache.")] = True,
) -> None:
    """Write a city pack as a GeoPackage (graphs, buildings, facilities, land cover) and its
    terrain as a GeoTIFF, in the pack's UTM CRS, for QGIS."""
    from twin.atomic import ensure_writable_file
    from twin.city.export import export_city

    ensure_writable_file(output, field="--output")
    pack, _, _ = load_with_progress(
        city, dem=dem, flat=flat, resolution=resolution, service_roads=service_roads,
        maps=maps, use_cache=cache,
    )  # fmt: skip
    written = export_city(pack, output, terrain=terrain)
    layers = ", ".join(f"{name} {count:,}" for name, count in written.layers.items())
    console.print(f"wrote {escape(str(written.gpkg))} ({pack.crs}): {layers}", soft_wrap=True)
    if written.terrain is not None:
        console.print(f"wrote {escape(str(written.terrain))}", soft_wrap=True)


def _parse_near(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lon, lat = (float(v) for v in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"expected LON,LAT in degrees, got {text!r}") from None
    return lon, lat


CityArgument = Annotated[str, typer.Argument(help="Catalogue name or OSM file.")]
FlatOption = Annotated[bool, typer.Option(help="No terrain: flat at 0 m.")]
DemOption = Annotated[
    list[Path] | None, typer.Option("--dem", help="DEM file (tiles are mosaicked); repeatable.")
]


@maps_app.command("facilities")
@user_errors
def facilities(
    city: CityArgument,
    kind: Annotated[
        str | None, typer.Option(help="Only this kind (hospital, school, shelter, ...).")
    ] = None,
    near: Annotated[
        str | None, typer.Option(help="LON,LAT (degrees): sort by distance from this point.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many rows.", min=1)] = None,
    dem: DemOption = None,
    flat: FlatOption = False,
    maps: MapsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """List a city's emergency facilities: name, kind, status, lon/lat, OSM id, capacity."""
    from twin.city.facilities import CAPACITY_SOURCES
    from twin.city.geometry import describe_point_problem
    from twin.city.lookup import facility_table
    from twin.errors import Problem, UserInputError

    point = _parse_near(near)
    pack, _, _ = load_with_progress(city, dem=dem, flat=flat, maps=maps)
    if point is not None:
        problem = describe_point_problem(pack, *point, margin_m=5000.0)
        if problem:
            raise UserInputError(Problem(problem, field="--near", fix="give LON,LAT in the map"))
    rows = facility_table(pack, kind=kind, near=point, limit=limit)
    if as_json:
        console.print_json(rows.to_json(orient="records"))
        return
    table = Table(title=f"Facilities of {pack.name} ({len(rows)})", title_justify="left")
    columns = ["name", "kind", "status", "lon", "lat", "OSM id", "capacity", "source"]
    columns += ["distance m"] if point is not None else []
    for col in columns:
        table.add_column(col, justify="right" if col in ("capacity", "distance m") else "left")
    for row in rows.itertuples(index=False):
        cells = [escape(row.name) or "-", row.kind, row.status, f"{row.lon:.5f}",
                 f"{row.lat:.5f}", row.osm, "-" if row.capacity != row.capacity
                 else f"{row.capacity:,.0f}", row.capacity_source]  # fmt: skip
        cells += [f"{row.distance_m:,.0f}"] if point is not None else []
        table.add_row(*cells)
    console.print(table)
    for source in sorted(set(rows["capacity_source"])):
        console.print(f"{source}: {CAPACITY_SOURCES[source]}", style="dim", highlight=False)
    console.print(
        "status: service (hospitals, stations), shelter (designated), candidate (opened only "
        "by a plan's shelters)",
        style="dim",
    )


@maps_app.command("where")
@user_errors
def where(
    name: Annotated[str, typer.Argument(help="Name or part of it (case and accents ignored).")],
    city: Annotated[str, typer.Option("--city", "-c", help="Catalogue name or OSM file.")],
    limit: Annotated[int, typer.Option(help="At most this many rows.", min=1)] = 20,
    dem: DemOption = None,
    flat: FlatOption = False,
    maps: MapsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Find named places (facilities, buildings, streets, landmarks) and print their lon/lat."""
    from twin.city.lookup import find_named, similar_names
    from twin.errors import Problem, UserInputError

    pack, _, _ = load_with_progress(city, dem=dem, flat=flat, maps=maps)
    rows = find_named(pack, name, limit=limit)
    if rows.empty:
        close = similar_names(pack, name)
        hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UserInputError(
            Problem(
                f"nothing named like {name!r} in {pack.name}",
                fix=hint or "try part of the name, or `twin maps facilities CITY`",
            )
        )
    if as_json:
        console.print_json(rows.to_json(orient="records"))
        return
    table = Table(title=f"{escape(name)} in {pack.name}", title_justify="left")
    for col in ("name", "what", "lon", "lat", "OSM id"):
        table.add_column(col)
    for row in rows.itertuples(index=False):
        table.add_row(escape(row.name), escape(row.what), f"{row.lon:.5f}", f"{row.lat:.5f}",
                      row.osm)  # fmt: skip
    console.print(table)
    console.print("scenario files write points as \\[lon, lat]", style="dim")


@maps_app.command("fetch")
@user_errors
def fetch(
    city: Annotated[str | None, typer.Argument(help="Catalogue name to download.")] = None,
    place: Annotated[
        str | None, typer.Option(help="Place name to download through osmnx (Overpass).")
    ] = None,
    dest: Annotated[Path | None, typer.Option(help="Folder to write to.")] = None,
    deadline: Annotated[
        float, typer.Option(help="Seconds allowed for each file, retries included.", min=1)
    ] = 3600.0,
    max_size: Annotated[
        float, typer.Option(help="Largest download, and largest unpacked file, in MiB.", min=1)
    ] = 4096.0,
    retries: Annotated[
        int, typer.Option(help="Further attempts after a dropped connection.", min=0)
    ] = 3,
) -> None:
    """Download map files once (needs internet): a catalogue city, or a place by name.

    Each file is streamed to a temporary name, unpacked with a cap, checked, then renamed.
    """
    from twin.city.fetch import MIB, Limits, fetch_city
    from twin.city.overpass import fetch_place

    if (city is None) == (place is None):
        raise typer.BadParameter("give a catalogue name or --place NAME (one of them)")
    if city is not None:
        size = int(max_size * MIB)
        limits = Limits(max_bytes=size, max_unpacked_bytes=size, deadline_s=deadline,
                        retries=retries)  # fmt: skip
        with Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
            TransferSpeedColumn(), console=err_console, transient=True,
            disable=not show_progress(True),
        ) as bar:  # fmt: skip
            tasks: dict[str, TaskID] = {}

            def progress(name: str, done: int, total: int | None) -> None:
                if name not in tasks:
                    tasks[name] = bar.add_task(escape(name), total=total)
                bar.update(tasks[name], completed=done, total=total)

            written = fetch_city(city, dest, limits=limits, progress=progress)
        for item in written:
            check = (
                f"SHA-256 verified against the catalogue ({item.sha256[:12]}...)"
                if item.verified
                else f"no checksum in the catalogue, not verified (SHA-256 {item.sha256})"
            )
            console.print(
                f"fetched {escape(str(item.path))}: {check}", highlight=False, soft_wrap=True
            )
        if not written:
            console.print(f"{escape(city)}: nothing to fetch, every file is already there")
    else:
        path = fetch_place(place, dest)
        shown = escape(str(path))
        console.print(f"saved {shown}; try `twin maps info {shown} --flat`", soft_wrap=True)


@maps_app.command("synth")
@user_errors
def synth(
    city: Annotated[str, typer.Argument(help="Synthetic city to generate: valley.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Maps folder to write into (default: the data "
            "folder `twin maps fetch` writes to, always on the maps path).",
        ),
    ] = None,
) -> None:
    """Generate a synthetic city's map files (OSM XML + ESRI ASCII DEM) into a maps folder.

    The files go to DIR/<city>/ as the catalogue names them; with DIR on the maps path
    (--maps DIR or TWIN_MAPS) the catalogue city loads like any other.
    """
    from twin.atomic import ensure_writable
    from twin.city.synthetic import generate
    from twin.settings import data_dir

    folder = ensure_writable(output if output is not None else data_dir(), field="--output")
    for item in generate(city, folder):
        console.print(f"wrote {escape(str(item.path))} (SHA-256 {item.sha256})", soft_wrap=True)
