"""`segmentum builtins` and `segmentum builtins show NAME`."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from segmentum.cli.main import app
from segmentum.spec.builtins import builtin_names
from segmentum.store import CATALOG


def test_list_says_what_each_builtin_needs_and_whether_the_data_is_there(make_workspace) -> None:
    ws = make_workspace(tables=["orders", "customers"], names=["rfm", "value"])
    ws.store.cursor().execute(
        f"INSERT INTO {CATALOG}.main.orders VALUES "
        "('1', 'a', TIMESTAMP '2024-01-01', 10, NULL, NULL, NULL, NULL)"
    )
    result = CliRunner().invoke(app, ["builtins", "-w", str(ws.root), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert set(rows) == set(builtin_names())
    assert (
        rows["rfm"]["enabled"] == "yes"
        and rows["rfm"]["has_data"] == "yes"
        and rows["rfm"]["needs"] == "orders"
    )
    assert rows["abc"]["enabled"] == "no"
    assert rows["cart"]["has_data"] == "no" and "events" in rows["cart"]["why_not"]
    assert rows["demographic"]["needs"] == "customers(birth_date, gender, income)"


def test_show_prints_the_yaml_with_the_workspace_settings(make_workspace) -> None:
    ws = make_workspace(
        tables=["orders"], names=["value"], settings={"value": {"window": "90d", "top_rank": 0.9}}
    )
    result = CliRunner().invoke(app, ["builtins", "show", "value", "-w", str(ws.root)])
    assert result.exit_code == 0, result.output
    assert "within: 90d" in result.stdout
    assert "value_rank >= 0.9" in result.stdout


def test_show_without_a_workspace_uses_the_defaults(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEGMENTUM_WORKSPACE", raising=False)
    result = CliRunner().invoke(app, ["builtins", "show", "nps"])
    assert result.exit_code == 0, result.output
    assert "nps_last in ('9', '9.0', '10', '10.0')" in result.stdout


def test_show_unknown_builtin_suggests_the_closest(tmp_path, monkeypatch) -> None:
    from segmentum.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEGMENTUM_WORKSPACE", raising=False)
    result = CliRunner().invoke(app, ["builtins", "show", "nsp"])
    assert isinstance(result.exception, ConfigError)
    assert "did you mean 'nps'" in str(result.exception)
