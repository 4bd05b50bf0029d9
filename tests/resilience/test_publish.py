"""Publication on its own, fast: withheld unless every stage of this very attempt succeeded, and
then swapped in whole, with the readers' grants, in one transaction."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from send_warehouse import publish
from send_warehouse.warehouse.roles import ensure_roles
from send_warehouse.warehouse.schema import ensure_publish_audit, ensure_schema

NIGHT = date(2026, 11, 24)


def _readable(conn: psycopg.Connection, role: str, relation: str) -> object:
    with conn.transaction():
        conn.execute(f"set local role {role}")
        try:
            with conn.transaction():
                return conn.execute(f"select x from {relation}").fetchone()[0]
        except psycopg.errors.InsufficientPrivilege:
            return "refused"


@pytest.fixture
def conn(warehouse_url: str):
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        ensure_schema(conn)
        ensure_publish_audit(conn)
        ensure_roles(conn)
        conn.execute("create table marts.fct_probe as select 1 as x")  # last night's published mart
        ensure_roles(conn)
        conn.execute("insert into audit.run (run_id, logical_date) values ('r1', %s)", (NIGHT,))
        for stage in publish.REQUIRED_STAGES:
            conn.execute("insert into audit.run_stage (run_id, stage, started_at, status) values ('r1', %s, now(), %s)",
                         (stage, "failed" if stage == "land_education" else "success"))
        publish.prepare_shadow(conn)
        conn.execute("update marts__next.fct_probe set x = 2")  # tonight's build
        yield conn


def test_the_shadow_starts_from_the_published_marts(conn) -> None:
    # Incremental marts build on what BI saw last: the shadow held last night's row before "dbt" ran.
    assert conn.execute("select count(*) from marts__next.fct_probe").fetchone()[0] == 1
    assert _readable(conn, "bi_reader", "marts__next.fct_probe") == "refused"
    assert _readable(conn, "records_team", "marts__next.fct_probe") == "refused"


def test_a_failed_night_is_withheld_and_says_why(conn) -> None:
    marts = conn.execute("select 'marts'::regnamespace::oid").fetchone()[0]
    outcome = publish.publish(conn, "r1", NIGHT)
    assert outcome.status == "withheld" and outcome.reasons == ["stage land_education failed"]
    assert conn.execute("select 'marts'::regnamespace::oid").fetchone()[0] == marts
    assert _readable(conn, "bi_reader", "marts.fct_probe") == 1  # yesterday's, untouched
    assert conn.execute("select status, reasons from audit.publish").fetchall() == [
        ("withheld", "stage land_education failed")]
    assert publish.last_published(conn) is None


def test_a_whole_night_is_swapped_in_with_its_grants(conn) -> None:
    conn.execute("update audit.run_stage set status = 'success'")
    outcome = publish.publish(conn, "r1", NIGHT)
    assert outcome.status == "published" and outcome.tables["marts.fct_probe"] == 1
    assert _readable(conn, "bi_reader", "marts.fct_probe") == 2
    assert _readable(conn, "records_team", "marts.fct_probe") == 2
    assert _readable(conn, "bi_reader", "marts__previous.fct_probe") == "refused"
    assert conn.execute("select nspname from pg_namespace where nspname like '%%\\_\\_next'").fetchall() == []
    assert publish.last_published(conn) == ("r1", NIGHT)


def test_a_stage_killed_after_an_earlier_success_does_not_count(conn) -> None:
    """A retried transform killed mid-build leaves 'running' over the earlier attempt's success."""
    from send_warehouse.pipeline import stage

    conn.execute("update audit.run_stage set status = 'success'")
    url = conn.info.dsn
    with pytest.raises(KeyboardInterrupt), stage(url, "r1", "transform"):
        # What the row looks like while the stage runs, i.e. after a kill -9 at this point.
        assert conn.execute("select status from audit.run_stage where stage = 'transform'").fetchone() == ("running",)
        outcome = publish.publish(conn, "r1", NIGHT)
        raise KeyboardInterrupt
    assert outcome.status == "withheld" and outcome.reasons == ["stage transform running"]
    assert _readable(conn, "bi_reader", "marts.fct_probe") == 1


def test_a_shadow_that_was_not_built_is_not_published(conn) -> None:
    conn.execute("update audit.run_stage set status = 'success'")
    conn.execute("drop schema marts__next cascade")
    outcome = publish.publish(conn, "r1", NIGHT)
    assert outcome.reasons == ["schema marts__next was not built"]
    assert _readable(conn, "bi_reader", "marts.fct_probe") == 1
