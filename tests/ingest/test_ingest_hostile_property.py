"""Property (issue 15, done-when): hostile files never lose or merge a record.

Hypothesis writes orders files with broken quotes, ragged rows, NULs, huge fields, lines in another encoding,
BOMs, CR-only line breaks, bad numbers and dates (CSV/TSV in four encodings), broken JSON lines and Parquet
files with wrong types. The test counts the records itself — every non-blank physical line after the header is
one, as the generator never writes a legitimate multi-line value — and gives record k the order id `o<line>`.
It then asserts that rows read = stored + quarantined = its own count, that the stored order ids and the
quarantined lines together are exactly its lines (so every line number is right), and that no stored value
holds a line break or another record's id (nothing merged).
"""

from __future__ import annotations

import itertools
import json
import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentum.errors import IngestError
from segmentum.ingest.load import ingest
from segmentum.workspace import Workspace

EXAMPLES = int(os.environ.get("INGEST_EXAMPLES", "25"))
counter = itertools.count()
HEADER = ["order_id", "customer_id", "ordered_at", "amount", "note"]
CLEAN = {"customer_id": ["c1", "Іван", "c 2", "17850.0"], "ordered_at": ["2024-01-02", "2024-03-04 10:00"]}
# what a hostile line does to its customer_id / ordered_at / amount / note fields, or to the whole line
DAMAGE = [
    "none",
    "stray_quote",  # a quote opens a field and never closes on its line
    "stray_quote_end",  # a field ends with a quote (the partner of an earlier stray one)
    "quote_after_closing",  # "x"y
    "ragged_more",
    "ragged_less",
    "trailing_delimiters",
    "nul",
    "bad_number",
    "huge_number",
    "nan",
    "bad_date",
    "huge_field",
    "lone_cr",
    "quoted_delimiter",  # legitimate: "a<delim>b"
    "blank",  # a blank line (no record)
    "spaces",  # a line of spaces (no record)
    "other_encoding",  # this line's bytes in Windows-1251 inside a UTF-8 file
]
settings_ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    workspace = Workspace.init(tmp_path_factory.mktemp("hostile") / "ws")
    yield workspace
    workspace.close()


def damaged_line(line: int, damage: str, delim: str, pick: int) -> list[str] | None:
    """The fields of physical line `line` (None: a line that is no record)."""
    fields = [
        f"o{line}",
        CLEAN["customer_id"][pick % 4],
        CLEAN["ordered_at"][pick % 2],
        f"{pick % 1000}.5",
        "ok",
    ]
    if damage == "stray_quote":
        fields[1 + pick % 4] = '"' + fields[1 + pick % 4]
    elif damage == "stray_quote_end":
        fields[1 + pick % 4] += '"'
    elif damage == "quote_after_closing":
        fields[4] = '"x"y'
    elif damage == "ragged_more":
        fields.append("extra")
    elif damage == "ragged_less":
        fields.pop()
    elif damage == "trailing_delimiters":
        fields += ["", ""]
    elif damage == "nul":
        fields[1 + pick % 4] += "\x00"
    elif damage == "bad_number":
        fields[3] = "abc"
    elif damage == "huge_number":
        fields[3] = "1e40"
    elif damage == "nan":
        fields[3] = "NaN"
    elif damage == "bad_date":
        fields[2] = "2024-13-45"
    elif damage == "huge_field":
        fields[4] = "x" * 3_000_000
    elif damage == "lone_cr":
        fields[4] = "a\rb"
    elif damage == "quoted_delimiter":
        fields[4] = f'"a{delim}b"'
    return fields


