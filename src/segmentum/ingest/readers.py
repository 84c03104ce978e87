"""Readers: put any source (CSV/TSV, Excel, Parquet, JSON lines, a database table) into a DuckDB staging table.

The staging table `__stg` holds `__line` (where the row is in the source, as a user would find it) and one
column per source column (`c0`, `c1`, ...). Text sources stage every value as text; typed sources (Parquet,
DuckDB tables) keep their types. Rows a reader cannot even split into columns (a ragged CSV row, a line that
is not JSON) go to `__rej` and later to the quarantine. Sources are read in chunks, never whole into memory.

Line numbers: CSV/TSV the physical line where the row starts (header = line 1); Excel the sheet's row
number (header = row 1); JSON lines the line number; Parquet and database tables the 1-based row number.

A source of more rows than a chunk (`chunk_rows`) is then checked and stored chunk by chunk (`chunks`): a
Parquet file is read again per chunk (a filter on its row number skips the other row groups), never staged
whole; the other sources are staged whole once as `__src` (text in DuckDB's compressed columns: one copy of
the source) and a chunk at a time is copied from it into `__stg`. Either way `Staged.relation` names all the
screened rows, on which the ingest decides what it decides once per file (number format, types, dates).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
import re
import sqlite3
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

import duckdb
import pyarrow as pa

from segmentum.errors import IngestError
from segmentum.ingest.detect import SNIFF_BYTES, detect_delimiter, detect_encoding, normalize_encoding
from segmentum.progress import BYTES, notify
from segmentum.sql import one

if TYPE_CHECKING:
    from segmentum.progress import Progress

BATCH_ROWS = 50_000
STG = "__stg"
REJ = "__rej"
SRC = "__src"  # every staged row of a source checked in chunks (a table, or a view of a Parquet file)
URL_SCHEMES = ("duckdb", "sqlite", "postgresql", "postgres")
TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".tab", ".dat"}


@dataclass
class Staged:
    """What a reader put into the staging tables."""

    source_name: str
    kind: str  # csv | excel | parquet | jsonl | duckdb | sqlite | postgresql
    columns: list[str]  # source column names, unique, in source order
    types: dict[str, str]  # source column -> DuckDB type of its staging column
    rows: int = 0  # rows staged
    rejected: int = 0  # rows in __rej
    encoding: str | None = None
    delimiter: str | None = None
    notes: list[str] = field(default_factory=list)
    relation: str = STG  # all the screened rows: the decisions made once per file read them
    parquet: str | None = None  # a Parquet file read chunk by chunk (its select list of c0, c1, ...)
    chunked: bool = False  # more rows than a chunk: `chunks` stages them a chunk at a time

    @property
    def numbers_as_text(self) -> bool:
        """Values were typed by a person (CSV): decimal commas and thousands separators may occur."""
        return self.kind == "csv"

    def staging_column(self, source_column: str) -> str:
        return f"c{self.columns.index(source_column)}"


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def is_url(source: str) -> bool:
    return "://" in source and source.split("://", 1)[0].lower() in URL_SCHEMES


def display_source(source: str | Path) -> str:
    """The source as written to the quarantine and the ingest log (passwords removed from URLs)."""
    text = str(source)
    if is_url(text):
        parts = urlsplit(text)
        if parts.password:
            text = text.replace(f":{parts.password}@", ":***@")
    return text


def stage(
    cur: duckdb.DuckDBPyConnection,
    source: str | Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    progress: Progress | None = None,
    na_values: Sequence[str] = (),
    chunk_rows: int | None = None,
) -> Staged:
    """Read `source` into the staging tables `__stg` and `__rej` of the cursor's connection, then `screen` it.

    A source of more than `chunk_rows` rows is left for `chunks` to stage a chunk at a time (`Staged.chunked`).
    The readers that loop in Python report to `progress`: the line-by-line CSV reader and JSON lines in bytes
    read, Excel in rows; DuckDB's own readers (Parquet, well-formed CSV) report their start and end."""
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE {REJ} (line BIGINT, column_name VARCHAR, reason VARCHAR, raw VARCHAR)"
    )
    text = str(source)
    if is_url(text):
        return _whole(cur, screen(cur, _stage_url(cur, text), na_values), chunk_rows)
    path = Path(text).expanduser()
    if not path.exists():
        raise IngestError(
            f"no such file: {path}; give a path to a CSV, TSV, Excel, Parquet or JSON lines file, "
            "or a database URL such as sqlite:///shop.db?table=orders"
        )
    if path.is_dir():
        raise IngestError(f"{path} is a folder; give a file (CSV, TSV, Excel .xlsx, Parquet, JSON lines)")
    kind = _kind_of(path)
    if kind == "parquet":
        size = path.stat().st_size
        notify(progress, 0, size, f"reading {path.name}", BYTES)
        staged = _stage_parquet(cur, path, chunk_rows)
        notify(progress, size, size, f"reading {path.name}", BYTES)
        if staged.chunked:
            return _parquet_view(cur, staged, na_values)
    elif kind == "excel":
        staged = _stage_excel(cur, path, progress=progress)
    elif kind == "jsonl":
        staged = _stage_jsonl(cur, path, encoding=encoding, progress=progress)
    else:
        staged = _stage_csv(cur, path, encoding=encoding, delimiter=delimiter, progress=progress)
    return _whole(cur, screen(cur, staged, na_values), chunk_rows)


