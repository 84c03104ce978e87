"""A workspace: a folder with `segmentum.yml`, its definitions and its store. The Python API's entry point."""

from __future__ import annotations

import os
from pathlib import Path

from segmentum.config import CONFIG_FILE, WorkspaceConfig, load_config, render_config_template
from segmentum.errors import ConfigError, WorkspaceNotFoundError
from segmentum.store import Store

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


class Workspace:
    """A segmentum workspace.

    Parameters
    ----------
    path:
        The workspace folder. When omitted: $SEGMENTUM_WORKSPACE, else the nearest `segmentum.yml` upward.
    """

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False) -> None:
        self.root = find_workspace(path)
        self.config: WorkspaceConfig = load_config(self.root / CONFIG_FILE)
        self._read_only = read_only
        self._store: Store | None = None

    @classmethod
    def init(cls, path: str | Path, *, name: str | None = None, timezone: str = "UTC", currency: str = "USD") -> Workspace:
        """Create a workspace folder with a commented `segmentum.yml` and an empty `definitions/`."""
        root = Path(path).expanduser().resolve()
        config_path = root / CONFIG_FILE
        if config_path.exists():
            raise ConfigError(f"{config_path} already exists; this folder is a workspace already")
        root.mkdir(parents=True, exist_ok=True)
        (root / "definitions").mkdir(exist_ok=True)
        config_path.write_text(render_config_template(name or root.name, timezone, currency), encoding="utf-8")
        return cls(root)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.root / self.config.store, read_only=self._read_only)
        return self._store

    def path(self, relative: str | Path) -> Path:
        """A path inside the workspace."""
        return self.root / relative

    def definitions(self, *, overrides: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        """The validated definitions (built-ins, segmentum.yml, definitions/*.yml); see spec/loader.py."""
        from segmentum.spec.loader import load_definitions

        return load_definitions(self, overrides=overrides)

    def run(self, *, triggers: bool = True, **options):  # type: ignore[no-untyped-def]
        """Compute a snapshot (see `segmentum.run.run` for the options: as_of, engine, only, customers, preview).

        After a stored run its triggers' actions are enqueued and what is due is delivered (`triggers=False`
        skips that; the transitions stay in the snapshot history either way).
        """
        from segmentum.run import run

        result = run(self, **options)
        if triggers and not options.get("preview"):
            from segmentum.actions.triggers import act_on_run

            act_on_run(self, result)  # triggers fire from the outbox; problems become the run's warnings
        return result

    def ingest(self, table: str, source, **options):  # type: ignore[no-untyped-def]
        """Load a table from a file or database URL; see segmentum.data.ingest.ingest for the options."""
        from segmentum.data.ingest import ingest

        return ingest(self, table, source, **options)

    def ingest_frame(self, table: str, data, **options):  # type: ignore[no-untyped-def]
        """Load a table from a pandas DataFrame or Arrow table; see segmentum.data.ingest.ingest_frame."""
        from segmentum.data.ingest import ingest_frame

        return ingest_frame(self, table, data, **options)

    def server(self):  # type: ignore[no-untyped-def]
        """The `segmentum serve` process that owns this workspace's store now, or None (see api/server.py).

        While one runs, talk to it with `segmentum.api.server.ServerClient(ws.server())` instead of
        opening the store."""
        from segmentum.api.server import running_server

        return running_server(self)

    def cluster(self, name: str, *, assign: bool = False, **options):  # type: ignore[no-untyped-def]
        """Fit clustering `name` and save it as a segmentation, or re-assign customers with the saved model
        (`assign=True`); see segmentum.models.cluster_store.fit_clustering for the options."""
        from segmentum.models.cluster_store import assign_clustering, fit_clustering

        if assign:
            return assign_clustering(self, name, **options)
        return fit_clustering(self, name, **options)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"
