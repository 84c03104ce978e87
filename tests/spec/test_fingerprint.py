"""A definition's fingerprint is its meaning (DESIGN.md principle 9): metadata-only edits keep every hash,
each change of meaning changes the hash of exactly the definitions whose membership it can change."""

from __future__ import annotations

import pytest

from definitions_helpers import load_definitions
from segmentum.spec import fingerprint
from segmentum.spec.definitions import Definitions
from segmentum.spec.expr import parse_expression

BASE = """\
traits:
  revenue: {sum: orders.amount, within: 365d, description: Spent in a year}
  orders_n: {count: orders, within: 7d}
  avg_order: {expr: "revenue / orders_n"}
  rank: {score: revenue, bins: 5}
segments:
  big:
    description: Big spenders
    offer: 10% off
    channel: email
    action: Say thanks
    where: "revenue >= 1000 and (orders_n > 1)"
  above_avg: {where: "avg_order > 100 and in_segment('tier.vip')"}
segmentations:
  tier:
    description: Value tiers
    segments:
      - {name: vip, where: "revenue >= 5000", offer: Concierge, channel: call}
      - {name: regular, where: "revenue >= 500.0 or rank >= 4"}
    else: low
"""
DEFINITIONS = ("big", "above_avg", "tier")


def load(text: str) -> Definitions:
    return load_definitions(text, "definitions/shop.yml")


def edit(old: str, new: str, text: str = BASE) -> str:
    assert old in text, old
    return text.replace(old, new)


METADATA_EDITS = {
    "trait description": edit("description: Spent in a year", "description: Revenue over the last 365 days"),
    "segment description": edit("description: Big spenders", "description: Our best customers"),
    "offer": edit("offer: 10% off", "offer: 15% off"),
    "channel": edit("channel: email", "channel: sms"),
    "action": edit("action: Say thanks", "action: Call them"),
    "rule offer and channel": edit("offer: Concierge, channel: call", "offer: Gift, channel: visit"),
    "segmentation description": edit("description: Value tiers", "description: Tiers by value"),
    "else with a description": edit("else: low", "else: {name: low, description: Everyone else}"),
    "comments": "# value segments\n" + edit("  big:\n", "  big:  # the big ones\n"),
    "spacing": edit('"revenue >= 1000 and (orders_n > 1)"', '"revenue>=1000   and  (orders_n>1)"'),
    "redundant parentheses": edit(
        '"revenue >= 1000 and (orders_n > 1)"', '"((revenue >= 1000)) and orders_n > 1"'
    ),
    "keyword case": edit('"revenue >= 500.0 or rank >= 4"', '"revenue >= 500.0 OR rank >= 4"'),
    "equal decimals": edit("500.0 or", "500.000 or"),
    "week as days": edit("within: 7d", "within: 1w"),
    "a default written out": edit("within: 7d}", "within: 7d, all_orders: false}"),
    "YAML key order": edit(
        "    description: Big spenders\n    offer: 10% off\n    channel: email\n    action: Say thanks\n"
        '    where: "revenue >= 1000 and (orders_n > 1)"\n',
        '    where: "revenue >= 1000 and (orders_n > 1)"\n    channel: email\n    action: Say thanks\n'
        "    offer: 10% off\n    description: Big spenders\n",
    ),
    "order of the traits in the file": edit(
        "  revenue: {sum: orders.amount, within: 365d, description: Spent in a year}\n"
        "  orders_n: {count: orders, within: 7d}\n",
        "  orders_n: {count: orders, within: 7d}\n"
        "  revenue: {sum: orders.amount, within: 365d, description: Spent in a year}\n",
    ),
    "block style instead of flow style": edit(
        "  rank: {score: revenue, bins: 5}\n", "  rank:\n    score: revenue\n    bins: 5\n"
    ),
}


@pytest.mark.parametrize("name", sorted(METADATA_EDITS))
def test_a_metadata_only_edit_keeps_every_hash(name: str) -> None:
    before, after = load(BASE).hashes, load(METADATA_EDITS[name]).hashes
    assert after == before


