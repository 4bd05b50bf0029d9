"""Atomic publication: BI roles only ever see the last night that succeeded from end to end.

The night's dbt build writes the published schemas (`marts`, `restricted`) into shadow copies
(`marts__next`, `restricted__next`, through the dbt var `publish_suffix`) that no reader can
see. `publish` then swaps them in, in one transaction, only if every stage of this run succeeded:

    marts        -> marts__previous   (yesterday's, kept for a manual rollback until next publish)
    marts__next  -> marts             (tonight's)
    (the same for restricted), then the readers' grants are reapplied, inside the same transaction.

Renaming a schema rewrites no table and is one catalog change: a BI query sees either all of
yesterday's marts or all of tonight's, never a mix. If the night failed, or the process dies at
any point before the commit, the published schemas are untouched and `audit.publish` says why.

Incremental marts (e.g. `rpt_backlog_daily`, which accumulates one night per run) keep their
history because `prepare_shadow` starts the shadow from copies of the published tables: dbt then
builds on exactly what BI saw last, and a failed night never enters the accumulated history.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg
from psycopg import sql

from send_warehouse.landing.tables import SOURCE_SYSTEMS

log = logging.getLogger(__name__)

PUBLISHED_SCHEMAS = ("marts", "restricted")
SHADOW_SUFFIX = "__next"
PREVIOUS_SUFFIX = "__previous"
# Shared with the transform stage: a build never rewrites the shadow while it is being swapped in.
TRANSFORM_LOCK = "send_warehouse.transform"


def shadow(schema: str) -> str:
    return schema + SHADOW_SUFFIX


def previous(schema: str) -> str:
    return schema + PREVIOUS_SUFFIX


# Every stage a night must pass before its marts may be published.
REQUIRED_STAGES = tuple(
    [f"{step}_{source}" for source in SOURCE_SYSTEMS for step in ("preflight", "land", "validate")] + ["transform"]
)


@dataclass
class Publication:
    run_id: str
    logical_date: date
    status: str  # published | withheld
    reasons: list[str] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)  # schema.table -> rows, when published

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reasons": self.reasons, "tables": self.tables}


def _schema_exists(conn: psycopg.Connection, schema: str) -> bool:
    return conn.execute("select 1 from pg_namespace where nspname = %s", (schema,)).fetchone() is not None


def _tables(conn: psycopg.Connection, schema: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "select tablename from pg_tables where schemaname = %s order by tablename", (schema,)).fetchall()]


def prepare_shadow(conn: psycopg.Connection) -> dict[str, int]:
    """Recreate the shadow schemas as copies of the published tables; commit. Returns rows copied.

    Whatever an earlier, unpublished attempt left in the shadow is dropped first, so a rerun
    after a crash starts from what BI sees, not from a half-built shadow. The caller holds the
    TRANSFORM_LOCK (the transform stage does, for the whole build).
    """
    copied: dict[str, int] = {}
    with conn.transaction():
        for schema in PUBLISHED_SCHEMAS:
            target = sql.Identifier(shadow(schema))
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(target))
            conn.execute(sql.SQL("create schema {}").format(target))
            if not _schema_exists(conn, schema):
                continue  # the first night: nothing published yet
            for table in _tables(conn, schema):
                src = sql.Identifier(schema, table)
                dst = sql.SQL("{}.{}").format(target, sql.Identifier(table))
                conn.execute(sql.SQL("create table {} (like {} including all)").format(dst, src))
                with conn.cursor() as cur:
                    cur.execute(sql.SQL("insert into {} select * from {}").format(dst, src))
                    copied[f"{schema}.{table}"] = cur.rowcount
        # The shadow is private until published (its restricted copy holds identifiable data).
        from send_warehouse.warehouse.roles import grant_readers

        grant_readers(conn)
    return copied


def _reasons_to_withhold(conn: psycopg.Connection, run_id: str) -> list[str]:
    """Why this run's marts must not be published; empty when the whole night succeeded."""
    if conn.execute("select 1 from audit.run where run_id = %s", (run_id,)).fetchone() is None:
        return [f"run {run_id} is not registered in audit.run"]
    # Each stage marks itself 'running' before it starts (pipeline.stage), so an attempt killed
    # inside a stage shows as running here, never as the success of an earlier attempt.
    stages = dict(conn.execute(
        "select stage, status from audit.run_stage where run_id = %s", (run_id,)).fetchall())
    reasons = []
    for name in REQUIRED_STAGES:
        status = stages.get(name)
        if status != "success":
            reasons.append(f"stage {name} {'did not run' if status is None else status}")
    for source, message in conn.execute(
            "select source_system, message from audit.load_log where run_id = %s and status <> 'loaded'",
            (run_id,)).fetchall():
        reasons.append(f"source {source} failed to land: {(message or '')[:300]}")
    for schema in PUBLISHED_SCHEMAS:
        if not reasons and not _schema_exists(conn, shadow(schema)):
            reasons.append(f"schema {shadow(schema)} was not built")
    return reasons


