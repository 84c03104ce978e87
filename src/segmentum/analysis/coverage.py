"""Data coverage: which attributes are filled for how many customers, which built-ins can run, and which
data to collect next (DESIGN.md section 2, "when data is scarce").

Works on any store, even one holding only `orders`: the customers are then the ids seen in the tables.

Who counts as covered by a built-in:
- fact tables: a row in ANY of the tables it reads. Having no ticket or no event is information (no
  complaint, no activity), not missing data, so `retail` covers every buyer, with or without a ticket;
- customer attributes: every attribute it reads, among the customers it applies to. Company attributes
  (BUSINESS_ATTRIBUTES) apply to business customers only: a B2C customer has no company and is not missing
  company data (`firmographic` puts them in `not_a_company`). Business customers are those whose
  `customer_type` says so when the column exists, else those with a company.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from segmentum.compile.rules import MissingRates, missing_rates
from segmentum.schema import CUSTOMERS, FACT_TABLES, TABLES
from segmentum.spec.builtins import builtin_names, load_builtin
from segmentum.sql import ident
from segmentum.store import CATALOG, META
from segmentum.store.catalog import model_tables

if TYPE_CHECKING:
    from segmentum.context import Context

# What to ask or collect for each attribute: the start of a sentence that ends "to unlock ...".
QUESTIONS: dict[str, str] = {
    "name": "record the customer's name",
    "email": "ask for an email address (at checkout or sign-up)",
    "phone": "ask for a phone number",
    "created_at": "record when each customer signed up",
    "birth_date": "ask customers for their birth date (a birthday offer is a good reason)",
    "gender": "ask customers for their gender (optional field in the profile)",
    "marital_status": "ask for marital status in a profile survey",
    "education": "ask for education in a profile survey",
    "income": "ask for an income range in a profile survey",
    "language": "record the customer's preferred language",
    "country": "record the delivery or billing country",
    "region": "record the delivery region",
    "city": "record the delivery city",
    "postal_code": "record the postal code",
    "timezone": "record the customer's time zone (from the browser or the address)",
    "device": "record the device type at sign-up or login",
    "first_source": "ask 'how did you hear about us?' or store the UTM source of the first visit",
    "account_owner": "assign an account owner in the CRM",
    "email_opt_in": "record email consent",
    "company": "record the company name of business customers",
    "industry": "ask business customers for their industry",
    "employees": "ask business customers for their number of employees",
    "annual_revenue": "ask business customers for their annual revenue (or enrich from a company database)",
    "lifecycle_stage": "export the lifecycle stage (lead, onboarding, customer, churned) from the CRM",
    "job_title": "record the contact's job title",
    "plan": "export the customer's plan",
    "renewal_at": "export the contract renewal date from the CRM",
    "interests": "ask customers about their interests in a short survey",
    "clv_12m": "fit the CLV model (`segmentum clv --calibration-end DATE`)",
    "p_alive": "fit the CLV model (`segmentum clv --calibration-end DATE`)",
}
TABLE_HINTS: dict[str, str] = {
    "customers": "load the customer list (`segmentum ingest customers FILE`)",
    "orders": "load orders (`segmentum ingest orders FILE`)",
    "order_items": "load order lines with product categories (`segmentum ingest order_items FILE`)",
    "events": "load behaviour events: web/app activity, email and contact events (`segmentum ingest events FILE`)",
    "responses": "run an NPS/CSAT survey and load the answers (`segmentum ingest responses FILE`)",
    "tickets": "load support tickets (`segmentum ingest tickets FILE`)",
    "subscriptions": "load subscriptions/contracts (`segmentum ingest subscriptions FILE`)",
    "rates": "load exchange rates to the workspace currency (`segmentum ingest rates FILE`)",
}
SPARSE_SHARE = 0.5  # attributes a runnable built-in uses, filled for fewer customers than this, are suggested
# attributes only business customers have; their coverage is measured among business customers
BUSINESS_ATTRIBUTES = frozenset({"company", "industry", "employees", "annual_revenue"})
BUSINESS_TYPES = ("b2b", "business", "company", "corporate")  # customer_type values of a business customer


@dataclass
class AttributeCoverage:
    """How many customers have a value for one attribute (customers column or model column)."""

    attribute: str
    present: bool  # the column exists
    customers: int  # customers with a non-null value
    share: float  # of `base` customers
    source: str = "customers"
    base: int | None = None  # customers it applies to (all, or the business customers for company data)


@dataclass
class TableCoverage:
    table: str
    present: bool
    rows: int
    customers: int  # customers with at least one row
    share: float


@dataclass
class BuiltinCoverage:
    builtin: str
    title: str
    can_run: bool
    missing: list[str]  # 'orders' (a table) or 'customers.birth_date' (a column)
    reason: str  # why it cannot run ('' when it can)
    customers: int  # customers it can segment on their data (see the module docstring)
    share: float  # of `base`
    requires: dict[str, list[str]] = field(default_factory=dict)
    base: int | None = None  # customers it applies to (all, or the business customers)


@dataclass
class Suggestion:
    """Something to collect next, with the question to ask and what it would unlock."""

    item: str  # 'customers.birth_date', 'orders', 'order_items.category'
    kind: str  # 'missing' (absent: built-ins cannot run) or 'sparse' (present but filled for few customers)
    builtins: list[str]  # built-ins that need it
    unlocks: int  # built-ins that could run once it is there (it is their only missing input)
    customers_missing: int
    question: str


@dataclass
class CoverageReport:
    customers: int
    customers_source: str  # 'customers' or 'ids seen in orders, events'
    attributes: list[AttributeCoverage]
    tables: list[TableCoverage]
    builtins: list[BuiltinCoverage]
    suggestions: list[Suggestion]
    # orders in another currency without a rate, skipped by money traits (None: none, or no rates table)
    missing_rates: MissingRates | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.missing_rates is not None:  # what to do about it, in the words of the run's warning
            out["missing_rates"]["message"] = self.missing_rates.message()
        return out

    def cannot_run(self) -> list[BuiltinCoverage]:
        return [b for b in self.builtins if not b.can_run]


def _q(table: str, schema: str = "main") -> str:
    return f'{CATALOG}.{schema}."{table}"'


class _Store:
    """What coverage needs to know about the store: tables, columns, model attribute columns."""

    def __init__(self, ws: Context) -> None:
        self.store = ws.store
        self.con = ws.store.cursor()
        self.tables = {name: self.store.columns(name) for name in TABLES if self.store.table_exists(name)}
        self.model_columns: dict[str, str] = {}  # attribute -> model table
        for table in model_tables(self.store):
            for column in self.store.columns(table, schema=META):
                if column != "customer_id":
                    self.model_columns.setdefault(column, table)

    def scalar(self, sql: str) -> int:
        row = self.con.execute(sql).fetchone()
        return int(row[0] or 0) if row else 0


def _customer_base(db: _Store) -> tuple[str, str]:
    """SQL of the customer ids to measure against, and where they come from."""
    if "customers" in db.tables:
        return (
            f"SELECT DISTINCT customer_id FROM {_q('customers')} WHERE customer_id IS NOT NULL",
            "customers",
        )
    facts = [t for t in FACT_TABLES if t in db.tables]
    if not facts:
        return "SELECT NULL::VARCHAR AS customer_id WHERE false", "no data"
    union = " UNION ".join(f"SELECT customer_id FROM {_q(t)} WHERE customer_id IS NOT NULL" for t in facts)
    return f"SELECT DISTINCT customer_id FROM ({union})", "ids seen in " + ", ".join(facts)


def _has_value(db: _Store, attribute: str) -> str | None:
    """SQL condition on `b.customer_id` that the customer has a value for `attribute` (None: impossible)."""
    customers = db.tables.get("customers", {})
    if attribute in customers:
        return (
            f"EXISTS (SELECT 1 FROM {_q('customers')} c WHERE c.customer_id = b.customer_id "
            f"AND c.{ident(attribute)} IS NOT NULL)"
        )
    if attribute in db.model_columns:
        table = db.model_columns[attribute]
        return (
            f"EXISTS (SELECT 1 FROM {_q(table, META)} m WHERE m.customer_id = b.customer_id "
            f"AND m.{ident(attribute)} IS NOT NULL)"
        )
    return None


def _has_rows(db: _Store, table: str, columns: list[str]) -> str | None:
    """SQL condition that the customer has a row in `table` with the given optional columns filled."""
    if table not in db.tables:
        return None
    spec = TABLES[table]
    checks = "".join(
        f" AND t.{ident(c)} IS NOT NULL" for c in columns if c in db.tables[table] and c not in spec.required
    )
    return f"EXISTS (SELECT 1 FROM {_q(table)} t WHERE t.customer_id = b.customer_id{checks})"


def _business_sql(db: _Store) -> str:
    """SQL condition on `b.customer_id`: a business customer (customer_type when present, else a company)."""
    customers = db.tables.get("customers", {})
    if "customer_type" in customers:
        kinds = ", ".join(f"'{k}'" for k in BUSINESS_TYPES)
        test = f"lower(trim(c.customer_type)) IN ({kinds})"
    elif "company" in customers:
        test = "c.company IS NOT NULL"
    else:
        return "false"
    return f"EXISTS (SELECT 1 FROM {_q('customers')} c WHERE c.customer_id = b.customer_id AND {test})"


def _missing(db: _Store, requires: dict[str, list[str]]) -> list[str]:
    """Absent tables and columns, as the loader sees them (model columns count as customer attributes)."""
    missing: list[str] = []
    for table, columns in requires.items():
        if table == "customers":
            present = db.tables.get("customers", {})
            if "customers" not in db.tables:
                missing.append("customers")
            missing += [
                f"customers.{c}"
                for c in columns
                if c not in present and c not in db.model_columns and c != "customer_id"
            ]
            continue
        if table not in db.tables:
            missing.append(table)
            continue
        missing += [f"{table}.{c}" for c in columns if c not in db.tables[table]]
    return missing


def describe_missing(missing: list[str]) -> str:
    """`table 'events' is absent; missing column(s) customers.birth_date`."""
    tables = [m for m in missing if "." not in m]
    columns = [m for m in missing if "." in m]
    parts = [f"table '{t}' is absent" for t in tables]
    if columns:
        parts.append("missing column(s) " + ", ".join(columns))
    return "; ".join(parts)


def _question(item: str, builtins: list[str]) -> str:
    table, _, column = item.partition(".")
    what = ", ".join(builtins)
    if not column:
        return f"{TABLE_HINTS.get(table, f'load the {table} table')} to unlock {what}"
    if table == "customers":
        ask = QUESTIONS.get(column, f"collect the customer attribute {column}")
        return f"{ask} to unlock {what}"
    return f"include the column {column} in the {table} data to unlock {what}"


def requirements(ws: Context, builtins: list[str] | None = None) -> dict[str, list[str]]:
    """Built-in -> what it lacks in this workspace (empty when it can run); no counting, so it is fast."""
    db = _Store(ws)
    return {name: _missing(db, load_builtin(name).requires) for name in builtins or builtin_names()}


def coverage(ws: Context, builtins: list[str] | None = None) -> CoverageReport:
    """Measure the workspace's data coverage.

    Parameters
    ----------
    ws:
        The workspace.
    builtins:
        Built-ins to assess; default every shipped built-in.
    """
    db = _Store(ws)
    base_sql, base_source = _customer_base(db)
    con = db.con
    con.execute(f"CREATE OR REPLACE TEMP TABLE coverage_base AS {base_sql}")
    try:
        total = db.scalar("SELECT count(*) FROM coverage_base")

        def count_where(condition: str | None) -> int:
            if condition is None:
                return 0
            return db.scalar(f"SELECT count(*) FROM coverage_base b WHERE {condition}")

        def share(n: int, of: int | None = None) -> float:
            of = total if of is None else of
            return round(n / of, 4) if of else 0.0

        business = _business_sql(db)
        businesses = count_where(business)

        attributes: list[AttributeCoverage] = []
        present_customer_columns = [c for c in db.tables.get("customers", {}) if c != "customer_id"]
        names = [c for c in CUSTOMERS.columns if c != "customer_id"]
        names += [c for c in present_customer_columns if c not in names]
        # one scan of customers for all its columns (customer_id is its key, so count(col) counts customers)
        filled: dict[str, int] = {}
        if present_customer_columns:
            row = con.execute(
                "SELECT "
                + ", ".join(
                    f"count(DISTINCT CASE WHEN {ident(c)} IS NOT NULL THEN customer_id END)"
                    for c in present_customer_columns
                )
                + f" FROM {_q('customers')} WHERE customer_id IS NOT NULL"
            ).fetchone()
            filled = dict(zip(present_customer_columns, row or (), strict=False))
        for name in names:
            n = (
                int(filled.get(name) or 0)
                if name in filled or name not in db.model_columns
                else count_where(_has_value(db, name))
            )
            present = name in db.tables.get("customers", {})
            if name in BUSINESS_ATTRIBUTES:  # measured among business customers: B2C ones have no company
                n = count_where(f"{business} AND {_has_value(db, name) or 'false'}") if present else 0
                attributes.append(AttributeCoverage(name, present, n, share(n, businesses), base=businesses))
            else:
                attributes.append(AttributeCoverage(name, present, n, share(n), base=total))
        for name, table in db.model_columns.items():
            if name in names:
                continue
            n = count_where(_has_value(db, name))
            attributes.append(
                AttributeCoverage(name, True, n, share(n), source=f"{META}.{table}", base=total)
            )

        tables: list[TableCoverage] = []
        for name in TABLES:
            if name == "customers":
                continue
            if name in db.tables:
                rows = db.scalar(f"SELECT count(*) FROM {_q(name)}")
                n = count_where(_has_rows(db, name, [])) if name in FACT_TABLES else 0
                tables.append(TableCoverage(name, True, rows, n, share(n)))
            else:
                tables.append(TableCoverage(name, False, 0, 0, 0.0))

        results: list[BuiltinCoverage] = []
        for name in builtins or builtin_names():
            builtin = load_builtin(name)
            missing = _missing(db, builtin.requires)
            n, base = 0, total
            if not missing:
                conditions: list[str] = []
                attributes_needed = [c for c in builtin.requires.get("customers", []) if c != "customer_id"]
                conditions += [c for c in (_has_value(db, a) for a in attributes_needed) if c]
                facts = [
                    c
                    for c in (
                        _has_rows(db, t, cols) for t, cols in builtin.requires.items() if t != "customers"
                    )
                    if c
                ]
                if facts:  # a row in any of its tables: no ticket is no complaint, not missing data
                    conditions.append("(" + " OR ".join(facts) + ")")
                if BUSINESS_ATTRIBUTES & set(attributes_needed):
                    conditions.append(business)
                    base = businesses
                n = count_where(" AND ".join(conditions) or "true")
            results.append(
                BuiltinCoverage(
                    name,
                    builtin.title,
                    not missing,
                    missing,
                    describe_missing(missing),
                    n,
                    share(n, base),
                    builtin.requires,
                    base,
                )
            )
        suggestions = _suggestions(results, attributes, total)
    finally:
        con.execute("DROP TABLE IF EXISTS coverage_base")
    rates = missing_rates(ws.store, ws.config.currency)
    return CoverageReport(total, base_source, attributes, tables, results, suggestions, rates)


def _action_key(item: str) -> str:
    """Items that one action provides share a key (the same question to ask)."""
    table, _, column = item.partition(".")
    if table == "customers" and column in QUESTIONS and "segmentum clv" in QUESTIONS[column]:
        return QUESTIONS[column]
    return item


def _suggestions(
    results: list[BuiltinCoverage], attributes: list[AttributeCoverage], total: int
) -> list[Suggestion]:
    # items collected by one action (clv_12m and p_alive both come from fitting the CLV model) are one suggestion
    groups: dict[str, list[str]] = {}
    for result in results:
        for item in result.missing:
            key = _action_key(item)
            if item not in groups.setdefault(key, []):
                groups[key].append(item)
    by_attribute = {a.attribute: a for a in attributes}
    out: list[Suggestion] = []
    for items in groups.values():
        needed_by = sorted({r.builtin for r in results if set(items) & set(r.missing)})
        # a built-in is unlocked when this is all it lacks
        unlocks = sum(1 for r in results if r.missing and set(r.missing) <= set(items))
        question = _question(items[0], needed_by)
        still = sorted({m for r in results if set(items) & set(r.missing) for m in r.missing} - set(items))
        if still:
            shown = ", ".join(still[:6]) + (", ..." if len(still) > 6 else "")
            question += f" (together with {shown})"
        out.append(Suggestion(", ".join(items), "missing", needed_by, unlocks, total, question))
    # attributes a runnable built-in uses but that few customers have
    sparse: dict[str, list[str]] = {}
    for result in results:
        if not result.can_run:
            continue
        for column in result.requires.get("customers", []):
            attribute = by_attribute.get(column)
            if attribute is not None and attribute.share < SPARSE_SHARE:
                sparse.setdefault(column, []).append(result.builtin)
    for column, builtins in sparse.items():
        attribute = by_attribute[column]
        item = f"customers.{column}"
        out.append(
            Suggestion(
                item,
                "sparse",
                sorted(builtins),
                0,
                (total if attribute.base is None else attribute.base) - attribute.customers,
                _question(item, sorted(builtins)).replace(" to unlock ", " to complete "),
            )
        )
    out.sort(key=lambda s: (s.kind != "missing", -s.unlocks, -len(s.builtins), -s.customers_missing, s.item))
    return out
