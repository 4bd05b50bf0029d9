"""Alerts: the nightly data-quality digest per owning team, and the data engineers' alert when
a task fails. Delivered by email (SMTP) and webhook (Slack / Teams); configured from the
environment or Airflow connections (settings.py); a failed delivery never fails the load."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from send_warehouse.alerts.delivery import Alert, Delivery, deliver
from send_warehouse.alerts.digest import TeamDigest, team_digests
from send_warehouse.alerts.settings import AlertSettings

log = logging.getLogger(__name__)

__all__ = ["Alert", "AlertSettings", "Delivery", "TeamDigest", "send_digests", "team_digests"]


def send_digests(url: str, night: date, settings: AlertSettings | None = None) -> dict[str, Any]:
    """Send tonight's digest to every owning team with something new, open or resolved.

    Returns what was sent per team; never raises for a delivery failure (they are logged)."""
    settings = settings or AlertSettings.from_env()
    digests = team_digests(url, night, include_identifiable=settings.include_identifiable)
    teams: dict[str, Any] = {}
    for digest in digests:
        emails, webhook = settings.emails_for(digest.team), settings.webhook_for(digest.team)
        results = deliver(settings, digest.alert(settings.max_items), emails, webhook)
        if not results:
            log.info("no email or webhook configured for team %r; digest not sent", digest.team)
        teams[digest.team] = {**digest.counts(), "deliveries": [r.as_dict() for r in results]}
    failed = sum(1 for t in teams.values() for d in t["deliveries"] if not d["ok"])
    return {"teams": teams, "failed_deliveries": failed}
