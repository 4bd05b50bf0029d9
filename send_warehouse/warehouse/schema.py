"""The schemas the pipeline owns: raw landing tables and the audit trail.

Created idempotently at the start of every night (`ensure_schema`), so a new warehouse needs no
manual set-up. dbt owns everything downstream (staging, intermediate, marts).
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from send_warehouse.landing.partitions import create_night_partition, index_night
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


# Virtual generated columns (computed when read, nothing written per row) exist from PostgreSQL 18.
VIRTUAL_ROW_HASH_FROM = 180000
# The raw layer's layout before raw tables were partitioned by night: the table is renamed to
# this while its rows move into the partitioned table of the same name (`_partition_raw_table`).
_UNPARTITIONED = "{}_unpartitioned"


def _relkind(conn: psycopg.Connection, table: RawTable, name: str | None = None) -> str | None:
    row = conn.execute(
        "select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relname = %s", (table.schema, name or table.name)).fetchone()
    return row[0] if row else None


def _create_raw_table(conn: psycopg.Connection, table: RawTable) -> None:
    """The raw table, partitioned by night, with its default partition (see landing.partitions)."""
    columns = [sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind)) for name, kind in table.columns]
    lineage = [sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind)) for name, kind in LINEAGE_COLUMNS]
    # Same expression, same value either way: dbt reads `_row_hash` as before.
    kind = "virtual" if conn.info.server_version >= VIRTUAL_ROW_HASH_FROM else "stored"
    lineage.append(sql.SQL("_row_hash text generated always as ({}) {}").format(
        sql.SQL(row_hash_expression(table.columns)), sql.SQL(kind)))
    conn.execute(
        sql.SQL("create table {} ({}) partition by list (_logical_date)").format(
            sql.Identifier(table.schema, table.name), sql.SQL(", ").join(columns + lineage)
        )
    )
    _create_default_partition(conn, table)


def _create_default_partition(conn: psycopg.Connection, table: RawTable) -> None:
    conn.execute(sql.SQL("create table {} partition of {} default").format(
        sql.Identifier(table.schema, table.default_partition_name), sql.Identifier(table.schema, table.name)))
    # The default partition takes what is written through the parent; an index keeps
    # latest_snapshot's "newest night" one probe there too.
    conn.execute(sql.SQL("create index {} on {} (_logical_date)").format(
        sql.Identifier(f"{table.default_partition_name}_logical_date"),
        sql.Identifier(table.schema, table.default_partition_name)))


def _partition_raw_table(conn: psycopg.Connection, table: RawTable) -> None:
    """Move a raw table of the unpartitioned layout into the partitioned one, in the caller's
    transaction: every row kept as it was (source and lineage columns; the row hash is the
    same expression over the same columns), one partition per night it holds."""
    old = _UNPARTITIONED.format(table.name)
    conn.execute(sql.SQL("alter table {} rename to {}").format(
        sql.Identifier(table.schema, table.name), sql.Identifier(old)))
    _create_raw_table(conn, table)
    nights = [row[0] for row in conn.execute(sql.SQL("select distinct _logical_date from {} order by 1").format(
        sql.Identifier(table.schema, old))).fetchall()]
    for night in nights:
        create_night_partition(conn, table, night)
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in (*table.column_names, *(c for c, _ in LINEAGE_COLUMNS)))
    conn.execute(sql.SQL("insert into {} ({}) select {} from {}").format(
        sql.Identifier(table.schema, table.name), columns, columns, sql.Identifier(table.schema, old)))
    for night in nights:
        index_night(conn, table, night)
    conn.execute(sql.SQL("drop table {}").format(sql.Identifier(table.schema, old)))


def _ensure_raw_table(conn: psycopg.Connection, table: RawTable) -> None:
    kind = _relkind(conn, table)
    if kind is None:
        _create_raw_table(conn, table)
    elif kind == "r":
        _partition_raw_table(conn, table)
    elif _relkind(conn, table, table.default_partition_name) is None:
        _create_default_partition(conn, table)


def ensure_schema(conn: psycopg.Connection) -> None:
    """Create the audit and raw schemas and tables if they are missing, and move raw tables of the
    older unpartitioned layout into partitions, all in one transaction. Safe to call every night."""
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
            _ensure_raw_table(conn, table)


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
