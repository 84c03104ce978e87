"""Models are point in time too (DESIGN.md section 5): a run uses a model's outputs only from a fit whose data
ends at or before its as_of; otherwise what needs them is skipped with a message naming the model and the end
of its data, in batch runs, previews, explain and `segmentum sql` alike."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from engine_helpers import load_rows, write_definitions

from segmentum.cli.main import main
from segmentum.errors import RunError
from segmentum.models.clv import fit_clv
from segmentum.models.persist import write_model_clv
from segmentum.runs.execute import compiled_sql, run
from segmentum.runs.explain import explain
from segmentum.runs.preview import preview
from segmentum.store.catalog import model_fits
from segmentum.workspace import Workspace

DEFINITIONS = """
traits:
  n: {count: orders}
  clv_double: {expr: "clv_12m * 2"}
segments:
  buyers: {where: "n > 0"}
  likely_back: {where: "p_alive > 0.5"}
  likely_buyers: {where: "in_segment('likely_back') and n > 1"}
"""


def _orders(customers: int = 300, seed: int = 7) -> list[dict[str, Any]]:
    """Repeat buyers of a shop from 2024-01-01 to 2024-12-31: Poisson purchases while alive."""
    rng = np.random.default_rng(seed)
    start = datetime(2024, 1, 1)
    rows = []
    for c in range(customers):
        day = int(rng.integers(0, 300))
        life = day + int(rng.exponential(250))
        rate = rng.gamma(2.0, 1 / 40)
        while day <= min(life, 365):
            rows.append(
                {
                    "order_id": str(len(rows)),
                    "customer_id": f"c{c:03d}",
                    "ordered_at": start + timedelta(days=day, hours=10),
                    "amount": round(float(rng.gamma(4.0, 10.0)), 2),
                    "status": None,
                }
            )
            day += 1 + int(rng.exponential(1 / rate))
    return [r for r in rows if r["ordered_at"] < datetime(2025, 1, 1)]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A shop whose CLV model is fitted on all its data (calibration to 2024-12-31)."""
    ws = Workspace.init(tmp_path_factory.mktemp("clv") / "ws", name="test")
    write_definitions(ws, DEFINITIONS, ["value_clv"])
    ws = Workspace(ws.root)
    orders = pd.DataFrame(_orders())
    load_rows(ws, "orders", [], columns=list(orders.columns))  # the canonical types; rows by one INSERT
    load_rows(ws, "customers", [{"customer_id": c} for c in sorted(set(orders.customer_id))])
    cur = ws.store.cursor()
    cur.register("generated_orders", orders)
    cur.execute(f"INSERT INTO main.orders SELECT {', '.join(orders.columns)} FROM generated_orders")
    write_model_clv(ws, fit_clv(ws, calibration_end="2024-12-31"))
    yield ws
    ws.close()


def test_the_fit_records_where_its_data_ends(fitted) -> None:  # type: ignore[no-untyped-def]
    (fit,) = model_fits(fitted.store)
    assert (fit.table, fit.model) == ("model_clv", "CLV")
    assert fit.data_end == datetime(2024, 12, 31, 23, 59, 59, 999999)  # the end of the calibration day
    assert "clv_12m" in fit.columns and "p_alive" in fit.columns


def test_a_run_before_the_fit_skips_what_needs_the_model_and_names_it(fitted) -> None:  # type: ignore[no-untyped-def]
    early = run(fitted, as_of="2024-06-30")
    skipped = [w for w in early.warnings if "skipped" in w]
    for name in ("segmentation 'value_clv'", "segment 'likely_back'", "segment 'likely_buyers'"):
        line = next(w for w in skipped if w.startswith(name))
        assert "the CLV model (segmentum.model_clv)" in line
        assert "data up to 2024-12-31 23:59:59, after this run's as_of 2024-06-30 23:59:59" in line
    assert any(w.startswith("trait 'clv_double' skipped") for w in skipped)
    # nobody is in them, the run does not hold them, the traits table has no model column
    members = early.memberships()
    assert set(members.name) == {"buyers"} and len(members) > 50
    assert set(
        fitted.store.query(f"SELECT DISTINCT name FROM segmentum.memberships WHERE run_id = {early.run_id}")
    ) == {("buyers",)}
    traits = early.traits()
    assert "clv_double" not in traits.columns and "value_clv_rank" not in traits.columns
    hashes = fitted.store.query(f"SELECT definition_hashes FROM segmentum.runs WHERE run_id = {early.run_id}")
    assert "value_clv" not in hashes[0][0] and "buyers" in hashes[0][0]
    # a preview at that date skips them too
    preview = run(fitted, as_of="2024-06-30", preview=True)
    assert set(preview.memberships().name) == {"buyers"}
    with pytest.raises(RunError, match=r"value_clv.*CLV model \(segmentum.model_clv\).*2024-12-31 23:59:59"):
        explain(fitted, "c001", "value_clv", as_of="2024-06-30")
    with pytest.raises(RunError, match="CLV model"):
        compiled_sql(fitted, "likely_back", as_of="2024-06-30")


