"""Definitions -> ONE Ibis expression per run.

Shape of the expression (the same on every engine):

1. the run's customers: `customers` rows (else every customer id of the tables) whose `first_seen_at`
   (`rules.first_seen`: the earliest of created_at and every timestamp of theirs) is null or at/before as_of,
   left-joined with the `segmentum.model_*` tables the run may use (their columns are attributes);
2. left-joined with per-customer aggregates: each source table is read and grouped ONCE per
   (table, all_orders), every aggregate of that group computed in that pass with conditional aggregation
   (`sum(x) FILTER (WHERE window AND where)`); `mode` (a count per value, then the first in order),
   `first` and `last` (a ranking) get one small pass each;
3. derived traits level by level (a level's traits only read lower levels), population traits (score,
   cumulative, total, percent_rank, ntile) as window functions with customer_id as the tie-breaker (on DuckDB
   computed first over a narrow copy of the customer table and joined back: `_population_first`);
4. segment booleans and segmentation labels (first match wins), also level by level for `in_segment`.

Calls of population functions inside conditions are hoisted into hidden `__pop_<hash>` columns that are
stored with the traits, so the real-time path (a subset of customers) takes them from the last batch run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir

from segmentum.compile import rules
from segmentum.compile.expressions import (
    ExprCompiler,
    UnsupportedExpressionError,
    align,
    days_between,
    literal,
)
from segmentum.compile.windows import bounds, period_edges
from segmentum.errors import DefinitionError
from segmentum.schema import TABLES
from segmentum.spec import ast, functions
from segmentum.spec.definitions import Definitions, SegmentDef, TraitDef
from segmentum.spec.models import (
    NUMERIC_AGGREGATES,
    ActivePeriodsTrait,
    AggregateTrait,
    CumulativeTrait,
    ExprTrait,
    ScoreTrait,
    SequenceTrait,
    TotalTrait,
    TraitKind,
    parse_duration,
)
from segmentum.store.tables import LIST_MEMBERS_TABLE

HIDDEN_PREFIX = "__"
SEGMENT_PREFIX = "__seg__"
SEGMENTATION_PREFIX = "__sgm__"
# Rows of these functions need a ranking of their own, not a plain grouped aggregate.
RANKED = ("mode", "first", "last")

PropertyReader = Callable[[ir.Table, str], ir.Value]


def pop_column(node: ast.Node) -> str:
    """Stable hidden column name of a population call (same text -> same column in every run)."""
    return f"{HIDDEN_PREFIX}pop_{hashlib.sha1(ast.to_text(node).encode()).hexdigest()[:12]}"


def segment_column(name: str) -> str:
    return f"{SEGMENT_PREFIX}{name}"


def segmentation_column(name: str) -> str:
    return f"{SEGMENTATION_PREFIX}{name}"


def default_property_reader(table: ir.Table, key: str) -> ir.Value:
    """events.properties JSON -> the value of `key` as text (DuckDB: JSON column)."""
    column = table["properties"]
    if not column.type().is_json():
        column = column.cast("json")
    return _json_text(column, key)


@ibis.udf.scalar.builtin(name="json_extract_string")
def _duckdb_json_extract_string(value: dt.JSON, path: str) -> str:  # type: ignore[empty-body]
    ...


def _json_text(column: ir.Value, key: str) -> ir.Value:
    return _duckdb_json_extract_string(column, f"$.{key}")


# A JSON number or a numeric string, as numeric aggregations of a property read it (DESIGN.md 5.1). Spelled
# with classes, not `\d`, so that the pattern means the same in DuckDB (RE2) and Spark (Java) SQL literals.
NUMBER_PATTERN = r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$"


def property_number(text: ir.StringValue) -> ir.Value:
    """A property's text as DOUBLE when it is a number, else null (`true`, `'n/a'`, objects are skipped)."""
    return text.re_search(NUMBER_PATTERN).ifelse(text.try_cast("float64"), ibis.null("float64"))


@dataclass
class CompiledRun:
    """The run's expression and what its columns mean."""

    expr: ir.Table
    traits: list[str]
    hidden: list[str]  # hoisted population columns, stored with the traits
    segments: dict[str, str]  # standalone segment -> boolean column
    segmentations: dict[str, str]  # segmentation -> label column
    as_of: datetime
    full: ir.Table | None = None  # every column before the final projection (explain evaluates on it)

    @property
    def trait_columns(self) -> list[str]:
        return ["customer_id", *self.traits, *self.hidden]


@dataclass
class _Group:
    table: str
    all_orders: bool
    traits: list[TraitDef] = field(default_factory=list)


class _TableScope:
    """Names inside an aggregate's `where`: the table's columns (and derived ones), properties, as_of."""

    def __init__(self, table: ir.Table, as_of: datetime, read_property: PropertyReader, where: str) -> None:
        self.table = table
        self.as_of = as_of
        self.read_property = read_property
        self.where = where

    def name(self, node: ast.Name) -> ir.Value:
        # helper columns the compiler adds (the given amount of a converted order, `__...`) are not the data's
        columns = [c for c in self.table.columns if not c.startswith(HIDDEN_PREFIX)]
        if node.name not in columns:
            raise DefinitionError(
                f"{self.where}: the data has no column '{node.name}' (columns: {', '.join(columns)})"
            )
        return self.table[node.name]

    def prop(self, node: ast.Property) -> ir.Value:
        if "properties" not in self.table.columns:
            raise DefinitionError(
                f"{self.where}: the table has no 'properties' column for properties.{node.key}"
            )
        return self.read_property(self.table, node.key)

    def population(self, node: ast.Call) -> ir.Value:
        raise UnsupportedExpressionError(f"{self.where}: {node.name}() cannot be used in a table's 'where'")

    def segment(self, name: str, node: ast.Call) -> ir.BooleanValue:
        raise UnsupportedExpressionError(f"{self.where}: in_segment() cannot be used in a table's 'where'")

    def history(self, name: str, ago: str, node: ast.Call) -> ir.BooleanValue:
        raise UnsupportedExpressionError(
            f"{self.where}: was_in_segment() cannot be used in a table's 'where'"
        )