def _whole(cur: duckdb.DuckDBPyConnection, staged: Staged, chunk_rows: int | None) -> Staged:
    """A staged source of more rows than a chunk becomes `__src`, from which `chunks` copies a chunk at a time."""
    if chunk_rows is not None and staged.rows > chunk_rows:
        cur.execute(f"DROP TABLE IF EXISTS temp.{SRC}")
        cur.execute(f"ALTER TABLE {STG} RENAME TO {SRC}")
        staged.relation, staged.chunked = SRC, True
    return staged


def chunks(
    cur: duckdb.DuckDBPyConnection, staged: Staged, chunk_rows: int, na_values: Sequence[str] = ()
) -> Iterator[int]:
    """Put each chunk of the source's rows in turn into `__stg` (screened; its rejects added to `__rej`) and
    yield its number (0, 1, ...). A source of one chunk is already there: nothing is copied."""
    if not staged.chunked:
        yield 0
        return
    if staged.parquet is not None:
        total = staged.rows + staged.rejected
        for number, start in enumerate(range(0, max(total, 1), chunk_rows)):
            # a filter on file_row_number skips the row groups outside the chunk (their statistics)
            cur.execute(
                f"CREATE OR REPLACE TEMP TABLE {STG} AS SELECT file_row_number + 1 AS __line, {staged.parquet} "
                f"WHERE file_row_number >= {start} AND file_row_number < {start + chunk_rows}"
            )
            screen(cur, staged, na_values)
            yield number
        return
    end = one(cur.execute(f"SELECT coalesce(max(rowid) + 1, 0) FROM {SRC}"))[0]
    for number, start in enumerate(range(0, max(end, 1), chunk_rows)):
        # rows in their staged (file) order, so rowid ranges are line ranges; the filter prunes by rowid
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE {STG} AS SELECT * FROM {SRC} "
            f"WHERE rowid >= {start} AND rowid < {start + chunk_rows}"
        )
        yield number


def _parquet_view(cur: duckdb.DuckDBPyConnection, staged: Staged, na_values: Sequence[str]) -> Staged:
    """The view `__src` of a Parquet file checked in chunks: its rows as `screen` leaves them (declared missing
    values missing, rows it would reject left out), for the decisions made once per file."""
    sets, bad, _ = _screening(staged, na_values)
    cleaned = ", ".join(sets.get(f"c{i}", f"c{i}") + f" AS c{i}" for i in range(len(staged.columns)))
    cur.execute(f"DROP VIEW IF EXISTS temp.{SRC}")
    cur.execute(
        f"CREATE TEMP VIEW {SRC} AS SELECT * FROM (SELECT file_row_number + 1 AS __line, "
        f"{cleaned or 'NULL AS c0'} FROM (SELECT file_row_number, {staged.parquet}))"
        + (f" WHERE NOT ({bad})" if bad else "")
    )
    staged.relation = SRC
    return staged


def _screening(staged: Staged, na_values: Sequence[str]) -> tuple[dict[str, str], str, str]:
    """What `screen` does, as SQL: (staging column -> its value with declared missing values missing, the
    condition of a row to reject, the reason), the last two empty when no row can be rejected."""
    text = [c for c in staged.columns if _base_type(staged.types.get(c)) == "VARCHAR"]
    floats = [c for c in staged.columns if _base_type(staged.types.get(c)) in ("DOUBLE", "FLOAT", "REAL")]
    declared = [v.strip() for v in na_values if v is not None and v.strip()]
    nan_missing = any(v.lower() == "nan" for v in declared)
    sets = {
        staged.staging_column(c): f"CASE WHEN trim({staged.staging_column(c)}) IN "
        f"({', '.join(lit(v) for v in declared)}) THEN NULL ELSE {staged.staging_column(c)} END"
        for c in (text if declared else [])
    }
    sets.update(
        {
            staged.staging_column(c): f"CASE WHEN isnan({staged.staging_column(c)}) THEN NULL "
            f"ELSE {staged.staging_column(c)} END"
            for c in (floats if nan_missing else [])
        }
    )
    checks = [
        (f"contains({staged.staging_column(c)}, chr(0))", "contains a NUL character (binary data)")
        for c in text
    ]
    if not nan_missing:
        checks += [
            (
                f"isnan({staged.staging_column(c)})",
                f"{c!r} holds NaN (not a number); declare it missing with --na-values NaN",
            )
            for c in floats
        ]
    if not checks:
        return sets, "", ""
    reason = "CASE " + " ".join(f"WHEN {cond} THEN {lit(why)}" for cond, why in checks) + " END"
    bad = " OR ".join(f"coalesce({cond}, false)" for cond, _ in checks)
    return sets, bad, reason


def screen(cur: duckdb.DuckDBPyConnection, staged: Staged, na_values: Sequence[str] = ()) -> Staged:
    """The checks every source gets once staged, whatever its reader: declared missing values (`na_values`)
    become missing; a row holding a NUL character (binary data) or a NaN number is quarantined."""
    sets, bad, reason = _screening(staged, na_values)
    if sets:
        cur.execute(f"UPDATE {STG} SET {', '.join(f'{c} = {v}' for c, v in sets.items())}")
    if not bad:
        return staged
    raw = (
        "concat_ws("
        + ", ".join(
            [lit(staged.delimiter or ",")]
            + [
                f"replace(coalesce(CAST({staged.staging_column(c)} AS VARCHAR), ''), chr(0), '\\0')"
                for c in staged.columns
            ]
        )
        + ")"
    )
    found = one(cur.execute(f"SELECT count(*) FROM {STG} WHERE {bad}"))[0]
    if found:
        cur.execute(
            f"INSERT INTO {REJ} SELECT __line, NULL, {reason}, left({raw}, 10000) FROM {STG} WHERE {bad}"
        )
        cur.execute(f"DELETE FROM {STG} WHERE {bad}")
        staged.rows -= found
        staged.rejected += found
    return staged


