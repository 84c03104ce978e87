"""Generate docs/cli.md from the commands' own `--help`, so the reference cannot drift.

`python -m segmentum.cli.reference > docs/cli.md` (or `make docs`); a test fails when the file is stale.
"""

from __future__ import annotations

from typing import Any

import typer.main
from typer.testing import CliRunner

from segmentum.cli.main import COMMANDS, app, load_command


def _help_text(path: list[str]) -> str:
    # The same text a user sees with --help, at a fixed width and without colours.
    runner = CliRunner()
    result = runner.invoke(
        app, [*path[1:], "--help"], env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}, color=False
    )
    return "\n".join(line.rstrip() for line in result.output.strip().splitlines())


def _walk(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    found = [(path, command)]
    if hasattr(command, "commands"):  # a group
        for name in sorted(command.commands):
            found += _walk(command.commands[name], [*path, name])
    return found


def _walk_root() -> list[tuple[list[str], Any]]:
    # The root loads its commands lazily: load each one to walk it.
    found: list[tuple[list[str], Any]] = [(["segmentum"], typer.main.get_command(app))]
    for name in sorted(COMMANDS):
        found += _walk(load_command(name), ["segmentum", name])
    return found


def render() -> str:
    lines = [
        "# CLI reference",
        "",
        "Generated from each command's `--help` by `make docs` (`python -m segmentum.cli.reference`);",
        "`tests/cli/test_reference.py` fails when this file is out of date.",
        "",
    ]
    for path, _command in _walk_root():
        lines += [f"## `{' '.join(path)}`", "", "```text", _help_text(path), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
