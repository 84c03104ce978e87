"""`forget` leaves no byte of the customer in the store file (after more runs and a CHECKPOINT too), finds a
quarantined row whatever its id column was called, and lists (and deletes on request) the files that hold the
customer: exports, dry-run emails, reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from segmentum.errors import NotFoundError
from segmentum.service.commands import call
from segmentum.workspace import Workspace

PLANTED = "PLANTED-7731"
NAME, EMAIL, PHONE = "Zelda Plantedname", "zelda.planted@example.org", "+380-99-771-3131"
SECRETS = [PLANTED, NAME, EMAIL, PHONE]

DEFS = """\
traits:
  revenue: {sum: orders.amount}
segments:
  buyers: {where: "revenue > 0"}
triggers:
  welcome:
    on: enter
    segment: buyers
    on_first_run: fire
    do:
      - task: {title: "Call {{ customer.name }} at {{ customer.phone }}"}
      - email: {template: templates/hi.txt, subject: "Hi {{ customer.name }}"}
      - export: {path: exports/buyers.csv}
"""


def _workspace(root: Path) -> Workspace:
    ws = Workspace.init(root)
    config = (root / "segmentum.yml").read_text().replace("builtins: [rfm, abc, lifecycle]", "builtins: []")
    (root / "segmentum.yml").write_text(config + "\nemail:\n  dry_run: true\n")
    (root / "definitions" / "shop.yml").write_text(DEFS)
    (root / "templates").mkdir()
    (root / "templates" / "hi.txt").write_text("Dear {{ customer.name }}, your email {{ customer.email }}\n")
    data = root / "data"
    data.mkdir()
    # the id column is called `Customer ID` in both files: the quarantine keeps it under that name
    (data / "customers.csv").write_text(
        f"Customer ID,Name,Email,Phone\n{PLANTED},{NAME},{EMAIL},{PHONE}\nc2,Bob Other,bob@example.com,+1-555\n"
    )
    (data / "orders.csv").write_text(
        f"Order,Customer ID,Date,Amount\no1,{PLANTED},2024-01-05,1500\no2,{PLANTED},2024-01-06,abc\n"
        "o3,c2,2024-01-07,20\no4,c2,2024-01-08,oops\n"
    )
    ws = Workspace(root)
    ws.ingest("customers", str(data / "customers.csv"))
    assert ws.ingest("orders", str(data / "orders.csv")).rows_quarantined == 2
    (data / "customers.csv").unlink()  # the inputs are the user's own files, not segmentum's
    (data / "orders.csv").unlink()
    result = ws.run(as_of="2024-01-31")
    assert result.actions is not None and result.actions["fired"] == {"welcome": 2}
    (root / "report.html").write_text(f"<html><td>{NAME}</td></html>")  # as a report listing customers
    return ws


def _bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.glob("segmentum.duckdb*"))


def test_forget_leaves_no_byte_of_the_customer_in_the_store(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    ws = _workspace(root)
    ws.store.cursor().execute("CHECKPOINT")
    before = _bytes(root)
    assert all(s.encode() in before for s in SECRETS)  # the test can fail: they were there
    result = call(ws, "forget", customer_id=PLANTED)
    assert result["rows_deleted"]["segmentum.quarantine"] == 1  # found by `Customer ID`, the mapped column
    assert result["rows_deleted"]["segmentum.outbox"] == 2 and result["rows_deleted"]["segmentum.tasks"] == 1
    cur = ws.store.cursor()
    assert cur.execute("SELECT count(*) FROM segmentum.quarantine").fetchone()[0] == 1  # c2's stays
    assert cur.execute("SELECT count(*) FROM main.customers").fetchone()[0] == 1
    # another run and a checkpoint: nothing comes back, and the store still works
    assert ws.run(as_of="2024-02-29").status == "complete"
    cur.execute("CHECKPOINT")
    ws.close()
    after = _bytes(root)
    assert [s for s in SECRETS if s.encode() in after] == []
    assert b"Bob Other" in after  # the others are all there
    ws = Workspace(root)
    assert ws.store.cursor().execute("SELECT count(*) FROM segmentum.runs").fetchone()[0] == 2
    ws.close()


def test_forget_lists_the_files_that_hold_the_customer_and_deletes_them_on_request(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    ws = _workspace(root)
    emails = sorted(str(p.relative_to(root)) for p in (root / "outbox").glob("*.eml"))
    assert len(emails) == 2 and (root / "exports" / "buyers.csv").exists()
    result = call(ws, "forget", customer_id=PLANTED)
    held = [
        f
        for f in emails
        if PLANTED.encode() in (root / f).read_bytes() or b"Zelda" in (root / f).read_bytes()
    ]
    assert sorted(result["files"]) == sorted(["exports/buyers.csv", "report.html", *held])
    assert len(held) == 1  # Bob's email is not listed
    gone = call(
        ws, "forget", customer_id=PLANTED, delete_files=[*result["files"], "segmentum.yml", "/etc/hosts"]
    )
    assert sorted(gone["deleted_files"]) == sorted(result["files"])  # nothing but what was listed
    assert (root / "segmentum.yml").exists() and not (root / "report.html").exists()
    # a second forget of an erased customer is not an error: it rewrites the file and finds no files
    again = call(ws, "forget", customer_id=PLANTED)
    assert again["erased_before"] and again["total"] == 0 and again["files"] == []
    with pytest.raises(NotFoundError, match="nothing was erased"):
        call(ws, "forget", customer_id="nobody")
    ws.close()


@pytest.mark.slow
def test_the_cli_offers_to_delete_the_files(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    _workspace(root).close()
    done = subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", "forget", PLANTED, "-w", str(root)],
        input="y\nn\n",  # erase: yes; delete the files: no
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "exports/buyers.csv" in done.stderr and "still holds the customer" in done.stderr
    assert (root / "exports" / "buyers.csv").exists()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "segmentum.cli.main",
            "forget",
            PLANTED,
            "-y",
            "--delete-files",
            "-w",
            str(root),
        ]
        + ["--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "exports/buyers.csv" in json.loads(done.stdout)["deleted_files"]
    assert not (root / "exports" / "buyers.csv").exists()


def test_forget_erases_the_aliases_linked_to_the_customer_and_an_alias_alone(tmp_path: Path) -> None:
    from datetime import datetime

    from segmentum.store.identities import link

    root = tmp_path / "ws"
    ws = _workspace(root)
    (root / "data" / "events.csv").write_text(
        "customer_id,event,occurred_at\nANON-PLANTED-1,page_view,2024-01-02\nANON-PLANTED-1,cart_add,2024-01-03\n"
        "ANON-OTHER-2,page_view,2024-01-04\nc2,page_view,2024-01-05\n"
    )
    ws.ingest("events", str(root / "data" / "events.csv"))
    link(ws.store, "ANON-PLANTED-1", PLANTED, datetime(2024, 1, 10))
    link(ws.store, "ANON-OTHER-2", "c2", datetime(2024, 1, 10))
    assert ws.run(as_of="2024-02-29").status == "complete"
    cur = ws.store.cursor()

    result = call(ws, "forget", customer_id=PLANTED)
    assert result["aliases"] == ["ANON-PLANTED-1"]
    assert result["rows_deleted"]["main.identities"] == 1
    assert result["rows_deleted"]["main.events"] == 2  # the alias's rows are the customer's
    assert cur.execute("SELECT customer_id FROM main.events ORDER BY 1").fetchall() == [
        ("ANON-OTHER-2",),
        ("c2",),
    ]
    assert cur.execute("SELECT alias_id, customer_id FROM main.identities").fetchall() == [
        ("ANON-OTHER-2", "c2")
    ]
    # fetchall, not fetchone: a result left open holds the old file, which the next erasure's rewrite replaces
    ((log,),) = cur.execute(
        "SELECT CAST(details AS VARCHAR) FROM segmentum.audit_log WHERE action = 'forget'"
    ).fetchall()
    assert "ANON-PLANTED-1" not in log and PLANTED not in log  # the log holds no id

    # an alias forgotten on its own: its rows and its link go, its customer stays
    result = call(ws, "forget", customer_id="ANON-OTHER-2")
    assert result["aliases"] == [] and result["rows_deleted"]["main.identities"] == 1
    assert cur.execute("SELECT customer_id FROM main.events").fetchall() == [("c2",)]
    assert cur.execute("SELECT count(*) FROM main.customers WHERE customer_id = 'c2'").fetchone()[0] == 1
    cur.execute("CHECKPOINT")
    ws.close()
    after = _bytes(root)
    assert b"ANON-PLANTED-1" not in after and b"ANON-OTHER-2" not in after


def test_a_rewrite_ends_results_cursors_have_not_read_and_the_store_stays_usable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A result read in part holds the old file open: DuckDB refused to attach the rewritten one ("Unique file
    handle conflict") and the store was left detached. The rewrite ends such results once its grace for the
    queries in progress is over; every cursor and a second Store on the file go on reading the rewritten file."""
    from segmentum.store import connection
    from segmentum.store.connection import Store

    monkeypatch.setattr(connection, "REATTACH_GRACE_S", 0.5)  # nobody reads these results on: no need to wait

    store = Store(tmp_path / "s.duckdb")
    store.cursor().execute("CREATE TABLE main.t AS SELECT range AS i FROM range(100000)")
    other = Store(tmp_path / "s.duckdb")  # shares the database: its connection is ended too
    pending = store.cursor()
    pending.execute("SELECT * FROM main.t").fetchmany(10)
    other.con.execute("SELECT * FROM main.t").fetchone()
    store.cursor().execute("DELETE FROM main.t WHERE i >= 10")
    store.rewrite()
    assert pending.execute("SELECT count(*) FROM main.t").fetchone() == (10,)
    assert other.query("SELECT count(*) FROM main.t") == [(10,)]
    assert store.query("SELECT count(*) FROM main.t") == [(10,)]
    other.close()
    store.close()


