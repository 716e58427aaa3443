"""Where a problem is: the file and line of a field of a loaded scenario or plan.

Two jobs, one module:

* :func:`where` (and :func:`problem_at`, which builds the :class:`~twin.errors.Problem`)
  locates a field of a scenario or plan that :mod:`twin.scenario.loader` loaded. The loader
  remembers each validated model's file and parsed YAML tree (which knows every key's
  line) when it loads it, so nothing re-reads a YAML file to find a line: a model checks
  its inputs, finds a problem and asks ``where(scenario, ["hazards", 0, "at"])``.
* :func:`problems_from` turns a pydantic validation error into problems with lines and
  fixes. Each error's ``loc`` is walked twice in step: through the model's types (to drop
  the tags pydantic adds for union members and to know which fields a level allows) and
  through the ruamel.yaml tree (to find the line of the deepest key that exists in the
  file).
"""

from __future__ import annotations

import re
import types
import typing
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from twin.errors import Problem

__all__ = [
    "README_FIX",
    "Source",
    "adopt",
    "field_path",
    "line_of",
    "problem_at",
    "problems_from",
    "remember",
    "source_of",
    "union_tags",
    "where",
]

README_FIX = "see scenarios/README.md for this field"

_TYPE_NAMES = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "string": "text",
    "list": "a list",
    "tuple": "a list",
    "dict": "a mapping (`key: value` lines)",
    "model": "a mapping (`key: value` lines)",
    "model_attributes": "a mapping (`key: value` lines)",
    "datetime": "a date and time (ISO 8601, e.g. 2024-10-17T14:00:00)",
    "path": "a file path",
}
_COMPARE = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}
_CTX_KEY = {
    "greater_than": "gt",
    "greater_than_equal": "ge",
    "less_than": "lt",
    "less_than_equal": "le",
}


@dataclass
class _Where:
    """Where an error is: the path in the file, the type there and its parent model."""

    keys: list[str | int]
    annotation: Any
    parent: Any


def _unwrap(tp: Any) -> Any:
    """Strip ``Annotated`` and ``None`` from a type: ``Annotated[X | None, ...]`` -> ``X``."""
    while True:
        if typing.get_origin(tp) is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if _is_union(tp):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def union_tags(tp: Any) -> dict[str, Any]:
    """Tags of a tagged union's members: a ``Tag`` annotation or a literal discriminator."""
    tags: dict[str, Any] = {}
    for member in typing.get_args(_unwrap(tp)):
        for meta in typing.get_args(member)[1:] if typing.get_origin(member) else ():
            tag = getattr(meta, "tag", None)
            if isinstance(tag, str):
                tags[tag] = member
        inner = _unwrap(member)
        if _is_model(inner):
            for name in ("kind", "policy"):
                field = inner.model_fields.get(name)
                if field is not None and typing.get_origin(field.annotation) is Literal:
                    tags[typing.get_args(field.annotation)[0]] = inner
    return tags


def _step(tp: Any, key: str | int) -> tuple[Any, bool]:
    """The type one ``loc`` element below ``tp``, and whether the element was a union tag."""
    tp = _unwrap(tp)
    if _is_union(tp):
        member = union_tags(tp).get(key) if isinstance(key, str) else None
        return member, member is not None
    if _is_model(tp) and isinstance(key, str):
        field = tp.model_fields.get(key)
        return (field.annotation if field else None), False
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (list, tuple) and isinstance(key, int) and args:
        if origin is tuple and len(args) > 1 and args[-1] is not Ellipsis:
            return (args[key] if key < len(args) else None), False
        return args[0], False
    if origin is dict and len(args) == 2:
        return args[1], False
    return None, False


def _walk(model: type[BaseModel], loc: tuple[str | int, ...]) -> _Where:
    """Drop union tags from ``loc``; find the type it points at and the model above it."""
    keys: list[str | int] = []
    tp: Any = model
    parent: Any = model
    for key in loc:
        if key == "[key]":
            break
        if _is_model(_unwrap(tp)):
            parent = _unwrap(tp)
        new, is_tag = _step(tp, key) if tp is not None else (None, False)
        if is_tag:
            tp = new
            continue
        keys.append(key)
        tp = new
    return _Where(keys, tp, parent)


