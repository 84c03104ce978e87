"""Definitions files changed through the API and the dashboard: every saved version kept, with who saved it.

The one home of the rules of a change (DESIGN section 5.2), used by `PUT /v1/definitions/{file}`, its rollback and
the dashboard editor alike:

- a file is named by the rule `FILE_NAME` and lives in the workspace's `definitions/` folder;
- its version tag (the HTTP ETag) is a digest of its text on disk, so an edit made by hand is a new version too;
- a change names the version it changes (`If-Match`): a stale tag is refused (412), a missing one for a file that
  exists is refused (428), and two concurrent changes of one version cannot both win;
- the new text is validated with every other definition as it is on disk before anything is written; the file is
  replaced atomically, then the version recorded (a text found on disk and never recorded is recorded first, as
  `found`, so that a rollback can return to it);
- a rollback saves the text of an earlier version as a new version: the earlier meaning and its fingerprint.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from segmentum.clock import now
from segmentum.context import Context
from segmentum.errors import DefinitionError, NotFoundError, VersionConflictError
from segmentum.store.tables import DEFINITION_VERSIONS_TABLE, qualified

FILE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}\.ya?ml$")
FOLDER = "definitions"

# One writer at a time per workspace folder: comparing the tag and writing must be one step, or two changes of
# the same version would both pass the comparison. serve is the only process that holds the store for writing.
_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


@dataclass(frozen=True)
class Version:
    """One saved version of a definitions file."""

    file: str
    version: int
    etag: str
    saved_at: datetime
    saved_by: str | None
    action: str  # save | rollback | found
    restored: int | None  # the version a rollback restored
    text: str | None = None

    def as_dict(self, *, text: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.file,
            "version": self.version,
            "etag": self.etag,
            "saved_at": self.saved_at,
            "saved_by": self.saved_by,
            "action": self.action,
            "restored": self.restored,
        }
        if text:
            out["text"] = self.text
        return out


@dataclass(frozen=True)
class FileState:
    """A definitions file as it is on disk now (`text` None when it does not exist)."""

    file: str
    text: str | None
    etag: str | None
    version: int | None  # the recorded version holding this text, if any


def check_file_name(file: str) -> str:
    if not FILE_NAME.match(file or ""):
        raise DefinitionError(
            f"file name {file!r} is not allowed: use 1-64 letters, digits, '_' or '-', ending in .yml or .yaml"
        )
    return file


def etag(text: str) -> str:
    """The version tag of a text: a quoted digest, as HTTP writes an ETag."""
    return '"' + hashlib.sha256(text.encode("utf-8")).hexdigest()[:20] + '"'


def _matches(if_match: str, tag: str | None) -> bool:
    """Whether an If-Match header value names `tag` (a list of tags, weak or strong, or `*` for any)."""
    if tag is None:
        return False
    for part in if_match.split(","):
        candidate = part.strip()
        if candidate == "*":
            return True
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if not candidate.startswith('"'):
            candidate = f'"{candidate}"'
        if candidate == tag:
            return True
    return False


def _path(ctx: Context, file: str) -> Path:
    return ctx.root / FOLDER / check_file_name(file)


def files(ctx: Context) -> list[str]:
    """The definitions files of the workspace, by name."""
    folder = ctx.root / FOLDER
    return sorted(p.name for p in folder.glob("*.y*ml") if FILE_NAME.match(p.name)) if folder.is_dir() else []


def _rows(ctx: Context, file: str, where: str = "", params: list[Any] | None = None) -> list[Version]:
    if not ctx.store.table_exists(DEFINITION_VERSIONS_TABLE, "segmentum"):
        return []
    rows = ctx.store.query(
        f"SELECT file, version, digest, saved_at, saved_by, action, restored, text "
        f"FROM {qualified(DEFINITION_VERSIONS_TABLE)} WHERE file = ? {where} ORDER BY version",
        [file, *(params or [])],
    )
    return [Version(*row) for row in rows]


def versions(ctx: Context, file: str) -> list[Version]:
    """Every recorded version of a file, oldest first (texts included)."""
    return _rows(ctx, check_file_name(file))


def version(ctx: Context, file: str, number: int) -> Version:
    found = _rows(ctx, check_file_name(file), "AND version = ?", [number])
    if not found:
        known = [v.version for v in versions(ctx, file)]
        raise NotFoundError(
            f"definitions/{file} has no version {number}; "
            + (f"versions: {', '.join(map(str, known))}" if known else "no version is recorded yet")
        )
    return found[0]


def state(ctx: Context, file: str) -> FileState:
    path = _path(ctx, file)
    text = path.read_text(encoding="utf-8") if path.is_file() else None
    tag = etag(text) if text is not None else None
    recorded = [v for v in _rows(ctx, file) if v.etag == tag]
    return FileState(file, text, tag, recorded[-1].version if recorded else None)


def _lock(ctx: Context) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(ctx.root.resolve(), threading.Lock())


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _record(ctx: Context, file: str, text: str, by: str | None, action: str, restored: int | None) -> Version:
    saved_at = now(ctx.config.timezone).replace(tzinfo=None, microsecond=0)
    with ctx.store.transaction() as cur:
        row = cur.execute(
            f"SELECT coalesce(max(version), 0) + 1 FROM {qualified(DEFINITION_VERSIONS_TABLE)} WHERE file = ?",
            [file],
        ).fetchone()
        number = int(row[0]) if row else 1
        cur.execute(
            f"INSERT INTO {qualified(DEFINITION_VERSIONS_TABLE)} "
            "(file, version, digest, text, saved_at, saved_by, action, restored) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [file, number, etag(text), text, saved_at, by, action, restored],
        )
    return Version(file, number, etag(text), saved_at, by, action, restored, text)


def save(
    ctx: Context,
    file: str,
    text: str,
    *,
    by: str | None,
    if_match: str | None,
    action: str = "save",
    restored: int | None = None,
) -> Version:
    """Validate and save a definitions file as a new version; returns the version now on disk.

    `if_match` is the version tag the change was made against (None only to create a file that does not exist).
    Saving the text already on disk records nothing new and returns its version."""
    text = text.replace("\r\n", "\n")
    path = _path(ctx, file)
    with _lock(ctx):
        current = state(ctx, file)
        if current.text is None:
            if if_match is not None and if_match.strip() != "*" and not _matches(if_match, None):
                raise VersionConflictError(
                    f"definitions/{file} does not exist, so it cannot match If-Match {if_match}; "
                    "create it without If-Match",
                    current=None,
                )
        elif if_match is None:
            raise VersionConflictError(
                f"definitions/{file} exists: say which version you change with the header If-Match: {current.etag} "
                f"(GET /v1/definitions/{file} gives it)",
                current=current.etag,
                required=True,
            )
        elif not _matches(if_match, current.etag):
            raise VersionConflictError(
                f"definitions/{file} changed since version {if_match} was read (now {current.etag}); "
                "read it again, apply your change to the new text and send it with the new tag",
                current=current.etag,
            )
        if current.text == text:  # nothing changes: the version on disk (recorded now if it never was)
            if current.version is not None:
                return version(ctx, file, current.version)
            return _record(ctx, file, text, None, "found", None)
        # every other definition as it is on disk, this file as it will be: refuse before writing anything
        ctx.definitions(overrides={f"{FOLDER}/{file}": text})
        if current.text is not None and current.version is None:
            _record(ctx, file, current.text, None, "found", None)  # a hand edit: kept so it can be restored
        _write_atomically(path, text)
        return _record(ctx, file, text, by, action, restored)


def rollback(ctx: Context, file: str, number: int, *, by: str | None, if_match: str | None) -> Version:
    """Save the text of an earlier version as a new version (the earlier meaning, and so its fingerprint)."""
    earlier = version(ctx, file, number)
    assert earlier.text is not None
    return save(ctx, file, earlier.text, by=by, if_match=if_match, action="rollback", restored=number)
