"""Which model outputs a run may use (DESIGN.md section 5, "Models are point in time too").

A run at `as_of` uses the per-customer outputs of a model (CLV, churn risk, replenishment, clusters) only when
the data of its fit ended at or before `as_of` (`rules.model_usable`). Otherwise the traits, segments and
segmentations that read them (directly, through other traits, or through `in_segment`) are left out of the
run with a message naming the model and the end of its data, the way a built-in is skipped when its data is
absent, and the run does not join the model's table. Every path that compiles a run (batch, backfill,
preview, explain, real time, `segmentum sql`) narrows its definitions here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from segmentum.compile import rules
from segmentum.spec import ast, functions
from segmentum.spec.definitions import Definitions, TraitDef, trait_closure
from segmentum.store.catalog import ModelFit
from segmentum.store.connection import META


@dataclass
class Availability:
    """The definitions a run at `as_of` can evaluate with the models it may use."""

    definitions: Definitions
    # one line per segment, segmentation or trait left out (a trait only when no left-out definition reads it)
    warnings: list[str] = field(default_factory=list)
    skipped: set[str] = field(default_factory=set)  # every definition and trait left out
    unusable: list[str] = field(default_factory=list)  # model tables the run must not join


def late_reason(fit: ModelFit, as_of: datetime) -> str:
    """Why a run at `as_of` cannot use `fit`: the model, its table and where its data ends."""
    assert fit.data_end is not None
    return (
        f"the {fit.model} model ({META}.{fit.table}) was fitted on data up to "
        f"{fit.data_end:%Y-%m-%d %H:%M:%S}, after this run's as_of {as_of:%Y-%m-%d %H:%M:%S}; a run uses a "
        f"model only from a fit whose data ends at or before its as_of: fit the model on data up to "
        f"{as_of:%Y-%m-%d} or earlier, or run at or after {fit.data_end:%Y-%m-%d}"
    )


def _trait_names(trait: TraitDef) -> set[str]:
    """Names a trait reads at customer level (traits and attributes), as the compiler reads them."""
    names: set[str] = set()
    if trait.expr is not None:
        names |= ast.names(trait.expr)
    # an aggregate's `where` reads the rows of its table, not customer attributes
    if not trait.spec.over_rows and trait.where is not None:
        names |= ast.names(trait.where)
    target = getattr(trait.spec, "target", None)
    if isinstance(target, str):
        names.add(target)
    return names


def at_point_in_time(defs: Definitions, fits: list[ModelFit], as_of: datetime) -> Availability:
    """`defs` without what needs a model whose data ends after `as_of`; what was left out and why."""
    late = [f for f in fits if not rules.model_usable(f.data_end, as_of)]
    if not late:
        return Availability(defs)
    blocked: dict[str, str] = {}  # attribute or trait -> why it cannot be used
    # an attribute comes from `customers`, else from the first model table holding it (as the compiler joins)
    provided = set(defs.tables.get("customers", {}))
    for fit in sorted(fits, key=lambda f: f.table):
        if fit in late:
            reason = late_reason(fit, as_of)
            for column in fit.columns:
                if column not in provided:
                    blocked[column] = f"it needs {column}, and {reason}"
        provided |= set(fit.columns)
    bad_traits: dict[str, str] = {}
    for name, trait in defs.traits.items():  # dependency order: a trait's dependencies come first
        hit = sorted((_trait_names(trait) | trait.deps) & (set(blocked) | set(bad_traits)))
        if hit:
            bad_traits[name] = bad_traits.get(hit[0]) or blocked[hit[0]]
    blocked |= bad_traits
    owners = {n: [s.where] for n, s in defs.segments.items()}
    owners |= {n: [r.where for r in s.rules] for n, s in defs.segmentations.items()}
    bad_owners: dict[str, str] = {}
    for owner, wheres in owners.items():
        names = set().union(*(ast.names(w) for w in wheres if w is not None))
        hit = sorted(names & set(blocked))
        if hit:
            bad_owners[owner] = blocked[hit[0]]
    changed = True
    while changed:  # in_segment: a definition that reads a left-out one is left out too
        changed = False
        for owner, wheres in owners.items():
            if owner in bad_owners:
                continue
            for where in wheres:
                refs = functions.segment_refs(where) if where is not None else []
                gone = [r for r in refs if (r if r in defs.segments else r.partition(".")[0]) in bad_owners]
                if gone:
                    ref = gone[0] if gone[0] in defs.segments else gone[0].partition(".")[0]
                    bad_owners[owner] = bad_owners[ref]
                    changed = True
                    break
    kept_owners = set(owners) - set(bad_owners)
    warnings = [
        f"{'segment' if o in defs.segments else 'segmentation'} '{o}' skipped: {why}"
        for o, why in bad_owners.items()
    ]
    read_by_skipped = trait_closure(
        defs.traits,
        set().union(set(), *(ast.names(w) for o in bad_owners for w in owners[o] if w is not None)),
    )
    warnings += [f"trait '{n}' skipped: {why}" for n, why in bad_traits.items() if n not in read_by_skipped]
    # everything else (triggers, fingerprints, the policies: caps, suppress, quiet hours) carries over
    narrowed = dataclasses.replace(
        defs,
        traits={n: t for n, t in defs.traits.items() if n not in bad_traits},
        segments={n: s for n, s in defs.segments.items() if n in kept_owners},
        segmentations={n: s for n, s in defs.segmentations.items() if n in kept_owners},
        attributes={a: k for a, k in defs.attributes.items() if a not in blocked},
    )
    return Availability(narrowed, warnings, set(bad_owners) | set(bad_traits), [f.table for f in late])