def one_line(exc: BaseException) -> str:
    """An error's message on one line: DuckDB's messages span several (a title, a context, a hint)."""
    lines = [" ".join(line.split()) for line in str(exc).splitlines()]
    return next((line for line in lines if line), type(exc).__name__)


def _base_type(type_name: str | None) -> str:
    return (type_name or "VARCHAR").split("(")[0].strip().upper()


def _kind_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    if suffix in {".xlsx", ".xlsm"}:
        return "excel"
    if suffix == ".xls":
        raise IngestError(f"{path}: the old Excel format .xls is not supported; save it as .xlsx or .csv")
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    if suffix in TEXT_SUFFIXES:
        return "csv"
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "excel"
    if head.lstrip()[:1] in (b"{", b"["):
        return "jsonl"
    return "csv"


def unique_names(names: Iterable[Any]) -> list[str]:
    """Header cells as unique column names (blank ones become column_N, repeats get _2, _3)."""
    result: list[str] = []
    seen: set[str] = set()
    for index, raw in enumerate(names):
        name = "" if raw is None else str(raw).strip()
        name = name.replace("\x00", "")
        if not name:
            name = f"column_{index + 1}"
        base, n = name, 2
        while name in seen:
            name = f"{base}_{n}"
            n += 1
        seen.add(name)
        result.append(name)
    return result


class _Batcher:
    """Collects text rows and appends them to the staging table in batches."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, ncols: int, on_flush: Any = None) -> None:
        self.cur = cur
        self.ncols = ncols
        self.lines: list[int] = []
        self.records: list[list[str | None]] = []
        self.rows = 0
        self.rejects: list[tuple[int, str | None, str, str]] = []
        self.rejected = 0
        self.on_flush = on_flush
        cols = ", ".join(f"c{i} VARCHAR" for i in range(ncols))
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {STG} (__line BIGINT, {cols})")

    def add(self, line: int, values: Sequence[str | None]) -> None:
        """A row of exactly `ncols` values; empty strings are stored as missing values."""
        self.lines.append(line)
        self.records.append(list(values))
        if len(self.lines) >= BATCH_ROWS:
            self.flush()

    def reject(self, line: int, column: str | None, reason: str, raw: str) -> None:
        self.rejects.append((line, column, reason, raw))
        if len(self.rejects) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.lines:
            # transposed in C (zip) rather than per value in Python: CSV staging is the hot loop
            columns = list(zip(*self.records, strict=True))
            arrays = {"__line": pa.array(self.lines, pa.int64())}
            for i in range(self.ncols):
                arrays[f"c{i}"] = pa.array(columns[i], pa.string())
            self.cur.register("__batch", pa.table(arrays))
            try:
                cols = ", ".join(f"nullif(c{i}, '')" for i in range(self.ncols))
                self.cur.execute(f"INSERT INTO {STG} SELECT __line, {cols} FROM __batch")
            finally:
                self.cur.unregister("__batch")
            self.rows += len(self.lines)
            self.lines = []
            self.records = []
        if self.rejects:
            self.cur.executemany(f"INSERT INTO {REJ} VALUES (?, ?, ?, ?)", self.rejects)
            self.rejected += len(self.rejects)
            self.rejects = []
        if self.on_flush is not None:
            self.on_flush()


# ---------------------------------------------------------------------------------------------- CSV
#
# CSV/TSV is parsed by DuckDB's own reader (parallel, in C) whenever the file is well formed: every record on
# one physical line, no record DuckDB rejects, and as many records as the file has non-blank lines. Anything
# else (a stray quote, a ragged row, values holding line breaks, bytes that are not UTF-8) is read again line
# by line in Python, which decides the file's records from its physical lines (see _stage_csv_lines). Files in
# other encodings are first transcoded, streaming, to a temporary UTF-8 file.

MAX_SPAN_LINES = 100  # a quoted value may hold at most this many line breaks
MAX_SPAN_CHARS = 1 << 20  # ... and at most this many characters across them
_CSV_REJ = "__csv_rej"
_CSV_SCAN = "__csv_scan"


def _stage_csv(
    cur: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    encoding: str | None,
    delimiter: str | None,
    progress: Progress | None,
) -> Staged:
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise IngestError(f"{path} is empty: there is no header line with column names")
    enc = normalize_encoding(encoding) if encoding else detect_encoding(head)
    head_text = head.decode(enc, errors="replace")
    if delimiter is not None:
        delim = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}.get(
            delimiter.lower(), delimiter
        )
        if len(delim) != 1:
            raise IngestError(
                f"--delimiter {delimiter!r} must be one character (or tab, comma, semicolon, pipe)"
            )
    else:
        delim = detect_delimiter(head_text, suffix=path.suffix.lower())
    staged = Staged(display_source(path), "csv", [], {}, encoding=enc, delimiter=delim)
    staged.notes.append(f"read {path.name} as {enc}, delimiter {_delim_name(delim)}")
    newline = "\n" if "\n" in head_text or "\r" not in head_text else "\r"
    with tempfile.TemporaryDirectory(prefix="segmentum-ingest-") as tmp:
        text = path
        if enc not in ("utf-8", "utf-8-sig"):
            text = _transcode(path, enc, Path(tmp) / "utf8.csv", newline)
        size = text.stat().st_size
        notify(progress, 0, size, f"reading {path.name}", BYTES)
        if not _stage_csv_fast(cur, text, staged, delim, newline):
            _stage_csv_lines(cur, text, path, staged, delim, newline, enc, progress)
        notify(progress, size, size, f"reading {path.name}", BYTES)
    return staged


def _encoding_hint(enc: str) -> str:
    others = [e for e in ("utf-8", "cp1251", "cp1252", "latin-1", "utf-16") if e != enc]
    return (
        "pass the file's encoding with --encoding (e.g. " + ", ".join(f"--encoding {e}" for e in others) + ")"
    )


def _transcode(path: Path, enc: str, target: Path, newline: str) -> Path:
    """`path` decoded from `enc` into a UTF-8 file, streaming; an undecodable byte stops with its true line."""
    decoder = codecs.getincrementaldecoder(enc)(errors="strict")
    lines_before = 0
    with path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as out:
        while True:
            chunk = src.read(1 << 20)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                prefix = bytes(exc.object[: exc.start]).decode(enc, errors="replace")
                line = lines_before + prefix.count(newline) + 1
                raise IngestError(
                    f"{path}:{line}: cannot decode the bytes of line {line} as {enc} ({exc.reason}); "
                    + _encoding_hint(enc)
                ) from None
            out.write(text)
            lines_before += text.count(newline)
            if not chunk:
                break
    return target


def _first_line(path: Path, newline: str) -> str | None:
    """The file's first physical line as text, or None when it is blank or not UTF-8."""
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    end = head.find(newline.encode())
    if end < 0:
        end = len(head)
    try:
        line = head[:end].decode("utf-8").lstrip("\ufeff").rstrip("\r")
    except UnicodeDecodeError:
        return None
    return line if line.strip() else None


