"""`segmentum.store.tables` is the one home of segmentum's tables: no module outside `store/` creates a table of
schema `segmentum`, every table the code reads or writes there is declared, and the callers of the names of
per-run and model tables agree."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from store_helpers import OLD_RELEASE_DDL

from segmentum.actions import events
from segmentum.engine.base import present_tables
from segmentum.runs import retention
from segmentum.store import snapshots as snapshot
from segmentum.store import tables as t
from segmentum.store.catalog import data_columns, model_tables
from segmentum.views.customers import customer
from segmentum.workspace import Workspace

SRC = Path(__file__).resolve().parents[2] / "src" / "segmentum"
STORE = SRC / "store"

# CREATE [OR REPLACE] [TEMP] TABLE|SEQUENCE|SCHEMA [IF NOT EXISTS] <target>, in SQL text of any case
CREATE = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?(?P<temp>(?:TEMP|TEMPORARY)\s+)?(?P<kind>TABLE|SEQUENCE|SCHEMA)\s+"
    r"(?:IF\s+NOT\s+EXISTS\s+)?(?P<target>[^\s(]+)",
    re.IGNORECASE,
)


def foreign_ddl(text: str) -> list[str]:
    """The statements in `text` that create something in the store file other than a canonical table.

    Allowed: TEMP / TEMPORARY tables (they live in the connection's temporary catalog and never reach the file:
    ingest's staging, coverage's working table) and tables of schema `main` spelled `main.<table>` (the canonical
    tables of `segmentum.schema`, created by ingest and, before any file was loaded, the real-time path).
    Everything else (schema `segmentum`, sequences, and any target the text does not show to be in `main`, such
    as `{traits}`) belongs in `segmentum.store.tables`.
    """
    found = []
    for match in CREATE.finditer(text):
        target = match["target"].strip("'\"")
        if match["temp"] or (match["kind"].upper() == "TABLE" and target.lower().startswith("main.")):
            continue
        found.append(match.group(0))
    found += re.findall(r"\.create_table\(", text)  # Ibis / DuckDB relation API
    return found


def _sources(outside_store: bool = True) -> dict[str, str]:
    return {
        str(p.relative_to(SRC)): p.read_text(encoding="utf-8")
        for p in sorted(SRC.rglob("*.py"))
        if not (outside_store and STORE in p.parents)
    }


def test_the_scanner_catches_every_old_ddl_form_and_allows_temp_and_main() -> None:
    old = [s for statements in OLD_RELEASE_DDL.values() for s in statements]
    # the forms the modules used, as their source text read (f-strings unexpanded)
    old += [
        'f"CREATE TABLE IF NOT EXISTS {META}.outbox ("',
        'f"CREATE SEQUENCE IF NOT EXISTS {META}.outbox_seq START 1"',
        "f'CREATE OR REPLACE TABLE segmentum.\"model_cluster_{name}\" AS SELECT'",
        'f"CREATE TABLE {traits} AS {source}"',
        'f"CREATE OR REPLACE TABLE {t} ({defs})"',
        '"create table segmentum.notes (a int)"',
        "backend.create_table('model_x', frame, database='segmentum')",
    ]
    assert [s for s in old if not foreign_ddl(s)] == []
    allowed = [
        'f"CREATE OR REPLACE TEMP TABLE {STG} AS SELECT row_number() OVER () AS __line, * FROM __frame"',
        'f"CREATE OR REPLACE TEMPORARY TABLE coverage_base AS {base_sql}"',
        '"CREATE TABLE IF NOT EXISTS main.customers (customer_id VARCHAR)"',
        'f"CREATE OR REPLACE TABLE main.{q(table)} ({defs})"',
        "CREATE OR REPLACE TEMP MACRO quote_raw(s) AS s",
        "Create a key; return the key text (shown once) and its record.",
    ]
    assert [s for s in allowed if foreign_ddl(s)] == []


def test_no_module_outside_store_creates_a_table_of_its_own() -> None:
    offenders = {path: found for path, text in _sources().items() if (found := foreign_ddl(text))}
    assert offenders == {}, (
        "declare these tables in segmentum/store/tables.py (and a migration for old stores)"
    )


def test_every_table_and_sequence_the_code_uses_in_schema_segmentum_is_declared() -> None:
    table_use = re.compile(r"(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(?:segmentum|\{META\})\.\"?([A-Za-z_]\w*)")
    sequence_use = re.compile(r"nextval\('(?:segmentum|\{META\})\.(\w+)'\)")
    undeclared = set()
    for path, text in _sources(outside_store=False).items():
        undeclared |= {(path, n) for n in table_use.findall(text) if n not in t.TABLES and n not in t.VIEWS}
        undeclared |= {(path, n) for n in sequence_use.findall(text) if n not in t.SEQUENCES}
    assert undeclared == set()


def test_traits_tables_are_named_in_one_place() -> None:
    assert snapshot.traits_table is t.traits_table and retention.traits_table is t.traits_table
    copies = {path for path, text in _sources().items() if re.search(r"traits_\{", text)}
    assert copies == set(), "name a run's traits table with segmentum.store.tables.traits_table"


DEFINITIONS = """
traits:
  spent: {sum: orders.amount}
