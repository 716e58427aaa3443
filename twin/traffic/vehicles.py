"""Per-vehicle state of the traffic model, packed for the kernels and grown on demand."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from twin.traffic import kernels as kern


class VehicleArrays:
    """Per-vehicle state, grown by doubling (indices are vehicle ids).

    Hot fields live packed in ``vi`` (int64) and ``vf`` (float64), one row per vehicle (see
    :mod:`twin.traffic.kernels` for the columns); attributes such as ``status`` are column
    views of them. ``origin``, ``dest``, ``first_link``, ``last_link`` (the links a trip
    starts and ends inside, -1: none) and ``reason`` are separate arrays.
    """

    INT_COLS: ClassVar[dict[str, int]] = {
        "status": kern.I_STATUS,
        "veh_link": kern.I_LINK,
        "path_id": kern.I_PATH,
        "pos": kern.I_POS,
        "queue_next": kern.I_QNEXT,
        "priority": kern.I_PRIO,
        "jumps": kern.I_JUMPS,
    }
    INT_FILL = (kern.WAITING, -1, -1, 0, -1, 0, 0)
    FLOAT_COLS: ClassVar[dict[str, int]] = {
        "t_ready": kern.F_READY,
        "t_depart": kern.F_DEPART,
        "t_arrive": kern.F_ARRIVE,
        "dist": kern.F_DIST,
        "free_sum": kern.F_FREE,
        "start_at": kern.F_FROM,
        "end_at": kern.F_TO,
        "share": kern.F_SHARE,
    }
    FLOAT_FILL = (0.0, 0.0, np.nan, 0.0, 0.0, 0.0, 1.0, 1.0)
    #: Separate arrays and their fill values.
    EXTRA: ClassVar[dict[str, tuple[type, int]]] = {
        "origin": (np.int64, 0),
        "dest": (np.int64, 0),
        "first_link": (np.int64, -1),
        "last_link": (np.int64, -1),
        "reason": (np.int8, 0),
    }

    def __init__(self, size: int) -> None:
        self.size = 0
        self.vi = np.zeros((0, len(self.INT_COLS)), dtype=np.int64)
        self.vf = np.zeros((0, len(self.FLOAT_COLS)))
        for name, (dtype, _) in self.EXTRA.items():
            setattr(self, name, np.zeros(0, dtype=dtype))
        self._views()
        self.grow(size)

    def _views(self) -> None:
        for name, col in self.INT_COLS.items():
            setattr(self, name, self.vi[:, col])
        for name, col in self.FLOAT_COLS.items():
            setattr(self, name, self.vf[:, col])

    def grow(self, needed: int) -> None:
        if needed <= self.size:
            return
        new = max(needed, 2 * self.size, 1024)
        vi = np.empty((new, len(self.INT_COLS)), dtype=np.int64)
        vi[:] = self.INT_FILL
        vi[: self.size] = self.vi
        vf = np.empty((new, len(self.FLOAT_COLS)))
        vf[:] = self.FLOAT_FILL
        vf[: self.size] = self.vf
        self.vi, self.vf = vi, vf
        for name, (dtype, fill) in self.EXTRA.items():
            arr = np.full(new, fill, dtype=dtype)
            arr[: self.size] = getattr(self, name)
            setattr(self, name, arr)
        self.size = new
        self._views()
