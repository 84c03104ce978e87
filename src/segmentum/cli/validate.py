"""`segmentum validate`: check definitions without running."""

from __future__ import annotations

from segmentum.actions import validate_triggers
from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, open_workspace, warn


def validate_command(workspace: WorkspaceOpt = None, fmt: FormatOpt = OutputFormat.table) -> None:
    """Check every definition (built-ins, segmentum.yml, definitions/*.yml) without running anything."""
    ws = open_workspace(workspace)
    defs = ws.definitions()
    validate_triggers(ws, defs)  # webhook allowlist, templates, export targets
    summary = {
        "valid": True,
        "files": defs.files,
        "builtins": defs.builtins,
        "skipped_builtins": defs.skipped,
        "traits": len(defs.traits),
        "segments": len(defs.segments),
        "segmentations": len(defs.segmentations),
        "triggers": len(defs.triggers),
    }
    if fmt is OutputFormat.json:
        emit(summary, fmt)
        return
    for name, reason in defs.skipped.items():
        warn(f"built-in '{name}' skipped: {reason}")
    note(
        f"Definitions are valid: {summary['traits']} traits, {summary['segments']} segments, "
        f"{summary['segmentations']} segmentations, {summary['triggers']} triggers from {len(defs.files)} file(s)."
    )
