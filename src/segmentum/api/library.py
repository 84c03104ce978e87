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
    """A batch run of every customer; its triggers' actions go to the outbox (the delivery worker sends them)."""
    kwargs: dict[str, Any] = {"as_of": as_of}
    if only:
        kwargs["only"] = only
    result = require("run")(ws, **kwargs)
    _act(ws, result)
    _DEFINITIONS.pop(str(ws.root), None)  # a batch run is where edited definitions are picked up
    return result


def run_realtime(ws: Any, customers: list[str], *, as_of: datetime) -> Any:
    """Re-evaluate only `customers` (population-dependent values come from the last batch run).

    The validated definitions are reused between micro-batches while the files are unchanged: loading and
    validating them is most of a small micro-batch's cost.
    """
    result = require("run")(ws, customers=customers, kind="realtime", as_of=as_of, definitions=_definitions(ws))
    _act(ws, result)
    return result


_DEFINITIONS: dict[str, tuple[tuple[Any, ...], Any]] = {}


def _definitions(ws: Any) -> Any:
    from segmentum.spec.loader import definition_files

    files = [ws.root / "segmentum.yml", *definition_files(ws)]
    fingerprint = tuple((str(p), p.stat().st_mtime_ns) for p in files if p.is_file())
    cached = _DEFINITIONS.get(str(ws.root))
    if cached is None or cached[0] != fingerprint:
        cached = (fingerprint, require("load_definitions")(ws, overrides=None))
        _DEFINITIONS[str(ws.root)] = cached
    return cached[1]


def _act(ws: Any, result: Any) -> None:
    """Enqueue the run's trigger actions; delivery happens on the server's delivery worker."""
    from segmentum.actions.triggers import act_on_run

    act_on_run(ws, result, deliver_now=False)


def load_definitions(ws: Any, overrides: dict[str, str] | None = None) -> Any:
    return require("load_definitions")(ws, overrides=overrides)
