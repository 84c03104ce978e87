from __future__ import annotations

from pathlib import Path

import pytest

from segmentum.errors import ConfigError
from segmentum.workspace import Workspace


def test_init_writes_a_valid_commented_config(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "shop", name="shop", timezone="Europe/Kyiv")
    assert ws.config.name == "shop"
    assert ws.config.timezone == "Europe/Kyiv"
    assert "# " in (ws.root / "segmentum.yml").read_text()


def test_unknown_key_names_file_line_and_closest_key(tmp_path: Path) -> None:
    (tmp_path / "segmentum.yml").write_text("name: x\ntimezon: UTC\n")
    with pytest.raises(
        ConfigError, match=r"segmentum.yml:2:1: unknown key 'timezon'; did you mean 'timezone'\?"
    ):
        Workspace(tmp_path)


def test_unknown_time_zone_is_rejected_with_position(tmp_path: Path) -> None:
    (tmp_path / "segmentum.yml").write_text("timezone: Europe/Kiev_\n")
    with pytest.raises(ConfigError, match=r"segmentum.yml:1:11: .*unknown time zone"):
        Workspace(tmp_path)


def test_yaml_1_2_keeps_on_and_yes_as_strings(tmp_path: Path) -> None:
    (tmp_path / "segmentum.yml").write_text("name: yes\n")
    assert Workspace(tmp_path).config.name == "yes"


def test_workspace_found_upward_and_by_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Workspace.init(tmp_path / "ws")
    deep = tmp_path / "ws" / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert Workspace().root == (tmp_path / "ws").resolve()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEGMENTUM_WORKSPACE", str(tmp_path / "ws"))
    assert Workspace().root == (tmp_path / "ws").resolve()


def test_missing_workspace_says_how_to_create_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEGMENTUM_WORKSPACE", raising=False)
    with pytest.raises(ConfigError, match="segmentum init"):
        Workspace()
