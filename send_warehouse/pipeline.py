"""The night's stages, one function per DAG task. The DAG file only wires these together.

Every stage is keyed by (run id, logical date) and safe to rerun: landing replaces the night's
rows, dbt rebuilds its models as of the logical date, and the audit rows of a rerun replace
those of the attempt before.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from send_warehouse.config import Settings
from send_warehouse.landing.night import NightLoad, land_night, record_failure
from send_warehouse.landing.tables import SOURCE_SYSTEMS
from send_warehouse.sources import SourceError
from send_warehouse.warehouse.connection import connect, warehouse_url
from send_warehouse.warehouse.schema import ensure_publish_audit, ensure_schema

log = logging.getLogger(__name__)


@contextmanager
def stage(url: str, run_id: str, name: str) -> Iterator[dict[str, Any]]:
    """Record a stage's start, end, status and detail in audit.run_stage."""
    detail: dict[str, Any] = {}
    started = datetime.now(UTC)
    status = "failed"
    # Marked running first: a process killed inside the stage then leaves 'running', never the
    # 'success' of an earlier attempt of the same run, which publication would otherwise trust.
    with connect(url, autocommit=True) as conn:
        conn.execute(
            """insert into audit.run_stage (run_id, stage, started_at, finished_at, status, detail)
               values (%s, %s, %s, null, 'running', '{}')
               on conflict (run_id, stage) do update set started_at = excluded.started_at,
                   finished_at = null, status = 'running', detail = excluded.detail""",
            (run_id, name, started),
        )
    try:
        yield detail
        status = "success"
    except BaseException as e:
        detail["error"] = str(e)[:2000]
        raise
    finally:
        with connect(url, autocommit=True) as conn:
            conn.execute(
                """insert into audit.run_stage (run_id, stage, started_at, finished_at, status, detail)
                   values (%s, %s, %s, %s, %s, %s)
                   on conflict (run_id, stage) do update set started_at = excluded.started_at,
                       finished_at = excluded.finished_at, status = excluded.status, detail = excluded.detail""",
                (run_id, name, started, datetime.now(UTC), status, json.dumps(detail, default=str)),
            )


def start_run(run_id: str, logical_date: date, settings: Settings) -> str:
    """Create or upgrade the pipeline's schemas and reader roles, and register the run.
    Returns the warehouse URL."""
    from send_warehouse.warehouse.roles import ensure_roles

    url = warehouse_url(settings)
    with connect(url) as conn:
        ensure_schema(conn)
        ensure_publish_audit(conn)
        ensure_roles(conn)
        conn.execute(
            """insert into audit.run (run_id, logical_date) values (%s, %s)
               on conflict (run_id) do update set started_at = now(), finished_at = null,
                   status = 'running', message = null""",
            (run_id, logical_date),
        )
        conn.commit()
    return url


def _land(source: str, night: NightLoad, settings: Settings) -> None:
    # Each source imports only its own extractor: one source's breakage cannot stop another.
    if source == "casework":
        from send_warehouse.sources import casework

        casework.land(night, settings.casework_db_url, lookback_minutes=settings.incremental_lookback_minutes)
    elif source == "education":
        from send_warehouse.sources import education

        education.land(night, settings.education_drop_dir, night.logical_date)
    elif source == "socialcare":
        from send_warehouse.sources import socialcare

        socialcare.land(night, settings)
    else:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCE_SYSTEMS}")


def preflight(source: str, run_id: str, logical_date: date, settings: Settings) -> None:
    """Cheap checks that the source is there and shaped right, before any transaction opens."""
    with stage(warehouse_url(settings), run_id, f"preflight_{source}"):
        _preflight(source, logical_date, settings)


def _preflight(source: str, logical_date: date, settings: Settings) -> None:
    if source == "casework":
        from send_warehouse.sources import casework

        casework.preflight(settings.casework_db_url)
    elif source == "education":
        from send_warehouse.sources import education

        education.preflight(settings.education_drop_dir, logical_date)
    elif source == "socialcare":
        from send_warehouse.sources import socialcare

        socialcare.check(settings.socialcare_api_url or "", settings.socialcare_api_token or "",
                         settings.socialcare_timeout_s)
    else:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCE_SYSTEMS}")


def land_source(source: str, run_id: str, logical_date: date, settings: Settings) -> dict[str, Any]:
    """Extract one source and land it for the night, all or nothing."""
    url = warehouse_url(settings)
    with stage(url, run_id, f"land_{source}") as detail, connect(url) as conn:
        started = time.perf_counter()
        try:
            with land_night(conn, source, run_id, logical_date) as night:
                _land(source, night, settings)
        except Exception as e:
            conn.rollback()
            record_failure(conn, source, run_id, logical_date, e)
            if isinstance(e, SourceError):
                raise
            raise SourceError(source, f"landing failed: {e}", "see the task log; fix the cause and rerun the night") \
                from e
        detail["objects"] = [r.as_dict() for r in night.results]
        detail["seconds"] = round(time.perf_counter() - started, 3)
        return detail