def _line_scan(path: Path, newline: str) -> tuple[int, list[int]]:
    """(the number of physical lines, the numbers of the empty ones), at C speed."""
    nl = newline.encode()
    empty = re.compile(rb"\n(?=\r?\n)" if nl == b"\n" else rb"\r(?=\r)")
    total = 0  # newlines before `buf`
    blanks: list[int] = []
    carry = b""
    last = b""
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(1 << 22)
            buf = carry + chunk
            if not buf:
                break
            limit = len(buf) if not chunk else max(len(buf) - 2, 0)  # the lookahead needs 2 bytes
            if b"\n\n" in buf or b"\n\r\n" in buf or b"\r\r" in buf:
                pos, count = 0, total
                for m in empty.finditer(buf, 0, len(buf)):
                    if m.start() >= limit:
                        break
                    count += buf.count(nl, pos, m.start() + 1)
                    pos = m.start() + 1
                    blanks.append(count + 1)
            total += buf.count(nl, 0, limit)
            last = buf[limit - 1 : limit] if limit else last
            carry = buf[limit:]
            if not chunk:
                break
    lines = total + (1 if last and last != nl else 0)
    return lines, blanks


def _stage_csv_fast(
    cur: duckdb.DuckDBPyConnection, path: Path, staged: Staged, delim: str, newline: str
) -> bool:
    """Parse with DuckDB's read_csv. False (nothing staged) when the file is not simple enough to trust the
    line numbers and records DuckDB gives: then it is read line by line."""
    header = _first_line(path, newline)
    if header is None:
        return False
    if not one(cur.execute("SELECT current_setting('preserve_insertion_order')"))[0]:
        return False  # the rows' order (their rowid) is what gives them their line numbers
    try:
        names = next(csv.reader([header], delimiter=delim, strict=True))
    except csv.Error:
        return False
    if len(names) < 2 or not any(f.strip() for f in names):
        return False  # one column: DuckDB would read a line of spaces as a value, not as a blank line
    n = len(names)
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n)) + "}"
    for name in (_CSV_REJ, _CSV_SCAN):
        cur.execute(f"DROP TABLE IF EXISTS temp.{name}")
    try:
        # straight into the staging table (one copy of the text, in file order: rowid k is the k-th record)
        values = ", ".join(f"nullif(c{i}, '') AS c{i}" for i in range(n))
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE {STG} AS SELECT {values} FROM read_csv({lit(str(path))}, header = true, "
            f"delim = {lit(delim)}, quote = '\"', escape = '\"', columns = {columns}, auto_detect = false, "
            f"store_rejects = true, rejects_table = '{_CSV_REJ}', rejects_scan = '{_CSV_SCAN}', "
            "rejects_limit = 1, strict_mode = true, null_padding = false, encoding = 'utf-8')"
        )
        rejected = one(cur.execute(f"SELECT count(*) FROM {_CSV_REJ}"))[0]
        rows = one(cur.execute(f"SELECT count(*) FROM {STG}"))[0]
        ok = rejected == 0
        if ok and rows:
            breaks = " OR ".join(f"contains(c{i}, chr(10)) OR contains(c{i}, chr(13))" for i in range(n))
            ok = not cur.execute(f"SELECT 1 FROM {STG} WHERE {breaks} LIMIT 1").fetchall()
        if ok:
            lines, blanks = _line_scan(path, newline)
            ok = rows == lines - 1 - len(blanks)
        if not ok:
            cur.execute(f"DROP TABLE IF EXISTS temp.{STG}")
            return False
        # record k (0-based rowid, file order) is on line k + 2 + the blank lines before it; an UPDATE of the
        # staged rows in place costs a fraction of an ordered copy
        cur.execute(f"ALTER TABLE {STG} ADD COLUMN __line BIGINT")
        if not blanks:
            cur.execute(f"UPDATE {STG} SET __line = rowid + 2")
        else:
            cur.execute("CREATE OR REPLACE TEMP TABLE __blank (threshold BIGINT, shift BIGINT)")
            shifts = {
                b - 2 - j: j + 1 for j, b in enumerate(blanks)
            }  # consecutive blank lines: the last wins
            cur.executemany("INSERT INTO __blank VALUES (?, ?)", list(shifts.items()))
            cur.execute(
                f"UPDATE {STG} SET __line = x.line FROM (SELECT r.rowid AS k, r.rowid + 2 + coalesce(b.shift, 0) "
                f"AS line FROM {STG} r ASOF LEFT JOIN __blank b ON r.rowid + 1 > b.threshold) x "
                f"WHERE {STG}.rowid = x.k"
            )
    except duckdb.Error:
        cur.execute(f"DROP TABLE IF EXISTS temp.{STG}")
        return False  # the line-by-line reader gives the precise error
    finally:
        for name in (_CSV_REJ, _CSV_SCAN, "__blank"):
            cur.execute(f"DROP TABLE IF EXISTS temp.{name}")
    staged.columns = unique_names(names)
    staged.types = {c: "VARCHAR" for c in staged.columns}
    staged.rows = rows
    return True


