"""Every walk over "all segments" (the compiler's names and past-run references, the loader's checks, the
segment names) reads `Definitions.all_segments`: a segment of a segmentation is never left out of one."""

from __future__ import annotations

from definitions_helpers import load_definitions
from segmentum.compile.compiler import history_refs

TEXT = """
traits:
  n: {count: orders}
segments:
  buyers: {where: "n > 0 and was_in_segment('tiers.hot', 30d)"}
segmentations:
  tiers:
    segments:
      - {name: hot, where: "n > 3"}
      - {name: warm, where: "was_in_segment('buyers', 90d)"}
    else: other
"""


def _definitions():  # type: ignore[no-untyped-def]
    return load_definitions(TEXT)


def test_all_segments_are_the_standalone_ones_then_each_segmentations_with_its_else() -> None:
    defs = _definitions()
    assert [s.name for s in defs.all_segments()] == ["buyers", "tiers.hot", "tiers.warm", "tiers.other"]
    assert defs.segment_names() == ["buyers", "tiers.hot", "tiers.warm", "tiers.other"]
    assert defs.segment("tiers.warm") is defs.all_segments()[2]


def test_past_run_references_are_found_in_standalone_segments_and_in_segmentations() -> None:
    assert history_refs(_definitions()) == {("tiers.hot", "30d"), ("buyers", "90d")}
