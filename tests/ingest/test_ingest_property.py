"""Property: any input either loads with rows read = stored + quarantined, or is a clear IngestError."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentum.errors import IngestError
from segmentum.ingest.load import ingest
from segmentum.workspace import Workspace

HEADERS = ["order_id", "customer_id", "ordered_at", "amount", "Статус", "note"]
cells = st.one_of(
    st.sampled_from(
        [
            "1",
            "17850.0",
            "A-1",
            "",
            " ",
            "2024-01-02",
            "31.12.2023 23:59",
            "1/2/2024",
            "20240102",
            "12,5",
            "1 234,50",
            "1,234.5",
            "1e-9",
            "0.0000005",
            "abc",
            "-3",
            "NaN",
            "Іван",
            '"',
            '""',
            "x\ny",
            "99999999999999999999999999999999999999",
            "2024-13-45",
            "true",
            "\t",
            ";",
            ",",
        ]
    ),
    st.text(max_size=12),
)
rows = st.lists(st.lists(cells, min_size=0, max_size=8), max_size=12)
delimiters = st.sampled_from([",", ";", "\t", "|"])
encodings = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1251", "latin-1"])
counter = itertools.count()
# more examples on demand: INGEST_EXAMPLES=500 pytest tests/ingest/test_ingest_property.py
EXAMPLES = int(os.environ.get("INGEST_EXAMPLES", "60"))


def render(header: list[str], body: list[list[str]], delimiter: str, quote_all: bool) -> str:
    def cell(value: str) -> str:
        if quote_all:
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [delimiter.join(cell(h) for h in header)]
    lines += [delimiter.join(cell(v) for v in row) for row in body]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def shared_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace.init(tmp_path_factory.mktemp("prop") / "ws")
    yield ws
    ws.close()


def check(ws: Workspace, path: Path, table: str) -> None:
    try:
        report = ingest(ws, table, path, mode="replace")
    except IngestError as exc:
        assert str(exc)  # a message for the user, never an empty error
        return
    assert report.rows_read == report.rows_stored + report.rows_quarantined
    if report.rows_stored:  # a replace with nothing to store leaves the table as it was (issue 15 item 2)
        stored = ws.store.cursor().execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        assert stored == report.rows_stored
    quarantined = (
        ws.store.cursor()
        .execute(
            "SELECT count(DISTINCT line) FROM segmentum.quarantine WHERE ingest_id = ?", [report.ingest_id]
        )
        .fetchone()[0]
    )
    assert quarantined == report.rows_quarantined


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    header=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=6, unique=True),
    body=rows,
    delimiter=delimiters,
    encoding=encodings,
    quote_all=st.booleans(),
    table=st.sampled_from(["orders", "customers"]),
)
def test_any_text_file_loads_or_is_a_clear_error(
    shared_ws, tmp_path_factory, header, body, delimiter, encoding, quote_all, table
) -> None:
    text = render(header, body, delimiter, quote_all)
    path = tmp_path_factory.getbasetemp() / f"f{next(counter)}.csv"
    path.write_bytes(text.encode(encoding, errors="replace"))
    check(shared_ws, path, table)


@settings(
    max_examples=EXAMPLES * 2 // 3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".jsonl", ".parquet", ".xlsx", ".txt", ""])
)
def test_any_bytes_load_or_are_a_clear_error(shared_ws, tmp_path_factory, data, suffix) -> None:
    path = tmp_path_factory.getbasetemp() / f"b{next(counter)}{suffix}"
    path.write_bytes(data)
    check(shared_ws, path, "customers")


@settings(
    max_examples=EXAMPLES * 2 // 3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(
        st.one_of(
            st.sampled_from(
                [
                    '{"customer_id": 1}',
                    '{"customer_id": "17850.0", "x": [1, 2]}',
                    "{",
                    "[]",
                    "null",
                    "",
                    '{"customer_id": null}',
                    '{"customer_id": {"a": 1}}',
                    '{"created_at": "2024-01-01"}',
                    '{"customer_id": "a", "created_at": "nope"}',
                    '"str"',
                    '{"customer_id": "\\u0000"}',
                ]
            ),
            st.text(max_size=20),
        ),
        max_size=10,
    )
)
def test_any_json_lines_load_or_are_a_clear_error(shared_ws, tmp_path_factory, lines) -> None:
    path = tmp_path_factory.getbasetemp() / f"j{next(counter)}.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    check(shared_ws, path, "customers")


def test_header_only_file_reads_zero_rows(shared_ws, tmp_path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("customer_id,name\n", encoding="utf-8")
    report = ingest(shared_ws, "customers", path, mode="replace")
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (0, 0, 0)
