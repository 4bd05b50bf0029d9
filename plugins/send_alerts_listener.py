"""Airflow listener plugin: tells the data engineers when a task of the SEND pipeline fails.

Airflow loads this file from the plugins folder (the runner and docker-compose point
AIRFLOW__CORE__PLUGINS_FOLDER here). On every task failure of a `send_*` DAG it sends the
engineers' alert (source, task, error, how to rerun) through send_warehouse.alerts, by email
and/or webhook as configured (SEND_ALERT_ENGINEER_EMAILS, SEND_ALERT_ENGINEER_WEBHOOK_URL,
SEND_ALERT_WEBHOOK_URL). A failure that Airflow will retry is not alerted: only the last attempt.
The listener never raises: an alert that cannot be sent is logged by the alerts module.
"""

from __future__ import annotations

import logging

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

log = logging.getLogger(__name__)


def _night(task_instance):
    """The night (logical date on the council's calendar) from the Task SDK's task instance."""
    import pendulum

    logical = None
    try:
        logical = task_instance.get_template_context().get("logical_date")
    except Exception:  # not a runtime task instance: look for the attribute instead
        logical = getattr(task_instance, "logical_date", None)
    if logical is None:
        return None
    return pendulum.instance(logical).in_timezone("Europe/London").date()


class TaskFailureAlerts:
    """Airflow 3 listener: on_task_instance_failed(previous_state, task_instance, error)."""

    @hookimpl
    def on_task_instance_failed(self, previous_state, task_instance, error) -> None:
        try:
            dag_id = getattr(task_instance, "dag_id", "") or ""
            if not dag_id.startswith("send_"):
                return
            try_number = getattr(task_instance, "try_number", None)
            max_tries = getattr(task_instance, "max_tries", 0) or 0
            if try_number is not None and try_number <= max_tries:
                return  # Airflow retries it; alert only when the last attempt fails
            from send_warehouse.alerts import AlertSettings
            from send_warehouse.alerts.task_failure import send_task_failure, task_failure_alert

            settings = AlertSettings.from_env()
            alert = task_failure_alert(dag_id, task_instance.task_id, getattr(task_instance, "run_id", ""),
                                       _night(task_instance), error, try_number)
            results = send_task_failure(settings, alert)
            if not results:
                log.info("task failure alert not sent: no engineer email or webhook configured")
        except Exception:  # a listener must never take the task runner down
            log.exception("task failure alert could not be prepared")


class SendAlertsPlugin(AirflowPlugin):
    name = "send_alerts"
    listeners = [TaskFailureAlerts()]
