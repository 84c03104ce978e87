from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def segmentum(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_init_then_validate_reports_skipped_builtins(tmp_path: Path) -> None:
    assert segmentum("init", str(tmp_path / "shop")).returncode == 0
    result = segmentum("validate", "--workspace", str(tmp_path / "shop"), "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # stdout holds only JSON
    assert report["valid"] is True
    assert report["skipped_builtins"]["rfm"] == "table 'orders' is absent"


def test_invalid_definition_is_one_error_line_and_exit_1(tmp_path: Path) -> None:
    segmentum("init", str(tmp_path / "shop"))
    (tmp_path / "shop" / "definitions" / "x.yml").write_text("segments:\n  s: {where: 'nope > 1'}\n")
    result = segmentum("validate", "--workspace", str(tmp_path / "shop"))
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: definitions/x.yml:2:15: unknown trait 'nope'"
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    segmentum("init", str(tmp_path / "shop"))
    (tmp_path / "shop" / "definitions" / "x.yml").write_text("segments:\n  s: {where: 'nope > 1'}\n")
    result = segmentum("--debug", "validate", "--workspace", str(tmp_path / "shop"))
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_validate_checks_trigger_actions(tmp_path: Path) -> None:
    segmentum("init", str(tmp_path / "shop"))
    (tmp_path / "shop" / "definitions" / "t.yml").write_text(
        "segments:\n  s: {where: '1 = 1'}\n"
        "triggers:\n  t:\n    on: enter\n    segment: s\n"
        "    do: [{webhook: {url: 'https://evil.example.com/x'}}]\n"
    )
    result = segmentum("validate", "--workspace", str(tmp_path / "shop"))
    assert result.returncode == 1
    assert "evil.example.com" in result.stderr and "allow" in result.stderr
