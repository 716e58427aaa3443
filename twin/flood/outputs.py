"""Write a flood run's results: GeoTIFF rasters with the grid's CRS, and CSV tables.

Files, in one folder:

``depth.tif`` / ``speed.tif``
    Snapshots at every output time, one band each (float32, m and m/s; the band's
    description is its time, e.g. ``t=600s``; NaN on sea and buildings).
``depth_t0000600s.tif`` / ``speed_t0000600s.tif``
    The same snapshots, one single-band file per output time (time in seconds since the
    run start, zero-padded to seven digits, in the name), for GIS tools that read time
    per file rather than per band (QGIS shows the bands of ``depth.tif`` as bands, not as
    time). Each file carries the time as tags: ``time_s`` (s since the run start),
    ``time`` (ISO 8601: the scenario's start plus ``time_s``, or 1970-01-01T00:00:00 plus
    it when the scenario gives no start) and ``TIFFTAG_DATETIME`` (the same, in the TIFF
    form ``YYYY:MM:DD HH:MM:SS``). Files of this pattern left from an earlier run in the
    folder are removed when the run's outputs are committed.
``max_depth.tif``
    Largest depth reached on each land cell (m).
``first_wet.tif``
    Time (s) each cell first reached the wetting depth; NaN where it never did.
``gauges.csv``
    ``time_s`` then ``<name>_level_m`` and ``<name>_depth_m`` for each gauge.
``volume_balance.csv``
    One row per output time: the fields of :class:`twin.flood.model.VolumeBalance` (m3).

Nothing is half-written: every file is written under a temporary name
(``.<name>.partial``) and renamed only by :meth:`FloodWriter.commit`, once every file has
been closed and read back whole (GDAL reports some write errors, a full disk or a file
size limit, only as warnings: a raster is trusted only once it reads back). A write that
fails raises :class:`~twin.errors.UserInputError` naming the file, the previous outputs
stay as they were and the temporaries are deleted; :meth:`abort` (or leaving the ``with``
block on an exception, Ctrl-C included) deletes them too. Temporaries left by a killed run
(SIGKILL gives no chance to clean up) are deleted when the next run opens the folder.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from twin.errors import Problem, UserInputError
from twin.flood.kernels import LAND
from twin.flood.model import FloodModel, VolumeBalance

SNAPSHOTS = ("depth", "speed")
#: Every file a run may write (their temporaries are ``.<name>.partial``).
FILES = (
    "depth.tif",
    "speed.tif",
    "max_depth.tif",
    "first_wet.tif",
    "volume_balance.csv",
    "gauges.csv",
)
#: Date-time of ``time_s = 0`` when the run is given no start (UTC).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def time_file(name: str, t: float) -> str:
    """File name of snapshot ``name`` (``depth``, ``speed``) at ``t`` seconds."""
    return f"{name}_t{round(t):07d}s.tif"


class FloodWriter:
    """Collects a run's outputs into ``folder`` as the run goes.

    Parameters
    ----------
    folder
        Output folder (created if needed).
    model
        The model whose outputs are written; its grid gives the rasters' georeference.
    duration
        Run length (s): fixes the number of snapshot bands,
        ``floor(duration / output_interval) + 1`` (the initial state included).
    snapshots
        Write ``depth.tif`` and ``speed.tif`` and the per-time files (default) or not.
    start
        Clock time of ``t = 0`` for the per-time files' date tags (default :data:`EPOCH`).
    """

    def __init__(
        self,
        folder: Path | str,
        model: FloodModel,
        duration: float,
        *,
        snapshots: bool = True,
        start: datetime | None = None,
    ) -> None:
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for name in FILES:  # leftovers of a killed run
                (self.folder / f".{name}.partial").unlink(missing_ok=True)
            for name in SNAPSHOTS:
                for left in self.folder.glob(f".{name}_t*s.tif.partial"):
                    left.unlink(missing_ok=True)
        except OSError as exc:
            raise _write_error(self.folder, exc) from None
        self.model = model
        self.start = (start or EPOCH).astimezone(UTC)
        self._partial: dict[str, Path] = {}
        self._bands = 0
        self._finished = False
        self._datasets = {}
        n_out = math.floor(duration / model.config.output_interval + 1e-9) + 1
        self.n_bands = n_out
        self._mask = model.kind != LAND
        if snapshots:
            for name in SNAPSHOTS:
                self._datasets[name] = self._open(f"{name}.tif", count=n_out)

    # ---------------------------------------------------------------- file handling
    def _temp(self, filename: str) -> Path:
        path = self.folder / f".{filename}.partial"
        self._partial[filename] = path
        return path

    def _profile(self, count: int) -> dict:
        spec = self.model.spec
        ny, nx = spec.shape
        profile = {
            "driver": "GTiff",
            "height": ny,
            "width": nx,
            "count": count,
            "dtype": "float32",
            "transform": spec.transform,
            "nodata": float("nan"),
            "compress": "deflate",
            "predictor": 3,
        }
        if ny >= 16 and nx >= 16:
            profile.update(tiled=True, blockxsize=_block(nx), blockysize=_block(ny))
        if spec.crs is not None:
            profile["crs"] = spec.crs
        return profile

    def _open(self, filename: str, count: int):
        import rasterio

        return rasterio.open(self._temp(filename), "w", **self._profile(count))

    def _raster(
        self, filename: str, data: np.ndarray, description: str, tags: dict | None = None
    ) -> None:
        with self._open(filename, count=1) as ds:
            ds.write(self._masked(data), 1)
            ds.set_band_description(1, description)
            if tags:
                ds.update_tags(**tags)

    def _masked(self, data: np.ndarray) -> np.ndarray:
        out = np.asarray(data, dtype=np.float32).copy()
        out[self._mask] = np.nan
        return out

    # ---------------------------------------------------------------- the run
    def snapshot(self, model: FloodModel) -> None:
        """Write the current depth and speed as the next band (use as ``on_output``)."""
        if not self._datasets or self._bands >= self.n_bands:
            return
        from rasterio.errors import RasterioError

        self._bands += 1
        desc = f"t={model.t:g}s"
        try:
            when = self.start + timedelta(seconds=float(model.t))
            tags = {
                "time_s": f"{model.t:g}",
                "time": when.replace(tzinfo=None).isoformat(),
                "TIFFTAG_DATETIME": when.strftime("%Y:%m:%d %H:%M:%S"),
            }
            for name, data in (("depth", model.h), ("speed", model.speed())):
                ds = self._datasets[name]
                ds.write(self._masked(data), self._bands)
                ds.set_band_description(self._bands, desc)
                unit = "m" if name == "depth" else "m/s"
                self._raster(time_file(name, model.t), data, f"{name} ({unit}) {desc}", tags)
        except (OSError, RasterioError) as exc:
            raise _write_error(self.folder, exc) from None

    def finish(self) -> None:
        """Write the end-of-run rasters and tables (still under temporary names)."""
        for ds in self._datasets.values():
            ds.close()
        self._datasets = {}
        self._finished = True
        m = self.model
        self._raster("max_depth.tif", m.max_depth, "max depth (m)")
        self._raster("first_wet.tif", m.first_wet, f"first wetting >= {m.config.wet_depth:g} m (s)")
        self._balance_csv(m.balance)
        if m.config.gauges:
            self._gauges_csv()

    def _balance_csv(self, rows: list[VolumeBalance]) -> None:
        fields = list(rows[0].as_dict()) if rows else ["time"]
        with open(self._temp("volume_balance.csv"), "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([_balance_header(f) for f in fields])
            for row in rows:
                w.writerow([f"{v:.10g}" for v in row.as_dict().values()])

    def _gauges_csv(self) -> None:
        times, level, depth = self.model.gauge_table()
        names = list(level)
        with open(self._temp("gauges.csv"), "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["time_s"] + [f"{n}_{k}_m" for n in names for k in ("level", "depth")])
            for k, t in enumerate(times):
                w.writerow([f"{t:g}"] + [f"{d[n][k]:.6f}" for n in names for d in (level, depth)])

    def commit(self) -> list[Path]:
        """Check every finished file, then rename each to its final name; return the
        final paths.

        Raises
        ------
        UserInputError
            A file could not be written whole (disk full, file size limit, permissions);
            the temporaries are deleted and the previous outputs left as they were.
        """
        from rasterio.errors import RasterioError

        try:
            if not self._finished:
                self.finish()
            for filename, temp in self._partial.items():
                _check_readable(temp, filename)
        except (OSError, RasterioError, UserInputError) as exc:
            self.abort()
            if isinstance(exc, UserInputError):
                raise
            raise _write_error(self.folder, exc) from None
        for name in SNAPSHOTS:  # per-time files of an earlier run that this one did not write
            for old in self.folder.glob(f"{name}_t*s.tif"):
                if old.name not in self._partial:
                    old.unlink(missing_ok=True)
        done = []
        for filename, temp in self._partial.items():
            final = self.folder / filename
            os.replace(temp, final)
            done.append(final)
        self._partial = {}
        return done

    def abort(self) -> None:
        """Close and delete every temporary file; leave the folder as it was."""
        for ds in self._datasets.values():
            with contextlib.suppress(Exception):  # best effort while cleaning up
                ds.close()
        self._datasets = {}
        for temp in self._partial.values():
            temp.unlink(missing_ok=True)
        self._partial = {}

    def __enter__(self) -> FloodWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()


def _write_error(where: Path, exc: BaseException) -> UserInputError:
    """A failed write as a user error: what failed and how to fix it."""
    return UserInputError(
        Problem(
            f"could not write the flood outputs: {exc}",
            file=where,
            fix="free disk space, raise the file size limit (ulimit -f) or choose another "
            "folder with --out; the previous outputs were left as they were",
        )
    )


def _check_readable(path: Path, filename: str) -> None:
    """Read a finished temporary back whole; raise :class:`UserInputError` if it is not."""
    try:
        if filename.endswith(".tif"):
            import rasterio

            with rasterio.open(path) as ds:
                for band in range(1, ds.count + 1):
                    ds.read(band)
        else:
            with open(path, newline="") as fh:
                text = fh.read()
            if not text.endswith("\n"):
                raise OSError(f"{filename} ends mid-line")
    except Exception as exc:  # rasterio raises its own types for a truncated file
        raise UserInputError(
            Problem(
                f"{filename} was not written whole ({exc})",
                file=path.parent / filename,
                fix="free disk space, raise the file size limit (ulimit -f) or choose "
                "another folder with --out; the previous outputs were left as they were",
            )
        ) from None


def _balance_header(field: str) -> str:
    """CSV header of a :class:`VolumeBalance` field, with its unit."""
    if field == "time":
        return "time_s"
    if field == "relative_error" or field.endswith("_steps"):
        return field
    return f"{field}_m3"


def _block(n: int) -> int:
    """Largest GeoTIFF tile side (a multiple of 16, at most 256) that fits ``n``."""
    return int(min(256, max(16, (n // 16) * 16)))
