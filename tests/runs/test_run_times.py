"""A run's started_at and finished_at are wall-clock times in the workspace zone, like its as_of, and the
listing says which zone (issue 14 item 10: as_of was in the workspace zone, started_at in UTC)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from typer.testing import CliRunner

from segmentum.cli.main import app
from segmentum.workspace import Workspace

ZONE = "Pacific/Kiritimati"  # UTC+14 all year: a UTC started_at is 14 hours off


def test_started_at_is_in_the_workspace_zone_and_labelled(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws", name="zone", timezone=ZONE)
    (ws.root / "segmentum.yml").write_text(f"name: zone\ntimezone: {ZONE}\nbuiltins: []\n")
    (ws.root / "definitions" / "all.yml").write_text('segments:\n  everyone:\n    where: "true"\n')
    ws.store.cursor().execute("CREATE TABLE main.customers AS SELECT 'a' AS customer_id")
    ws.close()
    runner = CliRunner()
    ran = runner.invoke(app, ["run", "--as-of", "2024-01-31", "--workspace", str(tmp_path / "ws")])
    assert ran.exit_code == 0, ran.output
    assert f"at 2024-01-31 23:59:59 {ZONE}" in ran.output
    listed = runner.invoke(app, ["runs", "--format", "json", "--workspace", str(tmp_path / "ws")])
    row = json.loads(listed.stdout)[0]
    here = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).replace(tzinfo=None)
    for key in ("started_at", "finished_at"):
        assert abs(datetime.fromisoformat(row[key]) - here) < timedelta(minutes=10), (key, row[key], here)
    assert row["timezone"] == ZONE
    table = runner.invoke(app, ["runs", "--workspace", str(tmp_path / "ws")], terminal_width=200)
    assert f"as_of and started_at in {ZONE}" in table.output
