"""The language's second-edition functions (DESIGN.md section 5.1), hand-made cases for every edge of the text:
grouped ranks, calendar parts in the workspace zone (a DST day, weeks from Monday), `if`, and
`was_in_segment` (a run exactly 30 d after, no past run, an edited definition, backfill, preview, explain,
real time, `segmentum sql`)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from engine_helpers import load_rows, write_definitions

from segmentum.errors import DefinitionError
from segmentum.runs.backfill import backfill
from segmentum.runs.execute import compiled_sql, run
from segmentum.runs.explain import explain
from segmentum.runs.preview import preview
from segmentum.store import snapshots
from segmentum.workspace import Workspace


def _values(result: Any, column: str) -> dict[str, Any]:
    frame = result.traits()
    return {str(r["customer_id"]): (None if _is_null(r[column]) else r[column]) for _, r in frame.iterrows()}


def _is_null(value: Any) -> bool:
    try:
        return bool(value != value) or value is None  # NaN, NaT
    except (TypeError, ValueError):
        return value is None


def _with_customers(make_ws: Any, definitions: str) -> Workspace:
    """A workspace with RANK_CUSTOMERS, `score` a BIGINT."""
    ws = make_ws(definitions)
    load_rows(ws, "customers", RANK_CUSTOMERS, types={"score": "BIGINT"})
    return ws


def _members(result: Any, name: str) -> set[str]:
    return set(result.memberships(name)["customer_id"].astype(str))


# ------------------------------------------------------------------------------------------------ grouped ranks

RANK_CUSTOMERS = [
    # country g, score x
    {"customer_id": "a1", "country": "UA", "score": 10},
    {"customer_id": "a2", "country": "UA", "score": 20},
    {"customer_id": "a3", "country": "UA", "score": 20},  # tie with a2
    {"customer_id": "a4", "country": "UA", "score": 30},
    {"customer_id": "a5", "country": "UA", "score": None},  # null x: null, not counted
    {"customer_id": "b1", "country": "PL", "score": 5},  # alone in its group: percent_rank 0
    {"customer_id": "n1", "country": None, "score": 1},  # null g: null
    {"customer_id": "n2", "country": None, "score": 2},
]
RANK_DEFS = """\
traits:
  pr: {expr: "percent_rank_by(score, country)"}
  nt: {expr: "ntile_by(score, 3, country)"}
  pr_all: {expr: "percent_rank(score)"}
segments:
  top_in_country: {where: "percent_rank_by(score, country) >= 0.5"}