def test_a_run_at_or_after_the_end_of_the_fit_uses_the_model(fitted) -> None:  # type: ignore[no-untyped-def]
    at_end = run(fitted, as_of="2024-12-31")
    assert not [w for w in at_end.warnings if "skipped" in w]
    members = at_end.memberships()
    assert {"buyers", "likely_back", "likely_buyers"} <= set(members.name)
    assert members[members.segmentation == "value_clv"].customer_id.nunique() == len(at_end.traits())
    assert (
        members[members.name == "value_clv.none"].empty
        or len(members[members.name == "value_clv.none"]) < 300
    )
    later = run(fitted, as_of="2025-03-31")
    assert "value_clv" in set(later.memberships().segmentation.dropna())
    assert explain(fitted, "c001", "likely_back", as_of="2024-12-31").name == "likely_back"


def test_a_preview_before_the_fit_says_the_edited_definition_is_skipped_not_that_everyone_leaves(
    fitted,
) -> None:  # type: ignore[no-untyped-def]
    base = run(fitted, as_of="2024-12-31")
    members = set(base.memberships("likely_back").customer_id)
    assert members  # the base run holds the segment: a naive preview before the fit lists them all as leavers
    edited = DEFINITIONS.replace("p_alive > 0.5", "p_alive > 0.6").replace("n > 0", "n > 1")
    result = preview(fitted, overrides={"definitions/test.yml": edited}, as_of="2024-06-30")
    assert result.changed == {"buyers": "edited", "likely_back": "edited", "likely_buyers": "edited"}
    assert result.skipped == ["likely_back", "likely_buyers"]
    assert {s.name for s in result.segments} == {"buyers"}  # no leavers listed for what was not evaluated
    # the run's own message, as `segmentum run` at that date prints it
    line = next(w for w in result.warnings if w.startswith("segment 'likely_back' skipped"))
    assert line in run(fitted, as_of="2024-06-30", preview=True).warnings
    assert "CLV model (segmentum.model_clv) was fitted on data up to 2024-12-31 23:59:59" in line
    assert result.to_dict()["skipped"] == ["likely_back", "likely_buyers"]
    # the buyers edit is still previewed: those with exactly one order by 30 June leave
    (buyers,) = result.segments
    assert buyers.left and not buyers.entered
    # at or after the end of the fit's data nothing is skipped and the edit is previewed
    later = preview(fitted, overrides={"definitions/test.yml": edited}, as_of="2024-12-31")
    assert later.skipped == [] and {s.name for s in later.segments} >= {"likely_back"}


@pytest.mark.spark
@pytest.mark.slow
def test_the_spark_engine_leaves_out_the_same_definitions(fitted) -> None:  # type: ignore[no-untyped-def]
    duck = run(fitted, as_of="2024-06-30", preview=True)
    spark = run(fitted, as_of="2024-06-30", engine="spark", preview=True)
    assert [w for w in spark.warnings if "skipped" in w] == [w for w in duck.warnings if "skipped" in w]
    pd.testing.assert_frame_equal(spark.memberships(), duck.memberships())


def test_a_backfill_says_once_which_points_skipped_what_needs_the_model(fitted, capsys) -> None:  # type: ignore[no-untyped-def]
    main(["backfill", "--from", "2024-10-01", "--to", "2025-01-31", "--workspace", str(fitted.root)])
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    # month ends 2024-10-31 and 2024-11-30 precede the end of the fit's data; 2024-12-31 and 2025-01-31 do not
    assert err.count("segmentation 'value_clv' skipped") == 1
    assert "2024-10-31 to 2024-11-30: segmentation 'value_clv' skipped: it needs" in err
    assert "CLV model (segmentum.model_clv) was fitted on data up to 2024-12-31 23:59:59" in err
