"""API keys: created with a scope, stored hashed, looked up by their public prefix; the one rule of which
scope (or dashboard role) a request needs.

A key reads `sgm_<prefix>_<secret>`. The store keeps the prefix, a per-key random salt and
`sha256(salt + key)`; the key itself is shown once, when it is created.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from segmentum.errors import NotFoundError, SegmentumError
from segmentum.store import META, Store

SCOPES = ("read", "write", "admin")
KEY_PREFIX = "sgm_"


class ApiKeyError(SegmentumError, ValueError):
    """An API key argument is invalid (unknown scope, malformed prefix)."""


@dataclass(frozen=True)
class ApiKey:
    """A stored key (never the secret)."""

    prefix: str
    name: str | None
    scope: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "name": self.name,
            "scope": self.scope,
            "created_at": self.created_at.isoformat(sep=" "),
            "revoked_at": self.revoked_at.isoformat(sep=" ") if self.revoked_at else None,
            "active": self.active,
        }


# What a request needs, one rule for API keys and dashboard sessions alike (a session has its user's role
# or its key's scope): nothing for health, admin to manage keys, read to read, write to change anything.
PUBLIC = frozenset({("GET", "/v1/health"), ("HEAD", "/v1/health")})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ADMIN_PATHS = ("/v1/keys",)


def required_scope(method: str, path: str) -> str | None:
    """The scope (key) or role (dashboard user) a request needs; None for the public health check."""
    if (method, path.rstrip("/") or "/") in PUBLIC:
        return None
    if any(path == p or path.startswith(p + "/") for p in ADMIN_PATHS):
        return "admin"
    return "read" if method in READ_METHODS else "write"


def scope_allows(granted: str, needed: str) -> bool:
    """read < write < admin: a key (or role) allows its own scope and every narrower one."""
    return granted in SCOPES and SCOPES.index(granted) >= SCOPES.index(needed)


def check_scope(scope: str) -> str:
    if scope not in SCOPES:
        raise ApiKeyError(f"unknown scope {scope!r}; allowed: {', '.join(SCOPES)} (read < write < admin)")
    return scope


def _digest(salt: str, key: str) -> str:
    return hashlib.sha256((salt + key).encode("utf-8")).hexdigest()


def split_key(key: str) -> str | None:
    """The public prefix (`sgm_xxxxxxxx`) of a key, or None when the text is not shaped like one."""
    if not key.startswith(KEY_PREFIX):
        return None
    body = key[len(KEY_PREFIX) :]
    prefix, sep, secret = body.partition("_")
    if not sep or not prefix or not secret:
        return None
    return KEY_PREFIX + prefix


def normalize_prefix(prefix: str) -> str:
    """Accept `sgm_ab12cd34`, `ab12cd34` or a whole key; return `sgm_ab12cd34`."""
    text = prefix.strip()
    whole = split_key(text)
    if whole:
        return whole
    if not text.startswith(KEY_PREFIX):
        text = KEY_PREFIX + text
    if len(text) <= len(KEY_PREFIX) or not text[len(KEY_PREFIX) :].isalnum():
        raise ApiKeyError(
            f"{prefix!r} is not a key prefix; expected the form 'sgm_ab12cd34' as `segmentum keys list` shows"
        )
    return text


class KeyStore:
    """API keys in `segmentum.api_keys` of a store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, scope: str, name: str | None = None) -> tuple[str, ApiKey]:
        """Create a key; return the key text (shown once) and its record."""
        check_scope(scope)
        con = self.store.cursor()
        while True:
            prefix = KEY_PREFIX + secrets.token_hex(4)
            exists = con.execute(
                f"SELECT count(*) FROM {META}.api_keys WHERE prefix = ?", [prefix]
            ).fetchone()
            if not exists or not exists[0]:
                break
        key = f"{prefix}_{secrets.token_urlsafe(24)}"
        salt = secrets.token_hex(16)
        created = datetime.now().replace(microsecond=0)
        con.execute(
            f"INSERT INTO {META}.api_keys VALUES (?, ?, ?, ?, ?, ?, NULL)",
            [prefix, name, scope, salt, _digest(salt, key), created],
        )
        return key, ApiKey(prefix, name, scope, created)

    def list(self) -> list[ApiKey]:
        rows = (
            self.store.cursor()
            .execute(
                f"SELECT prefix, name, scope, created_at, revoked_at FROM {META}.api_keys ORDER BY created_at, prefix"
            )
            .fetchall()
        )
        return [ApiKey(*row) for row in rows]

    def revoke(self, prefix: str) -> ApiKey:
        """Revoke a key by its prefix; revoking a revoked key is a no-op that returns it."""
        wanted = normalize_prefix(prefix)
        con = self.store.cursor()
        row = con.execute(
            f"SELECT prefix, name, scope, created_at, revoked_at FROM {META}.api_keys WHERE prefix = ?",
            [wanted],
        ).fetchone()
        if row is None:
            known = [k.prefix for k in self.list()]
            from segmentum.errors import did_you_mean

            raise NotFoundError(
                f"no API key with prefix {wanted!r}{did_you_mean(wanted, known)}; `segmentum keys list` shows them"
            )
        if row[4] is None:
            now = datetime.now().replace(microsecond=0)
            con.execute(f"UPDATE {META}.api_keys SET revoked_at = ? WHERE prefix = ?", [now, wanted])
            row = (*row[:4], now)
        return ApiKey(*row)

    def verify(self, key: str) -> ApiKey | None:
        """The active key record matching `key`, or None (unknown, wrong secret or revoked)."""
        prefix = split_key(key)
        if prefix is None:
            return None
        row = (
            self.store.cursor()
            .execute(
                f"SELECT prefix, name, scope, created_at, revoked_at, salt, hash FROM {META}.api_keys WHERE prefix = ?",
                [prefix],
            )
            .fetchone()
        )
        if row is None or row[4] is not None:
            return None
        if not hmac.compare_digest(_digest(row[5], key), row[6]):
            return None
        return ApiKey(*row[:5])
