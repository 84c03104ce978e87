"""One customer: the 360 that `segmentum customer`, `GET /v1/customers/{id}` and the dashboard's customer page
show, and the customer search.

The customer's state **now** is their row in the newest complete run that contains them, batch or real-time
(`segmentum.store.snapshots.current_memberships`): a posted event shows up here within seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segmentum.compile.rules import money_sql
from segmentum.context import Context
from segmentum.errors import NotFoundError
from segmentum.sql import ident as quote
from segmentum.store import snapshots as snapshot
from segmentum.store.customers import existing_customers
from segmentum.views.frames import records
from segmentum.views.models import model_outputs
from segmentum.views.tasks import tasks as task_list

if TYPE_CHECKING:
    from segmentum.runs.realtime import LiveState

HISTORY_RUNS = 100
SEARCH_LIMIT = 50


def customer(ctx: Context, customer_id: str, *, history_runs: int = HISTORY_RUNS) -> dict[str, Any]:
    """The customer's 360.

    Keys: `customer_id`; `attributes` (their `customers` row); `segments` (names they are in now, sorted);
    `run` (the run that holds their current state); `traits` (of that run); `models` (model name -> outputs);
    `history` (per complete run holding them, oldest first, the last `history_runs`: run_id, as_of, kind,
    segments); `tasks` (theirs, soonest due first). NotFoundError when neither the store nor any run knows them.
    """
    store = ctx.store
    attributes: dict[str, Any] | None = None
    if store.table_exists("customers"):
        df = (
            store.cursor()
            .execute("SELECT * FROM main.customers WHERE customer_id = ? LIMIT 1", [customer_id])
            .df()
        )
        if len(df):
            attributes = records(df)[0]
    current = snapshot.current_memberships(store, customer_id)
    if attributes is None and current.empty:
        raise NotFoundError(
            f"no customer '{customer_id}' in the store or in any complete run; check the id "
            "(ids are text compared exactly)"
        )
    run_info = None
    traits: dict[str, Any] = {}
    for attempt in range(2):
        if current.empty:
            break
        run_id = int(current["run_id"].iloc[0])
        run_info = snapshot.get_run(store, run_id).to_dict()
        try:
            rows = records(snapshot.traits(store, run_id, [customer_id]))
        except NotFoundError:
            if attempt == 0 and run_info["kind"] == "realtime":
                # a newer micro-batch re-evaluated them and this run's traits were folded (runs.retention)
                # between the two reads: read the state now again, once
                current = snapshot.current_memberships(store, customer_id)
                continue
            rows = []  # a run without a traits table (written by hand, or a failed one)
        traits = {k: v for k, v in rows[0].items() if k != "customer_id"} if rows else {}
        break
    hist = snapshot.history(store, customer_id)
    # in time order (the store's order: as_of, then run id), so "the last N runs" are the newest by as_of
    history: list[dict[str, Any]] = [
        {"run_id": int(rid), "as_of": as_of, "kind": kind, "segments": list(group["name"])}
        for (rid, as_of, kind), group in hist.groupby(["run_id", "as_of", "kind"], sort=False)
    ]
    return {
        "customer_id": customer_id,
        "attributes": attributes or {"customer_id": customer_id},
        "segments": sorted(current["name"].tolist()) if not current.empty else [],
        "run": run_info,
        "traits": traits,
        "models": model_outputs(ctx, customer_id),
        "history": history[-history_runs:] if history_runs else [],
        "tasks": task_list(ctx, customer_id=customer_id)["tasks"],
    }


def segments_in_replica(live: LiveState | None, customer_id: str) -> dict[str, Any] | None:
    """`segments_now` from the in-process replica alone (memory, no store read: what the server answers
    without leaving its event loop), or None when the replica does not hold the customer."""
    entry = live.get(customer_id) if live is not None else None
    if entry is None:
        return None
    return {
        "customer_id": customer_id,
        "segments": list(entry.segments),
        "run_id": entry.run_id,
        "as_of": entry.as_of,
    }


def segments_now(ctx: Context, customer_id: str, *, live: LiveState | None = None) -> dict[str, Any]:
    """The customer's segments now: `customer_id`, `segments` (sorted), `run_id` and `as_of` of the run that
    holds their state (None before any run holds them). The lookup of `GET /v1/customers/{id}/segments`:
    from `live` (the server's in-process replica, refreshed by each micro-batch) when it holds the customer,
    else one store read (`snapshots.current_memberships`). A loaded replica holds every customer with a state
    now, so one it lacks is in no segment, and only whether they exist is read: a client polling for a new
    customer's first segment (not yet evaluated) cost the store read each time, 4.4 ms of CPU at 1M customers
    against 0.3 ms for the look-up of the id (BENCHMARKS.md "The issue's store").
    NotFoundError when neither the store nor any run knows them."""
    held = segments_in_replica(live, customer_id)
    if held is not None:
        return held
    store = ctx.store
    in_no_segment = live is not None and live.ready
    current = None if in_no_segment else snapshot.current_memberships(store, customer_id)
    if current is None or current.empty:
        known = store.table_exists("customers") and bool(existing_customers(store.cursor(), [customer_id]))
        if not known:
            raise NotFoundError(
                f"no customer '{customer_id}' in the store or in any complete run; check the id "
                "(ids are text compared exactly)"
            )
        return {"customer_id": customer_id, "segments": [], "run_id": None, "as_of": None}
    run_id = int(current["run_id"].iloc[0])
    return {
        "customer_id": customer_id,
        "segments": sorted(current["name"].tolist()),
        "run_id": run_id,
        "as_of": snapshot.get_run(store, run_id).as_of,
    }


def _matching(ctx: Context, needle: str) -> tuple[str, list[str]]:
    """(WHERE, params) of the customers whose text attributes contain `needle` (case-insensitive, literal)."""
    text_columns = [c for c, kind in ctx.store.columns("customers").items() if kind == "VARCHAR"]
    # the text is a literal, not a pattern: % and _ in it match themselves
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    where = " OR ".join(f"{quote(c)} ILIKE ? ESCAPE '\\'" for c in text_columns)
    return where, [pattern] * len(text_columns)


def search(ctx: Context, text: str, *, limit: int = SEARCH_LIMIT) -> tuple[bool, list[str]]:
    """(exact, ids): `exact` when `text` is a customer id; else the ids of customers whose text attributes
    contain it (case-insensitive), at most `limit`, sorted."""
    needle = text.strip()
    if not needle or not ctx.store.table_exists("customers"):
        return False, []
    cur = ctx.store.cursor()
    if cur.execute("SELECT 1 FROM main.customers WHERE customer_id = ?", [needle]).fetchone() is not None:
        return True, [needle]
    where, params = _matching(ctx, needle)
    rows = cur.execute(
        f"SELECT customer_id FROM main.customers WHERE {where} ORDER BY customer_id LIMIT {int(limit)}",
        params,
    ).fetchall()
    return False, [r[0] for r in rows]


def search_total(ctx: Context, text: str) -> int:
    """How many customers `search` finds for `text` when not limited."""
    needle = text.strip()
    if not needle or not ctx.store.table_exists("customers"):
        return 0
    where, params = _matching(ctx, needle)
    row = ctx.store.cursor().execute(f"SELECT count(*) FROM main.customers WHERE {where}", params).fetchone()
    return int(row[0]) if row else 0


NAME_COLUMNS = ("name", "full_name", "company", "company_name", "first_name")


def cards(ctx: Context, ids: list[str]) -> list[dict[str, Any]]:
    """Who these customers are, in the order given: customer_id, name and email (the first of NAME_COLUMNS
    and `email` that the data has; None otherwise), and `segments`: the names they are in in the latest run."""
    if not ids:
        return []
    store = ctx.store
    columns = store.columns("customers") if store.table_exists("customers") else {}
    name_col = next((c for c in NAME_COLUMNS if c in columns), None)
    email_col = "email" if "email" in columns else None
    found: dict[str, tuple[Any, Any]] = {}
    if columns:
        select = ", ".join(
            [
                "customer_id",
                quote(name_col) if name_col else "NULL",
                quote(email_col) if email_col else "NULL",
            ]
        )
        for cid, name, email in store.query(
            f"SELECT {select} FROM main.customers WHERE list_contains(?, customer_id)", [ids]
        ):
            found[cid] = (name, email)
    run = snapshot.latest_run(store)
    segments: dict[str, list[str]] = {}
    if run is not None:
        for cid, names in store.query(
            """SELECT customer_id, list(name ORDER BY name) FROM segmentum.memberships
                WHERE run_id = ? AND list_contains(?, customer_id) GROUP BY customer_id""",
            [run.run_id, ids],
        ):
            segments[cid] = list(names)
    return [
        {
            "customer_id": cid,
            "name": found.get(cid, (None, None))[0],
            "email": found.get(cid, (None, None))[1],
            "segments": segments.get(cid, []),
        }
        for cid in ids
    ]


def purchases(ctx: Context, customer_id: str) -> dict[str, Any]:
    """The customer's value so far: revenue and orders of their qualifying orders, first and last order."""
    empty = {"revenue": None, "orders": 0, "first_order_at": None, "last_order_at": None}
    store = ctx.store
    if not store.table_exists("orders") or not {"customer_id", "amount", "ordered_at"} <= set(
        store.columns("orders")
    ):
        return empty
    orders = money_sql(store, ctx.config.currency)  # revenue in the workspace currency
    row = store.query(
        f"""SELECT sum(amount), count(*), min(ordered_at), max(ordered_at) FROM {orders.relation}
            WHERE customer_id = ? AND {orders.qualifying()}""",
        [customer_id],
    )
    if not row:
        return empty
    revenue, orders, first, last = row[0]
    return {"revenue": revenue, "orders": int(orders or 0), "first_order_at": first, "last_order_at": last}
