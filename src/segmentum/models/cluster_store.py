"""Clusterings saved as segmentations: prepare the per-customer frame from the store, fit `CustomerClusterer`
on it, save the model and the assignments (`segmentum.model_cluster_<name>`, an attribute usable in
definitions; `segmentum.models.persist` writes them) and a definitions file `definitions/cluster_<name>.yml`
whose segmentation `<name>` has one segment per cluster.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from segmentum.errors import ModelError, NotFoundError, SegmentumError, did_you_mean
from segmentum.models.cluster import CustomerClusterer
from segmentum.models.features import FrameSource, customer_frame, needs_features
from segmentum.models.persist import (
    cluster_column,
    clustering_names,
    fitted_now,
    load_clustering,
    qualified,
    write_clustering,
)
from segmentum.progress import Progress
from segmentum.store.tables import cluster_table

if TYPE_CHECKING:
    from segmentum.context import Context

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


@dataclass
class ClusteringResult:
    """What a fit or an assignment did, for the interfaces to print."""

    name: str
    model: CustomerClusterer
    source: FrameSource
    assigned: int
    counts: dict[str, int]
    definitions_file: str | None = None
    refit_matched: bool = False
    fitted_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def model_table(self) -> str:
        return qualified(cluster_table(self.name))

    @property
    def column(self) -> str:
        return cluster_column(self.name)

    def to_dict(self) -> dict[str, Any]:
        m = self.model
        return {
            "name": self.name,
            "k": m.k_,
            "features": m.features_,
            "source": {
                "kind": self.source.kind,
                "run_id": self.source.run_id,
                "as_of": self.source.as_of.isoformat() if self.source.as_of else None,
            },
            "fitted_at": self.fitted_at.isoformat() if self.fitted_at else None,
            "k_scores": m.k_scores_.to_dict(orient="records"),
            "stability": m.stability_,
            "clusters": [{**p, "assigned": self.counts.get(p["id"], 0)} for p in m.profiles_],
            "assigned": self.assigned,
            "model_table": self.model_table,
            "column": self.column,
            "definitions_file": self.definitions_file,
            "ids_matched_to_previous_fit": self.refit_matched,
        }


def check_name(name: str) -> str:
    """A clustering name becomes a segmentation name, a table name and a column name."""
    if not _NAME_RE.match(name or ""):
        raise ModelError(
            f"invalid clustering name {name!r}: use lowercase letters, digits and underscores, starting with a "
            "letter (at most 41 characters), e.g. 'behaviour' or 'needs'"
        )
    from segmentum.spec.builtins import builtin_names

    if name in builtin_names():
        raise ModelError(f"clustering name {name!r} is taken by a built-in segmentation; choose another name")
    return name


def check_free(ctx: Context, name: str) -> None:
    """The segmentation `name` and the attribute `cluster_<name>` must not clash with other definitions
    (built-ins included); the clustering's own generated file is left out of the check."""
    try:
        defs = ctx.definitions(overrides={f"definitions/cluster_{name}.yml": ""})
    except SegmentumError:
        return  # other definitions are broken; `segmentum validate` reports that, clustering can go on
    for label, names in (
        ("trait", defs.traits),
        ("segment", defs.segments),
        ("segmentation", defs.segmentations),
    ):
        for taken in (name, cluster_column(name)):
            if taken in names:
                where = getattr(names[taken], "location", None) or getattr(names[taken], "builtin", None)
                raise ModelError(
                    f"clustering name {name!r} clashes with the {label} '{taken}'"
                    + (f" defined at {where}" if where else "")
                    + f"; names of traits, segments and segmentations share one namespace; choose another "
                    f"name, e.g. '{name}_clusters'"
                )


def clustering_frame(
    ctx: Context,
    features: list[str] | None = None,
    *,
    run_id: int | None = None,
    from_survey: bool = False,
    surveys: list[str] | None = None,
) -> tuple[pd.DataFrame, FrameSource]:
    """The per-customer frame a clustering fits on: survey needs (`from_survey`) or traits, attributes and the
    order/event summary (`customer_frame`), restricted to `features`; and where it came from."""
    if from_survey:
        frame = needs_features(ctx.store, surveys=surveys)
        if features:
            unknown = [f for f in features if f not in frame.columns]
            if unknown:
                raise NotFoundError(
                    f"unknown needs feature '{unknown[0]}'{did_you_mean(unknown[0], frame.columns)}; "
                    f"available: {', '.join(c for c in frame.columns if c != 'customer_id')}"
                )
            frame = frame[["customer_id", *features]]
        return frame, FrameSource("survey", None, None)
    return customer_frame(ctx.store, features, currency=ctx.config.currency, run_id=run_id)


