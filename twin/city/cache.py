"""On-disk cache of built city packs, keyed by the inputs' SHA-256 and the build options."""

from __future__ import annotations

import contextlib
import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

from twin.atomic import write_bytes
from twin.settings import cache_dir

#: Bump when the contents or meaning of a pack change, so old caches are rebuilt.
PACK_FORMAT = 1


def code_digest() -> str:
    """Hash of the city-building code: any change to it invalidates cached packs."""
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, memoised on (path, size, mtime) in the cache folder."""
    path = Path(path).resolve()
    stat = path.stat()
    memo_path = cache_dir() / "sha256.json"
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    if key in memo:
        return memo[key]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    memo[key] = digest.hexdigest()
    with contextlib.suppress(OSError):  # a read-only cache folder only costs re-hashing
        write_bytes(memo_path, json.dumps(memo, indent=0).encode())
    return memo[key]


def pack_key(sources: dict[str, Any], options: dict[str, Any]) -> str:
    """Cache key: a hash of the pack format and code, input checksums and build options."""
    blob = json.dumps(
        {"format": PACK_FORMAT, "code": code_digest(), "sources": sources, "options": options},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def cache_path(name: str, key: str) -> Path:
    return cache_dir() / "packs" / f"{name}-{key}.pkl"


def load_cached(path: Path):
    """The pack stored at ``path``, or None if absent or unreadable (then it is rebuilt)."""
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        return None


def store(path: Path, pack) -> None:
    """Store a pack atomically."""
    write_bytes(path, pickle.dumps(pack, protocol=pickle.HIGHEST_PROTOCOL))
