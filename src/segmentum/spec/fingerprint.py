"""A definition's fingerprint is its meaning (DESIGN.md principle 9).

A run stores each segment's and segmentation's hash; the next run compares hashes to decide whether the
previous run is comparable or the definition was edited (a new baseline that fires no trigger). So the hash must
change when membership could change, and only then. As sqlmesh keeps a data hash apart from a metadata hash,
there are two:

- `data_hashes`: what decides membership. Conditions as parsed trees (so spacing, comments, redundant
  parentheses, keyword case, `==` for `=` and YAML key order do not matter), every field of the traits they use
  (transitively, by meaning: `1w` is `7d`, `1y` is `12m`, `5.0` is `5.00`), segmentation order and labels,
  `else`, and the fingerprints of the segments named by `in_segment`. Settings of built-ins are inside the
  rendered definitions, so they count.
- `metadata_hashes`: descriptions, offers, channels and actions (`models.METADATA_FIELDS`), which never start
  a baseline.

What is meaning is decided by exclusion: every field of a model except `METADATA_FIELDS` counts, so a field added
later is meaning until declared metadata (an extra baseline is safe; a missed one silently fires nothing).

`HASH_VERSION` is part of every hash. Version 2 (this module) replaced the hash of the raw text; the first run
after upgrading from version 1 is a baseline for every definition (docs/definitions.md, "Fingerprints").
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields, is_dataclass
from decimal import Decimal
from typing import Any

from segmentum.clock import parse_duration
from segmentum.spec import ast, functions
from segmentum.spec.definitions import Definitions, SegmentationDef, SegmentDef, TraitDef
from segmentum.spec.models import METADATA_FIELDS

HASH_VERSION = 2
# Trait fields holding durations: compared by length, not spelling.
DURATION_FIELDS = frozenset({"within", "between", "period", "max_gap"})
# Trait fields holding expressions: compared as parsed trees (the loader's `TraitDef.expr` / `.where`).
EXPRESSION_FIELDS = frozenset({"expr", "where"})
# Trait fields holding a list of expressions: a sequence's steps (the loader's `TraitDef.steps`).
EXPRESSION_LIST_FIELDS = frozenset({"sequence"})


def digest(payload: Any) -> str:
    """16 hex digits of sha256 over canonical JSON (the length hashes have always had)."""
    text = json.dumps({"v": HASH_VERSION, "payload": payload}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def canonical(node: ast.Node) -> Any:
    """An expression tree as JSON-able lists: the node's type and every field but its position.

    The parser already drops spacing, comments, parentheses and keyword case; this drops the character
    offsets and writes numbers canonically. Generic over the node's dataclass fields, so a new node type is
    covered without a rule of its own.
    """
    if isinstance(node, ast.Duration):  # `4w` means `28d`, as in windows
        return ["Duration", _duration(node.text)]
    return [type(node).__name__, *(_value(getattr(node, f.name)) for f in fields(node) if f.name != "pos")]


def _value(value: Any) -> Any:
    if isinstance(value, ast.Node):
        return canonical(value)
    if is_dataclass(value):  # pragma: no cover - no such field today; keep the rule total
        return _value(vars(value))
    if isinstance(value, (list, tuple)):
        return [_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in sorted(value.items())}
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return ["int", str(value)]
    if isinstance(value, Decimal):
        return ["dec", _decimal(value)]
    if isinstance(value, float):
        return ["float", repr(value)]
    return value


def _decimal(value: Decimal) -> str:
    """One spelling per number: 5.0, 5.00 and 5.000 are `5`; -0 is `0`."""
    normal = value.normalize()
    return "0" if normal.is_zero() else format(normal, "f")


def _duration(text: str) -> list[Any]:
    """`1w` -> 7 days, `1y` -> 12 months: the windows are computed in days or calendar months."""
    amount, unit = parse_duration(text)
    if unit == "w":
        return ["d", amount * 7]
    if unit == "y":
        return ["m", amount * 12]
    return [unit, amount]


# ---------------------------------------------------------------------------------------------- meaning


def trait_meaning(trait: TraitDef, hashes: dict[str, str]) -> dict[str, Any]:
    """What decides a trait's values: its kind, every field but metadata, and the meaning of its dependencies."""
    parsed = {"expr": trait.expr, "where": trait.where}
    spec: dict[str, Any] = {}
    for name, value in trait.spec.model_dump(mode="python", exclude=set(METADATA_FIELDS)).items():
        if name in EXPRESSION_FIELDS and value is not None:
            node = parsed[name]
            spec[name] = canonical(node) if node is not None else value
        elif name in EXPRESSION_LIST_FIELDS and trait.steps:
            spec[name] = [canonical(node) for node in trait.steps]
        elif name in DURATION_FIELDS and value is not None:
            spec[name] = (
                [_duration(v) for v in value] if isinstance(value, (list, tuple)) else _duration(value)
            )
        else:
            spec[name] = _value(value)
    return {"kind": trait.spec.kind, "spec": spec, "deps": {d: hashes[d] for d in sorted(trait.deps)}}


