"""Values made JSON-friendly: Decimal, datetime, numpy scalars and arrays, and pandas' missing values."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any


def jsonable(value: Any) -> Any:
    """Convert values (Decimal, datetime, numpy, pandas NA) into JSON-friendly ones."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if value != value else value  # NaN -> null
    if isinstance(value, Decimal):
        return float(value) if value == value.to_integral_value() or abs(value) < 10**15 else str(value)
    if isinstance(value, (datetime, date)):
        return None if value != value else value.isoformat()  # pandas' NaT is a datetime, and missing
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if getattr(value, "ndim", 0) and hasattr(value, "tolist"):  # a numpy array (a list column's cell)
        return [jsonable(v) for v in value.tolist()]
    if hasattr(value, "item"):  # numpy scalar
        return jsonable(value.item())
    try:
        import pandas as pd

        if value is pd.NaT or (not isinstance(value, (list, dict)) and pd.isna(value)):
            return None
        if isinstance(value, pd.Timestamp):
            return value.isoformat()
    except (ImportError, TypeError, ValueError):
        pass
    return str(value)
