"""Building blocks shared by scenario and plan models: the strict base, places, paths, version.

Places are WGS84 ``[longitude, latitude]`` pairs in degrees, the order GeoJSON uses. Paths in
a file are relative to that file's folder; the loader passes the folder in the validation
context (``base_dir``) and asks for existence checks (``check_paths``).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from twin.scenario.geofile import FeatureRef, from_layer

SUPPORTED_VERSIONS: tuple[int, ...] = (1,)
"""File format versions this code reads."""

LONLAT_FIX = "write places as [longitude, latitude] in degrees (WGS84), e.g. [7.4246, 43.7384]"


class StrictModel(BaseModel):
    """Base of every scenario and plan model: unknown keys are errors, values are frozen,
    numbers are finite (``.inf`` and ``.nan`` are refused)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, allow_inf_nan=False
    )


def _check_version(value: Any) -> int:
    supported = ", ".join(str(v) for v in SUPPORTED_VERSIONS)
    if isinstance(value, bool) or value not in SUPPORTED_VERSIONS:
        raise PydanticCustomError(
            "unsupported_version",
            f"file format version {value!r} is not supported; supported versions: {supported}",
            {"fix": f"write `version: {SUPPORTED_VERSIONS[-1]}` and match the format it documents"},
        )
    return int(value)


Version = Annotated[
    int,
    BeforeValidator(_check_version),
    WithJsonSchema(
        {
            "type": "integer",
            "enum": list(SUPPORTED_VERSIONS),
            "description": "File format version; required. Supported: "
            + ", ".join(str(v) for v in SUPPORTED_VERSIONS),
        }
    ),
]
"""The ``version`` field every file starts with."""


def _check_range(name: str, low: float, high: float) -> AfterValidator:
    def check(value: float) -> float:
        if not low <= value <= high:
            raise PydanticCustomError(
                "out_of_range",
                f"{name} {value!r} is outside [{low:g}, {high:g}] degrees",
                {"fix": LONLAT_FIX},
            )
        return value

    return AfterValidator(check)


Longitude = Annotated[float, _check_range("longitude", -180.0, 180.0)]
"""Longitude in degrees east (WGS84), -180 to 180."""
Latitude = Annotated[float, _check_range("latitude", -90.0, 90.0)]
"""Latitude in degrees north (WGS84), -90 to 90."""

_FROM_FILE = " Or one feature of a GeoPackage/GeoJSON layer: {file, layer, where}."

LonLat = Annotated[
    tuple[Longitude, Latitude],
    Field(
        description="A place: [longitude, latitude] in degrees (WGS84)." + _FROM_FILE,
        examples=[[7.42, 43.74]],
    ),
    BeforeValidator(
        from_layer("point"), json_schema_input_type=tuple[Longitude, Latitude] | FeatureRef
    ),
]
"""A place as ``(longitude, latitude)`` in degrees; a file may give a point feature of a
layer instead (:mod:`twin.scenario.geofile`)."""

Polygon = Annotated[
    list[LonLat],
    Field(
        min_length=3,
        description="An area: at least 3 [longitude, latitude] corners in degrees; "
        "it is closed automatically." + _FROM_FILE,
    ),
    BeforeValidator(from_layer("area"), json_schema_input_type=list[LonLat] | FeatureRef),
]
"""An area as a list of at least 3 ``(longitude, latitude)`` corners; closed implicitly; a
file may give a polygon feature of a layer instead."""

Polyline = Annotated[
    list[LonLat],
    Field(
        min_length=2,
        description="A line: at least 2 [longitude, latitude] points in degrees." + _FROM_FILE,
    ),
    BeforeValidator(from_layer("line"), json_schema_input_type=list[LonLat] | FeatureRef),
]
"""A line as a list of at least 2 ``(longitude, latitude)`` points; a file may give a line
feature of a layer instead."""


def _name_or_place(value: Any) -> str:
    return "name" if isinstance(value, str) else "place"


NameOrPlace = Annotated[
    Annotated[str, Tag("name")] | Annotated[LonLat, Tag("place")],
    Discriminator(_name_or_place),
]
"""A facility or road named by text (name, OSM id), or a place (inline or from a layer);
text goes to the name, anything else to the place, so a problem names only the one meant."""


