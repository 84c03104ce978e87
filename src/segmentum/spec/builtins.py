"""Built-in segmentations: YAML files shipped in `segmentum/builtins/`, configurable without copying.

A built-in file has `builtin`, `title`, `description`, `requires` (tables and columns it needs),
`settings` (documented defaults) and ordinary definitions (`traits`, `segments`, `segmentations`).
Strings in the definitions may use the settings: `"{{ bins }}"` alone is replaced by the setting's
value (any type); inside longer text it is rendered as text (Jinja2, undefined names are errors).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from segmentum.errors import ConfigError, did_you_mean
from segmentum.spec.yamlio import Located, load_yaml

if TYPE_CHECKING:
    from segmentum.spec.definitions import SegmentDef

BUILTINS_DIR = Path(__file__).resolve().parents[1] / "builtins"
DEFINITION_KEYS = ("traits", "segments", "segmentations", "triggers")
_ENV = SandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)


@dataclass
class Builtin:
    name: str
    title: str
    description: str
    requires: dict[str, list[str]]
    settings: dict[str, Any]
    located: Located  # rendered definitions, positions of the original file
    docs: dict[str, Any] = field(default_factory=dict)


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTINS_DIR.glob("*.yml"))


def _render(value: Any, context: dict[str, Any], where: str) -> Any:
    if isinstance(value, dict):
        return {k: _render(v, context, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, context, where) for v in value]
    if isinstance(value, str) and "{{" in value:
        try:
            stripped = value.strip()
            if stripped.startswith("{{") and stripped.endswith("}}") and stripped.count("{{") == 1:
                return _expression(stripped[2:-2].strip())(**context)
            return _template(value).render(**context)
        except jinja2.TemplateError as exc:
            raise ConfigError(f"{where}: cannot apply the settings to {value!r}: {exc}") from exc
    return value


# compiled once per process: compiling the built-ins' templates took most of loading the definitions (about
# 1.5 s of every load, e.g. each preview of an edit); compiled templates are immutable
@lru_cache(maxsize=4096)
def _expression(text: str) -> Any:
    return _ENV.compile_expression(text, undefined_to_none=False)


@lru_cache(maxsize=4096)
def _template(text: str) -> Any:
    return _ENV.from_string(text)


@lru_cache(maxsize=64)
def _parse_builtin(path: Path) -> Located:
    """Parse a shipped built-in once per process (rendering never mutates the parsed data)."""
    return load_yaml(path, display_path=f"builtin:{path.name}", shipped=True)


def load_builtin(
    name: str, overrides: dict[str, Any] | None = None, *, config_path: str = "segmentum.yml"
) -> Builtin:
    """Load a built-in with its settings (defaults updated by `overrides` from segmentum.yml)."""
    path = BUILTINS_DIR / f"{name}.yml"
    if not path.is_file():
        raise ConfigError(f"unknown built-in '{name}'{did_you_mean(name, builtin_names())}")
    located = _parse_builtin(path)
    raw = located.data
    settings = dict(raw.get("settings") or {})
    for key, value in (overrides or {}).items():
        if key not in settings:
            raise ConfigError(
                f"{config_path}: built-in '{name}' has no setting '{key}'{did_you_mean(key, settings)} "
                f"(settings: {', '.join(sorted(settings))})"
            )
        settings[key] = value
    rendered = {k: _render(raw.get(k) or {}, settings, f"builtin:{name}.yml") for k in DEFINITION_KEYS}
    rendered["description"] = raw.get("description")
    return Builtin(
        name=name,
        title=str(raw.get("title") or name),
        description=str(raw.get("description") or ""),
        requires={t: list(cols or []) for t, cols in (raw.get("requires") or {}).items()},
        settings=settings,
        located=Located(rendered, located.path, located.positions, located.key_positions, located.text),
        docs=dict(raw.get("docs") or {}),
    )


def builtin_docs(name: str) -> dict[str, Any]:
    """A built-in's `docs` (`load_builtin(name).docs`): not rendered with the settings, so read from the file
    parsed once per process without rendering every definition (the report asked it for each of ~200
    segments, and rendering took a third of the report's time)."""
    path = BUILTINS_DIR / f"{name}.yml"
    if not path.is_file():
        raise ConfigError(f"unknown built-in '{name}'{did_you_mean(name, builtin_names())}")
    return dict(_parse_builtin(path).data.get("docs") or {})


def render_builtin_yaml(name: str, overrides: dict[str, Any] | None = None) -> str:
    """The built-in's definitions with settings applied, as YAML a user can copy into definitions/."""
    import io

    from ruamel.yaml import YAML

    builtin = load_builtin(name, overrides)
    yaml = YAML()
    yaml.default_flow_style = None
    yaml.width = 120
    buf = io.StringIO()
    header = f"# built-in '{name}': {builtin.title}\n# settings: {builtin.settings}\n"
    data = {k: v for k, v in builtin.located.data.items() if k in DEFINITION_KEYS and v}
    yaml.dump(_plain_numbers(data), buf)
    return header + buf.getvalue()


def _plain_numbers(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, dict):
        return {k: _plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_numbers(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    return value


def segment_metadata(seg: SegmentDef) -> dict[str, Any]:
    """Description, offer, channel and recommended action of a segment: what its definition says, else (for a
    built-in's segment) what the built-in's `docs` say. The one rule for profiles and trigger payloads."""
    info: dict[str, Any] = {
        "description": seg.description,
        "offer": seg.offer,
        "channel": seg.channel,
        "action": seg.action,
    }
    if seg.builtin and not all(info[k] for k in ("offer", "channel", "action")):
        docs = builtin_docs(seg.builtin).get(seg.segment) or {}
        for key in ("offer", "channel", "action"):
            info[key] = info[key] or docs.get(key)
    return info
