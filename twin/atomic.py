"""Writing files whole or not at all: a temporary name beside the target, renamed at the end.

Readers (and a user looking at an output folder) never see half a file; a failed or
interrupted write leaves the previous file, if any, untouched and no temporary behind.
:func:`ensure_writable` and :func:`ensure_writable_file` check, before a long run starts,
that its outputs can be written at all (so a run is not lost at the end).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from twin.errors import Problem, UserInputError


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """A temporary path to write ``path`` through; renamed to it when the block succeeds.

    The name is unique per call (``.<name>.<random>.part`` in the same folder), so several
    processes may write the same target at once; the last rename wins. On any error,
    Ctrl-C included, the temporary is deleted and the error propagates.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: Path | str, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def json_ready(data: Any, reasons: dict[str, str] | None = None) -> tuple[Any, dict[str, str]]:
    """``data`` with numpy values as Python ones and every non-finite number as ``None``.

    Parameters
    ----------
    data
        Nested dicts, lists and tuples of numbers, strings, bools and ``None`` (numpy
        scalars and arrays allowed).
    reasons
        Why a value may be undefined, by its dotted key path (``"mean_travel_time_s"``,
        ``"plans.a.p90"``); used for the values replaced.

    Returns
    -------
    data, nulls
        The cleaned data, and for each value replaced by ``None`` its key path and why:
        the given reason, else what the value was.
    """
    reasons = reasons or {}
    nulls: dict[str, str] = {}

    def clean(value: Any, where: str) -> Any:
        if isinstance(value, dict):
            return {k: clean(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple | np.ndarray):
            return [clean(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            nulls[where] = reasons.get(where, f"{value} is not a finite number")
            return None
        return value

    return clean(data, ""), nulls


def write_json(
    path: Path | str, data: Any, *, reasons: dict[str, str] | None = None, indent: int = 2
) -> Path:
    """Write ``data`` as strict JSON (RFC 8259: no ``NaN`` or ``Infinity``) atomically.

    Non-finite numbers are written as ``null``; when ``data`` is a mapping, a ``"nulls"``
    entry then says why for each (see :func:`json_ready`), so a reader never meets a bare
    ``null`` nor a ``NaN`` that strict parsers (browsers, ``jq``, DuckDB) reject.

    Raises
    ------
    TypeError
        If ``data`` holds something JSON cannot represent (a bug of the caller).
    """
    clean, nulls = json_ready(data, reasons)
    if nulls:
        if not isinstance(clean, dict):
            raise TypeError(f"non-finite values outside a mapping: {sorted(nulls)}")
        clean = {**clean, "nulls": nulls}
    return write_text(path, json.dumps(clean, indent=indent, allow_nan=False) + "\n")


def ensure_writable(folder: Path | str, *, field: str = "--out") -> Path:
    """Make sure outputs can be written in ``folder``: create it if missing, then write and
    delete a probe file there (the only test that also catches read-only and immutable
    folders, full disks and a user for whom permission bits do not apply).

    Parameters
    ----------
    folder
        The output folder.
    field
        The option or scenario field that chose it, for the message.

    Returns
    -------
    Path
        ``folder``.

    Raises
    ------
    UserInputError
        If ``folder`` (or a folder above it) is a file, or it cannot be created or
        written in; naming the folder, the system's reason and a fix.
    """
    folder = Path(folder)
    above = folder
    while not above.exists() and above != above.parent:
        above = above.parent
    if above.exists() and not above.is_dir():
        what = "is a file" if above == folder else f"is under {above}, which is a file"
        raise UserInputError(
            Problem(
                f"the output folder {what}, not a folder",
                folder,
                field=field,
                fix="name a folder (new or existing), not a file",
            )
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".twin-write-check-", dir=folder)
        try:
            os.write(fd, b"x")
        finally:
            os.close(fd)
            Path(probe).unlink(missing_ok=True)
    except OSError as exc:
        raise UserInputError(
            Problem(
                f"cannot write in the output folder: {exc.strerror or exc}",
                folder,
                field=field,
                fix="choose a folder you may write in (check its permissions and free "
                "space), e.g. with --out",
            )
        ) from None
    return folder


def ensure_writable_file(path: Path | str, *, field: str = "--out") -> Path:
    """Make sure the file ``path`` can be written: its folder passes
    :func:`ensure_writable` and ``path`` is not an existing folder.

    Raises
    ------
    UserInputError
        As :func:`ensure_writable`, or if ``path`` is a folder.
    """
    path = Path(path)
    if path.is_dir():
        raise UserInputError(
            Problem(
                "is a folder, not a file",
                path,
                field=field,
                fix=f"name a file, e.g. {path / ('output' + (path.suffix or '.out'))}",
            )
        )
    ensure_writable(path.parent if str(path.parent) else Path("."), field=field)
    return path