def validate_source(source: str, run_id: str, logical_date: date, settings: Settings) -> dict[str, Any]:
    """Run the source's expectation suites on the night's rows; a blocking failure fails the task."""
    url = warehouse_url(settings)
    with stage(url, run_id, f"validate_{source}") as detail:
        from send_warehouse.validation import validate_source as run_suites

        outcome = run_suites(source, run_id, logical_date, url, docs_dir=settings.home / "data_docs")
        summary = outcome.summary()
        detail.update(blocked=outcome.blocked, warnings=len(outcome.warnings), seconds=outcome.seconds,
                      data_docs=summary["data_docs_index"], failed_expectations=summary["failed"],
                      phases=outcome.phase_seconds)
        outcome.raise_if_blocked()
        return summary


def ready_sources(url: str, run_id: str) -> list[str]:
    """Sources that landed in this run and passed validation: the ones dbt rebuilds tonight."""
    with connect(url) as conn:
        rows = conn.execute(
            """select l.source_system from audit.load_log l
               join audit.run_stage v on v.run_id = l.run_id and v.stage = 'validate_' || l.source_system
               where l.run_id = %s and l.status = 'loaded' and v.status = 'success'
               group by l.source_system""",
            (run_id,),
        ).fetchall()
    return sorted(r[0] for r in rows)


def transform(run_id: str, logical_date: date, settings: Settings) -> dict[str, Any]:
    """Build the dbt project as of the night, except the staging of sources that did not land
    or were blocked by validation.

    Downstream models then see a failed source as it stood after its last good night, and the
    run as a whole is marked failed by `finish_run`. One dbt build at a time per warehouse: a
    second run waits on an advisory lock rather than dropping tables under the first.

    The marts and restricted schemas are built into their shadows (`marts__next`, ...), which
    `publish_night` swaps in only when the whole night succeeded (send_warehouse.publish).
    """
    url = warehouse_url(settings)
    sources = ready_sources(url, run_id)
    failed = [s for s in SOURCE_SYSTEMS if s not in sources]
    with stage(url, run_id, "transform") as detail, connect(url, autocommit=True) as lock:
        detail["sources"] = sources
        if not sources:
            detail["skipped"] = "no source landed and passed validation"
            return detail
        from send_warehouse import publish
        from send_warehouse import transform as dbt

        lock.execute("select pg_advisory_lock(hashtext(%s))", (publish.TRANSFORM_LOCK,))
        with connect(url) as conn:
            detail["shadow_rows_carried"] = sum(publish.prepare_shadow(conn).values())
        outcome = dbt.build(
            select=["fqn:*"],
            exclude=[f"tag:{s}" for s in failed],
            unit_tests=False,
            as_of_date=logical_date,
            run_id=run_id,
            warehouse_url=url,
            threads=settings.dbt_threads,
            extra_vars={"publish_suffix": publish.SHADOW_SUFFIX},
        )
        detail["dbt"] = outcome.summary()
        detail["models"] = {r.name: round(r.execution_time, 2) for r in outcome.results
                            if r.resource_type == "model"}
        detail["warnings"] = len(outcome.warnings)
        return detail


def publish_night(run_id: str, logical_date: date, settings: Settings) -> dict[str, Any]:
    """Swap tonight's marts in for BI if every stage succeeded; otherwise keep the last published
    night and record why in audit.publish. Withholding fails this stage too, naming the reasons,
    so the DAG shows at a glance that BI did not get tonight's marts."""
    from send_warehouse import publish

    url = warehouse_url(settings)
    with stage(url, run_id, "publish") as detail, connect(url) as conn:
        publication = publish.publish(conn, run_id, logical_date)
        detail.update(status=publication.status, reasons=publication.reasons, tables=len(publication.tables))
        if publication.status != "published":
            raise RuntimeError(f"night {logical_date} not published (BI keeps the last complete night): "
                               + "; ".join(publication.reasons))
        return publication.as_dict()


def finish_run(run_id: str, logical_date: date, settings: Settings) -> dict[str, Any]:
    """Close the run in the audit and raise if any source or stage failed, so the run shows failed."""
    url = warehouse_url(settings)
    summary = run_summary(url, run_id)
    failed = [s["stage"] for s in summary["stages"] if s["status"] != "success"]
    missing = [s for s in SOURCE_SYSTEMS if s not in summary["sources"]]
    status = "failed" if failed or missing else "success"
    message = None
    if status == "failed":
        message = "; ".join([f"stage {s} failed" for s in failed] + [f"source {s} did not land" for s in missing])
        message += "; the marts were not published: BI still sees the last complete night"
    with connect(url) as conn:
        conn.execute(
            "update audit.run set finished_at = now(), status = %s, message = %s where run_id = %s",
            (status, message, run_id),
        )
        conn.commit()
    summary["status"] = status
    summary["message"] = message
    if status == "failed":
        raise RuntimeError(f"night {logical_date} incomplete: {message}")
    return summary


