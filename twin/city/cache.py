"""On-disk cache of built city packs, keyed by the inputs' SHA-256 and the build options.

A cached pack is a folder of data files (:mod:`twin.city.store`: Parquet, GeoParquet,
``.npz``; never a pickle) and a ``manifest.json`` with the cache key and each file's
SHA-256. Loading reads every file once, checks its hash against the manifest and parses
the verified bytes; a missing, damaged, edited or foreign entry (anything that fails) is
ignored and the pack rebuilt over it. The cache is a speed-up, never a source of truth:
a folder the user cannot write costs a rebuild, not an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from twin.atomic import write_bytes
from twin.settings import cache_dir
from twin.versions import dependency_versions

#: Bump when the contents or meaning of a pack change, so old caches are rebuilt.
PACK_FORMAT = 2
#: Largest manifest read (bytes): a manifest is a few kilobytes.
MAX_MANIFEST_BYTES = 1 << 20
#: A file changed less than this long (s) before it was hashed is not memoised: its
#: timestamps could be equal to those of a later change within the clock's granularity
#: (git's "racy clean" rule).
RACY_SECONDS = 2.0
#: At most this many files are memoised (the oldest entries are dropped).
MEMO_ENTRIES = 1000

log = logging.getLogger(__name__)
_HEX64 = re.compile(r"[0-9a-f]{64}")


def code_digest() -> str:
    """Hash of the city-building code: any change to it invalidates cached packs."""
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def _read_memo(memo_path: Path) -> dict[str, str]:
    """The checksum memo, keeping only well-formed entries (any other content is ignored)."""
    try:
        raw = json.loads(memo_path.read_bytes()[: MAX_MANIFEST_BYTES * 4])
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {
        k: v
        for k, v in raw.items()
        if isinstance(k, str) and isinstance(v, str) and _HEX64.fullmatch(v)
    }


def _memo_key(path: Path, stat: os.stat_result) -> str:
    """A file's identity: path, device and inode, size, and modification and change times
    (ns). Restoring the mtime after an edit still changes the ctime, which no user call can
    set back."""
    return (
        f"{path}|{stat.st_dev}:{stat.st_ino}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ctime_ns}"
    )


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, memoised in the cache folder on the file's identity
    (:func:`_memo_key`); files changed within :data:`RACY_SECONDS` are always hashed."""
    path = Path(path).resolve()
    before = path.stat()
    memo_path = cache_dir() / "sha256.json"
    key = _memo_key(path, before)
    memo = _read_memo(memo_path)
    if key in memo:
        return memo[key]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    after = path.stat()
    changed = max(after.st_mtime_ns, after.st_ctime_ns) / 1e9
    if _memo_key(path, after) == key and changed < time.time() - RACY_SECONDS:
        memo.pop(key, None)
        memo[key] = value
        memo = dict(list(memo.items())[-MEMO_ENTRIES:])
        with contextlib.suppress(OSError):  # a read-only cache folder only costs re-hashing
            write_bytes(memo_path, json.dumps(memo, indent=0).encode())
    return value


def pack_key(sources: dict[str, Any], options: dict[str, Any]) -> str:
    """Cache key: a hash of the pack format and code, the versions of the libraries that
    build it (:func:`twin.versions.dependency_versions`: a new osmnx or shapely rebuilds),
    input checksums and build options."""
    blob = json.dumps(
        {
            "format": PACK_FORMAT,
            "code": code_digest(),
            "dependencies": dependency_versions(),
            "sources": sources,
            "options": options,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def cache_path(name: str, key: str) -> Path:
    """Folder of the cached pack ``name`` with ``key``."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:80] or "city"
    return cache_dir() / "packs" / f"{safe}-{key}"


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise ValueError("manifest too large")
    manifest = json.loads(path.read_bytes())
    if not isinstance(manifest, dict) or manifest.get("format") != PACK_FORMAT:
        raise ValueError("not a manifest of this pack format")
    if manifest.get("key") != folder.name.rsplit("-", 1)[-1]:
        raise ValueError("manifest of another key")
    if not isinstance(manifest.get("files"), dict) or not isinstance(manifest.get("pack"), dict):
        raise ValueError("manifest without files or pack")
    return manifest


def _verified_blobs(folder: Path, files: dict[str, Any]) -> dict[str, bytes]:
    """Each pack file's bytes, read once and checked against the manifest's SHA-256."""
    from twin.city.store import PACK_FILES

    blobs = {}
    for name in PACK_FILES:
        expected = files.get(name)
        data = (folder / name).read_bytes()
        if not isinstance(expected, str) or hashlib.sha256(data).hexdigest() != expected:
            raise ValueError(f"{name}: content does not match its SHA-256 in the manifest")
        blobs[name] = data
    return blobs


def load_cached(path: Path):
    """The pack stored in folder ``path``, or None if absent or not exactly as stored.

    Every failure (missing or extra-large manifest, another format or key, a file whose
    SHA-256 differs, unreadable data) returns None, so the caller rebuilds; the reason is
    logged at INFO level (``twin.city.cache``).
    """
    from twin.city.store import pack_from_blobs

    if not (path / "manifest.json").is_file():
        return None
    try:
        manifest = _manifest(path)
        return pack_from_blobs(_verified_blobs(path, manifest["files"]), manifest["pack"])
    except Exception as exc:  # any damage means "rebuild", never a crash
        log.info("cached pack %s not used (%s: %s); rebuilding", path, type(exc).__name__, exc)
        return None


def store(path: Path, pack) -> bool:
    """Store a pack in folder ``path`` whole or not at all; True if it was stored.

    The files go to a temporary folder beside ``path`` (manifest last), which is renamed to
    ``path``; an old folder there (damaged, or of an older build) is moved aside first and
    deleted. A write error (full disk, read-only cache) leaves no temporary behind and only
    costs a rebuild next time.
    """
    from twin.city.store import pack_blobs

    blobs, meta = pack_blobs(pack)
    files = {name: hashlib.sha256(data).hexdigest() for name, data in blobs.items()}
    manifest = {"format": PACK_FORMAT, "key": path.name.rsplit("-", 1)[-1], "files": files,
                "pack": meta}  # fmt: skip
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        tmp.mkdir(parents=True)
        for name, data in blobs.items():
            (tmp / name).write_bytes(data)
        (tmp / "manifest.json").write_text(json.dumps(manifest, sort_keys=True))
        if path.exists():
            trash = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.old")
            os.replace(path, trash)
            shutil.rmtree(trash, ignore_errors=True)
        os.replace(tmp, path)
        return True
    except OSError as exc:  # another process stored it first, or the folder is not writable
        log.info("pack not cached at %s (%s)", path, exc)
        return False
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