# edit -> the definitions whose hash must change (every other one must keep its hash)
MEANING_EDITS = {
    "threshold": (edit("revenue >= 1000", "revenue >= 1001"), {"big"}),
    "operator": (edit("revenue >= 1000", "revenue > 1000"), {"big"}),
    "and to or": (edit("revenue >= 1000 and", "revenue >= 1000 or"), {"big"}),
    "trait window": (edit("within: 365d", "within: 366d"), {"big", "above_avg", "tier"}),
    "trait function": (edit("{sum: orders.amount", "{max: orders.amount"), {"big", "above_avg", "tier"}),
    "all orders": (edit("within: 365d,", "within: 365d, all_orders: true,"), {"big", "above_avg", "tier"}),
    "a used trait's definition": (edit("within: 7d", "within: 14d"), {"big", "above_avg"}),
    "a trait used through another trait": (
        edit('"revenue / orders_n"', '"revenue / (orders_n + 1)"'),
        {"above_avg"},
    ),
    "score bins": (edit("bins: 5", "bins: 4"), {"tier", "above_avg"}),
    "segmentation order": (
        edit(
            '      - {name: vip, where: "revenue >= 5000", offer: Concierge, channel: call}\n'
            '      - {name: regular, where: "revenue >= 500.0 or rank >= 4"}\n',
            '      - {name: regular, where: "revenue >= 500.0 or rank >= 4"}\n'
            '      - {name: vip, where: "revenue >= 5000", offer: Concierge, channel: call}\n',
        ),
        {"tier", "above_avg"},
    ),
    "else name": (edit("else: low", "else: rest"), {"tier", "above_avg"}),
    "a rule's name": (edit("name: regular", "name: mid"), {"tier", "above_avg"}),
    "an in_segment target's condition": (edit("revenue >= 5000", "revenue >= 6000"), {"tier", "above_avg"}),
    "an in_segment target": (edit("in_segment('tier.vip')", "in_segment('tier.regular')"), {"above_avg"}),
    "a number that is not equal": (edit("500.0 or", "500.01 or"), {"tier", "above_avg"}),
    "an integer literal for a decimal one": (edit("500.0 or", "500 or"), {"tier", "above_avg"}),
}


@pytest.mark.parametrize("name", sorted(MEANING_EDITS))
def test_a_change_of_meaning_changes_the_hash_of_what_it_affects(name: str) -> None:
    text, affected = MEANING_EDITS[name]
    before, after = load(BASE).hashes, load(text).hashes
    changed = {d for d in DEFINITIONS if before[d] != after[d]}
    assert changed == affected


def test_metadata_has_its_own_hash() -> None:
    before, after = load(BASE), load(METADATA_EDITS["offer"])
    assert after.hashes == before.hashes
    assert after.metadata_hashes["big"] != before.metadata_hashes["big"]
    assert after.metadata_hashes["tier"] == before.metadata_hashes["tier"]
    rule = load(METADATA_EDITS["rule offer and channel"])
    assert rule.metadata_hashes["tier"] != before.metadata_hashes["tier"]


def test_the_hash_is_the_same_for_a_copied_definition() -> None:
    """Where a definition comes from (built-in, file name) is not its meaning; its text is."""
    assert load_definitions(BASE, "definitions/other_name.yml").hashes == load(BASE).hashes


def test_canonical_trees_ignore_positions_and_keep_everything_else() -> None:
    def canon(text: str) -> object:
        return fingerprint.canonical(parse_expression(text))

    assert canon("a >= 1 AND b IN (1, 2)") == canon("  a>=1 and (b in (1,2))")
    assert canon("x <> 1") == canon("x != 1")
    assert canon("x = 1.50") == canon("x = 1.5")
    assert canon("x = 1") != canon("x = 1.0")  # an integer and an exact decimal compile to different types
    assert canon("x = 'A'") != canon("x = 'a'")
    assert canon("x not in (1)") != canon("x in (1)")
    assert canon("a - b - c") != canon("a - (b - c)")


def test_durations_are_compared_by_length() -> None:
    def segment_hash(within: str) -> str:
        return load(
            f"traits:\n  r: {{sum: orders.amount, within: {within}}}\nsegments:\n  s: {{where: 'r > 0'}}\n"
        ).hashes["s"]

    assert segment_hash("1y") == segment_hash("12m") != segment_hash("365d")
    assert segment_hash("2w") == segment_hash("14d") != segment_hash("15d")


def test_the_hash_version_is_part_of_every_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    before = load(BASE).hashes
    monkeypatch.setattr(fingerprint, "HASH_VERSION", fingerprint.HASH_VERSION + 1)
    after = load(BASE).hashes
    assert all(before[n] != after[n] for n in before)


def test_new_trait_kinds_hash_by_meaning() -> None:
    def segment_hash(trait: str) -> str:
        return load(f"traits:\n  t: {trait}\nsegments:\n  s: {{where: 't is not null'}}\n").hashes["s"]

    steps = "[\"event = 'a'\", \"event = 'b'\"]"
    spaced = "[\"event='a'\", \"(event  =  'b')\"]"
    assert segment_hash(f"{{sequence: {steps}, table: events, max_gap: 1w}}") == segment_hash(
        f"{{sequence: {spaced}, table: events, max_gap: 7d}}"
    )
    assert segment_hash(f"{{sequence: {steps}, table: events}}") != segment_hash(
        "{sequence: [\"event = 'b'\", \"event = 'a'\"], table: events}"
    )
    periods = "{active_periods: events, period: 1w, within: 8w}"
    assert segment_hash(periods) == segment_hash("{active_periods: events, period: 7d, within: 56d}")
    assert segment_hash(periods) != segment_hash("{active_periods: events, period: 1w, within: 4w}")
    assert segment_hash("{percentile: {of: orders.amount, p: 0.5}}") != segment_hash(
        "{percentile: {of: orders.amount, p: 0.9}}"
    )
