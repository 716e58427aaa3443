"""Online use, behind an explicit command only: download a catalogue city's files.

A catalogue file is streamed to a temporary name beside its target, unpacked (``.zip``,
``.gz``, ``.bz2``) by streaming with an output cap, checked against the catalogue's SHA-256
and only then renamed into place: an interrupted, truncated, oversized, late or mismatched
download leaves no file behind. Every download has a size limit, an overall deadline and a
read timeout (:class:`Limits`); transient failures (a dropped connection, a server error)
are retried with a growing wait, within the deadline.

Why not pooch: the catalogue's checksums are of the unpacked files while pooch's known hash
is of the download, and pooch's HTTP downloader has neither an overall deadline (a server
trickling bytes keeps it waiting) nor a size limit, and its ``Decompress`` processor has no
output cap; with all three replaced, it would only rename a temporary file.

Nothing here runs in tests against the network: the tests serve files from a local HTTP
server on 127.0.0.1, or hand :func:`fetch_file` an ``opener`` that serves local bytes. A place
by name is fetched through osmnx by :mod:`twin.city.overpass`.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import http.client
import os
import socket
import time
import urllib.error
import uuid
import zipfile
import zlib
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from twin.atomic import atomic_path
from twin.city.catalogue import FileEntry, load_catalogue
from twin.errors import ChecksumError, MapDataError, Problem
from twin.settings import data_dir

#: ``opener(url)``: a readable binary response (a context manager), as urllib's.
Opener = Callable[[str], BinaryIO]
#: ``progress(name, bytes_done, bytes_total_or_None)``, called as a download goes on.
Progress = Callable[[str, int, int | None], None]

CHUNK = 1 << 16
MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Bounds on one catalogue download.

    Parameters
    ----------
    max_bytes
        Largest download accepted (bytes); a larger ``Content-Length`` is refused before
        reading, and the stream is cut when it passes the limit.
    max_unpacked_bytes
        Largest file unpacked from a ``.zip``/``.gz``/``.bz2`` download (bytes).
    max_ratio
        Largest ratio of unpacked to downloaded size. OSM XML compresses about 10:1 and
        SRTM tiles about 2:1; a decompression bomb reaches 1000:1.
    deadline_s
        Time for the whole download of one file, retries included (s). A read blocked
        on a silent server ends after ``read_timeout_s`` at most, so the deadline is
        overrun by less than one read timeout.
    read_timeout_s
        Longest wait for the connection or for any bytes (s).
    retries
        Further attempts after a transient failure (dropped or truncated connection,
        read timeout, HTTP 408/429/5xx). HTTP 4xx, DNS failures, a checksum mismatch,
        the size limits and the deadline are not retried.
    retry_wait_s
        Wait before the first retry (s), doubled for each further one.
    """

    max_bytes: int = 4096 * MIB
    max_unpacked_bytes: int = 8192 * MIB
    max_ratio: float = 100.0
    deadline_s: float = 3600.0
    read_timeout_s: float = 60.0
    retries: int = 3
    retry_wait_s: float = 2.0

    def __post_init__(self) -> None:
        numbers = {
            "max_bytes": self.max_bytes,
            "max_unpacked_bytes": self.max_unpacked_bytes,
            "max_ratio": self.max_ratio,
            "deadline_s": self.deadline_s,
            "read_timeout_s": self.read_timeout_s,
        }
        for name, value in numbers.items():
            if not value > 0 or value == float("inf"):
                raise MapDataError(Problem(f"must be a finite number > 0, got {value!r}",
                                           field=name, fix="e.g. the default"))  # fmt: skip
        if self.retries < 0 or self.retry_wait_s < 0:
            raise MapDataError(Problem("retries and their wait must be >= 0", field="retries"))


@dataclass(frozen=True)
class Fetched:
    """One file written by :func:`fetch_file`.

    Attributes
    ----------
    path
        Where it was written.
    sha256
        Its SHA-256 (hex).
    verified
        Whether it was checked against a SHA-256 in the catalogue (False: the catalogue
        has none, and the file was taken as served).
    size
        Its size (bytes).
    """

    path: Path
    sha256: str
    verified: bool
    size: int


