"""Read what a run folder holds for pictures: the flood's depth snapshots (``depth.tif``,
one band per output time, written by ``twin flood``) and the city it ran on."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twin.errors import Problem, UserInputError

if TYPE_CHECKING:
    from twin.city import CityPack

_BAND_TIME = re.compile(r"^t=([0-9.eE+-]+)s$")


@dataclass(frozen=True)
class DepthSnapshots:
    """Depth grids of a run at its output times.

    Attributes
    ----------
    path
        The ``depth.tif`` read.
    times
        (T,) output times, s since the scenario start, increasing.
    resolution
        Cell size of the grids (m): the terrain resolution the run used.
    """

    path: Path
    times: np.ndarray
    resolution: float = 10.0

    @classmethod
    def find(cls, folder: Path | str) -> DepthSnapshots:
        """The depth snapshots of a run folder (``depth.tif`` in it or in ``flood/``)."""
        import rasterio

        folder = Path(folder)
        check_format(folder)
        for candidate in (folder / "depth.tif", folder / "flood" / "depth.tif"):
            if candidate.is_file():
                break
        else:
            raise UserInputError(
                Problem(
                    "no depth snapshots (depth.tif) in the folder or its flood/ folder",
                    file=folder,
                    fix="run `twin flood SCENARIO` into it (snapshots are on by default) or "
                    "`twin run` with outputs.snapshots, or render a city by name "
                    "(`twin render monaco`)",
                )
            )
        with rasterio.open(candidate) as src:
            descriptions = src.descriptions
            resolution = float(abs(src.transform.a))
        times = []
        for band, text in enumerate(descriptions, start=1):
            match = _BAND_TIME.match(text or "")
            if match is None:
                raise UserInputError(
                    Problem(
                        f"band {band} is described {text!r}, not 't=<seconds>s': not a "
                        "depth file of this twin version",
                        file=candidate,
                        fix="rerun the flood with this version of twin",
                    )
                )
            times.append(float(match.group(1)))
        return cls(candidate, np.asarray(times), resolution)

    def band_at(self, time: float) -> int:
        """0-based index of the last snapshot at or before ``time`` (s)."""
        first, last = float(self.times[0]), float(self.times[-1])
        if not first <= time <= last:
            raise UserInputError(
                Problem(
                    f"time {time:g} s is outside the run's snapshots ({first:g} s to {last:g} s)",
                    file=self.path,
                    field="--time",
                    fix=f"pass a time between {first:g} and {last:g} seconds",
                )
            )
        return int(np.searchsorted(self.times, time, side="right") - 1)

    def depth(self, index: int) -> np.ndarray:
        """The depth grid (m; NaN on sea and buildings) of snapshot ``index``."""
        import rasterio

        with rasterio.open(self.path) as src:
            return src.read(index + 1).astype(np.float64)


def _manifest(folder: Path | str) -> Path | None:
    """The run manifest (``run.json``) of a run folder: in it or in the folder above (a
    plan's sub-folder of ``twin respond``, ``flood/`` of ``twin run``)."""
    for path in (Path(folder) / "run.json", Path(folder).parent / "run.json"):
        if path.is_file():
            return path
    return None


def check_format(folder: Path | str) -> None:
    """Refuse a run folder whose ``run.json`` was written by another format version of twin
    (:data:`twin.manifest.MANIFEST_FORMAT`): its files may not mean what this viz reads.
    A folder without ``run.json`` passes (``--city`` then names its city)."""
    from twin.manifest import MANIFEST_FORMAT

    path = _manifest(folder)
    if path is None:
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserInputError(
            Problem(
                f"cannot read the run manifest: {exc}",
                file=path,
                fix="rerun the run, or move the broken run.json away and pass --city",
            )
        ) from None
    found = data.get("format") if isinstance(data, dict) else None
    if found != MANIFEST_FORMAT:
        said = "no format" if found is None else f"format {found!r}"
        raise UserInputError(
            Problem(
                f"run written by another version of twin ({said}; this version reads "
                f"format {MANIFEST_FORMAT})",
                file=path,
                field="format",
                fix="rerun it with this version: the command line is in run.json's command_line",
            )
        )


def run_city_source(folder: Path | str) -> tuple[str | Path, dict] | None:
    """The city a run used, as its ``run.json`` records it: the source (a catalogue name or
    an OSM file) and the :func:`twin.city.load_city` options (``dem``, ``flat``,
    ``flat_elevation``, ``resolution``) that the run commands took from its scenario
    (:func:`twin.coupling.city_setup.city_source`, the one mapping every run uses), so a
    picture is drawn on the terrain the run had: a flat city at its datum, not the DEM.

    ``scenario.city`` is read with the scenario schema (:class:`twin.scenario.schema.City`),
    so an entry a run.json lacks (an older run's, a hand-written one's) takes the schema's
    default, as the run itself did: ``flat: false`` (the catalogue's DEM; flat where the
    catalogue has none, as Helsinki), ``datum: 0 m``, ``resolution: 10 m``. None when the
    folder has no ``run.json`` or it names no city.

    Raises
    ------
    UserInputError
        If ``scenario.city`` is not a city this version of twin reads.
    """
    from types import SimpleNamespace

    from pydantic import ValidationError

    from twin.coupling.city_setup import city_source
    from twin.scenario.schema import City

    path = _manifest(folder)
    if path is None:
        return None
    try:
        scenario = json.loads(path.read_text(encoding="utf-8")).get("scenario")
    except (OSError, ValueError, AttributeError):
        return None  # check_format says what is wrong with the file
    city = scenario.get("city") if isinstance(scenario, dict) else None
    if not isinstance(city, dict):
        return None
    try:
        recorded = City.model_validate(city)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserInputError(
            Problem(
                f"the run's city is not one this version of twin reads: {first['msg']}",
                file=path,
                field=f"scenario.city{'.' + where if where else ''}",
                fix="rerun it with this version: the command line is in run.json's command_line",
            )
        ) from None
    return city_source(SimpleNamespace(city=recorded))  # it reads the scenario's city only


def load_run_pack(
    folder: Path | str, *, city: str | None = None, resolution: float | None = None
) -> CityPack:
    """The :class:`~twin.city.CityPack` a run folder's pictures are drawn on: the city and
    terrain its ``run.json`` records (:func:`run_city_source`).

    Parameters
    ----------
    folder
        The run folder (``run.json`` in it or in the folder above).
    city
        A catalogue name or OSM file: the city of a run without ``run.json`` (its terrain
        is then the catalogue's, as ``load_city`` builds it by default); with ``run.json``
        it replaces only the recorded source, the terrain options stay the run's.
    resolution
        Cell size (m) of the grid drawn, e.g. the depth snapshots'; default the run's.

    Raises
    ------
    UserInputError
        If neither ``run.json`` nor ``city`` says the city.
    """
    from twin.city import load_city

    recorded = run_city_source(folder)
    if recorded is None and city is None:
        path = _manifest(folder)
        said = "no run.json" if path is None else f"{path.name} names no scenario.city"
        raise UserInputError(
            Problem(
                f"the run folder does not say its city ({said})",
                file=path or Path(folder),
                field="--city",
                fix="pass --city NAME, e.g. --city monaco",
            )
        )
    source, options = recorded if recorded is not None else (city, {})
    if city is not None:
        source = city
    if resolution is not None:
        options = options | {"resolution": float(resolution)}
    return load_city(source, **options)


def run_city(folder: Path | str) -> str | None:
    """The city a run folder's ``run.json`` names (its scenario's ``city.name``), if any."""
    path = _manifest(folder)
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    city = (data.get("scenario") or {}).get("city") or {}
    return (city.get("name") or city.get("osm")) if isinstance(city, dict) else None
