"""Results store: one DuckDB file per study (or family of studies), time series as Parquet.

Tables
------
studies(study_id, name, kind, scenario, created, updated, spec)
    One row per study; ``spec`` is its JSON definition (plans, variants, seed, objectives).
scenarios(scenario_hash, name, body) / plans(plan_hash, name, file, body)
    The validated scenario variants and plans, as JSON (provenance).
runs(run_id, runner, scenario_hash, plan_hash, seed, code_version, status, attempts, error,
     worker, started, finished, wall_s, run_s, cpu_s, series_file)
    One row per computed run. ``status`` is ``finished`` or ``failed``; a run appears as
    ``finished`` only in the same transaction that stores its KPIs.
study_runs(study_id, variant, plan, replication, run_id)
    Which runs each study uses (two studies may share runs).
kpis(run_id, kpi, value)
    KPI values in SI units (see :data:`twin.metrics.KPIS`).

Time series go to ``<file stem>.series/<run_id>.parquet`` beside the database, written under
a temporary name and renamed before the run is marked finished.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from twin.atomic import atomic_path
from twin.errors import Problem, UserInputError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS studies(
    study_id VARCHAR PRIMARY KEY, name VARCHAR, kind VARCHAR, scenario VARCHAR,
    created TIMESTAMP, updated TIMESTAMP, spec JSON);
CREATE TABLE IF NOT EXISTS scenarios(scenario_hash VARCHAR PRIMARY KEY, name VARCHAR, body JSON);
CREATE TABLE IF NOT EXISTS plans(
    plan_hash VARCHAR PRIMARY KEY, name VARCHAR, file VARCHAR, body JSON);
CREATE TABLE IF NOT EXISTS runs(
    run_id VARCHAR PRIMARY KEY, runner VARCHAR, scenario_hash VARCHAR, plan_hash VARCHAR,
    seed BIGINT, code_version VARCHAR, status VARCHAR, attempts INTEGER, error VARCHAR,
    worker VARCHAR, started TIMESTAMP, finished TIMESTAMP, wall_s DOUBLE, run_s DOUBLE,
    cpu_s DOUBLE, series_file VARCHAR);
CREATE TABLE IF NOT EXISTS study_runs(
    study_id VARCHAR, variant INTEGER, plan INTEGER, replication INTEGER, run_id VARCHAR,
    PRIMARY KEY (study_id, variant, plan, replication));
CREATE TABLE IF NOT EXISTS kpis(
    run_id VARCHAR, kpi VARCHAR, value DOUBLE, PRIMARY KEY (run_id, kpi));
"""


def _schema(fields: list[tuple[str, str]]):
    import pyarrow as pa

    types = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(),
             "time": pa.timestamp("us")}  # fmt: skip
    return pa.schema([(name, types[kind]) for name, kind in fields])


_KPI_FIELDS = [("run_id", "str"), ("kpi", "str"), ("value", "float")]
_RUN_FIELDS = [
    ("run_id", "str"), ("runner", "str"), ("scenario_hash", "str"), ("plan_hash", "str"),
    ("seed", "int"), ("code_version", "str"), ("status", "str"), ("attempts", "int"),
    ("error", "str"), ("worker", "str"), ("started", "time"), ("finished", "time"),
    ("wall_s", "float"), ("run_s", "float"), ("cpu_s", "float"), ("series_file", "str"),
]  # fmt: skip


_RUN_COLUMNS = tuple(name for name, _ in _RUN_FIELDS)


def _arrow(fields: list[tuple[str, str]], rows: list):
    """Rows (tuples in ``fields`` order) as a pyarrow table with those column types."""
    import pyarrow as pa

    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in fields]
    return pa.table(
        {name: list(col) for (name, _), col in zip(fields, columns, strict=True)},
        schema=_schema(fields),
    )


