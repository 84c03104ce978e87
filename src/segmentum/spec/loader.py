"""Load a workspace's definitions: enabled built-ins, `segmentum.yml` and `definitions/*.yml`.

Validates everything before anything runs: strict models, expression syntax, names (with a
did-you-mean), functions and their arguments, `in_segment` references, cycles, and the tables and
columns each built-in needs (a built-in whose data is absent is skipped with the reason). Every
error names `file:line:col`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from segmentum.errors import DefinitionError, did_you_mean
from segmentum.schema import TABLES, is_numeric_type
from segmentum.spec import ast, functions
from segmentum.spec.builtins import DEFINITION_KEYS, load_builtin
from segmentum.spec.definitions import (
    Definitions,
    SegmentationDef,
    SegmentDef,
    TraitDef,
    TriggerDef,
    trait_closure,
)
from segmentum.spec.expr import ExpressionSyntaxError, ExpressionTooDeepError, parse_expression
from segmentum.spec.fingerprint import data_hashes, metadata_hashes
from segmentum.spec.models import (
    NUMERIC_AGGREGATES,
    SINK_NAME_RE,
    SOURCE_TABLES,
    ActivePeriodsTrait,
    AggregateTrait,
    CumulativeTrait,
    DefinitionFile,
    ElseSegment,
    ExprTrait,
    Rule,
    ScoreTrait,
    Segment,
    Segmentation,
    SequenceTrait,
    TotalTrait,
    TraitKind,
)
from segmentum.spec.yamlio import Located, NestingError, format_validation_error, load_yaml

# Re-exported: callers have imported these from the loader since before spec/definitions.py existed.
__all__ = [
    "AS_OF",
    "DataColumns",
    "DefinitionBuilder",
    "DefinitionSource",
    "Definitions",
    "SegmentDef",
    "SegmentationDef",
    "TraitDef",
    "TriggerDef",
    "definition_files",
    "expression_position",
    "load_definitions",
    "trait_closure",
]

if TYPE_CHECKING:
    from segmentum.config import WorkspaceConfig


class DefinitionSource(Protocol):
    """Where definitions come from: a workspace folder and its config (a `Context` is one)."""

    root: Path
    config: WorkspaceConfig


AS_OF = "as_of"
# Keys of a definitions file (or segmentum.yml) that hold for every trigger (DESIGN 5.2)
POLICY_KEYS = ("caps", "suppress", "quiet_hours")
# Columns an aggregate's `where` may use besides the table's own: derived per-row values.
DERIVED_COLUMNS = {"orders": {"days_since_previous": "BIGINT"}}


# ---------------------------------------------------------------------------------------------- loading


def load_definitions(
    source: DefinitionSource,
    *,
    overrides: dict[str, str] | None = None,
    columns: DataColumns | None = None,
    lists: Sequence[str] = (),
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
    lists:
        the static lists stored (`segmentum.store.lists.names`): each is a standalone segment of its own name.
    """
    tables, attributes = columns if columns is not None else ({}, {})
    return DefinitionBuilder(tables, attributes, lists).build(source, overrides or {})


# table -> column -> type, and customer attribute -> type, as the store holds them
DataColumns = tuple[dict[str, dict[str, str]], dict[str, str]]


def definition_files(source: DefinitionSource) -> list[Path]:
    """The workspace's definition files on disk (the `definitions` globs of segmentum.yml), sorted."""
    return sorted(
        {p for pattern in source.config.definitions for p in source.root.glob(pattern) if p.is_file()}
    )


