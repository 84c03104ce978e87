"""The Spark engine (`--engine spark`): the SAME compiled Ibis expression on a local Apache Spark.

The canonical tables a run needs are exported from the store to Parquet (the workspace's `warehouse`
folder, else a temporary folder), read by Spark, and the result is collected as Arrow and written into
the store like any other run. The session runs with time zone UTC (timestamps are naive wall-clock
values) and ANSI SQL, so decimal arithmetic and division agree with DuckDB.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from segmentum.engine.base import present_tables
from segmentum.errors import RunError
from segmentum.sql import literal
from segmentum.store import META

if TYPE_CHECKING:
    import pyarrow as pa

    from segmentum.context import Context

_SESSION: Any = None
_SESSION_LOCK = threading.Lock()
_SESSION_DIR: str | None = None


def spark_session() -> Any:
    """One local SparkSession per process (starting Spark takes seconds)."""
    global _SESSION, _SESSION_DIR
    with _SESSION_LOCK:
        if _SESSION is not None:
            return _SESSION
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:  # pragma: no cover - pyspark is an optional extra
            raise RunError("the Spark engine needs pyspark: pip install 'segmentum[spark]'") from exc
        _SESSION_DIR = tempfile.mkdtemp(prefix="segmentum-spark-")
        builder = (
            SparkSession.builder.master("local[2]")
            .appName("segmentum")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.ansi.enabled", "true")
            .config("spark.sql.warehouse.dir", os.path.join(_SESSION_DIR, "warehouse"))
            .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={_SESSION_DIR}")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.parquet.inferTimestampNTZ.enabled", "true")
            .config("spark.driver.memory", os.environ.get("SEGMENTUM_SPARK_MEMORY", "2g"))
        )
        try:
            _SESSION = builder.getOrCreate()
        except Exception as exc:  # noqa: BLE001 - Java missing, port issues, ...
            raise RunError(
                f"cannot start a local Spark session: {exc}; the Spark engine needs Java 17"
            ) from exc
        _SESSION.sparkContext.setLogLevel("ERROR")
        atexit.register(_stop)
        return _SESSION


def _stop() -> None:
    global _SESSION
    if _SESSION is not None:
        with contextlib.suppress(Exception):  # best effort at exit
            _SESSION.stop()
        _SESSION = None
    if _SESSION_DIR:
        shutil.rmtree(_SESSION_DIR, ignore_errors=True)


@ibis.udf.scalar.builtin(name="get_json_object")
def _get_json_object(value: str, path: str) -> str:  # type: ignore[empty-body]
    ...


class SparkEngine:
    """Exports the tables to Parquet, runs the expression on Spark, hands the result back as Arrow."""

    name = "spark"
    narrow_windows = False  # Spark inlines CTEs: a relation read twice is computed twice

    def __init__(self, ws: Context) -> None:
        self.ws = ws
        self.store = ws.store
        self.session = spark_session()
        self.backend = ibis.pyspark.connect(self.session)
        if ws.config.warehouse:
            self.folder = (ws.root / ws.config.warehouse).resolve()
            self.folder.mkdir(parents=True, exist_ok=True)
            self._temporary = False
        else:
            self.folder = Path(tempfile.mkdtemp(prefix="segmentum-warehouse-"))
            self._temporary = True
        self._registered: list[str] = []

    def _export(self, schema: str, name: str) -> ir.Table:
        columns = self.store.columns(name, schema=schema)
        select = ", ".join(
            f'CAST("{c}" AS VARCHAR) AS "{c}"' if kind.upper() == "JSON" else f'"{c}"'
            for c, kind in columns.items()
        )
        path = self.folder / f"{schema}__{name}.parquet"
        self.store.cursor().execute(
            f"COPY (SELECT {select} FROM {schema}.{name}) TO {literal(str(path))} (FORMAT parquet)"
        )
        view = f"segmentum_{schema}_{name}"
        table = self.backend.read_parquet(str(path), table_name=view)
        self._registered.append(view)
        return table

    def tables(self) -> dict[str, ir.Table]:
        canonical, models = present_tables(self.store)
        out = {name: self._export("main", name) for name in canonical}
        out |= {name: self._export(META, name) for name in models}
        return out

    def snapshot_table(self, name: str) -> ir.Table:
        return self._export(META, name)

    @staticmethod
    def read_property(table: ir.Table, key: str) -> ir.Value:
        column = table["properties"]
        if not column.type().is_string():
            column = column.cast("string")
        return _get_json_object(column, f"$.{key}")

    def execute_arrow(self, expr: ir.Table) -> pa.Table:
        return _naive_timestamps(self.backend.to_pyarrow(expr))

    def result_sql(self, expr: ir.Table, cur: Any) -> str:
        arrow = self.execute_arrow(expr)
        cur.register("__spark_result", arrow)
        return "SELECT * FROM __spark_result"

    def to_sql(self, expr: ir.Table, dialect: str | None = None) -> str:
        return str(ibis.to_sql(expr, dialect=dialect or "pyspark"))

    def close(self) -> None:
        for view in self._registered:
            with contextlib.suppress(Exception):  # a view that is gone already
                self.session.catalog.dropTempView(view)
        self._registered.clear()
        if self._temporary:
            shutil.rmtree(self.folder, ignore_errors=True)


def _naive_timestamps(table: pa.Table) -> pa.Table:
    """Spark hands timestamps back in UTC with a zone; the store keeps naive wall-clock values."""
    import pyarrow as pa

    fields = []
    changed = False
    for f in table.schema:
        if pa.types.is_timestamp(f.type) and f.type.tz is not None:
            fields.append(pa.field(f.name, pa.timestamp("us"), f.nullable))
            changed = True
        else:
            fields.append(f)
    if not changed:
        return table
    arrays = []
    for column in table.columns:
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            column = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
        arrays.append(column)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


__all__ = ["SparkEngine", "spark_session", "dt"]
