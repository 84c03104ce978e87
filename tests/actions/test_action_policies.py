"""Acting responsibly (DESIGN.md 5.2): a cooldown, a cap, a suppression list and quiet hours each stop an
action bound for a real webhook receiver or SMTP server on loopback, and the reason is recorded; hold-outs
are stable and recorded with no action."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import pytest
from actions_helpers import RUN1, RUN2, Mailbox, Receiver, make_workspace, write_run
from test_action_cli import segmentum

from segmentum.actions import deliver, list_outbox, process_run
from segmentum.actions.policy import group_of, holdout_position, quiet_release
from segmentum.errors import ActionError, DefinitionError
from segmentum.spec.models import QuietHours
from segmentum.store import META
from segmentum.store.memberships import add as add_memberships
from segmentum.workspace import Workspace

BASE = """\
traits:
  revenue: {sum: orders.amount}
segments:
  big_spenders: {where: "revenue >= 1000"}
  do_not_contact: {where: "revenue < 0"}
segmentations:
  tier:
    segments:
      - {name: vip, where: "revenue >= 5000"}
      - {name: regular, where: "revenue >= 500"}
    else: low
"""

HOOK = '{url: "http://127.0.0.1:PORT/hooks/segmentum", secret_env: SEG_TEST_SECRET}'


def _ws(tmp_path: Path, receiver: Receiver, extra: str, *, extra_config: str = "") -> Workspace:
    return make_workspace(
        tmp_path / "ws", port=receiver.port, definitions=BASE + extra, extra_config=extra_config
    )


def _hashes(ws: Workspace) -> dict[str, str]:
    defs = ws.definitions()
    return {n: defs.hashes[n] for n in ("big_spenders", "tier", "do_not_contact")}


def _run(ws: Workspace, run_id: int, state: dict, *, dnc: tuple[str, ...] = ()) -> None:
    write_run(ws, run_id, state, hashes=_hashes(ws))
    for cid in dnc:
        add_memberships(
            ws.store.cursor(),
            "VALUES (?, ?, NULL, 'do_not_contact', 'do_not_contact')",
            [run_id, cid],
        )


def _rows(ws: Workspace, **filters: object) -> list[dict]:
    return sorted(list_outbox(ws, **filters), key=lambda r: r["id"])  # type: ignore[arg-type]


def _transitions(ws: Workspace) -> list[tuple]:
    return ws.store.query(
        f"SELECT trigger, customer_id, run_id, grp, outcome FROM {META}.trigger_transitions "
        "ORDER BY run_id, trigger, customer_id"
    )


def _customers(receiver: Receiver) -> list[str]:
    return [r["body"]["customer"]["customer_id"] for r in receiver.requests]


IN = {"tier": "regular", "big_spenders": True, "revenue": 1200}
OUT = {"tier": "low", "revenue": 100}


def test_cooldown_stops_a_second_action_within_its_window_whatever_the_runs(
    tmp_path: Path, receiver: Receiver
) -> None:
    ws = _ws(
        tmp_path,
        receiver,
        f"triggers:\n  welcome:\n    on: enter\n    segment: big_spenders\n"
        f"    cooldown: 30d\n    do:\n      - webhook: {HOOK}\n",
    )
    # c4 enters (run 2), leaves (run 3) and enters again (run 4) within 30 days; c1 enters only in run 4
    _run(ws, 1, {"c4": OUT, "c1": OUT})
    _run(ws, 2, {"c4": IN, "c1": OUT})
    _run(ws, 3, {"c4": OUT, "c1": OUT})
    _run(ws, 4, {"c4": IN, "c1": IN})
    for run_id in (2, 3, 4):
        process_run(ws, run_id)
    report = deliver(ws)
    assert _customers(receiver) == ["c4", "c1"] and report.delivered == 2 and report.skipped == 0
    skipped = _rows(ws, reason="cooldown")
    assert [(r["customer_id"], r["run_id"], r["status"]) for r in skipped] == [("c4", 4, "skipped")]
    assert "within its cooldown 30d" in skipped[0]["last_error"]
    assert _transitions(ws) == [
        ("welcome", "c4", 2, "treated", "acted"),
        ("welcome", "c1", 4, "treated", "acted"),
        ("welcome", "c4", 4, "treated", "cooldown"),
    ]
    # processing a run again decides the same (its own transitions are not its cooldown)
    assert process_run(ws, 4).enqueued == 0 and len(_transitions(ws)) == 3
    ws.close()


def test_cooldown_covers_a_backfill_of_earlier_dates(tmp_path: Path, receiver: Receiver) -> None:
    """A run of an earlier date processed after a later one is inside the cooldown too ("whatever the runs")."""
    ws = _ws(
        tmp_path,
        receiver,
        f"triggers:\n  welcome:\n    on: enter\n    segment: big_spenders\n"
        f"    cooldown: 30d\n    do:\n      - webhook: {HOOK}\n",
    )
    _run(ws, 1, {"c4": OUT})
    _run(ws, 2, {"c4": IN})
    _run(ws, 3, {"c4": OUT})
    _run(ws, 4, {"c4": IN})
    process_run(ws, 4)
    process_run(ws, 2)  # the earlier date, processed later
    deliver(ws)
    assert _customers(receiver) == ["c4"]
    assert [(r["run_id"], r["reason"]) for r in _rows(ws)] == [(4, None), (2, "cooldown")]
    ws.close()


def test_cap_per_channel_across_triggers(tmp_path: Path, receiver: Receiver) -> None:
    extra = (
        f"triggers:\n  welcome:\n    on: enter\n    segment: big_spenders\n    do:\n      - webhook: {HOOK}\n"
        f"  slipping:\n    on: move\n    from: tier.vip\n    to: tier.regular\n    do:\n      - webhook: {HOOK}\n"
        "caps:\n  webhook: {max: 1, per: 7d}\n"
    )
    ws = _ws(tmp_path, receiver, extra)
    vip = {"tier": "vip", "revenue": 6000}
    _run(ws, 1, {"c1": vip, "c2": OUT, "c3": OUT})
    # c1 moves vip -> regular and enters big_spenders: two webhooks, the cap allows one
    _run(ws, 2, {"c1": IN, "c2": IN, "c3": OUT})
    _run(ws, 3, {"c1": IN, "c2": IN, "c3": IN})
    _run(ws, 4, {"c1": IN, "c2": OUT, "c3": IN})
    _run(ws, 5, {"c1": IN, "c2": IN, "c3": IN})
    for run_id in (2, 3, 4, 5):
        process_run(ws, run_id)
    deliver(ws)
    # c2's second webhook (run 5, three days after run 2) is within the week: capped too
    assert sorted(_customers(receiver)) == ["c1", "c2", "c3"]
    capped = _rows(ws, reason="cap")
    assert [(r["trigger"], r["customer_id"], r["run_id"]) for r in capped] == [
        ("slipping", "c1", 2),
        ("welcome", "c2", 5),
    ]
    assert all(r["status"] == "skipped" and "webhook cap (1 per 7d)" in r["last_error"] for r in capped)
    ws.close()


def test_suppression_list_is_never_emailed(tmp_path: Path, smtp_server: Mailbox) -> None:
    extra_config = (
        f"email:\n  smtp_host: 127.0.0.1\n  smtp_port: {smtp_server.port}\n  starttls: false\n"
        "  from: shop@example.com\n"
    )
    extra = (
        "triggers:\n  welcome:\n    on: enter\n    segment: big_spenders\n    do:\n"
        '      - email: {template: templates/welcome.html, subject: "Hi {{ customer.name }}"}\n'
        "suppress: [do_not_contact]\n"
    )
    ws = make_workspace(tmp_path / "ws", definitions=BASE + extra, extra_config=extra_config)
    _run(ws, 1, RUN1)
    _run(ws, 2, {**RUN2, "c6": IN}, dnc=("c4",))
    process_run(ws, 2)
    deliver(ws)
    # c4 and c6 would be emailed; c4 is on the do-not-contact list (c3 opted out, c5 has no address)
    assert [m["rcpt"] for m in smtp_server.messages] == [["fay@example.com"]]
    row = _rows(ws, reason="suppressed")
    assert [(r["customer_id"], r["status"]) for r in row] == [("c4", "skipped")]
    assert "suppression list (suppress: do_not_contact)" in row[0]["last_error"]
    assert ("welcome", "c4", 2, "treated", "suppressed") in _transitions(ws)
    ws.close()


def test_suppression_list_a_run_did_not_compute_is_taken_from_an_earlier_run(
    tmp_path: Path, receiver: Receiver
) -> None:
    ws = _ws(
        tmp_path,
        receiver,
        f"triggers:\n  welcome:\n    on: enter\n    segment: big_spenders\n"
        f"    do:\n      - webhook: {HOOK}\n"
        "suppress: [do_not_contact]\n",
    )
    _run(ws, 1, {"c4": OUT, "c1": OUT}, dnc=("c4",))
    write_run(ws, 2, {"c4": IN, "c1": IN})  # a run --only of other definitions: no do_not_contact
    process_run(ws, 2)
    deliver(ws)
    assert _customers(receiver) == ["c1"]
    # with no run that computed the list at all, nobody is contacted and the run stays pending
    ws2 = _ws(
        tmp_path / "b",
        receiver,
        f"triggers:\n  welcome:\n    on: enter\n    segment: big_spenders\n"
        f"    do:\n      - webhook: {HOOK}\n"
        "suppress: [do_not_contact]\n",
    )
    write_run(ws2, 1, {"c4": OUT})
    write_run(ws2, 2, {"c4": OUT})
    assert process_run(ws2, 2).processed  # nobody to act on: the missing list holds nothing up
    write_run(ws2, 3, {"c4": IN})
    report = process_run(ws2, 3)
    assert not report.processed and report.enqueued == 0
    assert "suppression list 'do_not_contact' has not been computed" in report.errors[0]
    ws.close()
    ws2.close()


def test_quiet_hours_hold_an_action_until_the_window_ends_in_the_customers_zone(
    tmp_path: Path, receiver: Receiver
) -> None:
    extra = (
        f"triggers:\n  welcome:\n    on: enter\n    segment: big_spenders\n    do:\n      - webhook: {HOOK}\n"
        'quiet_hours: {from: "21:00", to: "08:00"}\n'
    )
    ws = _ws(tmp_path, receiver, extra)
    con = ws.store.cursor()
    con.execute("ALTER TABLE main.customers ADD COLUMN timezone VARCHAR")
    con.execute("UPDATE main.customers SET timezone = 'Asia/Tokyo' WHERE customer_id = 'c4'")
    con.execute("UPDATE main.customers SET timezone = 'Not/AZone' WHERE customer_id = 'c1'")
    _run(ws, 1, {"c4": OUT, "c1": OUT})
    _run(ws, 2, {"c4": IN, "c1": IN})
    # 13:00 in the workspace (UTC) is 22:00 in Tokyo: c4's webhook waits until 08:00 Tokyo = 23:00 UTC;
    # c1's zone is not a zone, so the workspace's counts: 13:00, outside the quiet hours
    process_run(ws, 2, now=datetime(2024, 6, 1, 13, 0))
    held = _rows(ws, reason="quiet_hours")
    assert [(r["customer_id"], r["status"], r["next_attempt_at"]) for r in held] == [
        ("c4", "pending", datetime(2024, 6, 1, 23, 0))
    ]
    deliver(ws, now=datetime(2024, 6, 1, 13, 1))
    deliver(ws, due_only=False, now=datetime(2024, 6, 1, 13, 2))  # forcing retries never breaks quiet hours
    assert _customers(receiver) == ["c1"]
    deliver(ws, now=datetime(2024, 6, 1, 23, 0, 1))
    assert _customers(receiver) == ["c1", "c4"]
    assert [(r["status"], r["reason"]) for r in _rows(ws, reason="quiet_hours")] == [
        ("delivered", "quiet_hours")
    ]
    ws.close()


def test_quiet_release_wraps_midnight_and_respects_zones() -> None:
    quiet = QuietHours.model_validate({"from": "21:00", "to": "08:00"})
    assert quiet_release(quiet, datetime(2024, 6, 1, 20, 59), "UTC", "UTC") is None
    assert quiet_release(quiet, datetime(2024, 6, 1, 21, 0), "UTC", "UTC") == datetime(2024, 6, 2, 8, 0)
    assert quiet_release(quiet, datetime(2024, 6, 2, 3, 0), "UTC", "UTC") == datetime(2024, 6, 2, 8, 0)
    assert quiet_release(quiet, datetime(2024, 6, 2, 8, 0), "UTC", "UTC") is None
    # the workspace in Kyiv (UTC+3 in June), the customer in New York (UTC-4): 04:00 Kyiv = 21:00 NY
    assert quiet_release(quiet, datetime(2024, 6, 2, 4, 0), "America/New_York", "Europe/Kyiv") == datetime(
        2024, 6, 2, 15, 0
    )
    day = QuietHours.model_validate({"from": "12:00", "to": "14:00"})
    assert quiet_release(day, datetime(2024, 6, 1, 13, 0), "UTC", "UTC") == datetime(2024, 6, 1, 14, 0)
    assert quiet_release(day, datetime(2024, 6, 1, 14, 0), "UTC", "UTC") is None


def test_holdout_is_a_stable_hash_and_the_control_group_gets_nothing(
    tmp_path: Path, receiver: Receiver
) -> None:
    # the documented hash, pinned: first 8 bytes of sha256("trigger\0customer") / 2^64
    digest = hashlib.sha256(b"winback\x00c1").digest()
    assert holdout_position("winback", "c1") == int.from_bytes(digest[:8], "big") / 2**64
    assert round(holdout_position("winback", "c1"), 6) == round(int(digest[:8].hex(), 16) / 2**64, 6)
    shares = [holdout_position("winback", f"cust{i}") for i in range(20000)]
    assert 0.09 < sum(s < 0.1 for s in shares) / len(shares) < 0.11
    ws = _ws(
        tmp_path,
        receiver,
        f"triggers:\n  welcome:\n    on: enter\n    segment: big_spenders\n"
        f"    holdout: 50%\n    do:\n      - webhook: {HOOK}\n",
    )
    ids = ["c1", "c2", "c3", "c4", "c5", "c6"]
    control = {c for c in ids if group_of("welcome", c, 0.5) == "control"}
    assert 0 < len(control) < len(ids)  # the test means something for these ids
    _run(ws, 1, dict.fromkeys(ids, OUT))
    _run(ws, 2, dict.fromkeys(ids, IN))
    process_run(ws, 2)
    deliver(ws)
    assert set(_customers(receiver)) == set(ids) - control
    assert {r["customer_id"] for r in _rows(ws, reason="holdout")} == control
    recorded = {(c, g, o) for _, c, _, g, o in _transitions(ws)}
    assert recorded == {(c, "control", "holdout") if c in control else (c, "treated", "acted") for c in ids}
    ws.close()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "suppress: [do_not_contac]\n",
            "suppress: unknown segment 'do_not_contac'; did you mean 'do_not_contact'",
        ),
        ("suppress: [tier.vip]\n", "only standalone segments can be suppression lists"),
        ('quiet_hours: {from: "25:00", to: "08:00"}\n', "invalid time '25:00'"),
        ("caps:\n  email: {max: 2, per: 7x}\n", "invalid duration '7x'"),
        (
            "triggers:\n  t:\n    on: enter\n    segment: big_spenders\n    holdout: 10\n    do:\n"
            "      - task: {title: x}\n",
            "holdout 10 is read as a fraction; write a percentage such as 10%",
        ),
        (
            "triggers:\n  t:\n    on: enter\n    segment: big_spenders\n    holdout: ten\n    do:\n"
            "      - task: {title: x}\n",
            "invalid holdout 'ten'",
        ),
        (
            "triggers:\n  t:\n    on: enter\n    segment: big_spenders\n"
            '    measure: {conversion: "count(order) >= 1", within: 30d}\n    do:\n      - task: {title: x}\n',
            "unknown table 'order'; did you mean 'orders'",
        ),
        (
            "triggers:\n  t:\n    on: enter\n    segment: big_spenders\n"
            "    measure: {revenue: orders.amout, within: 30d}\n    do:\n      - task: {title: x}\n",
            "unknown column 'amout' of orders; did you mean 'amount'",
        ),
        (
            "triggers:\n  t:\n    on: enter\n    segment: big_spenders\n"
            '    measure: {conversion: "sum(orders) > 1", within: 30d}\n    do:\n      - task: {title: x}\n',
            "write count(TABLE) >= N",
        ),
    ],
)
def test_policy_definitions_are_checked(tmp_path: Path, receiver: Receiver, extra: str, message: str) -> None:
    ws = _ws(tmp_path, receiver, extra)
    with pytest.raises(DefinitionError) as err:
        ws.definitions()
    assert message in str(err.value) and "definitions/shop.yml:" in str(err.value)
    ws.close()


def test_caps_and_quiet_hours_are_set_once_and_may_live_in_segmentum_yml(
    tmp_path: Path, receiver: Receiver
) -> None:
    ws = _ws(
        tmp_path,
        receiver,
        "caps:\n  email: {max: 2, per: 7d}\n",
        extra_config="caps:\n  task: {max: 1, per: 1d}\n",
    )
    defs = ws.definitions()
    assert {k: (c.max, c.per) for k, c in defs.caps.items()} == {"task": (1, "1d"), "email": (2, "7d")}
    (ws.root / "segmentum.yml").write_text(
        (ws.root / "segmentum.yml").read_text() + "  email: {max: 3, per: 7d}\n"
    )
    with pytest.raises(DefinitionError, match="'caps.email' is already set at segmentum.yml"):
        ws.definitions()
    ws.close()


@pytest.mark.slow
def test_outbox_command_shows_and_filters_reasons(tmp_path: Path, receiver: Receiver) -> None:
    ws = _ws(
        tmp_path,
        receiver,
        f"triggers:\n  welcome:\n    on: enter\n    segment: big_spenders\n"
        f"    do:\n      - webhook: {HOOK}\n"
        "suppress: [do_not_contact]\n",
    )
    _run(ws, 1, {"c4": OUT, "c1": OUT})
    _run(ws, 2, {"c4": IN, "c1": IN}, dnc=("c4",))
    process_run(ws, 2)
    root = str(ws.root)
    ws.close()
    listed = segmentum("outbox", "-w", root, "--reason", "suppressed", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["customer_id"], r["status"], r["reason"]) for r in rows] == [("c4", "skipped", "suppressed")]
    table = segmentum("outbox", "-w", root, "--format", "csv")
    header, *lines = table.stdout.splitlines()
    assert header.split(",")[:3] == ["id", "status", "reason"]
    assert sorted(line.split(",")[2] for line in lines) == ["", "suppressed"]
    bad = segmentum("outbox", "-w", root, "--reason", "capped")
    assert bad.returncode == 1 and "unknown reason 'capped'" in bad.stderr and "cap" in bad.stderr


def test_unknown_reason_is_an_error(tmp_path: Path, receiver: Receiver) -> None:
    ws = _ws(tmp_path, receiver, "")
    with pytest.raises(ActionError, match="unknown reason 'x'; use one of cooldown, cap"):
        list_outbox(ws, reason="x")
    ws.close()


def test_rerunning_past_dates_with_real_runs_acts_once_per_cooldown(
    tmp_path: Path, receiver: Receiver
) -> None:
    """The issue's case: re-running past dates repeated "vip -> low" for the same customers. With a cooldown,
    real runs (Workspace.run) fire the transition again but act once."""
    from segmentum.views.tasks import tasks as task_list

    defs = """\