"""


def test_grouped_ranks_rank_within_the_group_with_ties_and_nulls(make_ws) -> None:
    ws = _with_customers(make_ws, RANK_DEFS)
    result = run(ws, as_of="2024-01-31", preview=True)
    pr = _values(result, "pr")
    # UA: 10, 20, 20, 30 -> ranks 1, 2, 2, 4 of n = 4: (rank - 1) / 3
    assert pr["a1"] == 0.0 and pr["a2"] == pytest.approx(1 / 3) and pr["a3"] == pytest.approx(1 / 3)
    assert pr["a4"] == 1.0 and pr["a5"] is None
    assert pr["b1"] == 0.0  # n = 1
    assert pr["n1"] is None and pr["n2"] is None  # null group
    nt = _values(result, "nt")
    # UA: 4 ranked customers in 3 buckets: 2, 1, 1 (the first n mod k buckets one larger); ties by customer_id
    assert (nt["a1"], nt["a2"], nt["a3"], nt["a4"]) == (1, 1, 2, 3)
    assert nt["a5"] is None and nt["b1"] == 1 and nt["n1"] is None
    # the ungrouped rank sees everybody with a score, null groups included
    assert _values(result, "pr_all")["n1"] == 0.0
    assert _members(result, "top_in_country") == {"a4"}


def test_grouped_ranks_in_a_condition_are_hoisted_and_real_time_takes_them_from_the_batch_run(
    make_ws,
) -> None:
    ws = _with_customers(make_ws, RANK_DEFS)
    batch = run(ws, as_of="2024-01-31")
    hidden = [
        c for c in snapshots.traits(ws.store, batch.run_id, hidden=True).columns if c.startswith("__pop_")
    ]
    assert len(hidden) == 1  # percent_rank_by(score, country) of the segment
    # real time over one customer: over that customer alone, a4 would rank 0; the batch run's value is 1
    realtime = run(ws, customers=["a4"])
    assert realtime.kind == "realtime"
    assert _members(realtime, "top_in_country") == {"a4"}
    assert _values(realtime, "pr")["a4"] == 1.0


# ------------------------------------------------------------------------------------------------ calendar

CAL_CUSTOMERS = [
    # t: a timestamp, u: a later one, d: a date
    {"customer_id": "sun", "t": datetime(2024, 3, 31, 23, 59, 59), "u": datetime(2024, 4, 1, 0, 0, 0)},
    {"customer_id": "mon", "t": datetime(2024, 4, 1, 0, 0), "u": datetime(2024, 3, 31, 22, 30)},
    # the day Kyiv moves its clocks (03:00 -> 04:00): wall-clock hours
    {"customer_id": "dst", "t": datetime(2024, 3, 31, 0, 0), "u": datetime(2024, 3, 31, 12, 0)},
    {
        "customer_id": "leap",
        "t": datetime(2024, 2, 29, 13, 15, 30, 250000),
        "u": datetime(2024, 12, 31, 23, 0),
    },
    {"customer_id": "nul", "t": None, "u": datetime(2024, 1, 1)},
]
CAL_DEFS = """\
traits:
  y: {expr: "year(t)"}
  mo: {expr: "month(t)"}
  dy: {expr: "day(t)"}
  wd: {expr: "weekday(t)"}
  hr: {expr: "hour(t)"}
  d_day: {expr: "date_trunc('day', t)"}
  d_week: {expr: "date_trunc('week', t)"}
  d_month: {expr: "date_trunc('month', t)"}
  d_quarter: {expr: "date_trunc('quarter', t)"}
  d_year: {expr: "date_trunc('year', t)"}
  hb: {expr: "hours_between(t, u)"}
  dw: {expr: "weekday(d)"}
  dq: {expr: "date_trunc('quarter', d)"}
segments:
  weekend: {where: "weekday(t) in (6, 7)"}
  same_week: {where: "date_trunc('week', t) = date_trunc('week', u)"}
