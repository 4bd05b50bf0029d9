"""Casework written to PostgreSQL (any SQLAlchemy URL) holds exactly what the SQLite file would."""

from __future__ import annotations

import sqlite3
from datetime import date

import sqlalchemy as sa

from send_warehouse.simulator import simulate

TABLES = ("cw_person", "cw_request", "cw_plan", "cw_review", "cw_document")


def _rows(conn, table: str) -> list[tuple]:
    rows = conn.execute(f"select * from {table} order by 1").fetchall()
    return [tuple(str(v) if v is not None else None for v in row) for row in rows]


def test_postgres_gets_the_same_tables_and_is_replaced_on_rerun(tmp_path, casework_pg_url):
    as_of = date(2026, 11, 24)
    simulate("tiny", seed=9, out=tmp_path / "lite", nights=1, as_of=as_of)
    simulate("tiny", seed=9, out=tmp_path / "pg", nights=1, as_of=as_of, casework_url=casework_pg_url)
    manifest = simulate("tiny", seed=9, out=tmp_path / "pg", nights=1, as_of=as_of, casework_url=casework_pg_url)
    assert not (tmp_path / "pg" / "casework.sqlite").exists()
    lite = sqlite3.connect(tmp_path / "lite" / "casework.sqlite")
    engine = sa.create_engine(casework_pg_url)
    try:
        with engine.connect() as pg:
            inspector = sa.inspect(pg)
            for table in TABLES:
                assert inspector.get_pk_constraint(table)["constrained_columns"] == [
                    inspector.get_columns(table)[0]["name"]]
                expected = _rows(lite, table)
                assert len(expected) == manifest["counts"]["casework"][table]
                got = _rows(pg.connection.driver_connection.cursor(), table)
                # SQLite keeps microseconds in its text timestamps; PostgreSQL prints none when they are 0.
                assert [tuple(v.replace(".000000", "") if v else v for v in row) for row in expected] == got
    finally:
        engine.dispose()
        lite.close()
