"""Checks made before routing: the API key and its scope, and the size of the request body; and the one
answer given before routing, a lookup the in-memory replica holds.

Which scope a request needs is one rule, `segmentum.service.keys.required_scope`, shared with the dashboard.

Both are plain ASGI middleware so that unknown paths answer 401 without a key, like every other path.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from segmentum.api.deps import json_response
from segmentum.api.errors import error_response
from segmentum.service.keys import READ_METHODS, required_scope, scope_allows

DEFAULT_MAX_BODY = 10 * 1024 * 1024


def is_page(scope: Scope, pages: list[Any]) -> bool:
    """A dashboard page outside /v1: it checks its own sign-in session (unknown paths still need a key)."""
    path = scope["path"]
    if path == "/v1" or path.startswith("/v1/"):
        return False
    return any(route.matches(scope)[0] != Match.NONE for route in pages)


COOKIE = "segmentum_key"


def _bearer(scope: Scope) -> str | None:
    """The key from `Authorization: Bearer KEY`; for reads also from the `segmentum_key` cookie, so a
    browser (the dashboard) can send it. Writes need the header: a cookie alone would allow CSRF."""
    cookie_header = None
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            text = value.decode("latin-1").strip()
            kind, _, token = text.partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return token.strip()
            return None
        if name == b"cookie":
            cookie_header = value.decode("latin-1")
    if cookie_header and scope["method"] in READ_METHODS:
        from http.cookies import CookieError, SimpleCookie

        try:
            morsel = SimpleCookie(cookie_header).get(COOKIE)
        except CookieError:
            return None
        return morsel.value if morsel is not None and morsel.value else None
    return None


class AuthMiddleware:
    """401 without a valid key, 403 when its scope is too narrow; the key record goes to `scope['state']`."""

    def __init__(self, app: ASGIApp, runtime: Any, pages: list[Any] | None = None) -> None:
        self.app = app
        self.runtime = runtime
        self.pages = pages or []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        needed = None if is_page(scope, self.pages) else required_scope(scope["method"], scope["path"])
        if needed is None:
            await self.app(scope, receive, send)
            return
        challenge = {"WWW-Authenticate": 'Bearer realm="segmentum"'}
        token = _bearer(scope)
        if token is None:
            response = error_response(
                401,
                "this endpoint needs an API key: send 'Authorization: Bearer KEY' "
                "(create one with `segmentum keys create --scope read`)",
                headers=challenge,
            )
            await response(scope, receive, send)
            return
        key = self.runtime.authenticate(token)
        if key is None:
            response = error_response(
                401,
                "the API key is not valid (unknown, mistyped or revoked); `segmentum keys list` shows the keys",
                headers=challenge,
            )
            await response(scope, receive, send)
            return
        if not scope_allows(key.scope, needed):
            response = error_response(
                403,
                f"{scope['method']} {scope['path']} needs a key with scope '{needed}'; "
                f"key {key.prefix} has scope '{key.scope}' (read < write < admin)",
                details={"needed": needed, "granted": key.scope},
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["api_key"] = key
        await self.app(scope, receive, send)


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """413 for a body over `max_bytes`: by Content-Length when sent, else by counting what arrives."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _reject(self) -> Any:
        return error_response(
            413,
            f"the request body is larger than the limit of {self.max_bytes:,} bytes; send events in smaller "
            "batches",
            details={"limit_bytes": self.max_bytes},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = -1
                if length > self.max_bytes:
                    await self._reject()(scope, receive, send)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject()(scope, receive, send)


LOOKUP_PREFIX, LOOKUP_SUFFIX = "/v1/customers/", "/segments"


class ReplicaLookups:
    """`GET /v1/customers/{id}/segments` for a customer the server's replica holds, answered here, after the
    key check and before routing (issue 20: the lookup under event load).

    Routing and FastAPI's handling of a request cost the one event loop most of a millisecond (profiled at 500
    lookups/s beside the micro-batches: the route's own work, a dictionary read, was a sliver of it), and
    every lookup waited for the others' share. The answer is the route's: `Runtime.segments_held`, as JSON
    through `json_response`. A customer the replica does not hold goes on to the route (which reads the
    store). Added first, so it runs after `AuthMiddleware` and `BodyLimitMiddleware`.
    """

    def __init__(self, app: ASGIApp, runtime: Any) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            customer_id = lookup_target(scope["path"])
            held = self.runtime.segments_held(customer_id) if customer_id is not None else None
            if held is not None:
                await json_response(held)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def lookup_target(path: str) -> str | None:
    """The customer id of a lookup's path, `/v1/customers/{id}/segments` (the id one path segment, as the
    route's `{customer_id}` matches it), else None."""
    if not (path.startswith(LOOKUP_PREFIX) and path.endswith(LOOKUP_SUFFIX)):
        return None
    customer_id = path[len(LOOKUP_PREFIX) : -len(LOOKUP_SUFFIX)]
    return customer_id if customer_id and "/" not in customer_id else None
