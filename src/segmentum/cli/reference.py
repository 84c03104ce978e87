"""Generate docs/cli.md from the commands' own `--help`, so the reference cannot drift.

`python -m segmentum.cli.reference > docs/cli.md` (or `make docs`); a test fails when the file is stale.
"""

from __future__ import annotations

from typing import Any

import typer.main
from typer.testing import CliRunner

from segmentum.cli.main import app


def _help_text(path: list[str]) -> str:
    # The same text a user sees with --help, at a fixed width and without colours.
    runner = CliRunner()
    result = runner.invoke(
        app, [*path[1:], "--help"], env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}, color=False
    )
    return "\n".join(line.rstrip() for line in result.output.strip().splitlines())


def _walk(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    found = [(path, command)]
    if hasattr(command, "commands"):  # a group (typer may carry its own click)
        for name in sorted(command.commands):
            found += _walk(command.commands[name], [*path, name])
    return found


def render() -> str:
    root = typer.main.get_command(app)
    lines = [
        "# CLI reference",
        "",
        "Generated from each command's `--help` by `make docs` (`python -m segmentum.cli.reference`);",
        "`tests/cli/test_reference.py` fails when this file is out of date.",
        "",
    ]
    for path, _command in _walk(root, ["segmentum"]):
        lines += [f"## `{' '.join(path)}`", "", "```text", _help_text(path), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
