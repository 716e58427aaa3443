"""Deprecated private name of :mod:`twin.scenario.problems` (a shim: it re-exports it).

Packages that imported ``twin.scenario._problems`` keep working while they switch to the
public module (issue 13); new code imports :mod:`twin.scenario.problems`.
"""

from twin.scenario.problems import (  # noqa: F401
    README_FIX,
    Source,
    adopt,
    field_path,
    line_of,
    problem_at,
    problems_from,
    remember,
    source_of,
    union_tags,
    where,
)
