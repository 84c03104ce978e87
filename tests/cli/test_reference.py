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


def test_help_paragraphs_fit_an_80_column_terminal() -> None:
    """Typer keeps a help text's line breaks after its first paragraph: a docstring line longer than the
    terminal wraps there and then breaks again at the docstring's own newline, a ragged paragraph."""
    from segmentum.cli.reference import _walk_root

    too_long = []
    for path, command in _walk_root():
        later_paragraphs = (command.help or "").split("\n\n")[1:]
        for paragraph in later_paragraphs:
            for line in paragraph.splitlines():
                if len(line.strip()) > 76:
                    too_long.append(f"{' '.join(path)}: {line.strip()!r}")
    assert not too_long, "help lines over 76 characters (wrap the docstring):\n" + "\n".join(too_long)
