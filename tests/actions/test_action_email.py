"""Email over a real SMTP server on loopback (aiosmtpd), consent, dry run and the template sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from actions_helpers import RUN1, RUN2, Mailbox, make_workspace, write_run

from segmentum.actions import deliver, list_outbox, process_run
from segmentum.actions.templates import Templates
from segmentum.errors import ActionError
from segmentum.workspace import Workspace


def _email_ws(tmp_path: Path, smtp: Mailbox | None, *, dry_run: bool = False) -> Workspace:
    extra = (
        f"email:\n  smtp_host: 127.0.0.1\n  smtp_port: {smtp.port if smtp else 1}\n  starttls: false\n"
        f"  from: shop@example.com\n  dry_run: {'true' if dry_run else 'false'}\n"
    )
    ws = make_workspace(tmp_path / "ws", extra_config=extra)
    write_run(ws, 1, RUN1)
    write_run(ws, 2, RUN2)
    return ws


def _emails(ws: Workspace) -> list[dict]:
    return [r for r in list_outbox(ws) if r["action_type"] == "email"]


def test_emails_are_sent_over_smtp_with_text_and_html(tmp_path: Path, smtp_server: Mailbox) -> None:
    ws = _email_ws(tmp_path, smtp_server)
    process_run(ws, 2)
    report = deliver(ws, ids=[r["id"] for r in _emails(ws)])
    # c3 opted out, c5 has no address: both skipped; c4 (consent unknown) is emailed
    assert (report.delivered, report.skipped, report.failed) == (1, 2, 0)
    assert [m["rcpt"] for m in smtp_server.messages] == [["dee@example.com"]]
    msg = smtp_server.messages[0]["msg"]
    assert msg["Subject"] == "Thanks, Dee" and msg["From"] == "shop@example.com"
    assert msg["X-Segmentum-Idempotency-Key"] == "welcome_big:c4:2:0"
    assert msg["Message-ID"].endswith("@segmentum>")
    assert msg.get_content_type() == "multipart/alternative"
    assert "Hello Dee" in msg.get_body(("plain",)).get_content()
    assert "<h1>Hello Dee</h1>" in msg.get_body(("html",)).get_content()
    status = {r["customer_id"]: (r["status"], r["last_error"]) for r in _emails(ws)}
    assert status["c3"][0] == "skipped" and "email_opt_in is false" in status["c3"][1]
    assert status["c5"][0] == "skipped" and "no email address" in status["c5"][1]
    assert status["c4"] == ("delivered", None)
    deliver(ws, due_only=False)
    assert len(smtp_server.messages) == 1  # delivered and skipped items are never sent again
    ws.close()


def test_unsubscribed_customers_are_not_emailed(tmp_path: Path, smtp_server: Mailbox) -> None:
    ws = _email_ws(tmp_path, smtp_server)
    ws.store.cursor().execute(
        "CREATE TABLE main.events AS SELECT 'c4' AS customer_id, 'email_unsubscribe' AS event, "
        "TIMESTAMP '2024-01-01 10:00:00' AS occurred_at"
    )
    process_run(ws, 2)
    report = deliver(ws, ids=[r["id"] for r in _emails(ws)])
    assert report.delivered == 0 and report.skipped == 3
    assert smtp_server.messages == []
    ws.close()


def test_smtp_down_keeps_emails_pending(tmp_path: Path) -> None:
    ws = _email_ws(tmp_path, None)  # port 1: nothing listens
    process_run(ws, 2)
    report = deliver(ws, ids=[r["id"] for r in _emails(ws)])
    assert report.retrying == 1 and report.skipped == 2
    ws.close()


def test_dry_run_writes_one_file_per_email(tmp_path: Path) -> None:
    ws = _email_ws(tmp_path, None, dry_run=True)
    process_run(ws, 2)
    deliver(ws)
    deliver(ws, due_only=False)
    files = list((ws.root / "outbox").glob("*.eml"))
    assert len(files) == 1
    text = files[0].read_text()
    assert "X-Segmentum-Idempotency-Key: welcome_big:c4:2:0" in text and "Thanks, Dee" in text
    ws.close()


def test_template_sandbox_blocks_internals_and_files_outside(tmp_path: Path, smtp_server: Mailbox) -> None:
    ws = _email_ws(tmp_path, smtp_server)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    (ws.root / "templates" / "welcome.html").write_text("{{ customer.__class__.__mro__ }}")
    report = process_run(ws, 2)
    assert report.render_errors == 3
    rows = _emails(ws)
    assert {r["status"] for r in rows} == {"failed"}
    assert "sandbox" in rows[0]["last_error"] and "unsafe" in rows[0]["last_error"]
    (ws.root / "templates" / "welcome.html").write_text("{% include '../../secret.txt' %}")
    (ws.root / "templates" / "link.html").symlink_to(secret)
    templates = Templates(ws.root)
    for text in (
        "{% include '../../secret.txt' %}",
        f"{{% include '{secret}' %}}",
        "{% include 'templates/link.html' %}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os }}",
    ):
        with pytest.raises(ActionError):
            templates.render(text, {"customer": {}})
    # a fixed template replaces the failed items when the run is processed again
    (ws.root / "templates" / "welcome.html").write_text("<p>Hi {{ customer.name }}</p>")
    assert process_run(ws, 2).enqueued == 3
    assert deliver(ws, ids=[r["id"] for r in _emails(ws)]).delivered == 1
    assert "TOP SECRET" not in str(smtp_server.messages[0]["msg"])
    ws.close()


def test_html_template_escapes_customer_values(tmp_path: Path) -> None:
    (tmp_path / "t.html").write_text("<b>{{ customer.name }}</b>")
    out = Templates(tmp_path).render_file("t.html", {"customer": {"name": "<script>x</script>"}})
    assert out == "<b>&lt;script&gt;x&lt;/script&gt;</b>"