class DefinitionBuilder:
    """Collects definition files into one validated `Definitions`."""

    def __init__(
        self, tables: dict[str, dict[str, str]], attributes: dict[str, str], lists: Sequence[str] = ()
    ) -> None:
        self.defs = Definitions(attributes=attributes, tables=tables)
        self.lists = list(lists)
        self.origins: dict[str, str] = {}  # name -> where it was first defined
        self.located: dict[str, Located] = {}
        self.policy_origins: dict[str, str] = {}  # 'caps.email' / 'quiet_hours' -> where it is set
        self.suppress_at: dict[str, str] = {}  # suppressed name -> where it is listed

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
        keys = (*DEFINITION_KEYS, *POLICY_KEYS)
        located.data = {k: located.data.get(k) for k in keys if located.data.get(k)}
        if located.data:
            self._add_file(located)
        for path in self._definition_files(ws, overrides):
            rel = path.relative_to(ws.root).as_posix()
            self._add_file(load_yaml(path, display_path=rel, text=overrides.get(rel)))
        self._add_lists()
        return self.finish()

    def _add_lists(self) -> None:
        """Every static list as a standalone segment of its name (after the files: a definition of the same
        name is a clear error, not a silent shadow)."""
        for name in self.lists:
            if name in self.origins:
                raise DefinitionError(
                    f"{self.origins[name]}: '{name}' is also the name of a static list; rename the definition, "
                    f"or delete the list with `segmentum lists remove {name}`"
                )
            where = f"list:{name}"
            self.origins[name] = where
            self.defs.segments[name] = SegmentDef(name, name, None, None, None, where, list=name)

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
        self._add_policies(parsed, located)
        for name, trigger in parsed.triggers.items():
            if name in self.defs.triggers:
                raise DefinitionError(
                    f"{located.where(('triggers', name), key=True)}: trigger '{name}' is "
                    f"already defined at {self.defs.triggers[name].location}"
                )
            self.defs.triggers[name] = TriggerDef(
                name, trigger, located.where(("triggers", name), key=True), builtin
            )

    def _add_policies(self, parsed: DefinitionFile, located: Located) -> None:
        """Caps, suppression lists and quiet hours hold for the whole workspace: a channel's cap and the
        quiet hours are set once; suppression lists of several files add up."""
        for channel, cap in parsed.caps.items():
            here = located.where(("caps", channel), key=True)
            if not SINK_NAME_RE.match(channel):
                raise DefinitionError(
                    f"{here}: caps: {channel!r} is not a channel; use an action kind "
                    "(task, webhook, email, export or a plug-in sink's name)"
                )
            self._claim_policy(f"caps.{channel}", here)
            self.defs.caps[channel] = cap
        if parsed.quiet_hours is not None:
            self._claim_policy("quiet_hours", located.where(("quiet_hours",), key=True))
            self.defs.quiet_hours = parsed.quiet_hours
        for index, name in enumerate(parsed.suppress):
            if name not in self.suppress_at:
                self.suppress_at[name] = located.where(("suppress", index))
                self.defs.suppress.append(name)

    def _claim_policy(self, key: str, here: str) -> None:
        if key in self.policy_origins:
            raise DefinitionError(
                f"{here}: '{key}' is already set at {self.policy_origins[key]}; set it once"
            )
        self.policy_origins[key] = here

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
        except ExpressionTooDeepError as exc:
            shown = text if len(text) <= 80 else text[:77] + "..."
            raise NestingError(
                f"{expression_position(located, loc, exc.pos)}: {exc.message} in {shown!r}"
            ) from None
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
        all_segments = {s.name: s for s in defs.all_segments()}
        seg_deps: dict[str, set[str]] = {}
        for segment in all_segments.values():
            if segment.where is not None:
                self._check_names(segment.where, segment, context="segment")
                owner_refs = set()
                for ref in functions.segment_refs(segment.where):
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
        for name, here in self.suppress_at.items():
            if name not in defs.segments:
                hint = did_you_mean(name, defs.segments)
                if not hint and name in all_segments:
                    hint = "; only standalone segments can be suppression lists"
                raise DefinitionError(f"{here}: suppress: unknown segment '{name}'{hint}")
        defs.hashes = data_hashes(defs)
        defs.metadata_hashes = metadata_hashes(defs)
        return defs

    def _resolve_trait(self, trait: TraitDef) -> None:
        resolve = TRAIT_RESOLVERS.get(type(trait.spec))
        if resolve is None:  # pragma: no cover - tests check that every kind has a resolver
            raise DefinitionError(
                f"{trait.location}: trait kind {type(trait.spec).__name__} has no loader rule"
            )
        resolve(self, trait, self.located[f"trait:{trait.name}"], ("traits", trait.name))

    def _table_columns(self, table: str) -> dict[str, str]:
        columns = dict(TABLES[table].columns)
        columns.update(self.defs.tables.get(table, {}))
        columns.update(DERIVED_COLUMNS.get(table, {}))
        return columns

    def _check_names(
        self,
        node: ast.Node,
        owner: TraitDef | SegmentDef,
        *,
        context: str,
        loc: tuple[Any, ...] | None = None,
    ) -> None:
        """Names, functions, arities and segment references of one expression (stored at `loc`, by default
        the owner's expression or `where`)."""
        located = self._located_for(node)
        loc = loc if loc is not None else self._loc_of(owner)
        if context.startswith("table:"):
            table = context.partition(":")[2]
            allowed = set(self._table_columns(table)) | {AS_OF}
            kind = f"column of {table}"
        else:
            allowed = set(self.defs.traits) | set(self.defs.attributes) | {AS_OF}
            kind = "trait or attribute"
        # a duration literal is only an argument of a function that takes one (check_call checks which)
        arguments = {id(a) for c in functions.calls(node) for a in c.args}
        for n in ast.walk(node):
            if isinstance(n, ast.Duration) and id(n) not in arguments:
                raise DefinitionError(
                    f"{expression_position(located, loc, n.pos)}: a duration ({n.text}) is not a value; "
                    "durations are arguments of was_in_segment('name', 30d) only (compare days with "
                    "days_between(a, b) > 30)"
                )
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
        try:
            fn = functions.check_call(n, row_level=context.startswith("table:"))
        except functions.CallError as exc:
            raise DefinitionError(f"{expression_position(located, loc, exc.pos)}: {exc.message}") from None
        names = self.defs.segment_names()
        for i, arg in enumerate(n.args):
            if fn.arg(i).kind not in functions.SEGMENT_KINDS:
                continue
            name = str(functions.literal_argument(arg))
            if name not in names:
                hint = did_you_mean(name, names)
                if not hint and name in self.defs.segmentations:
                    hint = f"; name one of its segments: '{name}.<segment>'"
                raise DefinitionError(
                    f"{expression_position(located, loc, arg.pos)}: unknown segment '{name}'{hint}"
                )

    def _located_for(self, node: ast.Node) -> Located:
        return self.located[f"expr:{id(node)}"]

    def _loc_of(self, owner: TraitDef | SegmentDef) -> tuple[Any, ...]:
        if isinstance(owner, TraitDef):
            return ("traits", owner.name, "expr" if owner.expr is not None else "where")
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
        if spec.measure is not None:
            self._check_measure(trigger)
        if spec.trait is not None and spec.trait not in self.defs.traits:
            raise DefinitionError(
                f"{trigger.location}: trigger '{trigger.name}' trait: unknown trait "
                f"'{spec.trait}'{did_you_mean(spec.trait, self.defs.traits)}"
            )

    def _check_measure(self, trigger: TriggerDef) -> None:
        """`measure` names a canonical table for conversion and a numeric column for revenue."""
        measure = trigger.spec.measure
        assert measure is not None
        where = f"{trigger.location}: trigger '{trigger.name}' measure"
        parts = measure.conversion_parts
        if parts is not None and parts[0] not in SOURCE_TABLES:
            raise DefinitionError(
                f"{where}.conversion: unknown table '{parts[0]}'{did_you_mean(parts[0], SOURCE_TABLES)} "
                f"(tables: {', '.join(SOURCE_TABLES)})"
            )
        if measure.revenue is not None:
            table, _, column = measure.revenue.partition(".")
            if table not in SOURCE_TABLES:
                raise DefinitionError(
                    f"{where}.revenue: unknown table '{table}'{did_you_mean(table, SOURCE_TABLES)}"
                )
            columns = self._table_columns(table)
            if column not in columns:
                raise DefinitionError(
                    f"{where}.revenue: unknown column '{column}' of {table}{did_you_mean(column, columns)}"
                )
            if not is_numeric_type(columns[column]):
                raise DefinitionError(
                    f"{where}.revenue: {table}.{column} ({columns[column]}) is not a number; name an amount "
                    "such as orders.amount"
                )