def field_path(keys: list[str | int]) -> str:
    """Dotted path of a field: ``["hazards", 0, "at"]`` -> ``"hazards[0].at"``."""
    text = ""
    for key in keys:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


def line_of(tree: Any, keys: list[str | int]) -> int | None:
    """1-based line of the deepest of ``keys`` present in a ruamel.yaml tree."""
    node = tree
    line = node.lc.line + 1 if hasattr(node, "lc") else None
    for key in keys:
        if isinstance(node, dict) and key in node and hasattr(node, "lc"):
            line = node.lc.key(key)[0] + 1
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            if hasattr(node, "lc"):
                line = node.lc.item(key)[0] + 1
            node = node[key]
        else:
            break
    return line


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _example(spot: _Where, name: str | int) -> str | None:
    parent = spot.parent
    field: FieldInfo | None = parent.model_fields.get(name) if _is_model(parent) else None
    if field is None:
        return None
    if field.examples:
        example = field.examples[0]
        if isinstance(example, dict):
            inner = ", ".join(f"{k}: {v}" for k, v in example.items())
            return f"{{{inner}}}"
        return str(example)
    return None


def _suggest(word: Any, choices: list[str]) -> str | None:
    if not isinstance(word, str):
        return None
    close = get_close_matches(word, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def _describe(err: ErrorDetails, spot: _Where) -> tuple[str, str]:
    """Message and fix of one error."""
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    last = spot.keys[-1] if spot.keys else ""
    if "fix" in ctx:
        return err["msg"], str(ctx["fix"])
    if kind == "missing":
        example = _example(spot, last)
        fix = f"add `{last}: {example}`" if example else f"add `{last}:` ({README_FIX})"
        return f"missing required field `{last}`", fix
    if kind == "extra_forbidden":
        allowed = list(spot.parent.model_fields) if _is_model(spot.parent) else []
        close = _suggest(last, allowed)
        if close:
            return f"unknown field `{last}`; did you mean '{close}'?", f"rename it to `{close}`"
        return f"unknown field `{last}`", f"remove it; fields allowed here: {', '.join(allowed)}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        disc = str(ctx.get("discriminator", "kind")).strip("'")
        tags = list(union_tags(spot.annotation)) if spot.annotation is not None else []
        choices = ", ".join(tags)
        if kind == "union_tag_not_found":
            return f"missing `{disc}`", f"add `{disc}:` with one of: {choices}"
        tag = ctx.get("tag")
        close = _suggest(tag, tags)
        hint = f"; did you mean '{close}'?" if close else ""
        return f"unknown {disc} {tag!r}{hint}", f"use one of: {choices}"
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        close = _suggest(value, allowed)
        hint = f"; did you mean '{close}'?" if close else ""
        return (
            f"{_show(value)} is not allowed here{hint}",
            f"use one of: {', '.join(allowed)}",
        )
    if kind == "finite_number":
        return f"must be a finite number, got {_show(value)}", (
            "write an ordinary number (not .inf or .nan)"
        )
    if kind in _COMPARE:
        bound = ctx.get(_CTX_KEY[kind])
        return f"must be {_COMPARE[kind]} {bound}, got {_show(value)}", (
            f"write a value {_COMPARE[kind]} {bound}"
        )
    if kind in ("too_short", "too_long"):
        if kind == "too_short":
            n, word = ctx.get("min_length"), "at least"
        else:
            n, word = ctx.get("max_length"), "at most"
        got = ctx.get("actual_length")
        return f"needs {word} {n} entries, got {got}", f"give {word} {n} entries"
    base = kind.split("_")[0] if not kind.startswith("model_attributes") else "model_attributes"
    if kind.endswith(("_type", "_parsing", "_from_float")) or kind.startswith("datetime"):
        name = _TYPE_NAMES.get(base) or _TYPE_NAMES.get(kind.rsplit("_", 1)[0], "another type")
        example = _example(spot, last)
        return f"expected {name}, got {_show(value)}", (
            f"write e.g. `{last}: {example}`" if example else f"write {name}"
        )
    return err["msg"].removeprefix("Value error, "), README_FIX


def problems_from(
    error: ValidationError, model: type[BaseModel], tree: Any, file: Path | str
) -> list[Problem]:
    """One :class:`Problem` per error of a validation against ``model``, sorted by line.

    Parameters
    ----------
    error
        The pydantic error.
    model
        The model validated (:class:`~twin.scenario.schema.Scenario` or ``Plan``).
    tree
        The ruamel.yaml round-trip tree the data came from (for line numbers).
    file
        The file's path, for messages.
    """
    problems: list[Problem] = []
    for err in error.errors():
        ctx = err.get("ctx") or {}
        loc = list(ctx.get("loc", err["loc"])) + list(ctx.get("subloc", ()))
        spot = _walk(model, tuple(loc))
        message, fix = _describe(err, spot)
        keys = spot.keys
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            keys = [*keys, str(ctx.get("discriminator", "kind")).strip("'")]
        problem = Problem(message, file, line_of(tree, keys), field_path(keys) or None, fix)
        if problem not in problems:
            problems.append(problem)
    return sorted(problems, key=lambda p: p.line or 0)


@dataclass(frozen=True)
class Source:
    """Where a validated model came from.

    Attributes
    ----------
    file
        The YAML file it was read from.
    tree
        The ruamel.yaml round-trip tree parsed from it (each key knows its line).
    """

    file: Path
    tree: Any

    def line(self, keys: Sequence[str | int]) -> int | None:
        """1-based line of the deepest of ``keys`` present in the file."""
        return line_of(self.tree, list(keys))


_SOURCES: dict[int, tuple[weakref.ref, Source]] = {}
"""id(model) -> (weak reference to the model, its source); an entry leaves with its model."""


def remember(model: BaseModel, file: Path | str, tree: Any) -> None:
    """Record that ``model`` was validated from ``tree``, read from ``file`` (the loader
    calls this once per file it loads; the entry lives as long as the model).

    Parameters
    ----------
    model
        A validated scenario or plan.
    file
        Its YAML file.
    tree
        The ruamel.yaml tree it was validated from.
    """
    key = id(model)
    ref = weakref.ref(model, lambda _ref, key=key: _SOURCES.pop(key, None))
    _SOURCES[key] = (ref, Source(Path(file), tree))


def source_of(model: BaseModel) -> Source | None:
    """The file and tree ``model`` was loaded from; ``None`` for a model built in code, or
    one that travelled to another process (sources are not pickled with models)."""
    entry = _SOURCES.get(id(model))
    if entry is None or entry[0]() is not model:
        return None
    return entry[1]


def adopt(model: BaseModel, original: BaseModel) -> None:
    """Give ``model`` (a variant or copy of ``original``) the source of ``original``, so
    problems with its fields point at the lines they came from.

    Parameters
    ----------
    model
        The derived model.
    original
        A model :func:`remember` knows.
    """
    source = source_of(original)
    if source is not None:
        remember(model, source.file, source.tree)


def where(
    model: BaseModel, keys: Sequence[str | int], *, file: Path | str | None = None
) -> tuple[Path | None, int | None]:
    """The file and line of a field of a loaded scenario or plan.

    Parameters
    ----------
    model
        The validated scenario or plan (as :mod:`twin.scenario.loader` returned it, or a
        variant given its source by :func:`adopt`).
    keys
        The field's path, e.g. ``["stations", 2, "location"]``.
    file
        The file to name when the model has no recorded source (built in code, or sent to
        another process); its line is then unknown (``None``).

    Returns
    -------
    tuple
        ``(file, line)``: the line of the deepest of ``keys`` present in the file (1-based;
        the mapping's own line when the first key is missing); either may be ``None``.
    """
    source = source_of(model)
    if source is None:
        return (Path(file) if file is not None else None), None
    return source.file, source.line(keys)


def problem_at(
    model: BaseModel,
    keys: Sequence[str | int],
    message: str,
    fix: str | None = None,
    *,
    file: Path | str | None = None,
) -> Problem:
    """A :class:`~twin.errors.Problem` about a field of a loaded scenario or plan, naming
    its file, line and dotted field path (see :func:`where` for ``file``)."""
    path, line = where(model, keys, file=file)
    return Problem(message, path, line, field_path(list(keys)) or None, fix)
