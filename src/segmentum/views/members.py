"""Members of a segment in a run: the one reading that `segmentum members`, `GET /v1/segments/{name}/members`, the
dashboard's segment page and CSV, and the `export` sink share (files are written by `actions/sinks/export.py`).

A member row is the customer's id, optionally the segment's name (useful for `segmentation.*`), the run's traits
and the customer's attributes. Filters are expressions of the definition language over those traits and
attributes (`country = 'UK' and revenue_365d > 100`; `compile/filters.py`), compiled to Ibis like definitions,
so user text never becomes SQL. The query runs in the store: paging a segment of a million stays quick.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmentum.compile.filters import compile_filters, filter_names
from segmentum.context import Context
from segmentum.errors import NotFoundError
from segmentum.sql import ident, literal
from segmentum.store import META
from segmentum.store import snapshots as snapshot
from segmentum.store.catalog import model_tables
from segmentum.store.snapshots import RunInfo
from segmentum.views.catalog import check_segment
from segmentum.views.frames import records


@dataclass(frozen=True)
class MemberPage:
    """One page of a segment's members (`rows`), and how many match the filters in all (`total`)."""

    name: str
    run: RunInfo
    total: int
    limit: int | None
    offset: int
    rows: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "run_id": self.run.run_id,
            "as_of": self.run.as_of,
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            "members": records(self.rows),
        }


def members(
    ctx: Context,
    name: str,
    *,
    run_id: int | None = None,
    filters: Sequence[str] = (),
    search: str = "",
    attributes: bool | Sequence[str] = True,
    traits: bool | Sequence[str] = False,
    segment: bool = False,
    limit: int | None = None,
    offset: int = 0,
    scores: Sequence[str] = (),
    sort: str | None = None,
    descending: bool = False,
) -> MemberPage:
    """Members of `name` in a complete run (default: the newest batch run), ordered by customer id.

    Parameters
    ----------
    name:
        A standalone segment, `segmentation.segment`, or `segmentation.*` (every segment of it).
    filters:
        Expressions of the definition language over the run's traits and the customer's attributes (model
        outputs included), all of which must hold; a bad one raises `FilterError` with its position.
    search:
        Keep customers whose id or any attribute contains this text (case-insensitive).
    attributes:
        Columns of `customers` to include: all (True), none (False), or these names (those present).
    traits, segment:
        Include the run's traits (all: True, or these names, those present, in this order); include the
        membership's segment name as column `segment`.
    limit, offset:
        One page of the rows; `total` counts them all.
    scores:
        Model outputs to include (clv_12m, p_alive, churn risk...: columns of the fitted `model_*` tables),
        after the attributes; a name no fitted model has is left out.
    sort, descending:
        Order by this shown column (unknown values last), then by customer id; default: customer id.

    Rows always start with `customer_id` (an empty segment gives the columns and no row).
    """
    store = ctx.store
    run = snapshot.resolve_run_of(store, name, run_id)
    check_segment(ctx, name, run_id=run.run_id)
    cur = store.cursor()
    trait_table = snapshot.traits_table(run.run_id)
    trait_cols = [
        c
        for c in store.columns(trait_table, schema=META)
        if c != "customer_id" and not c.startswith("__")  # hidden population columns are not traits
    ]
    # a trait and an attribute of the same name: the trait, which the run computed, wins
    attr_cols = [c for c in store.columns("customers") if c != "customer_id" and c not in trait_cols]
    needle = search.strip().lower()
    if attributes is True:
        shown_attrs = attr_cols
    elif attributes is False:
        shown_attrs = []
    else:
        shown_attrs = [c for c in attributes if c in attr_cols]
    score_sources = _score_sources(ctx, [c for c in scores if c not in trait_cols and c not in attr_cols])
    if traits is True or traits is False:
        shown_traits = trait_cols if traits else []
    else:
        shown_traits = [c for c in traits if c in trait_cols]
    columns = [
        "customer_id",
        *(["segment"] if segment else []),
        *shown_traits,
        *shown_attrs,
        *(c for _, cols in score_sources for c in cols),
    ]
    if sort is not None and sort not in columns:
        raise NotFoundError(
            f"cannot sort the members of {name} by {sort!r}: not a shown column ({', '.join(columns)})"
        )
    # customer_id alone orders deterministically (a customer is in one segment of a segmentation). Without a
    # filter or a search the members are counted on the memberships alone: traits, attributes and scores have
    # one row per customer, so joining them changes no count (at 1M customers 0.01 s instead of 0.45 s)
    where = _plain_where(run.run_id, name)
    plain = not filters and not needle
    members_count = f"SELECT count(*) FROM {META}.memberships m WHERE {where}"
    paged = limit is not None or bool(offset)
    if plain and sort in (None, "customer_id") and paged:
        # a page in id order (the dashboard's, the API's): paged on the memberships, then only the page's
        # customers joined with the columns shown (0.1 s instead of 0.7 s at 1M, which joined every member)
        order = f"customer_id {'DESC' if sort and descending else 'ASC'}"
        page_keys = (
            f"SELECT customer_id, name FROM {META}.memberships m WHERE {where} ORDER BY {order} "
            f"LIMIT {int(limit if limit is not None else 2**62)} OFFSET {int(offset)}"
        )
        page = _plain(
            cur, run.run_id, name, "", columns, trait_table, trait_cols, attr_cols, score_sources, page_keys
        ).order(order)
        total_row = cur.sql(members_count).fetchone()
    else:
        if filters:
            rel = _filtered(
                ctx,
                cur,
                run,
                name,
                filters,
                needle,
                columns,
                trait_table,
                trait_cols,
                attr_cols,
                score_sources,
            )
        else:
            # an export's and a search's case: plain SQL, as building and compiling the Ibis joins takes longer
            # (about half a second) than the query itself; the same rows (tests/views)
            rel = _plain(
                cur, run.run_id, name, needle, columns, trait_table, trait_cols, attr_cols, score_sources
            )
        total_row = (cur.sql(members_count) if plain else rel.aggregate("count(*)")).fetchone()
        page = rel.order(
            f"{ident(sort)} {'DESC' if descending else 'ASC'} NULLS LAST, customer_id"
            if sort
            else "customer_id"
        )
        if paged:
            page = page.limit(limit if limit is not None else 2**62, offset=offset)
    # through Arrow: money stays exact (Decimal values)
    frame = page.to_arrow_table().to_pandas()
    return MemberPage(name, run, int(total_row[0]) if total_row else 0, limit, offset, frame)