def run_summary(url: str, run_id: str) -> dict[str, Any]:
    """Rows per source and seconds per stage of a run, from the audit tables."""
    with connect(url) as conn:
        sources: dict[str, dict[str, int]] = {}
        for system, read, loaded, quarantined in conn.execute(
            """select source_system, sum(rows_read), sum(rows_loaded), sum(rows_quarantined)
               from audit.load_log where run_id = %s and status = 'loaded' group by source_system
               order by source_system""",
            (run_id,),
        ).fetchall():
            sources[system] = {"rows_read": int(read), "rows_loaded": int(loaded), "rows_quarantined": int(quarantined)}
        failures = {
            system: message
            for system, message in conn.execute(
                "select source_system, message from audit.load_log where run_id = %s and status = 'failed'",
                (run_id,),
            ).fetchall()
        }
        stages = [
            {"stage": name, "status": status,
             "seconds": round((finished - started).total_seconds(), 2) if finished else None,
             "error": (detail or {}).get("error")}
            for name, status, started, finished, detail in conn.execute(
                "select stage, status, started_at, finished_at, detail from audit.run_stage where run_id = %s"
                " order by started_at",
                (run_id,),
            ).fetchall()
        ]
    return {"run_id": run_id, "sources": sources, "source_failures": failures, "stages": stages}


def _published(url: str, run_id: str) -> bool:
    """Whether this run's publish stage swapped its marts in (what the digests and report describe)."""
    with connect(url) as conn:
        row = conn.execute(
            "select status from audit.run_stage where run_id = %s and stage = 'publish'", (run_id,)).fetchone()
    return row is not None and row[0] == "success"


def send_alerts(run_id: str, logical_date: date, settings: Settings) -> dict[str, Any]:
    """Tonight's data-quality digest per owning team, by email and webhook.

    The digests describe the published marts, so they go out only when tonight was published: a
    withheld night would otherwise repeat yesterday's queue as tonight's. Never fails the load:
    delivery failures are retried and logged by the alerts module, and anything else going wrong
    here is logged and recorded in the stage's detail while the stage itself succeeds."""
    url = warehouse_url(settings)
    with stage(url, run_id, "alerts") as detail:
        if not _published(url, run_id):
            detail["skipped"] = "tonight was not published: no digest (the data engineers are alerted)"
            return detail
        try:
            from send_warehouse.alerts import send_digests

            detail.update(send_digests(url, logical_date))
        except Exception as e:  # an alert must never fail the night
            log.exception("alerts: digests not sent")
            detail["error_not_raised"] = str(e)[:2000]
        return detail


def generate_dbt_docs(run_id: str, logical_date: date, settings: Settings) -> str:
    """`dbt docs generate --static` for the night, copied to SEND_HOME/dbt/docs/static_index.html:
    one HTML file that opens from disk (the plain index.html fetches its JSON, which browsers
    refuse over file://). It reuses the manifest the night's build left in dbt's target folder
    (`--no-compile`: about a second instead of a dozen) and compiles afresh only when there is none."""
    import shutil

    from send_warehouse import transform as dbt
    from send_warehouse.report import dbt_docs_dir

    target = dbt.default_target_path()
    flags = ["--no-compile"] if (target / "manifest.json").exists() else []
    outcome = dbt.run_dbt(["docs", "generate", "--static", *flags], warehouse_url(settings),
                          {"as_of_date": logical_date.isoformat(), "run_id": run_id}, target_path=target,
                          threads=settings.dbt_threads)
    docs = dbt_docs_dir(settings.home)
    docs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(outcome.target_path / "static_index.html", docs / ".static_index.html.tmp")
    (docs / ".static_index.html.tmp").replace(docs / "static_index.html")
    return str(docs / "static_index.html")


def morning_report(run_id: str, logical_date: date, settings: Settings) -> dict[str, Any]:
    """The night's dbt docs, then its morning report (SEND_HOME/reports/<night>/index.html) linking
    them and the validation Data Docs. A docs failure is recorded but does not stop the report.
    A night that was not published has no report of its own: the marts still hold the last
    complete night, whose report stays the latest."""
    from send_warehouse.report import build_report

    url = warehouse_url(settings)
    with stage(url, run_id, "report") as detail:
        if not _published(url, run_id):
            detail["skipped"] = "tonight was not published: the latest report is still the last complete night's"
            return detail
        try:
            detail["dbt_docs"] = generate_dbt_docs(run_id, logical_date, settings)
        except Exception as e:  # the report matters more than its docs link
            log.warning("dbt docs generate failed: %s", e)
            detail["dbt_docs_error"] = str(e)[:500]
        detail.update(build_report(url, logical_date, settings.home))
        return detail