"""


@pytest.fixture
def calendar_ws(make_ws) -> Workspace:
    ws = make_ws(CAL_DEFS)
    config = ws.root / "segmentum.yml"
    config.write_text(config.read_text().replace("timezone: UTC", "timezone: Europe/Kyiv"))
    ws = Workspace(ws.root)
    rows = [{**r, "d": (r["t"].date() if r["t"] else None)} for r in CAL_CUSTOMERS]
    load_rows(ws, "customers", rows, types={"t": "TIMESTAMP", "u": "TIMESTAMP", "d": "DATE"})
    yield ws
    ws.close()


def test_calendar_parts_in_the_workspace_zone(calendar_ws: Workspace) -> None:
    result = run(calendar_ws, as_of="2024-12-31", preview=True)
    v = {c: _values(result, c) for c in ["y", "mo", "dy", "wd", "hr", "hb", "dw"]}
    assert (v["y"]["sun"], v["mo"]["sun"], v["dy"]["sun"], v["hr"]["sun"]) == (2024, 3, 31, 23)
    assert v["wd"]["sun"] == 7 and v["wd"]["mon"] == 1 and v["wd"]["leap"] == 4  # ISO: Monday = 1
    assert v["dw"]["sun"] == 7 and v["dw"]["mon"] == 1  # a date the same
    assert (v["mo"]["leap"], v["dy"]["leap"], v["hr"]["leap"]) == (2, 29, 13)
    for column in v.values():
        assert column["nul"] is None  # null in, null out


def test_date_trunc_returns_midnight_of_the_first_day_and_weeks_start_on_monday(
    calendar_ws: Workspace,
) -> None:
    result = run(calendar_ws, as_of="2024-12-31", preview=True)
    week, day = _values(result, "d_week"), _values(result, "d_day")
    assert week["sun"] == datetime(2024, 3, 25)  # Sunday 31 March belongs to the week of Monday 25 March
    assert week["mon"] == datetime(2024, 4, 1)
    assert day["sun"] == datetime(2024, 3, 31) and day["leap"] == datetime(2024, 2, 29)
    assert _values(result, "d_month")["leap"] == datetime(2024, 2, 1)
    assert _values(result, "d_quarter")["leap"] == datetime(2024, 1, 1)
    assert _values(result, "d_quarter")["mon"] == datetime(2024, 4, 1)
    assert _values(result, "d_year")["sun"] == datetime(2024, 1, 1)
    assert _values(result, "dq")["sun"] == datetime(2024, 1, 1)  # a date: the timestamp at 00:00
    assert week["nul"] is None
    assert _members(result, "weekend") == {"sun", "dst"}  # both on Sunday 31 March
    # Sunday 23:59:59 and Monday 00:00 are in different weeks; mon's u (Sunday) is in the week before
    assert _members(result, "same_week") == {"dst"}


def test_hours_between_is_exact_signed_and_counts_the_wall_clock(calendar_ws: Workspace) -> None:
    hb = _values(run(calendar_ws, as_of="2024-12-31", preview=True), "hb")
    assert hb["sun"] == pytest.approx(1 / 3600)  # one second
    assert hb["mon"] == -1.5  # b earlier than a: negative
    assert hb["dst"] == 12.0  # the clock shows 12 hours on the day it moves forward
    expected = (datetime(2024, 12, 31, 23) - datetime(2024, 2, 29, 13, 15, 30, 250000)).total_seconds() / 3600
    assert hb["leap"] == expected  # microseconds exact, one division
    assert hb["nul"] is None


# ------------------------------------------------------------------------------------------------ if

IF_DEFS = """\
traits:
  band: {expr: "if(score > 15, 'high', 'low')"}
  mixed: {expr: "if(score > 15, score, score / 4)"}
  exact: {expr: "if(score > 15, score, 0.5)"}
  money: {expr: "if(country = 'UA', 1.25, 2)"}
segments:
  high: {where: "if(country = 'UA', score > 15, score > 1)"}
