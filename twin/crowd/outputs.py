"""The files of a crowd run, each written whole or not at all (:mod:`twin.atomic`).

In the output folder:

- ``kpis.json``: :class:`~twin.crowd.kpis.CrowdKpis` (times in s, densities in
  persons/m2; a value that was not computed or not reached is ``null``, with a note);
- ``link_density.parquet``: per-link densities over time, one row per link and record time
  where the density was above 0: ``time_s``, ``link`` (index), ``u``, ``v`` (node ids of
  its ends, OSM ids on a city), ``density`` (persons/m2);
- ``clearance.csv``: at each record time, people ``released`` (departed), ``arrived``,
  ``stuck`` and ``walking`` (on a link or waiting at a node);
- ``shelters.csv``: each destination with ``group``, ``why`` it is one, ``capacity``
  (empty: no limit), ``occupancy``, ``overflow`` and whether it was ``used``.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twin.atomic import atomic_path, write_json, write_text
from twin.errors import Problem, UserInputError

if TYPE_CHECKING:
    from twin.crowd.kpis import CrowdKpis
    from twin.crowd.model import CrowdModel

FILES = ("kpis.json", "link_density.parquet", "clearance.csv", "shelters.csv")
"""Names of the files :func:`write_outputs` writes."""


def _csv(rows: list[list], header: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def write_outputs(model: CrowdModel, kpis: CrowdKpis, folder: Path | str) -> list[Path]:
    """Write the run's files (see the module notes) to ``folder``; returns their paths.

    Raises
    ------
    twin.errors.UserInputError
        If a file cannot be written (the files already there are left as they were).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    net = model.net
    times, dens = model.density_series()
    rows, links = np.nonzero(dens > 0)
    table = pa.table(
        {
            "time_s": pa.array(times[rows] if times.size else np.zeros(0), pa.float64()),
            "link": pa.array(links, pa.int32()),
            "u": pa.array(net.node_ids[net.tail[links]].astype(np.int64), pa.int64()),
            "v": pa.array(net.node_ids[net.head[links]].astype(np.int64), pa.int64()),
            "density": pa.array(dens[rows, links], pa.float32()),
        }
    )
    clearance = [
        [f"{t:g}", *counts]
        for t, counts in zip(model.records.times, model.records.counts, strict=True)
    ]
    shelters = [
        [
            d["name"],
            d["group"],
            d["why"],
            "" if not math.isfinite(d["capacity"]) else f"{d['capacity']:g}",
            d["occupancy"],
            d["overflow"],
            int(d["occupancy"] > 0),
        ]
        for d in kpis.destinations
    ]
    written = []
    try:
        written.append(write_json(folder / "kpis.json", kpis.as_dict()))
        with atomic_path(folder / "link_density.parquet") as tmp:
            pq.write_table(table, tmp)
        written.append(folder / "link_density.parquet")
        header = ["time_s", "released", "arrived", "stuck", "walking"]
        written.append(write_text(folder / "clearance.csv", _csv(clearance, header)))
        header = ["name", "group", "why", "capacity", "occupancy", "overflow", "used"]
        written.append(write_text(folder / "shelters.csv", _csv(shelters, header)))
    except OSError as exc:
        raise UserInputError(
            Problem(
                f"could not write the crowd outputs to {folder}: {exc.strerror or exc}",
                field="--out",
                fix="free disk space or choose another folder with `--out DIR`",
            )
        ) from None
    return written
