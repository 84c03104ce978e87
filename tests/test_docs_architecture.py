"""docs/architecture.md lists every module of the package, so the map of the layers cannot fall behind."""

from __future__ import annotations

from pathlib import Path

import segmentum

ROOT = Path(segmentum.__file__).parent
DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _modules() -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.name == "__init__.py":
            if rel.parent != Path("."):
                found.append(f"`{rel.parent.as_posix()}/`")
        else:
            found.append(f"`{rel.as_posix()}`")
    return found


def test_every_module_has_its_line_in_the_architecture_doc() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [m for m in _modules() if f"| {m} |" not in text]
    assert missing == [], f"add these to docs/architecture.md (layer table): {missing}"
