"""The one place where the API reaches library functions that other parts of segmentum provide.

Each function here calls the library if it is importable; when a piece is not available in this build
the endpoint answers 501 in the one error shape instead of failing with a 500.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from segmentum.api.errors import ApiError

# feature -> candidate "module:function" names, first importable one wins
CANDIDATES: dict[str, tuple[str, ...]] = {
    "run": ("segmentum.run:run", "segmentum.engine.run:run"),
    "explain": ("segmentum.analysis.explain:explain", "segmentum.explain:explain", "segmentum.engine.explain:explain"),
    "preview": ("segmentum.analysis.preview:preview", "segmentum.preview:preview", "segmentum.engine.preview:preview"),
    "profile": ("segmentum.analysis.profile:profile", "segmentum.analysis.profiles:profile"),
    "load_definitions": ("segmentum.spec.loader:load_definitions",),
}


def find(feature: str) -> Callable[..., Any] | None:
    """The library function for `feature`, or None when this build lacks it."""
    for candidate in CANDIDATES[feature]:
        module_name, _, attr = candidate.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        func = getattr(module, attr, None)
        if callable(func):
            return func
    return None


def require(feature: str) -> Callable[..., Any]:
    func = find(feature)
    if func is None:
        raise ApiError(
            501, f"{feature} is not available in this build of segmentum",
            details={"feature": feature, "looked_for": list(CANDIDATES[feature])},
        )
    return func


def run_batch(ws: Any, *, as_of: datetime | str | None, only: list[str] | None = None) -> Any:
    """A batch run of every customer (the engine decides the run id and writes the snapshot)."""
    kwargs: dict[str, Any] = {"as_of": as_of}
    if only:
        kwargs["only"] = only
    return require("run")(ws, **kwargs)


def run_realtime(ws: Any, customers: list[str], *, as_of: datetime) -> Any:
    """Re-evaluate only `customers` (population-dependent values come from the last batch run)."""
    return require("run")(ws, customers=customers, kind="realtime", as_of=as_of)


def load_definitions(ws: Any, overrides: dict[str, str] | None = None) -> Any:
    return require("load_definitions")(ws, overrides=overrides)
