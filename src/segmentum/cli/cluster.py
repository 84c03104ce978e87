"""`segmentum cluster NAME`: fit a clustering and save it as a segmentation, or re-assign customers."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation, warn
from segmentum.errors import ModelError


def _parse_k(text: str) -> int | str:
    if text == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 2:
        raise ModelError(f"--k must be 'auto' or a whole number >= 2; got {text!r}")
    return value


def cluster_command(
    name: Annotated[
        str, typer.Argument(help="Clustering name: the segmentation, `cluster_NAME` column and file")
    ],
    features: Annotated[
        str | None,
        typer.Option(
            "--features",
            help="Comma-separated features: traits of the run, customer attributes, or the summary "
            "(recency_days, frequency, monetary, avg_order_value, tenure_days, events_total, events_90d)",
        ),
    ] = None,
    k: Annotated[
        str, typer.Option("--k", help="Number of clusters, or 'auto' (best silhouette in --k-min..--k-max)")
    ] = "auto",
    k_min: Annotated[int, typer.Option("--k-min", help="Smallest k tried by --k auto")] = 2,
    k_max: Annotated[int, typer.Option("--k-max", help="Largest k tried by --k auto")] = 10,
    run: Annotated[
        int | None, typer.Option("--run", help="Take traits from this run (default: newest complete)")
    ] = None,
    assign: Annotated[
        bool, typer.Option("--assign", help="Re-assign current customers with the saved model")
    ] = False,
    from_survey: Annotated[
        bool,
        typer.Option("--from-survey", help="Needs-based: cluster on survey answers and stated interests"),
    ] = False,
    survey: Annotated[
        list[str] | None,
        typer.Option(
            "--survey",
            help="With --from-survey: only this survey's answers (repeatable; default: 'needs' if present)",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed")] = 0,
    sample_size: Annotated[int, typer.Option("--sample-size", help="Rows used to choose k")] = 50_000,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Cluster customers (k-means on mixed attributes) and save the result as segmentation NAME."""
    if assign:
        result = operation(workspace, "cluster", name=name, assign=True, run_id=run)
    else:
        feats = [f.strip() for f in features.split(",") if f.strip()] if features else None
        from segmentum.cli.progress import ProgressDisplay

        with ProgressDisplay("cluster") as progress:  # each k tried, then the final fit (over 2 s only)
            result = operation(
                workspace,
                "cluster",
                name=name,
                features=feats,
                k=_parse_k(k),
                k_range=[k_min, k_max],
                run_id=run,
                from_survey=from_survey,
                surveys=survey or None,
                random_state=seed,
                sample_size=sample_size,
                progress=progress,
            )
    _print(result, fmt, assign)


def _print(result: dict[str, Any], fmt: OutputFormat, assign: bool) -> None:
    if fmt is OutputFormat.json:
        emit({k: v for k, v in result.items() if k not in ("assignments", "k_scores_table")}, fmt)
        return
    src = result["source"]
    where = {
        "run": f"traits of run {src['run_id']}",
        "summary": "a summary of orders/events",
        "survey": "survey answers and interests",
    }[src["kind"]]
    if assign:
        note(
            f"Re-assigned {result['assigned']:,} customers of '{result['name']}' with the saved model ({where})."
        )
        emit(
            result["assignments"],
            fmt,
            title="Assignments",
            columns=["cluster", "segment", "name", "customers"],
        )
        note(f"Saved to {result['model_table']}.")
        return
    note(
        f"Fitted on {result['assigned']:,} customers from {where}"
        + (f" as of {src['as_of'].replace('T', ' ')}" if src["as_of"] else "")
        + f"; features: {', '.join(result['features'])}."
    )
    scores = result["k_scores_table"]
    emit(
        scores["rows"],
        fmt,
        title="Evidence per k (silhouette: higher is better; bic: lower is better)",
        columns=scores["columns"],
    )
    rows = []
    for p in result["clusters"]:
        row = {"cluster": p["id"], "name": p["name"], "size": p["size"], "share": p["share"]}
        for f, stats in p["numeric"].items():
            row[f"{f} (median)"] = stats["median"]
        for f, top in p["categorical"].items():
            row[f"{f} (top)"] = f"{top[0]['value']} {top[0]['share']:.0%}" if top else ""
        rows.append(row)
    emit(rows, fmt, title=f"Clusters of '{result['name']}' (k = {result['k']})")
    stability = result["stability"]
    if stability is not None:  # NaN comes back as null
        note(f"Stability (mean adjusted Rand index over bootstrap resamples): {stability:.2f}")
        if stability < 0.6:
            warn("the clusters are not stable: the data may have no clear groups at this k")
    tried = [row["k"] for row in scores["rows"]]
    if len(tried) > 1 and result["k"] == min(tried):
        note(
            f"k = {result['k']} is the smallest k tried: the silhouette favours a few well-separated groups; "
            "for finer groups pick a k from the evidence above with --k N."
        )
    if result["ids_matched_to_previous_fit"]:
        note("Cluster ids were matched to the previous fit of this clustering.")
    note(
        f"Saved the model to segmentum.clusterings, the assignments to {result['model_table']} "
        f"(column {result['column']}), and segmentation '{result['name']}' to {result['definitions_file']}."
    )
