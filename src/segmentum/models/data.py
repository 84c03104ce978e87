"""What every model's data preparation shares: the instant it is fitted at and the built-in settings it
defaults to. Data preparation reads the store through a `Context`; the estimators never see one."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from segmentum.errors import ModelError, RunError

if TYPE_CHECKING:
    from segmentum.context import Context


def resolve_as_of(ctx: Context, as_of: str | date | datetime | None) -> datetime:
    """`as_of` as a naive timestamp by the run's rule (`Context.resolve_as_of`); a bad value is a ModelError."""
    try:
        return ctx.resolve_as_of(as_of)[0]
    except RunError as exc:
        raise ModelError(str(exc)) from None


def builtin_settings(ctx: Context, builtin: str) -> dict[str, Any]:
    """The settings of a built-in with the overrides of the workspace's `segmentum.yml`."""
    from segmentum.spec.builtins import load_builtin

    overrides = dict(ctx.config.builtin_settings.get(builtin) or {})
    return dict(load_builtin(builtin, overrides).settings)