class _TransientError(Exception):
    """A failure worth another attempt; ``str`` is what the user is told if none succeeds."""


def _size(n: float) -> str:
    return f"{n / MIB:,.1f} MiB" if n >= MIB else f"{n:,.0f} bytes"


def _http_opener(timeout_s: float) -> Opener:
    import urllib.request

    request_headers = {"User-Agent": "twin (city digital twin; twin maps fetch)"}

    def opener(url: str) -> BinaryIO:
        request = urllib.request.Request(url, headers=request_headers)
        return urllib.request.urlopen(request, timeout=timeout_s)

    return opener


def _failure(url: str, message: str, fix: str | None = None) -> MapDataError:
    return MapDataError(
        Problem(
            f"download failed: {message}",
            file=url,
            fix=fix
            or "check the internet connection, or download the file by hand and put "
            "it on the maps path (--maps or TWIN_MAPS)",
        )
    )


def _network_error(url: str, exc: BaseException, read_timeout_s: float) -> Exception:
    """The error to raise for ``exc``: a :class:`_TransientError` to retry, else a final one."""
    if isinstance(exc, urllib.error.HTTPError):
        text = f"HTTP {exc.code} {exc.reason}"
        if exc.code in (408, 429) or exc.code >= 500:
            return _TransientError(text)
        fix = None
        if exc.code in (403, 404, 410):
            fix = ("the server no longer serves this file: download the catalogued version "
                   "by hand and put it on the maps path (--maps or TWIN_MAPS)")  # fmt: skip
        return _failure(url, text, fix)
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError | socket.timeout):
        return _TransientError(f"no data for {read_timeout_s:g} s")
    if isinstance(reason, ConnectionError | http.client.HTTPException):
        return _TransientError(f"connection lost ({type(reason).__name__}: {reason})")
    return _failure(url, str(reason) or type(reason).__name__)


def _content_length(response: BinaryIO) -> int | None:
    headers = getattr(response, "headers", None)
    value = headers.get("Content-Length") if headers is not None else None
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _download_once(
    url: str, out: BinaryIO, opener: Opener, limits: Limits, deadline: float,
    name: str, progress: Progress | None,
) -> int:  # fmt: skip
    """Stream ``url`` into ``out`` (truncated first); the number of bytes written.

    Only the network calls are guarded: an error writing ``out`` (a full disk) propagates
    as the ``OSError`` it is.
    """
    out.seek(0)
    out.truncate()
    received = 0
    try:
        response = opener(url)
    except (OSError, http.client.HTTPException) as exc:
        raise _network_error(url, exc, limits.read_timeout_s) from None
    with response:
        declared = _content_length(response)
        if declared is not None and declared > limits.max_bytes:
            raise _failure(url, f"the server announces {_size(declared)}, over the limit "
                           f"of {_size(limits.max_bytes)}", _SIZE_FIX)  # fmt: skip
        read = getattr(response, "read1", response.read)  # read1: whatever has arrived
        while True:
            try:
                chunk = read(CHUNK)
            except (OSError, http.client.HTTPException) as exc:
                raise _network_error(url, exc, limits.read_timeout_s) from None
            if not chunk:
                break
            received += len(chunk)
            if received > limits.max_bytes:
                raise _failure(url, f"more than {_size(limits.max_bytes)} sent, over the "
                               "limit", _SIZE_FIX)  # fmt: skip
            out.write(chunk)
            if progress is not None:
                progress(name, received, declared)
            if time.monotonic() > deadline:
                raise _DeadlineError(received)
    if declared is not None and received < declared:
        raise _TransientError(f"the connection closed after {received:,} of {declared:,} bytes")
    return received


class _DeadlineError(Exception):
    def __init__(self, received: int) -> None:
        self.received = received


_SIZE_FIX = "check the catalogue's URL, or raise the limit (--max-size MiB)"


