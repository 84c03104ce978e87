"""Readers: put any source (CSV/TSV, Excel, Parquet, JSON lines, a database table) into a DuckDB staging table.

The staging table `__stg` holds `__line` (where the row is in the source, as a user would find it) and one
column per source column (`c0`, `c1`, ...). Text sources stage every value as text; typed sources (Parquet,
DuckDB tables) keep their types. Rows a reader cannot even split into columns (a ragged CSV row, a line that
is not JSON) go to `__rej` and later to the quarantine. Sources are read in chunks, never whole into memory.

Line numbers: CSV/TSV the physical line where the row starts (header = line 1); Excel the sheet's row
number (header = row 1); JSON lines the line number; Parquet and database tables the 1-based row number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import duckdb
import pyarrow as pa

from segmentum.errors import IngestError
from segmentum.ingest.detect import SNIFF_BYTES, detect_delimiter, detect_encoding, normalize_encoding
from segmentum.sql import one

BATCH_ROWS = 50_000
STG = "__stg"
REJ = "__rej"
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
    progress: bool = False,
) -> Staged:
    """Read `source` into the staging tables `__stg` and `__rej` of the cursor's connection."""
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE {REJ} (line BIGINT, column_name VARCHAR, reason VARCHAR, raw VARCHAR)"
    )
    text = str(source)
    if is_url(text):
        return _stage_url(cur, text)
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
        return _stage_parquet(cur, path)
    if kind == "excel":
        return _stage_excel(cur, path)
    if kind == "jsonl":
        return _stage_jsonl(cur, path, encoding=encoding)
    return _stage_csv(cur, path, encoding=encoding, delimiter=delimiter, progress=progress)


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


class _CountingReader(io.RawIOBase):
    """A raw file that tells how many bytes were read (for the progress bar)."""

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self.fh.readinto(b)
        self.count += n or 0
        return n

    def close(self) -> None:
        self.fh.close()
        super().close()


def _stage_csv(
    cur: duckdb.DuckDBPyConnection, path: Path, *, encoding: str | None, delimiter: str | None, progress: bool
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
    csv.field_size_limit(sys.maxsize)
    raw = open(path, "rb")  # noqa: SIM115 - closed below, wrapped for byte counting
    counting = _CountingReader(raw)
    text = io.TextIOWrapper(io.BufferedReader(counting, 1 << 16), encoding=enc, errors="strict", newline="")
    total = path.stat().st_size
    bar = _progress_bar(progress, f"Reading {path.name}", total)
    try:
        reader = csv.reader(text, delimiter=delim, strict=False)
        header: list[str] | None = None
        batcher: _Batcher | None = None
        previous_end = 0
        try:
            for record in reader:  # the header: the first line that is not blank
                previous_end = reader.line_num
                if record and any(f.strip() for f in record):
                    header = unique_names(record)
                    break
            if header is None:
                raise IngestError(f"{path} holds no header line with column names")
            staged.columns = header
            staged.types = {c: "VARCHAR" for c in header}
            n = len(header)
            flush = (lambda: bar[0].update(bar[1], completed=counting.count)) if bar is not None else None
            batcher = _Batcher(cur, n, flush)
            add, reject = batcher.add, batcher.reject
            for record in reader:
                start = previous_end + 1
                previous_end = reader.line_num
                if len(record) != n:
                    if not record or (len(record) == 1 and not record[0].strip()):
                        continue  # a blank line
                    if len(record) > n and not any(f.strip() for f in record[n:]):
                        record = record[:n]  # trailing delimiters
                    else:
                        reject(
                            start,
                            None,
                            f"expected {n} fields as in the header, found {len(record)}"
                            " (a missing or extra delimiter, or an unclosed quote)",
                            delim.join(record)[:10_000],
                        )
                        continue
                if "\x00" in "".join(record):
                    reject(
                        start,
                        None,
                        "contains a NUL character (binary data)",
                        delim.join(record).replace("\x00", "\\0")[:10_000],
                    )
                    continue
                add(start, record)
        except UnicodeDecodeError as exc:
            raise IngestError(
                f"{path}: cannot decode the bytes after line {previous_end} as {enc} ({exc.reason}); "
                "pass the file's encoding with --encoding (e.g. --encoding cp1251 or --encoding utf-16)"
            ) from None
        except csv.Error as exc:
            raise IngestError(
                f"{path}:{previous_end + 1}: cannot read the line as CSV ({exc}); "
                "check the quoting or pass --delimiter"
            ) from None
        batcher.flush()
        staged.rows, staged.rejected = batcher.rows, batcher.rejected
    finally:
        if bar is not None:
            bar[0].update(bar[1], completed=total)
            bar[0].stop()
        text.close()
    return staged


def _delim_name(delim: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe", " ": "space"}.get(delim, repr(delim))


def _progress_bar(enabled: bool, label: str, total: int) -> tuple[Any, Any] | None:
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    bar.start()
    return bar, bar.add_task(label, total=total)


# ---------------------------------------------------------------------------------------------- Parquet


def _stage_parquet(cur: duckdb.DuckDBPyConnection, path: Path) -> Staged:
    try:
        desc = cur.execute(f"DESCRIBE SELECT * FROM read_parquet({lit(str(path))})").fetchall()
    except duckdb.Error as exc:
        raise IngestError(f"{path}: cannot read as Parquet ({exc})") from None
    columns = unique_names(r[0] for r in desc)
    staged = Staged(
        display_source(path), "parquet", columns, {c: r[1] for c, r in zip(columns, desc, strict=True)}
    )
    select = ", ".join(f"{q(r[0])} AS c{i}" for i, r in enumerate(desc))
    try:
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE {STG} AS SELECT file_row_number + 1 AS __line, {select} "
            f"FROM read_parquet({lit(str(path))}, file_row_number = true)"
        )
    except duckdb.Error as exc:
        raise IngestError(f"{path}: cannot read as Parquet ({exc})") from None
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
        if value != value:
            return None
        return repr(value)
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
    staged: Staged, cur: duckdb.DuckDBPyConnection, rows: Iterator[tuple[int, list[Any]]]
) -> Staged:
    """Stage (line, values) rows of a typed reader whose header is already known."""
    n = len(staged.columns)
    batcher = _Batcher(cur, n)
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
        texts = [text_value(v) for v in values]
        if any(t is not None and "\x00" in t for t in texts):
            batcher.reject(
                line,
                None,
                "contains a NUL character (binary data)",
                json.dumps(texts, ensure_ascii=False).replace("\\u0000", "\\0"),
            )
            continue
        batcher.add(line, texts)
    batcher.flush()
    staged.rows, staged.rejected = batcher.rows, batcher.rejected
    return staged


