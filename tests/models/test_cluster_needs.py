"""Needs-based features from survey answers and stated interests, and `segmentum cluster needs --from-survey`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from segmentum.errors import ModelError, NotFoundError
from segmentum.models.features import needs_features
from segmentum.workspace import Workspace


def small_survey(ws: Workspace) -> None:
    con = ws.store.cursor()
    con.execute("CREATE TABLE main.customers (customer_id VARCHAR, interests VARCHAR[])")
    con.execute("""INSERT INTO main.customers VALUES ('a', ['home', 'books']), ('b', ['books']), ('c', []),
                   ('d', NULL), ('e', ['fashion'])""")
    con.execute(
        "CREATE TABLE main.responses (customer_id VARCHAR, question VARCHAR, answer VARCHAR, "
        "answered_at TIMESTAMP, survey VARCHAR)"
    )
    con.execute("""INSERT INTO main.responses VALUES
        ('a', 'priority', 'price', '2024-01-01 10:00', 'needs'),
        ('a', 'priority', 'quality', '2024-03-01 10:00', 'needs'),   -- the later answer wins
        ('a', 'interest_books', '5', '2024-01-01 10:00', 'needs'),
        ('b', 'priority', 'speed', '2024-02-01 10:00', 'needs'),
        ('b', 'interest_books', '2', '2024-02-01 10:00', 'needs'),
        ('b', 'interest_books', '3', '2024-01-01 10:00', 'needs'),   -- older, ignored
        ('c', 'Shopping style', 'impulse', '2024-02-01 10:00', 'needs'),
        ('d', 'nps', '9', '2024-02-01 10:00', 'nps')""")


def test_latest_answer_per_question_becomes_a_column(workspace: Workspace) -> None:
    small_survey(workspace)
    frame = needs_features(workspace.store).set_index("customer_id")
    assert frame.loc["a", "priority"] == "quality"
    assert frame.loc["b", "interest_books"] == 2.0
    assert pd.api.types.is_float_dtype(frame["interest_books"])  # every answer is a number
    assert frame.loc["c", "shopping_style"] == "impulse"  # question names are slugified
    assert pd.isna(frame.loc["c", "priority"])
    assert "nps" not in frame.columns  # only the 'needs' survey


def test_stated_interests_become_flags_next_to_survey_columns(workspace: Workspace) -> None:
    small_survey(workspace)
    frame = needs_features(workspace.store).set_index("customer_id")
    # a survey question already holds the name interest_books, so the stated interest gets a suffix
    assert frame.loc["a", "interest_books_stated"] == 1 and frame.loc["a", "interest_home"] == 1
    assert frame.loc["b", "interest_home"] == 0 and frame.loc["e", "interest_fashion"] == 1
    # customers are those who answered (a, b, c) or stated an interest (e); d answered only nps
    assert sorted(frame.index) == ["a", "b", "c", "e"]


def test_without_a_needs_survey_everything_but_nps_and_csat_is_used(workspace: Workspace) -> None:
    small_survey(workspace)
    with pytest.raises(
        NotFoundError, match=r"no answers in survey nds; did you mean 'needs'\?; surveys: needs, nps"
    ):
        needs_features(workspace.store, surveys=["nds"])
    assert list(needs_features(workspace.store, surveys=["nps"]).columns)[:2] == ["customer_id", "nps"]
    workspace.store.cursor().execute("UPDATE main.responses SET survey = NULL")
    frame = needs_features(workspace.store)
    assert {"priority", "interest_books", "shopping_style"} <= set(frame.columns)
    assert "nps" not in frame.columns


def test_no_survey_data_is_explained(workspace: Workspace) -> None:
    workspace.store.cursor().execute("CREATE TABLE main.customers (customer_id VARCHAR)")
    with pytest.raises(ModelError, match="no needs data"):
        needs_features(workspace.store)


@pytest.mark.slow
def test_cluster_needs_from_survey_end_to_end(tmp_path: Path) -> None:
    """Two planted needs groups: price-driven deal seekers vs quality-driven researchers who love books."""
    ws = Workspace.init(tmp_path / "shop", name="shop")
    con = ws.store.cursor()
    con.execute("""CREATE TABLE main.customers AS SELECT 'c' || lpad(i::VARCHAR, 3, '0') AS customer_id,
                   CASE WHEN i % 2 = 0 THEN ['books'] ELSE ['fashion'] END AS interests FROM range(300) t(i)""")
    con.execute("""CREATE TABLE main.responses AS
        SELECT 'c' || lpad(i::VARCHAR, 3, '0') AS customer_id, q AS question,
               CASE q WHEN 'priority' THEN CASE WHEN i % 2 = 0 THEN 'quality' ELSE 'price' END
                      WHEN 'shopping_style' THEN CASE WHEN i % 2 = 0 THEN 'researcher' ELSE 'deal_seeker' END
                      -- 1..5 ratings: books lovers rate books 3-5 and travel 1-3; the others the reverse
                      WHEN 'interest_books' THEN (CASE WHEN i % 2 = 0 THEN 3 ELSE 1 END + (i * 7) % 3)::VARCHAR
                      ELSE (CASE WHEN i % 2 = 0 THEN 1 ELSE 3 END + (i * 11 + i // 5) % 3)::VARCHAR END AS answer,
               TIMESTAMP '2024-05-01 10:00:00' AS answered_at, 'needs' AS survey
        FROM range(300) t(i), (VALUES ('priority'), ('shopping_style'), ('interest_books'), ('interest_travel')) v(q)""")
    ws.close()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "segmentum.cli.main",
            "cluster",
            "needs",
            "--from-survey",
            "-w",
            str(tmp_path / "shop"),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["k"] == 2 and data["source"]["kind"] == "survey"
    assert set(data["features"]) == {
        "priority",
        "shopping_style",
        "interest_books",
        "interest_travel",
        "interest_books_stated",
        "interest_fashion",
    }
    names = sorted(c["name"] for c in data["clusters"])
    assert any("mostly quality" in n for n in names) and any("mostly price" in n for n in names)
    with Workspace(tmp_path / "shop") as ws:
        got = dict(ws.store.query("SELECT customer_id, cluster_needs FROM segmentum.model_cluster_needs"))
        assert len(got) == 300 and got["c000"] != got["c001"] and got["c000"] == got["c002"]
        assert "needs" in ws.definitions().segmentations
