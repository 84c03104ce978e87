"""The `export` sink: the members of a segment after a run, as CSV or Parquet, for campaigns.

One file per trigger and run (not per customer). With `hash_emails: true` the file holds
`email_sha256` = SHA-256 of the trimmed, lower-cased address (what ad platforms expect) and no
plain-text name, email or phone.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from segmentum.actions.events import SegmentRefreshed, SinkEvent
from segmentum.actions.policy import CONTROL, group_of, list_members
from segmentum.actions.sinks.base import Delivered, DeliveryError, OutboxItem, Sink
from segmentum.csvsafe import safe_frame
from segmentum.errors import ActionError, NotFoundError
from segmentum.store.snapshots import get_run
from segmentum.views.members import members

if TYPE_CHECKING:
    import duckdb

    from segmentum.actions.templates import Templates
    from segmentum.context import Context

FORMATS = ("csv", "parquet")


def exports_folder(ws: Context) -> Path:
    """The folder export actions write into: `exports.folder` of segmentum.yml (default `exports/`)."""
    folder = Path(ws.config.exports.folder).expanduser()
    return (folder if folder.is_absolute() else ws.root / folder).resolve()


def export_target(ws: Context, path: str, where: str) -> Path:
    """The file an export path writes: relative paths are inside the workspace, and the file must be inside the
    exports folder. A path with `..`, or one that leads elsewhere (absolutely, or through a symbolic link), is
    refused with an ActionError, so a trigger cannot write customers' data anywhere it likes."""
    folder = exports_folder(ws)
    shown = ws.config.exports.folder
    raw = Path(path)
    hint = (
        f"export paths stay inside the exports folder {folder} (e.g. {Path(shown) / (raw.name or 'list.csv')}); "
        "to write elsewhere, name that folder in segmentum.yml: `exports: {folder: /path/to/folder}`"
    )
    if ".." in raw.parts:
        raise ActionError(f"{where}: export path {path!r} holds '..'; {hint}")
    target = (raw if raw.is_absolute() else ws.root / raw).resolve()
    if not target.is_relative_to(folder) or target == folder:
        raise ActionError(f"{where}: export path {path!r} is outside the exports folder; {hint}")
    return target


def export_format(path: str, given: str | None) -> str:
    if given:
        return given
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ActionError(
            f"export path {path!r}: cannot tell the format from '.{suffix}'; end it in .csv or "
            ".parquet, or set format: csv|parquet"
        )
    return suffix


class ExportSink(Sink):
    """The members of the refreshed segment after each batch run: one item per trigger, action and run."""

    name = "export"
    events = (SegmentRefreshed,)

    def validate(self, settings: dict[str, Any], where: str, templates: Templates) -> None:
        templates.check(settings["path"], f"{where}.path")
        path = settings["path"]
        # a templated path is checked up to its first template: the folder must be a fixed one (the rendered
        # path is checked again)
        export_target(self.ws, path if "{" not in path else path.split("{", 1)[0] + "_", f"{where}.path")
        if "{" not in settings["path"]:
            try:
                export_format(settings["path"], settings.get("format"))
            except ActionError as exc:
                raise ActionError(f"{where}: {exc}") from None

    def render(
        self, event: SinkEvent, settings: dict[str, Any], context: dict[str, Any], templates: Templates
    ) -> dict[str, Any]:
        if not isinstance(event, SegmentRefreshed):
            raise ActionError(
                f"export writes a refreshed segment's members; it cannot act on a {event.type} event"
            )
        path = templates.render(settings["path"], context, where="export.path").strip()
        export_target(self.ws, path, "export.path")
        return {
            "path": path,
            "format": export_format(path, settings.get("format")),
            "hash_emails": bool(settings.get("hash_emails")),
            "segment": event.segment,
        }

    def rows(
        self, segment: str, run_id: int, hash_emails: bool, exclude: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Members of `segment` ('x', 'seg.x' or 'seg.*') in run `run_id`, read by `views.members` (the one
        reading of a segment's members), with the export's columns; without the members of the suppression
        lists and the trigger's hold-out group named by `exclude` (actions/policy.py)."""
        contact = ["email"] if hash_emails else ["name", "email", "phone"]
        page = members(self.ws, segment, run_id=run_id, attributes=contact, segment=True)
        df = page.rows
        if exclude and len(df):
            ids = df["customer_id"].astype(str)
            left_out: set[str] = set()
            if exclude.get("suppress"):
                run = get_run(self.ws.store, run_id)
                for name in exclude["suppress"]:
                    left_out |= list_members(self.ws, name, run, ids)
            share = float(exclude.get("holdout") or 0)
            if share:
                left_out |= {c for c in ids if group_of(str(exclude["trigger"]), c, share) == CONTROL}
            df = df[~ids.isin(left_out)].reset_index(drop=True)
        if hash_emails:
            # what ad platforms expect: SHA-256 of the trimmed, lower-cased address; no plain-text PII
            emails = df.pop("email") if "email" in df.columns else None
            if emails is not None:
                df["email_sha256"] = [
                    hashlib.sha256(str(e).strip().lower().encode("utf-8")).hexdigest()
                    if isinstance(e, str) and e.strip()
                    else None
                    for e in emails
                ]
        return df

    def deliver(self, item: OutboxItem, con: duckdb.DuckDBPyConnection) -> Delivered:
        action = item.payload["action"]
        try:  # checked again: the exports folder may have changed since the item was rendered
            target = export_target(self.ws, action["path"], f"outbox item {item.id}")
        except ActionError as exc:
            raise DeliveryError(str(exc), retry=False) from None
        try:
            rows = self.rows(action["segment"], item.run_id, action["hash_emails"], action.get("exclude"))
        except (
            NotFoundError,
            ActionError,
        ) as exc:  # the segment, the run or a list is gone: retrying cannot help
            raise DeliveryError(f"cannot export: {exc}", retry=False) from None
        fmt = action["format"]
        # a CSV is opened in spreadsheets: no text cell may run as a formula (Parquet keeps values as they are)
        rel = pa.Table.from_pandas(safe_frame(rows) if fmt == "csv" else rows, preserve_index=False)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            if fmt == "csv":
                import pyarrow.csv as pacsv

                pacsv.write_csv(rel, tmp)
            else:
                import pyarrow.parquet as pq

                pq.write_table(rel, tmp)
            tmp.replace(target)  # readers never see a half-written file
        except OSError as exc:
            raise DeliveryError(f"cannot write the export {target}: {exc}") from None
        return Delivered(note=f"{rel.num_rows} customers written to {target}")