class _CustomerScope:
    """Names at customer level: traits, attributes, hoisted population columns, segments already computed."""

    def __init__(self, compiler: RunCompiler, table: ir.Table, where: str) -> None:
        self.compiler = compiler
        self.table = table
        self.as_of = compiler.as_of
        self.where = where

    def name(self, node: ast.Name) -> ir.Value:
        if node.name not in self.table.columns:
            raise DefinitionError(
                f"{self.where}: '{node.name}' is neither a trait nor an attribute in the data"
            )
        return self.table[node.name]

    def prop(self, node: ast.Property) -> ir.Value:
        raise UnsupportedExpressionError(
            f"{self.where}: properties.{node.key} can only be used in a trait over events"
        )

    def population(self, node: ast.Call) -> ir.Value:
        column = pop_column(node)
        if column not in self.table.columns:
            raise UnsupportedExpressionError(
                f"{self.where}: {ast.to_text(node)} was not prepared (compiler bug)"
            )
        return self.table[column]

    def segment(self, name: str, node: ast.Call) -> ir.BooleanValue:
        if name in self.compiler.defs.segments:
            column = segment_column(name)
            if column in self.table.columns:
                return self.table[column]
        else:
            owner, _, seg = name.partition(".")
            column = segmentation_column(owner)
            if column in self.table.columns:
                return (self.table[column] == seg).fill_null(False)
        raise UnsupportedExpressionError(
            f"{self.where}: in_segment('{name}') is not computed before this segment"
        )

    def history(self, name: str, ago: str, node: ast.Call) -> ir.BooleanValue:
        """Membership in the past run chosen for (name, ago) (`RunCompiler.history`); false without one."""
        if (name, ago) not in self.compiler.history:
            raise UnsupportedExpressionError(
                f"{self.where}: the past members of {ast.to_text(node)} were not prepared (compiler bug)"
            )
        members = self.compiler.history[(name, ago)]
        if members is None:
            return ibis.literal(False)
        return self.table.customer_id.isin(members.customer_id)


