"""``twin.city.fetch`` against a local HTTP server on 127.0.0.1: every way a download can go
wrong gives one clear error and leaves no file behind; a good one is written whole."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import threading
import time
import tracemalloc
import zipfile
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from twin.city.catalogue import FileEntry
from twin.city.fetch import MIB, Limits, download, fetch_file
from twin.errors import ChecksumError, MapDataError

#: Limits for cases that must not depend on the clock: generous times (a loaded machine stays
#: far inside them), no wait between the 2 retries. Clock cases set their own short limits.
LIMITS = Limits(deadline_s=60.0, read_timeout_s=10.0, retries=2, retry_wait_s=0.0)
PAYLOAD = bytes(range(256)) * 64  # 16 KiB


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.routes[path](handler)``; counts requests per path."""

    def do_GET(self):
        self.server.hits[self.path] += 1
        route = self.server.routes.get(self.path)
        try:
            if route is None:
                self.send_error(404, "Not Found")
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should

    def log_message(self, *args):
        pass


def _send(handler, body: bytes, status: int = 200, length: int | None = None):
    handler.send_response(status)
    handler.send_header("Content-Length", str(len(body) if length is None else length))
    handler.end_headers()
    handler.wfile.write(body)


def _trickle(handler, seconds: float = 6.0):
    """Announce 1 MB, then send one byte every 50 ms for ``seconds``, then hang up."""
    handler.send_response(200)
    handler.send_header("Content-Length", str(10**6))
    handler.end_headers()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        handler.wfile.write(b"x")
        handler.wfile.flush()
        time.sleep(0.05)


def _silent(handler):
    """Announce 1 MB and send nothing (until the client hangs up, or 6 s)."""
    handler.send_response(200)
    handler.send_header("Content-Length", str(10**6))
    handler.end_headers()
    handler.wfile.flush()
    time.sleep(6.0)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.routes = {}
    httpd.hits = Counter()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _entry(server, path: str, file: str = "city/data.osm.pbf", sha: str | None = None):
    return FileEntry(file=file, url=server.url + path, sha256=sha, licence="test")


