"""Dashboard sign-in: users with scrypt-hashed passwords and a role, sessions in an HMAC-signed cookie (with
their CSRF token), and the limit on failed sign-ins.

Users live in `segmentum.users`; the cookie signing secret is made once per workspace and kept in
`segmentum.web_secrets`, so sessions survive a restart of `segmentum serve` and never leave the store.
A user's role is one of the API key scopes (read < write < admin, `segmentum.service.keys`); a session opened
with an API key has that key's scope. `session_scope` reads it afresh on every request, so removing a user,
changing a role or revoking a key takes effect at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from segmentum.errors import NotFoundError, SegmentumError
from segmentum.service.keys import SCOPES
from segmentum.store import META, Store

SESSION_COOKIE = "segmentum_session"
SESSION_SECONDS = 12 * 3600
MIN_PASSWORD = 8
DEFAULT_ROLE = "read"  # least privilege: `--role write` to edit definitions and complete tasks
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
# scrypt with n=2**14, r=8 (16 MiB, ~50 ms): the cost OWASP lists as the floor for interactive sign-in
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class UserError(SegmentumError, ValueError):
    """A dashboard user cannot be created as asked."""


def _has_user(store: Store, name: str) -> bool:
    return store.cursor().execute(f"SELECT 1 FROM {META}.users WHERE name = ?", [name]).fetchone() is not None


def _hash(password: str, salt: bytes) -> str:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT).hex()


def add_user(
    store: Store, name: str, password: str, *, replace: bool = False, role: str | None = None
) -> None:
    """Create a dashboard user with `role` (default read), or, with `replace`, set a new password (and the
    role, when given) of an existing one."""
    if not _NAME.match(name):
        raise UserError(f"user name {name!r} is not allowed; use 1-64 letters, digits, '_', '.', '@' or '-'")
    if role is not None and role not in SCOPES:
        raise UserError(f"role {role!r} is not one of {', '.join(SCOPES)} (read < write < admin)")
    if len(password) < MIN_PASSWORD:
        raise UserError(
            f"the password for {name!r} has {len(password)} characters; use at least {MIN_PASSWORD}"
        )
    cur = store.cursor()
    exists = _has_user(store, name)
    if exists and not replace:
        raise UserError(f"user {name!r} exists already; pass --replace to set a new password")
    salt = secrets.token_bytes(16)
    if exists:
        cur.execute(
            f"UPDATE {META}.users SET password_hash = ?, salt = ?, role = coalesce(?, role) WHERE name = ?",
            [_hash(password, salt), salt.hex(), role, name],
        )
    else:
        cur.execute(
            f"INSERT INTO {META}.users (name, password_hash, salt, created_at, role) VALUES (?, ?, ?, ?, ?)",
            [name, _hash(password, salt), salt.hex(), datetime.now(), role or DEFAULT_ROLE],
        )


def remove_user(store: Store, name: str) -> None:
    cur = store.cursor()
    if not _has_user(store, name):
        raise NotFoundError(f"no dashboard user {name!r}; `segmentum users list` shows them")
    cur.execute(f"DELETE FROM {META}.users WHERE name = ?", [name])


def list_users(store: Store) -> list[dict[str, Any]]:
    rows = store.cursor().execute(f"SELECT name, role, created_at FROM {META}.users ORDER BY name").fetchall()
    return [{"name": r[0], "role": r[1], "created_at": r[2]} for r in rows]


def check_password(store: Store, name: str, password: str) -> bool:
    """True when the user exists and the password matches (compared in constant time)."""
    row = (
        store.cursor()
        .execute(f"SELECT password_hash, salt FROM {META}.users WHERE name = ?", [name])
        .fetchone()
    )
    if row is None:
        _hash(password, b"0" * 16)  # same work for unknown users: no timing hint of who exists
        return False
    return hmac.compare_digest(row[0], _hash(password, bytes.fromhex(row[1])))


def secret(store: Store) -> bytes:
    """The workspace's cookie-signing secret (created on first use)."""
    cur = store.cursor()
    row = cur.execute(f"SELECT value FROM {META}.web_secrets WHERE name = 'session'").fetchone()
    if row is None:
        cur.execute(
            f"INSERT INTO {META}.web_secrets VALUES ('session', ?) ON CONFLICT DO NOTHING",
            [secrets.token_hex(32)],
        )
        row = cur.execute(f"SELECT value FROM {META}.web_secrets WHERE name = 'session'").fetchone()
    assert row is not None  # inserted just above
    return bytes.fromhex(row[0])