class RunCompiler:
    """Compiles `Definitions` into one Ibis table expression for a point in time.

    Parameters
    ----------
    defs:
        The validated definitions (already narrowed with `Definitions.select` for `--only`).
    tables:
        Canonical tables present (`customers`, `orders`, ...) and `model_*` tables, as Ibis tables of one backend.
    as_of:
        The run's point in time (naive, workspace time zone).
    customer_ids:
        Evaluate only these customers (the real-time path).
    population:
        With `customer_ids`: a table (customer_id plus columns) holding population-dependent values from the
        last batch run, used instead of computing them over the subset.
    read_property:
        How the engine reads a key of events.properties as text.
    history:
        `was_in_segment('name', 30d)`: (name, duration) -> the members of `name` (a table with customer_id) in
        the past run the store's rule picks (`snapshots.past_run_of`), None when there is no such run. Every
        pair of `history_refs(defs)` must be present.
    currency:
        The workspace currency (`segmentum.yml`): with a `rates` table, orders in other currencies are
        converted to it (`rules.money_at`). None: amounts are taken as they are.
    stored:
        A table (customer_id plus trait columns) of trait values already computed at this `as_of` for these
        definitions (the preview passes the base run's traits whose hash is unchanged): those traits are
        joined in instead of computed again; everything else, segments included, is compiled as usual.
    narrow_windows:
        Compute the values over the whole population first, on a narrow copy of the customer table, and join
        them back (`_population_first`).
        Only for an engine that computes a relation read twice once (`Engine.narrow_windows`): DuckDB
        materialises it; Spark inlines it, so every level would copy the plan below it.
    """

    def __init__(
        self,
        defs: Definitions,
        tables: dict[str, ir.Table],
        as_of: datetime,
        *,
        customer_ids: list[str] | None = None,
        population: ir.Table | None = None,
        read_property: PropertyReader | None = None,
        history: dict[tuple[str, str], ir.Table | None] | None = None,
        currency: str | None = None,
        stored: ir.Table | None = None,
        narrow_windows: bool = False,
    ) -> None:
        self.defs = defs
        self.narrow_windows = narrow_windows
        self.stored = stored
        self.history = dict(history or {})
        # every rule below sees an alias's rows as its customer's, and money in the workspace currency; who the
        # customers are reads only ids and times, so it reads the tables before the conversion (no join there)
        # a real-time run's SQL is compiled once a day and serves every as_of of it (`runs.realtime`)
        self.seen_tables = rules.identities_at(tables, as_of, any_link=customer_ids is not None)
        self.tables = rules.money_at(self.seen_tables, currency)
        self.as_of = as_of
        self.customer_ids = customer_ids
        self.population_table = population
        self.read_property = read_property or default_property_reader

    def _touched(self) -> ir.Value:
        """The real-time run's customer ids as ONE array literal unnested in a subquery: a literal `IN` list of
        N ids costs Ibis N expression nodes to build (about 0.8 ms each), this costs one."""
        assert self.customer_ids is not None
        return ibis.literal([str(i) for i in self.customer_ids], type="array<string>").unnest()

    # ------------------------------------------------------------------------------------------ entry
    def compile(self) -> CompiledRun:
        t = self._customers()
        t = self._join_stored(t)
        t = self._join_aggregates(t)
        hidden: list[str] = []
        if self.customer_ids is not None and self.population_table is not None:
            t = self._join_population(t)
        t, hidden_traits = self._derived_traits(t)
        hidden += hidden_traits
        t, segments, segmentations, hidden_segs = self._segments(t)
        hidden += [h for h in hidden_segs if h not in hidden]
        traits = list(self.defs.traits)
        columns = ["customer_id", *traits, *hidden, *segments.values(), *segmentations.values()]
        return CompiledRun(t.select(*columns), traits, hidden, segments, segmentations, self.as_of, full=t)

    def condition_on(self, t: ir.Table, node: ast.Node, where: str = "explain") -> ir.BooleanValue:
        """A condition compiled against the full run table (hoisted population columns must exist)."""
        return ExprCompiler(_CustomerScope(self, t, where)).condition(node)

    def value_on(self, t: ir.Table, node: ast.Node, where: str = "explain") -> ir.Value:
        return ExprCompiler(_CustomerScope(self, t, where)).value(node)

    # ------------------------------------------------------------------------------------------ customers
    def _customers(self) -> ir.Table:
        """The run's customers (DESIGN.md section 4): `customers`, else every id the tables hold, keeping
        those whose `first_seen_at` (`rules.first_seen`) is null or at or before as_of."""
        needed = self._attribute_names()
        canonical = {n: t for n, t in self.seen_tables.items() if n in TABLES and "customer_id" in t.columns}
        if self.customer_ids is not None:
            canonical = {n: t.filter(t.customer_id.isin(self._touched())) for n, t in canonical.items()}
        seen = rules.first_seen(canonical)
        if self.stored is not None:
            # the stored traits are of these definitions at this as_of, over the same data: their customers are
            # the run's, so every table need not be scanned for when each customer was first seen
            ids = self.stored.select(self.stored.customer_id.cast("string").name("customer_id"))
            seen = None
            if "customers" in canonical:
                canonical["customers"] = canonical["customers"].filter(
                    canonical["customers"].customer_id.cast("string").isin(ids.customer_id)
                )
        else:
            ids = None
        if "customers" in canonical:
            c = canonical["customers"]
            keep = ["customer_id", *[n for n in c.columns if n in needed and n != "customer_id"]]
            c = c.select(*keep)
        elif ids is not None:
            c = ids
        elif seen is not None:
            c = seen.select("customer_id")
        else:
            raise DefinitionError(
                "the workspace has no data: load customers, orders, order_items or events "
                "with `segmentum ingest` first"
            )
        c = c.select(
            c.customer_id.cast("string").name("customer_id"), *[c[n] for n in c.columns if n != "customer_id"]
        )
        if "customer_changes" in canonical and "customers" in canonical:
            c = rules.attributes_at(c, canonical["customer_changes"], c.columns, self.as_of)
        if seen is not None:
            # a customer does not exist before they were first seen, so a backfill never counts them early;
            # those of `customers` created at or before as_of exist whatever the other tables hold, so only
            # the others' first moments are computed (the fact tables are not grouped whole)
            if "customers" in canonical:
                seen = rules.first_seen_unsettled(canonical, self.as_of)
                assert seen is not None  # `customers` has a time column
            columns = c.columns
            seen = seen.select(
                "customer_id", seen.first_seen_at.name("__first_seen_at")
            )  # never an attribute
            c = c.left_join(seen, "customer_id")
            c = c.filter(rules.exists_at(c["__first_seen_at"], self.as_of)).select(*columns)
        for name, model in sorted(self.tables.items()):
            if not name.startswith("model_"):
                continue
            cols = [n for n in model.columns if n in needed and n not in c.columns]
            if cols:
                c = c.left_join(model.select("customer_id", *cols), "customer_id").select(*c.columns, *cols)
        return c

    def _attribute_names(self) -> set[str]:
        names: set[str] = set()
        for trait in self.defs.traits.values():
            if trait.expr is not None:
                names |= ast.names(trait.expr)
            if not trait.spec.over_rows and trait.where is not None:
                names |= ast.names(trait.where)
            target = getattr(trait.spec, "target", None)  # score, cumulative, total: the trait they read
            if isinstance(target, str):
                names.add(target)
        for seg in self.defs.all_segments():
            if seg.where is not None:
                names |= ast.names(seg.where)
        return names - set(self.defs.traits)

    def _join_stored(self, c: ir.Table) -> ir.Table:
        """The traits `stored` provides, joined onto the customers; the rules below skip a trait whose column
        is already there."""
        if self.stored is None:
            return c
        reuse = [n for n in self.stored.columns if n in self.defs.traits and n not in c.columns]
        if not reuse:
            return c
        return c.left_join(self.stored.select("customer_id", *reuse), "customer_id").select(
            *c.columns, *reuse
        )

    # ------------------------------------------------------------------------------------------ aggregates
    def _groups(self) -> list[_Group]:
        groups: dict[tuple[str, bool, bool], _Group] = {}
        stored = set(self.stored.columns) if self.stored is not None else set()
        for trait in self.defs.traits.values():
            if trait.name in stored:
                continue
            if TRAIT_RULES[type(trait.spec)].grouped:
                spec = trait.spec
                assert isinstance(spec, AggregateTrait)
                table, all_orders = spec.table, spec.all_orders and spec.table in ("orders", "order_items")
                # the traits that read the gap between orders are aggregated apart: the others' rows then need
                # no window ordering every order of every customer
                gaps = table == "orders" and self._uses_days_since_previous(
                    _Group(table, all_orders, [trait])
                )
                groups.setdefault((table, all_orders, gaps), _Group(table, all_orders)).traits.append(trait)
        return list(groups.values())

    def _source(self, group: _Group) -> ir.Table:
        name = group.table
        t = self.tables[name]
        time_column = TABLES[name].time_column
        assert time_column is not None
        # only the columns some trait of the table reads: the groups of a table share this relation (DuckDB
        # materialises it once), and a wide copy of every order or item costs as much as the scan
        t = t.select(*[c for c in t.columns if c in self._table_columns(name)])
        as_of = ibis.literal(self.as_of, type=dt.Timestamp())
        t = t.filter(t[time_column] <= as_of)
        if self.customer_ids is not None:
            t = t.filter(t.customer_id.isin(self._touched()))
        if not group.all_orders:
            if name == "orders":
                t = t.filter(rules.qualifying(t))
            elif name == "order_items" and "orders" in self.tables:
                orders = self.tables["orders"]
                t = t.filter(t.order_id.isin(orders.filter(rules.qualifying(orders)).order_id))
        lows = [bounds(tr.spec, self.as_of)[0] for tr in group.traits]
        low = (
            ibis.literal(min(lows), type=dt.Timestamp())  # type: ignore[type-var]
            if lows and all(low is not None for low in lows)
            else None
        )
        if name == "orders" and self._uses_days_since_previous(group):
            if low is not None:
                # only the gaps before the orders in the traits' windows count: a customer's orders are
                # ordered only when they have one there (the gap needs their earlier orders too); the others'
                # aggregates are over no row either way (null, or 0 for a count)
                recent = t.filter(t[time_column] > low)
                t = t.filter(t.customer_id.isin(recent.customer_id))
            # the window orders and carries only the columns these traits read
            t = t.select(*[c for c in t.columns if c in self._columns_read(group, time_column)])
            w = ibis.window(group_by=t.customer_id, order_by=[t.ordered_at, t.order_id])
            t = t.mutate(days_since_previous=days_between(t.ordered_at.lag().over(w), t.ordered_at))
        if low is not None:
            # every trait of the group has a window: read only the widest one
            t = t.filter(t[time_column] > low)
        return t

    def _table_columns(self, name: str) -> set[str]:
        """The columns of table `name` that the run's traits over it read, and those the qualifying rule reads."""
        time_column = TABLES[name].time_column
        assert time_column is not None
        traits = [tr for tr in self.defs.traits.values() if getattr(tr.spec, "table", None) == name]
        read = self._columns_read(_Group(name, False, traits), time_column)
        if name == "orders":
            read |= {f.name for f in rules.qualifying(self.tables[name]).op().find(ops.Field)}
        return read

    @staticmethod
    def _columns_read(group: _Group, time_column: str) -> set[str]:
        """The columns of its table that the aggregates of `group` may read: its keys and time, the aggregated
        columns, the names of their conditions and the properties."""
        names = {"customer_id", "order_id", time_column, "properties", *TABLES[group.table].key}
        for trait in group.traits:
            column = getattr(trait.spec, "column", None)
            if column is not None:
                names.add(column)
            for condition in [*([trait.where] if trait.where is not None else []), *trait.steps]:
                names |= ast.names(condition)
        return names

    @staticmethod
    def _uses_days_since_previous(group: _Group) -> bool:
        for trait in group.traits:
            if getattr(trait.spec, "column", None) == "days_since_previous":
                return True
            conditions = [*([trait.where] if trait.where is not None else []), *trait.steps]
            if any("days_since_previous" in ast.names(c) for c in conditions):
                return True
        return False

    def _condition(self, trait: TraitDef, t: ir.Table) -> ir.BooleanValue | None:
        spec: AggregateTrait = trait.spec  # type: ignore[assignment]
        time_column = TABLES[spec.table].time_column
        low, high = bounds(spec, self.as_of)
        parts: list[ir.BooleanValue] = []
        if low is not None:
            parts.append(t[time_column] > ibis.literal(low, type=dt.Timestamp()))
        if high != self.as_of:
            parts.append(t[time_column] <= ibis.literal(high, type=dt.Timestamp()))
        if trait.where is not None:
            scope = _TableScope(t, self.as_of, self.read_property, trait.location)
            parts.append(ExprCompiler(scope).condition(trait.where))
        if not parts:
            return None
        cond = parts[0]
        for part in parts[1:]:
            cond &= part
        return cond

    def _column(self, trait: TraitDef, t: ir.Table) -> ir.Value:
        """The aggregated values: a column, or a key of events.properties as text (DESIGN.md 5.1); numbers as
        DOUBLE for median, percentile and stddev, and for every numeric aggregation of a property."""
        spec: AggregateTrait = trait.spec  # type: ignore[assignment]
        key = spec.property_key
        if key is not None:
            text = self.read_property(t, key)
            return property_number(text) if spec.function in NUMERIC_AGGREGATES else text
        column = spec.column
        if column not in t.columns:
            raise DefinitionError(f"{trait.location}: the data has no column {spec.table}.{column}")
        if spec.function in ("median", "percentile", "stddev"):
            return t[column].cast("float64")
        return t[column]

    def _aggregate(self, trait: TraitDef, t: ir.Table) -> ir.Value:
        spec: AggregateTrait = trait.spec  # type: ignore[assignment]
        fn = spec.function
        where = self._condition(trait, t)
        if fn == "count" and spec.column is None:
            return t.count(where=where)
        col = self._column(trait, t)
        if fn == "count":
            return col.count(where=where)
        if fn == "count_distinct":
            return col.nunique(where=where)
        if fn == "sum":
            return col.sum(where=where)
        if fn == "avg":
            return col.cast("float64").mean(where=where)
        if fn == "min":
            return col.min(where=where)
        if fn == "max":
            return col.max(where=where)
        if fn in ("median", "percentile"):
            # continuous quantile (DuckDB quantile_cont, Spark percentile): numpy's linear interpolation
            assert spec.quantile is not None
            return col.quantile(spec.quantile, where=where)
        if fn == "stddev":
            return col.std(how="sample", where=where)
        raise UnsupportedExpressionError(f"{trait.location}: aggregate '{fn}' has no compilation rule")

    def _ranked(self, trait: TraitDef, t: ir.Table) -> ir.Table:
        """mode / first / last of one trait: customer_id and the value, one row per customer."""
        spec: AggregateTrait = trait.spec  # type: ignore[assignment]
        col = self._column(trait, t)
        value = spec.column or ""
        if spec.property_key is not None:  # the property's text becomes a column of the rows
            value = "__value"
            t = t.mutate(__value=col)
            col = t[value]
        where = self._condition(trait, t)
        rows = t.filter(col.notnull()) if where is None else t.filter(col.notnull() & where)
        if spec.function == "mode":
            counts = rows.group_by(customer_id=rows.customer_id, value=rows[value]).aggregate(n=rows.count())
            # the most frequent value, the smallest of those tied: the value first in (count descending,
            # value); an aggregate (DuckDB's ordered `first`, Spark's `min_by`) costs half a ranking window
            first = ibis.struct({"n": -counts.n, "value": counts.value})
            return counts.group_by("customer_id").aggregate(**{trait.name: counts.value.argmin(first)})
        table = TABLES[spec.table]
        keys = [k for k in table.key if k in rows.columns and k != "customer_id"] or [
            k for k in table.key if k in rows.columns
        ]
        order = [rows[table.time_column], *[rows[k] for k in keys]]
        if spec.function == "last":
            order = [o.desc() for o in order]
        w = ibis.window(group_by=rows.customer_id, order_by=order)
        ranked = rows.mutate(rn=ibis.row_number().over(w))
        return ranked.filter(ranked.rn == 0).select("customer_id", ranked[value].name(trait.name))

    def _join_aggregates(self, c: ir.Table) -> ir.Table:
        counts: list[str] = []
        for group in self._groups():
            if group.table not in self.tables:
                # a table that is absent: its aggregates are over no rows
                for trait in group.traits:
                    c = c.mutate(**{trait.name: _empty_aggregate(trait.spec)})  # type: ignore[arg-type]
                continue
            t = self._source(group)
            for trait in group.traits:
                if trait.spec.property_key is not None and "properties" not in t.columns:  # type: ignore[union-attr]
                    # events loaded without properties hold no keys: every value is missing (null)
                    c = c.mutate(**{trait.name: _empty_aggregate(trait.spec)})  # type: ignore[arg-type]
            have = set(c.columns)
            plain = [
                tr
                for tr in group.traits
                if tr.spec.function not in RANKED and tr.name not in have  # type: ignore[union-attr]
            ]
            if plain:
                metrics = {tr.name: self._aggregate(tr, t) for tr in plain}
                agg = t.group_by("customer_id").aggregate(**metrics)
                c = c.left_join(agg, "customer_id").select(*c.columns, *metrics)
                counts += [tr.name for tr in plain if tr.spec.function in ("count", "count_distinct")]  # type: ignore[union-attr]
            for trait in group.traits:
                if trait.spec.function in RANKED and trait.name not in have:  # type: ignore[union-attr]
                    ranked = self._ranked(trait, t)
                    c = c.left_join(ranked, "customer_id").select(*c.columns, trait.name)
        for trait in self.defs.traits.values():
            rule = TRAIT_RULES[type(trait.spec)]
            if rule.joined is None or trait.name in c.columns:
                continue
            assert rule.empty is not None
            table = trait.spec.table  # type: ignore[union-attr]
            if table not in self.tables:
                c = c.mutate(**{trait.name: rule.empty(trait)})
                continue
            values = rule.joined(self, trait, self._source(_Group(table, False, [trait])))
            c = c.left_join(values, "customer_id").select(*c.columns, trait.name)
            c = c.mutate(**{trait.name: c[trait.name].fill_null(rule.empty(trait))})
        if counts:
            c = c.mutate(**{n: c[n].fill_null(0) for n in counts})
        return c

    # ------------------------------------------------------------------------------------------ derived
    def population_names(self) -> set[str]:
        """Trait columns and hidden columns whose value depends on the whole population."""
        names = {n for n, t in self.defs.traits.items() if t.population}
        for seg in self.defs.all_segments():
            if seg.where is not None:
                names |= {pop_column(n) for n in functions.population_calls(seg.where)}
        return names

    def _join_population(self, t: ir.Table) -> ir.Table:
        pop = self.population_table
        assert pop is not None
        wanted = [n for n in sorted(self.population_names()) if n in pop.columns]
        if not wanted:
            return t
        return t.left_join(pop.select("customer_id", *wanted), "customer_id").select(*t.columns, *wanted)

    def _levels(self) -> list[list[TraitDef]]:
        level: dict[str, int] = {}
        grouped = {n for n, t in self.defs.traits.items() if TRAIT_RULES[type(t.spec)].table_level}
        for name, trait in self.defs.traits.items():  # dependency order
            if name in grouped:
                level[name] = 0
            else:
                level[name] = 1 + max((level[d] for d in trait.deps if d in level), default=0)
        depth = max(level.values(), default=0)
        return [
            [t for n, t in self.defs.traits.items() if level[n] == i and n not in grouped]
            for i in range(1, depth + 1)
        ]

    @property
    def _from_population(self) -> bool:
        """A real-time run: its population values come from the batch runs (`population`), not its subset."""
        return self.customer_ids is not None and self.population_table is not None

    def _derived_traits(self, t: ir.Table) -> tuple[ir.Table, list[str]]:
        if self.narrow_windows and not self._from_population:
            t = self._population_first(t)
        t = self._derive(t)
        # hidden columns of traits are internal: they are not stored (the traits themselves are)
        return t, []

    def _derive(self, t: ir.Table, only: set[str] | None = None) -> ir.Table:
        """The derived traits (`only` these) that `t` lacks, level by level."""
        for traits in self._levels():
            traits = [tr for tr in traits if only is None or tr.name in only]
            todo = [
                tr
                for tr in traits
                if not (self._from_population and tr.population) and tr.name not in t.columns
            ]
            missing = [
                tr for tr in traits if self._from_population and tr.population and tr.name not in t.columns
            ]
            if (
                missing
            ):  # no batch run computed them: unknown, but typed so that expressions over them compile
                t = t.mutate(**{tr.name: self._typed_null(tr, t) for tr in missing})
            if not todo:
                continue
            calls = [c for tr in todo if tr.expr is not None for c in functions.population_calls(tr.expr)]
            t, _ = self._hoist(t, calls, where="traits")
            t = t.mutate(**{tr.name: self._trait_value(tr, t) for tr in todo})
        return t

    def _population_first(self, t: ir.Table) -> ir.Table:
        """`t` with the values over the whole population computed first, on a narrow copy of it, and joined
        back by customer_id: the population traits, the derived traits they read, and the population calls of
        the segments' conditions (their hidden `__pop_` columns).

        Why: a window sorts every column of its input with it. Over the customer table, which carries every
        trait, one window cost about ten times one over the columns it reads, at 1M customers (BENCHMARKS.md
        "Windows over a narrow copy"). Both sides read `t` through views, so that Ibis never merges the copy's
        projections into `t`'s own: `t` stays one relation both read (a CTE, which DuckDB materialises once).
        Only for engines that compute a shared relation once (`narrow_windows`)."""
        # what `t` holds already (the preview's stored traits) is read, not computed again
        derived = {
            n
            for n, tr in self.defs.traits.items()
            if not TRAIT_RULES[type(tr.spec)].table_level and n not in t.columns
        }
        wanted = {n for n in derived if self.defs.traits[n].population}
        calls = [
            call
            for seg in self.defs.all_segments()
            if seg.where is not None
            for call in functions.population_calls(seg.where)
            # a call over segments' memberships waits for them (`_segments`)
            if not functions.segment_refs(call) and pop_column(call) not in t.columns
        ]
        wanted |= {n for call in calls for n in ast.names(call) if n in derived}
        pending = list(wanted)
        while pending:
            for dep in self.defs.traits[pending.pop()].deps:
                if dep in derived and dep not in wanted:
                    wanted.add(dep)
                    pending.append(dep)

        def compute(copy: ir.Table) -> ir.Table:
            return self._hoist(self._derive(copy, wanted), calls, where="segments")[0]

        # built once over all of `t` to learn the columns it reads, then over those alone: DuckDB does not drop
        # the others from the first window's input, which then sorts them all
        view = t.view()
        read = {f.name for f in compute(view).op().find(ops.Field) if f.rel == view.op()}
        narrow = compute(
            t.view().select("customer_id", *[c for c in t.columns if c in read and c != "customer_id"])
        )
        computed = [
            c for c in narrow.columns if c not in t.columns and (c in wanted or c.startswith("__pop_"))
        ]
        if not computed:
            return t
        population = narrow.select("customer_id", *computed)
        wide = t.view()
        return wide.left_join(population, "customer_id").select(*[wide[c] for c in t.columns], *computed)

    def _typed_null(self, trait: TraitDef, t: ir.Table) -> ir.Value:
        """A null of the type `trait` has in a batch run (an untyped null fails in `q + 1`). The probe's
        population calls are computed on a copy of `t` only to learn the type; nothing of it is kept."""
        calls = [c for c in functions.population_calls(trait.expr)] if trait.expr is not None else []
        probe, _ = self._hoist(t, calls, where="traits")
        return ibis.null(self._trait_value(trait, probe).type())

    def _hoist(self, t: ir.Table, calls: list[ast.Call], *, where: str) -> tuple[ir.Table, list[str]]:
        """Compute population calls (innermost first) as hidden columns of `t`."""
        new: list[str] = []
        for call in calls:
            column = pop_column(call)
            if column in t.columns or column in new:
                continue
            inner = [c for c in functions.population_calls(call) if c is not call]
            if inner:
                t, more = self._hoist(t, inner, where=where)
                new += more
            value = ExprCompiler(_CustomerScope(self, t, where)).call(call, tie=t.customer_id)
            t = t.mutate(**{column: value})
            new.append(column)
        return t, new

    def _trait_value(self, trait: TraitDef, t: ir.Table) -> ir.Value:
        rule = TRAIT_RULES.get(type(trait.spec))
        if rule is None or rule.derive is None:
            raise UnsupportedExpressionError(
                f"{trait.location}: trait kind {trait.kind} has no compilation rule on the customer table"
            )
        try:
            return rule.derive(trait, t, ExprCompiler(_CustomerScope(self, t, trait.location)))
        except ibis.common.exceptions.IbisError as exc:
            raise DefinitionError(f"{trait.location}: cannot compile trait '{trait.name}': {exc}") from exc

    # ------------------------------------------------------------------------------------------ segments
    def _segment_levels(self) -> list[list[str]]:
        owners: dict[str, list[SegmentDef]] = {n: [s] for n, s in self.defs.segments.items()}
        owners |= {n: s.rules for n, s in self.defs.segmentations.items()}
        deps: dict[str, set[str]] = {}
        for owner, segs in owners.items():
            refs: set[str] = set()
            for seg in segs:
                if seg.where is not None:
                    for ref in functions.segment_refs(seg.where):
                        refs.add(ref if ref in self.defs.segments else ref.partition(".")[0])
            deps[owner] = refs & set(owners)
        level: dict[str, int] = {}
        pending = dict(deps)
        while pending:
            ready = [o for o, d in pending.items() if all(x in level for x in d)]
            if not ready:
                raise DefinitionError(f"circular in_segment references among {', '.join(sorted(pending))}")
            for o in ready:
                level[o] = 1 + max((level[d] for d in pending[o]), default=0)
                del pending[o]
        depth = max(level.values(), default=0)
        return [[o for o in owners if level[o] == i] for i in range(1, depth + 1)]

    def _segments(self, t: ir.Table) -> tuple[ir.Table, dict[str, str], dict[str, str], list[str]]:
        segments: dict[str, str] = {}
        segmentations: dict[str, str] = {}
        hidden: list[str] = []
        for owners in self._segment_levels():
            calls: list[ast.Call] = []
            for owner in owners:
                segs = (
                    [self.defs.segments[owner]]
                    if owner in self.defs.segments
                    else self.defs.segmentations[owner].rules
                )
                calls += [c for s in segs if s.where is not None for c in functions.population_calls(s.where)]
            if self._from_population:
                missing = [pop_column(c) for c in calls if pop_column(c) not in t.columns]
                if missing:
                    t = t.mutate(**{m: ibis.null("float64") for m in dict.fromkeys(missing)})
                hidden += [pop_column(c) for c in calls if pop_column(c) not in hidden]
            else:
                t, new = self._hoist(t, calls, where="segments")
                hidden += [pop_column(c) for c in calls if pop_column(c) not in hidden]
                del new
            values: dict[str, ir.Value] = {}
            for owner in owners:
                if owner in self.defs.segments:
                    seg = self.defs.segments[owner]
                    column = segment_column(owner)
                    values[column] = self._where(seg, t)
                    segments[owner] = column
                else:
                    segmentation = self.defs.segmentations[owner]
                    column = segmentation_column(owner)
                    branches = [
                        (self._where(rule, t), ibis.literal(rule.segment)) for rule in segmentation.rules
                    ]
                    values[column] = ibis.cases(
                        *branches, else_=ibis.literal(segmentation.else_segment.segment)
                    )
                    segmentations[owner] = column
            t = t.mutate(**values)
        return t, segments, segmentations, hidden

    def _where(self, seg: SegmentDef, t: ir.Table) -> ir.BooleanValue:
        if seg.list is not None:
            return self._on_list(seg, t)
        try:
            return ExprCompiler(_CustomerScope(self, t, seg.location)).condition(seg.where)  # type: ignore[arg-type]
        except ibis.common.exceptions.IbisError as exc:
            raise DefinitionError(
                f"{seg.location}: cannot compile the condition of '{seg.name}': {exc}"
            ) from exc

    def _on_list(self, seg: SegmentDef, t: ir.Table) -> ir.BooleanValue:
        """A static list's segment: the customer's id is among the list's members (store/lists.py)."""
        members = self.tables.get(LIST_MEMBERS_TABLE)
        if members is None:
            raise DefinitionError(f"{seg.location}: the store holds no static list '{seg.list}'")
        ids = members.filter(members.name == ibis.literal(seg.list)).customer_id
        return t.customer_id.isin(ids).fill_null(False)


