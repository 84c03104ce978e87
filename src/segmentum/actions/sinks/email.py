"""The `email` sink: a personalised email from a sandboxed workspace template, plain text and HTML parts,
over SMTP (`email:` in segmentum.yml) or into the workspace's outbox folder when `dry_run: true`.

Customers whose `email_opt_in` is false, or who have an `email_unsubscribe` event, are never emailed: their
items are recorded as `skipped`. Every message carries `X-Segmentum-Idempotency-Key` and a Message-ID derived
from it, so a retried message can be recognised as the same one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segmentum.actions.sinks.base import Delivered, DeliveryError, OutboxItem, Sink
from segmentum.errors import ActionError

if TYPE_CHECKING:
    import duckdb

    from segmentum.actions.events import SinkEvent
    from segmentum.actions.templates import Templates
    from segmentum.context import Context


class _Text(HTMLParser):
    """HTML to readable plain text for the text part, when no .txt template sits next to the HTML one."""

    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "head", "title"):
            self._skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag == "a":
            self._href = dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head", "title"):
            self._skip = max(0, self._skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag == "a" and self._href:
            self.parts.append(f" ({self._href})")
            self._href = None

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    text, blank = [], False
    for line in lines:
        if line or not blank:
            text.append(line)
        blank = not line
    return "\n".join(text).strip() + "\n"


def message_id(key: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@segmentum>"


class EmailSink(Sink):
    name = "email"

    def __init__(self, ws: Context) -> None:
        super().__init__(ws)
        self._smtp: smtplib.SMTP | None = None
        self._consent_cache: dict[str, str | None] = {}
        self._schema: tuple[bool, bool] | None = None

    @property
    def settings(self) -> Any:
        return self.ws.config.email

    @property
    def rate_per_second(self) -> float | None:
        return self.settings.rate_per_second

    def validate(self, settings: dict[str, Any], where: str, templates: Templates) -> None:
        templates.check(settings["subject"], f"{where}.subject")
        if settings.get("to"):
            templates.check(settings["to"], f"{where}.to")
        if not templates.exists(settings["template"]):
            raise ActionError(
                f"{where}.template: {settings['template']!r} is not a file inside the workspace "
                f"{self.ws.root}; email templates live in the workspace, e.g. templates/winback.html"
            )

    def render(
        self, event: SinkEvent, settings: dict[str, Any], context: dict[str, Any], templates: Templates
    ) -> dict[str, Any]:
        template = settings["template"]
        to = (
            templates.render(settings["to"], context, where="email.to")
            if settings.get("to")
            else str((context.get("customer") or {}).get("email") or "")
        ).strip()
        subject = " ".join(templates.render(settings["subject"], context, where="email.subject").split())
        body = templates.render_file(template, context)
        is_html = template.lower().endswith((".html", ".htm"))
        text_template = str(Path(template).with_suffix(".txt")) if is_html else None
        if is_html:
            html = body
            text = (
                templates.render_file(text_template, context, html=False)
                if text_template and templates.exists(text_template)
                else html_to_text(html)
            )
        else:
            html, text = None, body
        return {
            "to": to,
            "subject": subject,
            "text": text,
            "html": html,
            "template": template,
            "explicit_to": bool(settings.get("to")),
        }

    # -- consent
    def _consent(self, customer_id: str | None, con: duckdb.DuckDBPyConnection) -> str | None:
        """Why this customer must not be emailed, or None."""
        if customer_id is None:
            return None
        if customer_id in self._consent_cache:
            return self._consent_cache[customer_id]
        store = self.ws.store
        if self._schema is None:  # asked once per delivery pass
            self._schema = ("email_opt_in" in store.columns("customers"), store.table_exists("events"))
        has_opt_in, has_events = self._schema
        reason = None
        if has_opt_in:
            row = con.execute(
                "SELECT email_opt_in FROM main.customers WHERE customer_id = ?", [customer_id]
            ).fetchone()
            if row is not None and row[0] is not None and not bool(row[0]):
                reason = "skipped: the customer's email_opt_in is false"
        if reason is None and has_events:
            row = con.execute(
                "SELECT max(occurred_at) FROM main.events WHERE customer_id = ? "
                "AND event = 'email_unsubscribe'",
                [customer_id],
            ).fetchone()
            if row is not None and row[0] is not None:
                reason = f"skipped: the customer unsubscribed (email_unsubscribe at {row[0]})"
        self._consent_cache[customer_id] = reason
        return reason

    def build(self, item: OutboxItem) -> EmailMessage:
        action = item.payload["action"]
        msg = EmailMessage()
        msg["From"] = self.settings.sender
        msg["To"] = action["to"]
        msg["Subject"] = action["subject"]
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = message_id(item.idempotency_key)
        msg["X-Segmentum-Idempotency-Key"] = item.idempotency_key
        msg["X-Segmentum-Trigger"] = item.trigger
        msg.set_content(action.get("text") or "")
        if action.get("html"):
            msg.add_alternative(action["html"], subtype="html")
        return msg

    def deliver(self, item: OutboxItem, con: duckdb.DuckDBPyConnection) -> Delivered:
        action = item.payload["action"]
        customer_email = str((item.payload.get("customer") or {}).get("email") or "").strip().lower()
        if not action.get("explicit_to") or action["to"].strip().lower() == customer_email:
            reason = self._consent(item.customer_id, con)
            if reason:
                return Delivered("skipped", reason)
        if not action.get("to") or "@" not in action["to"]:
            return Delivered("skipped", f"skipped: no email address for customer {item.customer_id}")
        msg = self.build(item)
        if self.settings.dry_run:
            folder = self.ws.root / self.settings.outbox_dir
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{hashlib.sha256(item.idempotency_key.encode()).hexdigest()[:24]}.eml"
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(bytes(msg))
            tmp.replace(target)  # one file per idempotency key: a repeat overwrites, never duplicates
            return Delivered(note=f"dry run: written to {target.relative_to(self.ws.root)}")
        try:
            self._connection().send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(
                f"SMTP refused the recipient {action['to']}: {exc.recipients}", retry=False
            ) from None
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise DeliveryError(
                f"SMTP error {exc.smtp_code}: {exc.smtp_error!r}", retry=not 500 <= exc.smtp_code < 600
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise DeliveryError(f"SMTP {self.settings.smtp_host}:{self.settings.smtp_port}: {exc}") from None
        return Delivered(note=f"sent to {action['to']}")

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        cfg = self.settings
        if not cfg.smtp_host:
            raise DeliveryError(
                "email.smtp_host is not set in segmentum.yml; set it, or `dry_run: true` to write "
                "emails to the outbox folder",
                retry=False,
            )
        try:
            smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=30)
            smtp.ehlo()
            if cfg.starttls:
                smtp.starttls()
                smtp.ehlo()
            if cfg.username:
                password = os.environ.get(cfg.password_env or "", "")
                if not password:
                    smtp.close()
                    raise DeliveryError(
                        f"email.password_env {cfg.password_env!r} is not set in the environment; the "
                        "SMTP password is read from it"
                    )
                smtp.login(cfg.username, password)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"cannot connect to SMTP {cfg.smtp_host}:{cfg.smtp_port}: {exc}") from None
        self._smtp = smtp
        return smtp

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._smtp = None
