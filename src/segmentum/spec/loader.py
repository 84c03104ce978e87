"""Load a workspace's definitions: enabled built-ins, `segmentum.yml` and `definitions/*.yml`.

Validates everything before anything runs: strict models, expression syntax, names (with a
did-you-mean), functions and their arguments, `in_segment` references, cycles, and the tables and
columns each built-in needs (a built-in whose data is absent is skipped with the reason). Every
error names `file:line:col`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from segmentum.errors import DefinitionError, did_you_mean
from segmentum.schema import TABLES
from segmentum.spec import ast
from segmentum.spec.builtins import DEFINITION_KEYS, load_builtin
from segmentum.spec.expr import ExpressionSyntaxError, parse_expression
from segmentum.spec.models import (
    AggregateTrait,
    AnyTrait,
    CumulativeTrait,
    DefinitionFile,
    ElseSegment,
    ExprTrait,
    Rule,
    ScoreTrait,
    Segment,
    Segmentation,
    TotalTrait,
    Trigger,
)
from segmentum.spec.yamlio import Located, format_validation_error, load_yaml

if TYPE_CHECKING:
    from segmentum.config import WorkspaceConfig


class DefinitionSource(Protocol):
    """Where definitions come from: a workspace folder and its config (a `Context` is one)."""

    root: Path
    config: WorkspaceConfig


AS_OF = "as_of"
# Columns an aggregate's `where` may use besides the table's own: derived per-row values.
DERIVED_COLUMNS = {"orders": {"days_since_previous": "BIGINT"}}


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

    @property
    def kind(self) -> str:
        return {
            AggregateTrait: "aggregate",
            ExprTrait: "expr",
            ScoreTrait: "score",
            CumulativeTrait: "cumulative",
            TotalTrait: "total",
        }[type(self.spec)]

    @property
    def population(self) -> bool:
        """Depends on every customer of the run (taken from the last batch run in real time)."""
        return self.kind in ("score", "cumulative", "total") or (
            self.expr is not None
            and any(
                isinstance(n, ast.Call) and n.name in ast.POPULATION_FUNCTIONS for n in ast.walk(self.expr)
            )
        )


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
    hashes: dict[str, str] = field(default_factory=dict)  # trait / segment / segmentation -> definition hash

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

    def segment_names(self) -> list[str]:
        names = list(self.segments)
        for segmentation in self.segmentations.values():
            names += [s.name for s in segmentation.segments]
        return names

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
                for ref in ast.segment_refs(node):
                    owner = ref if ref in self.segments else ref.partition(".")[0]
                    if owner not in wanted_segs:
                        wanted_segs.add(owner)
                        pending.append(owner)
        needed: set[str] = set()
        for name in wanted_segs:
            for node in self._wheres(name):
                needed |= trait_closure(self.traits, ast.names(node))
        return Definitions(
            traits={n: t for n, t in self.traits.items() if n in needed},
            segments={n: s for n, s in self.segments.items() if n in wanted_segs},
            segmentations={n: s for n, s in self.segmentations.items() if n in wanted_segs},
            triggers={},
            attributes=self.attributes,
            tables=self.tables,
            builtins=self.builtins,
            skipped=self.skipped,
            files=self.files,
            hashes=self.hashes,
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


# ---------------------------------------------------------------------------------------------- loading


def load_definitions(
    source: DefinitionSource,
    *,
    overrides: dict[str, str] | None = None,
    columns: DataColumns | None = None,
) -> Definitions:
    """Load and validate the definitions of a workspace folder.

    Parameters
    ----------
    overrides:
        file path (relative to the workspace) -> text, used instead of the file on disk (the editor and
        `preview` validate unsaved text this way); a path that does not exist yet is added.
    columns:
        the tables and customer attributes present in the store (`segmentum.store.catalog.data_columns`);
        None validates against no data (every built-in that needs a table is skipped). The language never
        reads the store itself: `Context.definitions()` passes what the store holds.
    """
    tables, attributes = columns if columns is not None else ({}, {})
    return DefinitionBuilder(tables, attributes).build(source, overrides or {})


# table -> column -> type, and customer attribute -> type, as the store holds them
DataColumns = tuple[dict[str, dict[str, str]], dict[str, str]]


def definition_files(source: DefinitionSource) -> list[Path]:
    """The workspace's definition files on disk (the `definitions` globs of segmentum.yml), sorted."""
    return sorted(
        {p for pattern in source.config.definitions for p in source.root.glob(pattern) if p.is_file()}
    )