_SQL_TO_IBIS = {
    "VARCHAR": "string",
    "TIMESTAMP": "timestamp",
    "DECIMAL(38, 6)": "decimal(38, 6)",
    "BIGINT": "int64",
    "DOUBLE": "float64",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "JSON": "string",
}


def _empty_aggregate(spec: AggregateTrait) -> ir.Value:
    """The value of an aggregate over a table that is absent: 0 for counts, else a typed null."""
    fn = spec.function
    if fn in ("count", "count_distinct"):
        return ibis.literal(0, type="int64")
    if fn in ("avg", "median", "percentile", "stddev") or (spec.property_key and fn in NUMERIC_AGGREGATES):
        return ibis.null("float64")
    if spec.property_key is not None:
        return ibis.null("string")
    kind = TABLES[spec.table].type_of(spec.column or "") or "VARCHAR"
    return ibis.null(_SQL_TO_IBIS.get(kind, "string"))


def _score(x: ir.Value, spec: ScoreTrait, take_part: ir.BooleanValue | None, tie: ir.Value) -> ir.Value:
    """Tie-aware quantile score (DESIGN.md section 6) or fixed cuts; null stays null."""
    if take_part is not None:
        x = take_part.ifelse(x, ibis.null(x.type()))
    bins = int(spec.bins)
    if spec.cuts is not None:
        above = None
        for cut in spec.cuts:
            value, bound = align(x, literal(cut))
            term = (value > bound).ifelse(1, 0).cast("int64")
            above = term if above is None else above + term
        above = above if above is not None else ibis.literal(0, type="int64")
        value = (bins - above) if spec.descending else (1 + above)
        return x.isnull().ifelse(ibis.null("int64"), value.cast("int64"))
    key = x.desc() if spec.descending else x
    rank0 = ibis.rank().over(group_by=x.isnull(), order_by=key)  # ibis: 0-based min rank = rank - 1
    n = x.count().over(ibis.window())
    n = (n == 0).ifelse(ibis.null("int64"), n)  # no division by zero on ANSI engines
    # 1 + min(bins - 1, floor(bins * (rank - 1) / n)), in integers (exact)
    scaled = bins * rank0.cast("int64")
    steps = ((scaled - scaled % n) / n).cast("int64")
    value = 1 + ibis.least(ibis.literal(bins - 1, type="int64"), steps)
    return x.isnull().ifelse(ibis.null("int64"), value.cast("int64"))


