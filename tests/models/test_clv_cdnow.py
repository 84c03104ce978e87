"""CLV on CDNOW_sample reproduces the published BG/NBD and Gamma-Gamma numbers, through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from clv_helpers import load_cdnow_sample

from segmentum.models.clv import BGNBD, GammaGamma, fit_clv, validation_figure
from segmentum.models.persist import write_model_clv
from segmentum.models.summary import purchase_summary
from segmentum.workspace import Workspace

pytestmark = pytest.mark.realdata


@pytest.fixture
def cdnow_ws(workspace: Workspace, shared_data: Path) -> Workspace:
    load_cdnow_sample(workspace, shared_data)
    return workspace


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SEGMENTUM_WORKSPACE": ""}
    return subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


@pytest.mark.slow
def test_cli_json_prints_the_published_cdnow_parameters(cdnow_ws: Workspace) -> None:
    root = cdnow_ws.root
    cdnow_ws.close()  # the CLI runs in another process and needs the store file
    proc = _cli(
        "clv", "--calibration-end", "1997-09-30", "--format", "json", "--workspace", str(root), cwd=root
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # stdout holds only the JSON
    assert data["customers"] == 2357
    bg = data["bgnbd"]
    assert (round(bg["r"], 3), round(bg["alpha"], 3), round(bg["a"], 3), round(bg["b"], 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    assert round(bg["log_likelihood"], 2) == -9582.43
    gg = data["gamma_gamma"]
    assert gg["p"] == pytest.approx(6.25, abs=0.01)
    assert gg["q"] == pytest.approx(3.74, abs=0.01)
    assert gg["gamma"] == pytest.approx(15.44, abs=0.01)
    assert data["boundary"] == {"bgnbd": {}, "gamma_gamma": {}}
    assert data["stored"] == {"table": "segmentum.model_clv", "rows": 2357}
    with Workspace(root) as ws:
        rows = (
            ws.store.cursor()
            .execute(
                "SELECT count(*), count(DISTINCT customer_id), min(p_alive), max(p_alive), sum(clv_12m), "
                "min(calibration_end) FROM segmentum.model_clv"
            )
            .fetchone()
        )
    assert rows[0] == rows[1] == 2357
    assert 0 < rows[2] <= rows[3] <= 1
    assert rows[4] == pytest.approx(data["totals"]["clv_12m"])
    assert str(rows[5]) == "1997-09-30"


@pytest.mark.slow
def test_cli_with_holdout_reports_validation_and_writes_a_chart(cdnow_ws: Workspace, tmp_path: Path) -> None:
    root = cdnow_ws.root
    cdnow_ws.close()
    chart = tmp_path / "validation.html"
    proc = _cli(
        "clv",
        "--calibration-end",
        "1997-09-30",
        "--holdout-end",
        "1998-06-30",
        "--format",
        "json",
        "--chart",
        str(chart),
        "--workspace",
        str(root),
        cwd=root,
    )
    assert proc.returncode == 0, proc.stderr
    v = json.loads(proc.stdout)["validation"]
    assert v["duration"] == 39.0
    assert [g["frequency"] for g in v["groups"]] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert sum(g["customers"] for g in v["groups"]) == 2357
    # every order of the sample after the calibration lies in the 39-week holdout: 1,882 purchase days
    assert v["actual_total"] == 1882
    # BG/NBD predicts the holdout within 15 % in total and follows the frequency gradient
    assert v["predicted_total"] == pytest.approx(v["actual_total"], rel=0.15)
    predicted = [g["predicted"] for g in v["groups"]]
    assert predicted == sorted(predicted)
    assert "plotly" in chart.read_text(encoding="utf-8").lower()


@pytest.mark.slow
def test_cli_table_output_and_a_bad_date_is_one_error_line(cdnow_ws: Workspace) -> None:
    root = cdnow_ws.root
    cdnow_ws.close()
    bad = _cli("clv", "--calibration-end", "30.09.1997", "--workspace", str(root), cwd=root)
    assert bad.returncode == 1
    assert bad.stderr.startswith("Error: calibration end '30.09.1997' is not a date")
    unit = _cli(
        "clv", "--calibration-end", "1997-09-30", "--time-unit", "year", "--workspace", str(root), cwd=root
    )
    assert unit.returncode == 1 and "time unit 'year' is not supported" in unit.stderr


@pytest.mark.slow
def test_fit_agrees_with_lifetimes_on_the_same_summary(cdnow_ws: Workspace) -> None:
    import lifetimes  # a bench dependency, installed by `make install`

    summary = purchase_summary(cdnow_ws, calibration_end="1997-09-30")
    ours = BGNBD().fit(summary)
    theirs = lifetimes.BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    for name in ("r", "alpha", "a", "b"):
        assert ours.params_[name] == pytest.approx(theirs.params_[name], rel=1e-4)
    f, rec, t = summary["frequency"], summary["recency"], summary["T"]
    np.testing.assert_allclose(
        ours.conditional_expected_number_of_purchases(39, f, rec, t),
        theirs.conditional_expected_number_of_purchases_up_to_time(39, f, rec, t),
        rtol=1e-4,
    )
    np.testing.assert_allclose(
        ours.conditional_probability_alive(f, rec, t),
        theirs.conditional_probability_alive(f, rec, t),
        rtol=1e-4,
    )
    np.testing.assert_allclose(
        ours.expected_number_of_purchases([1, 10, 39]),
        theirs.expected_number_of_purchases_up_to_time(np.array([1.0, 10.0, 39.0])),
        rtol=1e-4,
    )

    repeat = summary[summary["frequency"] > 0]
    gg = GammaGamma().fit(summary)
    gg_theirs = lifetimes.GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    assert gg.params_["p"] == pytest.approx(gg_theirs.params_["p"], rel=1e-4)
    assert gg.params_["q"] == pytest.approx(gg_theirs.params_["q"], rel=1e-4)
    assert gg.params_["gamma"] == pytest.approx(gg_theirs.params_["v"], rel=1e-4)
    np.testing.assert_allclose(
        gg.conditional_expected_average_value(summary["frequency"], summary["monetary_value"]),
        gg_theirs.conditional_expected_average_profit(summary["frequency"], summary["monetary_value"]),
        rtol=1e-4,
    )

    # CLV: monthly discounting as lifetimes; with a monthly summary both use exactly one step per month
    monthly = purchase_summary(cdnow_ws, calibration_end="1997-09-30", time_unit="month")
    bg_m = BGNBD().fit(monthly)
    bg_m_theirs = lifetimes.BetaGeoFitter().fit(monthly["frequency"], monthly["recency"], monthly["T"])
    clv = gg.customer_lifetime_value(bg_m, monthly, horizon=12, discount_rate=0.01)
    clv_theirs = gg_theirs.customer_lifetime_value(
        bg_m_theirs,
        monthly["frequency"],
        monthly["recency"],
        monthly["T"],
        monthly["monetary_value"],
        time=12,
        discount_rate=0.01,
        freq="M",
    )
    np.testing.assert_allclose(clv.to_numpy(), clv_theirs.to_numpy(), rtol=1e-3)


def test_time_unit_changes_alpha_only(cdnow_ws: Workspace) -> None:
    weekly = BGNBD().fit(purchase_summary(cdnow_ws, calibration_end="1997-09-30", time_unit="week"))
    daily = BGNBD().fit(purchase_summary(cdnow_ws, calibration_end="1997-09-30", time_unit="day"))
    assert daily.params_["alpha"] == pytest.approx(7 * weekly.params_["alpha"], rel=1e-4)
    for name in ("r", "a", "b"):
        assert daily.params_[name] == pytest.approx(weekly.params_[name], rel=1e-4)


def test_validation_figure_shows_actual_and_predicted(cdnow_ws: Workspace) -> None:
    result = fit_clv(cdnow_ws, calibration_end="1997-09-30", holdout_end="1998-06-30")
    fig = validation_figure(result.validation)
    assert [trace.name for trace in fig.data] == ["actual", "predicted (BG/NBD)"]
    assert list(fig.data[0].x) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert list(fig.data[0].y) == pytest.approx(result.validation["actual"].tolist())
    # the JSON "validation" object draws the same chart
    again = validation_figure(result.to_dict()["validation"])
    assert list(again.data[1].y) == pytest.approx(list(fig.data[1].y))


def test_model_clv_is_replaced_by_each_fit(cdnow_ws: Workspace) -> None:
    first = fit_clv(cdnow_ws, calibration_end="1997-06-30", time_unit="day")
    assert write_model_clv(cdnow_ws, first) == len(first.summary)
    second = fit_clv(cdnow_ws, calibration_end="1997-09-30", horizon="2y")
    assert write_model_clv(cdnow_ws, second) == 2357
    cur = cdnow_ws.store.cursor()
    rows = cur.execute(
        "SELECT count(*), count(DISTINCT calibration_end), max(calibration_end) FROM segmentum.model_clv"
    ).fetchone()
    assert (rows[0], rows[1], str(rows[2])) == (2357, 1, "1997-09-30")
    assert "clv_24m" in second.customers.columns and "clv_12m" in second.customers.columns
    assert (second.customers["clv_24m"] >= second.customers["clv_12m"]).all()
    stored = cur.execute(
        "SELECT customer_id, p_alive, clv_12m FROM segmentum.model_clv ORDER BY customer_id LIMIT 3"
    ).fetchall()
    for customer_id, p_alive, clv_12m in stored:
        assert p_alive == pytest.approx(second.customers.loc[customer_id, "p_alive"])
        assert clv_12m == pytest.approx(second.customers.loc[customer_id, "clv_12m"])
