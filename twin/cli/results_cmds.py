"""``twin results``: list, show and export the studies in a results database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from twin.atomic import atomic_path
from twin.cli import app, console, user_errors
from twin.cli.experiment_cmds import HtmlOption, _finish
from twin.errors import Problem, UserInputError

results_app = typer.Typer(
    help="Query a results database of plan comparisons.", no_args_is_help=True
)
app.add_typer(results_app, name="results")

StudyFile = Annotated[Path, typer.Argument(metavar="FILE.duckdb", help="Results database.")]
StudyId = Annotated[
    str | None, typer.Argument(metavar="[STUDY]", help="Study id (a prefix); default the latest.")
]


def _study_id(store: Any, study: str | None) -> str:
    if study is not None:
        return store.spec(study)["study_id"]
    studies = store.studies()
    if not studies:
        raise UserInputError(
            Problem(
                "the file holds no study",
                store.path,
                fix="run `twin compare ... --study FILE` first",
            )
        )
    return studies[0]["study_id"]


@results_app.command("list")
@user_errors
def results_list(path: StudyFile) -> None:
    """List the studies in a results database."""
    from twin.experiment.store import Store

    with Store(path, read_only=True) as store:
        studies = store.studies()
    table = Table(title=escape(f"Studies in {path}"), title_justify="left")
    for h in ["study", "kind", "name", "runs finished", "failed", "updated"]:
        table.add_column(h)
    for s in studies:
        table.add_row(
            s["study_id"],
            s["kind"],
            escape(s["name"]),
            f"{s['finished']}/{s['planned']}",
            str(s["failed"]),
            f"{s['updated']:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@results_app.command("show")
@user_errors
def results_show(path: StudyFile, study: StudyId = None, html: HtmlOption = None) -> None:
    """Print a study's verdict and KPI tables (and write its HTML summary)."""
    from twin.cli._checks import ensure_writable_file
    from twin.experiment.store import Store

    ensure_writable_file(html or path.with_suffix(".html"), field="--html")

    with Store(path, read_only=True) as store:
        study_id = _study_id(store, study)
    _finish(path, study_id, html)


@results_app.command("export")
@user_errors
def results_export(
    path: StudyFile,
    study: StudyId = None,
    out: Annotated[Path, typer.Option(help="Output file: .csv or .parquet.")] = Path("runs.csv"),
) -> None:
    """Write every run of a study (seed, status, timings, one column per KPI)."""
    from twin.cli._checks import ensure_writable_file
    from twin.experiment.store import Store

    if out.suffix not in (".csv", ".parquet"):
        raise UserInputError(
            Problem(
                f"cannot write {out.suffix or 'no suffix'}",
                out,
                field="--out",
                fix="name the output .csv or .parquet",
            )
        )
    ensure_writable_file(out)
    with Store(path, read_only=True) as store:
        study_id = _study_id(store, study)
        spec = store.spec(study_id)
        frame = store.run_table(study_id)
    frame.insert(1, "plan_name", [spec["plans"][p]["name"] for p in frame["plan"]])
    frame.insert(1, "variant_label", [spec["variants"][v]["label"] for v in frame["variant"]])
    with atomic_path(out) as tmp:
        if out.suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
    console.print(escape(f"wrote {len(frame)} runs of study {study_id} to {out}"), highlight=False)
