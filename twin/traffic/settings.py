"""Checks of the traffic model's settings: finite, positive, shares within 0-1."""

from __future__ import annotations

import math

from twin.errors import Problem, UserInputError


def check_settings(**values: float | None) -> None:
    """Refuse settings that are not finite, not positive, or (``priority_share``) not a share;
    ``reroute_every`` and ``stuck_time`` may be None (off)."""
    problems = []
    for name, value in values.items():
        if value is None and name in ("reroute_every", "stuck_time"):
            continue
        ok = value is not None and math.isfinite(value)
        if name == "priority_share":
            ok = ok and 0.0 <= value <= 1.0
            want = "a share between 0 and 1"
        elif name == "stuck_time":
            ok = ok and value >= 0.0
            want = "a finite time >= 0 s (or none: never jump)"
        else:
            ok = ok and value > 0.0
            want = "a finite time > 0 s" + (" (or none: off)" if name == "reroute_every" else "")
        if not ok:
            problems.append(
                Problem(
                    f"{name} must be {want}, not {value!r}",
                    field=name,
                    fix=f"give e.g. `--set {name}={SETTING_EXAMPLES[name]}`",
                )
            )
    if problems:
        raise UserInputError(problems)


#: A sensible value of each setting, for error messages.
SETTING_EXAMPLES = {
    "dt": 1,
    "route_slice": 300,
    "reroute_every": 60,
    "record_every": 60,
    "priority_share": 0.2,
    "stuck_time": 300,
}
