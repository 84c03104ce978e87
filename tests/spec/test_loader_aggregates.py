"""Loader checks of the second edition's aggregations (DESIGN.md 5.1): property columns, median, percentile,
stddev, active_periods and sequence; every error names file:line:col, what was found and what is allowed."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from segmentum.errors import DefinitionError
from segmentum.spec.models import ActivePeriodsTrait, AggregateTrait, SequenceTrait
from segmentum.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / "ws", name="t")
    ws.store.con.execute(
        "CREATE TABLE orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR, channel VARCHAR)"
    )
    ws.store.con.execute(
        "CREATE TABLE events (event_id VARCHAR, customer_id VARCHAR, event VARCHAR, occurred_at TIMESTAMP, "
        "properties JSON)"
    )
    yield ws
    ws.close()


def load(ws: Workspace, text: str):  # noqa: ANN201 - Definitions
    (ws.root / "definitions" / "t.yml").write_text(textwrap.dedent(text))
    return ws.definitions()


def error(ws: Workspace, text: str) -> str:
    with pytest.raises(DefinitionError) as exc:
        load(ws, text)
    return str(exc.value)


def test_every_new_aggregation_loads(ws: Workspace) -> None:
    defs = load(
        ws,
        """\
        traits:
          features: {count_distinct: events.properties.feature, where: "event = 'feature_used'"}
          value: {sum: events.properties.value}
          source: {mode: events.properties.source}
          med: {median: orders.amount, within: 365d}
          p90: {percentile: {of: orders.amount, p: 0.9}, within: 365d}
          p90v: {percentile: {of: events.properties.value, p: 1}}
          sd: {stddev: orders.amount}
          weeks: {active_periods: events, period: 1w, within: 8w, where: "event = 'login'"}
          months: {active_periods: orders, period: 1m, within: 12m}
          funnel:
            sequence: ["event = 'cart_add'", "event = 'checkout' and properties.value > 0"]
            table: events
            within: 30d
            max_gap: 2d
        segments:
          did: {where: "funnel is not null and weeks >= 6 and features > 2"}
        """,
    )
    assert isinstance(defs.traits["features"].spec, AggregateTrait)
    assert defs.traits["features"].spec.property_key == "feature"
    assert defs.traits["p90"].spec.quantile == 0.9
    assert defs.traits["med"].spec.quantile == 0.5
    assert isinstance(defs.traits["weeks"].spec, ActivePeriodsTrait)
    assert defs.traits["weeks"].spec.periods == 8
    assert isinstance(defs.traits["funnel"].spec, SequenceTrait)
    assert len(defs.traits["funnel"].steps) == 2


def test_a_property_column_is_only_for_events(ws: Workspace) -> None:
    message = error(ws, "traits:\n  x: {count_distinct: orders.properties.feature}\n")
    assert "t.yml:2:" in message and "only events have properties" in message


def test_a_property_key_must_be_a_name(ws: Workspace) -> None:
    message = error(ws, "traits:\n  x: {count_distinct: events.properties.a-b}\n")
    assert "t.yml:2:" in message and "letters, digits and underscores" in message


def test_a_property_loads_when_events_lack_the_properties_column(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "bare", name="t")
    try:
        ws.store.con.execute(
            "CREATE TABLE events (event_id VARCHAR, customer_id VARCHAR, event VARCHAR, occurred_at TIMESTAMP)"
        )
        # the canonical schema declares properties, so the loader accepts it (and a run finds no keys)
        load(ws, "traits:\n  x: {count_distinct: events.properties.feature}\n")
    finally:
        ws.close()


@pytest.mark.parametrize("fn", ["median", "stddev"])
def test_median_and_stddev_need_a_number(ws: Workspace, fn: str) -> None:
    message = error(ws, f"traits:\n  x: {{{fn}: orders.channel}}\n")
    assert "t.yml:2:" in message and f"'{fn}' needs a number" in message


def test_percentile_of_text_points_at_of(ws: Workspace) -> None:
    message = error(ws, "traits:\n  x:\n    percentile: {of: orders.channel, p: 0.5}\n")
    assert "t.yml:3:" in message and "'percentile' needs a number" in message


@pytest.mark.parametrize("p", ["1.5", "-0.1"])
def test_percentile_p_is_between_0_and_1(ws: Workspace, p: str) -> None:
    message = error(ws, f"traits:\n  x: {{percentile: {{of: orders.amount, p: {p}}}}}\n")
    assert (
        "t.yml:2:" in message
        and "p" in message
        and ("less than or equal to 1" in message or "greater" in message)
    )


def test_percentile_needs_p(ws: Workspace) -> None:
    message = error(ws, "traits:\n  x: {percentile: {of: orders.amount}}\n")
    assert "t.yml:2:" in message and "p" in message


def test_an_unknown_column_of_a_median_has_a_suggestion(ws: Workspace) -> None:
    message = error(ws, "traits:\n  x: {median: orders.amout}\n")
    assert "unknown column 'amout' of orders" in message and "did you mean 'amount'" in message


@pytest.mark.parametrize(
    ("period", "within", "expected"),
    [
        ("1w", "56d", "same unit"),
        ("2w", "5w", "whole, positive multiple"),
        ("0d", "7d", "whole, positive multiple"),
        ("1d", "5000d", "at most 1000"),
        ("1q", "4q", "invalid duration"),
    ],
)
def test_active_periods_windows_are_whole_periods_of_one_unit(
    ws: Workspace, period: str, within: str, expected: str
) -> None:
    message = error(ws, f"traits:\n  x: {{active_periods: events, period: {period}, within: {within}}}\n")
    assert "t.yml:2:" in message and expected in message


def test_active_periods_table_must_be_known(ws: Workspace) -> None:
    message = error(ws, "traits:\n  x: {active_periods: evnts, period: 1w, within: 4w}\n")
    assert "unknown table 'evnts'" in message and "events" in message


def test_active_periods_where_reads_the_tables_columns(ws: Workspace) -> None:
    message = error(
        ws, "traits:\n  x: {active_periods: events, period: 1w, within: 4w, where: \"evnt = 'x'\"}\n"
    )
    assert "t.yml:2:" in message and "unknown column of events 'evnt'" in message or "'evnt'" in message
    assert "did you mean 'event'" in message


@pytest.mark.parametrize("steps", ["[\"event = 'a'\"]", '["a = 1", "a = 2", "a = 3", "a = 4"]'])
def test_a_sequence_has_two_or_three_steps(ws: Workspace, steps: str) -> None:
    message = error(ws, f"traits:\n  x: {{sequence: {steps}, table: events}}\n")
    assert "t.yml:2:" in message and "sequence" in message


def test_a_sequence_step_error_points_into_its_step(ws: Workspace) -> None:
    text = (
        "traits:\n  x:\n    sequence:\n      - \"event = 'a'\"\n      - \"evnt = 'b'\"\n    table: events\n"
    )
    message = error(ws, text)
    assert message.startswith(str(Path("definitions") / "t.yml") + ":5:10:") or ":5:" in message, message
    assert "'evnt'" in message and "did you mean 'event'" in message


def test_a_sequence_step_syntax_error_names_the_step(ws: Workspace) -> None:
    text = "traits:\n  x:\n    sequence:\n      - \"event = 'a'\"\n      - \"event = = 'b'\"\n    table: events\n"
    assert ":5:" in error(ws, text)


def test_a_sequence_needs_a_known_table_and_valid_durations(ws: Workspace) -> None:
    assert "unknown table" in error(ws, "traits:\n  x: {sequence: ['a = 1', 'a = 2'], table: nope}\n")
    assert "invalid duration" in error(
        ws, "traits:\n  x: {sequence: ['event = 1', 'event = 2'], table: events, max_gap: 2h}\n"
    )


def test_properties_in_a_sequence_over_orders_are_rejected(ws: Workspace) -> None:
    message = error(ws, "traits:\n  x: {sequence: ['properties.a = 1', 'amount > 0'], table: orders}\n")
    assert "properties.a" in message and "events" in message


def test_a_customer_level_function_is_rejected_in_a_step(ws: Workspace) -> None:
    message = error(
        ws, "traits:\n  x: {sequence: ['percent_rank(amount) > 0.5', 'amount > 0'], table: orders}\n"
    )
    assert "t.yml:2:" in message and "percent_rank" in message


def test_the_examples_in_the_docs_load(ws: Workspace) -> None:
    import re

    import yaml

    docs = Path(__file__).resolve().parents[2] / "docs" / "definitions.md"
    section = docs.read_text(encoding="utf-8").split("### Event properties as aggregated columns")[1]
    section = section.split("\n## Expressions")[0]
    traits: dict = {}
    segments: dict = {}
    for block in re.findall(r"```yaml\n(.*?)```", section, re.S):
        data = yaml.safe_load(block)
        segments |= data.pop("segments", {})
        traits |= data.pop("traits", {})  # a block written as a whole file (the currencies example)
        traits |= data
    assert {"features_used", "p90_order", "order_spread", "login_weeks", "cart_then_checkout"} <= set(traits)
    assert {"revenue", "avg_order", "orders_n"} <= set(traits)
    defs = load(ws, yaml.safe_dump({"traits": traits, "segments": segments}))
    assert isinstance(defs.traits["cart_then_checkout"].spec, SequenceTrait)
