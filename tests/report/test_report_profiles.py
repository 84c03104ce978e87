"""The report computes a run's profiles once for every language, and reads built-ins' docs without rendering."""

from __future__ import annotations

import re

from segmentum.report import build
from segmentum.report.build import build_report
from segmentum.spec.builtins import builtin_docs, builtin_names, load_builtin
from segmentum.workspace import Workspace


def _page(html: str) -> str:
    return re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "<time>", html)  # the generated-at minute


def test_the_profiles_are_computed_once_for_every_language(handmade_snapshot: Workspace) -> None:
    before = build.COMPUTED["count"]
    english = build_report(handmade_snapshot, lang="en")
    ukrainian = build_report(handmade_snapshot, lang="uk")
    assert build.COMPUTED["count"] == before + 1
    assert "value_tier.vip" in english and "value_tier.vip" in ukrainian
    # what was kept gives the page a fresh computation gives
    build._KEPT.clear()
    assert _page(build_report(handmade_snapshot, lang="uk")) == _page(ukrainian)
    assert build.COMPUTED["count"] == before + 2
    # a change of what profiles read (here the definitions) computes them again
    (handmade_snapshot.root / "definitions" / "extra.yml").write_text("traits:\n  n: {count: orders}\n")
    build_report(handmade_snapshot, lang="ru")
    assert build.COMPUTED["count"] == before + 3


def test_a_builtins_docs_are_those_of_the_loaded_builtin() -> None:
    for name in builtin_names():
        assert builtin_docs(name) == load_builtin(name).docs, name
