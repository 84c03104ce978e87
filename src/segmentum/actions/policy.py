"""Acting responsibly (DESIGN.md section 5.2): hold-out groups, suppression, cooldowns, caps and quiet hours.

For one transition of trigger T by customer c in a run at `as_of` t, in this order:

1. **group**: `control` when `holdout_position(T, c) < share`, else `treated`. The position is the first 8
   bytes of `sha256(f"{T}\\x00{c}")` read as a big-endian unsigned integer, divided by 2^64: stable across
   runs, processes and engines.
2. **outcome** of the transition (recorded in `segmentum.trigger_transitions` for both groups, so the groups
   stay comparable): `suppressed` (c is a member of a `suppress` list), else `cooldown` (T has a recorded
   transition of c from another run, outcome `acted` or `holdout`, whose as_of lies within the cooldown of t
   either way: `t - cooldown < as_of < t + cooldown`, so a backfill of earlier dates is covered too), else
   `holdout` (the control group: no action), else `acted`.
3. for an `acted` transition, each **action** whose channel has a cap: skipped (`cap`) when c already has
   `max` actions of that channel, from other runs whose as_of lies within `per` of t either way (so no window
   of length `per` ever holds more than `max`, whatever order runs are processed in), or earlier in this run.
   Counted: actions pending or delivered that were not skipped before sending (held ones count).
4. **quiet hours**: an action enqueued while the customer's local time (`customers.timezone` when it holds a
   valid IANA zone, else the workspace zone) is inside the window waits until the window ends: `pending`
   with `next_attempt_at` = the end, reason `quiet_hours`; `deliver` sends it once that time has passed.

Skipped actions are outbox rows with status `skipped` and the reason (`cooldown`, `cap`, `suppressed`,
`holdout`), so `segmentum outbox --reason cap` shows them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from segmentum.clock import add_duration
from segmentum.errors import ActionError
from segmentum.store import META
from segmentum.store.snapshots import RunInfo, computed, past_run_of

if TYPE_CHECKING:
    from segmentum.context import Context
    from segmentum.spec.loader import Definitions
    from segmentum.spec.models import QuietHours

ACTED, HOLDOUT, COOLDOWN, SUPPRESSED = "acted", "holdout", "cooldown", "suppressed"
CAP, QUIET = "cap", "quiet_hours"
REASONS = (COOLDOWN, CAP, SUPPRESSED, HOLDOUT, QUIET)
TREATED, CONTROL = "treated", "control"


# ------------------------------------------------------------------------------------------------ hold-out


def holdout_position(trigger: str, customer_id: str) -> float:
    """Where a customer falls in [0, 1) for a trigger's hold-out: sha256 of `trigger NUL customer_id`, its
    first 8 bytes as a big-endian integer / 2^64."""
    digest = hashlib.sha256(f"{trigger}\x00{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def group_of(trigger: str, customer_id: str, share: float) -> str:
    """`control` when the customer's position is below the hold-out share, else `treated`."""
    return CONTROL if share > 0 and holdout_position(trigger, customer_id) < share else TREATED


# ---------------------------------------------------------------------------------------------------- time


def shift(moment: datetime, duration: str, sign: int = 1) -> datetime:
    """`moment` plus (sign 1) or minus (sign -1) a definition duration; months clamp to the month's end (the
    one rule: `clock.add_duration`)."""
    return add_duration(moment, duration, sign)


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_release(
    quiet: QuietHours, now: datetime, customer_zone: str, workspace_zone: str
) -> datetime | None:
    """When an action enqueued at `now` (naive, workspace zone) may be sent: None when the customer's local
    time is outside the quiet window `[from, to)` (it may wrap midnight), else the window's end as a naive
    timestamp in the workspace zone."""
    ws_tz, tz = ZoneInfo(workspace_zone), ZoneInfo(customer_zone)
    local = now.replace(tzinfo=ws_tz).astimezone(tz)
    start, end = _clock(quiet.from_), _clock(quiet.to)
    clock = local.time()
    inside = (start <= clock < end) if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    release_day = local.date() if clock < end else local.date() + timedelta(days=1)
    release = datetime.combine(release_day, end).replace(tzinfo=tz)
    return release.astimezone(ws_tz).replace(tzinfo=None)


