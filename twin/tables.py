"""Tabular series of a run as Parquet, with CSV copies on request (``outputs.csv``, ``--csv``).

The run commands' writers produce their series as CSV (the viz plots, reports and many
tools read those); :func:`series_tables` then gives each one a Parquet twin
(``gauges.csv`` -> ``gauges.parquet``: columns typed, compressed, read by pandas, DuckDB,
QGIS and R) and, when CSV was not asked for, removes the CSV so the Parquet file is the
only copy. The CSV is the writer's exact text; the Parquet file holds the same rows with
the types pandas reads from it (integers, floats, text; empty cells and ``nan`` are
missing, other words such as ``NA`` stay text), and every value reads back equal.

The default keeps the CSV files (``outputs.csv: true``): the plots, the HTML report and
existing scripts read them. ``--no-csv`` (or ``outputs.csv: false``) leaves Parquet only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from twin.atomic import atomic_path

__all__ = ["SERIES", "series_tables"]

SERIES: dict[str, tuple[str, ...]] = {
    "flood": ("volume_balance.csv", "gauges.csv"),
    "traffic": ("trips.csv", "mfd.csv"),
    "crowd": ("clearance.csv", "shelters.csv"),
    "respond": ("events.csv",),
    "run": ("vitals.csv", "events.csv"),
}
"""The CSV series each run command writes (in its output folder, or each plan's)."""


def series_tables(folder: Path | str, names: Sequence[str], *, csv: bool = True) -> list[Path]:
    """Write ``<name>.parquet`` beside each CSV series ``names`` in ``folder``; remove the
    CSVs unless ``csv``.

    Parameters
    ----------
    folder
        The run's output folder.
    names
        CSV files of series (e.g. :data:`SERIES` ``["flood"]``); those missing (a run
        without gauges) are skipped.
    csv
        Keep the CSV files beside the Parquet ones.

    Returns
    -------
    list of Path
        The series files now in ``folder``: each Parquet file, and each CSV if kept.
    """
    import pandas as pd

    folder = Path(folder)
    files: list[Path] = []
    for name in names:
        source = folder / name
        if not source.is_file():
            continue
        target = source.with_suffix(".parquet")
        try:
            frame = pd.read_csv(source, keep_default_na=False, na_values=["", "nan", "NaN"])
        except pd.errors.EmptyDataError:  # no header: a series with no columns
            frame = pd.DataFrame()
        with atomic_path(target) as tmp:
            frame.to_parquet(tmp, index=False)
        files.append(target)
        if csv:
            files.append(source)
        else:
            source.unlink()
    return files
