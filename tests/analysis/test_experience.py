"""Experience metrics: NPS and CSAT per month and segment, first response time per segment, churn, against
pandas computations on hand-made answers and tickets; and the demo's personas."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from segmentum.analysis.experience import experience, first_response, nps_over_time
from segmentum.store.memberships import add as add_memberships
from segmentum.workspace import Workspace

AS_OF = datetime(2024, 3, 31, 23, 59, 59, 999999)
RESPONSES = [  # customer, question, answer, answered_at
    ("a", "nps", "10", "2024-01-05"),
    ("a", "nps", "3", "2024-01-20"),  # the latest in January: detractor
    ("b", "nps", "9.0", "2024-01-10"),
    ("c", "nps", "7", "2024-01-11"),
    ("d", "nps", "n/a", "2024-01-12"),
    ("a", "nps", "9", "2024-02-03"),
    ("b", "nps", "6", "2024-02-04"),
    ("b", "nps", "n/a", "2024-02-20"),  # not a score: b's February answer stays 6
    ("e", "nps", "8", "2024-02-28 23:00"),
    ("c", "nps", "10", "2024-03-15"),
    ("d", "nps", "0", "2024-03-16"),
    ("e", "nps", "10", "2024-04-02"),  # after as_of
    ("a", "csat", "5", "2024-01-06"),
    ("b", "csat", "2", "2024-01-07"),
    ("b", "csat", "4", "2024-01-08"),
    ("c", "csat", "3.0", "2024-02-08"),
    ("d", "csat", "great", "2024-02-09"),
    ("e", "csat", "1", "2024-03-01"),
    ("a", "why", "price", "2024-02-01"),
]
TICKETS = [  # ticket, customer, opened, first response
    ("t1", "a", "2024-01-01 10:00", "2024-01-01 12:00"),
    ("t2", "a", "2024-01-02 10:00", "2024-01-03 10:00"),
    ("t3", "b", "2024-02-01 08:00", "2024-02-01 08:30"),
    ("t4", "c", "2024-02-01 08:00", None),
    ("t5", "d", "2024-03-10 09:00", "2024-03-10 15:00"),
    ("t6", "e", "2024-03-31 20:00", "2024-04-01 02:00"),
    ("t7", "e", "2024-04-05 09:00", "2024-04-05 10:00"),  # after as_of
]
SEGMENTS = {
    1: {"a": "x", "b": "x", "c": "y", "d": "y", "e": "y"},
    2: {"a": "y", "b": "y", "c": "x", "d": "x", "e": "x"},
}


@pytest.fixture
def survey(workspace: Workspace) -> Workspace:
    con = workspace.store.cursor()
    con.execute(
        "CREATE TABLE main.responses (customer_id VARCHAR, question VARCHAR, answer VARCHAR, "
        "answered_at TIMESTAMP)"
    )
    con.executemany("INSERT INTO main.responses VALUES (?, ?, ?, ?)", RESPONSES)
    con.execute(
        "CREATE TABLE main.tickets (ticket_id VARCHAR, customer_id VARCHAR, opened_at TIMESTAMP, "
        "first_response_at TIMESTAMP)"
    )
    con.executemany("INSERT INTO main.tickets VALUES (?, ?, ?, ?)", TICKETS)
    con.execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    con.executemany(
        "INSERT INTO main.orders VALUES (?, ?, ?, 10, NULL)",
        [("o1", "a", "2024-01-10"), ("o2", "b", "2024-01-12"), ("o3", "a", "2024-03-01")],
    )
    for run_id, as_of in ((1, "2024-01-31 23:59:59"), (2, "2024-03-31 23:59:59")):
        con.execute(
            "INSERT INTO segmentum.runs (run_id, as_of, status, kind, customers) "
            "VALUES (?, ?, 'complete', 'batch', 5)",
            [run_id, as_of],
        )
        for customer, segment in SEGMENTS[run_id].items():
            add_memberships(
                con,
                "VALUES (?, ?, 'grp', ?, ?)",
                [run_id, customer, segment, f"grp.{segment}"],
            )
    return workspace


def latest_per_month(question: str, valid) -> pd.DataFrame:
    r = pd.DataFrame(RESPONSES, columns=["customer_id", "question", "answer", "answered_at"])
    r["answered_at"] = pd.to_datetime(r["answered_at"], format="ISO8601")
    r = r[(r["question"] == question) & (r["answered_at"] <= AS_OF)]
    r = r[r["answer"].map(valid)].copy()  # the latest VALID answer: 'n/a' hides no earlier score
    r["period_start"] = r["answered_at"].dt.to_period("M").dt.start_time.dt.date
    return r.sort_values("answered_at").groupby(["customer_id", "period_start"]).tail(1)


def segment_of(customer: str, period_start: date) -> str:
    return SEGMENTS[1 if period_start >= date(2024, 2, 1) else 2][customer]


def test_nps_per_month_and_segment_match_a_direct_computation(survey: Workspace) -> None:
    valid = {str(v) for v in range(11)} | {f"{v}.0" for v in range(11)}
    latest = latest_per_month("nps", lambda a: a in valid)
    latest["score"] = latest["answer"].astype(float)
    latest["segment"] = [
        segment_of(c, p) for c, p in zip(latest["customer_id"], latest["period_start"], strict=True)
    ]
    got = nps_over_time(survey, as_of=AS_OF, segmentation="grp")
    for keys, group in [((p, None), g) for p, g in latest.groupby("period_start")] + [
        ((p, s), g) for (p, s), g in latest.groupby(["period_start", "segment"])
    ]:
        row = got[
            (got["period_start"] == keys[0])
            & (got["segment"].isna() if keys[1] is None else got["segment"] == keys[1])
        ]
        assert len(row) == 1, keys
        promoters, detractors = (group["score"] >= 9).sum(), (group["score"] <= 6).sum()
        assert row["answered"].item() == len(group)
        assert row["promoters"].item() == promoters and row["detractors"].item() == detractors
        assert row["nps"].item() == pytest.approx(100 * (promoters - detractors) / len(group))
    january = got[(got["period_start"] == date(2024, 1, 1)) & got["segment"].isna()].iloc[0]
    # a's latest January answer (3) counts, d's 'n/a' does not: a detractor, b promoter, c passive
    assert (january["answered"], january["nps"]) == (3, pytest.approx(0.0))


def test_csat_per_month_matches_a_direct_computation(survey: Workspace) -> None:
    valid = {str(v) for v in range(1, 6)} | {f"{v}.0" for v in range(1, 6)}
    r = pd.DataFrame(RESPONSES, columns=["customer_id", "question", "answer", "answered_at"])
    r = r[(r["question"] == "csat") & r["answer"].isin(valid)].copy()
    r["period_start"] = (
        pd.to_datetime(r["answered_at"], format="ISO8601").dt.to_period("M").dt.start_time.dt.date
    )
    latest = r.sort_values("answered_at").groupby(["customer_id", "period_start"]).tail(1)
    latest["score"] = latest["answer"].astype(float)
    want = latest.groupby("period_start").agg(
        answered=("score", "size"),
        csat=("score", "mean"),
        satisfied_share=("score", lambda s: (s >= 4).mean()),
    )
    got = experience(survey, as_of=AS_OF)["csat"].set_index("period_start")
    assert got.index.tolist() == want.index.tolist()
    assert got["answered"].tolist() == want["answered"].tolist()
    assert got["csat"].tolist() == pytest.approx(want["csat"].tolist())
    assert got["satisfied_share"].tolist() == pytest.approx(want["satisfied_share"].tolist())


def test_first_response_hours_per_segment(survey: Workspace) -> None:
    t = pd.DataFrame(TICKETS, columns=["ticket_id", "customer_id", "opened_at", "first_response_at"])
    t = t[pd.to_datetime(t["opened_at"], format="ISO8601") <= AS_OF]
    responded = pd.to_datetime(t["first_response_at"], format="ISO8601") <= AS_OF
    t["hours"] = np.where(
        responded,
        (
            pd.to_datetime(t["first_response_at"], format="ISO8601")
            - pd.to_datetime(t["opened_at"], format="ISO8601")
        ).dt.total_seconds()
        / 3600,
        np.nan,
    )
    t["segment"] = t["customer_id"].map(SEGMENTS[2])  # first response uses the reference (latest) run
    got = first_response(survey, as_of=AS_OF, segmentation="grp")
    for segment, group in [(None, t), *t.groupby("segment")]:
        row = got[got["segment"].isna()] if segment is None else got[got["segment"] == segment]
        h = group["hours"].dropna()
        assert row["tickets"].item() == len(group)
        assert row["responded"].item() == len(h)
        assert row["median_hours"].item() == pytest.approx(np.percentile(h, 50))
        assert row["p90_hours"].item() == pytest.approx(np.percentile(h, 90))
    # t6's first response came after as_of: not yet responded then
    assert got[got["segment"].isna()]["responded"].item() == 4


def test_experience_holds_every_metric_including_churn(survey: Workspace) -> None:
    data = experience(survey, "grp", as_of=AS_OF)
    assert set(data) == {"nps", "csat", "first_response", "churn"}
    assert data["churn"]["active_start"].sum() > 0
    assert set(data["churn"]["segment"].dropna()) <= {"x", "y", "(not in run)"}


@pytest.mark.slow
def test_demo_experience_follows_the_personas(tmp_path) -> None:
    from segmentum.demo import workspace as demo_workspace

    root = tmp_path / "demo"
    demo_workspace.create_demo_workspace(root, customers=2000, seed=5, run=False, report=False)
    with Workspace(root) as ws:
        ws.run(as_of="latest")
        data = experience(ws, "nps")
    # NPS per segment of the nps built-in: promoters' answers give +100, detractors' -100 in recent months
    nps = data["nps"].dropna(subset=["segment"])
    last = nps[nps["period_start"] == nps["period_start"].max()].set_index("segment")["nps"]
    assert last["promoters"] > 50 and last["detractors"] < -50
    fr = data["first_response"].set_index("segment", drop=False)
    assert fr.iloc[0]["tickets"] > 0 and 0 < fr.iloc[0]["median_hours"] < fr.iloc[0]["p90_hours"]
    assert len(data["churn"]) > 0 and len(data["csat"]) > 0


@pytest.mark.slow
def test_cli_prints_every_metric_as_json(survey: Workspace) -> None:
    survey.close()  # the CLI process opens the store itself

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "segmentum.cli.main",
                "experience",
                "-w",
                str(survey.root),
                "--as-of",
                "2024-03-31",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = cli("-s", "grp", "-f", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == {"nps", "csat", "first_response", "churn"}
    overall = [r for r in data["first_response"] if r["segment"] is None]
    assert overall[0]["tickets"] == 6 and overall[0]["responded"] == 4
    assert cli("--metric", "first_response", "-f", "csv").stdout.startswith("segment,tickets,responded")
    bad = cli("--metric", "speed")
    assert bad.returncode == 1 and "allowed: nps, csat, first_response, churn" in bad.stderr


def test_an_unknown_period_is_refused_before_any_sql(survey: Workspace) -> None:
    from segmentum.errors import ModelError

    with pytest.raises(ModelError, match="allowed: week, month, quarter"):
        nps_over_time(survey, as_of=AS_OF, period="month') --")
