"""Writing files whole or not at all: a temporary name beside the target, renamed at the end.

Readers (and a user looking at an output folder) never see half a file; a failed or
interrupted write leaves the previous file, if any, untouched and no temporary behind.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np


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