"""


def test_if_is_two_valued_and_takes_the_common_type(make_ws) -> None:
    ws = _with_customers(make_ws, IF_DEFS)
    result = run(ws, as_of="2024-01-31", preview=True)
    band = _values(result, "band")
    assert band["a1"] == "low" and band["a2"] == "high"
    assert band["a5"] == "low"  # null score: the condition is false
    mixed = _values(result, "mixed")
    assert mixed["a4"] == 30.0 and mixed["a1"] == 2.5 and isinstance(mixed["a4"], float)  # integer, double
    exact = _values(result, "exact")
    assert exact["a4"] == Decimal("30") and exact["a1"] == Decimal("0.5")  # integer, exact decimal literal
    assert _values(result, "money")["a1"] == Decimal("1.25") and _values(result, "money")["b1"] == Decimal(
        "2"
    )
    assert _members(result, "high") == {"a2", "a3", "a4", "b1", "n2"}


def test_if_with_text_and_a_number_is_a_clear_error(make_ws) -> None:
    ws = _with_customers(make_ws, "traits:\n  bad: {expr: \"if(score > 1, 'x', 2)\"}\n")
    with pytest.raises(DefinitionError, match=r"if\(\).*no common type"):
        run(ws, as_of="2024-01-31", preview=True)


# ------------------------------------------------------------------------------------------------ loader checks


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("date_trunc('mnth', t) is not null", r"date_trunc\(\) has no unit 'mnth'; did you mean 'month'\?"),
        ("date_trunc(t, 'month') is not null", r"date_trunc\(unit, t\) takes a text in quotes as its first"),
        ("was_in_segment('vp', 30d)", r"unknown segment 'vp'; did you mean 'vip'\?"),
        ("was_in_segment('vip', 30)", r"takes a duration such as 30d, 2w, 6m or 1y as its second argument"),
        ("was_in_segment(vip, 30d)", r"was_in_segment\(\) takes a segment name in quotes"),
        ("hours_between(t, 30d) > 1", r"a duration \(30d\) cannot be the second argument of hours_between"),
        ("score > 30d", r"a duration \(30d\) is not a value"),
        ("ntile_by(score, 0, country) = 1", r"ntile_by\(x, n, g\) needs a whole number n >= 1"),
        ("ntile_by(score, country, 2) = 1", r"needs a whole number n as its second argument"),
        ("percent_rank_by(score) > 0", r"percent_rank_by\(\) takes 2 argument\(s\), found 1"),
        ("if(score > 1, 1) = 1", r"if\(\) takes 3 argument\(s\), found 2"),
    ],
)
def test_loader_checks_name_the_place_and_the_fix(make_ws, where: str, message: str) -> None:
    ws = make_ws(f'segments:\n  vip: {{where: "score > 1"}}\n  probe: {{where: "{where}"}}\n')
    load_rows(ws, "customers", RANK_CUSTOMERS[:1], types={"t": "TIMESTAMP"}, columns=["customer_id", "t"])
    with pytest.raises(DefinitionError, match=message) as err:
        ws.definitions()
    assert "definitions/test.yml:3:" in str(err.value)


def test_population_and_history_functions_are_refused_in_a_tables_where(make_ws) -> None:
    ws = make_ws(
        'segments:\n  vip: {where: "score > 1"}\n'
        "traits:\n  n: {count: orders, where: \"was_in_segment('vip', 30d)\"}\n"
        '  m: {count: orders, where: "percent_rank_by(amount, status) > 0.5"}\n'
    )
    with pytest.raises(
        DefinitionError,
        match=r"was_in_segment\(\) reads a segment of a past run; it cannot be used in a table's 'where'",
    ):
        ws.definitions()


def test_calendar_functions_work_in_a_tables_where(make_ws) -> None:
    orders = [
        {
            "order_id": "1",
            "customer_id": "c",
            "ordered_at": datetime(2024, 1, 6, 10),
            "amount": Decimal(5),
        },  # Sat
        {
            "order_id": "2",
            "customer_id": "c",
            "ordered_at": datetime(2024, 1, 8, 10),
            "amount": Decimal(7),
        },  # Mon
    ]
    ws = make_ws(
        'traits:\n  weekend_orders: {count: orders, where: "weekday(ordered_at) >= 6"}\n',
        {"orders": orders},
    )
    assert _values(run(ws, as_of="2024-01-31", preview=True), "weekend_orders") == {"c": 1}


# ------------------------------------------------------------------------------------------------ was_in_segment

HISTORY_DEFS = """\
segments:
  vip: {where: "score >= 20"}
  was_vip: {where: "was_in_segment('vip', 30d)"}
  fell: {where: "was_in_segment('vip', 30d) and not in_segment('vip')"}
segmentations:
  tier:
    segments:
      - {name: top, where: "score >= 30"}
    else: rest
