"""Definitions from YAML text, checked against the canonical tables' columns, without a workspace (shared by
the tests of the loader and the compiler)."""

from __future__ import annotations

from segmentum.schema import TABLES
from segmentum.spec.definitions import Definitions
from segmentum.spec.loader import DefinitionBuilder


def load_definitions(text: str, file: str = "definitions/case.yml") -> Definitions:
    """`text` as if it were the workspace's file `file`, over every canonical table and customer attribute."""
    tables = {name: dict(spec.columns) for name, spec in TABLES.items()}
    builder = DefinitionBuilder(tables, dict(TABLES["customers"].columns))
    builder.add_text(text, file)
    return builder.finish()
