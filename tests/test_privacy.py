"""Right to erasure: the customer disappears from every table and snapshot; the log keeps only a hash."""

from __future__ import annotations

import hashlib
import json

import pytest

from segmentum.errors import NotFoundError
from segmentum.store.erase import forget
from segmentum.workspace import Workspace


def test_forget_erases_everywhere_and_logs_a_hash(handmade_snapshot: Workspace) -> None:
    ws = handmade_snapshot
    con = ws.store.con
    con.execute(
        "INSERT INTO segmentum.quarantine VALUES (1, 'orders', 'f.csv', 3, 'amount', 'bad', "
        '\'{"customer_id": "c1", "amount": "x"}\', now())'
    )
    result = forget(ws, "c1")
    assert result["rows_deleted"] == {
        "main.customers": 1,
        "main.orders": 3,
        "segmentum.memberships": 3,
        "segmentum.traits_2": 1,
        "segmentum.quarantine": 1,
    }
    for schema, table in [
        ("main", "customers"),
        ("main", "orders"),
        ("segmentum", "memberships"),
        ("segmentum", "traits_2"),
    ]:
        assert (
            con.execute(f"SELECT count(*) FROM {schema}.{table} WHERE customer_id = 'c1'").fetchone()[0] == 0
        )
    assert con.execute("SELECT count(*) FROM main.customers").fetchone()[0] == 3  # others untouched
    subject, details = con.execute(
        "SELECT subject, details FROM segmentum.audit_log WHERE action = 'forget'"
    ).fetchone()
    assert subject == "sha256:" + hashlib.sha256(b"c1").hexdigest()
    assert json.loads(details)["rows_deleted"]["main.orders"] == 3
    assert "c1" not in subject


def test_unknown_customer_changes_nothing(handmade_snapshot: Workspace) -> None:
    with pytest.raises(NotFoundError, match="nothing was erased"):
        forget(handmade_snapshot, "nobody")
    assert (
        handmade_snapshot.store.con.execute(
            "SELECT count(*) FROM segmentum.audit_log WHERE action = 'forget'"
        ).fetchone()[0]
        == 0
    )
