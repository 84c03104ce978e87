"""The second-edition functions on random data against a plain-Python reference (DESIGN.md section 5.1):
grouped ranks, calendar parts, hours_between, if, and was_in_segment over random past runs."""

from __future__ import annotations

import calendar
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import load_rows, write_definitions
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from segmentum.runs.execute import run
from segmentum.workspace import Workspace

START = datetime(2023, 12, 20)
CUSTOMERS = [f"c{i}" for i in range(8)]

customer_rows = st.lists(
    st.fixed_dictionaries(
        {
            "country": st.sampled_from(["UA", "PL", None]),
            "score": st.one_of(st.none(), st.integers(0, 4)),  # small: many ties
            "t": st.one_of(
                st.none(),
                st.builds(
                    lambda d, s, us: START + timedelta(days=d, seconds=s, microseconds=us),
                    st.integers(0, 800),
                    st.integers(0, 86399),
                    st.sampled_from([0, 1, 500000, 999999]),
                ),
            ),
            "hours": st.one_of(st.none(), st.integers(-5000, 5000)),
        }
    ),
    min_size=len(CUSTOMERS),
    max_size=len(CUSTOMERS),
)

DEFS = """\
traits:
  prb: {expr: "percent_rank_by(score, country)"}
  ntb: {expr: "ntile_by(score, K, country)"}
  y: {expr: "year(t)"}
  mo: {expr: "month(t)"}
  dy: {expr: "day(t)"}
  wd: {expr: "weekday(t)"}
  hr: {expr: "hour(t)"}
  tw: {expr: "date_trunc('week', t)"}
  tq: {expr: "date_trunc('quarter', t)"}
  tm: {expr: "date_trunc('month', t)"}
  ty: {expr: "date_trunc('year', t)"}
  td: {expr: "date_trunc('day', t)"}
  hb: {expr: "hours_between(t, u)"}
  band: {expr: "if(score > 2, 'hi', 'lo')"}
segments:
  top_half: {where: "percent_rank_by(score, country) >= 0.5"}
"""


def _percent_rank_by(rows: list[dict[str, Any]], me: dict[str, Any]) -> float | None:
    if me["score"] is None or me["country"] is None:
        return None
    xs = [r["score"] for r in rows if r["country"] == me["country"] and r["score"] is not None]
    n = len(xs)
    if n == 1:
        return 0.0
    rank = 1 + sum(1 for x in xs if x < me["score"])
    return (rank - 1) / (n - 1)


def _ntile_by(rows: list[dict[str, Any]], me: dict[str, Any], k: int) -> int | None:
    if me["score"] is None or me["country"] is None:
        return None
    group = sorted(
        (r for r in rows if r["country"] == me["country"] and r["score"] is not None),
        key=lambda r: (r["score"], r["customer_id"]),
    )
    i = [r["customer_id"] for r in group].index(me["customer_id"])
    q, extra = divmod(len(group), k)
    big = extra * (q + 1)
    return i // (q + 1) + 1 if i < big else extra + (i - big) // q + 1


