"""What library functions receive instead of the workspace: the folder, its config and its store.

`Workspace` (the facade at the top of the package) is a `Context`; everything below it takes a `Context`,
so no module under the facade imports it (DESIGN.md section 3, layers).
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from segmentum.config import (
    CONFIG_FILE,
    WorkspaceConfig,
    load_config,
    memory_bytes,
    render_config_template,
)
from segmentum.errors import ConfigError, WorkspaceNotFoundError
from segmentum.store.connection import Store

if TYPE_CHECKING:
    from segmentum.spec.loader import Definitions

ENV_WORKSPACE = "SEGMENTUM_WORKSPACE"


def find_workspace(start: str | Path | None = None) -> Path:
    """`start` if given, else $SEGMENTUM_WORKSPACE, else the nearest folder upward holding `segmentum.yml`."""
    if start is not None:
        root = Path(start).expanduser().resolve()
        if not (root / CONFIG_FILE).is_file():
            raise WorkspaceNotFoundError(
                f"no {CONFIG_FILE} in {root}; create a workspace there with `segmentum init {start}`"
            )
        return root
    env = os.environ.get(ENV_WORKSPACE)
    if env:
        root = Path(env).expanduser().resolve()
        if not (root / CONFIG_FILE).is_file():
            raise WorkspaceNotFoundError(
                f"{ENV_WORKSPACE}={env} but there is no {CONFIG_FILE} there; fix the variable or run `segmentum init {env}`"
            )
        return root
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise WorkspaceNotFoundError(
        f"no {CONFIG_FILE} found in {here} or any folder above it; pass --workspace DIR, set {ENV_WORKSPACE}, "
        "or create one with `segmentum init DIR`"
    )


def create_workspace(
    path: str | Path, *, name: str | None = None, timezone: str = "UTC", currency: str = "USD"
) -> Path:
    """Create a workspace folder with a commented `segmentum.yml` and an empty `definitions/`; returns its root."""
    root = Path(path).expanduser().resolve()
    config_path = root / CONFIG_FILE
    if config_path.exists():
        raise ConfigError(f"{config_path} already exists; this folder is a workspace already")
    root.mkdir(parents=True, exist_ok=True)
    (root / "definitions").mkdir(exist_ok=True)
    config_path.write_text(render_config_template(name or root.name, timezone, currency), encoding="utf-8")
    return root


class Context:
    """A workspace folder, its validated config and its store (opened lazily).

    Parameters
    ----------
    path:
        The workspace folder. When omitted: $SEGMENTUM_WORKSPACE, else the nearest `segmentum.yml` upward.
    read_only:
        Open the store read-only.
    """

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False) -> None:
        self.root = find_workspace(path)
        self.config: WorkspaceConfig = load_config(self.root / CONFIG_FILE)
        self._read_only = read_only
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(
                self.root / self.config.store,
                read_only=self._read_only,
                settings=self.store_settings(),
                row_group_size=self.config.engine.row_group_size,
            )
        return self._store

    def store_settings(self) -> dict[str, str | int]:
        """DuckDB's settings for this workspace's store, from `engine:` in segmentum.yml: the memory limit
        (beyond it DuckDB spills), where it spills (by default `<store>.tmp` next to the store, not the
        current folder), and the threads."""
        engine = self.config.engine
        store = self.root / self.config.store
        settings: dict[str, str | int] = {
            "temp_directory": str(self.root / engine.temp_directory)
            if engine.temp_directory
            else str(store.with_name(store.name + ".tmp"))
        }
        if engine.memory_limit:
            settings["memory_limit"] = f"{memory_bytes(engine.memory_limit)}B"
        if engine.threads:
            settings["threads"] = engine.threads
        return settings

    def serve_memory_limit(self) -> int | None:
        """Bytes DuckDB may hold while `segmentum serve` owns the store: `serve.memory_limit` (default
        `SERVE_MEMORY_LIMIT`) unless `engine.memory_limit` is set (then that one, applied when the store
        opened, stays: None). A server's micro-batches read blocks of the whole store over time; without a
        limit DuckDB keeps them cached up to its default of 80% of the machine's memory."""
        if self.config.engine.memory_limit or not self.config.serve.memory_limit:
            return None
        return memory_bytes(self.config.serve.memory_limit)

    def path(self, relative: str | Path) -> Path:
        """A path inside the workspace."""
        return self.root / relative

    def definitions(self, *, overrides: dict[str, str] | None = None) -> Definitions:
        """The validated definitions (built-ins, segmentum.yml, definitions/*.yml) against what the store holds."""
        from segmentum.spec.loader import load_definitions
        from segmentum.store.catalog import data_columns
        from segmentum.store.lists import names as list_names

        return load_definitions(
            self, overrides=overrides, columns=data_columns(self.store), lists=list_names(self.store)
        )

    def resolve_as_of(self, value: str | datetime | date | None) -> tuple[datetime, list[str]]:
        """A run's `as_of` and warnings, by the one rule of `segmentum.clock.resolve_as_of`, with the
        newest timestamp of this workspace's data for `latest`."""
        from segmentum.clock import resolve_as_of
        from segmentum.store.catalog import newest_timestamp

        return resolve_as_of(
            value, timezone=self.config.timezone, newest=lambda: newest_timestamp(self.store)
        )

    def close(self) -> None:
        """Close the store; the next use of `store` opens it again, never hands out the closed one."""
        store, self._store = self._store, None
        if store is not None:
            store.close()

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r})"