# Guessing passwords (or keys) at the sign-in page: after this many failures within the window, from one client
# address or for one user name, further attempts are refused until the oldest failure ages out.
MAX_FAILURES = 5
FAILURE_WINDOW = 300.0  # seconds


class SignInLimiter:
    """Failed sign-ins counted per key (`addr:<ip>`, `user:<name>`) over a sliding window, in memory.

    Checked before the password is hashed, so a flood of guesses costs the server no scrypt work either.
    A success clears the user's count (not the address's: one valid account must not reset an attacker's
    budget for the others).
    """

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window: float = FAILURE_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, *keys: str) -> int | None:
        """Whole seconds until an attempt for these keys is allowed again; None when it is allowed now."""
        now = self.clock()
        with self._lock:
            waits = [
                times[0] + self.window - now
                for key in keys
                if len(times := self._recent(key, now)) >= self.max_failures
            ]
        return max(1, int(max(waits) + 0.999)) if waits else None

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                self._recent(key, now)
                self._failures.setdefault(key, deque(maxlen=self.max_failures)).append(now)
            if len(self._failures) > 100_000:  # bound memory under a flood from many addresses
                for key in list(self._failures):
                    self._recent(key, now)  # drops the key once its failures have aged out

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


@dataclass(frozen=True)
class Session:
    user: str
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_session(key: bytes, user: str, *, now: float | None = None) -> str:
    payload = _b64(json.dumps({"u": user, "e": int((now or time.time()) + SESSION_SECONDS)}).encode("utf-8"))
    mac = hmac.new(key, payload.encode("ascii"), hashlib.sha256).hexdigest()
    return f"{payload}.{mac}"


def csrf_token(key: bytes, cookie: str) -> str:
    """The CSRF token of a session: bound to its cookie, so it changes with every sign-in and cannot be
    computed by a page that cannot read the (HttpOnly) cookie."""
    return hmac.new(key, b"csrf:" + cookie.encode("ascii", "replace"), hashlib.sha256).hexdigest()


def read_session(key: bytes, cookie: str | None, *, now: float | None = None) -> Session | None:
    """The session in a cookie value, or None when it is missing, forged or expired."""
    if not cookie or "." not in cookie:
        return None
    payload, _, mac = cookie.rpartition(".")
    expected = hmac.new(key, payload.encode("ascii", "replace"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        session = Session(str(data["u"]), int(data["e"]))
    except (ValueError, KeyError, TypeError):
        return None
    return session if session.expires > (now or time.time()) else None


def session_scope(store: Store, who: str, *, internal_key: bool = False) -> str | None:
    """What a session may do now: its user's role, or its API key's scope (`key:<prefix>`); None when the
    user is gone or the key revoked (the session has ended)."""
    if who.startswith("key:"):
        prefix = who[4:]
        if prefix == "internal":  # the server's own token lives only as long as the server
            return "admin" if internal_key else None
        if not store.table_exists("api_keys", schema=META):
            return None
        row = (
            store.cursor()
            .execute(f"SELECT scope, revoked_at FROM {META}.api_keys WHERE prefix = ?", [prefix])
            .fetchone()
        )
        return str(row[0]) if row is not None and row[1] is None else None
    row = store.cursor().execute(f"SELECT role FROM {META}.users WHERE name = ?", [who]).fetchone()
    return str(row[0] or DEFAULT_ROLE) if row is not None else None


def still_allowed(store: Store, who: str, *, internal_key: bool = False) -> bool:
    """Whether a session's user still exists, or its API key (`key:<prefix>`) is still unrevoked."""
    return session_scope(store, who, internal_key=internal_key) is not None