def fit_clustering(
    ctx: Context,
    name: str,
    *,
    features: list[str] | None = None,
    k: int | str = "auto",
    k_range: tuple[int, int] = (2, 10),
    run_id: int | None = None,
    from_survey: bool = False,
    surveys: list[str] | None = None,
    random_state: int = 0,
    sample_size: int = 50_000,
    write_definitions: bool = True,
    progress: Progress | None = None,
) -> ClusteringResult:
    """Fit a clustering on the store's customers and save it (model, assignments, definitions file).

    A refit of an existing clustering with the same features keeps the ids of the clusters that match the
    previous ones (Hungarian assignment on the centers), so segments, triggers and migration stay meaningful.
    """
    check_name(name)
    check_free(ctx, name)
    frame, source = clustering_frame(ctx, features, run_id=run_id, from_survey=from_survey, surveys=surveys)
    if frame.empty:
        raise ModelError("no customers to cluster: the store holds none with the requested features")
    previous = load_clustering(ctx, name)
    model = CustomerClusterer(k=k, k_range=k_range, random_state=random_state, sample_size=sample_size)
    model.fit(frame, previous=previous[0] if previous else None, progress=progress)
    matched = bool(previous and previous[0].features_ == model.features_)
    fitted_at = fitted_now(ctx)
    params = {
        "model": model.to_dict(),
        "source": {
            "kind": source.kind,
            "run_id": source.run_id,
            "as_of": source.as_of.isoformat() if source.as_of else None,
        },
        "from_survey": from_survey,
        "surveys": surveys,
        "features": model.features_,
    }
    counts = write_clustering(
        ctx,
        name,
        frame["customer_id"],
        model.labels_,
        params=params,
        fitted_at=fitted_at,
        data_end=source.as_of,  # the run (or summary) the features came from
    )
    path = write_definitions_file(ctx, name, model, fitted_at) if write_definitions else None
    return ClusteringResult(
        name,
        model,
        source,
        int(len(frame)),
        counts,
        path,
        matched,
        fitted_at,
    )


def assign_clustering(ctx: Context, name: str, *, run_id: int | None = None) -> ClusteringResult:
    """Re-assign the current customers with the saved model, without refitting."""
    check_name(name)
    loaded = load_clustering(ctx, name)
    if loaded is None:
        known = clustering_names(ctx)
        raise NotFoundError(
            f"no saved clustering '{name}'{did_you_mean(name, known)}; saved: {', '.join(known) or 'none'}; "
            f"fit one first with `segmentum cluster {name} --features ...`"
        )
    model, params = loaded
    frame, source = clustering_frame(
        ctx,
        model.features_,
        run_id=run_id,
        from_survey=bool(params.get("from_survey")),
        surveys=params.get("surveys"),
    )
    labels = model.predict(frame)
    counts = write_clustering(ctx, name, frame["customer_id"], labels, data_end=source.as_of)
    return ClusteringResult(name, model, source, int(len(frame)), counts)


def definitions_text(name: str, model: CustomerClusterer, fitted_at: datetime | None = None) -> str:
    """A definitions file with segmentation `name`: one segment per cluster, `cluster_<name> = '<id>'`."""
    column = cluster_column(name)
    when = f" on {fitted_at.isoformat(sep=' ')}" if fitted_at else ""
    about = f"k-means clustering on {', '.join(model.features_)} (k = {model.k_})"
    lines = [
        f"# Generated by `segmentum cluster {name}`{when}. A refit rewrites this file; cluster ids stay stable",
        "# across refits (matched to the previous centers), segment names follow the generated cluster names.",
        f"# Re-assign customers without refitting: segmentum cluster {name} --assign",
        "segmentations:",
        f"  {name}:",
        f"    description: {json.dumps(about, ensure_ascii=False)}",
        "    segments:",
    ]
    by_id = {p["id"]: p for p in model.profiles_}
    for cid in model.cluster_ids_:
        prof = by_id.get(cid, {})
        share = f", {prof['share']:.1%} of customers at fit" if "share" in prof else ""
        desc = f"cluster {cid}: {model.names_[cid]}{share}"
        lines += [
            f"      - name: {model.segments_[cid]}",
            f"        where: {json.dumps(f'{column} = {_sql_str(cid)}')}",
            f"        description: {json.dumps(desc, ensure_ascii=False)}",
        ]
    lines += [
        "    else:",
        "      name: unassigned",
        '      description: "customers without a cluster (new since the last fit or --assign, or without the '
        'features)"',
        "",
    ]
    return "\n".join(lines)


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def write_definitions_file(
    ctx: Context, name: str, model: CustomerClusterer, fitted_at: datetime | None = None
) -> str:
    """Write `definitions/cluster_<name>.yml`; returns its path relative to the workspace."""
    relative = f"definitions/cluster_{name}.yml"
    path = ctx.path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = definitions_text(name, model, fitted_at)
    path.write_text(text, encoding="utf-8")
    return relative
