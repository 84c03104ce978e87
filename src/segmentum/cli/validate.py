"""`segmentum validate`: check definitions without running."""

from __future__ import annotations

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation, warn


def validate_command(workspace: WorkspaceOpt = None, fmt: FormatOpt = OutputFormat.table) -> None:
    """Check every definition (built-ins, segmentum.yml, definitions/*.yml) without running anything."""
    summary = operation(workspace, "validate")
    if fmt is OutputFormat.json:
        emit(summary, fmt)
        return
    for name, reason in summary["skipped_builtins"].items():
        warn(f"built-in '{name}' skipped: {reason}")
    note(
        f"Definitions are valid: {summary['traits']} traits, {summary['segments']} segments, "
        f"{summary['segmentations']} segmentations, {summary['triggers']} triggers from {len(summary['files'])} file(s)."
    )
