"""Hand-made raw rows for dbt tests, landed the way landing lands them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from send_warehouse.landing.tables import table
from send_warehouse.warehouse.connection import connect
from send_warehouse.warehouse.schema import ensure_schema


def dbt_warehouse(new_database: Callable[[str], str], base: Path, prefix: str) -> tuple[str, dict[str, Path]]:
    """A fresh warehouse with the pipeline's schemas, and dbt target/log folders of its own under
    `base`: what a test that lands hand-made rows and runs dbt on them starts from."""
    url = new_database(prefix)
    with connect(url) as conn:
        ensure_schema(conn)
    return url, {"target_path": base / "target", "log_path": base / "logs"}


def land_rows(url: str, logical_date: str, run_id: str, night: dict[tuple[str, str], list[tuple]]) -> None:
    """Land one night: lineage from transaction settings, a rerun replaces the night.

    `night` maps (source system, raw table) to rows in the raw table's source column order.
    """
    with connect(url) as conn:
        for (system, name), rows in night.items():
            raw = table(system, name)
            with conn.transaction():
                conn.execute(
                    "select set_config('send.run_id', %s, true), set_config('send.logical_date', %s, true),"
                    " set_config('send.source_object', %s, true)",
                    (run_id, logical_date, name),
                )
                conn.execute(f"delete from {raw.qualified_name} where _logical_date = %s", (logical_date,))
                if rows:
                    columns = ", ".join(raw.column_names)
                    marks = ", ".join(["%s"] * len(raw.column_names))
                    with conn.cursor() as cur:
                        cur.executemany(f"insert into {raw.qualified_name} ({columns}) values ({marks})", rows)


def query(url: str, sql: str) -> list[tuple]:
    with connect(url) as conn:
        return conn.execute(sql).fetchall()
