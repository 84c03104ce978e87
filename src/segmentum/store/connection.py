"""The workspace store: one DuckDB file holding canonical tables (schema `main`) and segmentum's own
tables (schema `segmentum`: ingest log, quarantine, runs, snapshots, outbox, tasks, keys, ...).

DuckDB lets one process write a file; a `Store` holds that process's single connection and hands
out cursors to threads. Opening a file brings segmentum's tables to the current schema version
(`segmentum.store.tables`), so no module creates a table of its own.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from segmentum.errors import StoreError
from segmentum.sql import literal
from segmentum.store.tables import COMPACTIONS_TABLE, META, prepare

__all__ = ["CATALOG", "META", "Store"]

CATALOG = "store"
# The fact tables `segmentum.store.compact` rewrites in customer order are written in small row groups, sized
# per table (`compact.row_group_size_for`; DuckDB's default is 122,880): DuckDB skips a row group whose min/max
# of a filtered column hold none of the wanted values (zonemaps), so a small one holds few enough customers that
# a micro-batch's reads skip most of them. DuckDB's ROW_GROUP_SIZE is an option of the attached file (not stored
# in it), so the store is attached with it only while a compaction writes (`writing_row_groups`): everything else
# (a batch run's memberships and traits) keeps DuckDB's default, which the batch run needs (BENCHMARKS.md "The
# storage step": 1.5x its CPU with the whole store at 16,384).
# file -> [root connection, Store objects open on it, every connection handed out on it (`rewrite` ends their
# unfinished results)]
_SHARED: dict[tuple[str, bool], list[Any]] = {}
_SHARED_LOCK = threading.Lock()
_HANDED_LOCK = threading.Lock()  # guards the sets of connections handed out (a WeakSet is not thread-safe)


class Store:
    """A workspace's DuckDB file. Open lazily; one connection per process, cursors per thread."""

    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        settings: Mapping[str, str | int] | None = None,
        row_group_size: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        # one row group size for every fact table a compaction writes (`engine.row_group_size`); None: each
        # table's own, sized by its rows per customer (`compact.row_group_size_for`)
        self.row_group_size = row_group_size
        # DuckDB settings of the database (memory_limit, temp_directory, threads): applied when this process
        # first opens the file; Store objects on the same file share that database and its settings
        self.settings = dict(settings or {})
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.RLock()
        self._handed: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            with self._lock:
                if self._con is None:
                    self._con = self._open()
        return self._con

    def _open(self) -> duckdb.DuckDBPyConnection:
        # One database per file per process: Store objects on the same file share it (DuckDB refuses to
        # attach a file twice), each holding its own connection (cursor) to it.
        key = (str(self.path.resolve()), self.read_only)
        with _SHARED_LOCK:
            shared = _SHARED.get(key)
            if shared is not None:
                shared[1] += 1
            else:
                shared = _SHARED[key] = [self._connect(), 1, weakref.WeakSet()]
            self._handed = shared[2]
            con = _use_store(shared[0].cursor())
            with _HANDED_LOCK:
                self._handed.add(con)
            return con

    def _connect(self) -> duckdb.DuckDBPyConnection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Attached under a fixed alias: a file named segmentum.duckdb would otherwise give a catalog
            # called `segmentum` that clashes with our schema of that name.
            con = duckdb.connect()
            for name, value in self.settings.items():
                con.execute(f"SET {name} = {literal(str(value))}")
            con.execute(f"ATTACH {literal(str(self.path))} AS {CATALOG}{self._attach_options()}")
            con.execute(f"USE {CATALOG}")
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreError(
                    f"the store {self.path} is in use by another process ({exc}); if `segmentum serve` runs for "
                    "this workspace, use its API or stop it first"
                ) from exc
            raise StoreError(f"cannot open the store {self.path}: {exc}") from exc
        except duckdb.Error as exc:
            raise StoreError(
                f"cannot open the store {self.path} with the settings {self.settings} ({exc}); "
                "check `engine:` in segmentum.yml"
            ) from exc
        try:
            prepare(con, self.path, read_only=self.read_only)
        except BaseException:
            con.close()  # a store this release cannot open stays closed (and unlocked)
            raise
        return con

    def _attach_options(self) -> str:
        return " (READ_ONLY)" if self.read_only else ""

    @contextmanager
    def writing_row_groups(self, size: int | None) -> Iterator[None]:
        """The store attached, meanwhile, so that what this process writes goes in row groups of `size` rows,
        then attached as before. Like `rewrite`, the re-attachment ends the unfinished results of this process's
        cursors and loses another thread's open transaction: callers hold the store's writers back."""
        if not size:
            yield
            return
        self._reattach(f" (ROW_GROUP_SIZE {int(size)})")
        try:
            yield
            # what was committed is written to the file now, in this size (rows still in the WAL would be replayed
            # by the next attachment in its own size), and the blocks of tables dropped meanwhile are free for
            # reuse (the file does not shrink)
            self.cursor().execute("CHECKPOINT")
        finally:
            self._reattach(self._attach_options())

    def _reattach(self, options: str) -> None:
        if self.read_only:
            raise StoreError(f"the store {self.path} is open read-only")
        self.con  # noqa: B018 - opened (and migrated) first
        with self._lock, _SHARED_LOCK:
            root = self._root_with_results_ended()
            root.execute("USE memory")
            root.execute(f"DETACH {CATALOG}")
            root.execute(f"ATTACH {literal(str(self.path))} AS {CATALOG}{options}")
            root.execute(f"USE {CATALOG}")

    def _root_with_results_ended(self) -> duckdb.DuckDBPyConnection:
        """The file's root connection, every cursor handed out on it having ended its unread result (such a
        result holds the attached file open: detaching it would fail). Call with `_lock` and `_SHARED_LOCK`."""
        shared = _SHARED[(str(self.path.resolve()), False)]
        root: duckdb.DuckDBPyConnection = shared[0]
        handed = shared[2]
        with _HANDED_LOCK:
            cursors = list(handed)
        for cursor in cursors:
            _end_result(cursor)
        return root

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for the calling thread (DuckDB connections are not shared across threads)."""
        # a cursor starts in DuckDB's in-memory catalog, not the attached store
        cursor = _use_store(self.con.cursor())
        with _HANDED_LOCK:
            self._handed.add(cursor)  # weakly: a cursor nobody holds is gone, with its result
        return cursor

    @contextmanager
    def transaction(
        self, con: duckdb.DuckDBPyConnection | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """BEGIN ... COMMIT on a cursor; ROLLBACK on any error so the store stays consistent."""
        cur = con or self.cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        else:
            cur.execute("COMMIT")

    def limit_memory(self, limit_bytes: int) -> None:
        """Set DuckDB's memory limit of this store's database now (the file's other Store objects share it):
        beyond it DuckDB evicts cached blocks first, then spills to its temp_directory."""
        self.cursor().execute(f"SET GLOBAL memory_limit = '{int(limit_bytes)}B'")

    def table_exists(self, name: str, schema: str = "main") -> bool:
        row = (
            self.cursor()
            .execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                [schema, name],
            )
            .fetchone()
        )
        return bool(row and row[0])

    def columns(self, name: str, schema: str = "main") -> dict[str, str]:
        """Column name -> DuckDB type of a table, in table order (empty when the table is absent)."""
        rows = (
            self.cursor()
            .execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [schema, name],
            )
            .fetchall()
        )
        return {r[0]: r[1] for r in rows}

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.cursor().execute(sql, params or []).fetchall()

    def ibis(self) -> Any:
        """An Ibis DuckDB backend over a cursor of its own. Not over the store's connection: a DuckDB connection
        runs one statement at a time, and a run's compile (reading tables' schemas through Ibis) on one thread
        with a preview's on another closed each other's pending results ("Attempting to execute an
        unsuccessful or closed pending query result": a dashboard run failed so in CI)."""
        import ibis

        return ibis.duckdb.from_connection(self.cursor())

    def rewrite(self) -> None:
        """Copy the store into a new file and put it in place of the old one (for erasure).

        DuckDB leaves deleted values in the free blocks of its file, through checkpoints and VACUUM; a file
        written afresh holds only the live rows (tables, keys, sequences, comments and views are copied as they
        are). Cursors of this process keep working: the new file is attached under the same name. A transaction
        another thread has open on the store at that moment is lost, so callers hold the store's writers back;
        a result a cursor has not read to its end is ended (it holds the old file open, and DuckDB would refuse to
        attach the new one: "Unique file handle conflict", leaving the store detached).
        """
        if self.read_only:
            raise StoreError(f"the store {self.path} is open read-only; it cannot be rewritten")
        self.con.execute("CHECKPOINT")
        fresh = self.path.with_name(f".{self.path.name}.rewrite")
        with self._lock, _SHARED_LOCK:
            root = self._root_with_results_ended()
            for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
                leftover.unlink(missing_ok=True)
            root.execute(f"ATTACH {literal(str(fresh))} AS store_rewrite")
            try:
                root.execute(f"COPY FROM DATABASE {CATALOG} TO store_rewrite")
                # the copy wrote every table in DuckDB's row groups, the compacted fact tables too: they are
                # due for `segmentum compact` again (segmentum.store.compact reads this record)
                root.execute(f"DELETE FROM store_rewrite.{META}.{COMPACTIONS_TABLE}")
            finally:
                root.execute("DETACH store_rewrite")
            root.execute("USE memory")
            root.execute(f"DETACH {CATALOG}")
            try:
                os.replace(fresh, self.path)  # atomic: the old file or the new one, never half of either
            finally:
                root.execute(f"ATTACH {literal(str(self.path))} AS {CATALOG}{self._attach_options()}")
                root.execute(f"USE {CATALOG}")

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None
                key = (str(self.path.resolve()), self.read_only)
                with _SHARED_LOCK:
                    shared = _SHARED.get(key)
                    if shared is not None:
                        shared[1] -= 1
                        if shared[1] <= 0:
                            shared[0].close()  # releases the file for other processes
                            del _SHARED[key]


def _end_result(cursor: duckdb.DuckDBPyConnection) -> None:
    """End whatever result `cursor` holds (a statement without rows takes its place); a closed one is left."""
    with contextlib.suppress(duckdb.ConnectionException):  # closed by its owner
        cursor.execute(f"USE {CATALOG}")


def _use_store(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    con.execute(f"USE {CATALOG}")
    return con