"""


@pytest.fixture
def history_ws(make_ws) -> Workspace:
    return _with_customers(make_ws, HISTORY_DEFS)


def _set_scores(ws: Workspace, scores: dict[str, int | None]) -> None:
    con = ws.store.cursor()
    for customer, score in scores.items():
        con.execute("UPDATE main.customers SET score = ? WHERE customer_id = ?", [score, customer])


def test_no_past_run_is_false(history_ws: Workspace) -> None:
    first = run(history_ws, as_of="2024-01-31")
    assert _members(first, "was_vip") == set()


def test_a_run_exactly_30_days_after_reads_it_and_one_a_day_earlier_does_not(history_ws: Workspace) -> None:
    run(history_ws, as_of="2024-01-31")  # vip: a2, a3, a4
    _set_scores(history_ws, {"a2": 1})
    # 2024-03-01 23:59:59.999999 - 30 d = 2024-01-31 23:59:59.999999: the run's as_of exactly
    exact = run(history_ws, as_of="2024-03-01", preview=True)
    assert _members(exact, "was_vip") == {"a2", "a3", "a4"}
    assert _members(exact, "fell") == {"a2"}
    early = run(history_ws, as_of="2024-02-29", preview=True)
    assert _members(early, "was_vip") == set()


def test_the_newest_qualifying_run_by_as_of_then_id_is_read(history_ws: Workspace) -> None:
    run(history_ws, as_of="2024-01-01")  # vip: a2, a3, a4
    _set_scores(history_ws, {"a4": 1})
    run(history_ws, as_of="2024-01-31")  # vip: a2, a3
    _set_scores(history_ws, {"a3": 1})
    second_same_day = run(history_ws, as_of="2024-01-31")  # same as_of, larger id: vip a2
    _set_scores(history_ws, {"a1": 99})
    run(history_ws, as_of="2024-02-15")  # too recent for a run on 2024-03-10
    later = run(history_ws, as_of="2024-03-10", preview=True)
    assert _members(later, "was_vip") == {"a2"}
    picked = snapshots.past_run_of(history_ws.store, "vip", datetime(2024, 2, 9, 23, 59, 59, 999999))
    assert picked is not None and picked.run_id == second_same_day.run_id


def test_an_edited_definition_reads_the_old_members_and_a_run_without_it_is_skipped(
    history_ws: Workspace,
) -> None:
    run(history_ws, as_of="2024-01-31")  # vip: a2, a3, a4 (score >= 20)
    write_definitions(history_ws, HISTORY_DEFS.replace("score >= 20", "score >= 30"))
    run(history_ws, as_of="2024-02-05", only=["tier"])  # did not compute vip: never read for it
    result = run(history_ws, as_of="2024-03-10", preview=True)
    assert _members(result, "vip") == {"a4"}  # the edited definition
    assert _members(result, "was_vip") == {"a2", "a3", "a4"}  # the members the past run computed
    assert _members(result, "fell") == {"a2", "a3"}


def test_a_segment_of_a_segmentation_and_other_durations(make_ws) -> None:
    defs = HISTORY_DEFS.replace(
        "segments:\n  vip:", "segments:\n  was_top: {where: \"was_in_segment('tier.top', 1m)\"}\n  vip:", 1
    )
    ws = _with_customers(make_ws, defs)
    run(ws, as_of="2024-01-31")  # tier.top: a4
    # one calendar month before 2024-02-29 23:59:59.999999 is 2024-01-29: before the run
    assert _members(run(ws, as_of="2024-02-29", preview=True), "was_top") == set()
    # one month before 2024-03-31 is 2024-02-29 (clamped): the run of 2024-01-31 is read
    assert _members(run(ws, as_of="2024-03-31", preview=True), "was_top") == {"a4"}


def test_backfill_month_ends_each_read_their_own_past(history_ws: Workspace) -> None:
    con = history_ws.store.cursor()
    con.execute("ALTER TABLE main.customers ADD COLUMN created_at TIMESTAMP")
    con.execute("UPDATE main.customers SET created_at = TIMESTAMP '2023-12-01'")
    results = backfill(history_ws, date(2024, 1, 31), date(2024, 4, 30), "1m")
    assert [r.as_of.date() for r in results] == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
    ]
    was = [_members(r, "was_vip") for r in results]
    # Jan 31: no run before; Feb 29 - 30 d = Jan 30: none yet; Mar 31 - 30 d = Mar 1: Feb 29's run; Apr 30: Mar 31's
    assert was == [set(), set(), {"a2", "a3", "a4"}, {"a2", "a3", "a4"}]


def test_explain_shows_the_past_run_and_real_time_reads_history(history_ws: Workspace) -> None:
    past = run(history_ws, as_of="2024-01-31")
    _set_scores(history_ws, {"a2": 1})
    run(history_ws, as_of="2024-03-05")
    shown = explain(history_ws, "a2", "fell")
    assert shown.member is True
    values = shown.checks[0].values
    assert values["was_in_segment('vip', 30d)"] is True
    assert values["run read by was_in_segment('vip', 30d)"] == f"run {past.run_id} as of 2024-01-31 23:59:59"
    # real time (as_of now) reads the newest run at or before now - 30 d: the run of 2024-03-05
    realtime = run(history_ws, customers=["a2", "a3"])
    assert _members(realtime, "was_vip") == {"a3"}


def test_preview_of_an_edited_segment_uses_history(history_ws: Workspace) -> None:
    run(history_ws, as_of="2024-01-31")
    _set_scores(history_ws, {"a2": 1})
    run(history_ws, as_of="2024-03-05")
    write_definitions(
        history_ws, HISTORY_DEFS.replace("was_in_segment('vip', 30d) and", "was_in_segment('vip', 4w) and")
    )
    shown = preview(history_ws)
    fell = next(item for item in shown.segments if item.name == "fell")
    assert fell.after == 1  # a2, read from the run of 2024-01-31


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "pyspark"])
def test_segmentum_sql_shows_every_new_function(history_ws: Workspace, dialect: str) -> None:
    run(history_ws, as_of="2024-01-31")
    write_definitions(
        history_ws,
        HISTORY_DEFS
        + """traits:
  wd: {expr: "weekday(as_of)"}
  tr: {expr: "date_trunc('quarter', as_of)"}
  hb: {expr: "hours_between(as_of, as_of)"}
  pb: {expr: "percent_rank_by(score, country)"}
  nb: {expr: "ntile_by(score, 4, country)"}
  fi: {expr: "if(score > 1, 'a', 'b')"}