def download(
    url: str, out: BinaryIO, opener: Opener | None = None, limits: Limits | None = None,
    name: str = "", progress: Progress | None = None,
) -> int:  # fmt: skip
    """Stream ``url`` into the open file ``out``, within ``limits``; the bytes written.

    Parameters
    ----------
    url
        What to download.
    out
        A file opened for writing and reading in binary mode; truncated on each attempt.
    opener
        ``opener(url)`` -> a readable response; default: urllib with the read timeout.
    limits
        Size limit, deadline, read timeout and retries (default :class:`Limits`).
    name, progress
        ``progress(name, bytes_done, bytes_total_or_None)`` as bytes arrive.

    Raises
    ------
    MapDataError
        HTTP or network error, size limit, deadline, or every attempt failed, in one line.
    """
    limits = limits or Limits()
    start = time.monotonic()
    deadline = start + limits.deadline_s
    attempts = limits.retries + 1
    received = 0
    for attempt in range(1, attempts + 1):
        remaining = deadline - time.monotonic()
        use = opener or _http_opener(max(0.05, min(limits.read_timeout_s, remaining)))
        try:
            return _download_once(url, out, use, limits, deadline, name, progress)
        except _DeadlineError as late:
            received = late.received
        except _TransientError as exc:
            wait = limits.retry_wait_s * 2 ** (attempt - 1)
            if time.monotonic() > deadline:
                received = out.tell()
            elif attempt == attempts or time.monotonic() + wait > deadline:
                tries = f" ({attempt} attempts)" if attempt > 1 else ""
                raise _failure(url, f"{exc}{tries}") from None
            else:
                time.sleep(wait)
                continue
        raise _failure(
            url,
            f"not finished within the deadline of {limits.deadline_s:g} s "
            f"({_size(received)} received)",
            "the server is too slow: try later, or allow more time (--deadline SECONDS)",
        )
    raise AssertionError("unreachable")  # the loop returns or raises


_DECODE_ERRORS = (OSError, EOFError, zlib.error, zipfile.BadZipFile)


def _corrupt(url: str, exc: BaseException) -> MapDataError:
    return MapDataError(
        Problem(
            f"the downloaded archive is corrupt ({type(exc).__name__}: {exc})",
            file=url,
            fix="try again; if it persists, download the file by hand",
        )
    )


def _copy_capped(source: BinaryIO, out: BinaryIO, cap: int, url: str) -> tuple[str, int]:
    """Copy ``source`` to ``out`` in chunks, refusing past ``cap`` bytes; (SHA-256, size).

    An error reading ``source`` (a corrupt archive) is a :class:`MapDataError`; one
    writing ``out`` (a full disk) propagates.
    """
    digest = hashlib.sha256()
    size = 0
    while True:
        try:
            chunk = source.read(CHUNK)
        except _DECODE_ERRORS as exc:
            raise _corrupt(url, exc) from None
        if not chunk:
            break
        size += len(chunk)
        if size > cap:
            raise MapDataError(
                Problem(
                    f"the archive unpacks to more than {_size(cap)}: refused (a decompression "
                    "bomb, or a file larger than the limits)",
                    file=url,
                    fix="check the catalogue's URL, or raise the limit (--max-size MiB)",
                )
            )
        digest.update(chunk)
        out.write(chunk)
    return digest.hexdigest(), size


def _unpack(archive: Path, url: str, wanted: str, out: BinaryIO, limits: Limits):
    """Unpack ``wanted`` from the downloaded ``archive`` into ``out``; (SHA-256, size).

    The output is capped at ``limits.max_unpacked_bytes`` and at ``limits.max_ratio``
    times the download's size, checked as it streams: nothing is inflated in memory. A
    zip member is refused before inflating when its header already announces more.
    """
    cap = int(min(limits.max_unpacked_bytes, limits.max_ratio * max(archive.stat().st_size, 1)))
    if url.endswith(".zip"):
        try:
            zipped = zipfile.ZipFile(archive)
        except _DECODE_ERRORS as exc:
            raise _corrupt(url, exc) from None
        with zipped:
            members = [m for m in zipped.infolist() if m.filename.endswith(Path(wanted).name)]
            if not members:
                raise MapDataError(Problem(f"the archive holds no {Path(wanted).name}",
                                           file=url, fix="check the catalogue entry"))  # fmt: skip
            member = members[0]
            if member.file_size > cap:
                raise MapDataError(
                    Problem(
                        f"the archive's {member.filename} announces {_size(member.file_size)}"
                        f", over the limit of {_size(cap)}: refused before inflating",
                        file=url,
                        fix=_SIZE_FIX,
                    )
                )
            with zipped.open(member) as source:  # its CRC is checked at the end
                return _copy_capped(source, out, cap, url)
    if url.endswith(".gz") and not wanted.endswith(".gz"):
        with gzip.open(archive, "rb") as source:
            return _copy_capped(source, out, cap, url)
    if url.endswith(".bz2") and not wanted.endswith(".bz2"):
        with bz2.open(archive, "rb") as source:
            return _copy_capped(source, out, cap, url)
    raise AssertionError(f"{url} is not an archive")  # callers check _packed first


