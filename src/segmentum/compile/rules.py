"""The domain rules of DESIGN.md, each declared once (section 3, principle 8).

The compiler, the runs, the models and the analyses call these; none of them spells a rule itself, so two
copies cannot drift apart.

- **Qualifying order** (section 4): `amount >= 0` (a zero-value purchase counts; a negative amount is a
  refund) and a status that is not `cancelled` or `returned`, compared case-insensitively; a null status, or
  an orders table without a status column, counts as completed. Declared once as an Ibis predicate
  (`qualifying`); the SQL text the store queries use (`qualifying_sql`) is compiled from that predicate.
- **Active customer and churn** (docs/models.md, "Churn"): who is active at an instant, and who of them is
  no longer active at the end of a period (`active_sql`, `churn_sql`, `resolve_basis`).
- **When a customer exists** (section 4): from `first_seen_at`, the earliest of `customers.created_at` and
  every timestamp of theirs in any table (`seen_columns`, `first_seen`); a run at `as_of` holds the customers
  whose `first_seen_at` is null or at or before `as_of` (`exists_at`). The store queries use the SQL
  compiled from these (`first_seen_sql`, `exists_at_sql`).
- **Attributes as of a run** (section 5.1, attribute history): with a `customer_changes` table, a run sees each
  attribute as of `as_of` (`attributes_at`).
- **Identities** (section 5.1): in a run at `as_of`, the rows of an alias linked at or before `as_of` count
  for its customer, and the alias is no customer (`identities_at`).
- **Currencies** (section 5.1): with a `rates` table, orders in another currency and their items carry amounts
  converted to the workspace currency, or none when no rate is known (`money_at`, `half_even`); the store
  queries read them from `money_sql`, compiled from `money_at`.
- **Models are point in time** (section 5): a model's per-customer outputs may be used by a run at `as_of`
  only when the data of the fit ended at or before `as_of` (`model_usable`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
from ibis import _

from segmentum.errors import ModelError
from segmentum.schema import MONEY, ORDERS, TABLES

if TYPE_CHECKING:
    from segmentum.store.connection import Store

# ----------------------------------------------------------------------------------------- qualifying order

EXCLUDED_STATUSES = ("cancelled", "returned")  # lower case; the status is compared lower-cased
MIN_AMOUNT = 0  # `amount >= 0`


def qualifying(orders: ir.Table) -> ir.BooleanValue:
    """Whether each row of `orders` is a qualifying order (the rule itself, as an Ibis predicate)."""
    # an order without a rate has no amount in the workspace currency (`money_at`) but still qualifies by the
    # amount it was given: a positive rate keeps the sign
    amount = orders[GIVEN_AMOUNT] if GIVEN_AMOUNT in orders.columns else orders.amount
    condition = amount >= MIN_AMOUNT
    if "status" in orders.columns:  # an orders table without status: every order counts as completed
        status = orders.status
        condition &= status.isnull() | ~status.lower().isin(list(EXCLUDED_STATUSES))
    return condition


def qualifying_sql(columns: Iterable[str] | None = None, *, alias: str | None = None) -> str:
    """The qualifying-order rule as a DuckDB SQL condition over a row of `main.orders`.

    Compiled from `qualifying`, so the SQL and the compiler's Ibis expression are the same rule.

    Parameters
    ----------
    columns:
        The columns of the orders table (`Store.columns("orders")`); only whether `status` is among them
        matters. Default: the canonical columns, which ingest always creates (status included).
    alias:
        Qualify the column names with this table alias (`o.amount`); default unqualified.
    """
    names = set(columns) if columns is not None else set(ORDERS.columns)
    # orders in the workspace currency (`money_sql`) qualify by the amount they were given, as in a run
    return _compiled("status" in names, alias, GIVEN_AMOUNT in names)


@functools.cache
def _compiled(has_status: bool, alias: str | None, has_given: bool = False) -> str:
    import sqlglot
    import sqlglot.expressions as exp

    schema = {
        "amount": ORDERS.columns["amount"],
        **({"status": ORDERS.columns["status"]} if has_status else {}),
        **({GIVEN_AMOUNT: ORDERS.columns["amount"]} if has_given else {}),
    }
    table = ibis.table(schema, name="orders")
    sql = ibis.to_sql(table.filter(qualifying(table)), dialect="duckdb")
    where = sqlglot.parse_one(sql, read="duckdb").find(exp.Where)
    assert where is not None, sql
    condition = where.this
    for column in condition.find_all(exp.Column):
        # the compiled text names Ibis' own alias (t0); callers put the condition in their own FROM
        column.set("table", exp.to_identifier(alias) if alias else None)
    return str(condition.sql(dialect="duckdb"))


# ------------------------------------------------------------------------------------------- first seen

CREATED_AT = "created_at"


def seen_columns() -> dict[str, str]:
    """table -> the column whose values are moments the customer of the row was seen: `customers.created_at`
    and the time column of every other table (`schema.TABLES`, the same map `within` uses), so a table
    declared there with a time column joins the rule by itself."""
    out = {"customers": CREATED_AT}
    out |= {name: spec.time_column for name, spec in TABLES.items() if spec.time_column}
    return out


def first_seen(tables: Mapping[str, ir.Table]) -> ir.Table | None:
    """(customer_id, first_seen_at): the earliest of `created_at` and every timestamp of each customer in any
    of `tables` (canonical name -> table); null when none of their rows has one. Every customer id of the
    tables that have a time column is a row. None when no table has such a column."""
    parts = []
    for name, column in seen_columns().items():
        t = tables.get(name)
        if t is None or column not in t.columns or "customer_id" not in t.columns:
            continue
        # the earliest per table first: the union then holds one row per customer and table
        parts.append(
            t.group_by(customer_id=t.customer_id.cast("string")).aggregate(
                seen_at=t[column].cast(dt.Timestamp()).min()
            )
        )
    if not parts:
        return None
    seen = ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
    return seen.group_by("customer_id").aggregate(first_seen_at=seen.seen_at.min())


def first_seen_unsettled(tables: Mapping[str, ir.Table], as_of: datetime) -> ir.Table | None:
    """`first_seen`, only for the customers whose existence at `as_of` their `created_at` leaves open: those
    of `tables['customers']` without a row created at or before `as_of`. A customer created at or before
    `as_of` has a `first_seen_at` at or before it whatever else the tables hold, so a run's population
    (`exists_at` of a left join: no row = null = exists) is the same as with `first_seen`, but the fact
    tables are read only for the few customers still open (none when every created_at is known and past),
    not grouped whole: at 1M customers that was a second scan of 58M events. Without `customers` or its
    `created_at`: `first_seen` itself."""
    customers = tables.get("customers")
    if customers is None or CREATED_AT not in customers.columns:
        return first_seen(tables)
    at = ibis.literal(as_of, type=dt.Timestamp())
    created = customers[CREATED_AT].cast(dt.Timestamp())
    open_ids = customers.filter(~(created <= at).fill_null(False)).select(
        customer_id=customers.customer_id.cast("string")
    )
    return first_seen(
        {
            name: t.filter(t.customer_id.cast("string").isin(open_ids.customer_id))
            for name, t in tables.items()
            if "customer_id" in t.columns
        }
    )


def exists_at(first_seen_at: ir.TimestampValue, as_of: datetime | ir.TimestampValue) -> ir.BooleanValue:
    """Whether a customer with this `first_seen_at` exists at `as_of` (null: they always do)."""
    at = ibis.literal(as_of, type=dt.Timestamp()) if isinstance(as_of, datetime) else as_of
    return first_seen_at.isnull() | (first_seen_at <= at)


# ---------------------------------------------------------------------------------------------- identities

IDENTITIES = "identities"
OWN_ROWS = ("customers", "customer_changes")  # an alias's own attributes: ignored once it is linked


def identities_at(
    tables: Mapping[str, ir.Table], as_of: datetime, *, any_link: bool = False
) -> dict[str, ir.Table]:
    """The tables as a run at `as_of` sees them (DESIGN section 5.1): each alias linked at or before `as_of`
    has its rows (whatever their timestamp) moved to its customer, and its own customers row and attribute
    changes dropped; the links of later runs are not there yet. Without an `identities` table, or without a
    link due at `as_of` (`any_link_due`, one query at compile time): unchanged, with no join per table.

    `any_link`: the join whenever the table holds a link, due at `as_of` or not. The real-time path compiles a
    day's SQL once, at two probe times of the day (`runs.realtime.SqlTemplate`): a link made after them must
    still find the join there (the SQL's own `linked_at <= as_of` leaves out the links not yet due)."""
    links_table = tables.get(IDENTITIES)
    if links_table is None:
        return dict(tables)
    at = ibis.literal(as_of, type=dt.Timestamp())
    due = links_table.filter(links_table.linked_at <= at)
    if not any_link_due(links_table if any_link else due):
        return {**tables, IDENTITIES: due}
    out: dict[str, ir.Table] = {IDENTITIES: due}
    links = due.select(__alias=due.alias_id.cast("string"), __linked_to=due.customer_id.cast("string"))
    for name, t in tables.items():
        if name == IDENTITIES:
            continue
        if name not in TABLES or "customer_id" not in t.columns:
            out[name] = t  # model outputs and lists are keyed by the customers of their own runs
        elif name in OWN_ROWS:
            out[name] = t.filter(~t.customer_id.cast("string").isin(links.__alias))
        else:
            joined = t.left_join(links, t.customer_id.cast("string") == links.__alias)
            out[name] = joined.select(
                *[
                    ibis.coalesce(joined.__linked_to, joined.customer_id.cast("string")).name(c)
                    if c == "customer_id"
                    else joined[c]
                    for c in t.columns
                ]
            )
    return out


def any_link_due(due: ir.Table) -> bool:
    """Whether the links due at a run's `as_of` hold any row: one cheap query on the engine at compile time,
    so that a run before the first link (or a workspace whose links all come later) reads every fact table
    as it is. A table no engine can answer for (unbound) takes the join, which is right either way."""
    try:
        return bool(due.limit(1).count().to_pyarrow().as_py())
    except Exception:  # noqa: BLE001 - no backend to ask: the join gives the same memberships, only slower
        return True


# ---------------------------------------------------------------------------------------------- currencies

RATES = "rates"
GIVEN_AMOUNT = "__amount_given"  # orders.amount as given, in the order's currency (for `qualifying`)
# decimal operands whose product Spark keeps exact (precision 20 + 17 + 1 = 38, scale 12): a wider product is
# rounded half-up to 6 decimals by Spark itself, before `half_even` could round it
_AMOUNT_OPERAND = dt.Decimal(20, 6)
_RATE_OPERAND = dt.Decimal(17, 6)
# the product as both engines hold it (Ibis types it narrower), narrowed so that `half_even`'s differences and
# halves stay within Spark's 38 digits: its widest intermediate, x - round(x), needs 12 + 18 + 1
_PRODUCT = dt.Decimal(30, 12)
_ROUNDED = dt.Decimal(24, 6)
MONEY_TYPE = dt.Decimal(38, 6)


def money_columns(table: str) -> tuple[str, ...]:
    """The columns of `table` (orders, order_items) that are sums of money in the order's currency: the MONEY
    columns of its schema but `quantity` (a count of units). orders: amount, discount; order_items: unit_price."""
    spec = TABLES[table]
    return tuple(c for c, kind in spec.columns.items() if kind == MONEY and c != "quantity")


def currency_code(value: ir.Value) -> ir.StringValue:
    """A currency code as rates and orders are compared: trimmed and upper-cased ISO code."""
    return value.cast("string").strip().upper()


def half_even(x: ir.NumericValue, digits: int = 6) -> ir.Value:
    """`x` (a DECIMAL of at most 12 decimals) rounded half-even to `digits` decimals, the same on DuckDB and
    Spark: both round a DECIMAL half away from zero, so an exact tie is rounded as 2 * round(x / 2), whose
    value at the tie is the even neighbour (x / 2 is never itself a tie)."""
    return _half_even(x, x.round(digits).cast(_ROUNDED), digits)


def _half_even(x: ir.NumericValue, away: ir.NumericValue, digits: int = 6) -> ir.Value:
    """`half_even` given `away` = x rounded half away from zero (a column computed once)."""
    half = ibis.literal(f"0.{'0' * digits}5", type=dt.Decimal(digits + 1, digits + 1))
    tie = (x - away).abs() == half
    twice = (x * ibis.literal("0.5", type=dt.Decimal(1, 1))).round(digits).cast(_ROUNDED) * 2
    return ibis.ifelse(tie, twice.cast(MONEY_TYPE), away.cast(MONEY_TYPE))


def product(amount: ir.Value, rate: ir.Value) -> ir.Value:
    """`amount * rate` exactly (12 decimals), to be rounded by `half_even`: `round(amount * rate, 6)` half-even
    is the converted amount (DESIGN section 5.1)."""
    return (amount.cast(_AMOUNT_OPERAND) * rate.cast(_RATE_OPERAND)).cast(_PRODUCT)


def order_rates(orders: ir.Table, rates: ir.Table, currency: str) -> ir.Table:
    """(order_id, __rate) of every order in another currency than the workspace's `currency`: the rate of the
    latest `day` of its currency at or before the order's date (`ordered_at`, wall-clock time of the workspace
    time zone, as a date); `__rate` null when there is none. An order whose currency is null, empty or the
    workspace's (any case) is no row: it is taken as is."""
    home = currency.strip().upper()
    code = currency_code(orders.currency)
    foreign = orders.filter(code.notnull() & (code != "") & (code != home))
    foreign = foreign.select(
        __order=foreign.order_id.cast("string"),
        __code=currency_code(foreign.currency),
        __day=foreign.ordered_at.cast(dt.Timestamp()).date(),
    )
    r = rates.select(
        __code=currency_code(rates.currency), __from=rates.day.cast(dt.date), __rate=rates.rate
    ).filter(lambda t: t.__code.notnull() & t.__from.notnull() & t.__rate.notnull())
    # each rate holds from its day until the next day of its currency: one interval per order date, so the
    # join is a range join (no OR in its condition) over the distinct (currency, date) of the orders
    next_day = r.__from.lead().over(ibis.window(group_by=r.__code, order_by=r.__from))
    r = r.mutate(__until=next_day.fill_null(ibis.literal(date(9999, 12, 31))))
    days = foreign.select("__code", "__day").distinct()
    found = days.inner_join(
        r, [days.__code == r.__code, days.__day >= r.__from, days.__day < r.__until]
    ).select(days.__code, days.__day, r.__rate)
    joined = foreign.left_join(found, [foreign.__code == found.__code, foreign.__day == found.__day])
    return joined.select(
        order_id=joined.__order, __currency=joined.__code, __day=joined.__day, __rate=joined.__rate
    )


def _store_table(name: str, types: dict[str, str]) -> ir.Table:
    """An unbound Ibis table of the store's `main.<name>` with its DuckDB column `types`, compiled to SQL by the
    store queries below (`without_rate_sql`, `money_sql`)."""
    from ibis.backends.sql.datatypes import DuckDBType

    return ibis.table({c: DuckDBType.from_string(k) for c, k in types.items()}, name=name, database="main")


def without_rate_sql(store: Store, currency: str, as_of: datetime | None = None) -> str | None:
    """DuckDB SQL of (order_id, customer_id, currency, day): the orders of the store in another currency that
    have no rate (`order_rates`), ordered at or before `as_of` when given; what money traits skip. None when
    the store has no `rates` table, no orders or no orders.currency (nothing is converted, nothing skipped)."""
    orders_types, rates_types = store.columns("orders"), store.columns(RATES)
    if not rates_types or "currency" not in orders_types:
        return None
    orders = _store_table("orders", orders_types)
    if as_of is not None:
        orders = orders.filter(orders.ordered_at <= ibis.literal(as_of, type=dt.Timestamp()))
    rates = order_rates(orders, _store_table(RATES, rates_types), currency)
    missing = rates.filter(rates.__rate.isnull())
    j = missing.inner_join(orders, missing.order_id == orders.order_id.cast("string"))
    out = j.select(
        order_id=j.order_id,
        customer_id=j.customer_id.cast("string"),
        currency=j.__currency,
        day=j.__day,
    )
    return str(ibis.to_sql(out, dialect="duckdb"))


@dataclass(frozen=True)
class MissingRates:
    """Orders that money traits skip for lack of a rate (`without_rate_sql`)."""

    orders: int
    customers: int
    currencies: dict[str, int]  # currency -> orders without a rate
    earliest: date | None  # the earliest date of such an order: rates are needed from that day on

    def message(self) -> str:
        """One line: how many, which currencies, from when, and how to fix it."""
        codes = ", ".join(f"{c} ({n:,})" for c, n in self.currencies.items())
        return (
            f"{self.orders:,} order(s) of {self.customers:,} customer(s) have no rate at or before their date "
            f"and are skipped by money traits: {codes}, the earliest on {self.earliest}; load rates of these "
            f"currencies from that day on with `segmentum ingest rates FILE` (columns currency, day, rate)"
        )


def missing_rates(store: Store, currency: str, as_of: datetime | None = None) -> MissingRates | None:
    """The orders without a rate (at or before `as_of` when given), summed up; None when there are none or
    nothing is converted (no `rates` table)."""
    sql = without_rate_sql(store, currency, as_of)
    if sql is None:
        return None
    # one pass: a row per currency and the total (the grouping set ()), whose customers are counted once
    rows = (
        store.cursor()
        .execute(
            f"SELECT currency, count(*), min(day), count(DISTINCT customer_id), grouping(currency) FROM ({sql}) "
            "GROUP BY GROUPING SETS ((currency), ()) ORDER BY grouping(currency), currency"
        )
        .fetchall()
    )
    per_currency = [r for r in rows if r[4] == 0]
    total = next((r for r in rows if r[4] == 1), None)
    if total is None or not total[1]:
        return None
    return MissingRates(
        orders=int(total[1]),
        customers=int(total[3]),
        currencies={str(r[0]): int(r[1]) for r in per_currency},
        earliest=total[2],
    )


def money_at(tables: Mapping[str, ir.Table], currency: str | None) -> dict[str, ir.Table]:
    """The tables with money in the workspace `currency` (DESIGN section 5.1): each order in another currency
    and its items get `money_columns` converted at the order's rate (`order_rates`): `amount * rate` rounded
    half-even to 6 decimals, or null when no rate is known, so that money traits skip them while counts, times
    and other columns count as before; orders keep their given amount in `GIVEN_AMOUNT` for `qualifying`.
    Without a `rates` table, an orders table, its currency column or a workspace currency: unchanged, no join
    (a compile-time check)."""
    rates, orders = tables.get(RATES), tables.get("orders")
    if currency is None or rates is None or orders is None or "currency" not in orders.columns:
        return dict(tables)
    factors = order_rates(orders, rates, currency).mutate(__foreign=ibis.literal(True))
    out = dict(tables)
    for name in ("orders", "order_items"):
        t = tables.get(name)
        if t is None or "order_id" not in t.columns:
            continue
        money = [c for c in money_columns(name) if c in t.columns]
        f = factors.view()
        j = t.left_join(f, t.order_id.cast("string") == f.order_id)
        j = j.select(*t.columns, "__rate", "__foreign")
        # the exact products once, then rounded: the rounding reads its operand three times
        j = j.mutate(**{f"__x_{c}": product(j[c], j.__rate) for c in money})
        j = j.mutate(**{f"__r_{c}": j[f"__x_{c}"].round(6).cast(_ROUNDED) for c in money})
        values = {
            c: ibis.ifelse(
                j.__foreign.isnull(), j[c].cast(MONEY_TYPE), _half_even(j[f"__x_{c}"], j[f"__r_{c}"])
            )
            for c in money
        }
        columns = [values[c].name(c) if c in values else j[c] for c in t.columns]
        if name == "orders":
            columns.append(j.amount.name(GIVEN_AMOUNT))
        out[name] = j.select(*columns)
    return out


@dataclass(frozen=True)
class MoneySql:
    """A table of the store with its money in the workspace currency, for the store's SQL queries
    (`money_sql`): `relation` is a FROM item (`main.orders`, or a parenthesised query) of `columns`."""

    relation: str
    columns: tuple[str, ...]

    def qualifying(self, alias: str | None = None) -> str:
        """The qualifying-order condition over a row of `relation` (`qualifying_sql`): by the amount given."""
        return qualifying_sql(self.columns, alias=alias)


def money_sql(store: Store, currency: str | None, table: str = "orders") -> MoneySql:
    """`table` (orders, order_items) of the store as DuckDB SQL with its `money_columns` in the workspace
    `currency`: `money_at` itself (the rate lookup `order_rates` and the rounding `half_even`) compiled over the
    store's `main` tables, so the store queries (customer 360, profiles, models, tasks, sizes) and a run convert
    the same way; orders keep their given amount in `GIVEN_AMOUNT` for `MoneySql.qualifying`. Without a
    `rates` table, orders.currency or a workspace currency: the plain `main.<table>` (no join, no cost)."""
    types = {name: store.columns(name) for name in {"orders", table, RATES}}
    plain = MoneySql(f"main.{table}", tuple(types[table]))
    if currency is None or not types[RATES] or "currency" not in types["orders"] or not types[table]:
        return plain
    return _converted_sql(
        currency, table, tuple((n, tuple(cols.items())) for n, cols in sorted(types.items()))
    )


@functools.lru_cache(maxsize=64)
def _converted_sql(
    currency: str, table: str, types: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
) -> MoneySql:
    """`money_sql` of tables of these column `types`, compiled once per them: the SQL depends on the columns
    alone (the rates are read when it runs), and building and compiling it took 0.3-0.5 s, on every customer
    360 and tasks page."""
    tables = {name: _store_table(name, dict(cols)) for name, cols in types}
    out = money_at(tables, currency)[table]
    return MoneySql(f"({ibis.to_sql(out, dialect='duckdb')})", tuple(out.columns))


# ---------------------------------------------------------------------------------------- attribute history


def attributes_at(customers: ir.Table, changes: ir.Table, names: Iterable[str], as_of: datetime) -> ir.Table:
    """`customers` with each attribute of `names` as of `as_of` (DESIGN section 5.1): the value of the latest
    change at or before `as_of`; null when that attribute of that customer has changes but none yet; the
    current value when it has none. A change's value (text) takes the attribute's type."""
    at = ibis.literal(as_of, type=dt.Timestamp())
    out = customers
    for name in names:
        if name == "customer_id" or name not in out.columns:
            continue
        of_name = changes.filter(changes.attribute == name)
        changed = of_name.group_by(customer_id=of_name.customer_id.cast("string")).aggregate(
            __changed=ibis.literal(True)
        )
        due = of_name.filter(of_name.changed_at <= at)
        window = ibis.window(group_by=due.customer_id, order_by=due.changed_at.desc())
        latest = (
            due.mutate(__rn=ibis.row_number().over(window))
            .filter(lambda t: t.__rn == 0)
            .select(customer_id=_.customer_id.cast("string"), __value=_.value)
        )
        kind = out[name].type()
        joined = out.left_join(changed, "customer_id").left_join(latest, "customer_id")
        value = ibis.ifelse(joined.__changed.notnull(), joined.__value.cast(kind), joined[name])
        out = joined.select(*[value.name(name) if c == name else joined[c] for c in out.columns])
    return out


def first_seen_sql(store: Store) -> str | None:
    """`first_seen` as DuckDB SQL over the store's `main` tables: a query of (customer_id, first_seen_at).

    Compiled from `first_seen`, so the store queries of the models and the compiler's run population are the
    same rule. None when no table with a time column (or `customers.created_at`) is present."""
    from ibis.backends.sql.datatypes import DuckDBType

    tables = {}
    for name, column in seen_columns().items():
        types = store.columns(name)  # empty when the table is absent
        if "customer_id" in types and column in types:
            schema = {c: DuckDBType.from_string(types[c]) for c in ("customer_id", column)}
            tables[name] = ibis.table(schema, name=name, database="main")
    seen = first_seen(tables)
    return None if seen is None else str(ibis.to_sql(seen, dialect="duckdb"))


def existing_sql(store: Store, as_of: str) -> str | None:
    """SQL of (customer_id, first_seen_at): the customers that exist at `as_of` (a SQL expression), as a run
    at that instant holds them (`compile.compiler`): the rows of `main.customers`, else every customer id
    the tables hold, whose `first_seen_at` is null or at or before `as_of`. None when the store holds
    neither customers nor a table with a time column."""
    seen = first_seen_sql(store)
    if store.table_exists("customers"):
        if seen is None:  # customers without created_at and no other table: nobody has a first moment
            return "SELECT CAST(customer_id AS VARCHAR) AS customer_id, NULL::TIMESTAMP AS first_seen_at FROM main.customers"
        return (
            "SELECT CAST(c.customer_id AS VARCHAR) AS customer_id, f.first_seen_at FROM main.customers c "
            f"LEFT JOIN ({seen}) f ON f.customer_id = CAST(c.customer_id AS VARCHAR) "
            f"WHERE {exists_at_sql('f.first_seen_at', as_of)}"
        )
    if seen is None:
        return None
    return (
        f"SELECT f.customer_id, f.first_seen_at FROM ({seen}) f WHERE f.customer_id IS NOT NULL "
        f"AND {exists_at_sql('f.first_seen_at', as_of)}"
    )


def exists_at_sql(first_seen_at: str, as_of: str) -> str:
    """`exists_at` as a DuckDB SQL condition: `first_seen_at` and `as_of` are SQL expressions (a column such
    as `f.first_seen_at`, a parameter such as `$at` or a timestamp literal). Compiled from `exists_at`."""
    import sqlglot
    import sqlglot.expressions as exp

    t = ibis.table({"first_seen_at": dt.Timestamp(), "as_of": dt.Timestamp()}, name="t")
    sql = ibis.to_sql(t.filter(exists_at(t.first_seen_at, t.as_of)), dialect="duckdb")
    where = sqlglot.parse_one(sql, read="duckdb").find(exp.Where)
    assert where is not None, sql
    given = {"first_seen_at": first_seen_at, "as_of": as_of}
    condition = where.this.transform(
        lambda node: (
            sqlglot.parse_one(given[node.name], read="duckdb")
            if isinstance(node, exp.Column) and node.name in given
            else node
        )
    )
    return f"({condition.sql(dialect='duckdb')})"  # whole: callers combine it with their own conditions


# ------------------------------------------------------------------------------------------- models


def model_usable(data_end: datetime | None, as_of: datetime) -> bool:
    """Whether a run at `as_of` may use the outputs of a model fitted on data ending at `data_end`. A model
    table without a recorded fit (written outside segmentum's fits) has no known end and is used as is."""
    return data_end is None or data_end <= as_of


# ------------------------------------------------------------------------------------------- churn

BASES = ("auto", "subscriptions", "orders")
# A cancellation followed within this time by another subscription of the same customer (a plan upgrade or
# downgrade) is a change of plan, not churn: the customer stays active across the gap.
PLAN_CHANGE_GAP = "INTERVAL 1 DAY"


def resolve_basis(store: Store, basis: str) -> str:
    """What activity is judged by: 'subscriptions', 'orders' or 'auto' (both), from what the store holds."""
    if basis not in BASES:
        raise ModelError(f"churn basis {basis!r} is not known; allowed: {', '.join(BASES)}")
    has_subs = store.table_exists("subscriptions")
    has_orders = store.table_exists("orders")
    if basis == "subscriptions" and not has_subs:
        raise ModelError(
            "churn basis 'subscriptions' needs a subscriptions table; load it with "
            "`segmentum ingest subscriptions FILE` or use --basis orders"
        )
    if basis == "orders" and not has_orders:
        raise ModelError("churn basis 'orders' needs an orders table; load orders or order_items first")
    if basis == "auto":
        if has_subs and has_orders:
            return "auto"
        if has_subs:
            return "subscriptions"
        if has_orders:
            return "orders"
        raise ModelError("churn needs orders or subscriptions; load one of them with `segmentum ingest`")
    return basis


def active_sql(basis: str) -> str:
    """SQL of (customer_id, b): the customers active at each instant `b` of a relation `bounds(b)`.

    Needs the parameter `$inactivity` (days) when orders count. Active at `t`:

    - subscriptions: a subscription with `started_at < t` and `cancelled_at` null or `>= t`, or `t` falls in
      the gap between a cancellation and another subscription of the customer starting within
      `PLAN_CHANGE_GAP` of it (a change of plan), that subscription starting at or before the newest `b`
      (nothing after the newest instant asked about is read);
    - orders: a qualifying order in `[t - inactivity, t)`;
    - auto: customers with a subscription started before `t` by their subscriptions, the others by orders.
    """
    if basis not in BASES:
        raise ModelError(f"churn basis {basis!r} is not known; allowed: {', '.join(BASES)}")
    orders = f"""SELECT DISTINCT o.customer_id, bounds.b FROM main.orders o
        JOIN bounds ON o.ordered_at >= bounds.b - to_days(CAST($inactivity AS INTEGER)) AND o.ordered_at < bounds.b
        WHERE {qualifying_sql(alias="o")} AND o.customer_id IS NOT NULL"""
    subs = f"""SELECT DISTINCT s.customer_id, bounds.b FROM main.subscriptions s
        JOIN bounds ON s.started_at < bounds.b AND (s.cancelled_at IS NULL OR s.cancelled_at >= bounds.b)
        WHERE s.customer_id IS NOT NULL
        UNION
        SELECT DISTINCT s.customer_id, bounds.b FROM main.subscriptions s
        JOIN main.subscriptions n ON n.customer_id = s.customer_id AND n.started_at >= s.cancelled_at
             AND n.started_at <= s.cancelled_at + {PLAN_CHANGE_GAP}
        JOIN bounds ON s.started_at < bounds.b AND s.cancelled_at < bounds.b AND bounds.b <= n.started_at
        WHERE s.customer_id IS NOT NULL AND n.started_at <= (SELECT max(b) FROM bounds)"""
    if basis == "orders":
        return orders
    if basis == "subscriptions":
        return subs
    return f"""SELECT customer_id, b FROM ({subs}) UNION SELECT x.customer_id, x.b FROM ({orders}) x
        WHERE NOT EXISTS (SELECT 1 FROM main.subscriptions s WHERE s.customer_id = x.customer_id
                          AND s.started_at < x.b)"""


def churn_sql(basis: str, periods: str) -> str:
    """SQL of (customer_id, period_start, period_end, churned) for each period of the relation `periods`
    (columns period_start, period_end): one row per customer active at the period's start; `churned` when
    they are not active at its end. Needs `$inactivity` as `active_sql`."""
    return f"""WITH bounds AS (SELECT period_start AS b FROM {periods} UNION SELECT period_end FROM {periods}),
        act AS ({active_sql(basis)})
        SELECT a.customer_id, p.period_start, p.period_end, (e.customer_id IS NULL) AS churned
        FROM {periods} p JOIN act a ON a.b = p.period_start
        LEFT JOIN act e ON e.customer_id = a.customer_id AND e.b = p.period_end"""
