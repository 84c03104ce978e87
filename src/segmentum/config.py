"""The workspace configuration file `segmentum.yml`, as a strict pydantic model."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from segmentum.errors import ConfigError
from segmentum.spec.yamlio import Located, format_validation_error, load_yaml

CONFIG_FILE = "segmentum.yml"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class WebhookSettings(Strict):
    allow: list[str] = Field(default_factory=list, description="URL prefixes webhooks may be sent to")
    timeout: float = 10.0
    max_attempts: int = 8
    rate_per_second: float | None = None


class EmailSettings(Strict):
    smtp_host: str | None = None
    smtp_port: int = 587
    starttls: bool = True
    username: str | None = None
    password_env: str | None = None
    sender: str = Field("segmentum@localhost", alias="from")
    dry_run: bool = False
    outbox_dir: str = "outbox"
    rate_per_second: float | None = None


class ExportSettings(Strict):
    folder: str = Field(
        "exports",
        description="The folder export actions write into (relative to the workspace, or absolute); an export "
        "path outside it is refused",
    )
    delimiter: str = Field(
        ",",
        description="CSV delimiter of exports: ',' or ';' (what Excel expects where the decimal mark is a comma)",
    )
    bom: bool = Field(
        True, description="Start CSV exports with a UTF-8 byte order mark (Excel then reads Cyrillic)"
    )
    money_decimals: int | None = Field(
        None,
        ge=0,
        le=6,
        description="Decimals of money in exports (default: the currency's, 2 for UAH, EUR, USD)",
    )


def _valid_memory_size(value: str) -> str:
    memory_bytes(value)  # a ValueError with the accepted forms
    return value


# a memory size in segmentum.yml ('4GB', '512MB', '50%'), checked when the file is read
MemorySize = Annotated[str, AfterValidator(_valid_memory_size)]

# DuckDB's memory limit of a served store unless segmentum.yml says otherwise (`serve.memory_limit`,
# `engine.memory_limit`): bench.realtime at 1M (BENCHMARKS.md "Real-time path")
SERVE_MEMORY_LIMIT = "25%"
# the WAL size at which a server checkpoints its store after a micro-batch (DuckDB's own default, 16MB). Every
# write waits for a checkpoint, so its length is what an event's effect may wait on top of a micro-batch: at 1M
# customers and 2,000 events/s about 0.2-0.5 s at 16MB against 1.5-2.2 s at 256MB, the size from 2026-11 to
# 2026-12-04, chosen when a checkpoint cost about 2 s whatever it wrote (DuckDB's vacuum merging row groups, and
# the staging indexes, which DuckDB wrote again in full each time: both gone since; BENCHMARKS.md "No staging
# indexes")
SERVE_CHECKPOINT_WAL = "16MB"
# memory a server may give the order rows its micro-batches gather (`serve.held_rows`, `runs.held_rows`): at
# 1M customers the two tables' staged columns take about 1.2 GB, 5 % of this 23 GB machine
SERVE_HELD_ROWS = "10%"


class ServeSettings(Strict):
    host: str = "127.0.0.1"
    port: int = 8000
    micro_batch_seconds: float = 1.0
    schedule: str | None = None
    # customers waiting for a micro-batch beyond which POST /v1/events answers 429 (back-pressure)
    max_pending: int = Field(default=20_000, ge=1)
    memory_limit: MemorySize | None = Field(
        default=SERVE_MEMORY_LIMIT,
        description="DuckDB's memory limit while `segmentum serve` holds the store, when `engine.memory_limit` "
        "is not set: '2GB', '512MB', or a share of the machine's memory such as '25%'. A server runs for "
        "days: without it DuckDB keeps every block its reads touched cached up to 80% of the memory",
    )
    checkpoint_wal: MemorySize = Field(
        default=SERVE_CHECKPOINT_WAL,
        description="The write-ahead log's size at which `segmentum serve` checkpoints the store after a "
        "micro-batch ('16MB'; DuckDB's own checkpoint at twice it, for writes no micro-batch follows). Micro-batches "
        "and event writes wait for a checkpoint (0.2-0.5 s at 16MB and 1M customers), so a larger size makes "
        "checkpoints rarer and each wait longer; until then the new rows stay in memory and in the log",
    )
    held_rows: MemorySize | None = Field(
        default=SERVE_HELD_ROWS,
        description="Memory for the order and order-item rows `segmentum serve` holds by customer, so that a "
        "micro-batch gathers its customers' rows instead of scanning those tables ('2GB', or a share of the "
        "machine's memory such as '10%'; null: never). About 45 bytes an order item or order at the staged "
        "columns (1.2 GB at 1M customers / 27M rows); a store whose rows need more is scanned",
    )


class EngineSettings(Strict):
    """`engine:` in segmentum.yml: the engine's name, or a mapping with the name and DuckDB's resources.

    `engine: spark` and `engine: {name: spark}` mean the same. Equal to its name as a string
    (`config.engine == "duckdb"`), so code that compares the setting with a name keeps working.
    """

    name: Literal["duckdb", "spark"] = "duckdb"
    memory_limit: MemorySize | None = Field(
        None,
        description="DuckDB's memory limit for this workspace's process: '4GB', '512MB', or a share of the "
        "machine's memory such as '50%'. Beyond it DuckDB spills to `temp_directory` (default: DuckDB's own, "
        "80% of the memory)",
    )
    temp_directory: str | None = Field(
        None,
        description="Where DuckDB spills what does not fit in `memory_limit` (relative to the workspace, or "
        "absolute; default: the store's file name plus '.tmp', next to it)",
    )
    threads: int | None = Field(None, ge=1, description="DuckDB's worker threads (default: one per core)")
    ingest_chunk_rows: int | None = Field(
        None,
        ge=1,
        description="Rows an ingest checks and stores at a time: a larger file is read in chunks, with DuckDB's "
        "temporary files and memory bounded by a chunk (default: 5,000,000)",
    )
    row_group_size: int | None = Field(
        None,
        ge=2048,
        multiple_of=2048,
        description="Rows per row group of every order and event table `segmentum compact` rewrites in customer "
        "order (DuckDB's ROW_GROUP_SIZE, a multiple of 2048). Default: each table its own, about 280 customers' "
        "rows (events 16384, order items 4096, orders 2048 at 58, 17 and 10 rows a customer), small enough that "
        "a micro-batch skips the row groups of customers it did not touch; every other table keeps DuckDB's "
        "122880",
    )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return self.name == other
        return super().__eq__(other)

    def __hash__(self) -> int:
        return hash(self.name)

    def __str__(self) -> str:
        return self.name


_UNITS = {
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
    "TIB": 1024**4,
}


def memory_bytes(value: str, *, total: int | None = None) -> int:
    """Bytes of a memory size ('4GB', '512 MiB', '50%' of `total`, by default the machine's memory)."""
    text = value.strip().upper().replace(" ", "")
    if text.endswith("%"):
        try:
            share = float(text[:-1])
        except ValueError:
            share = -1.0
        if not 0 < share <= 100:
            raise ValueError(
                f"memory share {value!r} must be a percentage above 0 and at most 100, such as '50%'"
            )
        if total is None:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return int(total * share / 100)
    number = text.rstrip("KMGTIB")
    unit = text[len(number) :] or "B"
    try:
        amount = float(number)
    except ValueError:
        amount = -1.0
    if unit not in _UNITS or amount <= 0:
        raise ValueError(
            f"memory size {value!r} is not understood; write a number and a unit (KB, MB, GB, TB, or KiB, "
            "MiB, GiB, TiB), such as '4GB', or a share of the machine's memory such as '50%'"
        )
    return int(amount * _UNITS[unit])


class WorkspaceConfig(Strict):
    """Everything `segmentum.yml` may contain. Unknown keys are errors (with a did-you-mean)."""

    name: str = "workspace"
    store: str = "segmentum.duckdb"
    engine: EngineSettings = Field(default_factory=lambda: EngineSettings.model_validate({}))
    warehouse: str | None = Field(None, description="Folder of Parquet exports for the Spark engine")
    timezone: str = "UTC"
    currency: str = "USD"
    definitions: list[str] = Field(default_factory=lambda: ["definitions/*.yml"])
    builtins: list[str] = Field(default_factory=list)
    builtin_settings: dict[str, dict[str, Any]] = Field(default_factory=dict, exclude=True)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    # model_validate: mypy reads the alias `from` of `sender` as a required argument of the constructor
    email: EmailSettings = Field(default_factory=lambda: EmailSettings.model_validate({}))
    serve: ServeSettings = Field(default_factory=ServeSettings)
    exports: ExportSettings = Field(default_factory=lambda: ExportSettings.model_validate({}))
    # definitions may also live in segmentum.yml itself; spec/loader.py validates them
    traits: dict[str, Any] = Field(default_factory=dict)
    segments: dict[str, Any] = Field(default_factory=dict)
    segmentations: dict[str, Any] = Field(default_factory=dict)
    triggers: dict[str, Any] = Field(default_factory=dict)
    caps: dict[str, Any] = Field(default_factory=dict)
    suppress: list[Any] = Field(default_factory=list)
    quiet_hours: dict[str, Any] | None = None

    @field_validator("engine", mode="before")
    @classmethod
    def _engine_name(cls, value: Any) -> Any:
        # `engine: spark` is short for `engine: {name: spark}`
        return {"name": value} if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as 'Europe/Kyiv' or 'UTC'"
            ) from exc
        return value


