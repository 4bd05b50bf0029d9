"""Deliver one alert by email and by webhook, with retries. Never raises: a failed delivery is
logged and reported in the result, and the night's load carries on.

The webhook body is `{"text": ...}` (Markdown-ish plain text), which both Slack incoming
webhooks and Microsoft Teams incoming webhooks (connector) accept. Webhook URLs carry their
secret in the path, so only the host is ever logged.
"""

from __future__ import annotations

import json
import logging
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from send_warehouse.alerts.settings import AlertSettings, SmtpSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    subject: str
    text: str  # plain text: the email body and the webhook message


@dataclass
class Delivery:
    channel: str  # email | webhook
    target: str  # recipients, or the webhook's host (never the full URL)
    ok: bool
    attempts: int
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "target": self.target, "ok": self.ok, "attempts": self.attempts,
                "error": self.error}


def _with_retries(settings: AlertSettings, what: str, send: Callable[[], None]) -> tuple[bool, int, str | None]:
    attempts, error = 0, None
    for attempt in range(1 + max(settings.retries, 0)):
        attempts = attempt + 1
        try:
            send()
            return True, attempts, None
        except Exception as e:  # every failure is retried, then logged; none reaches the load
            error = f"{type(e).__name__}: {e}"[:500]
            log.warning("alert delivery to %s failed (attempt %d): %s", what, attempts, error)
            if attempt < settings.retries:
                time.sleep(settings.retry_delay_s * (2 ** attempt))
    log.error("alert delivery to %s gave up after %d attempts: %s", what, attempts, error)
    return False, attempts, error


def send_email(settings: AlertSettings, recipients: list[str], alert: Alert) -> Delivery:
    smtp = settings.smtp
    target = ", ".join(recipients)
    if smtp is None:
        return Delivery("email", target, False, 0, "no SMTP server configured")
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = smtp.sender
    message["To"] = target
    message.set_content(alert.text)

    def send() -> None:
        with _smtp_client(smtp, settings.timeout_s) as client:
            if smtp.starttls and not smtp.ssl:
                client.starttls()
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            client.send_message(message)

    ok, attempts, error = _with_retries(settings, f"email {target}", send)
    return Delivery("email", target, ok, attempts, error)


def _smtp_client(smtp: SmtpSettings, timeout: float) -> smtplib.SMTP:
    if smtp.ssl:
        return smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout)
    return smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)


def post_webhook(settings: AlertSettings, url: str, alert: Alert) -> Delivery:
    host = urlsplit(url).netloc or "webhook"
    body = json.dumps({"text": f"*{alert.subject}*\n\n{alert.text}"}).encode("utf-8")

    if urlsplit(url).scheme not in ("http", "https"):
        return Delivery("webhook", host, False, 0, "webhook URL must be http(s)")

    def send() -> None:
        # the scheme is checked above: only http(s) is ever opened
        request = urllib.request.Request(url, data=body, method="POST",  # noqa: S310
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=settings.timeout_s) as response:  # noqa: S310
            if response.status >= 300:
                raise urllib.error.HTTPError(url, response.status, "unexpected status", response.headers, None)

    ok, attempts, error = _with_retries(settings, f"webhook {host}", send)
    if error:
        error = error.replace(url, host)  # urllib puts the URL (and its token) in some messages
    return Delivery("webhook", host, ok, attempts, error)


def deliver(settings: AlertSettings, alert: Alert, emails: list[str], webhook: str | None) -> list[Delivery]:
    """Send one alert to its email recipients and its webhook, whichever are configured."""
    results = []
    if emails and settings.smtp:
        results.append(send_email(settings, emails, alert))
    if webhook:
        results.append(post_webhook(settings, webhook, alert))
    return results
