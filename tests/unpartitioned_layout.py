"""The raw layer as warehouses built before the partitioning by night hold it, and a fingerprint
of every raw row: for the test that such a warehouse moves to the partitioned layout in place.

The old layout, as its code created it: one plain table per raw object, lineage defaults read
from transaction settings, a stored md5 row hash, and an index on `_logical_date`.
"""

from __future__ import annotations

from datetime import date

from psycopg import sql

from send_warehouse.landing.tables import ALL_TABLES, LINEAGE_COLUMNS, row_hash_expression
from send_warehouse.warehouse.connection import connect


def _old_table_ddl(table, name: str) -> sql.Composed:
    columns = [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(kind))
               for c, kind in (*table.columns, *LINEAGE_COLUMNS)]
    columns.append(sql.SQL("_row_hash text generated always as ({}) stored").format(
        sql.SQL(row_hash_expression(table.columns))))
    return sql.SQL("create table {} ({})").format(sql.Identifier(table.schema, name), sql.SQL(", ").join(columns))


def rebuild_unpartitioned(url: str) -> None:
    """Put every raw row of the warehouse back into the old layout (same rows, same lineage)."""
    with connect(url) as conn, conn.transaction():
        for table in ALL_TABLES:
            old = f"{table.name}_old_layout"
            conn.execute(_old_table_ddl(table, old))
            columns = sql.SQL(", ").join(sql.Identifier(c) for c in (*table.column_names,
                                                                     *(c for c, _ in LINEAGE_COLUMNS)))
            conn.execute(sql.SQL("insert into {} ({}) select {} from {}").format(
                sql.Identifier(table.schema, old), columns, columns, sql.Identifier(table.schema, table.name)))
            conn.execute(sql.SQL("drop table {}").format(sql.Identifier(table.schema, table.name)))
            conn.execute(sql.SQL("alter table {} rename to {}").format(
                sql.Identifier(table.schema, old), sql.Identifier(table.name)))
            conn.execute(sql.SQL("create index {} on {} (_logical_date)").format(
                sql.Identifier(f"{table.name}_logical_date"), sql.Identifier(table.schema, table.name)))


def layout(url: str) -> dict[str, str]:
    """Each raw table's kind: 'r' (plain table, the old layout) or 'p' (partitioned)."""
    with connect(url) as conn:
        return {t.qualified_name: conn.execute(
            "select relkind from pg_class where oid = %s::regclass", (t.qualified_name,)).fetchone()[0]
            for t in ALL_TABLES}


def fingerprint(url: str, before: date | None = None) -> dict[str, tuple[int, str]]:
    """Per raw table: rows, and md5 over every column of every row (lineage and row hash
    included), in a fixed order; only the nights before `before` if given."""
    result = {}
    with connect(url) as conn:
        for table in ALL_TABLES:
            columns = sql.SQL(", ").join(sql.Identifier(c) for c in (
                *table.column_names, *(c for c, _ in LINEAGE_COLUMNS), "_row_hash"))
            result[table.qualified_name] = conn.execute(sql.SQL(
                "select count(*), coalesce(md5(string_agg(r::text, E'\\n' order by r::text)), '')"
                " from (select {} from {} where _logical_date < %s) r").format(
                    columns, sql.Identifier(table.schema, table.name)), (before or date.max,)).fetchone()
    return result
