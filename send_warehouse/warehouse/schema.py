"""The schemas the pipeline owns: raw landing tables and the audit trail.

Created idempotently at the start of every night (`ensure_schema`), so a new warehouse needs no
manual set-up. dbt owns everything downstream (staging, intermediate, marts).
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from send_warehouse.landing.tables import (
    ALL_TABLES,
    LINEAGE_COLUMNS,
    SOURCE_SYSTEMS,
    RawTable,
    row_hash_expression,
)

AUDIT_DDL = """
create schema if not exists audit;

create table if not exists audit.run (
    run_id        text primary key,
    logical_date  date not null,
    started_at    timestamptz not null default now(),
    finished_at   timestamptz,
    status        text not null default 'running',
    message       text
);

create table if not exists audit.load_log (
    run_id            text not null,
    source_system     text not null,
    object            text not null,
    logical_date      date not null,
    rows_read         bigint not null,
    rows_loaded       bigint not null,
    rows_quarantined  bigint not null,
    started_at        timestamptz not null,
    finished_at       timestamptz not null,
    status            text not null,
    message           text,
    primary key (run_id, source_system, object),
    constraint load_log_books_balance check (rows_read = rows_loaded + rows_quarantined)
);

create table if not exists audit.quarantine (
    run_id          text not null,
    source_system   text not null,
    object          text not null,
    logical_date    date not null,
    line_or_key     text not null,
    raw_record      text not null,
    reason          text not null,
    quarantined_at  timestamptz not null default now()
);
create index if not exists quarantine_run_object on audit.quarantine (run_id, source_system, object);

-- Seconds and outcome of each stage of a run (a task of the nightly DAG), for the summary.
create table if not exists audit.run_stage (
    run_id        text not null,
    stage         text not null,
    started_at    timestamptz not null,
    finished_at   timestamptz,
    status        text not null,
    detail        jsonb,
    primary key (run_id, stage)
);

-- High-water marks of incremental extracts, per night, so that a rerun of night D starts from
-- the mark left by the nights before D and reproduces the same extract.
create table if not exists audit.watermark (
    source_system   text not null,
    object          text not null,
    logical_date    date not null,
    high_watermark  text,  -- as the source writes it (ISO-8601); compared only within one object
    run_id          text not null,
    recorded_at     timestamptz not null default now(),
    primary key (source_system, object, logical_date)
);
"""


def _create_raw_table(conn: psycopg.Connection, table: RawTable) -> None:
    columns = [sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind)) for name, kind in table.columns]
    lineage = [sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind)) for name, kind in LINEAGE_COLUMNS]
    lineage.append(
        sql.SQL("_row_hash text generated always as ({}) stored").format(sql.SQL(row_hash_expression(table.columns)))
    )
    conn.execute(
        sql.SQL("create table if not exists {}.{} ({})").format(
            sql.Identifier(table.schema), sql.Identifier(table.name), sql.SQL(", ").join(columns + lineage)
        )
    )
    # Every read of a raw table is "this night" or "up to this night": index the logical date.
    conn.execute(
        sql.SQL("create index if not exists {} on {}.{} (_logical_date)").format(
            sql.Identifier(f"{table.name}_logical_date"), sql.Identifier(table.schema), sql.Identifier(table.name)
        )
    )


def ensure_schema(conn: psycopg.Connection) -> None:
    """Create the audit and raw schemas and tables if they are missing. Safe to call every night."""
    with conn.transaction():
        # Serialise concurrent first runs: CREATE ... IF NOT EXISTS still races on the catalog.
        conn.execute("select pg_advisory_xact_lock(hashtext('send_warehouse.ensure_schema'))")
        conn.execute(AUDIT_DDL)
        # Identity resolution compares names in SQL. These contrib extensions are "trusted" since
        # PostgreSQL 13, so the database's owner can create them without a superuser.
        for extension in ("pg_trgm", "fuzzystrmatch", "unaccent"):
            conn.execute(sql.SQL("create extension if not exists {}").format(sql.Identifier(extension)))
        for system in SOURCE_SYSTEMS:
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(f"raw_{system}")))
        for table in ALL_TABLES:
            _create_raw_table(conn, table)


# Publication of each night's marts (send_warehouse.publish): whether the run's shadow marts were
# swapped in, or withheld and why. BI sees the newest 'published' run.
PUBLISH_DDL = """
create table if not exists audit.publish (
    run_id        text not null,
    logical_date  date not null,
    published_at  timestamptz not null default clock_timestamp(),
    status        text not null check (status in ('published', 'withheld')),
    reasons       text,
    tables        jsonb
);
create index if not exists publish_by_time on audit.publish (published_at);
"""


def ensure_publish_audit(conn: psycopg.Connection) -> None:
    """The audit table of publications (called by start_run after ensure_schema; commits)."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('send_warehouse.ensure_schema'))")
        conn.execute(PUBLISH_DDL)
