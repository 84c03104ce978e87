"""Exports of customer lists, the one home: files a CRM, a spreadsheet or an ad platform imports unedited.

`segmentum members -o FILE`, `GET /v1/segments/{name}/members?format=csv|xlsx`, the dashboard's export and the
`export` sink all write through `write_export` / `export_bytes` here:

- CSV: UTF-8 with a byte order mark (so Excel on Windows shows Cyrillic), `,` or `;` (`--delimiter`,
  `exports.delimiter`), no cell a spreadsheet runs as a formula (`csvsafe`), lists as `a, b, c`;
- Excel (.xlsx, openpyxl): numbers, money and dates as typed cells, text as text (never a formula);
- JSON / JSON lines: numbers as numbers, lists as lists, dates in ISO 8601;
- Parquet: the values as they are.

Money (exact DECIMAL columns) is rounded to the workspace's decimals (`exports.money_decimals`, default the
currency's minor unit: 2 for UAH/EUR/USD, 0 for JPY). One file per trigger and run for the sink (not per
customer); with `hash_emails: true` it holds `email_sha256` = SHA-256 of the trimmed, lower-cased address (what
ad platforms expect) and no plain-text name, email or phone.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from difflib import get_close_matches
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from segmentum.actions.events import SegmentRefreshed, SinkEvent
from segmentum.actions.policy import CONTROL, group_of, list_members
from segmentum.actions.sinks.base import Delivered, DeliveryError, OutboxItem, Sink
from segmentum.csvsafe import safe_frame
from segmentum.errors import ActionError, ConfigError, NotFoundError
from segmentum.jsonable import jsonable
from segmentum.store.snapshots import get_run
from segmentum.views.members import members

if TYPE_CHECKING:
    import duckdb

    from segmentum.actions.templates import Templates
    from segmentum.context import Context

FORMATS = ("csv", "parquet")  # what the `export` sink writes
# what an export file may be, by its extension
FILE_FORMATS = {
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}
DELIMITERS = (",", ";", "\t")
BOM = "\ufeff"
# ISO 4217 minor units that are not 2 (every other currency has cents)
CURRENCY_DECIMALS = {
    **dict.fromkeys(("JPY", "KRW", "VND", "CLP", "ISK", "UGX", "PYG", "XAF", "XOF", "RWF", "KMF", "GNF"), 0),
    **dict.fromkeys(("KWD", "BHD", "OMR", "JOD", "TND", "IQD", "LYD"), 3),
}


@dataclass(frozen=True)
class ExportOptions:
    """How an export file is written: the CSV delimiter and byte order mark, and the decimals of money."""

    delimiter: str = ","
    bom: bool = True
    money_decimals: int = 2

    def __post_init__(self) -> None:
        if self.delimiter not in DELIMITERS:
            shown = ", ".join(repr(d) for d in DELIMITERS)
            raise ConfigError(
                f"CSV delimiter {self.delimiter!r} is not one of {shown}; use ';' for Excel in uk/ru"
            )


def export_options(ctx: Context, delimiter: str | None = None) -> ExportOptions:
    """The workspace's export options (segmentum.yml `exports:`), with `delimiter` when one is asked for."""
    settings = ctx.config.exports
    decimals = settings.money_decimals
    if decimals is None:
        decimals = CURRENCY_DECIMALS.get(ctx.config.currency.upper(), 2)
    return ExportOptions(
        delimiter=_delimiter(delimiter if delimiter else settings.delimiter),
        bom=settings.bom,
        money_decimals=decimals,
    )


def _delimiter(text: str) -> str:
    return "\t" if text.lower() in ("tab", "\\t") else text


def file_format(path: str | Path) -> str:
    """The export format of a file name, by its extension; a clear error for any other."""
    suffix = Path(path).suffix.lower()
    kind = FILE_FORMATS.get(suffix)
    if kind is None:
        raise NotFoundError(
            f"cannot write {Path(path).name}: unknown extension '{suffix}'; use one of {', '.join(FILE_FORMATS)}"
        )
    return kind


