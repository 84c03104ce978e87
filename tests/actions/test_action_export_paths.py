"""Export paths are confined to the workspace's exports folder (`exports.folder` of segmentum.yml): absolute
paths elsewhere, `..` and symbolic links out are refused at validation, at rendering and at delivery."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from actions_helpers import DEFINITIONS, RUN1, RUN2, make_workspace, write_run

from segmentum.actions import deliver, list_outbox, process_run, validate_triggers
from segmentum.errors import ActionError
from segmentum.store import META

TRIGGER = """\
  campaign:
    on: enter
    segment: big_spenders
    do:
      - export: {path: "PATH"}
"""


def _ws(tmp_path: Path, path: str, extra_config: str = ""):
    ws = make_workspace(
        tmp_path / "ws", definitions=DEFINITIONS + TRIGGER.replace("PATH", path), extra_config=extra_config
    )
    write_run(ws, 1, RUN1)
    write_run(ws, 2, RUN2)
    return ws


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("OUTSIDE/stolen.csv", "outside the exports folder"),
        ("exports/../stolen.csv", "holds '..'"),
        ("../stolen.csv", "holds '..'"),
        ("stolen.csv", "outside the exports folder"),
        ("{{ trigger.name }}/stolen.csv", "outside the exports folder"),
    ],
)
def test_paths_outside_the_exports_folder_are_refused(tmp_path: Path, path: str, why: str) -> None:
    outside = tmp_path / "elsewhere"
    ws = _ws(tmp_path, path.replace("OUTSIDE", str(outside)))
    with pytest.raises(ActionError, match=f"{why}.*exports: {{folder:"):
        validate_triggers(ws, ws.definitions())
    report = process_run(ws, 2)  # the run's other triggers go on; this one's export fails with the reason
    rows = {r["idempotency_key"]: r for r in list_outbox(ws)}
    assert rows["campaign:*:2:0"]["status"] == "failed" and why in rows["campaign:*:2:0"]["last_error"]
    assert report.render_errors == 1 and rows["slipping:c1:2:1"]["status"] == "pending"
    deliver(ws)
    assert not outside.exists() and not (tmp_path / "stolen.csv").exists()
    assert not (ws.root / "stolen.csv").exists()
    ws.close()


def test_a_rendered_path_and_a_symbolic_link_cannot_leave_the_folder(tmp_path: Path) -> None:
    ws = _ws(tmp_path, "exports/{{ customer.name }}x/list.csv")
    validate_triggers(ws, ws.definitions())  # the folder is fixed: allowed
    (ws.root / "exports").mkdir()
    os.symlink(tmp_path, ws.root / "exports" / "out")
    shop = ws.root / "definitions" / "shop.yml"
    shop.write_text(shop.read_text().replace("exports/{{ customer.name }}x/list.csv", "exports/out/list.csv"))
    with pytest.raises(ActionError, match="outside the exports folder"):
        validate_triggers(ws, ws.definitions())
    # an item rendered before the link appeared (or edited in the store) is refused at delivery
    shop.write_text(shop.read_text().replace("exports/out/list.csv", "exports/ok.csv"))
    process_run(ws, 2)
    con = ws.store.cursor()
    con.execute(
        f"""UPDATE {META}.outbox SET payload = json_merge_patch(payload,
            '{{"action": {{"path": "exports/out/list.csv"}}}}') WHERE idempotency_key = 'campaign:*:2:0'"""
    )
    item = next(r for r in list_outbox(ws) if r["idempotency_key"] == "campaign:*:2:0")
    report = deliver(ws, ids=[item["id"]])
    assert report.failed == 1 and "outside the exports folder" in report.errors[0]
    assert not (tmp_path / "list.csv").exists()
    ws.close()


def test_a_folder_named_in_the_config_is_allowed(tmp_path: Path) -> None:
    folder = tmp_path / "campaigns"
    ws = _ws(tmp_path, f"{folder}/vip.csv", extra_config=f"exports:\n  folder: {folder}\n")
    validate_triggers(ws, ws.definitions())
    process_run(ws, 2)
    item = next(r for r in list_outbox(ws) if r["idempotency_key"] == "campaign:*:2:0")
    assert deliver(ws, ids=[item["id"]]).delivered == 1
    # the export's header, after the byte order mark every CSV export starts with (for Excel)
    assert (folder / "vip.csv").read_text(encoding="utf-8").startswith("\ufeffcustomer_id,")
    ws.close()