from segmentum.spec.builtins import builtin_names  # noqa: E402  (names of the shipped built-in YAML files)


def parse_config(located: Located) -> WorkspaceConfig:
    """Validate loaded YAML. Top-level keys named after a built-in hold that built-in's settings."""
    data = dict(located.data or {})
    if not isinstance(located.data, dict):
        raise ConfigError(
            f"{located.path}:1:1: expected a mapping of settings, found {type(located.data).__name__}"
        )
    known_builtins = set(builtin_names())
    settings = {}
    for key in list(data):
        if key in known_builtins:
            value = data.pop(key)
            if value is not None and not isinstance(value, dict):
                raise ConfigError(
                    f"{located.where((key,))}: settings of built-in '{key}' must be a mapping, found {value!r}"
                )
            settings[key] = value or {}
    try:
        config = WorkspaceConfig.model_validate(data)
    except ValidationError as exc:
        extra = sorted(set(WorkspaceConfig.model_fields) - {"builtin_settings"} | known_builtins | {"from"})
        raise ConfigError(
            format_validation_error(exc, located, model=WorkspaceConfig, allowed={(): extra})
        ) from None
    unknown = [b for b in config.builtins if b not in known_builtins]
    if unknown:
        from segmentum.errors import did_you_mean

        index = config.builtins.index(unknown[0])
        raise ConfigError(
            f"{located.where(('builtins', index))}: unknown built-in '{unknown[0]}'"
            f"{did_you_mean(unknown[0], known_builtins)} (available: {', '.join(sorted(known_builtins))})"
        )
    config.builtin_settings = settings
    return config