def choose_columns(df: pd.DataFrame, columns: list[str] | None) -> pd.DataFrame:
    """The rows with only `columns`, in that order (customer_id first when not named); an unknown name is a
    NotFoundError naming the closest and the columns there are."""
    if not columns:
        return df
    unknown = [c for c in columns if c not in df.columns]
    if unknown:
        hints = []
        for name in unknown:
            close = get_close_matches(name, [str(c) for c in df.columns], n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise NotFoundError(
            f"no column {', '.join(hints)} among the members' attributes, traits and model outputs; "
            f"there are: {', '.join(map(str, df.columns))}"
        )
    chosen = list(dict.fromkeys(["customer_id", *columns] if "customer_id" not in columns else columns))
    return df[chosen]


def member_rows(
    ctx: Context,
    name: str,
    *,
    run_id: int | None = None,
    filters: list[str] | None = None,
    columns: list[str] | None = None,
    search: str = "",
) -> pd.DataFrame:
    """The members of `name` as an export holds them: every attribute (or the chosen `columns`, which may name
    traits and model outputs too), read by `views.members`."""
    segment = name.endswith(".*") or "segment" in (columns or [])
    if not columns:
        return members(ctx, name, run_id=run_id, filters=filters or (), search=search, segment=segment).rows
    page = members(
        ctx,
        name,
        run_id=run_id,
        filters=filters or (),
        search=search,
        traits=True,
        segment=segment,
        scores=columns,
    )
    return choose_columns(page.rows, columns)


# model outputs in the workspace's currency (DOUBLE columns of model_clv), rounded like money
MONEY_SCORES = ("clv_", "mean_clv_", "expected_average_value")


def _is_money(series: pd.Series) -> bool:
    """An exact DECIMAL column (money in segmentum's data: Decimal values, not floats), or a model output in
    money (CLV)."""
    if str(series.name).startswith(MONEY_SCORES) and pd.api.types.is_float_dtype(series.dtype):
        return True
    if isinstance(series.dtype, pd.ArrowDtype):
        return pa.types.is_decimal(series.dtype.pyarrow_dtype)
    if series.dtype != object:
        return False
    values = series.dropna()
    return len(values) > 0 and all(isinstance(v, Decimal) for v in values.head(50))


def export_frame(df: pd.DataFrame, options: ExportOptions) -> pd.DataFrame:
    """The rows with money rounded to the workspace's decimals, whole-number float columns (a count with a
    missing value) as integers, and list cells (numpy arrays from the store) as Python lists."""
    out = df.copy()
    step = Decimal(1).scaleb(-options.money_decimals)
    for column in out.columns:
        series = out[column]
        if _is_money(series):
            out[column] = [
                None if v is None or v != v else Decimal(str(v)).quantize(step, rounding=ROUND_HALF_UP)
                for v in series
            ]
        elif pd.api.types.is_float_dtype(series.dtype):
            values = series.dropna()
            if len(values) and bool((values == values.round()).all()) and bool((values.abs() < 2**53).all()):
                out[column] = series.astype("Int64")
        elif series.dtype == object:
            out[column] = [v.tolist() if getattr(v, "ndim", 0) else v for v in series]
    return out


def _text_cell(value: Any) -> Any:
    """A value for a CSV or a spreadsheet cell: a list as `a, b, c`, a missing value as empty."""
    if isinstance(value, (list, tuple)):
        return ", ".join("" if v is None else str(jsonable(v)) for v in value)
    if isinstance(value, dict):
        return json.dumps(jsonable(value), ensure_ascii=False)
    return value


def _csv_text(df: pd.DataFrame, options: ExportOptions) -> str:
    frame = df.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(_text_cell)
    buffer = io.StringIO()
    # safe_frame: no text cell a spreadsheet would run as a formula (numbers stay numbers)
    safe_frame(frame).to_csv(buffer, index=False, sep=options.delimiter, lineterminator="\r\n")
    return (BOM if options.bom else "") + buffer.getvalue()


def _json_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON values: Decimal and numpy numbers as numbers, lists as lists, dates as ISO text."""
    return [jsonable(row) for row in df.to_dict(orient="records")]


def _xlsx_bytes(df: pd.DataFrame, options: ExportOptions) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet("members")
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in df.columns:
        cell = WriteOnlyCell(sheet, value=str(column))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    money_format = "#,##0" + ("." + "0" * options.money_decimals if options.money_decimals else "")
    money = {c for c in df.columns if _is_money(df[c])}
    for row in df.itertuples(index=False, name=None):
        cells = []
        for column, value in zip(df.columns, row, strict=True):
            value = _xlsx_value(value)
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text, never a formula (openpyxl reads a leading '=' as one)
            elif column in money and value is not None:
                cell.number_format = money_format
            elif isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xlsx_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.replace(tzinfo=None)  # Excel has no time zones: the wall-clock time as stored
    if hasattr(value, "item") and not getattr(value, "ndim", 0):
        value = value.item()
    value = _text_cell(value.tolist() if getattr(value, "ndim", 0) else value)
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def export_bytes(df: pd.DataFrame, fmt: str, options: ExportOptions) -> bytes:
    """The export file's content in `fmt` (csv, xlsx, json, jsonl, parquet), for a download."""
    frame = export_frame(df, options)
    if fmt == "csv":
        return _csv_text(frame, options).encode("utf-8")
    if fmt == "xlsx":
        return _xlsx_bytes(frame, options)
    if fmt == "json":
        return json.dumps(_json_records(frame), ensure_ascii=False, indent=1).encode("utf-8")
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _json_records(frame)).encode("utf-8")
    if fmt == "parquet":
        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
        return buffer.getvalue()
    raise NotFoundError(f"unknown export format {fmt!r}; use one of {', '.join(MEDIA_TYPES)}")


def write_export(df: pd.DataFrame, path: str | Path, options: ExportOptions, fmt: str | None = None) -> Path:
    """Write the rows to `path` in `fmt` (default: by its extension), through a temporary file so that
    readers never see half of it; an empty frame keeps its header."""
    target = Path(path)
    content = export_bytes(df, fmt or file_format(target), options)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(content)
    tmp.replace(target)
    return target


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
        try:
            write_export(rows, target, export_options(self.ws), fmt=action["format"])
        except OSError as exc:
            raise DeliveryError(f"cannot write the export {target}: {exc}") from None
        return Delivered(note=f"{len(rows)} customers written to {target}")
