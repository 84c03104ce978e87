"""A backfill compiles its definitions at most twice: later points reuse the SQL of an earlier one, instants moved.

The compiler writes `as_of` and every window bound as timestamp literals (`compile/windows.py`: calendar months
clamped in Python, so every engine sees the same instants). Every such instant is `as_of` itself or
`windows.minus(as_of, d)` for a duration `d` the compilation asked for (recorded with `windows.recording`). So
the SQL of a point at `b` is the SQL compiled at `a` with each instant derived from `a` replaced by the same
derivation from `b`, as long as nothing else about the compilation changed: the same definitions are usable
(models), the same past runs are read by `was_in_segment`, the same tables are present (the key).

The substitution is verified before it is trusted: the second point is compiled in full as well, and its SQL
must equal the first point's SQL moved to it, with no instant that stays put between the two (a constant of a
condition equal to a derived instant would then be moved too and show as a difference). Any doubt (a different
key, two derivations landing on one instant, a mismatch) compiles the point in full, as without reuse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from segmentum.compile.compiler import CompiledRun
from segmentum.compile.windows import minus

# how Ibis writes a timestamp literal in DuckDB SQL
_TIMESTAMP_RE = re.compile(r"MAKE_TIMESTAMP\([^()]*\)")


@dataclass
class _Template:
    key: Any
    as_of: datetime
    sql: str
    compiled: CompiledRun
    durations: frozenset[str]


class CompiledOnce:
    """The SQL of a series of runs of the same definitions (a backfill), compiled in full at most twice.

    `sql_for(key, as_of)` gives the reused SQL (and the compiled run's column map) or None: then the caller
    compiles in full and passes the result to `offer`. `compiled` and `reused` count the points of each kind.
    """

    def __init__(self) -> None:
        self.template: _Template | None = None
        self.verified: bool | None = None  # None: not checked yet
        self.compiled = 0
        self.reused = 0

    def sql_for(self, key: Any, as_of: datetime) -> tuple[str, CompiledRun] | None:
        t = self.template
        if t is None or not self.verified or key != t.key:
            return None
        sql = moved(t.sql, t.as_of, as_of, t.durations)
        if sql is None:
            return None
        self.reused += 1
        return sql, t.compiled

    def offer(self, key: Any, as_of: datetime, compiled: CompiledRun, sql: str, durations: set[str]) -> None:
        """A point compiled in full: the template (first), or the check of the template (second)."""
        self.compiled += 1
        t = self.template
        if t is None or (self.verified is None and key != t.key):
            self.template = _Template(key, as_of, sql, compiled, frozenset(durations))
            return
        if self.verified is None:
            same = t.durations == frozenset(durations) and as_of != t.as_of
            self.verified = same and moved(t.sql, t.as_of, as_of, t.durations, strict=True) == sql


def moved(
    sql: str, old: datetime, new: datetime, durations: frozenset[str], *, strict: bool = False
) -> str | None:
    """`sql` compiled at `old` with every instant derived from `old` (`old` and `minus(old, d)`) replaced by the
    same derivation from `new`; None when two derivations meet at `old` but not at `new` (the text cannot say
    which is which) or, with `strict`, when an instant is the same at both (a check could not see it)."""
    pairs = [(old, new), *((minus(old, d), minus(new, d)) for d in sorted(durations))]
    mapping: dict[str, str] = {}
    for before, after in pairs:
        key, value = timestamp_sql(before), timestamp_sql(after)
        if (
            key is None
            or value is None
            or mapping.setdefault(key, value) != value
            or (strict and key == value)
        ):
            return None
    return _TIMESTAMP_RE.sub(lambda m: mapping.get(m.group(0), m.group(0)), sql)


def timestamp_sql(ts: datetime) -> str | None:
    """A timestamp literal as Ibis writes it in DuckDB SQL (`MAKE_TIMESTAMP(2024, 3, 31, 23, 59, 59.999999)`),
    asked of Ibis itself so that the text is the compiler's."""
    import ibis
    import ibis.expr.datatypes as dt

    text = str(ibis.to_sql(ibis.literal(ts, type=dt.Timestamp()).name("t"), dialect="duckdb"))
    found = _TIMESTAMP_RE.search(text)
    # None: Ibis writes literals differently now, and nothing can be moved safely (every point compiles)
    return found.group(0) if found is not None else None