def _condition(node: ast.Node, defs: Definitions, hashes: dict[str, str], owner_hash: Any) -> dict[str, Any]:
    """A condition's tree, the meaning of the traits it reads and of the segments it names."""
    return {
        "where": canonical(node),
        "traits": {n: hashes[n] for n in sorted(ast.names(node)) if n in defs.traits},
        "segments": {ref: owner_hash(_owner(ref, defs)) for ref in sorted(functions.segment_refs(node))},
    }


def _owner(ref: str, defs: Definitions) -> str:
    """The definition whose run computes `ref`: the segment itself, or the segmentation of `seg.segment`."""
    return ref if ref in defs.segments else ref.partition(".")[0]


def segment_meaning(seg: SegmentDef, defs: Definitions, hashes: dict[str, str], owner_hash: Any) -> Any:
    if seg.list is not None:  # its members are given: the list's name is its whole meaning
        return {"kind": "list", "name": seg.list}
    assert seg.where is not None, "a standalone segment always has a condition"
    return {"kind": "segment", **_condition(seg.where, defs, hashes, owner_hash)}


def segmentation_meaning(
    segmentation: SegmentationDef, defs: Definitions, hashes: dict[str, str], owner_hash: Any
) -> Any:
    """Rules in order (first match wins) with their labels, and the label of everyone else."""
    rules = [
        [rule.segment, _condition(rule.where, defs, hashes, owner_hash)]
        for rule in segmentation.rules
        if rule.where is not None
    ]
    return {"kind": "segmentation", "rules": rules, "else": segmentation.else_segment.segment}


def data_hashes(defs: Definitions) -> dict[str, str]:
    """Trait, segment and segmentation -> the hash of what decides its values or membership.

    `defs.traits` must be in dependency order (the loader sorts them) and `in_segment` free of cycles (the
    loader rejects them before hashing).
    """
    hashes: dict[str, str] = {}
    for name, trait in defs.traits.items():
        hashes[name] = digest(trait_meaning(trait, hashes))

    def owner_hash(owner: str) -> str:
        if owner not in hashes:
            if owner in defs.segments:
                meaning = segment_meaning(defs.segments[owner], defs, hashes, owner_hash)
            else:
                meaning = segmentation_meaning(defs.segmentations[owner], defs, hashes, owner_hash)
            hashes[owner] = digest(meaning)
        return hashes[owner]

    for name in [*defs.segments, *defs.segmentations]:
        owner_hash(name)
    return hashes


# --------------------------------------------------------------------------------------------- metadata


def _metadata(seg: SegmentDef) -> dict[str, Any]:
    return {f: getattr(seg, f) for f in sorted(METADATA_FIELDS)}


def metadata_hashes(defs: Definitions) -> dict[str, str]:
    """Trait, segment and segmentation -> the hash of its descriptions, offers, channels and actions."""
    out: dict[str, str] = {}
    for name, trait in defs.traits.items():
        out[name] = digest({f: getattr(trait.spec, f, None) for f in sorted(METADATA_FIELDS)})
    for name, seg in defs.segments.items():
        out[name] = digest(_metadata(seg))
    for name, segmentation in defs.segmentations.items():
        out[name] = digest(
            {
                "description": segmentation.description,
                "segments": {s.segment: _metadata(s) for s in segmentation.segments},
            }
        )
    return out
