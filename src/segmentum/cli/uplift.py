"""`segmentum uplift TRIGGER [--as-of WHEN]`: did the trigger's action work, against its hold-out group."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation


def _fmt(value: Any, percent: bool) -> Any:
    if value is None:
        return None
    return f"{value * 100:.1f} %" if percent else round(float(value), 2)


def uplift_command(
    trigger: Annotated[str, typer.Argument(help="The trigger (it needs `holdout` and `measure`)")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Compare windows ended by then (default: latest, the end of the data)"),
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Treated vs hold-out customers after a trigger's transition: conversion and revenue with 95 % intervals.

    Customers whose measure window has not ended are counted apart and
    left out of the comparison.
    """
    report = operation(workspace, "uplift", trigger=trigger, as_of=as_of)
    if fmt is OutputFormat.json:
        emit(report, fmt)
        return
    rows = []
    for key, percent, label in (
        ("conversion", True, f"conversion ({report['conversion_rule']})"),
        ("revenue", False, f"revenue per customer ({report['revenue_column']})"),
    ):
        if report[f"{key}_rule" if key == "conversion" else f"{key}_column"] is None:
            continue
        stat = "conversion_rate" if key == "conversion" else "revenue_per_customer"
        interval = report[key] or {}
        rows.append(
            {
                "measure": label,
                "treated": _fmt(report["treated"][stat], percent),
                "control": _fmt(report["control"][stat], percent),
                "difference": _fmt(interval.get("difference"), percent),
                "ci_low": _fmt(interval.get("low"), percent),
                "ci_high": _fmt(interval.get("high"), percent),
                "verdict": report["verdicts"].get(key),
            }
        )
    emit(
        rows,
        fmt,
        title=f"Uplift of trigger {report['trigger']} (within {report['within']} after the transition)",
    )
    if fmt is OutputFormat.table:
        t, c = report["treated"], report["control"]
        note(
            f"compared: {t['customers']} treated, {c['customers']} control (hold-out {report['holdout']}); "
            f"still inside the window at {report['as_of']}: {t['inside_window']} treated, "
            f"{c['inside_window']} control"
        )
        note(f"verdict: {report['verdict']}")