def _remove_stale(target: Path, older_than_s: float) -> None:
    """Delete temporaries of ``target`` left by a killed fetch (older than a deadline)."""
    now = time.time()
    for pattern in (f".{target.name}.*.part", f".{target.name}.*.download"):
        for path in target.parent.glob(pattern):
            with suppress(OSError):
                if now - path.stat().st_mtime > older_than_s:
                    path.unlink()


def _packed(url: str, wanted: str) -> bool:
    """Whether the download is an archive to unpack (``.zip``, or ``.gz``/``.bz2`` around a
    file that is not itself compressed)."""
    return url.endswith(".zip") or any(
        url.endswith(ext) and not wanted.endswith(ext) for ext in (".gz", ".bz2")
    )


def _check_sha256(entry: FileEntry, actual: str) -> None:
    if entry.sha256 and actual != entry.sha256:
        raise ChecksumError(
            Problem(
                f"downloaded data has SHA-256 {actual}, the catalogue expects {entry.sha256}",
                file=entry.url,
                fix="the source now serves another version: get the catalogued version by "
                "hand, or use the new file as an OSM file path (no checksum is then expected)",
            )
        )


def fetch_file(
    entry: FileEntry, dest: Path, opener: Opener | None = None, *,
    limits: Limits | None = None, progress: Progress | None = None,
) -> Fetched:  # fmt: skip
    """Download one catalogue file to ``dest/entry.file``, unpack it and check its SHA-256.

    The file appears only when complete and verified (or, if the catalogue gives no
    SHA-256, complete: see :attr:`Fetched.verified`); any failure leaves nothing behind.

    Raises
    ------
    MapDataError
        The entry has no URL; a network or HTTP error; a limit of ``limits`` was passed;
        a corrupt archive.
    ChecksumError
        The unpacked file's SHA-256 differs from the catalogue's.
    """
    if not entry.url or not entry.file:
        raise MapDataError(f"catalogue entry {entry.file or entry.dataset!r} has no URL")
    limits = limits or Limits()
    target = dest / entry.file
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(target, limits.deadline_s + limits.read_timeout_s)
    scratch = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.download")
    try:
        with scratch.open("w+b") as raw:
            download(entry.url, raw, opener, limits, target.name, progress)
            if not _packed(entry.url, entry.file):  # verified, then renamed as it is
                raw.seek(0)
                actual, size = hashlib.file_digest(raw, "sha256").hexdigest(), raw.tell()
                _check_sha256(entry, actual)
                raw.flush()
                os.fsync(raw.fileno())
        if _packed(entry.url, entry.file):
            with atomic_path(target) as tmp, tmp.open("wb") as out:
                actual, size = _unpack(scratch, entry.url, entry.file, out, limits)
                _check_sha256(entry, actual)
                out.flush()
                os.fsync(out.fileno())
        else:
            os.replace(scratch, target)
    except OSError as exc:
        if exc.filename is not None or exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror, str(target)) from None  # say which file
    finally:
        scratch.unlink(missing_ok=True)
    return Fetched(target, actual, verified=bool(entry.sha256), size=size)


def fetch_city(
    name: str, dest: Path | None = None, opener: Opener | None = None, *,
    limits: Limits | None = None, progress: Progress | None = None,
) -> list[Fetched]:  # fmt: skip
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
        written.append(fetch_file(item, dest, opener, limits=limits, progress=progress))
    return written
