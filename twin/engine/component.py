"""The component contract: what every model of a run offers the engine.

A component (flood, traffic, crowd, response) is a model behind one small interface, in
the spirit of Landlab's component ``_info``:

* ``name`` and ``time`` (s since the scenario start);
* ``advance_to(t)``: advance to time ``t`` (s), never past it;
* ``info``: every input and output declared once, as a :class:`Field` with units, location
  (which tells the shape, through ``sizes()``), dtype and a line of doc;
* ``output(name)`` returns a declared output, ``set_input(name, value)`` sets a declared
  input (checked against its declaration; it takes effect from the next step);
* ``inject(action, payload)``: a timeline action (close links, open links...), the
  actions being declared in ``actions``;
* ``vitals()``: a few scalars for the run's vital signs (see :mod:`twin.engine.run`);
* ``snapshot()``: the component's full state as a flat mapping of numpy arrays and
  scalars (no pickle; it can go into an ``.npz``), and ``restore(snapshot)``, which puts a
  FRESH component (built from the same construction inputs) into that state: advancing it
  to a later time then gives bit for bit what advancing the original would have.

:func:`check_component` validates the declarations once (the run loop calls it when a run
starts); :func:`capture` and :func:`apply` are the helpers the adapters use to snapshot
and restore plain objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "Component",
    "Field",
    "apply",
    "capture",
    "check_component",
    "rng_state",
    "set_rng_state",
]

#: Scalars a snapshot may hold besides numpy arrays.
Scalar = bool | int | float | str | np.generic


@dataclass(frozen=True)
class Field:
    """One declared input or output of a component.

    Parameters
    ----------
    name
        Name used with ``output()`` / ``set_input()``, e.g. ``"depth"``.
    intent
        ``"in"`` (others write it) or ``"out"`` (others read it).
    units
        SI units as text (``"m"``, ``"m/s"``, ``"veh/m"``); ``"1"`` when dimensionless.
    location
        Where the values sit (``"cell"``, ``"link"``, ``"person"``...): a key of the
        component's ``sizes()``, which gives the array's shape; ``"scalar"`` for one number.
    dtype
        numpy dtype name (``"float64"``, ``"bool"``, ``"int64"``).
    doc
        What it is, in one line.
    """

    name: str
    intent: Literal["in", "out"]
    units: str
    location: str
    dtype: str
    doc: str


@runtime_checkable
class Component(Protocol):
    """What the engine needs of a model (see the module notes)."""

    name: str
    info: tuple[Field, ...]
    actions: Mapping[str, str]

    @property
    def time(self) -> float:
        """Current simulated time (s)."""
        ...

    def sizes(self) -> dict[str, tuple[int, ...]]:
        """Shape of the arrays at each location the ``info`` names."""
        ...

    def advance_to(self, t: float) -> None:
        """Advance to time ``t`` (s), never past it."""
        ...

    def output(self, name: str) -> Any:
        """The declared output ``name`` now (an array of the declared shape, or a scalar)."""
        ...

    def set_input(self, name: str, value: Any) -> None:
        """Set the declared input ``name``."""
        ...

    def inject(self, action: str, payload: Mapping[str, Any]) -> None:
        """Apply a timeline action (one of ``actions``) now."""
        ...

    def vitals(self) -> dict[str, float]:
        """A few numbers that say how the model is doing now."""
        ...

    def snapshot(self) -> dict[str, np.ndarray | Scalar]:
        """The full state: numpy arrays and scalars only."""
        ...

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Put this (fresh) component into the state ``snapshot`` describes."""
        ...


_MEMBERS = (
    "advance_to", "output", "set_input", "inject", "vitals", "snapshot", "restore", "sizes",
)  # fmt: skip