def _resolve(must_exist: bool) -> AfterValidator:
    def resolve(path: Path, info: ValidationInfo) -> Path:
        context = info.context or {}
        path = path.expanduser()
        base = context.get("base_dir")
        if base is not None and not path.is_absolute():
            path = Path(base) / path
        if must_exist and context.get("check_paths") and not path.exists():
            where = f" (looked in {Path(base)})" if base is not None else ""
            raise PydanticCustomError(
                "path_not_found",
                f"file not found: {path}{where}",
                {"fix": "check the spelling; relative paths start at the folder of this file"},
            )
        return path

    return AfterValidator(resolve)


InputPath = Annotated[
    Path,
    _resolve(must_exist=True),
    Field(description="Path of an existing file, relative to this file's folder."),
]
"""A file the run reads; relative to the naming file's folder; must exist when loaded."""

OutputPath = Annotated[
    Path,
    _resolve(must_exist=False),
    Field(description="Path of a folder to write to, relative to this file's folder."),
]
"""A folder the run writes; relative to the naming file's folder; created when needed."""


def _check_name(value: str) -> str:
    bad = [c for c in value if c in "/\\" or unicodedata.category(c).startswith("C")]
    if bad or value.strip() in (".", "..") or not value.strip():
        what = f"{bad[0]!r}" if bad else "a name of dots or blanks only"
        raise PydanticCustomError(
            "not_a_name",
            f"a name is not a path: {value!r} holds {what}",
            {
                "fix": "write a plain name without / or \\ (e.g. 'baseline'); choose where "
                "results go with `outputs.folder` or --out"
            },
        )
    return value


Name = Annotated[
    str,
    Field(min_length=1, max_length=100, examples=["baseline"]),
    AfterValidator(_check_name),
]
"""A scenario's or plan's name: free text shown in reports, without path separators or
control characters; files and folders use :func:`file_name` of it."""

_UNSAFE = re.compile(r"[^\w.-]+")


def file_name(name: str) -> str:
    """A safe file or folder name for a scenario or plan name: runs of characters other than
    letters, digits, ``.``, ``-`` and ``_`` become ``_``; no leading dot; never empty.

    >>> file_name("depot [temporary]")
    'depot_temporary'
    >>> file_name("../../etc")
    'etc'
    """
    slug = _UNSAFE.sub("_", name).strip("._-")
    return slug or "unnamed"


def _inside_tree(value: list[Path], info: ValidationInfo) -> list[Path]:
    base = (info.context or {}).get("base_dir")
    if base is None:
        return value
    root = Path(base).resolve()
    for i, path in enumerate(value):
        if not path.resolve().is_relative_to(root):
            raise PydanticCustomError(
                "outside_tree",
                f"{path} is outside this file's folder ({root}); a scenario may only name "
                "plan files in its own folder tree",
                {
                    "subloc": (i,),
                    "fix": "copy the plan beside the scenario (or below it), or pass it on the "
                    "command line with --plan",
                },
            )
    return value


PlanPaths = Annotated[list[InputPath], AfterValidator(_inside_tree)]
"""Plan files a scenario names: existing files inside the scenario's folder tree."""

NonNegativeInt = Annotated[int, Field(ge=0)]
"""A whole number of 0 or more."""
UnitCount = Annotated[int, Field(ge=0, le=1000)]
"""A number of response units of one kind at one station: 0 to 1000."""
PeopleCount = Annotated[int, Field(ge=1, le=10_000_000)]
"""A number of people: 1 to 10 million (more than any gathering a city model can hold)."""
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
"""A share between 0 and 1."""


def require_one_of(model: BaseModel, names: tuple[str, str], what: str) -> None:
    """Raise unless exactly one of two optional fields of ``model`` is given.

    Parameters
    ----------
    model
        The validated model.
    names
        The two field names.
    what
        What the model is, for the message (``"station"``).
    """
    given = [n for n in names if getattr(model, n) is not None]
    if len(given) != 1:
        a, b = names
        raise PydanticCustomError(
            "one_of",
            f"{'an' if what[0] in 'aeiou' else 'a'} {what} needs exactly one of `{a}` or `{b}`, "
            + ("both given" if given else "neither given"),
            {"fix": f"keep only `{a}` or only `{b}`" if given else f"add `{a}` or `{b}`"},
        )
