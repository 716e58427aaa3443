"""Checks a run command makes before it starts work, so a long run is not lost at the end."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from twin.errors import Problem, UserInputError


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