def _physical_lines_of(
    path: Path, newline: str, source: Path, enc: str, position: list[int]
) -> Iterator[tuple[int, str]]:
    """(line number, text without its line break) of a UTF-8 file; bytes that are not UTF-8 stop the ingest
    with their true line. `position[0]` follows the bytes read (for the progress bar)."""
    nl = newline.encode()
    number = 0
    carry = b""

    def text_of(raw: bytes) -> str:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise IngestError(
                f"{source}:{number}: cannot decode byte {exc.start + 1} of line {number} as {enc} "
                f"({exc.reason}); " + _encoding_hint(enc)
            ) from None
        if number == 1:
            text = text.lstrip("\ufeff")
        return text[:-1] if newline == "\n" and text.endswith("\r") else text

    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            position[0] += len(chunk)
            parts = (carry + chunk).split(nl)
            carry = parts.pop()
            for raw in parts:
                number += 1
                yield number, text_of(raw)
    if carry:
        number += 1
        yield number, text_of(carry)


def _stage_csv_lines(
    cur: duckdb.DuckDBPyConnection,
    path: Path,
    source: Path,
    staged: Staged,
    delim: str,
    newline: str,
    enc: str,
    progress: Progress | None,
) -> None:
    """Read a CSV line by line. The records are decided from the physical lines: a record is one line, or
    several when a quoted value holds line breaks. Such a record is kept only when its quote closes within
    MAX_SPAN_LINES lines, it has the header's number of fields, and none of the lines it spans reads on its own
    as a complete record (which would be another record swallowed by a stray quote). Otherwise the line that
    opens the quote is quarantined and the following lines are read again on their own: one with an odd number
    of quotes (the stray quote's partner) is quarantined too, the others are stored."""
    position = [0]
    lines = _physical_lines_of(path, newline, source, enc, position)
    pending: deque[tuple[int, str, bool]] = deque()  # lines read ahead and given back (number, text, suspect)
    joiner = "\n" if newline == "\n" else "\r"
    width: int | None = None  # the header's number of fields

    def pull() -> tuple[int, str, bool] | None:
        if pending:
            return pending.popleft()
        item = next(lines, None)
        return None if item is None else (item[0], item[1], False)

    def parse(text: str) -> list[str]:
        return next(csv.reader([text], delimiter=delim, strict=True))

    def fits(fields: list[str]) -> bool:
        if width is None:
            return True
        return len(fields) == width or (len(fields) > width and not any(f.strip() for f in fields[width:]))

    def is_record(text: str) -> bool:
        if width is None or not text.strip():
            return False
        try:
            return fits(parse(text))
        except csv.Error:
            return False

    def read_record(first: tuple[int, str, bool]) -> tuple[list[str] | None, str | None]:
        """The fields of the record that starts with `first`, or why the line cannot be read."""
        _, text, suspect = first
        if suspect and text.count('"') % 2:
            return None, (
                "holds an unbalanced quote: it closes a quote opened on an earlier line that could not be "
                "read as one record (each line is read on its own)"
            )
        try:
            return parse(text), None
        except csv.Error as exc:
            if "unexpected end of data" not in str(exc):
                return None, f"cannot read the line as CSV ({exc}); check the quoting"
        taken: list[tuple[int, str, bool]] = []
        joined = text
        while not suspect and len(taken) < MAX_SPAN_LINES and len(joined) <= MAX_SPAN_CHARS:
            item = pull()
            if item is None:
                break
            taken.append(item)
            joined += joiner + item[1]
            try:
                fields = parse(joined)
            except csv.Error as exc:
                if "unexpected end of data" in str(exc):
                    continue
                break
            if fits(fields) and not any(is_record(t) for _, t, _ in taken):
                return fields, None
            break
        for item in reversed(taken):
            pending.appendleft((item[0], item[1], True))
        return None, (
            "a quote opened on this line is not closed on it (an unbalanced quote); a quoted value may hold "
            f"line breaks only when it closes within {MAX_SPAN_LINES} lines, the record has the header's "
            "number of fields and swallows no line that is a record of its own; the following lines are "
            "read on their own"
        )

    header: list[str] | None = None
    while (item := pull()) is not None:
        if not item[1].strip():
            continue
        fields, error = read_record(item)
        if fields is None:
            raise IngestError(f"{source}:{item[0]}: cannot read the header line ({error})")
        if any(f.strip() for f in fields):
            header = fields
            break
    if header is None:
        raise IngestError(f"{source} holds no header line with column names")
    staged.columns = unique_names(header)
    staged.types = {c: "VARCHAR" for c in staged.columns}
    width = n = len(header)
    size = path.stat().st_size  # the file read: the UTF-8 copy of a file in another encoding
    label = f"reading {source.name}"

    def flush() -> None:
        notify(progress, min(position[0], size), size, label, BYTES)

    batcher = _Batcher(cur, n, flush)
    while (item := pull()) is not None:
        line, text, _ = item
        if not text.strip():
            continue  # a blank line
        record, error = read_record(item)
        if record is None:
            batcher.reject(line, None, error or "cannot read the line", text[:10_000])
            continue
        if len(record) != n:
            if len(record) > n and not any(f.strip() for f in record[n:]):
                record = record[:n]  # trailing delimiters
            else:
                batcher.reject(
                    line,
                    None,
                    f"expected {n} fields as in the header, found {len(record)}"
                    " (a missing or extra delimiter, or an unclosed quote)",
                    text[:10_000],
                )
                continue
        batcher.add(line, record)
    batcher.flush()
    staged.rows, staged.rejected = batcher.rows, batcher.rejected