segments:
  big: {where: "spent >= 100"}
"""


@pytest.fixture
def two_runs(tmp_path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / "shop", name="shop")
    (ws.root / "definitions" / "shop.yml").write_text(DEFINITIONS)
    ws = Workspace(ws.root)
    ws.ingest_frame("customers", pd.DataFrame({"customer_id": ["c1", "c2", "c3"]}))
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3"],
            "customer_id": ["c1", "c2", "c2"],
            "ordered_at": pd.to_datetime(["2024-01-05", "2024-01-06", "2024-02-06"]),
            "amount": [150.0, 40.0, 90.0],
        }
    )
    ws.ingest_frame("orders", orders)
    ws.run(as_of="2024-01-31 23:59:59", triggers=False)
    ws.run(as_of="2024-02-29 23:59:59", triggers=False)
    yield ws
    ws.close()


def test_the_run_writer_the_snapshot_reader_and_the_event_diff_read_the_same_traits_table(
    two_runs: Workspace,
) -> None:
    """The copy in actions/events.py qualified the name, the one in snapshots did not; both now call one
    function, and the metric values the events see are the traits the run wrote."""
    store = two_runs.store
    first, second = (snapshot.traits(store, r).set_index("customer_id")["spent"] for r in (1, 2))
    base, values = events.metric_values(store, 2, "spent")
    assert base.batch_run == 1
    got = {cid: (prev, cur) for cid, prev, cur, _ in values}
    assert got == {cid: (first[cid], second[cid]) for cid in second.index}
    assert got["c2"] == (40, 130)


def test_every_reader_of_model_outputs_sees_the_same_model_tables(two_runs: Workspace) -> None:
    store = two_runs.store
    with store.transaction() as cur:
        t.create_on_fit(cur, "model_clv")
        cur.execute(
            "INSERT INTO segmentum.model_clv (customer_id, clv_12m, fitted_at, calibration_end) "
            "VALUES ('c1', 120, TIMESTAMP '2024-03-01', DATE '2024-02-29')"
        )
        t.replace_cluster_table(cur, "tiers", "SELECT 'c1' AS customer_id, '0' AS cluster_tiers")
    assert model_tables(store) == ["model_cluster_tiers", "model_clv"]
    assert present_tables(store)[1] == model_tables(store)  # what the engine joins onto customers
    assert {"clv_12m", "cluster_tiers"} <= set(data_columns(store)[1])  # what definitions may use
    assert set(customer(two_runs, "c1")["models"]) == {"clv", "cluster_tiers"}  # the customer 360
    # the question is asked in one place
    copies = {path for path, text in _sources().items() if re.search(r"LIKE 'model", text)}
    assert copies == set()