def _stage_excel(cur: duckdb.DuckDBPyConnection, path: Path) -> Staged:
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

        def body() -> Iterator[tuple[int, list[Any]]]:
            for index, row in enumerate(rows, start=header_line + 1):
                if not row or all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
                    continue
                yield index, list(row)

        return _stage_rows(staged, cur, body())
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise IngestError(f"{path}: cannot read the Excel workbook ({type(exc).__name__}: {exc})") from None
    finally:
        book.close()
        handle.close()


# ---------------------------------------------------------------------------------------------- JSON lines


def _stage_jsonl(cur: duckdb.DuckDBPyConnection, path: Path, *, encoding: str | None) -> Staged:
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if not head.strip():
        raise IngestError(f"{path} is empty: there are no JSON records")
    enc = normalize_encoding(encoding) if encoding else detect_encoding(head)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"[":
        # A JSON array (not lines): read whole; such files are small in practice.
        try:
            data = json.loads(path.read_text(encoding=enc))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise IngestError(
                f"{path}: not valid JSON ({exc}); expected JSON lines or an array of objects"
            ) from None
        records: Iterable[tuple[int, Any, str]] = (
            (i, rec, json.dumps(rec, ensure_ascii=False)) for i, rec in enumerate(data, start=1)
        )
    else:
        records = _json_lines(path, enc)
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

    for line, record, raw in records:
        if isinstance(record, _BadJson):
            rejects.append((line, None, f"not valid JSON ({record.reason})", raw[:10_000]))
            continue
        if not isinstance(record, dict):
            rejects.append((line, None, 'not a JSON object (expected {"column": value, ...})', raw[:10_000]))
            continue
        if any(isinstance(v, str) and "\x00" in v for v in record.values()):
            rejects.append((line, None, "contains a NUL character (binary data)", raw[:10_000]))
            continue
        for key in record:
            if key not in columns:
                columns[key] = len(columns)
                cur.execute(f"ALTER TABLE {STG} ADD COLUMN c{columns[key]} VARCHAR")
        pending.append((line, record))
        if len(pending) >= BATCH_ROWS or len(rejects) >= BATCH_ROWS:
            flush()
    flush()
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


def _json_lines(path: Path, enc: str) -> Iterator[tuple[int, Any, str]]:
    with path.open("r", encoding=enc, errors="strict", newline="") as fh:
        line_no = 0
        try:
            for line_no, line in enumerate(_physical_lines(fh), start=1):
                text = line.strip().lstrip("\ufeff")
                if not text:
                    continue
                try:
                    record = json.loads(text)
                except (json.JSONDecodeError, RecursionError) as exc:
                    yield line_no, _BadJson(str(exc)), text
                    continue
                yield line_no, record, text
        except UnicodeDecodeError as exc:
            raise IngestError(
                f"{path}: cannot decode the bytes after line {line_no} as {enc} ({exc.reason}); pass --encoding"
            ) from None


def _physical_lines(fh: Any) -> Iterator[str]:
    # split on \n only: JSON strings may hold other line separators (U+2028) that str.splitlines would cut
    buffer = ""
    while True:
        chunk = fh.read(1 << 16)
        if not chunk:
            break
        buffer += chunk
        *lines, buffer = buffer.split("\n")
        yield from lines
    if buffer:
        yield buffer


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
            raise IngestError(f"{display_source(url)}: cannot read table {table!r} ({exc})") from None
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
        raise IngestError(f"{display_source(url)}: cannot read table {table!r} ({exc})") from None
    return _stage_dbapi(cur, url, "postgresql", pg, pgcur)


def _sqlite_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _stage_duckdb(cur: duckdb.DuckDBPyConnection, url: str, location: str, table: str) -> Staged:
    try:
        cur.execute(f"ATTACH {lit(location)} AS __src (READ_ONLY)")
    except duckdb.Error as exc:
        raise IngestError(f"{display_source(url)}: cannot open the DuckDB file ({exc})") from None
    try:
        ident = "__src." + ".".join(q(p) for p in table.split("."))
        try:
            desc = cur.execute(f"DESCRIBE SELECT * FROM {ident}").fetchall()
        except duckdb.Error as exc:
            raise IngestError(f"{display_source(url)}: cannot read table {table!r} ({exc})") from None
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