def _left(folder) -> list[str]:
    """Every file under ``folder`` (temporaries included), relative."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_good_file_is_written_and_verified(server, tmp_path):
    server.routes["/data.osm.pbf"] = lambda h: _send(h, PAYLOAD)
    got = fetch_file(_entry(server, "/data.osm.pbf", sha=_sha(PAYLOAD)), tmp_path, limits=LIMITS)
    assert got.path == tmp_path / "city" / "data.osm.pbf"
    assert got.path.read_bytes() == PAYLOAD
    assert (got.verified, got.sha256, got.size) == (True, _sha(PAYLOAD), len(PAYLOAD))
    assert _left(tmp_path) == ["city/data.osm.pbf"]


def test_no_checksum_in_the_catalogue_is_not_verified(server, tmp_path):
    server.routes["/data.osm.pbf"] = lambda h: _send(h, PAYLOAD)
    got = fetch_file(_entry(server, "/data.osm.pbf"), tmp_path, limits=LIMITS)
    assert got.verified is False
    assert got.sha256 == _sha(PAYLOAD)
    assert got.path.read_bytes() == PAYLOAD


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    server.routes["/data.osm.pbf"] = lambda h: _send(h, PAYLOAD[:-1] + b"!")
    with pytest.raises(ChecksumError, match="catalogue expects " + _sha(PAYLOAD)):
        fetch_file(_entry(server, "/data.osm.pbf", sha=_sha(PAYLOAD)), tmp_path, limits=LIMITS)
    assert _left(tmp_path) == []


def test_truncated_download_is_retried_then_refused(server, tmp_path):
    """Content-Length 16384, 8192 bytes sent, connection closed: used to be accepted as
    the whole file whenever no checksum was catalogued."""
    server.routes["/data.osm.pbf"] = lambda h: _send(h, PAYLOAD[:8192], length=len(PAYLOAD))
    with pytest.raises(MapDataError, match=r"closed after 8,192 of 16,384 bytes \(3 attempts\)"):
        fetch_file(_entry(server, "/data.osm.pbf"), tmp_path, limits=LIMITS)
    assert server.hits["/data.osm.pbf"] == 3  # one try and LIMITS.retries = 2 more
    assert _left(tmp_path) == []


def test_server_error_is_retried_until_it_succeeds(server, tmp_path):
    def flaky(handler):
        if server.hits["/data.osm.pbf"] <= 2:
            handler.send_error(503, "Busy")
        else:
            _send(handler, PAYLOAD)

    server.routes["/data.osm.pbf"] = flaky
    got = fetch_file(_entry(server, "/data.osm.pbf", sha=_sha(PAYLOAD)), tmp_path, limits=LIMITS)
    assert got.path.read_bytes() == PAYLOAD
    assert server.hits["/data.osm.pbf"] == 3


def test_404_is_one_clear_error_not_retried(server, tmp_path):
    with pytest.raises(MapDataError, match="HTTP 404 Not Found") as info:
        fetch_file(_entry(server, "/gone.osm.pbf"), tmp_path, limits=LIMITS)
    assert server.url + "/gone.osm.pbf" in str(info.value)
    assert "no longer serves" in str(info.value)
    assert server.hits["/gone.osm.pbf"] == 1
    assert _left(tmp_path) == []


def test_trickling_server_hits_the_deadline(server, tmp_path):
    """One byte every 50 ms: each read returns in time, so only an overall deadline ends it
    (the old code read the whole body in one call and waited for as long as it trickled)."""
    server.routes["/slow.osm.pbf"] = _trickle
    limits = Limits(deadline_s=1.0, read_timeout_s=10.0, retries=2, retry_wait_s=0.0)
    with pytest.raises(MapDataError, match="deadline of 1 s") as info:
        fetch_file(_entry(server, "/slow.osm.pbf"), tmp_path, limits=limits)
    assert "--deadline" in str(info.value)
    assert _left(tmp_path) == []


def test_silent_server_times_out_each_read(server, tmp_path):
    server.routes["/silent.osm.pbf"] = _silent
    limits = Limits(deadline_s=30.0, read_timeout_s=0.2, retries=1, retry_wait_s=0.0)
    with pytest.raises(MapDataError, match=r"no data for 0.2 s \(2 attempts\)"):
        fetch_file(_entry(server, "/silent.osm.pbf"), tmp_path, limits=limits)
    assert _left(tmp_path) == []


def test_size_limit_announced_and_streamed(server, tmp_path):
    limits = Limits(max_bytes=4096, deadline_s=60.0, retries=0)
    server.routes["/big.osm.pbf"] = lambda h: _send(h, PAYLOAD)
    with pytest.raises(MapDataError, match="announces 16,384 bytes, over the limit"):
        fetch_file(_entry(server, "/big.osm.pbf"), tmp_path, limits=limits)

    def unannounced(handler):  # no Content-Length: the stream itself must be cut
        handler.send_response(200)
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(PAYLOAD)

    server.routes["/chunked.osm.pbf"] = unannounced
    with pytest.raises(MapDataError, match="more than 4,096 bytes sent"):
        fetch_file(_entry(server, "/chunked.osm.pbf"), tmp_path, limits=limits)
    assert _left(tmp_path) == []


def test_gzip_is_unpacked_and_the_unpacked_file_verified(server, tmp_path):
    packed = gzip.compress(PAYLOAD)
    server.routes["/data.osm.gz"] = lambda h: _send(h, packed)
    entry = _entry(server, "/data.osm.gz", file="city/data.osm", sha=_sha(PAYLOAD))
    got = fetch_file(entry, tmp_path, limits=LIMITS)
    assert got.path.read_bytes() == PAYLOAD
    assert _left(tmp_path) == ["city/data.osm"]


def test_gzip_bomb_is_refused_while_streaming(server, tmp_path):
    """64 MiB of zeros in a 64 KiB gzip: refused at 100 x the download without holding the
    output in memory (the old code inflated all 64 MiB with gzip.decompress first)."""
    zeros = bytes(64 * MIB)
    bomb = gzip.compress(zeros, compresslevel=9)
    server.routes["/bomb.osm.gz"] = lambda h: _send(h, bomb)
    entry = _entry(server, "/bomb.osm.gz", file="city/bomb.osm", sha=_sha(zeros))
    del zeros
    tracemalloc.start()
    try:
        with pytest.raises(MapDataError, match="unpacks to more than") as info:
            fetch_file(entry, tmp_path, limits=LIMITS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "decompression bomb" in str(info.value)
    assert peak < 8 * MIB  # chunks of 64 KiB; the inflated 64 MiB never held at once
    assert _left(tmp_path) == []


def test_unpacked_size_cap_applies_to_plausible_ratios(server, tmp_path):
    """Random bytes do not compress (ratio ~1), so only the absolute cap refuses them."""
    data = os.urandom(64 * 1024)
    server.routes["/big.osm.gz"] = lambda h: _send(h, gzip.compress(data))
    limits = Limits(max_unpacked_bytes=32 * 1024, deadline_s=60.0, retries=0)
    with pytest.raises(MapDataError, match="unpacks to more than 32,768 bytes"):
        fetch_file(_entry(server, "/big.osm.gz", file="city/big.osm"), tmp_path, limits=limits)
    assert _left(tmp_path) == []


def test_zip_member_announcing_too_much_is_refused_before_inflating(server, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("N00E000.hgt", bytes(8 * MIB))
    server.routes["/tile.hgt.zip"] = lambda h: _send(h, buffer.getvalue())
    entry = _entry(server, "/tile.hgt.zip", file="city/N00E000.hgt")
    with pytest.raises(MapDataError, match=r"announces 8\.0 MiB.*refused before inflating"):
        fetch_file(entry, tmp_path, limits=LIMITS)
    assert _left(tmp_path) == []


def test_corrupt_gzip_is_a_clear_error(server, tmp_path):
    packed = gzip.compress(PAYLOAD)
    server.routes["/bad.osm.gz"] = lambda h: _send(h, packed[:20] + b"\0" * 50 + packed[70:])
    with pytest.raises(MapDataError, match="archive is corrupt"):
        fetch_file(_entry(server, "/bad.osm.gz", file="city/bad.osm"), tmp_path, limits=LIMITS)
    assert _left(tmp_path) == []


def test_stale_temporaries_of_a_killed_fetch_are_removed(server, tmp_path):
    folder = tmp_path / "city"
    folder.mkdir()
    stale = [folder / ".data.osm.pbf.0123456789ab.part", folder / ".data.osm.pbf.ab.download"]
    fresh = folder / ".data.osm.pbf.fedcba987654.part"  # a fetch running now: kept
    for path in (*stale, fresh):
        path.write_bytes(b"half")
    old = time.time() - 3600
    for path in stale:
        os.utime(path, (old, old))
    server.routes["/data.osm.pbf"] = lambda h: _send(h, PAYLOAD)
    fetch_file(_entry(server, "/data.osm.pbf"), tmp_path, limits=LIMITS)
    assert _left(tmp_path) == ["city/.data.osm.pbf.fedcba987654.part", "city/data.osm.pbf"]


def test_download_reports_progress(server):
    server.routes["/data.osm.pbf"] = lambda h: _send(h, PAYLOAD)
    seen = []
    out = io.BytesIO()
    size = download(server.url + "/data.osm.pbf", out, limits=LIMITS, name="data",
                    progress=lambda *a: seen.append(a))  # fmt: skip
    assert size == len(PAYLOAD) == len(out.getvalue())
    assert seen[-1] == ("data", len(PAYLOAD), len(PAYLOAD))
    assert all(done <= total for _, done, total in seen)


@pytest.mark.parametrize("field", ["deadline_s", "max_bytes", "read_timeout_s"])
@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf")])
def test_limits_must_be_finite_and_positive(field, value):
    with pytest.raises(MapDataError, match=field):
        Limits(**{field: value})


def _catalogue(tmp_path, monkeypatch, server, sha: str | None):
    """A catalogue whose one city's OSM file is served by ``server``."""
    lines = ["version: 1", "cities:", "  local:", "    title: Local", "    osm:",
             "      file: local/local.osm.pbf", f"      url: {server.url}/local.osm.pbf",
             "      licence: test"]  # fmt: skip
    if sha:
        lines.append(f"      sha256: {sha}")
    path = tmp_path / "catalogue.yaml"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("TWIN_CATALOGUE", str(path))
    monkeypatch.setenv("TWIN_MAPS", str(tmp_path / "maps"))
    return tmp_path / "data"


