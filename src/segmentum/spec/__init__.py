"""Definitions: pydantic models, the YAML loader with file:line errors, the expression parser."""
