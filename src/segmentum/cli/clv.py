"""`segmentum clv`: fit BG/NBD + Gamma-Gamma on the workspace's orders and store per-customer CLV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation, warn
from segmentum.clock import TIME_UNITS


def clv_command(
    calibration_end: Annotated[
        str,
        typer.Option(
            "--calibration-end",
            help="Last day of the calibration period (YYYY-MM-DD, inclusive; 'latest': the newest order's day)",
        ),
    ],
    holdout_end: Annotated[
        str | None,
        typer.Option("--holdout-end", help="Last day of a holdout period to validate predictions against"),
    ] = None,
    time_unit: Annotated[
        str, typer.Option("--time-unit", help=f"Unit of recency, T and alpha: {' | '.join(TIME_UNITS)}")
    ] = "week",
    horizon: Annotated[
        str, typer.Option("--horizon", help="CLV horizon in months or years: 12m, 24m, 1y")
    ] = "12m",
    discount_rate: Annotated[
        float, typer.Option("--discount-rate", help="Monthly discount rate of the CLV (0.01 = 1 % a month)")
    ] = 0.01,
    penalizer: Annotated[float, typer.Option("--penalizer", help="L2 penalty on the model parameters")] = 0.0,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="Write the holdout validation chart to this HTML file")
    ] = None,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not write segmentum.model_clv (only print the fit)")
    ] = False,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Fit BG/NBD and Gamma-Gamma on purchases up to the end of --calibration-end and store each customer's
    p_alive, expected purchases in 90 days, expected spend per purchase and 12-month CLV in segmentum.model_clv
    (usable in definitions like customer attributes)."""
    from segmentum.cli.progress import ProgressDisplay

    with ProgressDisplay("clv") as progress:  # reading, BG/NBD, Gamma-Gamma, predicting (over 2 s only)
        answer = operation(
            workspace,
            "clv",
            calibration_end=calibration_end,
            holdout_end=holdout_end,
            time_unit=time_unit,
            horizon=horizon,
            discount_rate=discount_rate,
            penalizer=penalizer,
            # the store's owner writes the chart: a path relative to this shell's folder is made absolute here
            chart=str(chart.resolve()) if chart is not None else None,
            store=not no_store,
            customers=fmt is OutputFormat.csv,
            progress=progress,
        )
    data = answer["fit"]
    for model in ("bgnbd", "gamma_gamma"):
        for name, side in data["boundary"][model].items():
            warn(
                f"{model}: the best fit has {name} at its {side} bound"
                + (
                    " (no sign of customers dropping out: the model reduces to the NBD)"
                    if (model, name, side) == ("bgnbd", "a", "lower")
                    else ""
                )
            )
    excluded = data["excluded_from_gamma_gamma"]
    if excluded.get("zero_monetary_value"):
        note(
            f"{excluded['zero_monetary_value']:,} customers with only zero-value repeat purchases were left out "
            "of the Gamma-Gamma fit"
        )
    if answer["chart"] is not None:
        note(f"Validation chart written to {chart}")
    elif chart is not None:
        warn("--chart needs --holdout-end: there is no holdout period to validate against")
    if fmt is OutputFormat.json:
        emit(data, fmt)
        return
    if fmt is OutputFormat.csv:
        emit(answer["customers"]["rows"], fmt, columns=answer["customers"]["columns"])
        return
    bg, gg = data["bgnbd"], data["gamma_gamma"]
    emit(
        [
            {"model": "BG/NBD", "parameter": k, "value": bg[k]}
            for k in ("r", "alpha", "a", "b", "log_likelihood")
        ]
        + [
            {"model": "Gamma-Gamma", "parameter": k, "value": gg[k]}
            for k in ("p", "q", "gamma", "log_likelihood")
        ],
        fmt,
        title=f"CLV models: {data['customers']:,} customers, calibration to {data['calibration_end']} "
        f"({time_unit}s)",
        columns=["model", "parameter", "value"],
    )
    if answer["validation"] is not None:
        validation = answer["validation"]
        emit(
            validation["rows"],
            fmt,
            title="Holdout purchases per customer by calibration frequency",
            columns=validation["columns"],
        )
        v = data["validation"]
        note(f"Holdout purchases: actual {v['actual_total']:,.0f}, predicted {v['predicted_total']:,.1f}")
    totals = data["totals"]
    clv_key = f"clv_{answer['horizon']}m"
    note(
        f"Expected purchases in the next 90 days: {totals['expected_purchases_90d']:,.1f}; "
        f"{answer['horizon']}-month CLV: total {totals[clv_key]:,.2f}, mean {totals['mean_' + clv_key]:,.2f}"
    )
    if "stored" in data:
        note(f"{data['stored']['rows']:,} customers written to {data['stored']['table']}")