traits:
  revenue_30d: {sum: orders.amount, within: 30d}
segmentations:
  tier:
    segments:
      - {name: vip, where: "revenue_30d >= 1000"}
    else: low
triggers:
  slipping:
    on: move
    from: tier.vip
    to: tier.low
    cooldown: 30d
    do:
      - task: {title: "Call {{ customer.name }}"}
      - webhook: HOOK
""".replace("HOOK", HOOK.replace("PORT", str(receiver.port)))
    ws = make_workspace(tmp_path / "ws", port=receiver.port, definitions=defs)
    con = ws.store.cursor()
    con.execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    con.execute("INSERT INTO main.orders VALUES ('o1', 'c1', '2024-01-10', 1500, NULL)")
    ws.run(as_of="2024-01-31")
    first = ws.run(as_of="2024-02-29")  # c1: vip -> low
    ws.run(as_of="2024-01-31")  # a past date again: c1 is vip in it
    again = ws.run(as_of="2024-02-29")  # vip -> low once more
    assert first.actions["fired"] == again.actions["fired"] == {"slipping": 1}
    assert [r["customer_id"] for r in task_list(ws, status="open")["tasks"]] == ["c1"]
    assert len(receiver.requests) == 1
    skipped = _rows(ws, reason="cooldown")
    assert [(r["action_type"], r["run_id"]) for r in skipped] == [
        ("task", again.run_id),
        ("webhook", again.run_id),
    ]
    assert [o for *_, o in _transitions(ws)] == ["acted", "cooldown"]
    ws.close()


def test_delivering_until_done_does_not_wait_for_quiet_hours(tmp_path: Path, receiver: Receiver) -> None:
    import time
    from datetime import timedelta

    from segmentum.actions import deliver_until_done
    from segmentum.clock import now

    current = now("UTC")
    window = (
        f'{{from: "{(current - timedelta(hours=1)):%H:%M}", to: "{(current + timedelta(hours=2)):%H:%M}"}}'
    )
    extra = (
        f"triggers:\n  welcome:\n    on: enter\n    segment: big_spenders\n    do:\n      - webhook: {HOOK}\n"
        f"quiet_hours: {window}\n"
    )
    ws = _ws(tmp_path, receiver, extra)
    _run(ws, 1, {"c4": OUT})
    _run(ws, 2, {"c4": IN})
    process_run(ws, 2)  # now, by the wall clock: inside the quiet hours
    started = time.monotonic()
    report = deliver_until_done(ws, timeout=30)
    assert time.monotonic() - started < 10 and report.retrying == 0 and receiver.requests == []
    assert [r["status"] for r in _rows(ws, reason="quiet_hours")] == ["pending"]
    ws.close()


def test_an_export_leaves_out_the_suppressed_and_the_held_out(tmp_path: Path, receiver: Receiver) -> None:
    """A list for a campaign contacts its members too."""
    ws = _ws(
        tmp_path,
        receiver,
        "triggers:\n  welcome:\n    on: enter\n    segment: big_spenders\n    holdout: 50%\n    do:\n"
        '      - export: {path: "exports/big.csv"}\n'
        "suppress: [do_not_contact]\n",
    )
    ids = ["c1", "c2", "c3", "c4", "c5", "c6"]
    _run(ws, 1, dict.fromkeys(ids, OUT))
    _run(ws, 2, dict.fromkeys(ids, IN), dnc=("c5",))
    process_run(ws, 2)
    assert deliver(ws).delivered == 1
    written = (ws.root / "exports" / "big.csv").read_text().splitlines()
    treated = {c for c in ids if group_of("welcome", c, 0.5) == "treated"}
    assert "c5" in treated  # the suppression is what leaves c5 out
    assert {line.split(",")[0].strip('"') for line in written[1:]} == treated - {"c5"} != set()
    ws.close()