def check_component(component: Any) -> None:
    """Check a component's declarations once: members present, fields well formed, every
    output present with its declared shape and dtype.

    Raises
    ------
    TypeError
        If the component breaks the contract (a bug in the component, not a user error).
    """
    label = getattr(component, "name", type(component).__name__)
    missing = [m for m in _MEMBERS if not callable(getattr(component, m, None))]
    for attr in ("name", "info", "actions", "time"):
        if not hasattr(component, attr):
            missing.append(attr)
    if missing:
        raise TypeError(f"component {label!r} lacks {', '.join(missing)}")
    if not isinstance(component.name, str) or not component.name:
        raise TypeError(f"component {label!r}: name must be a non-empty string")
    sizes = component.sizes()
    seen: set[tuple[str, str]] = set()
    for f in component.info:
        where = f"component {label!r}, field {f.name!r}"
        if not isinstance(f, Field):
            raise TypeError(f"component {label!r}: info holds {f!r}, not a Field")
        if (f.name, f.intent) in seen:
            raise TypeError(f"{where}: declared twice")
        seen.add((f.name, f.intent))
        if f.intent not in ("in", "out"):
            raise TypeError(f"{where}: intent must be 'in' or 'out', not {f.intent!r}")
        if not f.units or not f.doc:
            raise TypeError(f"{where}: needs units ('1' if dimensionless) and a doc line")
        if f.location != "scalar" and f.location not in sizes:
            raise TypeError(f"{where}: location {f.location!r} is not in sizes() {list(sizes)}")
        try:
            np.dtype(f.dtype)
        except TypeError as exc:
            raise TypeError(f"{where}: dtype {f.dtype!r} is not a numpy dtype") from exc
        if f.intent == "out":
            check_value(component, f, component.output(f.name))
    for action, doc in component.actions.items():
        if not isinstance(action, str) or not doc:
            raise TypeError(f"component {label!r}: action {action!r} needs a doc line")


def check_value(component: Any, f: Field, value: Any) -> np.ndarray:
    """``value`` as an array, checked against ``f``'s shape and dtype kind.

    Raises
    ------
    TypeError
        If the shape or the kind of dtype (bool, integer, float) differs.
    """
    arr = np.asarray(value)
    shape = () if f.location == "scalar" else tuple(component.sizes()[f.location])
    if arr.shape != shape:
        raise TypeError(
            f"component {component.name!r}, field {f.name!r}: shape {arr.shape}, declared "
            f"{shape} ({f.location})"
        )
    if arr.dtype.kind != np.dtype(f.dtype).kind and not (
        arr.dtype.kind in "iu" and np.dtype(f.dtype).kind == "f"
    ):
        raise TypeError(
            f"component {component.name!r}, field {f.name!r}: dtype {arr.dtype}, declared {f.dtype}"
        )
    return arr


def field_of(component: Any, name: str, intent: str) -> Field:
    """The declared field ``name`` of ``intent`` ("in"/"out").

    Raises
    ------
    KeyError
        Naming the declared fields of that intent.
    """
    for f in component.info:
        if f.name == name and f.intent == intent:
            return f
    names = [f.name for f in component.info if f.intent == intent]
    kind = "input" if intent == "in" else "output"
    raise KeyError(f"component {component.name!r} has no {kind} {name!r} (it has {names})")


# ---------------------------------------------------------------------------- state helpers
def capture(obj: Any, prefix: str, *, skip: Iterable[str] = ()) -> dict[str, Any]:
    """The mutable state of a plain object: every attribute that is a numpy array (copied),
    a scalar, a tuple or list of scalars, a list of arrays or a dict of scalars, under
    ``prefix.attribute``. Other attributes (networks, settings, callables) are construction
    inputs a fresh object rebuilds, and are left out; so are the names in ``skip``.

    A list of arrays is stored as ``prefix.name#k`` per element plus ``prefix.name#n``; a
    list or tuple of scalars as the array ``prefix.name[]``; a list of equal-length tuples
    of numbers as the 2-D array ``prefix.name[[]]``; a dict of scalars as
    ``prefix.name{key}``; ``None`` as the marker ``prefix.name?none``.
    """
    out: dict[str, Any] = {}
    skipped = set(skip)
    for key, value in vars(obj).items():
        if key in skipped:
            continue
        name = f"{prefix}.{key}"
        if isinstance(value, np.ndarray):
            out[name] = value.copy()
        elif isinstance(value, (bool, int, float, str, np.generic)):
            out[name] = value
        elif value is None:
            out[f"{name}?none"] = True
        elif isinstance(value, (list, tuple)) and all(isinstance(v, np.ndarray) for v in value):
            if isinstance(value, list) or value:
                out[f"{name}#n"] = len(value)
                for k, v in enumerate(value):
                    out[f"{name}#{k}"] = v.copy()
        elif isinstance(value, (list, tuple)) and all(
            isinstance(v, (bool, int, float, str, np.generic)) for v in value
        ):
            out[f"{name}[]"] = np.asarray(value) if value else np.zeros(0)
        elif isinstance(value, list) and all(
            isinstance(v, tuple) and all(isinstance(x, (int, float, np.generic)) for x in v)
            for v in value
        ):
            out[f"{name}[[]]"] = np.asarray(value)
        elif isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, (bool, int, float, np.generic))
            for k, v in value.items()
        ):
            for k, v in value.items():
                out[f"{name}{{{k}}}"] = v
    return out


