"""Online use, behind explicit commands only: download catalogue files, or a place via osmnx.

Nothing here runs in tests against the network: :func:`fetch_city` takes the opener it
downloads with, and the tests hand it one that serves local files.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from twin.atomic import write_bytes
from twin.city.catalogue import FileEntry, load_catalogue
from twin.errors import ChecksumError, MapDataError, Problem
from twin.settings import data_dir

Opener = Callable[[str], BinaryIO]
TIMEOUT_S = 60


def _urlopen(url: str) -> BinaryIO:
    import urllib.request

    return urllib.request.urlopen(url, timeout=TIMEOUT_S)


def _unpack(url: str, payload: bytes, wanted: str) -> bytes:
    """The file inside a downloaded ``.zip``/``.gz``/``.bz2``, or the payload itself."""
    if url.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            names = [n for n in archive.namelist() if n.endswith(Path(wanted).name)]
            if not names:
                raise MapDataError(f"{url}: archive holds no {Path(wanted).name}")
            return archive.read(names[0])
    if url.endswith(".gz"):
        return gzip.decompress(payload)
    if url.endswith(".bz2") and not wanted.endswith(".bz2"):
        return bz2.decompress(payload)
    return payload


def fetch_file(entry: FileEntry, dest: Path, opener: Opener = _urlopen) -> Path:
    """Download one catalogue file to ``dest/entry.file`` and check its SHA-256.

    The file appears only when complete and verified; a mismatch leaves nothing behind.
    """
    if not entry.url or not entry.file:
        raise MapDataError(f"catalogue entry {entry.file or entry.dataset!r} has no URL")
    target = dest / entry.file
    try:
        with opener(entry.url) as response:
            payload = response.read()
    except OSError as exc:
        raise MapDataError(
            Problem(
                f"download failed: {exc}",
                file=entry.url,
                fix="check the internet connection, or download the file by hand and put it "
                "on the maps path (--maps or TWIN_MAPS)",
            )
        ) from None
    data = _unpack(entry.url, payload, entry.file)
    actual = hashlib.sha256(data).hexdigest()
    if entry.sha256 and actual != entry.sha256:
        raise ChecksumError(
            Problem(
                f"downloaded data has SHA-256 {actual}, the catalogue expects {entry.sha256}",
                file=entry.url,
                fix="the source now serves another version: get the catalogued version by "
                "hand, or use the new file as an OSM file path (no checksum is then expected)",
            )
        )
    write_bytes(target, data)
    return target


def fetch_city(name: str, dest: Path | None = None, opener: Opener = _urlopen) -> list[Path]:
    """Download a catalogue city's missing files into ``dest`` (default: the data folder)."""
    from twin.city.catalogue import find_file

    catalogue = load_catalogue()
    if name not in catalogue.cities:
        raise MapDataError(
            Problem(f"unknown city {name!r}", fix=f"known: {', '.join(catalogue.cities)}")
        )
    entry = catalogue.cities[name]
    dest = dest or data_dir()
    written = []
    for item in (entry.osm, *entry.dem):
        if item.package or (item.file and find_file(item.file, [dest])):
            continue
        written.append(fetch_file(item, dest, opener))
    return written


def overpass_query(west: float, south: float, east: float, north: float) -> str:
    """Overpass QL for what a city pack reads: streets, buildings, facilities (with nodes)."""
    box = f"({south},{west},{north},{east})"
    parts = [
        f'way["highway"]{box};',
        f'way["building"]{box};',
        f'relation["building"]{box};',
        f'nwr["amenity"~"^(hospital|fire_station|police|school|community_centre|shelter)$"]{box};',
        f'nwr["emergency"="assembly_point"]{box};',
        f'nwr["healthcare"="hospital"]{box};',
    ]
    return f"[out:xml][timeout:300];({''.join(parts)});(._;>;);out body;"


def fetch_place(place: str, dest: Path | None = None, opener: Opener | None = None) -> Path:
    """Geocode a place with osmnx and save its OSM data as ``dest/<slug>.osm``.

    Needs internet (Nominatim and Overpass through osmnx's settings). The saved file is read
    by every other command like any OSM file; terrain must be given separately (``--dem``)
    or the city is built flat.
    """
    import urllib.parse

    import osmnx as ox

    try:
        area = ox.geocoder.geocode_to_gdf(place)
    except Exception as exc:  # osmnx raises several types for a failed lookup
        raise MapDataError(
            Problem(f"cannot geocode {place!r}: {exc}", fix="check the name and the connection")
        ) from None
    west, south, east, north = area.total_bounds
    query = overpass_query(west, south, east, north)
    url = ox.settings.overpass_url.rstrip("/") + "/interpreter?data=" + urllib.parse.quote(query)
    with (opener or _urlopen)(url) as response:
        payload = response.read()
    slug = "".join(c if c.isalnum() else "-" for c in place.lower()).strip("-")
    target = (dest or data_dir()) / "places" / f"{slug}.osm"
    write_bytes(target, payload)
    return target
