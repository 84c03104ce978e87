from __future__ import annotations

from pathlib import Path

from segmentum.cli.reference import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_cli_reference_is_generated_from_help_and_up_to_date() -> None:
    assert DOC.read_text() == render(), "docs/cli.md is stale: run `make docs`"


def test_every_command_is_documented() -> None:
    text = DOC.read_text()
    for command in ("init", "validate"):
        assert f"## `segmentum {command}`" in text
