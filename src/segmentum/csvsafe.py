"""CSV cells that a spreadsheet will not run as formulas (CSV formula injection, OWASP).

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'`, so Excel,
LibreOffice and Google Sheets show it as text. Numbers (a negative amount too) are not text and stay numbers.
A carriage return inside text becomes a line feed: CSV writers quote a field holding a line feed, but not
one holding a lone carriage return, which a spreadsheet reads as the end of the row (and the text after it,
`=1+1`, as a new row's formula). Every CSV segmentum writes goes through `safe_cell` / `safe_frame`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value` with a leading `'` when it is text a spreadsheet would read as a formula (and no carriage
    return); anything that is not text as is."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS):
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells are neutralised (numeric, date and boolean columns are unchanged)."""
    from pandas.api.types import is_object_dtype, is_string_dtype

    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if is_object_dtype(series.dtype) or is_string_dtype(series.dtype):  # Arrow-backed text too
            out[column] = series.map(safe_cell)
    out.columns = [safe_cell(str(c)) for c in out.columns]
    return out