def _plain_where(run_id: int, name: str) -> str:
    """The condition on `memberships m` of the members of `name` (or of every segment of `segmentation.*`)."""
    if name.endswith(".*"):
        return f"m.run_id = {int(run_id)} AND m.segmentation = {literal(name[:-2])}"
    return f"m.run_id = {int(run_id)} AND m.name = {literal(name)}"


def _plain(
    cur: Any,
    run_id: int,
    name: str,
    needle: str,
    columns: list[str],
    trait_table: str,
    trait_cols: list[str],
    attr_cols: list[str],
    score_sources: Sequence[tuple[str, list[str]]] = (),
    page_keys: str | None = None,
) -> Any:
    """The members without filters, as one SQL query. Values are quoted literals, not parameters: DuckDB
    pushes constant filters into the scan of `memberships` (every run's rows), not parameters of a relation.
    `page_keys`: a query of (customer_id, name) of the members wanted (one page), read instead of them all."""
    where = _plain_where(run_id, name)
    if page_keys is not None:
        members_from, where = f"({page_keys}) m", "true"
    else:
        members_from = f"{META}.memberships m"
    joins = ""
    source = {"customer_id": "m.customer_id", "segment": "m.name"}
    # only the tables of the columns shown (or searched) are joined: each has one row per customer
    if set(trait_cols) & set(columns):
        joins += f" LEFT JOIN {META}.{ident(trait_table)} t ON m.customer_id = t.customer_id"
        source |= {c: f"t.{ident(c)}" for c in trait_cols}
    if needle or set(attr_cols) & set(columns):
        joins += " LEFT JOIN main.customers c ON m.customer_id = c.customer_id"
        source |= {c: f"c.{ident(c)}" for c in attr_cols}
    for i, (table, cols) in enumerate(score_sources):
        joins += f" LEFT JOIN {META}.{ident(table)} s{i} ON m.customer_id = s{i}.customer_id"
        source |= {c: f"s{i}.{ident(c)}" for c in cols}
    if needle:  # as the filtered path: the id and every attribute as text, lower case, containing the needle
        text = ", ".join(
            ["m.customer_id", *(f"coalesce(CAST(c.{ident(c)} AS VARCHAR), '')" for c in attr_cols)]
        )
        where += f" AND contains(lower(concat_ws(' ', {text})), {literal(needle)})"
    select = ", ".join(f"{source[c]} AS {ident(c)}" for c in columns)
    return cur.sql(f"SELECT {select} FROM {members_from}{joins} WHERE {where}")


