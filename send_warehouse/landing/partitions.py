"""One partition per raw table and night: created by landing inside the night's transaction.

A night's rows live in their own table (`RawTable.partition_name`), a list partition of the raw
table on `_logical_date`. That buys landing three things:

- a rerun of a night drops that night's partition instead of deleting its rows, so no dead rows
  are left behind and no index on the date is needed to find them;
- the partition is new in the transaction that fills it, so COPY may write its rows frozen
  (`COPY … FREEZE`): nobody has to set their hint bits or freeze them later;
- the night's lineage is constant: the partition's own column defaults carry it, so COPY
  evaluates no `current_setting()` per row.
"""

from __future__ import annotations

from datetime import date

import psycopg
from psycopg import sql

from send_warehouse.landing.tables import RawTable


def night_partition(table: RawTable, logical_date: date) -> sql.Identifier:
    return sql.Identifier(table.schema, table.partition_name(logical_date))


def create_night_partition(conn: psycopg.Connection, table: RawTable, logical_date: date,
                           lineage: dict[str, object] | None = None) -> sql.Identifier:
    """Create the night's (empty) partition; `lineage` maps lineage columns to the constant
    defaults its rows get (without it, the parent's defaults apply)."""
    defaults = [sql.SQL("{} default {}").format(sql.Identifier(column), sql.Literal(value))
                for column, value in (lineage or {}).items()]
    partition = night_partition(table, logical_date)
    conn.execute(sql.SQL("create table {} partition of {} {} for values in ({})").format(
        partition, sql.Identifier(table.schema, table.name),
        sql.SQL("({})").format(sql.SQL(", ").join(defaults)) if defaults else sql.SQL(""),
        sql.Literal(logical_date)))
    return partition


def drop_night(conn: psycopg.Connection, table: RawTable, logical_date: date) -> None:
    """Remove every raw row of the night: its partition, and any rows of that date written
    through the parent into the default partition."""
    conn.execute(sql.SQL("drop table if exists {}").format(night_partition(table, logical_date)))
    conn.execute(sql.SQL("delete from {} where _logical_date = %s").format(
        sql.Identifier(table.schema, table.default_partition_name)), (logical_date,))


def index_night(conn: psycopg.Connection, table: RawTable, logical_date: date) -> None:
    """Snapshot objects are read as "the newest night on or before D" (dbt's latest_snapshot):
    `max(_logical_date)` over the parent is one index probe per partition with an index on the
    date, and a scan of every night without one. Built once the night is loaded, which costs a
    fraction of keeping it up to date row by row during COPY. Incremental objects are read
    whole up to D (partition pruning): they need none."""
    if table.load_mode != "snapshot":
        return
    name = table.partition_name(logical_date)
    conn.execute(sql.SQL("create index {} on {} (_logical_date)").format(
        sql.Identifier(f"{name}_logical_date"), night_partition(table, logical_date)))
