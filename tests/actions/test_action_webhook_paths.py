"""The webhook allowlist matches normalised paths: `..`, `.` and encoded dots or slashes never climb out of an
allowed prefix, whether written in the trigger or put into the URL by a template (a customer id)."""

from __future__ import annotations

from pathlib import Path

import pytest
from actions_helpers import RUN1, RUN2, make_workspace, write_run

from segmentum.actions import list_outbox, process_run, validate_triggers
from segmentum.actions.sinks.webhook import url_allowed
from segmentum.errors import ActionError
from segmentum.store import META

ALLOW = ["https://crm.example.com/hooks/"]


@pytest.mark.parametrize(
    "url",
    [
        "https://crm.example.com/hooks/../admin/delete",
        "https://crm.example.com/hooks/x/../../admin",
        "https://crm.example.com/hooks/./../admin",
        "https://crm.example.com/hooks/%2e%2e/admin",
        "https://crm.example.com/hooks/%2E%2E/admin",
        "https://crm.example.com/hooks/.%2e/admin",
        "https://crm.example.com/hooks/..%2fadmin",
        "https://crm.example.com/hooks/..%2Fadmin",
        "https://crm.example.com/hooks/..%5cadmin",
        "https://crm.example.com/hooks/..\\admin",
        "https://crm.example.com/hooks/.",
    ],
)
def test_dot_segments_and_encoded_dots_are_refused(url: str) -> None:
    assert not url_allowed(url, ALLOW)


def test_ordinary_paths_under_the_prefix_are_allowed() -> None:
    assert url_allowed("https://crm.example.com/hooks/segmentum", ALLOW)
    assert url_allowed("https://crm.example.com/hooks//deep/c1.json", ALLOW)  # compared as /hooks/deep/...
    assert url_allowed("https://crm.example.com/hooks/a..b/c%20d", ALLOW)  # dots inside a segment are fine
    assert not url_allowed("https://crm.example.com/hooksX/a", ALLOW)
    assert not url_allowed("https://crm.example.com//admin", ALLOW)


def test_a_written_dot_segment_is_flagged_by_validate(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", port=8123)
    shop = ws.root / "definitions" / "shop.yml"
    shop.write_text(shop.read_text().replace("/hooks/segmentum", "/hooks/../admin"))
    with pytest.raises(ActionError, match=r"refused: its path holds a '\.' or '\.\.' segment"):
        validate_triggers(ws, ws.definitions())
    ws.close()


def test_a_customer_id_that_climbs_out_fails_only_its_item(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", port=8123)
    shop = ws.root / "definitions" / "shop.yml"
    shop.write_text(shop.read_text().replace("/hooks/segmentum", "/hooks/c/{{ customer.customer_id }}"))
    validate_triggers(ws, ws.definitions())  # the static part is allowed
    con = ws.store.cursor()
    hostile = "../../admin"
    con.execute("UPDATE main.customers SET customer_id = ? WHERE customer_id = 'c2'", [hostile])
    run1 = dict(RUN1)
    run2 = dict(RUN2)
    run1[hostile], run2[hostile] = run1.pop("c2"), run2.pop("c2")
    write_run(ws, 1, run1)
    write_run(ws, 2, run2)
    report = process_run(ws, 2)
    rows = {r["idempotency_key"]: r for r in list_outbox(ws)}
    bad = rows[f"slipping:{hostile}:2:1"]
    assert bad["status"] == "failed" and "'..' segment" in bad["last_error"]
    assert rows["slipping:c1:2:1"]["status"] == "pending"  # c1's webhook goes on
    assert report.render_errors == 1
    # an item whose stored URL was changed after rendering is refused at delivery as well
    con.execute(
        f"UPDATE {META}.outbox SET payload = json_merge_patch(payload, "
        """'{"action": {"url": "http://127.0.0.1:8123/hooks/%2e%2e/admin"}}') WHERE idempotency_key = ?""",
        ["slipping:c1:2:1"],
    )
    from segmentum.actions import deliver

    ids = [rows["slipping:c1:2:1"]["id"]]
    result = deliver(ws, ids=ids)
    assert result.failed == 1 and "encoded dot" in result.errors[0]
    ws.close()