def _cumulative(x: ir.Value, order: str, take_part: ir.BooleanValue | None, tie: ir.Value) -> ir.Value:
    """Sum over the customers strictly ahead (value desc/asc, then customer_id); nulls count as 0."""
    value = x.fill_null(0) if not x.type().is_decimal() else x.fill_null(ibis.literal(0).cast(x.type()))
    key = value.desc() if order == "desc" else value
    if take_part is None:
        w = ibis.window(order_by=[key, tie], rows=(None, -1))
        return value.sum().over(w).fill_null(0).cast(value.type())
    group = ~take_part
    w = ibis.window(group_by=group, order_by=[key, tie], rows=(None, -1))
    ahead = value.sum().over(w).fill_null(0).cast(value.type())
    return take_part.ifelse(ahead, ibis.null(value.type()))


# ---------------------------------------------------------------------------------------------- trait kinds


@dataclass(frozen=True)
class TraitRule:
    """How one trait kind compiles.

    `grouped`: computed in the one grouped pass over its table (`RunCompiler._join_aggregates`), level 0.
    `derive`: otherwise, its value on the customer table, given a compiler for the customer scope; computed
    level by level after the traits it reads.
    """

    grouped: bool = False
    derive: Callable[[TraitDef, ir.Table, ExprCompiler], ir.Value] | None = None
    # a table of (customer_id, value) computed from the rows its table holds for the run (`RunCompiler._source`),
    # left-joined to the customers; `empty` is the value of a customer without rows (and of an absent table)
    joined: Callable[[RunCompiler, TraitDef, ir.Table], ir.Table] | None = None
    empty: Callable[[TraitDef], ir.Value] | None = None

    @property
    def table_level(self) -> bool:
        """Computed from a table's rows before any derived trait (level 0)."""
        return self.grouped or self.joined is not None


