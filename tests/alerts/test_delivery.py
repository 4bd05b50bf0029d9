"""Alert delivery to a real local SMTP server and a real local HTTP receiver: what arrives,
retries, and that a failed delivery is reported, never raised."""

from __future__ import annotations

from datetime import date

from send_warehouse.alerts import AlertSettings
from send_warehouse.alerts.delivery import Alert, deliver, post_webhook
from send_warehouse.alerts.task_failure import send_task_failure, task_failure_alert
from tests.alert_receivers import free_port, smtp_server, webhook_server


def settings_for(env: dict[str, str]) -> AlertSettings:
    return AlertSettings.from_env({"SEND_ALERT_RETRY_DELAY_S": "0.01", "SEND_ALERT_TIMEOUT_S": "2", **env})


def test_email_and_webhook_arrive():
    with smtp_server() as smtp, webhook_server() as hook:
        settings = settings_for({"SEND_ALERT_SMTP_HOST": smtp.host, "SEND_ALERT_SMTP_PORT": str(smtp.port),
                                 "SEND_ALERT_FROM": "warehouse@council.example", "SEND_ALERT_WEBHOOK_URL": hook.url})
        results = deliver(settings, Alert("Subject line", "Body text\nsecond line"), ["records@council.example"],
                          settings.webhook_for("North"))
    assert [r.ok for r in results] == [True, True]
    [message] = smtp.to("records@council.example")
    assert message["Subject"] == "Subject line" and message["From"] == "warehouse@council.example"
    assert "second line" in message.get_content()
    [post] = hook.posts
    assert post["content_type"] == "application/json"
    # {"text": ...} is what Slack and Teams incoming webhooks both accept.
    assert set(post["body"]) == {"text"} and "Subject line" in post["body"]["text"]
    # The webhook's secret path is never reported, only its host.
    assert all("not-a-secret" not in str(r.as_dict()) for r in results)


def test_smtp_from_an_airflow_connection_uri():
    with smtp_server() as smtp:
        uri = f"smtp://{smtp.host}:{smtp.port}?from=dq%40council.example"
        settings = settings_for({"AIRFLOW_CONN_SEND_ALERTS_SMTP": uri,
                                 "SEND_ALERT_TEAM_EMAILS": '{"*": "all@council.example"}'})
        assert settings.smtp.sender == "dq@council.example"
        [result] = deliver(settings, Alert("S", "T"), settings.emails_for("Anyone"), None)
    assert result.ok and smtp.to("all@council.example")


def test_webhook_failures_are_retried_then_delivered():
    with webhook_server() as hook:
        hook.fail_next = 2
        result = post_webhook(settings_for({"SEND_ALERT_RETRIES": "3"}), hook.url, Alert("S", "T"))
    assert result.ok and result.attempts == 3 and len(hook.posts) == 1


def test_unreachable_targets_are_reported_not_raised():
    settings = settings_for({"SEND_ALERT_SMTP_HOST": "127.0.0.1", "SEND_ALERT_SMTP_PORT": str(free_port()),
                             "SEND_ALERT_RETRIES": "1"})
    results = deliver(settings, Alert("S", "T"), ["x@council.example"], f"http://127.0.0.1:{free_port()}/hook/secret")
    assert [(r.channel, r.ok, r.attempts) for r in results] == [("email", False, 2), ("webhook", False, 2)]
    assert all(r.error for r in results) and "secret" not in str([r.as_dict() for r in results])


def test_task_failure_alert_names_source_task_error_and_rerun():
    with webhook_server() as hook, smtp_server() as smtp:
        settings = settings_for({"SEND_ALERT_ENGINEER_WEBHOOK_URL": hook.url, "SEND_ALERT_SMTP_HOST": smtp.host,
                                 "SEND_ALERT_SMTP_PORT": str(smtp.port),
                                 "SEND_ALERT_ENGINEER_EMAILS": "de@council.example"})
        alert = task_failure_alert("send_nightly", "education.validate", "manual__1", date(2026, 11, 24),
                                   RuntimeError("education blocked: pupils lost column sen_provision; "
                                                "db postgresql://send:hunter2@db/send"), 1)
        results = send_task_failure(settings, alert)
    assert [r.ok for r in results] == [True, True]
    text = hook.posts[0]["body"]["text"]
    for expected in ("education.validate", "Source: education", "sen_provision",
                     "send-warehouse run --as-of 2026-11-24", "airflow tasks clear send_nightly"):
        assert expected in text
    assert "hunter2" not in text
    subject = smtp.to("de@council.example")[0]["Subject"]
    assert subject == "SEND pipeline: education.validate failed for night 2026-11-24"