@st.composite
def csv_files(draw: st.DrawFn) -> dict:
    delim = draw(st.sampled_from([",", ";", "\t", "|"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1251", "utf-16"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    n = draw(st.integers(min_value=1, max_value=40))
    damages = draw(st.lists(st.sampled_from(DAMAGE), min_size=n, max_size=n))
    huge = [i for i, d in enumerate(damages) if d == "huge_field"]
    for i in huge[1:]:
        damages[i] = "none"  # one huge field per file is enough
    if encoding != "utf-8":
        damages = ["none" if d == "other_encoding" else d for d in damages]
    if newline == "\r":
        damages = ["none" if d == "lone_cr" else d for d in damages]
    # a damaged line is followed by a clean one, so that a stray quote's partner is always a whole record away
    for i in range(len(damages) - 1):
        if damages[i] not in ("none", "quoted_delimiter") and damages[i + 1] != "none":
            damages[i + 1] = "none"
    picks = draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n))
    return {"delim": delim, "encoding": encoding, "newline": newline, "damages": damages, "picks": picks}


def write_csv(spec: dict, path: Path) -> tuple[list[int], int | None]:
    """Write the file; (the physical lines that are records, the first line that would not decode if the file
    were taken for UTF-8)."""
    delim, newline, encoding = spec["delim"], spec["newline"], spec["encoding"]
    out = [(delim.join(HEADER)).encode(encoding)]  # utf-16 and utf-8-sig: one BOM, at the start
    plain = {"utf-16": "utf-16-le", "utf-8-sig": "utf-8"}.get(encoding, encoding)

    def encode(text: str) -> bytes:
        return text.encode(plain)

    records: list[int] = []
    other: int | None = None
    for offset, (damage, pick) in enumerate(zip(spec["damages"], spec["picks"], strict=True)):
        line = offset + 2
        if damage == "blank":
            out.append(b"")
            continue
        if damage == "spaces":
            out.append(encode("   "))
            continue
        text = delim.join(damaged_line(line, damage, delim, pick))
        if damage == "other_encoding":
            out.append(text.replace("ok", "Гривня").encode("cp1251"))
            other = other or line
        elif not text.isascii() and encoding == "cp1251":
            out.append(encode(text))
            other = other or line  # undecodable as UTF-8 when the first megabyte (sniffed) was all ASCII
        else:
            out.append(encode(text))
        records.append(line)
    path.write_bytes(encode(newline).join(out) + encode(newline))
    return records, other


def assert_nothing_lost_or_merged(ws: Workspace, report, records: list[int]) -> None:  # noqa: ANN001
    assert report.rows_read == report.rows_stored + report.rows_quarantined == len(records)
    con = ws.store.con
    quarantined = [
        r[0]
        for r in con.execute(
            "SELECT line FROM segmentum.quarantine WHERE ingest_id = ? ORDER BY line", [report.ingest_id]
        ).fetchall()
    ]
    assert len(quarantined) == len(set(quarantined)) == report.rows_quarantined
    stored: list[int] = []
    if report.rows_stored:
        rows = con.execute("SELECT order_id, customer_id, CAST(amount AS VARCHAR) FROM orders").fetchall()
        for order_id, customer_id, amount in rows:
            assert re.fullmatch(r"o[0-9]+", order_id), order_id
            for value in (customer_id or "", amount or ""):
                assert "\n" not in value and "\r" not in value
                assert not re.search(r"\bo[0-9]+\b", value), value  # no other record's id inside a value
            stored.append(int(order_id[1:]))
        texts = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = 'orders' AND data_type = 'VARCHAR'"
            ).fetchall()
        ]
        broken = " OR ".join(f"regexp_matches(\"{c}\", '[\r\n]')" for c in texts)
        assert con.execute(f"SELECT count(*) FROM orders WHERE {broken}").fetchone()[0] == 0
    assert sorted(stored + quarantined) == records  # every record, once, at its true line


