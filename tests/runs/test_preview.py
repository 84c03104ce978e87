"""The editor's preview evaluates only the edited definitions (and what they depend on) at the base run's as_of:
who it says would enter and leave each segment is what a full run of the edited definitions at that as_of then
stores against the base run, and the definitions it did not change are neither evaluated nor listed."""

from __future__ import annotations

from runs_helpers import DEFINITIONS, write_definitions
from segmentum.runs.execute import run
from segmentum.runs.preview import preview
from segmentum.store import snapshots as snapshot
from segmentum.workspace import Workspace

EDITED = (
    DEFINITIONS.replace('{name: gold, where: "spent >= 500"}', '{name: gold, where: "spent >= 650"}')
    .replace('{name: silver, where: "spent >= 100"}', '{name: silver, where: "spent >= 40"}')
    .replace("segments:\n  big:", 'segments:\n  small: {where: "spent < 100"}\n  big:')
)


def members_by_name(ws: Workspace, run_id: int) -> dict[str, set[str]]:
    frame = snapshot.memberships(ws.store, run_id)
    return {str(n): set(g) for n, g in frame.groupby("name")["customer_id"]}


def test_preview_enters_and_leaves_equal_a_full_runs_difference(shop: Workspace) -> None:
    base = run(shop, as_of="2024-03-31")
    overrides = {"definitions/shop.yml": EDITED}
    shown = preview(shop, overrides=overrides)
    # tier edited, small new; big unchanged: not evaluated, not listed
    assert shown.changed == {"small": "new", "tier": "edited"}
    assert shown.base_run == base.run_id and shown.skipped == []

    write_definitions(shop, EDITED)
    full = run(shop, as_of=base.as_of)  # every definition, stored
    assert full.as_of == shown.as_of
    before, after = members_by_name(shop, base.run_id), members_by_name(shop, full.run_id)
    listed = {s.name for s in shown.segments}
    assert listed == {"small", "tier.gold", "tier.silver", "tier.bronze"}
    moved = 0
    for seg in shown.segments:
        old = before.get(seg.name, set()) if seg.name != "small" else set()
        new = after.get(seg.name, set())
        assert (seg.before, seg.after) == (len(old), len(new)), seg.name
        assert seg.entered == sorted(new - old), seg.name
        assert seg.left == sorted(old - new), seg.name
        moved += len(seg.entered) + len(seg.left)
    assert moved > 0  # the edit moved somebody: c leaves gold, b enters silver


def test_a_dependency_is_evaluated_but_only_the_changed_definition_is_listed(shop: Workspace) -> None:
    base = run(shop, as_of="2024-03-31")
    edited = DEFINITIONS.replace(
        "segmentations:", "  vip_big: {where: \"in_segment('big') and spent >= 600\"}\nsegmentations:"
    )
    shown = preview(shop, overrides={"definitions/shop.yml": edited})
    assert shown.changed == {"vip_big": "new"}
    assert [(s.name, s.entered, s.left) for s in shown.segments] == [("vip_big", ["a", "c"], [])]
    assert shown.base_run == base.run_id
