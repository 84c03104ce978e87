"""The `webhook` sink: a signed JSON POST to an allowed URL.

Headers: `X-Segmentum-Signature: sha256=<hex HMAC-SHA256 of the exact body with the secret from the
environment variable named by secret_env>`, `Idempotency-Key` (the same on every retry of one item, so a
receiver can drop repeats), `X-Segmentum-Event` and `X-Segmentum-Trigger`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from segmentum.actions.sinks.base import Delivered, DeliveryError, OutboxItem, Sink
from segmentum.errors import ActionError

if TYPE_CHECKING:
    import duckdb

    from segmentum.actions.events import SinkEvent
    from segmentum.actions.templates import Templates
    from segmentum.context import Context

RETRYABLE_STATUS = {408, 425, 429}
BODY_KEYS = ("idempotency_key", "trigger", "event", "customer", "segment", "segments", "run", "traits")


def _origin_and_path(url: str) -> tuple[str, str, int | None, str]:
    parts = urlsplit(url.strip())
    port = parts.port
    if port is None:
        port = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), port, parts.path or "/"


_ENCODED = re.compile(r"%(2e|2f|5c)", re.IGNORECASE)  # an encoded '.', '/' or '\\'


def path_escapes(url: str) -> str | None:
    """Why the path of `url` could leave an allowed prefix once a server normalises it, or None: a `.` or `..`
    segment, an encoded dot or slash (`%2e`, `%2f`, `%5c`, any case) or a backslash."""
    try:
        path = urlsplit(url.strip()).path
    except ValueError:
        return "it is not a URL"
    if _ENCODED.search(path):
        return "its path holds an encoded dot or slash (%2e, %2f, %5c)"
    if "\\" in path:
        return "its path holds a backslash"
    if any(segment in (".", "..") for segment in path.split("/")):
        return "its path holds a '.' or '..' segment"
    return None


def url_allowed(url: str, allow: list[str]) -> bool:
    """True when `url` starts with one of the `allow` prefixes, compared as URLs: same scheme, host and port,
    and a path under the prefix's path (so `https://crm.example.com` does not allow `https://crm.example.com.evil`).
    A path that could climb out of the prefix (`path_escapes`: dot segments, encoded dots or slashes) is never
    allowed, and paths are compared normalised (`//` as `/`)."""
    try:
        scheme, host, port, path = _origin_and_path(url)
    except ValueError:
        return False
    if scheme not in ("http", "https") or not host or path_escapes(url):
        return False
    path = _normal(path)
    for prefix in allow:
        try:
            p_scheme, p_host, p_port, p_path = _origin_and_path(prefix)
        except ValueError:
            continue
        if (scheme, host, port) != (p_scheme, p_host, p_port):
            continue
        p_path = _normal(p_path)
        if (
            p_path == "/"
            or path == p_path
            or path.startswith(p_path if p_path.endswith("/") else p_path + "/")
        ):
            return True
    return False


def _normal(path: str) -> str:
    """`path` with repeated slashes collapsed, keeping a trailing slash (dot segments are refused before)."""
    return re.sub("/{2,}", "/", path) or "/"


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSink(Sink):
    name = "webhook"

    def __init__(self, ws: Context) -> None:
        super().__init__(ws)
        self._client: httpx.Client | None = None

    @property
    def rate_per_second(self) -> float | None:
        return self.ws.config.webhooks.rate_per_second

    def check_url(self, url: str, where: str) -> None:
        allow = self.ws.config.webhooks.allow
        escape = path_escapes(url)
        if escape is not None:
            raise ActionError(
                f"{where}: webhook URL {url!r} is refused: {escape}, which could lead outside the allowed "
                "prefixes (a customer id or other value put into the URL by a template must not contain them)"
            )
        if not url_allowed(url, allow):
            listed = ", ".join(allow) if allow else "none"
            raise ActionError(
                f"{where}: webhook URL {url!r} is not allowed (allowed prefixes: {listed}); add its "
                "prefix to webhooks.allow in segmentum.yml"
            )

    def validate(self, settings: dict[str, Any], where: str, templates: Templates) -> None:
        url = settings["url"]
        templates.check(url, f"{where}.url")
        # A template may only fill the path: the part before the first `{{` must be allowed on its own.
        templated = "{{" in url or "{%" in url
        static = url.split("{", 1)[0] if templated else url
        if templated and "/" not in static.partition("://")[2]:
            raise ActionError(
                f"{where}.url: {url!r}: a template may fill only the path of a webhook URL, "
                "not its scheme or host"
            )
        self.check_url(static, f"{where}.url")
        timeout = settings.get("timeout")
        if timeout is not None and timeout <= 0:
            raise ActionError(f"{where}.timeout: must be a positive number of seconds, found {timeout}")

    def render(
        self, event: SinkEvent, settings: dict[str, Any], context: dict[str, Any], templates: Templates
    ) -> dict[str, Any]:
        url = templates.render(settings["url"], context, where="webhook.url").strip()
        self.check_url(url, "webhook.url")
        return {
            "url": url,
            "secret_env": settings.get("secret_env"),
            "timeout": settings.get("timeout"),
            "event_type": event.type,  # the X-Segmentum-Event header
        }

    def body(self, item: OutboxItem) -> bytes:
        data = {k: item.payload.get(k) for k in BODY_KEYS}
        data["idempotency_key"] = item.idempotency_key
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).encode()

    def deliver(self, item: OutboxItem, con: duckdb.DuckDBPyConnection) -> Delivered:
        action = item.payload["action"]
        url = action["url"]
        self.check_url(url, f"outbox item {item.id}")
        body = self.body(item)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "segmentum",
            "Idempotency-Key": item.idempotency_key,
            "X-Segmentum-Event": str(
                action.get("event_type") or (item.payload.get("event") or {}).get("type", "")
            ),
            "X-Segmentum-Trigger": item.trigger,
        }
        secret_env = action.get("secret_env")
        if secret_env:
            secret = os.environ.get(secret_env)
            if not secret:
                raise DeliveryError(
                    f"the environment variable {secret_env} holding the webhook secret is not set; "
                    "set it and the item is retried"
                )
            headers["X-Segmentum-Signature"] = signature(body, secret)
        timeout = action.get("timeout") or self.ws.config.webhooks.timeout
        if self._client is None:
            self._client = httpx.Client(follow_redirects=False)
        try:
            response = self._client.post(url, content=body, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"POST {url}: {type(exc).__name__}: {exc}") from None
        if response.is_success:
            return Delivered(note=f"HTTP {response.status_code}")
        if response.is_redirect:
            raise DeliveryError(
                f"POST {url}: HTTP {response.status_code} redirect to "
                f"{response.headers.get('Location')!r}; webhooks do not follow redirects: point the "
                "URL at the final address (and allow it)",
                retry=False,
            )
        retry_after = _retry_after(response.headers.get("Retry-After"))
        message = f"POST {url}: HTTP {response.status_code} {response.text[:200]!r}"
        if response.status_code in RETRYABLE_STATUS or response.status_code >= 500:
            raise DeliveryError(message, retry_after=retry_after)
        raise DeliveryError(
            message + " (a client error: not retried automatically; fix the receiver and "
            "run `segmentum outbox --retry ID`)",
            retry=False,
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
