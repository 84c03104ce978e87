"""Trait kinds are dispatched by their model class: one loader rule and one compile rule per kind."""

from __future__ import annotations

from typing import get_args

import pytest

from segmentum.compile.compiler import TRAIT_RULES
from segmentum.spec.loader import TRAIT_RESOLVERS
from segmentum.spec.models import TRAIT_KINDS, AnyTrait, DefinitionFile

EXAMPLES = {
    "aggregate": {"sum": "orders.amount", "within": "30d"},
    "expr": {"expr": "revenue * 2"},
    "score": {"score": "revenue", "bins": 4},
    "cumulative": {"cumulative": "revenue"},
    "total": {"total": "revenue"},
    "active_periods": {"active_periods": "events", "period": "1w", "within": "8w"},
    "sequence": {"sequence": ["event = 'a'", "event = 'b'"], "table": "events"},
}


def test_every_trait_kind_has_one_loader_rule_and_one_compile_rule() -> None:
    assert set(get_args(AnyTrait)) == set(TRAIT_KINDS)
    assert set(TRAIT_RESOLVERS) == set(TRAIT_KINDS)
    assert set(TRAIT_RULES) == set(TRAIT_KINDS)
    assert {cls.kind for cls in TRAIT_KINDS} == set(EXAMPLES)
    # exactly one kind is the default (no key): the aggregate over a table
    assert [cls.kind for cls in TRAIT_KINDS if cls.key is None] == ["aggregate"]
    # each kind is computed in exactly one way: in the per-table pass (grouped), as a per-customer table of its
    # own joined to the customers (joined, with the value of a customer without rows), or from the customer table
    for rule in TRAIT_RULES.values():
        assert [rule.grouped, rule.joined is not None, rule.derive is not None].count(True) == 1
        assert (rule.joined is None) == (rule.empty is None)
    # a kind computed from a table's rows reads that table's columns in its `where`
    assert {cls.kind for cls in TRAIT_KINDS if cls.over_rows} == {"aggregate", "active_periods", "sequence"}
    assert all(TRAIT_RULES[cls].table_level == cls.over_rows for cls in TRAIT_KINDS)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_the_yaml_key_selects_the_kind(kind: str) -> None:
    parsed = DefinitionFile.model_validate({"traits": {"t": EXAMPLES[kind]}})
    assert parsed.traits["t"].kind == kind
