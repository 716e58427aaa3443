"""Memory the traffic model needs for a number of vehicles, checked before allocating."""

from __future__ import annotations

import os

from twin.errors import Problem, UserInputError

#: Upper bound of the memory (bytes) one vehicle costs from demand to written results: its
#: trip arrays (read, concatenated), the packed vehicle state (9 int64 and 8 float64
#: columns, origin, destination, first and last link), the copy made while the arrays
#: grow, the origin-queue sort, the trip records and routing work space. A test measures
#: the peak with tracemalloc and checks it stays below this.
BYTES_PER_VEHICLE = 1000


def available_memory() -> int:
    """Memory (bytes) the system can give now: ``MemAvailable``, else physical memory."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic systems
        return 8 * 1024**3


def check_vehicles(n: float, limit: int | None = None, *, field: str = "demand") -> int:
    """Raise before allocating if ``n`` vehicles would not fit in memory.

    Parameters
    ----------
    n
        Number of vehicles (may be an expected count, e.g. of an evacuation).
    limit
        Largest memory to use (bytes); default half of :func:`available_memory`.
    field
        Where the vehicles come from, for the message.

    Returns
    -------
    int
        The estimate (bytes).
    """
    need = int(n * BYTES_PER_VEHICLE)
    cap = limit if limit is not None else available_memory() // 2
    if need > cap:
        raise UserInputError(
            Problem(
                f"{n:,.0f} vehicles would need about {need / 1e9:,.1f} GB of memory "
                f"({BYTES_PER_VEHICLE} bytes each), more than the {cap / 1e9:.1f} GB allowed"
                + (" (half of the memory available now)" if limit is None else ""),
                field=field,
                fix=f"use at most {cap // BYTES_PER_VEHICLE:,} vehicles, or run on a machine "
                "with more memory",
            )
        )
    return need
