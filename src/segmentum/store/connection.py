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
import time
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
# unfinished results), the gate a re-attachment holds (no cursor is handed out meanwhile)]
_SHARED: dict[tuple[str, bool], list[Any]] = {}
_SHARED_LOCK = threading.Lock()
_HANDED_LOCK = threading.Lock()  # guards the sets of connections handed out (a WeakSet is not thread-safe)
# how long a re-attachment waits for a query begun on the old attachment (the longest a page, a profile or the
# lookups' replica reads at 1M customers, with room)
REATTACH_WAIT_S = 600.0
REATTACH_GRACE_S = 30.0  # ... before a result left half read by its cursor is ended
# The format the store's file is written in. DuckDB's default is 0.10.2's, and in it every checkpoint after an
# append to an indexed table turns the whole index into that old layout before writing it: 0.45 s per checkpoint
# after 2,000 events on the 30M-event store's index, 0.12 s in 1.2.0's format (BENCHMARKS.md "Checkpoints in
# DuckDB's 1.2 format"; the one index a served store keeps now is the customers'). Not a later one: from 1.3.0's
# on, strings are written in DICT_FSST, which a micro-batch read by row id (through the fact tables' indexes of
# releases before 2026-12-04) more slowly: its staging took 0.42 s against 0.33 s at 1M; not measured again since
# micro-batches scan those tables. A file in an older format is written in this one from its next checkpoint on
# (DuckDB before 1.2 no longer opens it); one a newer DuckDB wrote in a later format keeps that format.
STORAGE_VERSION = "v1.2.0"


def _wal_path(path: Path) -> Path:
    """The write-ahead log DuckDB keeps beside the database file `path`."""
    return path.with_name(path.name + ".wal")


