"""A sink a user registers through the entry-point group `segmentum.sinks` works in `segmentum serve`: a
plug-in package on PYTHONPATH, a trigger in a definitions file using its action, a batch run started over
the API, and the plug-in's delivery (real processes, a real server on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from segmentum.service.keys import KeyStore
from segmentum.workspace import Workspace
from servers import start_serve

PLUGIN = '''
"""A user's sink: writes one JSON file per delivered item."""

import json

from segmentum.actions import Delivered, SegmentEntered, Sink
from segmentum.errors import ActionError


class FileDropSink(Sink):
    name = "filedrop"

    def validate(self, settings, where, templates):
        if not settings.get("path"):
            raise ActionError(f"{where}: filedrop needs a path")
        templates.check(settings["path"], f"{where}.path")

    def render(self, event, settings, context, templates):
        out = super().render(event, settings, context, templates)  # the text settings, rendered
        out["event_class"] = type(event).__name__
        out["entered"] = event.segment if isinstance(event, SegmentEntered) else None
        return out

    def deliver(self, item, con):
        action = item.payload["action"]
        target = self.ws.root / action["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"key": item.idempotency_key, **action}))
        return Delivered(note=f"dropped {target.name}")
'''

DEFINITIONS = """\
traits:
  revenue: {sum: orders.amount}
segments:
  big_spenders: {where: "revenue >= 1000"}
triggers:
  welcome_big:
    on: enter
    segment: big_spenders
    on_first_run: fire
    do:
      - filedrop: {path: "drops/{{ customer.customer_id }}.json", note: "welcome {{ customer.name }}"}
"""


def write_plugin(folder: Path) -> Path:
    """An installed-looking distribution: a module and its `*.dist-info` with the entry point."""
    folder.mkdir(parents=True)
    (folder / "filedrop_sink.py").write_text(PLUGIN)
    info = folder / "filedrop_sink-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: filedrop-sink\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[segmentum.sinks]\nfiledrop = filedrop_sink:FileDropSink\n")
    return folder


def make_shop(root: Path) -> tuple[Workspace, str]:
    ws = Workspace.init(root, name="plugin-shop")
    config = (root / "segmentum.yml").read_text().replace("builtins: [rfm, abc, lifecycle]", "builtins: []")
    (root / "segmentum.yml").write_text(config)
    (root / "definitions" / "shop.yml").write_text(DEFINITIONS)
    ws = Workspace(root)
    ws.ingest_frame(
        "customers", pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "name": ["Ann", "Bob", "Cid"]})
    )
    ws.ingest_frame(
        "orders",
        pd.DataFrame(
            {
                "order_id": ["o1", "o2", "o3", "o4"],
                "customer_id": ["c1", "c1", "c2", "c3"],
                "ordered_at": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-02-10", "2024-02-11"]),
                "amount": [600.0, 700.0, 50.0, 2500.0],
            }
        ),
    )
    key = KeyStore(ws.store).create("write", "plugin test")[0]
    ws.close()  # the server owns the store
    return ws, key


@pytest.mark.slow  # a `segmentum serve` process
def test_a_sink_registered_through_the_entry_point_group_delivers_in_serve(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path / "site")
    ws, key = make_shop(tmp_path / "ws")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(plugin), os.environ.get("PYTHONPATH")])),
    }
    proc, url = start_serve(ws.root, env=env, stdout=subprocess.PIPE)
    try:
        headers = {"Authorization": f"Bearer {key}"}
        started = httpx.post(f"{url}/v1/runs", json={"as_of": "2024-03-01"}, headers=headers, timeout=30)
        assert started.status_code == 202, started.text
        drops = ws.root / "drops"
        deadline = time.monotonic() + 120
        while len(list(drops.glob("*.json"))) < 2:
            jobs = httpx.get(f"{url}/v1/runs", headers=headers, timeout=30).json()["jobs"]
            assert not any(j["status"] == "failed" for j in jobs), jobs
            assert not any("trigger" in w for j in jobs for w in j["warnings"]), jobs
            assert time.monotonic() < deadline, f"the plug-in delivered nothing: {jobs}"
            time.sleep(0.3)
        run_id = jobs[0]["run_id"] if jobs and jobs[0]["run_id"] else None
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    dropped = {p.stem: json.loads(p.read_text()) for p in sorted(drops.glob("*.json"))}
    assert set(dropped) == {"c1", "c3"}  # revenue 1,300 and 2,500 entered big_spenders; c2 did not
    c1 = dropped["c1"]
    assert c1["event_class"] == "SegmentEntered" and c1["entered"] == "big_spenders"
    assert c1["note"] == "welcome Ann" and c1["path"] == "drops/c1.json"
    assert c1["key"].startswith("welcome_big:c1:") and (run_id is None or c1["key"].endswith(f":{run_id}:0"))