def apply(obj: Any, snapshot: Mapping[str, Any], prefix: str) -> None:
    """Set the attributes :func:`capture` stored under ``prefix`` back on ``obj`` (a fresh
    object of the same class), each with the type the fresh object's attribute has."""
    current = vars(obj)
    lists: dict[str, list] = {}
    dicts: dict[str, dict] = {}
    head = prefix + "."
    for key, value in snapshot.items():
        if not key.startswith(head) or "." in key[len(head) :]:
            continue
        rest = key[len(head) :]
        if rest.endswith("?none"):
            setattr(obj, rest[:-5], None)
        elif "#" in rest:
            attr, _, idx = rest.partition("#")
            items = lists.setdefault(attr, [])
            if idx == "n":
                items.extend([None] * (int(value) - len(items)))
            else:
                k = int(idx)
                items.extend([None] * (k + 1 - len(items)))
                items[k] = np.array(value)
        elif rest.endswith("[[]]"):
            setattr(obj, rest[:-4], [tuple(row) for row in np.asarray(value).tolist()])
        elif rest.endswith("[]"):
            attr = rest[:-2]
            kind = type(current.get(attr, []))
            setattr(obj, attr, kind(np.asarray(value).tolist()))
        elif "{" in rest:
            attr, _, k = rest.partition("{")
            dicts.setdefault(attr, {})[k[:-1]] = _as_python(value)
        elif isinstance(value, np.ndarray) and value.ndim > 0:
            setattr(obj, rest, np.array(value))
        else:
            old = current.get(rest)
            setattr(obj, rest, _like(old, value))
    for attr, items in lists.items():
        kind = type(current.get(attr, []))
        setattr(obj, attr, kind(items))
    for attr, items in dicts.items():
        setattr(obj, attr, items)


def _as_python(value: Any) -> Any:
    return value.item() if isinstance(value, (np.generic, np.ndarray)) else value


def _like(old: Any, value: Any) -> Any:
    """``value`` with the type of ``old`` (a fresh object's attribute)."""
    if isinstance(old, np.ndarray):
        return np.array(value, dtype=old.dtype)
    if isinstance(old, np.generic):
        return type(old)(value)
    if isinstance(old, bool):
        return bool(value)
    if isinstance(old, int):
        return int(value)
    if isinstance(old, float):
        return float(value)
    return _as_python(value)


def rng_state(rng: np.random.Generator, prefix: str) -> dict[str, Any]:
    """A PCG64 generator's state as uint64 words (no pickle, no Python big ints)."""
    st = rng.bit_generator.state
    if st["bit_generator"] != "PCG64":
        raise TypeError(f"only PCG64 generators are snapshot, not {st['bit_generator']}")
    words = []
    for big in (st["state"]["state"], st["state"]["inc"]):
        words += [big & 0xFFFFFFFFFFFFFFFF, big >> 64]
    return {
        f"{prefix}.words": np.array(words, dtype=np.uint64),
        f"{prefix}.has_uint32": int(st["has_uint32"]),
        f"{prefix}.uinteger": int(st["uinteger"]),
    }


def set_rng_state(rng: np.random.Generator, snapshot: Mapping[str, Any], prefix: str) -> None:
    """Put a PCG64 generator into the state :func:`rng_state` stored under ``prefix``."""
    w = [int(x) for x in np.asarray(snapshot[f"{prefix}.words"], dtype=np.uint64)]
    rng.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": w[0] | (w[1] << 64), "inc": w[2] | (w[3] << 64)},
        "has_uint32": int(snapshot[f"{prefix}.has_uint32"]),
        "uinteger": int(snapshot[f"{prefix}.uinteger"]),
    }
