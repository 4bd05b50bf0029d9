"""Least privilege and secrecy, checked on a real night.

The night runs as its own process, logged in as the pipeline's owner role (not a superuser) with
a known password, against a social care API wanting a known token. Then: neither secret, nor any
child's name or date of birth, appears in anything the run wrote (its log, Airflow's and dbt's
logs and files, the summary it printed); and each role reads exactly the schemas it should, the
publication's shadow and previous schemas included.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from send_warehouse import publish
from send_warehouse.simulator import simulate
from send_warehouse.simulator.socialcare_api import start_server
from send_warehouse.warehouse.roles import PIPELINE_OWNER
from tests.resilience.nights import PASSWORD, TOKEN, Runs, Warehouse

pytestmark = pytest.mark.e2e
NIGHT = date(2026, 11, 24)


@pytest.fixture(scope="module")
def night(tmp_path_factory, new_database) -> tuple[Runs, Warehouse, Path]:
    folder = tmp_path_factory.mktemp("security-sim")
    simulate(size="tiny", seed=11, out=folder, nights=1, as_of=NIGHT)
    server = start_server(folder, token=TOKEN)
    try:
        runs = Runs({"CASEWORK_DB_URL": f"sqlite:///{folder / 'casework.sqlite'}",
                     "EDUCATION_DROP_DIR": str(folder / "education"), "SOCIALCARE_API_URL": server.url},
                    tmp_path_factory.mktemp("security-home"))
        warehouse = Warehouse.owned(new_database("sec"))
        assert runs.run(warehouse, NIGHT) == 0, runs.outputs[-2:]
    finally:
        server.stop()
    return runs, warehouse, folder


def _everything_written(runs: Runs) -> list[tuple[str, str]]:
    """(where, text) of every file the run wrote under its home, Airflow's logs, and its output."""
    import os

    roots = [runs.home, Path(os.environ["AIRFLOW_HOME"]) / "logs"]
    found = [(str(p), p.read_text(errors="replace")) for root in roots if root.exists()
             for p in root.rglob("*") if p.is_file() and p.stat().st_size < 50_000_000
             and p.suffix not in (".sqlite", ".db", ".msgpack")]
    found += [("output", text) for text in runs.outputs]
    assert any("run-" in where for where, _ in found), "the run's log file was not found"
    return found


def test_no_secret_in_any_log_or_summary(night) -> None:
    runs, _, _ = night
    for where, text in _everything_written(runs):
        assert TOKEN not in text, where
        assert PASSWORD not in text, where


def test_no_child_name_or_date_of_birth_in_any_log(night) -> None:
    """In the logs, the morning report and the printed summary. (dbt's target/ and the dbt docs
    page built from it hold the project's compiled SQL and unit-test fixtures, whose made-up dates
    may coincide with a simulated birthday; the docs' catalog holds column types, not values.)"""
    runs, _, folder = night
    with sqlite3.connect(folder / "casework.sqlite") as db:
        people = db.execute("select forename, surname, dob from cw_person").fetchall()
    assert people
    names = {f"{forename} {surname}" for forename, surname, _ in people}
    births = {str(dob)[:10] for _, _, dob in people}
    births |= {f"{b[8:10]}/{b[5:7]}/{b[0:4]}" for b in births}  # the education drop's dd/mm/yyyy
    for where, text in _everything_written(runs):
        if "/dbt/target/" in where or "/dbt/docs/" in where:
            continue
        leaked = [n for n in names if n in text] + [b for b in births if b in text]
        assert not leaked, f"{where}: {leaked[:5]}"


def test_the_pipeline_runs_as_a_least_privileged_owner(night) -> None:
    _, warehouse, _ = night
    assert warehouse.query(
        "select rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin from pg_roles"
        " where rolname = %s", (PIPELINE_OWNER,)) == [(False, False, False, False, False, True)]
    # It built everything, so it owns everything: no object of the warehouse belongs to anyone else.
    assert warehouse.query(
        """select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast', 'public')
             and pg_get_userbyid(c.relowner) <> %s limit 5""", (PIPELINE_OWNER,)) == []
    assert warehouse.query("select status from audit.run") == [("success",)]


def _readable(warehouse: Warehouse, role: str, relation: str) -> bool:
    with psycopg.connect(warehouse.admin) as conn:
        conn.execute(f"set role {role}")
        try:
            conn.execute(f"select count(*) from {relation}")
        except psycopg.errors.InsufficientPrivilege:
            return False
    return True


def _one_table_per_schema(warehouse: Warehouse) -> dict[str, str]:
    return {schema: f'"{schema}"."{table}"' for schema, table in warehouse.query(
        """select distinct on (schemaname) schemaname, tablename from pg_tables
           where schemaname not in ('pg_catalog', 'information_schema') order by schemaname, tablename""")}


def test_each_role_reads_exactly_its_schemas_shadow_and_previous_included(night) -> None:
    """bi_reader: marts only; records_team: marts and restricted; the owner: everything. The
    publication's shadow (tonight's unpublished build, identifiable data included) and the
    previous night's schemas are closed to both readers."""
    _, warehouse, _ = night
    # Every schema the publication knows, with tables in it: publish the night again (so the
    # first publication becomes the previous one), then prepare tomorrow's shadow.
    [(run_id,)] = warehouse.query("select run_id from audit.run")
    with psycopg.connect(warehouse.url) as conn:
        publish.prepare_shadow(conn)
        assert publish.publish(conn, run_id, NIGHT).status == "published"
        publish.prepare_shadow(conn)
    tables = _one_table_per_schema(warehouse)
    assert {"marts", "restricted", "marts__next", "restricted__next", "marts__previous", "restricted__previous",
            "audit", "staging", "intermediate", "raw_casework", "raw_education", "raw_socialcare"} <= set(tables)
    checks = 0
    for schema, relation in tables.items():
        assert _readable(warehouse, "bi_reader", relation) == (schema == "marts"), relation
        assert _readable(warehouse, "records_team", relation) == (schema in ("marts", "restricted")), relation
        assert _readable(warehouse, PIPELINE_OWNER, relation), relation
        checks += 3
    assert checks >= 36


def test_identifiers_from_configuration_are_quoted(postgres_server: str) -> None:
    """The database name comes from WAREHOUSE_URL: one that needs quoting (capitals, a hyphen, a
    space, a quote) still gets its owner, schemas, roles and grants, because every statement
    built from a name quotes it (sql.Identifier) rather than pasting it in."""
    from urllib.parse import quote

    from send_warehouse.warehouse.connection import connect
    from send_warehouse.warehouse.roles import ensure_roles
    from send_warehouse.warehouse.schema import ensure_publish_audit, ensure_schema

    name = "Send-WH it's"
    base = postgres_server.rsplit("/", 1)[0]
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        warehouse = Warehouse.owned(f"{base}/{quote(name)}")
        assert warehouse.name == name
        with connect(warehouse.url) as conn:
            ensure_schema(conn)
            ensure_publish_audit(conn)
            ensure_roles(conn)
        assert warehouse.query("select pg_get_userbyid(datdba) from pg_database where datname = %s", (name,)) == [
            (PIPELINE_OWNER,)]
        assert warehouse.query("select has_database_privilege('bi_reader', %s, 'connect')", (name,)) == [(True,)]
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