def _take_part(trait: TraitDef, compiler: ExprCompiler) -> ir.BooleanValue | None:
    return compiler.condition(trait.where) if trait.where is not None else None


def _derive_expr(trait: TraitDef, t: ir.Table, compiler: ExprCompiler) -> ir.Value:
    assert trait.expr is not None
    return compiler.value(trait.expr)


def _derive_score(trait: TraitDef, t: ir.Table, compiler: ExprCompiler) -> ir.Value:
    spec = trait.spec
    assert isinstance(spec, ScoreTrait)
    return _score(t[spec.score], spec, _take_part(trait, compiler), t.customer_id)


def _derive_cumulative(trait: TraitDef, t: ir.Table, compiler: ExprCompiler) -> ir.Value:
    spec = trait.spec
    assert isinstance(spec, CumulativeTrait)
    return _cumulative(t[spec.cumulative], spec.order, _take_part(trait, compiler), t.customer_id)


def _derive_total(trait: TraitDef, t: ir.Table, compiler: ExprCompiler) -> ir.Value:
    spec = trait.spec
    assert isinstance(spec, TotalTrait)
    return t[spec.total].sum().over(ibis.window())


def _row_condition(compiler: RunCompiler, trait: TraitDef, t: ir.Table, node: ast.Node) -> ir.BooleanValue:
    scope = _TableScope(t, compiler.as_of, compiler.read_property, trait.location)
    return ExprCompiler(scope).condition(node)