@dataclass(frozen=True)
class RunResult:
    """A run's outcome as the store receives it.

    Attributes
    ----------
    run_id
        The run's key.
    status
        ``"finished"`` or ``"failed"``.
    kpis
        KPI values (empty when failed).
    series
        Time series columns (may be empty).
    error
        The error text of the last attempt when failed.
    attempts
        Attempts made (1 or 2).
    worker
        Where it ran (host:pid or Dask worker address).
    started
        Start time of the last attempt (UTC).
    wall_s, run_s, cpu_s
        Wall time from submission to result, wall time inside the model, and the
        worker's CPU time inside the model (s).
    code_version
        Code version of the worker that ran it.
    """

    run_id: str
    status: str
    kpis: dict[str, float]
    series: dict[str, np.ndarray]
    error: str | None
    attempts: int
    worker: str
    started: datetime
    wall_s: float
    run_s: float
    code_version: str
    cpu_s: float = float("nan")


def is_interrupt(exc: BaseException | None) -> bool:
    """Whether ``exc`` is Ctrl-C, as Python or as DuckDB reports it during a query."""
    import duckdb

    return isinstance(exc, KeyboardInterrupt | duckdb.InterruptException) or (
        isinstance(exc, RuntimeError) and "interrupted" in str(exc).lower()
    )


