"""``twin drill``: serve a drill in the browser, replay a drill log headless, or write its
after-action report. Parses, calls :mod:`viz.drill` / :mod:`twin.drill`, prints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def drill_command(
    scenario: Annotated[
        Path | None, typer.Argument(help="Scenario file (not with --replay or --report).")
    ] = None,
    plan: Annotated[
        Path | None, typer.Option(help="Plan file; default the scenario's first.")
    ] = None,
    script: Annotated[Path | None, typer.Option(help="Drill script of timed injects.")] = None,
    port: Annotated[int, typer.Option(help="Port of the web app (0: any free one).")] = 8080,
    host: Annotated[
        str | None,
        typer.Option(help="Address to expose the app on; then every request needs the token."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Run seed; default the scenario's.")] = None,
    until: Annotated[str | None, typer.Option(help="End of the drill (e.g. 1h).")] = None,
    resolution: Annotated[float | None, typer.Option(help="Flood cell size (m).")] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for drill_log.yaml and aar.html at the end."),
    ] = None,
    replay_log: Annotated[
        Path | None, typer.Option("--replay", help="Replay a drill log headless; print KPIs.")
    ] = None,
    branch: Annotated[str, typer.Option(help="Branch to replay.")] = "main",
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the after-action report of a log.")
    ] = None,
    output: Annotated[Path | None, typer.Option("-o", help="HTML file of --report.")] = None,
    tier: Annotated[
        str | None,
        typer.Option(
            help="Jurisdiction the trainee plays (a tiered plan's, e.g. West); the "
            "plan's automatic dispatch runs the other tiers."
        ),
    ] = None,
) -> None:
    """Run a drill: a local web app (trainer and trainee views) on 127.0.0.1, or replay a
    drill log headless (--replay LOG), or write its after-action report (--report LOG -o)."""
    from twin.cli import console
    from twin.errors import Problem, UserInputError

    if (replay_log is not None or report is not None) and (
        scenario is not None or (replay_log is not None and report is not None)
    ):
        raise UserInputError(
            Problem("--replay and --report read the scenario from the log",
                    fix="pass one LOG and no SCENARIO")
        )  # fmt: skip
    if replay_log is not None:
        from twin.drill import replay

        kpis = replay(replay_log, branch=branch)
        for name, value in kpis.items():
            console.print(f"{name}: {value:.6g}")
        return
    if report is not None:
        from viz.drill.aar import write_aar

        if output is None:
            raise UserInputError(Problem("--report needs -o", field="-o", fix="-o aar.html"))
        console.print(f"wrote {write_aar(report, output)}")
        return
    if scenario is None:
        raise UserInputError(Problem("no scenario", fix="twin drill SCENARIO --plan PLAN"))
    from twin.cli._options import seconds
    from twin.drill import DrillSession
    from viz.drill.app import DrillApp, serve

    console.print("building the twin ...")
    session = DrillSession(scenario, plan, seed=seed, until=seconds(until, "--until"),
                           resolution=resolution, script=script, tier=tier)  # fmt: skip
    app = DrillApp(session, token_everywhere=host is not None)
    console.print("Ctrl-C ends the drill.")
    log = serve(app, host=host or "127.0.0.1", port=port, out=out,
                on_url=lambda u: console.print(f"drill, {u}", soft_wrap=True))  # fmt: skip
    if log is not None:
        from viz.drill.aar import write_aar

        console.print(f"wrote {log}")
        console.print(f"wrote {write_aar(log, Path(out) / 'aar.html')}")