def _twin(*args):
    from typer.testing import CliRunner

    from twin.cli import _register, app

    _register()
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize(
    ("sha", "said"),
    [(_sha(PAYLOAD), "SHA-256 verified against the catalogue"),
     (None, "no checksum in the catalogue, not verified")],
)  # fmt: skip
def test_cli_says_verified_only_with_a_checksum(server, tmp_path, monkeypatch, sha, said):
    """It printed "fetched and verified" even when the catalogue had no checksum."""
    dest = _catalogue(tmp_path, monkeypatch, server, sha)
    server.routes["/local.osm.pbf"] = lambda h: _send(h, PAYLOAD)
    result = _twin("maps", "fetch", "local", "--dest", dest)
    assert result.exit_code == 0, result.output
    assert said in result.output
    assert ("verified against" in result.output) == (sha is not None)
    assert (dest / "local" / "local.osm.pbf").read_bytes() == PAYLOAD


def test_cli_network_errors_are_one_line(server, tmp_path, monkeypatch):
    dest = _catalogue(tmp_path, monkeypatch, server, _sha(PAYLOAD))
    result = _twin("maps", "fetch", "local", "--dest", dest, "--retries", "0")
    assert result.exit_code == 2
    assert "HTTP 404 Not Found" in result.output
    assert "Traceback" not in result.output
    server.routes["/local.osm.pbf"] = lambda h: _send(h, PAYLOAD[:100], length=len(PAYLOAD))
    result = _twin("maps", "fetch", "local", "--dest", dest, "--retries", "0")
    assert result.exit_code == 2
    assert "closed after 100 of 16,384 bytes" in result.output
    assert not (dest / "local").exists() or _left(dest) == []


@pytest.mark.parametrize("value", ["nan", "inf", "0"])
def test_cli_refuses_a_deadline_that_is_not_finite(tmp_path, server, monkeypatch, value):
    dest = _catalogue(tmp_path, monkeypatch, server, None)
    result = _twin("maps", "fetch", "local", "--dest", dest, "--deadline", value)
    assert result.exit_code == 2
    assert "deadline" in result.output
    assert "Traceback" not in result.output
    assert server.hits["/local.osm.pbf"] == 0


def test_cli_full_disk_leaves_nothing(server, tmp_path, monkeypatch):
    """A write refused by the file-size limit (as `ulimit -f`; Python ignores SIGXFSZ, so the
    write fails with EFBIG) is one line, exit 2, and leaves neither file nor temporary."""
    import resource
    import subprocess
    import sys

    dest = _catalogue(tmp_path, monkeypatch, server, _sha(PAYLOAD))
    server.routes["/local.osm.pbf"] = lambda h: _send(h, PAYLOAD)

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))

    code = "from twin.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", code, "maps", "fetch", "local", "--dest", str(dest)],
        preexec_fn=small_files, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "local.osm.pbf: File too large" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert _left(dest) == []
