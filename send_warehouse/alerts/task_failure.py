"""The data engineers' alert when a task of the nightly DAG fails: which source, which task,
the error, and how to rerun. Sent by the listener plugin (plugins/send_alerts_listener.py)."""

from __future__ import annotations

import re
from datetime import date

from send_warehouse.alerts.delivery import Alert, Delivery, deliver
from send_warehouse.alerts.settings import AlertSettings

SOURCES = ("casework", "education", "socialcare")
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")


def task_failure_alert(dag_id: str, task_id: str, run_id: str, night: date | None, error: object,
                       try_number: int | None = None) -> Alert:
    source = task_id.split(".", 1)[0] if task_id.split(".", 1)[0] in SOURCES else None
    text_error = _URL_PASSWORD.sub(r"\1***@", str(error or "no error given"))[:3000]
    night_text = night.isoformat() if night else "the night"
    lines = [
        f"Task {task_id} of {dag_id} failed" + (f" (attempt {try_number})" if try_number else "") + ".",
        f"Source: {source or 'none (a whole-night stage)'}",
        f"Night: {night_text}",
        f"Run: {run_id}",
        "",
        "Error:",
        f"  {text_error}",
        "",
        "What happens now: " + (
            f"{source}'s models are not rebuilt tonight; the other sources carry on and the marts show "
            f"{source} as of its last good night." if source else
            "the night is marked failed; see the run summary and the task log."),
        "",
        "How to rerun once the cause is fixed (a rerun replaces the night, it never adds to it):",
        f"  send-warehouse run --as-of {night_text}",
        f"  or in Airflow: airflow tasks clear {dag_id} -t '^{re.escape(task_id)}$' --downstream"
        + (f" -s {night_text} -e {night_text}" if night else "") + " --yes",
    ]
    subject = f"SEND pipeline: {task_id} failed for night {night_text}"
    return Alert(subject=subject, text="\n".join(lines))


def send_task_failure(settings: AlertSettings, alert: Alert) -> list[Delivery]:
    return deliver(settings, alert, settings.engineer_emails, settings.engineer_webhook)