def _trunc(t: datetime, unit: str) -> datetime:
    day = datetime(t.year, t.month, t.day)
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=t.weekday())
    if unit == "month":
        return datetime(t.year, t.month, 1)
    if unit == "quarter":
        return datetime(t.year, 3 * ((t.month - 1) // 3) + 1, 1)
    return datetime(t.year, 1, 1)


def _reference(rows: list[dict[str, Any]], me: dict[str, Any], k: int) -> dict[str, Any]:
    t, u = me["t"], me["u"]
    have_t = t is not None
    hours = None
    if have_t and u is not None:
        hours = ((u - t) // timedelta(microseconds=1)) / 3_600_000_000
    return {
        "prb": _percent_rank_by(rows, me),
        "ntb": _ntile_by(rows, me, k),
        "y": t.year if have_t else None,
        "mo": t.month if have_t else None,
        "dy": t.day if have_t else None,
        "wd": t.isoweekday() if have_t else None,
        "hr": t.hour if have_t else None,
        "tw": _trunc(t, "week") if have_t else None,
        "tq": _trunc(t, "quarter") if have_t else None,
        "tm": _trunc(t, "month") if have_t else None,
        "ty": _trunc(t, "year") if have_t else None,
        "td": _trunc(t, "day") if have_t else None,
        "hb": hours,
        "band": "hi" if me["score"] is not None and me["score"] > 2 else "lo",
    }


def _null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or str(value) == "NaT"


def _same(got: Any, expected: Any) -> bool:
    if expected is None or _null(got):
        return expected is None and _null(got)
    if isinstance(expected, float):
        return abs(float(got) - expected) <= 1e-12 * max(1.0, abs(expected))
    if isinstance(expected, datetime):
        return got.to_pydatetime() == expected if hasattr(got, "to_pydatetime") else got == expected
    return got == expected


def _workspace(folder: Path, text: str, rows: list[dict[str, Any]]) -> Workspace:
    ws = Workspace.init(folder / "ws")
    write_definitions(ws, text)
    ws = Workspace(ws.root)
    load_rows(
        ws,
        "customers",
        rows,
        types={"score": "BIGINT", "t": "TIMESTAMP", "u": "TIMESTAMP"},
        columns=["customer_id", "country", "score", "t", "u"],
    )
    return ws


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(customers=customer_rows, k=st.integers(1, 4))
def test_new_functions_match_the_reference(customers: list[dict[str, Any]], k: int) -> None:
    rows = []
    for cid, c in zip(CUSTOMERS, customers, strict=True):
        u = (
            c["t"] + timedelta(hours=c["hours"], microseconds=7)
            if c["t"] and c["hours"] is not None
            else None
        )
        rows.append({"customer_id": cid, "country": c["country"], "score": c["score"], "t": c["t"], "u": u})
    folder = Path(tempfile.mkdtemp(prefix="segmentum-langfn-"))
    try:
        ws = _workspace(folder, DEFS.replace("K", str(k)), rows)
        try:
            result = run(ws, as_of="2026-12-31", preview=True)
            got = {r["customer_id"]: r for r in result.frame.to_dict(orient="records")}
            assert set(got) == set(CUSTOMERS)
            for me in rows:
                expected = _reference(rows, me, k)
                for name, value in expected.items():
                    assert _same(got[me["customer_id"]][name], value), (
                        name,
                        me,
                        got[me["customer_id"]][name],
                        value,
                    )
            top = set(result.memberships("top_half")["customer_id"])
            assert top == {r["customer_id"] for r in rows if (_percent_rank_by(rows, r) or 0) >= 0.5}
        finally:
            ws.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _minus(ts: datetime, amount: int, unit: str) -> datetime:
    if unit == "d":
        return ts - timedelta(days=amount)
    index = ts.year * 12 + ts.month - 1 - amount
    year, month = divmod(index, 12)
    return ts.replace(year=year, month=month + 1, day=min(ts.day, calendar.monthrange(year, month + 1)[1]))


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    past=st.lists(
        # day (few values: runs on the same as_of, and runs exactly N before the last), threshold, computes vip
        st.tuples(st.sampled_from([0, 30, 31, 59]), st.integers(0, 4), st.booleans()),
        min_size=0,
        max_size=4,
    ),
    scores=st.lists(st.integers(0, 4), min_size=len(CUSTOMERS), max_size=len(CUSTOMERS)),
    ago=st.sampled_from([(30, "d"), (1, "m"), (45, "d"), (2, "m")]),
    end_day=st.sampled_from([60, 61, 62, 89, 90]),
)
@example(  # two runs on the same as_of computing vip differently: the larger id is read
    past=[(30, 1, True), (30, 3, True), (59, 0, True)],
    scores=[0, 1, 2, 3, 4, 0, 1, 2],
    ago=(30, "d"),
    end_day=61,
)
def test_was_in_segment_reads_the_run_the_reference_picks(
    past: list[tuple[int, int, bool]], scores: list[int], ago: tuple[int, str], end_day: int
) -> None:
    """Random past runs (some of other definitions only), then a run that reads `vip` N ago: the members are
    those of the newest complete batch run (by as_of, then id) computing vip at or before as_of - N."""
    rows = [
        {"customer_id": c, "country": None, "score": s, "t": None, "u": None}
        for c, s in zip(CUSTOMERS, scores, strict=True)
    ]
    text = (
        'segments:\n  vip: {where: "score >= THRESHOLD"}\n  other: {where: "score >= 0"}\n'
        f"  was_vip: {{where: \"was_in_segment('vip', {ago[0]}{ago[1]})\"}}\n"
    )
    folder = Path(tempfile.mkdtemp(prefix="segmentum-langfn-"))
    try:
        ws = _workspace(folder, text.replace("THRESHOLD", "0"), rows)
        try:
            history: list[tuple[datetime, int, set[str]]] = []  # as_of, run id, vip members
            for day, threshold, computes in past:
                write_definitions(ws, text.replace("THRESHOLD", str(threshold)))
                as_of = datetime(2024, 1, 1) + timedelta(days=day)
                done = run(ws, as_of=as_of, only=None if computes else ["other"])
                if computes:
                    history.append(
                        (
                            as_of,
                            int(done.run_id),
                            {c for c, s in zip(CUSTOMERS, scores, strict=True) if s >= threshold},
                        )
                    )
            end = datetime(2024, 1, 1) + timedelta(days=end_day)
            cutoff = _minus(end, *ago)
            candidates = sorted((h for h in history if h[0] <= cutoff), key=lambda h: (h[0], h[1]))
            expected = candidates[-1][2] if candidates else set()
            result = run(ws, as_of=end, preview=True)
            assert set(result.memberships("was_vip")["customer_id"]) == expected
        finally:
            ws.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