def _delim_name(delim: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe", " ": "space"}.get(delim, repr(delim))


# ---------------------------------------------------------------------------------------------- Parquet


def _stage_parquet(cur: duckdb.DuckDBPyConnection, path: Path, chunk_rows: int | None = None) -> Staged:
    try:
        desc = cur.execute(f"DESCRIBE SELECT * FROM read_parquet({lit(str(path))})").fetchall()
    except duckdb.Error as exc:
        raise IngestError(f"{path}: cannot read as Parquet ({one_line(exc)})") from None
    columns = unique_names(r[0] for r in desc)
    staged = Staged(
        display_source(path), "parquet", columns, {c: r[1] for c, r in zip(columns, desc, strict=True)}
    )
    select = ", ".join(f"{q(r[0])} AS c{i}" for i, r in enumerate(desc))
    source = f"FROM read_parquet({lit(str(path))}, file_row_number = true)"
    try:
        if chunk_rows is not None:
            total = one(cur.execute(f"SELECT count(*) {source}"))[0]  # from the file's metadata
            if total > chunk_rows:
                staged.rows, staged.chunked, staged.parquet = total, True, f"{select} {source}"
                return staged
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE {STG} AS SELECT file_row_number + 1 AS __line, {select} {source}"
        )
    except duckdb.Error as exc:
        raise IngestError(f"{path}: cannot read as Parquet ({one_line(exc)})") from None
    staged.rows = one(cur.execute(f"SELECT count(*) FROM {STG}"))[0]
    return staged


# ---------------------------------------------------------------------------------------------- Excel


