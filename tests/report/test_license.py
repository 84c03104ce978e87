"""The project ships the license it declares, and a NOTICE for the JavaScript the report bundles."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from plotly.offline import get_plotlyjs

ROOT = Path(__file__).resolve().parents[2]


def test_license_file_is_the_apache_2_text_pyproject_declares() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["license"]
    assert declared == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    # the full text, not a stub: the terms through to the appendix
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert "APPENDIX: How to apply the Apache License to your work." in text


def test_notice_names_the_bundled_plotly_js_with_its_copyright_line() -> None:
    notice = (ROOT / "NOTICE").read_text(encoding="utf-8")
    header = get_plotlyjs()[:400]
    copyright_line = re.search(r"Copyright [0-9-]+, Plotly, Inc\.", header)
    assert copyright_line is not None, header
    assert (
        copyright_line.group(0) in notice
    )  # the bundled file's own line, so an upgrade that changes it fails
    assert "MIT" in header and "MIT License" in notice
    assert "plotly.js" in notice