# ------------------------------------------------------------------------------------- trait kinds


def _resolve_aggregate(
    builder: DefinitionBuilder, trait: TraitDef, located: Located, loc: tuple[Any, ...]
) -> None:
    """The column exists in its table (a property needs events.properties); numeric aggregations read
    numbers; `where` reads that table's columns."""
    spec = trait.spec
    assert isinstance(spec, AggregateTrait)
    table = spec.table
    columns = builder._table_columns(table)
    at = located.where(
        (*loc, spec.function, "of") if spec.function == "percentile" else (*loc, spec.function)
    )
    if spec.property_key is not None:
        if "properties" not in columns:
            raise DefinitionError(
                f"{at}: {spec.operand}: the events data has no 'properties' column; load events with a "
                "properties (JSON) column"
            )
    elif spec.column and spec.column not in columns:
        raise DefinitionError(
            f"{at}: unknown column '{spec.column}' of {table}"
            f"{did_you_mean(spec.column, columns)} (columns: {', '.join(sorted(columns))})"
        )
    if spec.column and spec.property_key is None and spec.function in NUMERIC_AGGREGATES:
        kind = columns[spec.column].upper()
        if not (is_numeric_type(kind) or (spec.function == "sum" and kind == "BOOLEAN")):
            raise DefinitionError(
                f"{at}: {spec.function} of {table}.{spec.column} ({kind}): "
                f"'{spec.function}' needs a number; for a point in time use min, max, first or last, and for "
                "a duration an expr trait with days_between"
            )
    if spec.where is not None:
        trait.where = builder._parse(spec.where, located, (*loc, "where"))
        builder._check_names(trait.where, trait, context=f"table:{table}")