class DefinitionBuilder:
    """Collects definition files into one validated `Definitions`."""

    def __init__(self, tables: dict[str, dict[str, str]], attributes: dict[str, str]) -> None:
        self.defs = Definitions(attributes=attributes, tables=tables)
        self.origins: dict[str, str] = {}  # name -> where it was first defined
        self.located: dict[str, Located] = {}

    # -- files
    def build(self, ws: DefinitionSource, overrides: dict[str, str]) -> Definitions:
        config = ws.config
        for name in config.builtins:
            builtin = load_builtin(name, config.builtin_settings.get(name))
            missing = self._missing_requirements(builtin.requires)
            if missing:
                self.defs.skipped[name] = missing
                continue
            self.defs.builtins.append(name)
            self._add_file(builtin.located, builtin=name)
        config_file = ws.root / "segmentum.yml"
        located = load_yaml(config_file, display_path="segmentum.yml", text=overrides.get("segmentum.yml"))
        located.data = {k: located.data.get(k) for k in DEFINITION_KEYS if located.data.get(k)}
        if located.data:
            self._add_file(located)
        for path in self._definition_files(ws, overrides):
            rel = path.relative_to(ws.root).as_posix()
            self._add_file(load_yaml(path, display_path=rel, text=overrides.get(rel)))
        return self.finish()

    @staticmethod
    def _definition_files(ws: DefinitionSource, overrides: dict[str, str]) -> list[Path]:
        found = set(definition_files(ws))
        found |= {ws.root / rel for rel in overrides if rel != "segmentum.yml"}
        return sorted(found)

    def _missing_requirements(self, requires: dict[str, list[str]]) -> str:
        problems = []
        for table, columns in requires.items():
            if table not in self.defs.tables:
                problems.append(f"table '{table}' is absent")
                continue
            absent = [
                c
                for c in columns
                if c not in self.defs.tables[table]
                and not (table == "customers" and c in self.defs.attributes)
            ]
            if absent:
                problems.append(f"{table} lacks column(s) {', '.join(absent)}")
        return "; ".join(problems)

    def add_text(self, text: str, path: str = "<text>") -> None:
        """Add definitions from YAML text (used by tests and the editor)."""
        self._add_file(load_yaml(path, display_path=path, text=text))

    def _add_file(self, located: Located, *, builtin: str | None = None) -> None:
        self.defs.files.append(located.path)
        try:
            parsed = DefinitionFile.model_validate(located.data or {})
        except ValidationError as exc:
            raise DefinitionError(format_validation_error(exc, located, model=DefinitionFile)) from None
        for name, trait in parsed.traits.items():
            self._claim(name, located, ("traits", name))
            self.defs.traits[name] = TraitDef(
                name, trait, located.where(("traits", name), key=True), located.path, builtin
            )
            self.located[f"trait:{name}"] = located
        for name, segment in parsed.segments.items():
            self._claim(name, located, ("segments", name))
            self.defs.segments[name] = self._segment(
                name, name, None, segment, located, ("segments", name), builtin
            )
        for name, segmentation in parsed.segmentations.items():
            self._claim(name, located, ("segmentations", name))
            self.defs.segmentations[name] = self._segmentation(name, segmentation, located, builtin)
        for name, trigger in parsed.triggers.items():
            if name in self.defs.triggers:
                raise DefinitionError(
                    f"{located.where(('triggers', name), key=True)}: trigger '{name}' is "
                    f"already defined at {self.defs.triggers[name].location}"
                )
            self.defs.triggers[name] = TriggerDef(
                name, trigger, located.where(("triggers", name), key=True), builtin
            )

    def _claim(self, name: str, located: Located, loc: tuple[Any, ...]) -> None:
        here = located.where(loc, key=True)
        if name in self.origins:
            raise DefinitionError(
                f"{here}: '{name}' is already defined at {self.origins[name]}; names of traits, "
                "segments and segmentations share one namespace"
            )
        if loc[0] == "traits" and name in self.defs.attributes:
            raise DefinitionError(
                f"{here}: trait '{name}' has the name of a customer attribute; rename the trait"
            )
        if name == AS_OF:
            raise DefinitionError(f"{here}: '{AS_OF}' is reserved (the run's point in time)")
        self.origins[name] = here

    def _segment(
        self,
        full: str,
        seg: str,
        segmentation: str | None,
        spec: Segment | Rule | ElseSegment,
        located: Located,
        loc: tuple[Any, ...],
        builtin: str | None,
    ) -> SegmentDef:
        where_text = getattr(spec, "where", None)
        node = self._parse(where_text, located, (*loc, "where")) if where_text is not None else None
        return SegmentDef(
            full,
            seg,
            segmentation,
            node,
            where_text,
            located.where(loc, key=True),
            spec.description,
            spec.offer,
            spec.channel,
            spec.action,
            builtin,
        )

    def _segmentation(
        self, name: str, spec: Segmentation, located: Located, builtin: str | None
    ) -> SegmentationDef:
        loc = ("segmentations", name)
        rules = [
            self._segment(f"{name}.{r.name}", r.name, name, r, located, (*loc, "segments", i), builtin)
            for i, r in enumerate(spec.segments)
        ]
        other = spec.else_segment
        else_def = self._segment(
            f"{name}.{other.name}", other.name, name, other, located, (*loc, "else"), builtin
        )
        return SegmentationDef(name, rules, else_def, located.where(loc, key=True), spec.description, builtin)

    # -- expressions
    def _parse(self, text: str, located: Located, loc: tuple[Any, ...]) -> ast.Node:
        try:
            node = parse_expression(text)
        except ExpressionSyntaxError as exc:
            raise DefinitionError(
                f"{expression_position(located, loc, exc.pos)}: {exc.message} in {text!r}"
            ) from None
        self.located[f"expr:{id(node)}"] = located
        return node

    def finish(self) -> Definitions:
        defs = self.defs
        for trait in defs.traits.values():
            self._resolve_trait(trait)
        order = self._order({n: t.deps for n, t in defs.traits.items()}, "trait", defs.traits)
        defs.traits = {n: defs.traits[n] for n in order}
        all_segments = {s.name: s for s in defs.segments.values()}
        for segmentation in defs.segmentations.values():
            all_segments |= {s.name: s for s in segmentation.segments}
        seg_deps: dict[str, set[str]] = {}
        for segment in all_segments.values():
            if segment.where is not None:
                self._check_names(segment.where, segment, context="segment")
                owner_refs = set()
                for ref in ast.segment_refs(segment.where):
                    owner_refs.add(ref if ref in defs.segments else ref.partition(".")[0])
                seg_deps[segment.segmentation or segment.name] = (
                    seg_deps.get(segment.segmentation or segment.name, set()) | owner_refs
                )
        for owner, deps in seg_deps.items():
            if owner in deps:
                raise DefinitionError(
                    f"{(defs.segments.get(owner) or defs.segmentations[owner]).location}: "
                    f"'{owner}' refers to itself through in_segment"
                )
        self._order(seg_deps, "segment", {**defs.segments, **defs.segmentations})
        for trigger in defs.triggers.values():
            self._check_trigger(trigger, all_segments)
        defs.hashes = self._hashes(all_segments)
        return defs

    def _resolve_trait(self, trait: TraitDef) -> None:
        spec = trait.spec
        located = self.located[f"trait:{trait.name}"]
        loc = ("traits", trait.name)
        if isinstance(spec, AggregateTrait):
            table = spec.table
            columns = self._table_columns(table)
            if spec.column and spec.column not in columns:
                raise DefinitionError(
                    f"{located.where((*loc, spec.function))}: unknown column '{spec.column}' of {table}"
                    f"{did_you_mean(spec.column, columns)} (columns: {', '.join(sorted(columns))})"
                )
            if spec.where is not None:
                trait.where = self._parse(spec.where, located, (*loc, "where"))
                self._check_names(trait.where, trait, context=f"table:{table}")
        elif isinstance(spec, ExprTrait):
            trait.expr = self._parse(spec.expr, located, (*loc, "expr"))
            self._check_names(trait.expr, trait, context="trait")
            trait.deps = {n for n in ast.names(trait.expr) if n in self.defs.traits}
        else:
            target = (
                spec.score
                if isinstance(spec, ScoreTrait)
                else (spec.cumulative if isinstance(spec, CumulativeTrait) else spec.total)
            )
            key = {ScoreTrait: "score", CumulativeTrait: "cumulative", TotalTrait: "total"}[type(spec)]
            if target not in self.defs.traits and target not in self.defs.attributes:
                raise DefinitionError(
                    f"{located.where((*loc, key))}: unknown trait '{target}'"
                    f"{did_you_mean(target, [*self.defs.traits, *self.defs.attributes])}"
                )
            trait.deps = {target} & set(self.defs.traits)
            if getattr(spec, "where", None) is not None:
                trait.where = self._parse(spec.where, located, (*loc, "where"))
                self._check_names(trait.where, trait, context="trait")
                trait.deps |= {n for n in ast.names(trait.where) if n in self.defs.traits}

    def _table_columns(self, table: str) -> dict[str, str]:
        columns = dict(TABLES[table].columns)
        columns.update(self.defs.tables.get(table, {}))
        columns.update(DERIVED_COLUMNS.get(table, {}))
        return columns

    def _check_names(self, node: ast.Node, owner: TraitDef | SegmentDef, *, context: str) -> None:
        """Names, functions, arities and segment references of one expression."""
        located = self._located_for(node)
        loc = self._loc_of(owner)
        if context.startswith("table:"):
            table = context.partition(":")[2]
            allowed = set(self._table_columns(table)) | {AS_OF}
            kind = f"column of {table}"
        else:
            allowed = set(self.defs.traits) | set(self.defs.attributes) | {AS_OF}
            kind = "trait or attribute"
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and n.name not in allowed:
                word = "trait" if context != "segment" and not context.startswith("table:") else kind
                if not context.startswith("table:"):
                    word = "trait" if n.name not in self.defs.attributes else "attribute"
                raise DefinitionError(
                    f"{expression_position(located, loc, n.pos)}: unknown {word} '{n.name}'"
                    f"{did_you_mean(n.name, allowed)}"
                )
            if isinstance(n, ast.Property) and context != "table:events":
                raise DefinitionError(
                    f"{expression_position(located, loc, n.pos)}: 'properties.{n.key}' "
                    "can only be used in the 'where' of a trait over events"
                )
            if isinstance(n, ast.Call):
                self._check_call(n, located, loc, context)

    def _check_call(self, n: ast.Call, located: Located, loc: tuple[Any, ...], context: str) -> None:
        where = expression_position(located, loc, n.pos)
        if n.name not in ast.FUNCTIONS:
            raise DefinitionError(
                f"{where}: unknown function '{n.name}'{did_you_mean(n.name, ast.FUNCTIONS)} "
                f"(functions: {', '.join(sorted(ast.FUNCTIONS))})"
            )
        low, high = ast.FUNCTIONS[n.name]
        if len(n.args) < low or (high is not None and len(n.args) > high):
            expected = str(low) if low == high else f"{low} to {high}" if high else f"at least {low}"
            raise DefinitionError(f"{where}: {n.name}() takes {expected} argument(s), found {len(n.args)}")
        if n.name in ast.POPULATION_FUNCTIONS and context.startswith("table:"):
            raise DefinitionError(
                f"{where}: {n.name}() ranks customers; it cannot be used in a table's 'where'"
            )
        if n.name == "ntile":
            bins = n.args[1]
            if not (
                isinstance(bins, ast.Literal)
                and isinstance(bins.value, int)
                and not isinstance(bins.value, bool)
                and bins.value >= 1
            ):
                raise DefinitionError(
                    f"{where}: ntile(x, n) needs a whole number n >= 1 as its second argument"
                )
        if n.name == "round" and len(n.args) == 2:
            digits = n.args[1]
            if not (isinstance(digits, ast.Literal) and isinstance(digits.value, int)):
                raise DefinitionError(f"{where}: round(x, n) needs a whole number n of digits")
        if n.name == "in_segment":
            arg = n.args[0]
            if context.startswith("table:"):
                raise DefinitionError(f"{where}: in_segment() cannot be used in a table's 'where'")
            if not (isinstance(arg, ast.Literal) and isinstance(arg.value, str)):
                raise DefinitionError(
                    f"{where}: in_segment() takes a segment name in quotes: in_segment('vip')"
                )
            names = self._all_segment_names()
            if arg.value not in names:
                hint = did_you_mean(arg.value, names)
                if not hint and arg.value in self.defs.segmentations:
                    hint = f"; name one of its segments: '{arg.value}.<segment>'"
                raise DefinitionError(f"{where}: unknown segment '{arg.value}'{hint}")

    def _all_segment_names(self) -> list[str]:
        names = list(self.defs.segments)
        for s in self.defs.segmentations.values():
            names += [x.name for x in s.segments]
        return names

    def _located_for(self, node: ast.Node) -> Located:
        return self.located[f"expr:{id(node)}"]

    def _loc_of(self, owner: TraitDef | SegmentDef) -> tuple[Any, ...]:
        if isinstance(owner, TraitDef):
            key = "expr" if isinstance(owner.spec, ExprTrait) else "where"  # noqa: SIM108
            return ("traits", owner.name, key)
        if owner.segmentation is None:
            return ("segments", owner.name, "where")
        segmentation = self.defs.segmentations[owner.segmentation]
        index = next(i for i, r in enumerate(segmentation.rules) if r.segment == owner.segment)
        return ("segmentations", owner.segmentation, "segments", index, "where")

    def _order(self, deps: dict[str, set[str]], what: str, owners: dict[str, Any]) -> list[str]:
        try:
            return list(TopologicalSorter(deps).static_order())
        except CycleError as exc:
            cycle = exc.args[1]
            first = owners.get(cycle[0])
            where = getattr(first, "location", "definitions")
            raise DefinitionError(f"{where}: circular {what} definitions: {' -> '.join(cycle)}") from None

    def _check_trigger(self, trigger: TriggerDef, segments: dict[str, SegmentDef]) -> None:
        spec = trigger.spec
        targets = [("segment", spec.segment), ("from", spec.from_), ("to", spec.to)]
        for key, name in targets:
            if name is None:
                continue
            if name.endswith(".*") and name[:-2] in self.defs.segmentations:
                continue
            if name not in segments and name not in self.defs.segmentations:
                raise DefinitionError(
                    f"{trigger.location}: trigger '{trigger.name}' {key}: unknown segment "
                    f"'{name}'{did_you_mean(name, segments)}"
                )
        if spec.trait is not None and spec.trait not in self.defs.traits:
            raise DefinitionError(
                f"{trigger.location}: trigger '{trigger.name}' trait: unknown trait "
                f"'{spec.trait}'{did_you_mean(spec.trait, self.defs.traits)}"
            )

    def _hashes(self, segments: dict[str, SegmentDef]) -> dict[str, str]:
        hashes: dict[str, str] = {}
        for name, trait in self.defs.traits.items():  # dependency order: deps hashed first
            payload = {
                "spec": trait.spec.model_dump(mode="json"),
                "deps": sorted(hashes[d] for d in trait.deps),
            }
            hashes[name] = _digest(payload)

        def expr_hash(node: ast.Node | None) -> list[str]:
            if node is None:
                return []
            used = trait_closure(self.defs.traits, ast.names(node))
            return sorted(hashes[t] for t in used) + sorted(ast.segment_refs(node))

        for name, seg in self.defs.segments.items():
            hashes[name] = _digest({"where": seg.where_text, "traits": expr_hash(seg.where)})
        for name, segmentation in self.defs.segmentations.items():
            hashes[name] = _digest(
                {"rules": [(s.segment, s.where_text, expr_hash(s.where)) for s in segmentation.segments]}
            )
        return hashes


def _digest(payload: Any) -> str:
    text = json.dumps(
        payload, sort_keys=True, default=lambda o: str(o) if isinstance(o, Decimal) else repr(o)
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def expression_position(located: Located, loc: tuple[Any, ...], offset: int) -> str:
    """file:line:col of character `offset` of the expression stored at `loc` (quotes accounted for)."""
    where = located.where(loc)
    file, _, rest = where.rpartition(":")
    file, _, line = file.rpartition(":")
    if not line.isdigit() or not rest.isdigit():
        return where
    col = int(rest)
    lines = located.text.splitlines()
    source = lines[int(line) - 1] if 0 < int(line) <= len(lines) else None
    if source is not None and 0 < col <= len(source) and source[col - 1] in "'\"":
        col += 1  # the value is quoted in YAML: count from its first character
    return f"{file}:{line}:{col + offset}"