@settings_
@given(spec=csv_files())
def test_hostile_text_files_lose_and_merge_nothing(ws: Workspace, tmp_path_factory, spec) -> None:  # noqa: ANN001
    suffix = ".tsv" if spec["delim"] == "\t" else ".csv"
    path = tmp_path_factory.getbasetemp() / f"hostile{next(counter)}{suffix}"
    records, other = write_csv(spec, path)
    try:
        report = ingest(ws, "orders", path, mode="replace", delimiter=spec["delim"])
    except IngestError as exc:
        # the only file-level refusals: a line in another encoding than the file's first megabyte, reported
        # at its true line; a file whose every line is damaged so that no column holds a date
        message = str(exc)
        assert "\n" not in message
        if other is not None and "decode" in message:
            assert f":{other}:" in message, message
            return
        assert "needs the column" in message or "no header" in message or "date" in message, message
        return
    assert_nothing_lost_or_merged(ws, report, records)


@st.composite
def json_files(draw: st.DrawFn) -> list[str | None]:
    kinds = draw(
        st.lists(
            st.sampled_from(
                ["ok", "broken", "surrogate", "nul", "nan", "array", "blank", "bad_date", "ragged"]
            ),
            min_size=1,
            max_size=30,
        )
    )
    lines: list[str | None] = []
    for offset, kind in enumerate(kinds):
        line = offset + 1
        record = {"order_id": f"o{line}", "customer_id": "c1", "ordered_at": "2024-01-02", "amount": 1.5}
        if kind == "broken":
            lines.append(json.dumps(record)[:-3])
        elif kind == "surrogate":
            lines.append(json.dumps(record).replace('"c1"', '"\\udc80"'))
        elif kind == "nul":
            lines.append(json.dumps({**record, "customer_id": "c\x001"}))
        elif kind == "nan":
            lines.append(json.dumps({**record, "amount": float("nan")}))
        elif kind == "array":
            lines.append(json.dumps([record]))
        elif kind == "blank":
            lines.append(None)
        elif kind == "bad_date":
            lines.append(json.dumps({**record, "ordered_at": "yesterday"}))
        elif kind == "ragged":
            lines.append(json.dumps({**record, "extra": [1, 2]}))
        else:
            lines.append(json.dumps(record))
    return lines


@settings_
@given(lines=json_files())
def test_hostile_json_lines_lose_and_merge_nothing(ws: Workspace, tmp_path_factory, lines) -> None:  # noqa: ANN001
    path = tmp_path_factory.getbasetemp() / f"hostile{next(counter)}.jsonl"
    path.write_text("\n".join(line or "" for line in lines) + "\n", encoding="utf-8")
    records = [i + 1 for i, line in enumerate(lines) if line is not None]
    if lines and lines[0] is not None and lines[0].startswith("["):
        records = records  # a file that starts with '[' is read as one JSON array
    try:
        report = ingest(ws, "orders", path, mode="replace")
    except IngestError as exc:
        assert "\n" not in str(exc)
        return
    if lines and lines[0] is not None and lines[0].startswith("["):
        return  # read as one JSON array: not lines
    assert_nothing_lost_or_merged(ws, report, records)


@settings_
@given(
    amounts=st.lists(
        st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none()), min_size=1, max_size=20
    ),
    as_text=st.booleans(),
    dates_as_numbers=st.booleans(),
)
def test_parquet_with_wrong_types_loses_nothing(  # noqa: ANN001
    ws: Workspace, tmp_path_factory, amounts, as_text, dates_as_numbers
) -> None:
    n = len(amounts)
    table = pa.table(
        {
            "order_id": [f"o{i + 1}" for i in range(n)],
            "customer_id": [f"c{i % 3}" if i % 5 else "c\x00" for i in range(n)],
            "ordered_at": list(range(20240101, 20240101 + n)) if dates_as_numbers else ["2024-01-02"] * n,
            "amount": [None if a is None else str(a) for a in amounts] if as_text else amounts,
        }
    )
    path = tmp_path_factory.getbasetemp() / f"hostile{next(counter)}.parquet"
    pq.write_table(table, path)
    try:
        report = ingest(ws, "orders", path, mode="replace")
    except IngestError as exc:
        assert "\n" not in str(exc)
        return
    assert_nothing_lost_or_merged(ws, report, list(range(1, n + 1)))