def _attach_file(
    con: duckdb.DuckDBPyConnection, path: Path, alias: str, options: list[str], *, read_only: bool = False
) -> None:
    """Attach the DuckDB file `path` as `alias` with `options`; a writable attachment writes it in
    `STORAGE_VERSION` (a file a newer DuckDB wrote in a later format keeps it: DuckDB refuses to lower a file's
    format)."""

    def attach(opts: list[str]) -> None:
        con.execute(f"ATTACH {literal(str(path))} AS {alias}" + (f" ({', '.join(opts)})" if opts else ""))

    if read_only:
        attach(options)
        return
    try:
        attach([*options, f"STORAGE_VERSION {literal(STORAGE_VERSION)}"])
    except duckdb.InvalidInputException as exc:
        if "cannot be lowered" not in str(exc):
            raise
        attach(options)


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
        self._gate = threading.RLock()  # the file's, once opened

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
                shared = _SHARED[key] = [self._connect(), 1, weakref.WeakSet(), threading.RLock()]
            self._handed, self._gate = shared[2], shared[3]
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
            self._attach(con, self._attach_options())
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

    def _attach_options(self) -> list[str]:
        return ["READ_ONLY"] if self.read_only else []

    def _attach(self, con: duckdb.DuckDBPyConnection, options: list[str]) -> None:
        """Attach the store's file under `CATALOG` with `options` (`_attach_file`)."""
        _attach_file(con, self.path, CATALOG, options, read_only=self.read_only)

    @contextmanager
    def writing_row_groups(self, size: int | None) -> Iterator[None]:
        """The store attached, meanwhile, so that what this process writes goes in row groups of `size` rows,
        then attached as before. Like `rewrite`, the re-attachment waits for the queries other threads have
        begun (`_attach_when_released`) and loses another thread's open transaction: callers hold the store's
        writers back."""
        if not size:
            yield
            return
        self._reattach([f"ROW_GROUP_SIZE {int(size)}"])
        try:
            yield
            # what was committed is written to the file now, in this size (rows still in the WAL would be replayed
            # by the next attachment in its own size), and the blocks of tables dropped meanwhile are free for
            # reuse (the file does not shrink)
            self.cursor().execute("CHECKPOINT")
        finally:
            self._reattach(self._attach_options())

    def _reattach(self, options: list[str]) -> None:
        if self.read_only:
            raise StoreError(f"the store {self.path} is open read-only")
        self.con  # noqa: B018 - opened (and migrated) first
        # the gate: as in `rewrite`; the store is attached again on leaving, with the new options
        with self._gate, self._lock, _SHARED_LOCK, self._detached(options):
            pass

    @contextmanager
    def _detached(self, options: list[str]) -> Iterator[None]:
        """The store detached from the file's root connection for the block, and attached again after it with
        `options` (`_attach_when_released`), whatever the block raised. Call holding the gate and the locks,
        so that no cursor is handed out meanwhile."""
        root = self._root()
        root.execute("USE memory")
        root.execute(f"DETACH {CATALOG}")
        try:
            yield
        finally:
            self._attach_when_released(root, options)

    def _root(self) -> duckdb.DuckDBPyConnection:
        """The file's root connection (call with `_lock` and `_SHARED_LOCK`)."""
        root: duckdb.DuckDBPyConnection = _SHARED[(str(self.path.resolve()), False)][0]
        return root

    def _end_results(self) -> None:
        """End the unread result of every cursor handed out on the file (such a result holds the attached file)."""
        with _HANDED_LOCK:
            cursors = list(self._handed)
        for cursor in cursors:
            _end_result(cursor)

    def _attach_when_released(self, root: duckdb.DuckDBPyConnection, options: list[str]) -> None:
        """Attach the file again (detached by the caller) once no query holds the old attachment: until then
        DuckDB refuses a second handle on the file ("Unique file handle conflict"; an erasure through the server
        failed so while the lookups' replica loaded, and left the store detached). Cursors wait at the gate
        meanwhile, so only a query begun on a cursor handed out before can hold it: one still running, or
        reading its result, is waited for (`REATTACH_GRACE_S`); after that, results nobody reads to their end
        (a cursor kept with a result half read) are ended, and the attachment is tried until `REATTACH_WAIT_S`.
        A result is never ended under a reader in the grace: it would read None instead of its rows."""
        started = time.monotonic()
        ended = False
        while True:
            try:
                self._attach(root, options)
                break
            except duckdb.BinderException as exc:
                waited = time.monotonic() - started
                if "file handle conflict" not in str(exc) or waited > REATTACH_WAIT_S:
                    raise StoreError(
                        f"the store {self.path} could not be attached again after it was rewritten ({exc}); "
                        "this process has it detached: stop it and start it again (the file itself is whole)"
                    ) from exc
                if waited > REATTACH_GRACE_S and not ended:
                    self._end_results()
                    ended = True
                time.sleep(0.02)
        root.execute(f"USE {CATALOG}")

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for the calling thread (DuckDB connections are not shared across threads); while the store
        is re-attached (`rewrite`, `writing_row_groups`), it waits until that is done."""
        con = self.con  # opened first, outside the gate: opening takes the locks a re-attachment holds
        # a cursor starts in DuckDB's in-memory catalog, not the attached store
        with self._gate:
            cursor = _use_store(con.cursor())
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

    def keep_row_groups(self) -> None:
        """Checkpoints of the store's database stop merging adjacent row groups (DuckDB's vacuum, up to
        `max_vacuum_tasks` merges a checkpoint; the file's other Store objects share the setting).

        What the vacuum merges are mostly the small row groups `segmentum compact` writes the fact tables in:
        on the 1M-customer store each checkpoint merged about 120 of each table, which cost 1.8-2.1 s whatever
        the write before it was (a one-row insert into another table: 0.05 s without the vacuum), undid the
        compaction bit by bit, and stalled a server's micro-batches meanwhile (BENCHMARKS.md "The issue's
        store"). The vacuum also reclaimed deleted rows: a server gives them back itself (`store.reclaim`), and a
        checkpoint still drops a row group whose rows are all deleted."""
        self.cursor().execute("SET GLOBAL max_vacuum_tasks = 0")

    def checkpoint(self) -> bool:
        """Write the log's changes into the file now (DuckDB's CHECKPOINT: every write of the database waits for
        it, reads do not). False when DuckDB refused it (another write under way)."""
        try:
            self.cursor().execute("CHECKPOINT")
            return True
        except duckdb.TransactionException:
            return False

    def wal_bytes(self) -> int:
        """The size of the store's write-ahead log: what the next checkpoint writes into the file (0: none)."""
        try:
            return _wal_path(self.path).stat().st_size
        except FileNotFoundError:
            return 0

    def checkpoint_at(self, wal_bytes: int) -> None:
        """Checkpoint the store's database automatically when its write-ahead log reaches `wal_bytes` (the file's
        other Store objects share the setting)."""
        self.cursor().execute(f"SET GLOBAL checkpoint_threshold = '{int(wal_bytes)}B'")

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
        no cursor is handed out meanwhile, and the new file is attached once the queries other threads began on
        the old one are done (`_attach_when_released`).
        """
        if self.read_only:
            raise StoreError(f"the store {self.path} is open read-only; it cannot be rewritten")
        self.con.execute("CHECKPOINT")
        fresh = self.path.with_name(f".{self.path.name}.rewrite")
        # the gate: no cursor is handed out until the new file is attached (a query begun meanwhile would
        # hold the old file, or find no store at all)
        with self._gate, self._lock, _SHARED_LOCK:
            root = self._root()
            for leftover in (fresh, _wal_path(fresh)):
                leftover.unlink(missing_ok=True)
            _attach_file(root, fresh, "store_rewrite", [])
            try:
                root.execute(f"COPY FROM DATABASE {CATALOG} TO store_rewrite")
                # the copy wrote every table in DuckDB's row groups, the compacted fact tables too: they are
                # due for `segmentum compact` again (segmentum.store.compact reads this record)
                root.execute(f"DELETE FROM store_rewrite.{META}.{COMPACTIONS_TABLE}")
            finally:
                root.execute("DETACH store_rewrite")
            with self._detached(self._attach_options()):
                os.replace(fresh, self.path)  # atomic: the old file or the new one, never half of either

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
    """End whatever result `cursor` holds (a statement of no table takes its place: it runs with the store
    detached too); a closed one is left."""
    with contextlib.suppress(duckdb.ConnectionException):  # closed by its owner
        cursor.execute("SELECT 1")


def _use_store(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    con.execute(f"USE {CATALOG}")
    return con