def text_value(value: Any) -> str | None:
    """A Python value from a typed reader (Excel, JSON, DB-API) as staging text."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "NaN" if value != value else repr(value)  # NaN is checked like a CSV's "NaN" text
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def _stage_rows(
    staged: Staged,
    cur: duckdb.DuckDBPyConnection,
    rows: Iterator[tuple[int, list[Any]]],
    on_flush: Any = None,
) -> Staged:
    """Stage (line, values) rows of a typed reader whose header is already known."""
    n = len(staged.columns)
    batcher = _Batcher(cur, n, on_flush)
    for line, values in rows:
        values = list(values)
        if len(values) > n and all(v is None or v == "" for v in values[n:]):
            values = values[:n]
        if len(values) != n:
            batcher.reject(
                line,
                None,
                f"expected {n} values as in the header, found {len(values)}",
                json.dumps([text_value(v) for v in values], ensure_ascii=False),
            )
            continue
        batcher.add(line, [text_value(v) for v in values])
    batcher.flush()
    staged.rows, staged.rejected = batcher.rows, batcher.rejected
    return staged


def _stage_excel(cur: duckdb.DuckDBPyConnection, path: Path, *, progress: Progress | None = None) -> Staged:
    import zipfile

    import openpyxl

    handle = path.open("rb")  # a file object: openpyxl would refuse a name without an Excel suffix
    try:
        book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for files that are not workbooks
        handle.close()
        raise IngestError(
            f"{path}: cannot read as an Excel .xlsx workbook ({type(exc).__name__}: {exc})"
        ) from None
    try:
        sheet = book.active if book.active is not None else book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header: list[str] | None = None
        header_line = 0
        for index, row in enumerate(rows, start=1):
            if row and any(v is not None and str(v).strip() for v in row):
                cells = list(row)
                while cells and (cells[-1] is None or str(cells[-1]).strip() == ""):
                    cells.pop()
                header, header_line = unique_names(cells), index
                break
        if header is None:
            raise IngestError(f"{path}: the first sheet is empty; there is no header row with column names")
        staged = Staged(display_source(path), "excel", header, {c: "VARCHAR" for c in header})
        staged.notes.append(f"read sheet {sheet.title!r} of {path.name}, header on row {header_line}")

        # the sheet's declared last row (its <dimension>); None when the file does not say
        total = sheet.max_row if isinstance(sheet.max_row, int) and sheet.max_row > 0 else None
        label = f"reading the rows of {path.name}"
        at = [header_line]

        def body() -> Iterator[tuple[int, list[Any]]]:
            for index, row in enumerate(rows, start=header_line + 1):
                at[0] = index
                if not row or all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
                    continue
                yield index, list(row)

        def flush() -> None:
            notify(progress, at[0] if total is None else min(at[0], total), total, label)

        notify(progress, 0, total, label)
        _stage_rows(staged, cur, body(), flush)
        end = max(at[0], total or 0)  # the declared dimension may be short of the rows there are
        notify(progress, end, end, label)
        return staged
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise IngestError(f"{path}: cannot read the Excel workbook ({type(exc).__name__}: {exc})") from None
    finally:
        book.close()
        handle.close()


# ---------------------------------------------------------------------------------------------- JSON lines


def _stage_jsonl(
    cur: duckdb.DuckDBPyConnection, path: Path, *, encoding: str | None, progress: Progress | None = None
) -> Staged:
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if not head.strip():
        raise IngestError(f"{path} is empty: there are no JSON records")
    enc = normalize_encoding(encoding) if encoding else detect_encoding(head)
    size = path.stat().st_size
    position = [0]  # bytes read of the file (of its UTF-8 copy when transcoded: clamped to the size)
    label = f"reading {path.name}"
    notify(progress, 0, size, label, BYTES)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"[":
        # A JSON array (not lines): read whole; such files are small in practice.
        try:
            data = json.loads(path.read_text(encoding=enc))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise IngestError(
                f"{path}: not valid JSON ({exc}); expected JSON lines or an array of objects"
            ) from None
        records: Iterable[tuple[int, Any, str]] = (
            (i, _BadJson("a \\u escape is a lone UTF-16 surrogate, which is no character"), json.dumps(rec))
            if _lone_surrogate(rec)
            else (i, rec, json.dumps(rec, ensure_ascii=False))
            for i, rec in enumerate(data, start=1)
        )
    else:
        records = _json_lines(path, enc, position)
    staged = Staged(display_source(path), "jsonl", [], {}, encoding=enc)
    columns: dict[str, int] = {}
    cur.execute(f"CREATE OR REPLACE TEMP TABLE {STG} (__line BIGINT)")
    pending: list[tuple[int, dict[str, Any]]] = []
    rejects: list[tuple[int, str | None, str, str]] = []

    def flush() -> None:
        if rejects:
            cur.executemany(f"INSERT INTO {REJ} VALUES (?, ?, ?, ?)", rejects)
            staged.rejected += len(rejects)
            rejects.clear()
        if not pending:
            return
        arrays: dict[str, Any] = {"__line": pa.array([p[0] for p in pending], pa.int64())}
        for name, i in columns.items():
            arrays[f"c{i}"] = pa.array([text_value(p[1].get(name)) for p in pending], pa.string())
        cur.register("__batch", pa.table(arrays))
        try:
            cur.execute(f"INSERT INTO {STG} BY NAME SELECT * FROM __batch")
        finally:
            cur.unregister("__batch")
        staged.rows += len(pending)
        pending.clear()
        notify(progress, min(position[0], size), size, label, BYTES)

    for line, record, raw in records:
        if isinstance(record, _BadJson):
            rejects.append((line, None, f"not valid JSON ({record.reason})", raw[:10_000]))
            continue
        if not isinstance(record, dict):
            rejects.append((line, None, 'not a JSON object (expected {"column": value, ...})', raw[:10_000]))
            continue
        for key in record:
            if key not in columns:
                columns[key] = len(columns)
                cur.execute(f"ALTER TABLE {STG} ADD COLUMN c{columns[key]} VARCHAR")
        pending.append((line, record))
        if len(pending) >= BATCH_ROWS or len(rejects) >= BATCH_ROWS:
            flush()
    flush()
    notify(progress, size, size, label, BYTES)
    staged.columns = unique_names(columns)
    staged.types = {c: "VARCHAR" for c in staged.columns}
    if not columns and staged.rows == 0 and staged.rejected == 0:
        raise IngestError(f"{path} holds no JSON records")
    if not columns:
        # only rejected lines: keep one placeholder column so the rest of the ingest runs
        cur.execute(f"ALTER TABLE {STG} ADD COLUMN c0 VARCHAR")
        staged.columns, staged.types = ["value"], {"value": "VARCHAR"}
    return staged


@dataclass
class _BadJson:
    reason: str


def _json_lines(path: Path, enc: str, position: list[int]) -> Iterator[tuple[int, Any, str]]:
    with tempfile.TemporaryDirectory(prefix="segmentum-ingest-") as tmp:
        text = (
            path if enc in ("utf-8", "utf-8-sig") else _transcode(path, enc, Path(tmp) / "utf8.jsonl", "\n")
        )
        # split on \n only: JSON strings may hold other line separators (U+2028) that str.splitlines would cut
        for line_no, line in _physical_lines_of(text, "\n", path, enc, position):
            text_line = line.strip().lstrip("\ufeff")
            if not text_line:
                continue
            try:
                record = json.loads(text_line)
            except (json.JSONDecodeError, RecursionError) as exc:
                yield line_no, _BadJson(str(exc)), text_line
                continue
            if "\\u" in text_line and _lone_surrogate(record):
                yield (
                    line_no,
                    _BadJson("a \\u escape is a lone UTF-16 surrogate, which is no character"),
                    text_line,
                )
                continue
            yield line_no, record, text_line


def _lone_surrogate(record: Any) -> bool:
    """Whether a decoded JSON value holds a lone surrogate (`"\\ud800"`), which no text column can store."""
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# ---------------------------------------------------------------------------------------------- databases


def parse_db_url(url: str) -> tuple[str, str, str]:
    """(scheme, location, table) from `duckdb:///path/file.duckdb?table=x`, `sqlite:///path/file.db?table=x`
    or `postgresql://user:pass@host:5432/db?table=schema.x`."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    params = parse_qs(parts.query)
    tables = params.get("table")
    if not tables or not tables[0].strip():
        raise IngestError(
            f"the database URL {display_source(url)!r} names no table; add ?table=NAME "
            "(e.g. sqlite:///shop.db?table=orders)"
        )
    table = tables[0].strip()
    if scheme in ("duckdb", "sqlite"):
        location = unquote(parts.netloc + parts.path)
        if location.startswith("//"):  # sqlite:////abs/path (SQLAlchemy's spelling)
            location = "/" + location.lstrip("/")
        if location.startswith("/") and not Path(location).exists() and Path(location[1:]).is_file():
            location = location[1:]  # sqlite:///relative/path
        if not location:
            raise IngestError(
                f"the database URL {url!r} names no file; use {scheme}:///absolute/path?table=NAME"
            )
        if not Path(location).is_file():
            raise IngestError(
                f"no such database file {location!r} (from {url!r}); use three slashes and an "
                f"absolute path: {scheme}:///path/to/file?table=NAME"
            )
    else:
        scheme = "postgresql"
        location = url.split("?", 1)[0]
    return scheme, location, table


