"""Definition loading: strict models, expression errors with file:line:col, names, cycles, built-ins."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from segmentum.errors import ConfigError, DefinitionError
from segmentum.spec import ast
from segmentum.workspace import Workspace

ORDERS_DDL = (
    "CREATE TABLE orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
    "amount DECIMAL(38, 6), status VARCHAR)"
)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / "ws", name="t")
    ws.store.con.execute(ORDERS_DDL)
    ws.store.con.execute(
        "CREATE TABLE customers (customer_id VARCHAR, country VARCHAR, account_owner VARCHAR)"
    )
    yield ws
    ws.close()


def write(ws: Workspace, text: str, name: str = "shop.yml") -> None:
    (ws.root / "definitions" / name).write_text(textwrap.dedent(text))


def test_design_examples_load_with_builtins(ws: Workspace) -> None:
    write(
        ws,
        """\
        traits:
          revenue_365d: {sum: orders.amount, within: 365d}
          last_order_at: {max: orders.ordered_at}
          days_since_order: {expr: "days_between(last_order_at, as_of)"}
        segments:
          top_20_percent: {where: "percent_rank(revenue_365d) >= 0.8"}
        segmentations:
          value_tier:
            segments:
              - {name: vip, where: "revenue_365d >= 5000"}
            else: low
        """,
    )
    defs = ws.definitions()
    assert defs.builtins == ["rfm", "abc", "lifecycle"]
    assert [s.name for s in defs.segmentations["value_tier"].segments] == ["value_tier.vip", "value_tier.low"]
    # dependency order: a derived trait comes after what it reads
    order = list(defs.traits)
    assert order.index("last_order_at") < order.index("days_since_order")
    assert defs.segment("rfm.champions").segmentation == "rfm"


def test_unknown_trait_points_at_line_and_column_with_suggestion(ws: Workspace) -> None:
    write(
        ws,
        """\
        traits:
          revenue_365d: {sum: orders.amount, within: 365d}
        segments:
          big:
            where: "revenu_365d >= 1000"
        """,
    )
    with pytest.raises(DefinitionError) as exc:
        ws.definitions()
    assert (
        str(exc.value)
        == "definitions/shop.yml:5:13: unknown trait 'revenu_365d'; did you mean 'revenue_365d'?"
    )


def test_unknown_key_in_trait_is_an_error_with_suggestion(ws: Workspace) -> None:
    write(ws, "traits:\n  r: {sum: orders.amount, withn: 30d}\n")
    with pytest.raises(DefinitionError, match=r"shop.yml:2:27: unknown key 'withn'; did you mean 'within'\?"):
        ws.definitions()


def test_syntax_error_points_into_the_expression(ws: Workspace) -> None:
    write(ws, "segments:\n  s: {where: \"country = 'UA' and\"}\n")
    with pytest.raises(DefinitionError, match=r"shop.yml:2:33: expected a value"):
        ws.definitions()


def test_unknown_column_of_table(ws: Workspace) -> None:
    write(ws, "traits:\n  r: {sum: orders.amout}\n")
    with pytest.raises(DefinitionError, match=r"unknown column 'amout' of orders; did you mean 'amount'\?"):
        ws.definitions()


def test_cycles_are_rejected(ws: Workspace) -> None:
    write(ws, "traits:\n  a: {expr: 'b + 1'}\n  b: {expr: 'a + 1'}\n")
    with pytest.raises(DefinitionError, match="circular trait definitions"):
        ws.definitions()


def test_trait_may_not_take_an_attribute_name(ws: Workspace) -> None:
    write(ws, "traits:\n  country: {count: orders}\n")
    with pytest.raises(DefinitionError, match="has the name of a customer attribute"):
        ws.definitions()


def test_in_segment_must_name_a_known_segment(ws: Workspace) -> None:
    write(ws, "segments:\n  s: {where: \"in_segment('rfm.champion')\"}\n")
    with pytest.raises(
        DefinitionError, match=r"unknown segment 'rfm.champion'; did you mean 'rfm.champions'\?"
    ):
        ws.definitions()


def test_function_arity_and_ntile_argument(ws: Workspace) -> None:
    write(ws, "traits:\n  r: {count: orders}\nsegments:\n  s: {where: 'ntile(r, 0) = 1'}\n")
    with pytest.raises(DefinitionError, match="ntile"):
        ws.definitions()
    write(ws, "traits:\n  r: {count: orders}\nsegments:\n  s: {where: 'lower() = 1'}\n")
    with pytest.raises(DefinitionError, match=r"lower\(\) takes 1 argument"):
        ws.definitions()


def test_builtin_is_skipped_when_its_table_is_absent(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "empty")
    defs = ws.definitions()
    assert defs.builtins == []
    assert defs.skipped["rfm"] == "table 'orders' is absent"
    ws.close()


def test_builtin_settings_apply_and_unknown_setting_is_an_error(ws: Workspace) -> None:
    config = ws.root / "segmentum.yml"
    config.write_text(config.read_text() + "\nrfm: {bins: 3}\n")
    defs = Workspace(ws.root).definitions()
    assert defs.traits["rfm_f"].spec.bins == 3
    assert ast.to_text(defs.traits["rfm_f5"].expr) == "ceil(((5 * rfm_f) / 3))"
    config.write_text(config.read_text() + "abc: {windw: 365d}\n")
    with pytest.raises(ConfigError, match=r"built-in 'abc' has no setting 'windw'; did you mean 'window'\?"):
        Workspace(ws.root).definitions()


def test_hash_changes_when_a_dependency_changes(ws: Workspace) -> None:
    write(ws, "traits:\n  r: {sum: orders.amount, within: 30d}\nsegments:\n  s: {where: 'r > 1'}\n")
    first = ws.definitions().hashes
    write(ws, "traits:\n  r: {sum: orders.amount, within: 60d}\nsegments:\n  s: {where: 'r > 1'}\n")
    second = ws.definitions().hashes
    assert first["s"] != second["s"]
    assert first["rfm"] == second["rfm"]


def test_select_keeps_dependencies(ws: Workspace) -> None:
    write(
        ws,
        """\
        traits:
          r: {sum: orders.amount}
          d: {expr: 'r * 2'}
          unused: {count: orders}
        segments:
          s: {where: "d > 1 and in_segment('abc.A')"}
        """,
    )
    picked = ws.definitions().select(["s"])
    assert set(picked.segments) == {"s"} and set(picked.segmentations) == {"abc"}
    assert {"r", "d", "abc_revenue", "abc_revenue_before"} <= set(picked.traits)
    assert "unused" not in picked.traits


def test_trigger_targets_are_checked(ws: Workspace) -> None:
    write(
        ws,
        """\
        triggers:
          t:
            on: move
            from: rfm.loyal_customers
            to: rfm.at_rsk
            do: [{task: {title: x}}]
        """,
    )
    with pytest.raises(DefinitionError, match=r"unknown segment 'rfm.at_rsk'; did you mean 'rfm.at_risk'\?"):
        ws.definitions()


@pytest.mark.parametrize(
    ("trait", "column"),
    [
        ("{avg: tickets.first_response_at}", "tickets.first_response_at (TIMESTAMP)"),
        ("{sum: orders.ordered_at}", "orders.ordered_at (TIMESTAMP)"),
        ("{avg: orders.status}", "orders.status (VARCHAR)"),
    ],
)
def test_sum_and_avg_need_a_number(ws: Workspace, trait: str, column: str) -> None:
    # `{avg: tickets.first_response_at}` used to pass validate and fail at run time
    write(ws, f"traits:\n  t: {trait}\n")
    function = trait[1:4]
    with pytest.raises(
        DefinitionError, match=rf"shop.yml:2:\d+: {function} of {re.escape(column)}: .*needs a number"
    ):
        ws.definitions()


def test_min_max_of_a_timestamp_and_sum_of_a_number_still_load(ws: Workspace) -> None:
    write(
        ws,
        "traits:\n  a: {max: tickets.first_response_at}\n  b: {sum: orders.amount}\n  c: {avg: orders.amount}\n",
    )
    assert {"a", "b", "c"} <= set(ws.definitions().traits)


@pytest.mark.parametrize("else_", ['"not ok"', '{name: "x-y"}', '"1st"'])
def test_else_segment_names_follow_the_segment_name_rule(ws: Workspace, else_: str) -> None:
    write(
        ws,
        f"segmentations:\n  tier:\n    segments:\n      - {{name: big, where: 'true'}}\n    else: {else_}\n",
    )
    with pytest.raises(DefinitionError, match="invalid segment name"):
        ws.definitions()