""",
    )
    for name in ["fell", "wd", "tr", "hb", "pb", "nb", "fi"]:
        text = compiled_sql(history_ws, name, dialect=dialect, as_of="2024-03-10")
        assert "SELECT" in text.upper(), (name, dialect)


def test_was_in_segment_is_history_not_a_dependency_in_the_fingerprint(history_ws: Workspace) -> None:
    hashes = history_ws.definitions().hashes
    write_definitions(history_ws, HISTORY_DEFS.replace("score >= 20", "score >= 25"))
    edited = history_ws.definitions().hashes
    assert edited["vip"] != hashes["vip"]
    assert edited["was_vip"] == hashes["was_vip"]  # reads vip's past members: not an edit of was_vip
    assert edited["fell"] != hashes["fell"]  # in_segment('vip') is a dependency of this run
    write_definitions(history_ws, HISTORY_DEFS.replace("'vip', 30d)\"}\n  fell", "'vip', 2w)\"}\n  fell"))
    two_weeks = history_ws.definitions().hashes["was_vip"]
    write_definitions(history_ws, HISTORY_DEFS.replace("'vip', 30d)\"}\n  fell", "'vip', 14d)\"}\n  fell"))
    assert history_ws.definitions().hashes["was_vip"] == two_weeks != hashes["was_vip"]


def test_the_cohort_builtin_places_customers_by_the_month_of_their_first_qualifying_order(make_ws) -> None:
    def order(i: int, customer: str, at: datetime, status: str | None = None) -> dict[str, Any]:
        return {
            "order_id": str(i),
            "customer_id": customer,
            "ordered_at": at,
            "amount": Decimal(10),
            "status": status,
        }

    orders = [
        order(1, "jan23", datetime(2023, 1, 31, 23, 59)),
        order(2, "jan23", datetime(2023, 3, 1)),  # later orders do not move the cohort
        order(3, "jan24", datetime(2024, 1, 1, 0, 0)),
        order(4, "dec", datetime(2023, 12, 31, 23, 59, 59)),
        order(5, "dec", datetime(2023, 11, 5), "cancelled"),  # not a qualifying order
        order(6, "none", datetime(2023, 6, 1), "returned"),
        order(7, "later", datetime(2024, 7, 1)),  # after as_of: not yet a customer
    ]
    ws = make_ws("", {"orders": orders}, builtins=["cohort"])
    result = run(ws, as_of="2024-06-30", preview=True)
    labels = result.memberships()
    assert dict(zip(labels.customer_id, labels.name, strict=True)) == {
        "jan23": "cohort.jan",
        "jan24": "cohort.jan",
        "dec": "cohort.dec",
        "none": "cohort.no_purchase",
    }
    months = _values(result, "cohort_month")
    assert months == {
        "jan23": datetime(2023, 1, 1),
        "jan24": datetime(2024, 1, 1),
        "dec": datetime(2023, 12, 1),
        "none": None,
    }
    assert _values(result, "cohort_year")["jan23"] == 2023