def customer_zone(attributes: dict[str, Any], workspace_zone: str) -> str:
    """The customer's IANA time zone (`customers.timezone`), else the workspace's."""
    value = attributes.get("timezone")
    if isinstance(value, str) and value.strip():
        try:
            ZoneInfo(value.strip())
            return value.strip()
        except (ZoneInfoNotFoundError, ValueError):
            pass  # an unknown zone in the data: the workspace's, never an error that drops the action
    return workspace_zone


# ------------------------------------------------------------------------------------------------- lists


def list_members(ws: Context, name: str, run: RunInfo, customer_ids: Iterable[str]) -> set[str]:
    """Which of `customer_ids` belong to the list `name` for run `run`: the one place a `suppress` name is
    resolved. A standalone segment gives its members in the run, or, when the run did not compute it (`run
    --only`), in the newest complete batch run at or before the run's as_of that did. ActionError when no
    such run exists: acting without knowing who must not be contacted is not allowed."""
    ids = sorted(set(customer_ids))
    if not ids:
        return set()  # nobody to check: a run that fired nothing never waits for a list
    store = ws.store
    source = run if computed(store, run, name) else past_run_of(store, name, run.as_of)
    if source is None:
        raise ActionError(
            f"suppression list '{name}' has not been computed by run {run.run_id} or any earlier run; "
            f"run it (`segmentum run --only {name}`), then `segmentum outbox --reprocess {run.run_id}`"
        )
    rows = _with_ids(
        ws,
        ids,
        f"SELECT DISTINCT m.customer_id FROM {META}.memberships m JOIN {_IDS} i ON i.customer_id = m.customer_id "
        "WHERE m.run_id = ? AND m.name = ?",
        [source.run_id, name],
    )
    return {str(r[0]) for r in rows}


_IDS = "_segmentum_policy_ids"


