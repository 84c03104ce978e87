"""Every built-in loads and validates on a store with the canonical tables, and is skipped with a clear
reason when its data is absent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from segmentum.schema import TABLES
from segmentum.spec.builtins import builtin_names, load_builtin, render_builtin_yaml
from segmentum.spec.models import CHANNELS
from segmentum.store import CATALOG

NAMES = builtin_names()
EXPECTED = {
    "value",
    "value_clv",
    "health",
    "renewal",
    "nps",
    "engagement",
    "cart",
    "replenishment",
    "behaviour_change",
    "loyalty",
    "retail",
    "lifestyle",
    "interaction",
    "source",
    "demographic",
    "geographic",
    "technographic",
    "firmographic",
    "psychographic",
    "rfm",
    "abc",
    "lifecycle",
}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "builtins.md"


def test_every_expected_builtin_is_shipped() -> None:
    assert set(NAMES) >= EXPECTED


@pytest.mark.parametrize("name", NAMES)
def test_builtin_loads_and_validates_alone(full_workspace, configure, name: str) -> None:
    ws = configure(full_workspace, [name])
    defs = ws.definitions()
    assert defs.builtins == [name]
    assert defs.skipped == {}
    owned = [s for s in defs.segmentations.values() if s.builtin == name]
    assert owned, f"built-in {name} defines no segmentation"
    # every trait is prefixed with the built-in's short name (trait names are global)
    for trait in defs.traits.values():
        assert trait.builtin == name
        prefix = {"lifecycle": "lc", "behaviour_change": "behaviour"}.get(name, name)
        assert trait.name.startswith(prefix), trait.name


def test_all_builtins_load_together_without_name_clashes(full_workspace, configure) -> None:
    ws = configure(full_workspace, NAMES)
    defs = ws.definitions()
    assert sorted(defs.builtins) == sorted(NAMES)
    assert len(defs.segmentations) >= len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_builtin_is_skipped_with_reason_on_an_empty_store(make_workspace, name: str) -> None:
    ws = make_workspace(tables=[], names=[name])
    defs = ws.definitions()
    assert defs.builtins == []
    assert re.search(r"table '\w+' is absent", defs.skipped[name])


@pytest.mark.parametrize("name", NAMES)
def test_builtin_requires_exactly_what_it_uses(make_workspace, name: str) -> None:
    """Dropping any one required table or column skips the built-in with a message naming it."""
    ws = make_workspace(names=[name], model_clv=True)
    con = ws.store.cursor()
    builtin = load_builtin(name)
    for table, columns in builtin.requires.items():
        con.execute(f"ALTER TABLE {CATALOG}.main.{table} RENAME TO {table}_hidden")
        assert f"table '{table}' is absent" in ws.definitions().skipped[name]
        con.execute(f"ALTER TABLE {CATALOG}.main.{table}_hidden RENAME TO {table}")
        for column in columns:
            if column in TABLES[table].required or column not in TABLES[table].columns:
                continue  # required columns are always present; model columns come from model tables
            con.execute(f'ALTER TABLE {CATALOG}.main.{table} RENAME COLUMN "{column}" TO "{column}_hidden"')
            reason = ws.definitions().skipped.get(name, "")
            assert f"{table} lacks column(s) {column}" in reason
            con.execute(f'ALTER TABLE {CATALOG}.main.{table} RENAME COLUMN "{column}_hidden" TO "{column}"')
    assert ws.definitions().builtins == [name]


def test_value_clv_needs_the_clv_model(make_workspace) -> None:
    ws = make_workspace(names=["value", "value_clv"], model_clv=False)
    defs = ws.definitions()
    assert defs.builtins == ["value"]
    assert "clv_12m" in defs.skipped["value_clv"]


@pytest.mark.parametrize("name", NAMES)
def test_builtin_renders_as_yaml(name: str) -> None:
    text = render_builtin_yaml(name)
    assert f"built-in '{name}'" in text
    assert "{{" not in text and "{%" not in text


def test_settings_change_the_rendered_definitions(full_workspace, configure) -> None:
    ws = configure(
        full_workspace,
        ["demographic", "nps", "health"],
        settings={
            "demographic": {"age_bounds": [18, 30, 40, 50, 60]},
            "nps": {"promoter_scores": [10], "passive_scores": [8, 9]},
            "health": {"key_features": ["reports", "exports"], "usage_weight": 50},
        },
    )
    defs = ws.definitions()
    names = [s.segment for s in defs.segmentations["age_band"].segments]
    assert names == [
        "age_unknown",
        "age_under_18",
        "age_18_29",
        "age_30_39",
        "age_40_49",
        "age_50_59",
        "age_60_plus",
    ]
    promoters = defs.segment("nps.promoters").where_text
    assert promoters == "nps_last in ('10', '10.0')"
    assert "'8', '8.0', '9', '9.0'" in defs.segment("nps.passives").where_text
    assert "/ 2, 100)" in defs.traits["health_activation_score"].spec.expr
    assert "(50 * health_usage_score" in defs.traits["health_score"].spec.expr


def test_unknown_setting_is_an_error(full_workspace, configure) -> None:
    from segmentum.errors import ConfigError

    ws = configure(full_workspace, ["value"], settings={"value": {"windw": "90d"}})
    with pytest.raises(ConfigError, match="no setting 'windw'; did you mean 'window'"):
        ws.definitions()


@pytest.mark.parametrize("name", NAMES)
def test_every_segment_has_a_documented_action_and_channel(full_workspace, configure, name: str) -> None:
    ws = configure(full_workspace, [name])
    defs = ws.definitions()
    docs = load_builtin(name).docs
    segments = [s for sg in defs.segmentations.values() for s in sg.segments] + list(defs.segments.values())
    for segment in segments:
        entry = docs.get(segment.segment)
        assert entry, f"{name}: segment {segment.name} has no docs entry"
        assert entry.get("action") and entry.get("channel") in CHANNELS, f"{name}: {segment.name}"


@pytest.mark.parametrize("name", NAMES)
def test_every_builtin_has_a_section_in_the_user_docs(name: str) -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert re.search(rf"^## .*`{name}`", text, re.M), f"docs/builtins.md lacks a section for `{name}`"
    builtin = load_builtin(name)
    section = text.split(f"\n## `{name}`", 1)[1].split("\n## ", 1)[0]
    for setting in builtin.settings:
        assert f"`{setting}`" in section, f"docs/builtins.md: `{name}` does not document setting `{setting}`"