def _stage_url(cur: duckdb.DuckDBPyConnection, url: str) -> Staged:
    scheme, location, table = parse_db_url(url)
    if scheme == "duckdb":
        return _stage_duckdb(cur, url, location, table)
    if scheme == "sqlite":
        try:
            con = sqlite3.connect(Path(location).resolve().as_uri() + "?mode=ro", uri=True)
        except sqlite3.Error as exc:
            raise IngestError(f"{display_source(url)}: cannot open the SQLite file ({exc})") from None
        ident = ".".join(_sqlite_quote(p) for p in table.split("."))
        try:
            dbcur = con.execute(f"SELECT * FROM {ident}")  # noqa: S608 - identifier quoted
        except sqlite3.Error as exc:
            con.close()
            raise IngestError(
                f"{display_source(url)}: cannot read table {table!r} ({one_line(exc)})"
            ) from None
        return _stage_dbapi(cur, url, "sqlite", con, dbcur)
    try:
        import psycopg
    except ImportError:
        raise IngestError(
            "reading from PostgreSQL needs psycopg: pip install 'segmentum[postgres]'"
        ) from None
    try:
        pg = psycopg.connect(location)
        pgcur = pg.cursor()
        ident = ".".join('"' + p.replace('"', '""') + '"' for p in table.split("."))
        pgcur.execute(f"SELECT * FROM {ident}")  # noqa: S608 - identifier quoted
    except psycopg.Error as exc:
        raise IngestError(f"{display_source(url)}: cannot read table {table!r} ({one_line(exc)})") from None
    return _stage_dbapi(cur, url, "postgresql", pg, pgcur)


def _sqlite_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _stage_duckdb(cur: duckdb.DuckDBPyConnection, url: str, location: str, table: str) -> Staged:
    try:
        cur.execute(f"ATTACH {lit(location)} AS __src (READ_ONLY)")
    except duckdb.Error as exc:
        raise IngestError(f"{display_source(url)}: cannot open the DuckDB file ({one_line(exc)})") from None
    try:
        ident = "__src." + ".".join(q(p) for p in table.split("."))
        try:
            desc = cur.execute(f"DESCRIBE SELECT * FROM {ident}").fetchall()
        except duckdb.Error as exc:
            raise IngestError(
                f"{display_source(url)}: cannot read table {table!r} ({one_line(exc)})"
            ) from None
        columns = unique_names(r[0] for r in desc)
        staged = Staged(
            display_source(url), "duckdb", columns, {c: r[1] for c, r in zip(columns, desc, strict=True)}
        )
        select = ", ".join(f"{q(r[0])} AS c{i}" for i, r in enumerate(desc))
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE {STG} AS SELECT row_number() OVER () AS __line, {select} FROM {ident}"
        )
        staged.rows = one(cur.execute(f"SELECT count(*) FROM {STG}"))[0]
        return staged
    finally:
        cur.execute("DETACH __src")


def _stage_dbapi(cur: duckdb.DuckDBPyConnection, url: str, kind: str, con: Any, dbcur: Any) -> Staged:
    try:
        columns = unique_names(d[0] for d in dbcur.description)
        staged = Staged(display_source(url), kind, columns, {c: "VARCHAR" for c in columns})

        def body() -> Iterator[tuple[int, list[Any]]]:
            line = 0
            while True:
                chunk = dbcur.fetchmany(10_000)
                if not chunk:
                    break
                for row in chunk:
                    line += 1
                    yield line, list(row)

        return _stage_rows(staged, cur, body())
    finally:
        con.close()
