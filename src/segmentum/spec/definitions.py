"""The validated, in-memory form of a workspace's definitions: what the loader builds and a run evaluates.

`spec/loader.py` builds it from YAML, `spec/fingerprint.py` hashes it, `compile/` compiles it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from segmentum.errors import did_you_mean
from segmentum.spec import ast, functions
from segmentum.spec.models import AnyTrait, Cap, QuietHours, Trigger


@dataclass
class TraitDef:
    name: str
    spec: AnyTrait
    location: str  # file:line:col of the trait's name
    source: str  # file (or builtin:NAME.yml)
    builtin: str | None = None
    expr: ast.Node | None = None  # ExprTrait's expression
    where: ast.Node | None = None  # AggregateTrait's row filter; Score/Cumulative: which customers take part
    deps: set[str] = field(default_factory=set)  # traits this trait reads
    steps: list[ast.Node] = field(default_factory=list)  # SequenceTrait's step conditions, in order

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def population(self) -> bool:
        """Depends on every customer of the run (taken from the last batch run in real time)."""
        return self.spec.population or functions.uses_population(self.expr)


@dataclass
class SegmentDef:
    """A standalone segment or one segment of a segmentation (`segmentation` set)."""

    name: str  # full name: 'big_spenders' or 'rfm.champions'
    segment: str
    segmentation: str | None
    where: ast.Node | None  # None for a segmentation's `else`
    where_text: str | None
    location: str
    description: str | None = None
    offer: str | None = None
    channel: str | None = None
    action: str | None = None
    builtin: str | None = None
    list: str | None = None  # a static list (store/lists.py): its members are given, `where` is None


@dataclass
class SegmentationDef:
    name: str
    rules: list[SegmentDef]
    else_segment: SegmentDef
    location: str
    description: str | None = None
    builtin: str | None = None

    @property
    def segments(self) -> list[SegmentDef]:
        return [*self.rules, self.else_segment]


@dataclass
class TriggerDef:
    name: str
    spec: Trigger
    location: str
    builtin: str | None = None


@dataclass
class Definitions:
    """Everything a run evaluates, validated and in dependency order."""

    traits: dict[str, TraitDef] = field(default_factory=dict)
    segments: dict[str, SegmentDef] = field(default_factory=dict)  # standalone segments
    segmentations: dict[str, SegmentationDef] = field(default_factory=dict)
    triggers: dict[str, TriggerDef] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)  # customer attribute -> type
    tables: dict[str, dict[str, str]] = field(default_factory=dict)  # source table -> columns (present ones)
    builtins: list[str] = field(default_factory=list)  # built-ins included
    skipped: dict[str, str] = field(default_factory=dict)  # built-in -> why it was skipped
    files: list[str] = field(default_factory=list)
    # trait / segment / segmentation -> fingerprint of its meaning (spec/fingerprint.py): what decides membership
    hashes: dict[str, str] = field(default_factory=dict)
    # the same names -> hash of their descriptions, offers, channels and actions (never starts a baseline)
    metadata_hashes: dict[str, str] = field(default_factory=dict)
    # acting responsibly (DESIGN 5.2): channel -> cap per customer, segments never contacted, quiet hours
    caps: dict[str, Cap] = field(default_factory=dict)
    suppress: list[str] = field(default_factory=list)
    quiet_hours: QuietHours | None = None

    def segment(self, name: str) -> SegmentDef:
        """A standalone segment or `segmentation.segment`; NotFoundError with a did-you-mean otherwise."""
        from segmentum.errors import NotFoundError

        if name in self.segments:
            return self.segments[name]
        seg_name, _, seg = name.partition(".")
        if seg_name in self.segmentations:
            for s in self.segmentations[seg_name].segments:
                if s.segment == seg:
                    return s
        raise NotFoundError(f"unknown segment '{name}'{did_you_mean(name, self.segment_names())}")

    def all_segments(self) -> list[SegmentDef]:
        """Every segment: the standalone ones, then each segmentation's, in definition order."""
        out = list(self.segments.values())
        for segmentation in self.segmentations.values():
            out += segmentation.segments
        return out

    def segment_names(self) -> list[str]:
        return [s.name for s in self.all_segments()]

    def definition_names(self) -> list[str]:
        """Names whose membership a run stores: standalone segments and segmentations."""
        return [*self.segments, *self.segmentations]

    def select(self, only: list[str] | None) -> Definitions:
        """A copy holding only `only` (segments, segmentations or built-ins) and what they depend on."""
        if not only:
            return self
        from segmentum.errors import NotFoundError

        wanted_segs: set[str] = set()
        for name in only:
            if name in self.segments or name in self.segmentations:
                wanted_segs.add(name)
            elif name in self.builtins:
                wanted_segs |= {n for n, s in self.segmentations.items() if s.builtin == name}
                wanted_segs |= {n for n, s in self.segments.items() if s.builtin == name}
            else:
                raise NotFoundError(
                    f"--only {name}: no segment, segmentation or built-in of that name"
                    f"{did_you_mean(name, [*self.definition_names(), *self.builtins])}"
                )
        # close over in_segment references
        pending = list(wanted_segs)
        while pending:
            for node in self._wheres(pending.pop()):
                for ref in functions.segment_refs(node):
                    owner = ref if ref in self.segments else ref.partition(".")[0]
                    if owner not in wanted_segs:
                        wanted_segs.add(owner)
                        pending.append(owner)
        needed: set[str] = set()
        for name in wanted_segs:
            for node in self._wheres(name):
                needed |= trait_closure(self.traits, ast.names(node))
        # everything else (attributes, fingerprints, the policies: caps, suppress, quiet hours) carries over
        return dataclasses.replace(
            self,
            traits={n: t for n, t in self.traits.items() if n in needed},
            segments={n: s for n, s in self.segments.items() if n in wanted_segs},
            segmentations={n: s for n, s in self.segmentations.items() if n in wanted_segs},
            triggers={},
        )

    def _wheres(self, name: str) -> list[ast.Node]:
        if name in self.segments:
            node = self.segments[name].where
            return [node] if node is not None else []
        return [s.where for s in self.segmentations[name].rules if s.where is not None]


def trait_closure(traits: dict[str, TraitDef], names: set[str]) -> set[str]:
    """The traits among `names` and every trait they depend on."""
    out: set[str] = set()
    pending = [n for n in names if n in traits]
    while pending:
        name = pending.pop()
        if name in out:
            continue
        out.add(name)
        pending += [d for d in traits[name].deps if d not in out]
    return out