def _filtered(
    ctx: Context,
    cur: Any,
    run: RunInfo,
    name: str,
    filters: Sequence[str],
    needle: str,
    columns: list[str],
    trait_table: str,
    trait_cols: list[str],
    attr_cols: list[str],
    score_sources: Sequence[tuple[str, list[str]]] = (),
) -> Any:
    """The members that pass `filters` (the definition language, compiled to Ibis like definitions)."""
    store = ctx.store
    backend = ibis.duckdb.from_connection(cur)
    memberships = backend.table("memberships", database=META)
    joined: list[tuple[ir.Table, list[str]]] = []
    if trait_cols:
        joined.append((backend.table(trait_table, database=META), trait_cols))
    if attr_cols:
        joined.append((backend.table("customers", database="main"), attr_cols))
    # model outputs are attributes in definitions, so filters may use them too (only what they name is joined)
    joined.extend((backend.table(table, database=META), cols) for table, cols in score_sources)
    scored = {c for _, cols in score_sources for c in cols}
    missing = filter_names(filters) - {"customer_id", "as_of", *trait_cols, *attr_cols, *scored}
    for table in model_tables(store) if missing else []:
        cols = [c for c in store.columns(table, schema=META) if c in missing]
        if cols:
            joined.append((backend.table(table, database=META), cols))
            missing -= set(cols)
    full = _members_of(memberships, run.run_id, name)
    for table, cols in joined:
        full = full.left_join(table, full.customer_id == table.customer_id).select(
            *[full[c] for c in full.columns], *[table[c] for c in cols]
        )
    condition = compile_filters(
        full, list(filters), as_of=run.as_of, segment=_segment_lookup(ctx, memberships, run, full)
    )
    if needle:
        text = ibis.literal(" ").join(
            [full.customer_id, *(full[c].cast("string").fill_null("") for c in attr_cols)]
        )
        condition = condition & text.lower().contains(needle)
    matching = full.filter(condition)
    return cur.sql(str(ibis.to_sql(matching.select(*columns), dialect="duckdb")))


def _score_sources(ctx: Context, names: Sequence[str]) -> list[tuple[str, list[str]]]:
    """(model table, its columns among `names`) for the model outputs asked for, each name from one table."""
    wanted = [n for n in dict.fromkeys(names) if n != "customer_id"]
    sources: list[tuple[str, list[str]]] = []
    for table in model_tables(ctx.store) if wanted else []:
        present = set(ctx.store.columns(table, schema=META))
        cols = [c for c in wanted if c in present]
        if cols:
            sources.append((table, cols))
            wanted = [c for c in wanted if c not in cols]
    return sources


def _members_of(memberships: ir.Table, run_id: int, name: str) -> ir.Table:
    """(customer_id, segment) of the members of `name` (or of every segment of `segmentation.*`) in a run."""
    m = memberships
    if name.endswith(".*"):
        condition = (m.run_id == run_id) & (m.segmentation == name[:-2])
    else:
        condition = (m.run_id == run_id) & (m.name == name)
    return m.filter(condition).select("customer_id", segment=m.name)


def _segment_lookup(ctx: Context, memberships: ir.Table, run: RunInfo, rows: ir.Table) -> Any:
    """`in_segment('x')` in a filter: the customer is a member of x in the same run."""

    def lookup(name: str) -> ir.BooleanValue | None:
        try:
            check_segment(ctx, name, run_id=run.run_id)
        except NotFoundError:
            return None
        return rows.customer_id.isin(_members_of(memberships, run.run_id, name).customer_id)

    return lookup