def test_a_rewrite_while_other_threads_read_waits_for_them_and_leaves_the_store_attached(
    tmp_path: Path,
) -> None:
    """What a server does while an erasure runs: other threads (pages, the lookups' replica loading, profiles
    being warmed) take cursors and read. A query one of them began between the rewrite's end of the results and
    its detachment held the old file, DuckDB refused to attach the new one ("Unique file handle conflict", a
    500 for `forget` through `segmentum serve`) and the store was left detached for every later request. Now
    new cursors wait at the file's gate during a re-attachment, and the attachment waits for a query that
    still holds the old file. A reader never reads a wrong answer: its rows, or (a cursor it took just before the
    detachment) the error that the store is not attached."""
    import threading

    import duckdb

    from segmentum.store.connection import Store

    store = Store(tmp_path / "s.duckdb")
    store.cursor().execute("CREATE TABLE main.t AS SELECT range AS x FROM range(3000000)")
    stop = threading.Event()
    failures: list[str] = []
    reads = [0]

    def reader() -> None:
        while not stop.is_set():
            try:
                read = store.cursor().execute("SELECT sum(x) FROM main.t").fetchone()
            except duckdb.BinderException as exc:
                if 'Catalog "store" does not exist' not in str(exc):
                    failures.append(str(exc))
                continue
            if read == (4499998500000,):
                reads[0] += 1
            else:
                failures.append(f"read {read}")  # a result ended under its reader: None

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for thread in readers:
        thread.start()
    try:
        for _ in range(8):
            store.rewrite()  # failed at the first or second one before the gate
            with store.writing_row_groups(2048):  # the compaction's re-attachment: the same gate
                pass
    finally:
        stop.set()
        for thread in readers:
            thread.join(60)
    assert reads[0] > 0  # the readers did read meanwhile
    assert failures == []
    assert store.query("SELECT count(*) FROM main.t") == [(3000000,)]
    store.close()
