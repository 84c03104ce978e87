"""Hostile nesting in definitions (deep YAML, deep expressions) is refused with a located error, never a
RecursionError: the limits live where definitions are parsed, so `validate`, the API and the editor share them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from segmentum.spec.builtins import BUILTINS_DIR
from segmentum.spec.expr import MAX_DEPTH, MAX_NESTING, ExpressionTooDeepError, parse_expression
from segmentum.spec.yamlio import MAX_YAML_DEPTH, NestingError, load_yaml
from segmentum.workspace import Workspace

DEEP_YAML = {
    "flow": "segments: " + "[" * 5000 + "]" * 5000 + "\n",
    "block": "".join("  " * i + f"k{i}:\n" for i in range(3000)),
}
DEEP_EXPRESSIONS = {
    "parentheses": "(" * 5000 + "1" + ")" * 5000,
    "calls": "abs(" * 3000 + "1" + ")" * 3000,
    "not": "not " * 5000 + "true",
    "minus": "-" * 5000 + "1",
    "or chain": " or ".join(["x = 1"] * 3000),
}


@pytest.mark.parametrize("text", DEEP_YAML.values(), ids=DEEP_YAML.keys())
def test_deep_yaml_is_a_nesting_error_with_its_location(text: str) -> None:
    with pytest.raises(NestingError, match=rf"^x\.yml:\d+:\d+: .*more than {MAX_YAML_DEPTH} levels"):
        load_yaml("x.yml", text=text)


def test_yaml_just_inside_the_limit_loads() -> None:
    depth = MAX_YAML_DEPTH - 1  # the top-level mapping is one level
    located = load_yaml("x.yml", text="k: " + "[" * depth + "]" * depth)
    assert isinstance(located.data["k"], list)


def test_the_shipped_built_ins_nest_within_the_limit_which_their_load_does_not_count() -> None:
    # load_yaml(shipped=True) skips the count for the package's own files: this is what makes that safe
    files = sorted(BUILTINS_DIR.glob("*.yml"))
    assert len(files) >= 20
    for path in files:  # loaded as any user's file is: counted (a NestingError would fail the test)
        assert load_yaml(path, display_path=f"checked/{path.name}").data


@pytest.mark.parametrize("text", DEEP_EXPRESSIONS.values(), ids=DEEP_EXPRESSIONS.keys())
def test_deep_expressions_are_refused_at_a_position(text: str) -> None:
    with pytest.raises(ExpressionTooDeepError) as info:
        parse_expression(text)
    assert 0 <= info.value.pos < len(text)


def test_expressions_just_inside_the_limits_parse() -> None:
    parse_expression("(" * MAX_NESTING + "1" + ")" * MAX_NESTING)
    parse_expression(" or ".join(["x = 1"] * (MAX_DEPTH // 2)))
    with pytest.raises(ExpressionTooDeepError):
        parse_expression("(" * (MAX_NESTING + 1) + "1" + ")" * (MAX_NESTING + 1))


def test_a_definition_with_a_deep_expression_is_a_definition_error_at_its_line(workspace: Workspace) -> None:
    text = f'segments:\n  s:\n    where: "{DEEP_EXPRESSIONS["or chain"]}"\n'
    with pytest.raises(NestingError, match=r"^definitions/x\.yml:3:\d+: the expression is more than"):
        workspace.definitions(overrides={"definitions/x.yml": text})


def test_cli_validate_refuses_deep_definitions_in_one_line(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    (tmp_path / "ws" / "definitions" / "x.yml").write_text(DEEP_YAML["flow"], encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", "validate", "-w", str(tmp_path / "ws")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Error: definitions/x.yml:1:") and "levels deep" in result.stderr
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
