"""The CLI imports a command's module only when the command runs, and its listing says what the command says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer import _click as click

from segmentum.cli import main as cli_main

CLI_DIR = Path(cli_main.__file__).parent
NOT_COMMANDS = {"__init__", "main", "common", "reference", "progress"}


def _first_paragraph(command: click.Command) -> str:
    return " ".join((command.help or "").split("\n\n")[0].split())


def test_every_command_module_is_registered() -> None:
    modules = {p.stem for p in CLI_DIR.glob("*.py")} - NOT_COMMANDS
    registered = {module for module, _, _, _ in cli_main.COMMANDS.values()}
    assert modules == registered


@pytest.mark.parametrize("name", list(cli_main.COMMANDS))
def test_the_listing_repeats_the_commands_own_help(name: str) -> None:
    command = cli_main.load_command(name)
    assert command.name == name
    assert cli_main.COMMANDS[name][3] == _first_paragraph(command)


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_help_imports_no_heavy_library() -> None:
    out = _run(
        "import sys\n"
        "from segmentum.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pandas', 'ibis', 'sklearn', 'scipy', 'duckdb', 'numpy') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    assert "Set up and load" in out and "ingest" in out and "forget" in out
    assert "HEAVY []" in out


@pytest.mark.parametrize("name", ["run", "ingest", "members", "serve"])
def test_a_commands_help_imports_neither_the_engine_nor_pydantic(name: str) -> None:
    """Typer coerces an absent `--help` flag of the root group through pydantic (0.3 s of imports): the root
    group gives the flag its meaning, False, so a command's help costs only that command's module."""
    out = _run(
        "import sys\n"
        "from segmentum.cli.main import main\n"
        f"try:\n    main([{name!r}, '--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pydantic', 'pandas', 'ibis', 'duckdb', 'numpy') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    assert "Usage: segmentum " + name in " ".join(out.split()) and "HEAVY []" in out


def test_a_command_runs_and_a_typo_gets_a_suggestion() -> None:
    help_run = subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", "run", "-h"], capture_output=True, text=True, timeout=120
    )
    assert help_run.returncode == 0 and "--as-of" in help_run.stdout
    typo = subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", "migratoin"], capture_output=True, text=True, timeout=120
    )
    assert typo.returncode == 2
    assert "No such command 'migratoin'. Did you mean 'migration'?" in typo.stderr
    assert "UsageError" not in typo.stderr
    group = subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", "keys", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert group.returncode == 0 and "create" in group.stdout


def test_no_command_loads_a_heavy_library_before_it_runs() -> None:
    """Every command's `--help` (and the start of every command) stays light: the engine, the models and the
    report are imported inside the commands' bodies."""
    out = _run(
        "import sys\n"
        "from segmentum.cli.main import COMMANDS, load_command\n"
        "for name in COMMANDS:\n    load_command(name)\n"
        "heavy = [m for m in ('pandas', 'ibis', 'sklearn', 'scipy', 'numpy', 'segmentum.workspace') "
        "if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    assert "HEAVY []" in out
