"""One answer to "does a run fire triggers?": `Workspace.run()`, `segmentum run` and `POST /v1/runs` do (and say
so); `segmentum.runs.execute.run()` alone and backfills do not (issue 14 item 10: the docs disagreed)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from segmentum.cli.main import app
from segmentum.runs.execute import run
from segmentum.workspace import Workspace

DOCS = Path(__file__).resolve().parents[2] / "docs"
DEFINITIONS = """
segments:
  everyone:
    where: "true"
triggers:
  hello:
    on: enter
    segment: everyone
    on_first_run: fire
    do:
      - task: {title: "Say hello"}
"""


def _workspace(root: Path) -> Workspace:
    ws = Workspace.init(root, name="fires")
    (ws.root / "segmentum.yml").write_text("name: fires\nbuiltins: []\n")
    (ws.root / "definitions" / "hello.yml").write_text(DEFINITIONS)
    con = ws.store.cursor()
    con.execute("CREATE TABLE main.customers (customer_id VARCHAR)")
    con.execute("INSERT INTO main.customers VALUES ('a'), ('b')")
    ws.close()
    return Workspace(root)


def test_workspace_run_fires_triggers_and_the_bare_run_does_not(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "bare")
    assert run(ws, as_of="2024-01-31").actions is None
    assert ws.store.query("SELECT count(*) FROM segmentum.outbox")[0][0] == 0
    ws.close()
    ws = _workspace(tmp_path / "facade")
    result = ws.run(as_of="2024-01-31", deliver=False)
    assert result.actions is not None and result.actions["enqueued"] == 2
    assert ws.store.query("SELECT count(*) FROM segmentum.outbox")[0][0] == 2
    ws.close()


def test_docs_and_help_say_the_same() -> None:
    definitions = (DOCS / "definitions.md").read_text()
    assert "the Python\n  `run()` does not" not in definitions
    assert "`Workspace.run()` (`triggers=False` to skip)" in definitions
    assert "enqueues the actions of the triggers the run fires" in (DOCS / "api.md").read_text()
    help_text = CliRunner().invoke(app, ["run", "--help"], terminal_width=200).output
    assert "triggers" in help_text and "--no-triggers" in help_text
