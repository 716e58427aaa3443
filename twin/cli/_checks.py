"""Checks a run command makes before it starts work, so a long run is not lost at the end.

They live in :mod:`twin.atomic` (the library checks its outputs too, e.g.
:func:`twin.compare`); this module re-exports them for the commands that import them here.
"""

from twin.atomic import ensure_writable, ensure_writable_file

__all__ = ["ensure_writable", "ensure_writable_file"]
