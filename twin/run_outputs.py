"""The files of a coupled run (:class:`twin.model.CityTwin`) and its render snapshots.

:func:`write_outputs` writes a run's results into a folder, each file atomically.
:class:`SnapshotRecorder` keeps the flood's depth and speed grids every
``outputs.snapshots`` interval of the scenario while the twin runs (what ``twin render``,
``twin animate`` and the report read: ``depth.tif`` and ``speed.tif``, one band per
snapshot described ``t=<seconds>s``, as ``twin flood`` writes them).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from twin.model import CityTwin

__all__ = ["SnapshotRecorder", "write_outputs"]


class SnapshotRecorder:
    """Depth and speed grids of a run at its snapshot times.

    A grid is kept at the first exchange at or after each multiple of ``interval`` (the
    exchange times, so a snapshot time is exact when ``interval`` is a multiple of the
    exchange interval), as float32 with NaN off the flood's land cells.

    Parameters
    ----------
    interval
        Time between snapshots (s), > 0.
    land
        (ny, nx) bool: the flood's land cells (sea and buildings are NaN in the files).
    transform, crs
        The flood grid's affine transform (six numbers) and CRS (for the GeoTIFFs).
    """

    def __init__(
        self, interval: float, land: np.ndarray, transform: tuple[float, ...], crs: Any
    ) -> None:
        if not interval > 0:
            raise ValueError(f"snapshot interval {interval!r} s must be > 0")
        self.interval = float(interval)
        self.land = np.asarray(land, dtype=bool)
        self.transform = tuple(float(v) for v in transform)
        self.crs = crs
        self.times: list[float] = []
        self.depth: list[np.ndarray] = []
        self.speed: list[np.ndarray] = []

    @property
    def next_due(self) -> float:
        """Time (s) of the next snapshot."""
        return len(self.times) * self.interval

    def add(self, t: float, depth: np.ndarray, speed: np.ndarray) -> bool:
        """Keep the grids at ``t`` (s) if a snapshot is due; returns whether one was kept."""
        if t < self.next_due - 1e-9:
            return False
        for store, grid in ((self.depth, depth), (self.speed, speed)):
            out = np.asarray(grid, dtype=np.float32).copy()
            out[~self.land] = np.nan
            store.append(out)
        self.times.append(float(t))
        return True

    def state(self) -> tuple[dict[str, np.ndarray], list[float]]:
        """Arrays and times for a checkpoint (see :meth:`load`)."""
        shape = (0, *self.land.shape)
        arrays = {
            "depth": np.stack(self.depth) if self.depth else np.zeros(shape, np.float32),
            "speed": np.stack(self.speed) if self.speed else np.zeros(shape, np.float32),
        }
        return arrays, list(self.times)

    def load(self, arrays: dict[str, np.ndarray], times: list[float]) -> None:
        """Put back what :meth:`state` returned."""
        self.times = [float(t) for t in times]
        self.depth = list(np.asarray(arrays["depth"], dtype=np.float32))
        self.speed = list(np.asarray(arrays["speed"], dtype=np.float32))

    def write(self, folder: Path) -> list[Path]:
        """Write ``depth.tif`` (m) and ``speed.tif`` (m/s) into ``folder``, atomically;
        nothing if no snapshot was kept."""
        import rasterio
        from affine import Affine

        from twin.atomic import atomic_path

        if not self.times:
            return []
        ny, nx = self.land.shape
        profile = {
            "driver": "GTiff",
            "height": ny,
            "width": nx,
            "count": len(self.times),
            "dtype": "float32",
            "transform": Affine(*self.transform),
            "nodata": float("nan"),
            "compress": "deflate",
            "predictor": 3,
        }
        if self.crs is not None:
            profile["crs"] = self.crs
        written = []
        for name, grids in (("depth", self.depth), ("speed", self.speed)):
            path = folder / f"{name}.tif"
            with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as ds:
                for band, (t, grid) in enumerate(zip(self.times, grids, strict=True), start=1):
                    ds.write(grid, band)
                    ds.set_band_description(band, f"t={t:g}s")
            written.append(path)
        return written


def write_outputs(twin: CityTwin, out_dir: Path | str) -> list[Path]:
    """Write a run's outputs into ``out_dir``, each file atomically: ``kpis.json`` (strict
    JSON), ``vitals.parquet`` (one row per exchange, units in the column names),
    ``events.parquet`` (the twin's log: closures, calls with their cause, trigger firings,
    timeline events), with ``vitals.csv`` and ``events.csv`` beside them when the
    scenario's ``outputs.csv`` is true (:func:`twin.tables.series_tables`),
    ``flood_maps.npz`` (depth at the end and deepest depth seen at any exchange, m),
    ``depth.tif`` and ``speed.tif`` (the render snapshots, when the scenario asks for
    ``outputs.snapshots``) and ``cap/<id>.xml`` (CAP 1.2 warnings).

    Returns
    -------
    list of Path
        The files written (no CSV removed for ``outputs.csv: false``).
    """
    import csv
    import io

    from twin.atomic import atomic_path, write_json, write_text
    from twin.tables import SERIES, series_tables

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = [write_json(out / "kpis.json", twin.kpis())]
    table = twin.vital_table()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(list(table))
    for row in zip(*table.values(), strict=True):
        writer.writerow([repr(float(v)) for v in row])
    write_text(out / "vitals.csv", buf.getvalue())
    buf = io.StringIO()
    writer = csv.DictWriter(buf, ["time", "source", "kind", "detail"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(sorted(twin.exchange.events, key=lambda e: e["time"]))
    write_text(out / "events.csv", buf.getvalue())
    files += series_tables(out, SERIES["run"], csv=twin.parts.scenario.outputs.csv)
    flood = twin.parts.flood
    if flood is not None:
        depth = flood.output("depth")
        peak = twin.exchange.peak_depth if twin.exchange.peak_depth is not None else depth
        with atomic_path(out / "flood_maps.npz") as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, depth=depth, max_depth=np.asarray(peak))
        files.append(out / "flood_maps.npz")
    if twin.snapshots is not None:
        files += twin.snapshots.write(out)
    files += _write_cap(twin, out / "cap")
    return files


def _write_cap(twin: CityTwin, folder: Path) -> list[Path]:
    from twin.coupling.cap import CapArea, cap_messages, write_cap

    issued = twin.exchange.triggers.board.issued
    if not issued:
        return []
    from pyproj import Transformer

    d = twin.exchange.drive
    x0, y0, x1, y1 = float(d.x.min()), float(d.y.min()), float(d.x.max()), float(d.y.max())
    to = Transformer.from_crs(twin.parts.pack.crs, "EPSG:4326", always_xy=True)
    bounds = [to.transform(x, y) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
    start = twin.parts.scenario.time.start
    whole = CapArea(twin.parts.scenario.city.name or "map", polygon=bounds)
    return write_cap(folder, cap_messages(issued, "twin", start, whole))
