"""`segmentum churn`: churn rate per period and segment with its trend, survival and reasons;
`segmentum churn fit`: the churn-risk model stored as segmentum.model_churn."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation

app = typer.Typer(
    help="Churn rate per period and segment, its trend, survival, reasons; `fit` the risk model.",
    invoke_without_command=True,
    no_args_is_help=False,
)

AsOfOpt = Annotated[
    str, typer.Option("--as-of", help="Point in time: YYYY-MM-DD, a timestamp, 'latest', 'now'")
]
InactivityOpt = Annotated[
    int,
    typer.Option(
        "--inactivity-days",
        help="A buyer without subscription is inactive after this many days without a qualifying order",
    ),
]
BasisOpt = Annotated[str, typer.Option("--basis", help="auto | subscriptions | orders")]


@app.callback()
def churn_command(
    ctx: typer.Context,
    segmentation: Annotated[
        str | None,
        typer.Option("--segmentation", "-s", help="Also per segment of this segmentation (e.g. rfm)"),
    ] = None,
    period: Annotated[str, typer.Option("--period", help="week | month | quarter")] = "month",
    periods: Annotated[int, typer.Option("--periods", help="The last N complete periods")] = 24,
    as_of: AsOfOpt = "latest",
    inactivity_days: InactivityOpt = 90,
    basis: BasisOpt = "auto",
    run: Annotated[
        int | None,
        typer.Option(
            "--run",
            help="Run whose segments are used for periods before the "
            "first backfilled run (default: the latest)",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Churn rate per period (overall and per segment), whether it rises or falls, survival and reasons.
    With --format csv only the rates are printed."""
    if ctx.invoked_subcommand is not None:
        return
    report = operation(
        workspace,
        "churn",
        as_of=as_of,
        period=period,
        segmentation=segmentation,
        run_id=run,
        inactivity_days=inactivity_days,
        basis=basis,
        periods=periods,
    )
    note(f"churn basis: {report['basis']}, per {period}, as of {report['as_of'][:10]}")
    if fmt is OutputFormat.json:
        emit({k: (v["rows"] if isinstance(v, dict) else v) for k, v in report.items()}, fmt)
        return
    if fmt is OutputFormat.csv:
        emit(report["rates"]["rows"], fmt, columns=report["rates"]["columns"])
        return
    for key, title in (
        ("rates", "Churn rate per period"),
        ("trend", "Trend"),
        ("survival", "Survival (Kaplan-Meier)"),
        ("reasons", "Churn reasons"),
    ):
        emit(report[key]["rows"], fmt, title=title, columns=report[key]["columns"])


@app.command("fit")
def churn_fit_command(
    as_of: AsOfOpt = "latest",
    horizon_days: Annotated[int, typer.Option("--horizon-days", help="Churn window to predict")] = 90,
    inactivity_days: InactivityOpt = 90,
    basis: BasisOpt = "auto",
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Fit the churn-risk model (logistic regression on recency, frequency, monetary, tenure, tickets, NPS,
    subscription and activity) on the last horizon and store churn_risk per customer in segmentum.model_churn."""
    answer = operation(
        workspace,
        "churn.fit",
        as_of=as_of,
        horizon_days=horizon_days,
        inactivity_days=inactivity_days,
        basis=basis,
    )
    data = answer["model"]
    note(f"{data['customers_scored']:,} customers scored in {answer['table']} (churn_risk, churn_active)")
    if fmt is OutputFormat.table:
        coefficients = data.pop("coefficients")
        emit(data, fmt, title="Churn-risk model")
        emit(
            [{"feature": k, "coefficient": v} for k, v in coefficients.items()],
            fmt,
            title="Coefficients (standardised; positive = more risk)",
        )
    else:
        emit(data, fmt)
