"""Scheduled batch runs while serving: `15m`, `2h`, `daily 02:00`."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from segmentum.errors import ConfigError
from segmentum.service.runtime import Runtime
from segmentum.service.schedule import parse_schedule


def test_intervals_and_daily_times() -> None:
    now = datetime(2024, 5, 1, 10, 30)
    assert parse_schedule("15m").next_after(now) == now + timedelta(minutes=15)
    assert parse_schedule("2h").next_after(now) == now + timedelta(hours=2)
    assert parse_schedule("daily 02:00").next_after(now) == datetime(2024, 5, 2, 2, 0)
    assert parse_schedule("daily 23:15").next_after(now) == datetime(2024, 5, 1, 23, 15)
    assert parse_schedule("DAILY 10:30").next_after(now) == datetime(2024, 5, 2, 10, 30)


@pytest.mark.parametrize("text", ["hourly", "0m", "daily 25:00", "every 5 minutes", "15"])
def test_unknown_schedules_say_what_is_allowed(text: str) -> None:
    with pytest.raises(ConfigError, match="schedule"):
        parse_schedule(text)


def test_a_schedule_starts_batch_runs(workspace) -> None:
    con = workspace.store.cursor()
    con.execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    con.execute("INSERT INTO main.orders VALUES ('o1', 'c1', '2024-01-05', 10, NULL)")
    runtime = Runtime(workspace, realtime=False, schedule="1s")
    runtime.start()
    try:
        deadline = time.monotonic() + 60
        while not any(j.status == "complete" for j in runtime.jobs):
            assert time.monotonic() < deadline, [j.as_dict() for j in runtime.jobs]
            time.sleep(0.1)
    finally:
        runtime.stop()
    job = next(j for j in runtime.jobs if j.status == "complete")
    assert job.trigger == "schedule" and job.as_dict()["run_id"] is not None
    rows = workspace.store.query(
        "SELECT kind, status FROM segmentum.runs WHERE run_id = ?", [job.as_dict()["run_id"]]
    )
    assert rows == [("batch", "complete")]


def test_a_backfill_through_the_api_runs_every_point_and_reports_progress(live) -> None:
    con = live.ws.store.cursor()
    con.execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    con.execute("INSERT INTO main.orders VALUES ('o1', 'c1', '2024-01-05', 10, NULL)")
    with live.client("write") as client:
        started = client.post("/v1/runs/backfill", json={"from": "2024-01-01", "to": "2024-03-15"})
        assert started.status_code == 202, started.text
        job_id = started.json()["job_id"]
        # while it runs: points done of the total, never more, never going back
        seen = [started.json()["progress"]]
        deadline = time.monotonic() + 120
        while (job := client.get(f"/v1/runs/jobs/{job_id}").json())["status"] == "running":
            assert time.monotonic() < deadline, job
            seen.append(job["progress"])
            time.sleep(0.2)
        bad = client.post("/v1/runs/backfill", json={"from": "2024-03-01", "to": "2024-01-01"})
    assert job["status"] == "complete", job
    assert job["kind"] == "backfill"
    assert seen[0]["total"] == 3 and seen[0]["done"] == 0 and seen[0]["eta_s"] is None  # nothing done yet
    dones = [p["done"] for p in seen]
    assert dones == sorted(dones) and all(p["total"] == 3 for p in seen)
    final = job["progress"]
    assert (final["done"], final["total"], final["of"], final["eta_s"]) == (3, 3, 3, 0.0)
    assert final["elapsed_s"] >= 0
    assert [r["run_id"] for r in job["runs"]] == job["run_ids"]
    assert [r["as_of"][:10] for r in job["runs"]] == ["2024-01-31", "2024-02-29", "2024-03-15"]
    # its points share one compiled SQL (runs.reuse.CompiledOnce): the first two compiled in full (the template
    # and its check), the third moved to its as_of; each point making its own compiled all three
    assert job["sql"] == {"compiled": 2, "reused": 1}, job
    as_of = live.ws.store.query(
        "SELECT strftime(as_of, '%Y-%m-%d') FROM segmentum.runs WHERE run_id IN (SELECT unnest(?::BIGINT[])) "
        "ORDER BY 1",
        [job["run_ids"]],
    )
    assert [r[0] for r in as_of] == ["2024-01-31", "2024-02-29", "2024-03-15"]
    assert bad.status_code == 422 and "before --from" in bad.json()["error"]["message"]


def test_a_served_backfill_waits_for_the_job_in_progress_then_shows_its_points(live) -> None:
    """`segmentum backfill` through a server (service.commands.call_backfill): while another job runs it
    waits, saying so; then it follows its own job's record, points done up to the total."""
    import threading
    from datetime import date
    from urllib.parse import urlsplit

    from segmentum.service.commands import call_backfill
    from segmentum.service.ownership import remove_record, write_record

    con = live.ws.store.cursor()
    con.execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    con.execute("INSERT INTO main.orders VALUES ('o1', 'c1', '2024-01-05', 10, NULL)")
    write_record(live.ws.root, "127.0.0.1", int(urlsplit(live.url).port or 0), live.keys["admin"])
    runtime = live.app.state.runtime
    calls: list[tuple[int, int | None, str]] = []
    answer: list[object] = []

    def backfill() -> None:
        try:
            answer.append(
                call_backfill(
                    live.ws,
                    start="2024-01-01",
                    end="2024-03-15",
                    progress=lambda done, total, label, unit="": calls.append((done, total, label)),
                    poll_s=0.05,
                )
            )
        except Exception as exc:  # noqa: BLE001 - shown by the assertion below
            answer.append(exc)

    try:
        with runtime.run_lock:  # the first job waits at its first point: in progress while the lock is held
            first = runtime.start_backfill(date(2024, 1, 1), date(2024, 1, 31), "1m")
            worker = threading.Thread(target=backfill)
            worker.start()
            deadline = time.monotonic() + 60
            waiting = f"waiting for the backfill in progress (job {first.job_id})"
            while not any(label == waiting for _, _, label in list(calls)):
                assert time.monotonic() < deadline and worker.is_alive(), (calls, answer)
                time.sleep(0.02)
        worker.join(120)
    finally:
        remove_record(live.ws.root)
    assert not worker.is_alive() and isinstance(answer[0], list), answer
    assert [row["as_of"][:10] for row in answer[0]] == ["2024-01-31", "2024-02-29", "2024-03-15"]
    own = [(done, total) for done, total, label in calls if label.endswith("through segmentum serve")]
    assert own[-1] == (3, 3) and [d for d, _ in own] == sorted(d for d, _ in own)
    assert {total for _, total in own} == {3}


def test_a_stopping_server_stops_a_backfill_between_points(workspace) -> None:
    """A server asked to stop does not wait for every point of a long backfill: the points done are complete
    runs, the job says it stopped and after how many."""
    con = workspace.store.cursor()
    con.execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    con.execute("INSERT INTO main.orders VALUES ('o1', 'c1', '2024-01-05', 10, NULL)")
    runtime = Runtime(workspace, realtime=False)
    runtime.start()
    job = runtime.start_backfill(datetime(2020, 1, 1).date(), datetime(2024, 12, 31).date(), "1d")
    deadline = time.monotonic() + 120
    while job.done < 1:
        assert time.monotonic() < deadline and job.status == "running", job.as_dict()
        time.sleep(0.05)
    runtime.stop()
    assert job.status == "stopped", job.as_dict()
    assert 1 <= job.done < 1827 and f"after {job.done} of 1827 points" in (job.message or "")
    runs = workspace.store.query("SELECT count(*) FROM segmentum.runs WHERE status = 'complete'")[0][0]
    assert runs == job.done
