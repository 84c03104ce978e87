"""Snapshots written by the run engine, and the helpers that read them.

Contract (other modules rely on it):

- `segmentum.runs`: one row per run; readers only look at runs with status 'complete'.
- `segmentum.memberships(run_id, customer_id, segmentation, segment, name)`: in every run each customer is
  in exactly one segment of each segmentation (segmentation NULL for standalone segments).
- `segmentum.traits_<run_id>`: one wide table per run, `customer_id` plus one column per trait, plus hidden
  columns whose names start with `__` (`__pop_HASH`: population values such as percent_rank used inside
  segment conditions, kept for the real-time path); `traits()` leaves them out unless asked.

A realtime run (kind 'realtime') holds only the customers it re-evaluated; a customer's current state is
their row in the newest complete run that contains them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from segmentum.errors import NotFoundError
from segmentum.store.connection import META, Store
from segmentum.store.tables import traits_table

__all__ = [
    "RunInfo",
    "current_memberships",
    "get_run",
    "history",
    "latest_run",
    "list_runs",
    "memberships",
    "resolve_run",
    "segment_sizes",
    "traits",
    "traits_table",
]


@dataclass(frozen=True)
class RunInfo:
    run_id: int
    as_of: datetime
    started_at: datetime | None
    finished_at: datetime | None
    status: str
    engine: str | None
    kind: str
    definitions_hash: str | None
    definition_hashes: dict[str, str]
    customers: int | None
    message: str | None

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "as_of": self.as_of,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": self.duration_s,
            "status": self.status,
            "engine": self.engine,
            "kind": self.kind,
            "definitions_hash": self.definitions_hash,
            "customers": self.customers,
            "message": self.message,
        }


_RUN_COLUMNS = (
    "run_id, as_of, started_at, finished_at, status, engine, kind, definitions_hash, "
    "definition_hashes, customers, message"
)


def _run_info(row: tuple[Any, ...]) -> RunInfo:
    hashes = row[8]
    if isinstance(hashes, str):
        hashes = json.loads(hashes) if hashes else {}
    return RunInfo(
        int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], row[7], hashes or {}, row[9], row[10]
    )


def latest_run(store: Store, *, status: str | None = "complete", kind: str | None = None) -> RunInfo | None:
    """The newest run (by run id) with this status (None: any) and kind (None: any)."""
    sql = f"SELECT {_RUN_COLUMNS} FROM {META}.runs WHERE 1 = 1"
    params: list[Any] = []
    if status is not None:
        sql += " AND status = ?"
        params.append(status)
    if kind is not None:
        sql += " AND kind = ?"
        params.append(kind)
    rows = store.query(sql + " ORDER BY run_id DESC LIMIT 1", params)
    return _run_info(rows[0]) if rows else None


def get_run(store: Store, run_id: int) -> RunInfo:
    """A run by id; NotFoundError when there is none."""
    rows = store.query(f"SELECT {_RUN_COLUMNS} FROM {META}.runs WHERE run_id = ?", [int(run_id)])
    if not rows:
        raise NotFoundError(f"no run {run_id}; `segmentum runs` lists the runs")
    return _run_info(rows[0])


def resolve_run(store: Store, run_id: int | None = None) -> RunInfo:
    """`run_id` when given (it must be complete), else the newest complete batch run."""
    if run_id is not None:
        info = get_run(store, run_id)
        if info.status != "complete":
            raise NotFoundError(
                f"run {run_id} is {info.status}, not complete; `segmentum runs` lists the runs"
            )
        return info
    info = latest_run(store, kind="batch")
    if info is None:
        raise NotFoundError("no complete run yet; compute one with `segmentum run`")
    return info


def list_runs(store: Store) -> list[RunInfo]:
    """Every run, newest first."""
    return [_run_info(r) for r in store.query(f"SELECT {_RUN_COLUMNS} FROM {META}.runs ORDER BY run_id DESC")]


def memberships(store: Store, run_id: int, name: str | None = None) -> pd.DataFrame:
    """Memberships of a run: customer_id, segmentation, segment, name (optionally one segment's)."""
    sql = f"SELECT customer_id, segmentation, segment, name FROM {META}.memberships WHERE run_id = ?"
    params: list[Any] = [int(run_id)]
    if name is not None:
        sql += " AND name = ?"
        params.append(name)
    return store.cursor().execute(sql + " ORDER BY name, customer_id", params).df()


def current_memberships(store: Store, customer_id: str) -> pd.DataFrame:
    """The customer's memberships in the newest complete run (batch or realtime) that contains them."""
    return (
        store.cursor()
        .execute(
            f"""SELECT m.run_id, m.customer_id, m.segmentation, m.segment, m.name FROM {META}.memberships m
            WHERE m.customer_id = ? AND m.run_id = (
                SELECT max(m2.run_id) FROM {META}.memberships m2 JOIN {META}.runs r USING (run_id)
                WHERE r.status = 'complete' AND m2.customer_id = ?)
            ORDER BY m.name""",
            [str(customer_id), str(customer_id)],
        )
        .df()
    )


def history(store: Store, customer_id: str) -> pd.DataFrame:
    """Every complete run's memberships of one customer: run_id, as_of, kind, name."""
    return (
        store.cursor()
        .execute(
            f"""SELECT m.run_id, r.as_of, r.kind, m.segmentation, m.segment, m.name FROM {META}.memberships m
            JOIN {META}.runs r USING (run_id) WHERE r.status = 'complete' AND m.customer_id = ?
            ORDER BY m.run_id, m.name""",
            [str(customer_id)],
        )
        .df()
    )


def traits(
    store: Store, run_id: int, customer_ids: list[str] | None = None, *, hidden: bool = False
) -> pd.DataFrame:
    """The traits of a run (customer_id plus one column per trait), optionally for some customers.

    Money stays exact (Decimal values). The table also holds hidden columns starting with `__` (population
    values of conditions, for the real-time path); `hidden=True` returns them.
    """
    table = traits_table(run_id)
    if not store.table_exists(table, schema=META):
        raise NotFoundError(f"run {run_id} has no traits table; `segmentum runs` lists the runs")
    columns = [c for c in store.columns(table, schema=META) if hidden or not c.startswith("__")]
    select = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    sql = f"SELECT {select} FROM {META}.{table}"
    params: list[Any] = []
    if customer_ids is not None:
        sql += " WHERE customer_id IN (SELECT unnest(?::VARCHAR[]))"
        params.append([str(c) for c in customer_ids])
    # through Arrow: DECIMAL money stays exact (Decimal objects), not float
    return store.cursor().execute(sql + " ORDER BY customer_id", params).to_arrow_table().to_pandas()


def segment_sizes(store: Store, run_id: int) -> pd.DataFrame:
    """Per segment of a run: name, segmentation, segment, customers, share, revenue, revenue_share.

    Revenue is the sum of qualifying order amounts up to the run's as_of (0 without orders); shares are
    of the run's customers (a standalone segment's share is of everyone, so they need not add up to 1).
    """
    info = get_run(store, run_id)
    if not store.table_exists(traits_table(run_id), schema=META):
        raise NotFoundError(
            f"run {run_id} has no snapshot (status {info.status}); `segmentum runs` lists the runs"
        )
    has_orders = store.table_exists("orders") and {"amount", "ordered_at", "customer_id"} <= set(
        store.columns("orders")
    )
    if has_orders:
        from segmentum.schema import QUALIFYING_ORDER_SQL

        status = "status" in store.columns("orders")
        qualifying = QUALIFYING_ORDER_SQL if status else "amount >= 0"
        revenue_cte = (
            f"SELECT customer_id, sum(amount) AS revenue FROM main.orders WHERE {qualifying} "
            "AND ordered_at <= ? GROUP BY customer_id"
        )
        params: list[Any] = [info.as_of, int(run_id)]
    else:
        revenue_cte = "SELECT NULL::VARCHAR AS customer_id, NULL::DECIMAL(38, 6) AS revenue WHERE false"
        params = [int(run_id)]
    df = (
        store.cursor()
        .execute(
            f"""WITH rev AS ({revenue_cte}),
            m AS (SELECT m.*, coalesce(rev.revenue, 0) AS revenue FROM {META}.memberships m
                  LEFT JOIN rev USING (customer_id) WHERE m.run_id = ?),
            base AS (SELECT count(*) AS n, sum(coalesce(rev.revenue, 0)) AS rev
                     FROM {META}.{traits_table(run_id)} t LEFT JOIN rev USING (customer_id))
            SELECT m.name, any_value(m.segmentation) AS segmentation, any_value(m.segment) AS segment,
                   count(*) AS customers,
                   count(*) / nullif(any_value(base.n), 0) AS share,
                   sum(m.revenue) AS revenue,
                   CAST(sum(m.revenue) AS DOUBLE) / nullif(CAST(any_value(base.rev) AS DOUBLE), 0) AS revenue_share
            FROM m, base GROUP BY m.name ORDER BY m.name""",
            params,
        )
        .df()
    )
    return df
