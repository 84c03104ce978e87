"""The facade at the top of the library: a workspace folder with `segmentum.yml`, its definitions and its
store, and the operations a user starts. The Python API's entry point.

Nothing below this module imports it (DESIGN.md section 3): library functions take a `Context`, which a
`Workspace` is, and the facade wires the steps that span layers (a run, then its triggers).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from segmentum.context import ENV_WORKSPACE, Context, create_workspace, find_workspace

if TYPE_CHECKING:
    from segmentum.runs.execute import RunResult
    from segmentum.service.ownership import ServerRecord

__all__ = ["ENV_WORKSPACE", "Workspace", "find_workspace"]


class Workspace(Context):
    """A segmentum workspace.

    Parameters
    ----------
    path:
        The workspace folder. When omitted: $SEGMENTUM_WORKSPACE, else the nearest `segmentum.yml` upward.
    """

    @classmethod
    def init(
        cls, path: str | Path, *, name: str | None = None, timezone: str = "UTC", currency: str = "USD"
    ) -> Workspace:
        """Create a workspace folder with a commented `segmentum.yml` and an empty `definitions/`."""
        return cls(create_workspace(path, name=name, timezone=timezone, currency=currency))

    def run(self, *, triggers: bool = True, deliver: bool = True, **options: Any) -> RunResult:
        """Compute a snapshot (see `segmentum.runs.execute.run` for the options: as_of, engine, only, customers,
        preview).

        After a stored run its triggers' actions are enqueued and, with `deliver`, what is due is delivered
        (`triggers=False` skips that; the transitions stay in the snapshot history either way).
        """
        from segmentum.actions.triggers import run_and_act  # the one path of a run and its triggers

        return run_and_act(self, triggers=triggers, deliver=deliver, **options)

    def backfill(self, start: Any, end: Any, every: str = "1m", **options: Any) -> list[RunResult]:
        """Runs at past points in time (see `segmentum.runs.backfill.backfill`); history fires no triggers."""
        from segmentum.runs.backfill import backfill

        return backfill(self, start, end, every, **options)

    def ingest(self, table: str, source: Any, **options: Any) -> Any:
        """Load a table from a file or database URL; see segmentum.ingest.load.ingest for the options."""
        from segmentum.ingest.load import ingest

        return ingest(self, table, source, **options)

    def ingest_frame(self, table: str, data: Any, **options: Any) -> Any:
        """Load a table from a pandas DataFrame or Arrow table; see segmentum.ingest.load.ingest_frame."""
        from segmentum.ingest.load import ingest_frame

        return ingest_frame(self, table, data, **options)

    def server(self) -> ServerRecord | None:
        """The `segmentum serve` process that owns this workspace's store now, or None.

        While one runs, talk to it with `segmentum.service.ownership.ServerClient(ws.server())` instead of
        opening the store."""
        from segmentum.service.ownership import running_server

        return running_server(self.root)

    def cluster(self, name: str, *, assign: bool = False, **options: Any) -> Any:
        """Fit clustering `name` and save it as a segmentation, or re-assign customers with the saved model
        (`assign=True`); see segmentum.models.cluster_store.fit_clustering for the options."""
        from segmentum.models.cluster_store import assign_clustering, fit_clustering

        if assign:
            return assign_clustering(self, name, **options)
        return fit_clustering(self, name, **options)