def load_config(path: Path) -> WorkspaceConfig:
    return parse_config(load_yaml(path, display_path=path.name))


CONFIG_TEMPLATE = """\
# segmentum workspace. Every key is optional; the values shown are the defaults unless noted.
name: {name}

# The store: one DuckDB file next to this one (canonical tables, snapshots, outbox, tasks).
store: segmentum.duckdb
# engine: spark               # run definitions on Apache Spark (local) instead of DuckDB
# engine:                     # or a mapping: the engine and DuckDB's resources
#   name: duckdb
#   memory_limit: 4GB         # beyond it DuckDB spills to disk (default: 80% of the machine's memory)
#   temp_directory: segmentum.duckdb.tmp   # where it spills (default: next to the store)
#   ingest_chunk_rows: 5000000  # an ingest checks and stores a larger file this many rows at a time
# serve:                      # `segmentum serve` (also host, port, micro_batch_seconds, schedule, max_pending)
#   memory_limit: 25%         # DuckDB's memory while serving, unless engine.memory_limit is set
#   checkpoint_wal: 16MB      # the store is checkpointed after a micro-batch once its log reaches this size
#   held_rows: 10%            # memory for the order rows micro-batches gather instead of scanning (null: none)
# warehouse: warehouse/       # where Parquet exports for Spark are written

# Timestamps are stored as wall-clock time in this zone; input with an offset is converted to it.
timezone: {timezone}
currency: {currency}

# Definition files (traits, segments, segmentations, triggers), relative to this folder.
definitions: ["definitions/*.yml"]

# Built-in segmentations to include: `segmentum builtins` lists them, `segmentum builtins show NAME` prints one.
builtins: [rfm, abc, lifecycle]
# Each built-in can be configured here without copying it, for example:
# rfm: {{bins: 5}}
# abc: {{window: 365d}}

# webhooks:
#   allow: ["https://crm.example.com/"]   # webhook URLs must start with one of these
# exports:
#   folder: exports                      # export actions write only inside this folder
#   delimiter: ";"                       # CSV exports for Excel where the decimal mark is a comma
# email:
#   smtp_host: smtp.example.com
#   smtp_port: 587
#   username: segmentum
#   password_env: SMTP_PASSWORD          # the password is read from this environment variable
#   from: shop@example.com
#   dry_run: true                        # write emails to outbox/ instead of sending
"""


def render_config_template(name: str, timezone: str = "UTC", currency: str = "USD") -> str:
    return CONFIG_TEMPLATE.format(name=name, timezone=timezone, currency=currency)
