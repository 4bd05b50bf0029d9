"""Where alerts go, read from the environment or from Airflow connections (never from files).

Email goes through an SMTP server given by an Airflow connection (`SEND_ALERT_SMTP_CONN_ID`,
default `send_alerts_smtp`: host, port, login, password; extras `from`, `starttls`, `ssl`) or,
when no such connection exists, by `SEND_ALERT_SMTP_HOST`/`_PORT`/`_USER`/`_PASSWORD`/
`_STARTTLS`/`_SSL` and `SEND_ALERT_FROM`. Webhooks: `SEND_ALERT_WEBHOOK_URL` (every team's
digest), or an Airflow connection `SEND_ALERT_WEBHOOK_CONN_ID` (default `send_alerts_webhook`,
whose host, or extra `url`, is the URL). Per team: `SEND_ALERT_TEAM_EMAILS` and
`SEND_ALERT_TEAM_WEBHOOKS`, JSON objects team -> address(es) / URL, with key `*` for teams not
listed. Data engineers: `SEND_ALERT_ENGINEER_EMAILS` (comma-separated) and
`SEND_ALERT_ENGINEER_WEBHOOK_URL` (falls back to `SEND_ALERT_WEBHOOK_URL`).
Docs: docs/data-quality-rules.md ("Alerts").
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)

TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    user: str | None = None
    password: str | None = field(default=None, repr=False)  # never logged
    starttls: bool = False
    ssl: bool = False
    sender: str = "send-warehouse@localhost"


@dataclass(frozen=True)
class AlertSettings:
    smtp: SmtpSettings | None = None
    team_emails: dict[str, list[str]] = field(default_factory=dict)
    team_webhooks: dict[str, str] = field(default_factory=dict, repr=False)  # URLs carry tokens
    engineer_emails: list[str] = field(default_factory=list)
    engineer_webhook: str | None = field(default=None, repr=False)
    include_identifiable: bool = False
    retries: int = 3
    retry_delay_s: float = 2.0
    timeout_s: float = 10.0
    max_items: int = 50

    @property
    def configured(self) -> bool:
        return bool((self.smtp and (self.team_emails or self.engineer_emails)) or self.team_webhooks
                    or self.engineer_webhook)

    def emails_for(self, team: str) -> list[str]:
        return self.team_emails.get(team) or self.team_emails.get("*") or []

    def webhook_for(self, team: str) -> str | None:
        return self.team_webhooks.get(team) or self.team_webhooks.get("*")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> AlertSettings:
        env = dict(os.environ if env is None else env)
        default_webhook = env.get("SEND_ALERT_WEBHOOK_URL") or _webhook_from_connection(
            env.get("SEND_ALERT_WEBHOOK_CONN_ID", "send_alerts_webhook"), env)
        webhooks = {team: url for team, url in _json_map(env, "SEND_ALERT_TEAM_WEBHOOKS").items() if url}
        if default_webhook:
            webhooks.setdefault("*", default_webhook)
        emails = {team: _addresses(value) for team, value in _json_map(env, "SEND_ALERT_TEAM_EMAILS").items()}
        return cls(
            smtp=_smtp(env),
            team_emails={team: a for team, a in emails.items() if a},
            team_webhooks=webhooks,
            engineer_emails=_addresses(env.get("SEND_ALERT_ENGINEER_EMAILS", "")),
            engineer_webhook=env.get("SEND_ALERT_ENGINEER_WEBHOOK_URL") or default_webhook,
            include_identifiable=env.get("SEND_ALERT_INCLUDE_IDENTIFIABLE", "").strip().lower() in TRUE,
            retries=int(env.get("SEND_ALERT_RETRIES", "3")),
            retry_delay_s=float(env.get("SEND_ALERT_RETRY_DELAY_S", "2")),
            timeout_s=float(env.get("SEND_ALERT_TIMEOUT_S", "10")),
            max_items=int(env.get("SEND_ALERT_MAX_ITEMS", "50")),
        )


def _addresses(value: str | list[str]) -> list[str]:
    items = value if isinstance(value, list) else str(value).split(",")
    return [a.strip() for a in items if a and a.strip()]


def _json_map(env: dict[str, str], name: str) -> dict:
    text = env.get(name, "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        log.warning("%s is not a JSON object; ignored", name)
        return {}
    return value if isinstance(value, dict) else {}


def _connection(conn_id: str, env: dict[str, str]) -> dict | None:
    """An Airflow connection as a dict: from AIRFLOW_CONN_<ID> (URI or JSON), else Airflow's own
    lookup (inside a task: the metadata DB and secrets backends). None when it does not exist."""
    raw = env.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if raw:
        raw = raw.strip()
        if raw.startswith("{"):
            value = json.loads(raw)
            value.setdefault("extra", {})
            if isinstance(value["extra"], str):
                value["extra"] = json.loads(value["extra"] or "{}")
            return value
        parts = urlsplit(raw)
        extra = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return {"conn_type": parts.scheme, "host": parts.hostname, "port": parts.port,
                "login": unquote(parts.username) if parts.username else None,
                "password": unquote(parts.password) if parts.password else None,
                "schema": parts.path.lstrip("/") or None, "extra": extra}
    try:
        from airflow.sdk import Connection

        conn = Connection.get(conn_id)
    except Exception:  # not defined, or not inside an Airflow task
        return None
    return {"conn_type": conn.conn_type, "host": conn.host, "port": conn.port, "login": conn.login,
            "password": conn.password, "schema": conn.schema, "extra": conn.extra_dejson}


def _smtp(env: dict[str, str]) -> SmtpSettings | None:
    conn = _connection(env.get("SEND_ALERT_SMTP_CONN_ID", "send_alerts_smtp"), env)
    if conn and conn.get("host"):
        extra = conn.get("extra") or {}
        return SmtpSettings(host=conn["host"], port=int(conn.get("port") or 25), user=conn.get("login"),
                            password=conn.get("password"),
                            starttls=str(extra.get("starttls", "")).lower() in TRUE,
                            ssl=str(extra.get("ssl", "")).lower() in TRUE,
                            sender=extra.get("from") or env.get("SEND_ALERT_FROM") or SmtpSettings.sender)
    host = env.get("SEND_ALERT_SMTP_HOST")
    if not host:
        return None
    return SmtpSettings(host=host, port=int(env.get("SEND_ALERT_SMTP_PORT", "25")),
                        user=env.get("SEND_ALERT_SMTP_USER") or None,
                        password=env.get("SEND_ALERT_SMTP_PASSWORD") or None,
                        starttls=env.get("SEND_ALERT_SMTP_STARTTLS", "").lower() in TRUE,
                        ssl=env.get("SEND_ALERT_SMTP_SSL", "").lower() in TRUE,
                        sender=env.get("SEND_ALERT_FROM") or SmtpSettings.sender)


def _webhook_from_connection(conn_id: str, env: dict[str, str]) -> str | None:
    conn = _connection(conn_id, env)
    if not conn:
        return None
    extra = conn.get("extra") or {}
    if extra.get("url"):
        return extra["url"]
    host = conn.get("host") or ""
    if host.startswith("http"):
        return host
    if not host:
        return None
    scheme = "http" if conn.get("conn_type") == "http" else "https"
    port = f":{conn['port']}" if conn.get("port") else ""
    return f"{scheme}://{host}{port}/{conn.get('schema') or ''}".rstrip("/")