def _with_ids(ws: Context, ids: Iterable[str], sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Run `sql` with the customer ids registered as the table `_segmentum_policy_ids` (a hash join, never
    a list scanned per row: a run may fire for many thousands of customers)."""
    cur = ws.store.cursor()
    cur.register(_IDS, pd.DataFrame({"customer_id": pd.Series(sorted(set(ids)), dtype="object")}))
    try:
        return cur.execute(sql, params).fetchall()
    finally:
        cur.unregister(_IDS)


def suppressed(ws: Context, defs: Definitions, run: RunInfo, customer_ids: Iterable[str]) -> set[str]:
    """The customers of `customer_ids` in any of the workspace's suppression lists."""
    ids = set(customer_ids)
    out: set[str] = set()
    for name in defs.suppress:
        out |= list_members(ws, name, run, ids)
    return out


# ---------------------------------------------------------------------------------------------- decisions


@dataclass
class Transition:
    """One transition of a trigger and what became of it (a row of `segmentum.trigger_transitions`)."""

    trigger: str
    customer_id: str
    run_id: int
    as_of: datetime
    group: str
    outcome: str


@dataclass
class Policy:
    """The decisions of one run's processing: outcomes of transitions, caps counted as actions are added."""

    ws: Context
    defs: Definitions
    run: RunInfo
    now: datetime
    suppressed: set[str] = field(default_factory=set)
    cap_counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, customer) -> actions
    transitions: list[Transition] = field(default_factory=list)

    @classmethod
    def prepare(
        cls, ws: Context, defs: Definitions, run: RunInfo, customers: list[str], now: datetime
    ) -> Policy:
        """Read what the decisions need for these customers: suppression lists and cap counts."""
        policy = cls(ws, defs, run, now)
        policy.suppressed = suppressed(ws, defs, run, customers)
        for channel, cap in defs.caps.items():
            for cid, n in _sent_counts(ws, channel, customers, run, cap.per).items():
                policy.cap_counts[(channel, cid)] = n
        return policy

    def outcomes(
        self, trigger: str, customers: list[str], cooldown: str | None, share: float
    ) -> dict[str, str]:
        """customer -> outcome of their transition of `trigger` in this run; records the transitions."""
        recent = _recent(self.ws, trigger, customers, self.run, cooldown) if cooldown else set()
        out: dict[str, str] = {}
        for cid in customers:
            group = group_of(trigger, cid, share)
            if cid in self.suppressed:
                outcome = SUPPRESSED
            elif cid in recent:
                outcome = COOLDOWN
            elif group == CONTROL:
                outcome = HOLDOUT
            else:
                outcome = ACTED
            out[cid] = outcome
            self.transitions.append(Transition(trigger, cid, self.run.run_id, self.run.as_of, group, outcome))
        return out

    def capped(self, channel: str, customer_id: str) -> bool:
        """Whether the channel's cap stops one more action for the customer; counts it when it does not."""
        cap = self.defs.caps.get(channel)
        if cap is None:
            return False
        key = (channel, customer_id)
        if self.cap_counts.get(key, 0) >= cap.max:
            return True
        self.cap_counts[key] = self.cap_counts.get(key, 0) + 1
        return False

    def hold_until(self, attributes: dict[str, Any]) -> datetime | None:
        """The end of the quiet hours when the customer's local time is inside them now, else None."""
        quiet = self.defs.quiet_hours
        if quiet is None:
            return None
        zone = self.ws.config.timezone
        return quiet_release(quiet, self.now, customer_zone(attributes, zone), zone)

    def frame(self) -> pd.DataFrame:
        """The transitions to record, as `enqueue` stores them."""
        rows = self.transitions
        return pd.DataFrame(
            {
                "trigger": pd.Series([t.trigger for t in rows], dtype="object"),
                "customer_id": pd.Series([t.customer_id for t in rows], dtype="object"),
                "run_id": pd.Series([t.run_id for t in rows], dtype="int64"),
                "as_of": pd.Series([t.as_of for t in rows], dtype="datetime64[us]"),
                "grp": pd.Series([t.group for t in rows], dtype="object"),
                "outcome": pd.Series([t.outcome for t in rows], dtype="object"),
            }
        )


def _recent(ws: Context, trigger: str, customers: list[str], run: RunInfo, cooldown: str) -> set[str]:
    """Customers with a transition of `trigger` from another run that acted (or would have, held out)
    within `cooldown` of this run's as_of, either way."""
    if not customers:
        return set()
    rows = _with_ids(
        ws,
        customers,
        f"""SELECT DISTINCT t.customer_id FROM {META}.trigger_transitions t
            JOIN {_IDS} i ON i.customer_id = t.customer_id
            WHERE t.trigger = ? AND t.run_id <> ? AND t.outcome IN ('{ACTED}', '{HOLDOUT}')
              AND t.as_of > ? AND t.as_of < ?""",
        [trigger, run.run_id, shift(run.as_of, cooldown, -1), shift(run.as_of, cooldown)],
    )
    return {str(r[0]) for r in rows}


def _sent_counts(ws: Context, channel: str, customers: list[str], run: RunInfo, per: str) -> dict[str, int]:
    """Actions of `channel` per customer from other runs within `per` of this run's as_of, either way, that
    were (or will be) sent: pending or delivered, not skipped by a policy (held ones count)."""
    if not customers:
        return {}
    rows = _with_ids(
        ws,
        customers,
        f"""SELECT o.customer_id, count(*) FROM {META}.outbox o JOIN {META}.runs r ON r.run_id = o.run_id
            JOIN {_IDS} i ON i.customer_id = o.customer_id
            WHERE o.action_type = ? AND o.run_id <> ? AND o.status IN ('pending', 'delivered')
              AND (o.reason IS NULL OR o.reason = '{QUIET}') AND r.as_of > ? AND r.as_of < ?
            GROUP BY o.customer_id""",
        [channel, run.run_id, shift(run.as_of, per, -1), shift(run.as_of, per)],
    )
    return {str(r[0]): int(r[1]) for r in rows}
