"""The `export` sink: the members of a segment after a run, as CSV or Parquet, for campaigns.

One file per trigger and run (not per customer). With `hash_emails: true` the file holds
`email_sha256` = SHA-256 of the trimmed, lower-cased address (what ad platforms expect) and no
plain-text name, email or phone.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from segmentum.actions.events import SegmentRefreshed, SinkEvent
from segmentum.actions.sinks.base import Delivered, DeliveryError, OutboxItem, Sink
from segmentum.errors import ActionError
from segmentum.store import META

if TYPE_CHECKING:
    import duckdb

    from segmentum.actions.templates import Templates

FORMATS = ("csv", "parquet")


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
        return {
            "path": path,
            "format": export_format(path, settings.get("format")),
            "hash_emails": bool(settings.get("hash_emails")),
            "segment": event.segment,
        }

    def query(self, segment: str, run_id: int, hash_emails: bool) -> tuple[str, list[Any]]:
        """SQL for the members of `segment` ('x', 'seg.x' or 'seg.*') in run `run_id`."""
        columns = self.ws.store.columns("customers")
        select = ["m.customer_id", "m.name AS segment"]
        if hash_emails:
            if "email" in columns:
                select.append(
                    "CASE WHEN nullif(trim(c.email), '') IS NULL THEN NULL "
                    "ELSE sha256(lower(trim(c.email))) END AS email_sha256"
                )
        else:
            select += [f"c.{col}" for col in ("name", "email", "phone") if col in columns]
        if segment.endswith(".*"):
            cond, param = "m.segmentation = ?", segment[:-2]
        else:
            cond, param = "m.name = ?", segment
        join = "LEFT JOIN main.customers c USING (customer_id)" if columns else ""
        if not columns:
            select = select[:2]
        return (
            f"SELECT {', '.join(select)} FROM {META}.memberships m {join} WHERE m.run_id = ? AND {cond} "
            "ORDER BY m.customer_id",
            [run_id, param],
        )

    def deliver(self, item: OutboxItem, con: duckdb.DuckDBPyConnection) -> Delivered:
        action = item.payload["action"]
        target = Path(action["path"])
        if not target.is_absolute():
            target = self.ws.root / target
        sql, params = self.query(action["segment"], item.run_id, action["hash_emails"])
        fmt = action["format"]
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            result = con.execute(sql, params)
            rel = result.to_arrow_table() if hasattr(result, "to_arrow_table") else result.fetch_arrow_table()
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