def _active_periods(compiler: RunCompiler, trait: TraitDef, t: ir.Table) -> ir.Table:
    """The distinct periods k (`edges[k+1] < ts <= edges[k]`) holding a matching row, counted per customer."""
    spec = trait.spec
    assert isinstance(spec, ActivePeriodsTrait)
    ts = t[TABLES[spec.table].time_column]
    edges = [ibis.literal(e, type=dt.Timestamp()) for e in period_edges(spec, compiler.as_of)]
    keep = (ts > edges[-1]) & (ts <= edges[0])
    if trait.where is not None:
        keep &= _row_condition(compiler, trait, t, trait.where)
    rows = t.filter(keep)
    ts = rows[TABLES[spec.table].time_column]
    period = ibis.cases(*[(ts > edges[k + 1], k) for k in range(spec.periods)], else_=ibis.null("int64"))
    rows = rows.mutate(__period=period)
    return rows.group_by("customer_id").aggregate(**{trait.name: rows["__period"].nunique()})


def _gap(text: str) -> ir.IntervalValue:
    amount, unit = parse_duration(text)
    if unit in ("d", "w"):
        return ibis.interval(days=amount * (7 if unit == "w" else 1))
    # calendar months, clamped to the month's end on both engines (31 Jan + 1m = 29 Feb in a leap year)
    return ibis.interval(months=amount * (12 if unit == "y" else 1))