def _record(conn: psycopg.Connection, publication: Publication) -> None:
    conn.execute(
        """insert into audit.publish (run_id, logical_date, status, reasons, tables)
           values (%s, %s, %s, %s, %s)""",
        (publication.run_id, publication.logical_date, publication.status,
         "; ".join(publication.reasons) or None, json.dumps(publication.tables)),
    )


def publish(conn: psycopg.Connection, run_id: str, logical_date: date) -> Publication:
    """Swap tonight's shadow marts in if the whole night succeeded; otherwise record why not.

    One transaction: either BI sees every table of tonight's build, or the published schemas
    are exactly as they were. Commits.
    """
    from send_warehouse.warehouse.roles import grant_readers

    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (TRANSFORM_LOCK,))
        reasons = _reasons_to_withhold(conn, run_id)
        if reasons:
            publication = Publication(run_id, logical_date, "withheld", reasons)
            _record(conn, publication)
            log.warning("night %s not published; BI keeps the last published night: %s",
                        logical_date, "; ".join(reasons))
            return publication
        tables: dict[str, int] = {}
        for schema in PUBLISHED_SCHEMAS:
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(previous(schema))))
            if _schema_exists(conn, schema):
                conn.execute(sql.SQL("alter schema {} rename to {}").format(
                    sql.Identifier(schema), sql.Identifier(previous(schema))))
            conn.execute(sql.SQL("alter schema {} rename to {}").format(
                sql.Identifier(shadow(schema)), sql.Identifier(schema)))
            for table in _tables(conn, schema):
                tables[f"{schema}.{table}"] = conn.execute(
                    sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table))).fetchone()[0]
        # Grants follow a table through a rename, but default privileges belong to the schema:
        # reapply both, and close the previous night's schemas, before anyone can look.
        grant_readers(conn)
        publication = Publication(run_id, logical_date, "published", [], tables)
        _record(conn, publication)
    return publication


def last_published(conn: psycopg.Connection) -> tuple[str, date] | None:
    """(run_id, logical_date) of the night BI sees now, or None before the first publication."""
    row = conn.execute(
        "select run_id, logical_date from audit.publish where status = 'published'"
        " order by published_at desc limit 1").fetchone()
    return (row[0], row[1]) if row else None




# Columns that record when a row was computed rather than what it says; a rerun of the same
# night legitimately changes them, so fingerprints leave them out.
RUN_METADATA_COLUMNS = ("computed_at", "run_id")


def fingerprint(conn: psycopg.Connection, schemas: tuple[str, ...] = PUBLISHED_SCHEMAS,
                ignore: tuple[str, ...] = RUN_METADATA_COLUMNS) -> dict[str, tuple[int, str]]:
    """(rows, md5 of the rows' text in sorted order) per table of `schemas`: two warehouses whose
    marts hold the same rows have equal fingerprints, whatever order or physical layout."""
    result: dict[str, tuple[int, str]] = {}
    for schema in schemas:
        for table in _tables(conn, schema):
            columns = [r[0] for r in conn.execute(
                """select attname from pg_attribute where attrelid = %s::regclass and attnum > 0
                   and not attisdropped order by attnum""",
                (f'"{schema}"."{table}"',)).fetchall() if r[0] not in ignore]
            count, digest = conn.execute(sql.SQL(
                "select count(*), md5(coalesce(string_agg(r::text, E'\\n' order by r::text), ''))"
                " from (select {} from {}) r").format(
                    sql.SQL(", ").join(sql.Identifier(c) for c in columns), sql.Identifier(schema, table))).fetchone()
            result[f"{schema}.{table}"] = (count, digest)
    return result


__all__ = ["PUBLISHED_SCHEMAS", "Publication", "SHADOW_SUFFIX", "fingerprint", "last_published", "prepare_shadow",
           "publish"]
