"""Exports of segment members after a run, with hashed emails for ad platforms."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pyarrow.parquet as pq
from actions_helpers import RUN1, RUN2, make_workspace, write_run

from segmentum.actions import deliver, list_outbox, process_run

EXPORTS = """\
  campaign:
    on: enter
    segment: big_spenders
    do:
      - export: {path: "exports/big_{{ run.run_id }}.csv", hash_emails: true}
      - export: {path: exports/tier.parquet, segment: tier.*}
"""


def _ws(tmp_path: Path):
    from actions_helpers import DEFINITIONS

    ws = make_workspace(tmp_path / "ws", definitions=DEFINITIONS + EXPORTS)
    write_run(ws, 1, RUN1)
    write_run(ws, 2, RUN2)
    return ws


def test_export_writes_members_with_hashed_emails(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    process_run(ws, 2)
    exports = [r for r in list_outbox(ws) if r["action_type"] == "export"]
    assert sorted(r["idempotency_key"] for r in exports) == ["campaign:*:2:0", "campaign:*:2:1"]
    report = deliver(ws, ids=[r["id"] for r in exports])
    assert report.delivered == 2
    assert (ws.root / "exports" / "big_2.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM, for Excel
    with open(ws.root / "exports" / "big_2.csv", newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["customer_id"] for r in rows] == ["c1", "c3", "c4", "c5"]
    assert set(rows[0]) == {"customer_id", "segment", "email_sha256"}  # no plain-text PII
    # trimmed and lower-cased before hashing: 'Ann@Example.com ' -> 'ann@example.com'
    assert rows[0]["email_sha256"] == hashlib.sha256(b"ann@example.com").hexdigest()
    assert rows[3]["email_sha256"] == ""  # c5 has no address
    table = pq.read_table(ws.root / "exports" / "tier.parquet").to_pylist()
    assert [(r["customer_id"], r["segment"]) for r in table] == [
        ("c1", "tier.regular"),
        ("c2", "tier.regular"),
        ("c3", "tier.vip"),
        ("c4", "tier.regular"),
        ("c5", "tier.low"),
        ("c6", "tier.regular"),
    ]
    assert table[0]["email"] == "Ann@Example.com "
    ws.close()


def test_export_runs_once_per_run_even_on_a_baseline(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    assert process_run(ws, 1).fired["campaign"] == 0
    assert len([r for r in list_outbox(ws) if r["action_type"] == "export"]) == 2
    process_run(ws, 1)
    assert len([r for r in list_outbox(ws) if r["action_type"] == "export"]) == 2
    deliver(ws)
    with open(ws.root / "exports" / "big_1.csv", newline="", encoding="utf-8-sig") as fh:
        assert [r["customer_id"] for r in csv.DictReader(fh)] == ["c1", "c2"]
    ws.close()


def test_a_run_without_the_segment_exports_nothing(tmp_path: Path) -> None:
    from actions_helpers import DEFINITIONS

    ws = make_workspace(tmp_path / "ws", definitions=DEFINITIONS + EXPORTS)
    write_run(ws, 1, RUN1)
    defs = ws.definitions()
    write_run(ws, 2, RUN2, hashes={"tier": defs.hashes["tier"]})  # as with `segmentum run --only tier`
    process_run(ws, 2)
    keys = sorted(r["idempotency_key"] for r in list_outbox(ws) if r["action_type"] == "export")
    assert keys == ["campaign:*:2:1"]  # tier.* is in the run, big_spenders is not
    ws.close()
