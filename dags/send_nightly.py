"""The nightly SEND load: three case systems → raw landing → validation → dbt, keyed by the logical date.

Wiring only; each task calls one function of `send_warehouse.pipeline`. Heavy imports happen
inside the tasks so that parsing this file stays fast.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import dag, task, task_group

LONDON = pendulum.timezone("Europe/London")
SOURCES = ("casework", "education", "socialcare")


def _night(logical_date) -> pendulum.Date:
    """The night's reporting date: the logical date, on the council's local calendar."""
    return pendulum.instance(logical_date).in_timezone(LONDON).date()


def _settings():
    from send_warehouse.config import Settings

    return Settings.from_env()


@dag(
    dag_id="send_nightly",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz=LONDON),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "data-engineering",
        "retries": int(os.environ.get("SEND_TASK_RETRIES", "2")),
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=20),
    },
    tags=["send", "nightly"],
    doc_md=__doc__,
)
def send_nightly():
    @task
    def start(run_id=None, logical_date=None) -> None:
        from send_warehouse import pipeline

        pipeline.start_run(run_id, _night(logical_date), _settings())

    @task
    def transform(run_id=None, logical_date=None) -> dict:
        from send_warehouse import pipeline

        return pipeline.transform(run_id, _night(logical_date), _settings())

    @task(trigger_rule="all_done")
    def report(run_id=None, logical_date=None) -> dict:
        from send_warehouse import pipeline

        return pipeline.morning_report(run_id, _night(logical_date), _settings())

    @task(trigger_rule="all_done", retries=0)
    def publish(run_id=None, logical_date=None) -> dict:
        from send_warehouse import pipeline

        return pipeline.publish_night(run_id, _night(logical_date), _settings())

    @task(trigger_rule="all_done", retries=0)
    def alerts(run_id=None, logical_date=None) -> dict:
        from send_warehouse import pipeline

        return pipeline.send_alerts(run_id, _night(logical_date), _settings())

    @task(trigger_rule="all_done", retries=0)
    def finish(run_id=None, logical_date=None) -> dict:
        from send_warehouse import pipeline

        return pipeline.finish_run(run_id, _night(logical_date), _settings())

    def source_group(source: str):
        @task_group(group_id=source)
        def group():
            @task(task_id="preflight")
            def preflight(run_id=None, logical_date=None) -> None:
                from send_warehouse import pipeline

                pipeline.preflight(source, run_id, _night(logical_date), _settings())

            @task(task_id="land")
            def land(run_id=None, logical_date=None) -> dict:
                from send_warehouse import pipeline

                return pipeline.land_source(source, run_id, _night(logical_date), _settings())

            @task(task_id="validate")
            def validate(run_id=None, logical_date=None) -> dict:
                from send_warehouse import pipeline

                return pipeline.validate_source(source, run_id, _night(logical_date), _settings())

            preflight() >> land() >> validate()

        return group()

    started = start()
    groups = [source_group(s) for s in SOURCES]
    # dbt builds whatever landed: one broken source must not stop the others' models.
    built = transform.override(trigger_rule="all_done")()
    # The teams' digests and the morning report describe the night BI sees, so they follow publication.
    started >> groups >> built >> publish() >> [alerts(), report()] >> finish()


send_nightly()