def _resolve_expr(
    builder: DefinitionBuilder, trait: TraitDef, located: Located, loc: tuple[Any, ...]
) -> None:
    """The expression reads traits and attributes; the traits it reads are its dependencies."""
    spec = trait.spec
    assert isinstance(spec, ExprTrait)
    trait.expr = builder._parse(spec.expr, located, (*loc, "expr"))
    builder._check_names(trait.expr, trait, context="trait")
    trait.deps = {n for n in ast.names(trait.expr) if n in builder.defs.traits}


def _resolve_over_trait(
    builder: DefinitionBuilder, trait: TraitDef, located: Located, loc: tuple[Any, ...]
) -> None:
    """Score, cumulative, total: a population trait over another trait or attribute, optionally `where`."""
    spec = trait.spec
    assert isinstance(spec, (ScoreTrait, CumulativeTrait, TotalTrait))
    target, defs = spec.target, builder.defs
    if target not in defs.traits and target not in defs.attributes:
        raise DefinitionError(
            f"{located.where((*loc, spec.key))}: unknown trait '{target}'"
            f"{did_you_mean(target, [*defs.traits, *defs.attributes])}"
        )
    trait.deps = {target} & set(defs.traits)
    where = getattr(spec, "where", None)
    if where is not None:
        trait.where = builder._parse(where, located, (*loc, "where"))
        builder._check_names(trait.where, trait, context="trait")
        trait.deps |= {n for n in ast.names(trait.where) if n in defs.traits}


def _resolve_active_periods(
    builder: DefinitionBuilder, trait: TraitDef, located: Located, loc: tuple[Any, ...]
) -> None:
    """`where` reads the columns of the table whose rows make a period active."""
    spec = trait.spec
    assert isinstance(spec, ActivePeriodsTrait)
    if spec.where is not None:
        trait.where = builder._parse(spec.where, located, (*loc, "where"))
        builder._check_names(trait.where, trait, context=f"table:{spec.table}")


def _resolve_sequence(
    builder: DefinitionBuilder, trait: TraitDef, located: Located, loc: tuple[Any, ...]
) -> None:
    """Each step is a condition on the rows of `table` (its columns, and properties over events)."""
    spec = trait.spec
    assert isinstance(spec, SequenceTrait)
    for i, text in enumerate(spec.sequence):
        node = builder._parse(text, located, (*loc, "sequence", i))
        trait.steps.append(node)
        builder._check_names(node, trait, context=f"table:{spec.table}", loc=(*loc, "sequence", i))


TraitResolver = Callable[["DefinitionBuilder", TraitDef, Located, tuple[Any, ...]], None]
# One loader rule per trait kind (STYLE.md: a new kind is a new class plus one rule).
TRAIT_RESOLVERS: dict[type[TraitKind], TraitResolver] = {
    AggregateTrait: _resolve_aggregate,
    ExprTrait: _resolve_expr,
    ScoreTrait: _resolve_over_trait,
    CumulativeTrait: _resolve_over_trait,
    TotalTrait: _resolve_over_trait,
    ActivePeriodsTrait: _resolve_active_periods,
    SequenceTrait: _resolve_sequence,
}


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
