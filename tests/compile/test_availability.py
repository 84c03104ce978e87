"""Which model outputs a run may use (compile/availability.py): what needs a model whose data ends after as_of
is left out, through traits and in_segment, and nothing else is."""

from __future__ import annotations

from datetime import datetime

from segmentum.compile.availability import at_point_in_time
from segmentum.schema import TABLES
from segmentum.spec.loader import DefinitionBuilder
from segmentum.store.catalog import ModelFit

AS_OF = datetime(2024, 6, 30, 23, 59, 59, 999999)
CLV = ModelFit("model_clv", "CLV", ("p_alive", "clv_12m"), datetime(2024, 12, 31, 23, 59, 59, 999999))
CLUSTER = ModelFit("model_cluster_needs", "clustering 'needs'", ("cluster_needs",), datetime(2024, 3, 31))
TEXT = """
traits:
  n: {count: orders}
  clv_score: {score: clv_12m, bins: 5}
  clv_twice: {expr: "clv_score * 2"}
  alone: {expr: "p_alive + 1"}
segments:
  buyers: {where: "n > 0"}
  valuable: {where: "clv_twice > 4"}
  valuable_buyers: {where: "in_segment('valuable') and n > 1"}
  needy: {where: "cluster_needs = '1'"}
  in_country: {where: "country = 'UA'"}
segmentations:
  tiers:
    segments:
      - {name: hot, where: "in_segment('buyers')"}
      - {name: cold, where: "in_segment('valuable_buyers')"}
    else: other
  by_cluster:
    segments:
      - {name: one, where: "cluster_needs = '1'"}
    else: rest
"""


def _definitions(customer_columns: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    tables = {name: dict(spec.columns) for name, spec in TABLES.items()}
    if customer_columns is not None:
        tables["customers"] = customer_columns
    attributes = {**tables["customers"], "p_alive": "DOUBLE", "clv_12m": "DOUBLE", "cluster_needs": "VARCHAR"}
    builder = DefinitionBuilder(tables, attributes)
    builder.add_text(TEXT, "definitions/case.yml")
    return builder.finish()


def test_what_reads_a_late_model_is_left_out_through_traits_and_in_segment() -> None:
    defs = _definitions()
    usable = at_point_in_time(defs, [CLV, CLUSTER], AS_OF)
    assert usable.unusable == ["model_clv"]
    kept = usable.definitions
    assert set(kept.traits) == {"n"}
    assert set(kept.segments) == {"buyers", "needy", "in_country"}
    assert set(kept.segmentations) == {"by_cluster"}  # tiers reads valuable_buyers, which reads valuable
    assert usable.skipped == {"clv_score", "clv_twice", "alone", "valuable", "valuable_buyers", "tiers"}
    assert "p_alive" not in kept.attributes and "cluster_needs" in kept.attributes
    lines = {w.split(" skipped: ")[0]: w for w in usable.warnings}
    # traits only a left-out segment reads are not listed on their own; `alone` is
    assert set(lines) == {
        "segment 'valuable'",
        "segment 'valuable_buyers'",
        "segmentation 'tiers'",
        "trait 'alone'",
    }
    assert lines["segment 'valuable'"].endswith(
        "it needs clv_12m, and the CLV model (segmentum.model_clv) was fitted on data up to 2024-12-31 23:59:59, "
        "after this run's as_of 2024-06-30 23:59:59; a run uses a model only from a fit whose data ends at or "
        "before its as_of: fit the model on data up to 2024-06-30 or earlier, or run at or after 2024-12-31"
    )
    assert "it needs p_alive" in lines["trait 'alone'"]
    # narrowing again changes nothing
    again = at_point_in_time(kept, [CLV, CLUSTER], AS_OF)
    assert again.skipped == set() and set(again.definitions.segments) == set(kept.segments)


def test_a_model_is_used_from_the_end_of_its_data_on_and_without_a_recorded_end() -> None:
    defs = _definitions()
    assert at_point_in_time(defs, [CLV], CLV.data_end).skipped == set()  # type: ignore[arg-type]
    unknown = ModelFit("model_clv", "clv", CLV.columns, None)  # a table written by hand: no recorded fit
    assert at_point_in_time(defs, [unknown], AS_OF).definitions is defs


def test_an_attribute_of_the_customers_table_is_not_taken_from_a_late_model() -> None:
    """The compiler takes a column from `customers` before any model table: a late model does not block it."""
    defs = _definitions({**TABLES["customers"].columns, "clv_12m": "DOUBLE"})
    usable = at_point_in_time(defs, [CLV], AS_OF)
    assert {"clv_score", "clv_twice", "valuable"}.isdisjoint(usable.skipped)
    assert "alone" in usable.skipped  # p_alive still comes from the model


def test_a_narrowed_copy_of_the_definitions_keeps_the_policies() -> None:
    """`at_point_in_time` and `select` narrow the definitions; everything they do not narrow carries over, the
    workspace's caps, suppression lists and quiet hours included (two hand-written copies dropped them)."""
    tables = {name: dict(spec.columns) for name, spec in TABLES.items()}
    attributes = {**tables["customers"], "p_alive": "DOUBLE", "clv_12m": "DOUBLE", "cluster_needs": "VARCHAR"}
    builder = DefinitionBuilder(tables, attributes)
    builder.add_text(
        TEXT
        + 'caps:\n  email: {max: 2, per: 7d}\nsuppress: [in_country]\nquiet_hours: {from: "21:00", to: "08:00"}\n',
        "definitions/case.yml",
    )
    defs = builder.finish()
    assert defs.caps and defs.suppress == ["in_country"] and defs.quiet_hours is not None
    for narrowed in (at_point_in_time(defs, [CLV, CLUSTER], AS_OF).definitions, defs.select(["buyers"])):
        assert (narrowed.caps, narrowed.suppress, narrowed.quiet_hours) == (
            defs.caps,
            defs.suppress,
            defs.quiet_hours,
        )
        assert narrowed.hashes == defs.hashes and narrowed.files == defs.files
