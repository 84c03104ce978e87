"""YAML 1.2 loading that remembers where every key and value came from.

Files are read as YAML 1.2 (so `on`, `yes`, `no` stay strings). Errors from pydantic carry a `loc`
path; `Located.where(loc)` turns it into `file:line:col` so every message points at the source.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from segmentum.errors import DefinitionError, did_you_mean

Loc = tuple[Any, ...]
# Mappings and lists inside one another: ruamel composes documents recursively and fails with a
# RecursionError a few hundred levels down; definitions and segmentum.yml need fewer than ten.
MAX_YAML_DEPTH = 50


class NestingError(DefinitionError):
    """A definitions file (or an expression in it) nests deeper than the limits allow."""


@dataclass
class Located:
    """Plain data loaded from YAML plus the 1-based line and column of each key or item."""

    data: Any
    path: str
    positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    text: str = ""  # the source, for columns inside expressions

    def where(self, loc: Loc, *, key: bool = False) -> str:
        """`file:line:col` of the deepest known prefix of `loc` (the file alone when unknown).

        Points at the value (what was found) unless `key` is true (for unknown or misspelt keys).
        """
        loc = tuple(loc)
        table = self.key_positions if key else self.positions
        while loc:
            if loc in table:
                line, col = table[loc]
                return f"{self.path}:{line}:{col}"
            loc = loc[:-1]
        return f"{self.path}:1:1" if self.positions else self.path


def _plain(
    node: Any, loc: Loc, positions: dict[Loc, tuple[int, int]], keys: dict[Loc, tuple[int, int]]
) -> Any:
    if isinstance(node, CommentedMap):
        out = {}
        for key, value in node.items():
            info = node.lc.data.get(key)
            if info:
                keys[(*loc, key)] = (info[0] + 1, info[1] + 1)
                # scalars point at the value (what was found); mappings and lists at their key
                scalar = not isinstance(value, (CommentedMap, CommentedSeq))
                positions[(*loc, key)] = (info[2] + 1, info[3] + 1) if scalar else (info[0] + 1, info[1] + 1)
            out[str(key) if not isinstance(key, (int, float, bool)) else key] = _plain(
                value, (*loc, key), positions, keys
            )
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            info = node.lc.data.get(index)
            if info:
                positions[(*loc, index)] = (info[0] + 1, info[1] + 1)
                keys[(*loc, index)] = (info[0] + 1, info[1] + 1)
            items.append(_plain(value, (*loc, index), positions, keys))
        return items
    if node is not None and type(node).__module__.startswith("ruamel"):
        # ruamel scalar wrappers (ScalarFloat, LiteralScalarString, ...) become builtins
        for kind in (bool, int, float, str):
            if isinstance(node, kind):
                return kind(node)
    return node


# (shown path, text) -> the parsed file, for this process: the definitions are loaded on every editor check and
# preview, and parsing with ruamel is most of a load; only a file whose text changed is parsed again
_PARSED: OrderedDict[tuple[str, str], Located] = OrderedDict()
_PARSED_MAX = 256
_PARSED_LOCK = threading.Lock()


def load_yaml(
    path: str | Path, *, display_path: str | None = None, text: str | None = None, shipped: bool = False
) -> Located:
    """Load a YAML 1.2 file; syntax errors become `ConfigError`-style messages with file:line:col.

    A text parsed before in this process is not parsed again: a copy of the earlier result is returned (callers
    may change what they get). `shipped`: a file of this package (a built-in), whose nesting a test checks, so
    the count of its nesting before composing is skipped (it was 0.5 s of the 1.2 s the 23 built-ins take to
    parse, in every process that loads definitions)."""
    from segmentum.errors import ConfigError

    shown = display_path or str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except FileNotFoundError as exc:
            raise ConfigError(f"{shown}: file not found") from exc
    key = (shown, text)
    with _PARSED_LOCK:
        cached = _PARSED.get(key)
        if cached is not None:
            _PARSED.move_to_end(key)
    if cached is not None:
        return copy.deepcopy(cached)
    located = _parse_yaml(text, shown, check_nesting=not shipped)
    with _PARSED_LOCK:
        _PARSED[key] = copy.deepcopy(located)
        while len(_PARSED) > _PARSED_MAX:
            _PARSED.popitem(last=False)
    return located


def _parse_yaml(text: str, shown: str, *, check_nesting: bool = True) -> Located:
    from segmentum.errors import ConfigError

    yaml = YAML(typ="rt")
    yaml.version = (1, 2)
    try:
        if check_nesting:
            _check_nesting(yaml, text, shown)
        node = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{shown}:{mark.line + 1}:{mark.column + 1}" if mark else shown
        raise ConfigError(f"{where}: invalid YAML: {exc.problem}") from exc
    positions: dict[Loc, tuple[int, int]] = {}
    keys: dict[Loc, tuple[int, int]] = {}
    data = _plain(node, (), positions, keys)
    return Located(
        data=data if data is not None else {}, path=shown, positions=positions, key_positions=keys, text=text
    )


def _check_nesting(yaml: YAML, text: str, shown: str) -> None:
    """NestingError when mappings and lists nest deeper than MAX_YAML_DEPTH.

    Counted on the parser's event stream, which ruamel produces without recursion, before the document is
    composed (recursively) into nodes.
    """
    from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent

    depth = 0
    for event in yaml.parse(text):
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                mark = event.start_mark
                raise NestingError(
                    f"{shown}:{mark.line + 1}:{mark.column + 1}: mappings and lists nest more than "
                    f"{MAX_YAML_DEPTH} levels deep here; definitions need far fewer"
                )
        elif isinstance(event, CollectionEndEvent):
            depth -= 1


def format_validation_error(
    exc: ValidationError,
    located: Located,
    *,
    model: type | None = None,
    allowed: dict[Loc, list[str]] | None = None,
) -> str:
    """Turn a pydantic error into lines `file:line:col: message` with a did-you-mean for unknown keys."""
    lines = []
    for err in exc.errors():
        full_loc = tuple(err["loc"])
        # drop the union-member tags pydantic inserts (they are not keys in the file)
        loc = tuple(
            p for p in full_loc if not (isinstance(p, str) and (p.startswith("function-") or p[:1].isupper()))
        )
        where = located.where(loc, key=err["type"] == "extra_forbidden")
        if err["type"] == "extra_forbidden":
            key = loc[-1]
            candidates = _field_names_for(model, full_loc, allowed)
            hint = did_you_mean(str(key), candidates)
            allowed_txt = f" (allowed: {', '.join(sorted(candidates))})" if candidates and not hint else ""
            lines.append(f"{where}: unknown key '{key}'{hint}{allowed_txt}")
        elif err["type"] == "missing":
            lines.append(f"{where}: missing required key '{loc[-1]}'")
        else:
            found = err.get("input")
            found_txt = (
                f" (found {found!r})" if found is not None and not isinstance(found, (dict, list)) else ""
            )
            message = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"{where}: {message}{found_txt}")
    return "\n".join(lines)


def _field_names_for(model: type | None, loc: Loc, allowed: dict[Loc, list[str]] | None) -> list[str]:
    """The keys allowed where an unknown key was found: from `allowed` patterns, else by walking the model."""
    parent = loc[:-1]
    if allowed:
        for key, names in allowed.items():
            if len(key) == len(parent) and all(k == "*" or k == p for k, p in zip(key, parent, strict=True)):
                return names
    current: Any = model
    for part in parent:
        current = _step(current, part)
        if current is None:
            return []
    fields = getattr(current, "model_fields", None)
    return [f.alias or name for name, f in fields.items()] if fields else []


def _step(annotation: Any, part: Any) -> Any:
    """Follow one loc element through a pydantic model / dict / list / union annotation."""
    import typing

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, f in annotation.model_fields.items():
            if part in (name, f.alias):
                return _unwrap(f.annotation)
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (dict,) and len(args) == 2:
        return _unwrap(args[1])
    if origin in (list, tuple) and args:
        return _unwrap(args[0])
    # a union: a loc names the member pydantic tried by its tag or class name
    return _find_class(annotation, part)


def _find_class(annotation: Any, name: Any) -> Any:
    import typing

    if isinstance(annotation, type) and annotation.__name__ == name:
        return annotation
    for arg in typing.get_args(annotation):
        found = _find_class(arg, name)
        if found is not None:
            return found
    return None


def _unwrap(annotation: Any) -> Any:
    import typing

    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if (
        typing.get_origin(annotation) in (typing.Union, getattr(__import__("types"), "UnionType", None))
        and len(args) == 1
    ):
        return _unwrap(args[0])
    if typing.get_origin(annotation) is typing.Annotated:
        return _unwrap(args[0])
    return annotation