def open_problem(exc: BaseException, path: Path) -> Problem:
    """What went wrong opening a results database, and the fix that fits the cause."""
    text = str(exc)
    low = text.lower()
    if "lock" in low:
        message, fix = (
            f"the results database is in use by another process ({text})",
            "wait for or stop the other `twin` using it, or give another --study file",
        )
    elif "not a valid duckdb" in low:
        message, fix = (
            "the file exists but is not a results database (not a DuckDB file)",
            "give a new --study file name; twin does not overwrite a file it did not make",
        )
    elif (
        "permission denied" in low
        or "read-only file system" in low
        or (isinstance(exc, PermissionError))
    ):
        message, fix = (
            f"no permission to open or create the results database ({text})",
            "give a --study file in a folder you may write in, or change its permissions",
        )
    elif "is a directory" in low or isinstance(exc, IsADirectoryError):
        message, fix = (
            "is a folder, not a results database",
            f"name a file, e.g. --study {path / 'compare.duckdb'}",
        )
    elif "version" in low or "serialization" in low:
        message, fix = (
            f"the results database was written by another DuckDB version ({text})",
            "open it with that version, or give a new --study file",
        )
    else:
        message, fix = (
            f"cannot open the results database: {text}",
            "check the path, its permissions and free disk space, or give another --study file",
        )
    return Problem(message, path, field="--study", fix=fix)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Store:
    """A results database (DuckDB) with time series beside it; one writer at a time.

    Parameters
    ----------
    path
        The ``.duckdb`` file (created with its folder if missing).
    read_only
        Open for reading only (``twin results``).

    Raises
    ------
    UserInputError
        If the file is missing (read-only), locked by another process or not a DuckDB file.
    """

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        import duckdb

        self.path = Path(path)
        if read_only and not self.path.is_file():
            raise UserInputError(
                Problem("results file not found", self.path, fix="give the --study file of a run")
            )
        try:
            if not read_only:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except (duckdb.Error, OSError) as exc:
            raise UserInputError(open_problem(exc, self.path)) from None
        if not read_only:
            self.con.execute(_SCHEMA)
            self.con.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
            )
            self.clean_partials()

    def clean_partials(self) -> list[Path]:
        """Delete time series files left half-written by a process killed mid-write
        (``.<run>.parquet.<random>.part``). Safe: only the one writer, which holds the
        database's lock, writes series; their runs were never marked finished.

        Returns
        -------
        list of Path
            The files deleted.
        """
        removed = []
        if self.series_dir.is_dir():
            for part in self.series_dir.glob(".*.parquet.*.part"):
                part.unlink(missing_ok=True)
                removed.append(part)
        return removed

    @property
    def series_dir(self) -> Path:
        """Folder of the time series Parquet files."""
        return self.path.with_name(self.path.stem + ".series")

    def close(self) -> None:
        """Close the database."""
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writing
    def save_study(self, study: Any, runs: Iterable[Any]) -> None:
        """Record a study, its scenario variants and plans, and the runs it needs."""
        now = _now()
        spec = json.dumps(study.spec())
        with self._transaction():
            self.con.execute(
                "INSERT INTO studies VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (study_id) "
                "DO UPDATE SET updated = excluded.updated, spec = excluded.spec",
                [study.study_id, study.name, study.kind, str(study.scenario_file), now, now, spec],
            )
            for v in study.variants:
                self.con.execute(
                    "INSERT OR IGNORE INTO scenarios VALUES (?, ?, ?)",
                    [v.hash, v.scenario.name, v.scenario.model_dump_json()],
                )
            for p in study.plans:
                self.con.execute(
                    "INSERT OR IGNORE INTO plans VALUES (?, ?, ?, ?)",
                    [p.hash, p.name, str(p.file), p.plan.model_dump_json()],
                )
            rows = [(study.study_id, t.variant, t.plan, t.replication, t.run_id) for t in runs]
            if rows:
                self.con.executemany(
                    "INSERT OR REPLACE INTO study_runs VALUES (?, ?, ?, ?, ?)", rows
                )

    def finished(self, run_ids: Iterable[str]) -> set[str]:
        """Which of ``run_ids`` are finished."""
        ids = list(run_ids)
        if not ids:
            return set()
        rows = self.con.execute(
            "SELECT run_id FROM runs WHERE status = 'finished' AND run_id IN "
            "(SELECT unnest(?::VARCHAR[]))",
            [ids],
        ).fetchall()
        return {r[0] for r in rows}

    def record(
        self, result: RunResult, *, runner: str, scenario_hash: str, plan_hash: str, seed: int
    ) -> None:
        """Store one run (see :meth:`record_many`)."""
        self.record_many([(result, runner, scenario_hash, plan_hash, seed)])

    def record_many(self, items: list[tuple[RunResult, str, str, str, int]]) -> None:
        """Store runs: their series files first, then KPIs and status in one transaction.

        Parameters
        ----------
        items
            ``(result, runner, scenario hash, plan hash, seed)`` per run.
        """
        series = {}
        for result, *_ in items:
            if result.status == "finished" and result.series:
                series[result.run_id] = self._write_series(result.run_id, result.series)
        kpi_rows = [
            (result.run_id, k, None if v is None or math.isnan(v) else float(v))
            for result, *_ in items
            for k, v in sorted(result.kpis.items())
        ]
        now = _now()
        run_rows = [
            [
                r.run_id, runner, scenario_hash, plan_hash, seed, r.code_version, r.status,
                r.attempts, r.error, r.worker, r.started, now, r.wall_s, r.run_s, r.cpu_s,
                series.get(r.run_id),
            ]
            for r, runner, scenario_hash, plan_hash, seed in items
        ]  # fmt: skip
        ids = [result.run_id for result, *_ in items]
        # Arrow tables inserted in one statement each: DuckDB's executemany goes row by row
        # and cost ~10 ms per run in the parent, a fifth of a short run's model time.
        self.con.register("new_kpis", _arrow(_KPI_FIELDS, kpi_rows))
        self.con.register("new_runs", _arrow(_RUN_FIELDS, run_rows))
        try:
            with self._transaction():
                self.con.execute(
                    "DELETE FROM kpis WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [ids]
                )
                self.con.execute("INSERT INTO kpis SELECT run_id, kpi, value FROM new_kpis")
                self.con.execute(
                    f"INSERT OR REPLACE INTO runs ({', '.join(_RUN_COLUMNS)}) "
                    f"SELECT {', '.join(_RUN_COLUMNS)} FROM new_runs"
                )
        finally:
            self.con.unregister("new_kpis")
            self.con.unregister("new_runs")

    def _write_series(self, run_id: str, series: dict[str, np.ndarray]) -> str:
        import pyarrow as pa
        import pyarrow.parquet as pq

        final = self.series_dir / f"{run_id}.parquet"
        with atomic_path(final) as tmp:
            pq.write_table(pa.table({k: np.asarray(v) for k, v in series.items()}), tmp)
        return f"{self.series_dir.name}/{final.name}"

    def _transaction(self):
        """A context that commits on success and rolls back on any error. DuckDB turns a
        Ctrl-C during a query into its own error; that becomes KeyboardInterrupt again."""
        import duckdb

        store = self

        class _Tx:
            def __enter__(self) -> None:
                store.con.begin()

            def __exit__(self, kind, value, tb) -> None:
                if kind is None:
                    store.con.commit()
                    return
                # a failed statement may have ended the transaction already
                with contextlib.suppress(duckdb.Error):
                    store.con.rollback()
                if is_interrupt(value):
                    raise KeyboardInterrupt from None

        return _Tx()

    # ------------------------------------------------------------------ reading
    def studies(self) -> list[dict[str, Any]]:
        """Every study with its counts of finished and failed runs, newest first."""
        rows = self.con.execute(
            """
            SELECT s.study_id, s.name, s.kind, s.scenario, s.created, s.updated,
                   count(r.run_id) FILTER (WHERE r.status = 'finished') AS finished,
                   count(r.run_id) FILTER (WHERE r.status = 'failed') AS failed,
                   count(sr.run_id) AS planned
            FROM studies s
            LEFT JOIN study_runs sr USING (study_id)
            LEFT JOIN runs r ON r.run_id = sr.run_id
            GROUP BY ALL ORDER BY s.updated DESC
            """
        ).fetchall()
        names = [
            "study_id",
            "name",
            "kind",
            "scenario",
            "created",
            "updated",
            "finished",
            "failed",
            "planned",
        ]
        return [dict(zip(names, r, strict=True)) for r in rows]

    def spec(self, study_id: str) -> dict[str, Any]:
        """A study's stored definition.

        Raises
        ------
        UserInputError
            If the file has no such study (a unique prefix of the id is enough).
        """
        rows = self.con.execute(
            "SELECT study_id, spec FROM studies WHERE study_id LIKE ? || '%'", [study_id]
        ).fetchall()
        if len(rows) != 1:
            known = ", ".join(s["study_id"] for s in self.studies()) or "none"
            raise UserInputError(
                Problem(
                    f"no single study {study_id!r} in this file",
                    self.path,
                    fix=f"give one of: {known} (see `twin results list`)",
                )
            )
        spec = json.loads(rows[0][1])
        spec["study_id"] = rows[0][0]
        return spec

    def values(self, study_id: str, n_variants: int, n_plans: int) -> dict[str, np.ndarray]:
        """KPI values of a study's finished runs: ``values[kpi][variant, replication, plan]``.

        Replications missing for some plan are NaN there.
        """
        rows = self.con.execute(
            """
            SELECT sr.variant, sr.replication, sr.plan, k.kpi, k.value
            FROM study_runs sr
            JOIN runs r ON r.run_id = sr.run_id AND r.status = 'finished'
            JOIN kpis k ON k.run_id = sr.run_id
            WHERE sr.study_id = ?
            """,
            [study_id],
        ).fetchall()
        reps = 1 + max((r[1] for r in rows), default=-1)
        out: dict[str, np.ndarray] = {}
        for v, r, p, kpi, value in rows:
            if kpi not in out:
                out[kpi] = np.full((n_variants, reps, n_plans), np.nan)
            out[kpi][v, r, p] = np.nan if value is None else value
        return out

    def failures(self, study_id: str) -> list[tuple[int, int, int, str]]:
        """``(variant, plan, replication, error)`` of the study's failed runs."""
        return self.con.execute(
            """
            SELECT sr.variant, sr.plan, sr.replication, r.error FROM study_runs sr
            JOIN runs r ON r.run_id = sr.run_id AND r.status = 'failed'
            WHERE sr.study_id = ? ORDER BY 1, 3, 2
            """,
            [study_id],
        ).fetchall()

    def run_table(self, study_id: str):
        """Every run of a study with its KPIs as columns (a pandas DataFrame)."""
        runs = self.con.execute(
            """
            SELECT sr.variant, sr.plan, sr.replication, r.run_id, r.seed, r.status,
                   r.code_version, r.attempts, r.worker, r.wall_s, r.run_s, r.cpu_s, r.series_file,
                   r.error
            FROM study_runs sr JOIN runs r ON r.run_id = sr.run_id
            WHERE sr.study_id = ? ORDER BY 1, 3, 2
            """,
            [study_id],
        ).df()
        values = self.con.execute(
            "SELECT run_id, kpi, value FROM kpis WHERE run_id IN "
            "(SELECT run_id FROM study_runs WHERE study_id = ?)",
            [study_id],
        ).df()
        if values.empty:
            return runs
        wide = values.pivot(index="run_id", columns="kpi", values="value").reset_index()
        wide.columns.name = None
        return runs.merge(wide, on="run_id", how="left")
