"""Static lists changed from the CLI, the API and the dashboard: one place that checks a list's name against
the definitions before the rows change (the rows themselves live in `segmentum.store.lists`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from segmentum.clock import now
from segmentum.context import Context
from segmentum.errors import DefinitionError
from segmentum.spec.models import NAME_RE
from segmentum.store import lists as stored


def check_name(ctx: Context, name: str) -> str:
    """A list is named like a standalone segment, and not like any trait, segment or segmentation defined.

    The definitions are loaded as if the list existed: a definition may name the list before it is uploaded
    (`suppress: [do_not_contact]` written first), and definitions broken for another reason do not stop it.
    They are loaded only for a new list: a stored list's name was checked when it was made, and a definition
    named like it since fails every load of the definitions with "also the name of a static list" itself."""
    if not NAME_RE.match(name or ""):
        raise DefinitionError(
            f"invalid list name {name!r}: use letters, digits and underscores, starting with a letter or '_'"
        )
    known = stored.names(ctx.store)
    if name in known:
        return name
    from segmentum.spec.loader import load_definitions
    from segmentum.store.catalog import data_columns

    try:
        load_definitions(ctx, columns=data_columns(ctx.store), lists=sorted({*known, name}))
    except DefinitionError as exc:
        if f"'{name}' is also the name of a static list" in str(exc):
            raise DefinitionError(
                f"'{name}' is already defined ({str(exc).split(': ', 1)[0]}); choose another name for the list"
            ) from None
    return name


def add(ctx: Context, name: str, ids: Iterable[str], *, replace: bool = False) -> dict[str, Any]:
    """Add ids to list `name` (created on first use), or with `replace` make them its only members."""
    check_name(ctx, name)
    change = stored.put(
        ctx.store, name, ids, replace=replace, now=now(ctx.config.timezone).replace(tzinfo=None)
    )
    return change.as_dict()


def remove(ctx: Context, name: str, ids: Iterable[str] | None = None) -> dict[str, Any]:
    """Remove some members, or (ids None) the whole list; a definition that names a deleted list stops
    validating, and says so."""
    if ids is None:
        return {"name": name, "added": 0, "removed": stored.drop(ctx.store, name), "members": 0}
    return stored.remove_members(ctx.store, name, ids).as_dict()


def listing(ctx: Context) -> list[dict[str, Any]]:
    return stored.sizes(ctx.store)