def _sequence(compiler: RunCompiler, trait: TraitDef, t: ir.Table) -> ir.Table:
    """The smallest t_n over chains t_1 < ... < t_n of rows matching the steps in order (DESIGN.md 5.1).

    Each step's matching (customer, time) pairs are taken once; `reach` holds the times at which a chain can
    be at step i. Without `max_gap` only the earliest of them matters (a later row of step i+1 is reachable
    exactly when it is after that one); with it, a row of step i+1 is reachable when some reachable time of
    step i lies in `[t - max_gap, t)`, a semi-join on the customer and that range."""
    spec = trait.spec
    assert isinstance(spec, SequenceTrait)
    time_column = TABLES[spec.table].time_column
    low, _ = bounds(spec, compiler.as_of)
    if low is not None:
        t = t.filter(t[time_column] > ibis.literal(low, type=dt.Timestamp()))
    steps = []
    for node in trait.steps:
        matched = t.filter(_row_condition(compiler, trait, t, node))
        steps.append(matched.select("customer_id", __t=matched[time_column]).distinct())
    reach = steps[0]
    for step in steps[1:]:
        step = step.view()  # two steps with the same condition are the same relation: join it as another
        if spec.max_gap is None:
            first = reach.group_by("customer_id").aggregate(__first=reach["__t"].min())
            joined = step.inner_join(first, "customer_id")
            reach = joined.filter(joined["__t"] > joined["__first"]).select("customer_id", "__t")
        else:
            gap = _gap(spec.max_gap)
            reach = step.semi_join(
                reach,
                [
                    step.customer_id == reach.customer_id,
                    step["__t"] > reach["__t"],
                    step["__t"] <= reach["__t"] + gap,
                ],
            )
    return reach.group_by("customer_id").aggregate(**{trait.name: reach["__t"].min()})


# One compile rule per trait kind, keyed by the model class (STYLE.md: a new kind is a new class plus one rule).
TRAIT_RULES: dict[type[TraitKind], TraitRule] = {
    AggregateTrait: TraitRule(grouped=True),
    ExprTrait: TraitRule(derive=_derive_expr),
    ScoreTrait: TraitRule(derive=_derive_score),
    CumulativeTrait: TraitRule(derive=_derive_cumulative),
    TotalTrait: TraitRule(derive=_derive_total),
    ActivePeriodsTrait: TraitRule(joined=_active_periods, empty=lambda trait: ibis.literal(0, type="int64")),
    SequenceTrait: TraitRule(joined=_sequence, empty=lambda trait: ibis.null("timestamp")),
}


def history_refs(defs: Definitions) -> set[tuple[str, str]]:
    """Every (segment, duration) the definitions read from past runs: `was_in_segment('name', 30d)`."""
    refs: set[tuple[str, str]] = set()
    nodes = [n for t in defs.traits.values() for n in (t.expr, t.where) if n is not None]
    nodes += [s.where for s in defs.all_segments() if s.where is not None]
    for node in nodes:
        refs |= functions.history_refs(node)
    return refs


def compile_run(
    defs: Definitions, tables: dict[str, ir.Table], as_of: datetime, **options: Any
) -> CompiledRun:
    """Shortcut for `RunCompiler(...).compile()`."""
    return RunCompiler(defs, tables, as_of, **options).compile()
