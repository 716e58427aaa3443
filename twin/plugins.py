"""Registries of plug-ins by name, shared by the layer that defines them and the files that
name them.

A plug-in (a dispatch policy) is defined in a model package and named in a plan file. The
plan schema (``twin.scenario``) sits below the models and may not import them, so the names
live here, at the base: the model registers into the dictionary, the schema reads it.

:data:`DISPATCH_POLICIES` is the response model's registry itself
(``twin.response.policies.POLICIES`` is this dictionary): register a policy with
``twin.response.policies.register`` and a plan may name it.
"""

from __future__ import annotations

DISPATCH_POLICIES: dict[str, type] = {}
"""Dispatch policy classes by name (filled by ``twin.response.policies.register``)."""
