"""The statutory marts as BI tools and records teams see them: roles, contracts, the backlog series.

Runs on the tiny simulated night of conftest (built end to end once per session).
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import psycopg
import pytest
from marts_night import Night

from send_warehouse import transform
from send_warehouse.warehouse.roles import PRIVATE_SCHEMAS, RolesError, ensure_roles

DBT_PROJECT = Path(transform.DBT_PROJECT_DIR)

# The public contract (shared/marts-contract.md): each mart's columns, in the contract's order.
CONTRACT: dict[str, list[str]] = {
    "fct_ehc_requests": [
        "request_key", "casework_request_id", "person_key", "received_date", "decision_date", "outcome_date",
        "draft_issued_date", "team", "decision", "assessment_outcome", "days_to_decision", "decided_within_6_weeks",
        "days_to_outcome", "exception_applies", "issued_within_20_weeks", "no_plan_within_16_weeks",
        "is_transfer_in", "open_days", "status_20_week"],
    "rpt_timeliness_monthly": [
        "month", "team", "plans_issued", "plans_issued_excl_exceptions", "pct_within_20_weeks_excl_exceptions",
        "pct_within_20_weeks_incl_exceptions", "issued_over_52_weeks", "requests_received", "requests_decided",
        "pct_decided_within_6_weeks", "open_breached_at_month_end"],
    "fct_annual_reviews": [
        "review_key", "casework_review_id", "plan_key", "person_key", "due_date", "meeting_date", "decision_date",
        "outcome", "meeting_overdue", "decision_within_4_weeks", "amended_within_12_weeks", "days_overdue"],
    "fct_education_gaps": [
        "gap_key", "person_key", "plan_key", "gap_type", "gap_start", "gap_end", "gap_days", "is_open",
        "compulsory_school_age", "preceding_end_reason"],
}
# The marts this work adds beyond the contract's list, with their keys.
MARTS: dict[str, str | None] = {
    "fct_ehc_requests": "request_key", "rpt_timeliness_monthly": None, "fct_annual_reviews": "review_key",
    "fct_education_gaps": "gap_key", "fct_phase_transfers": "phase_transfer_key",
    "fct_transitions_16_25": "transition_key", "rpt_caseload_census": None, "rpt_backlog_daily": "backlog_key",
}
MY_SQL = [*DBT_PROJECT.glob("models/marts/*/*.sql"), *DBT_PROJECT.glob("models/intermediate/statutory/*.sql"),
          *DBT_PROJECT.glob("macros/statutory/*.sql")]
# Day-count rules whose boundaries must be pinned by a dbt unit test (a substring of a unit test's name).
BOUNDARY_UNIT_TESTS = [
    "decided_within_6_weeks_42_43", "no_plan_within_16_weeks_112_113", "issued_within_20_weeks_140_141_leap",
    "open_at_the_logical_date_98_99_140_141", "exceptions_are_flagged", "transfers_in_have_no_timeliness",
    "open_days_follow_the_night", "timeliness_monthly_percentages", "decision_within_4_weeks_28_29",
    "amended_within_12_weeks_84_85", "meeting_overdue", "education_gaps_breakdown_open_gap_and_plan_dates",
    "education_gaps_overlapping_and_dual", "education_gaps_nieo_then_part_time", "part_time_hours_24_9_and_25",
    "compulsory_school_age_and_leap_years", "phase_transfers_15_february", "post16_deadline_31_march",
    "backlog_daily_counts",
]


def rows(url: str, query: str, role: str | None = None) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        if role:
            conn.execute(f"set role {role}")
        return conn.execute(query).fetchall()


def execute(url: str, statement: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement)


@pytest.fixture(scope="module")
def manifest(tiny_night: Night, tmp_path_factory: pytest.TempPathFactory) -> dict:
    target = tmp_path_factory.mktemp("marts-parse")
    transform.run_dbt(["parse"], tiny_night.url, {"as_of_date": tiny_night.as_of.isoformat()},
                      target_path=target / "target", log_path=target / "logs")
    return json.loads((target / "target" / "manifest.json").read_text())


def _model(manifest: dict, name: str) -> dict:
    return manifest["nodes"][f"model.send_warehouse.{name}"]


# --- roles --------------------------------------------------------------------------------------

def _one_table_per_schema(url: str) -> dict[str, str]:
    found = rows(url, """select distinct on (table_schema) table_schema, table_name from information_schema.tables
                         where table_schema in ('marts', 'restricted', 'staging', 'intermediate', 'audit',
                                                'raw_casework', 'raw_education', 'raw_socialcare')
                         order by table_schema, table_name""")
    return {schema: f"{schema}.{table}" for schema, table in found}


def _readable(url: str, role: str, relation: str) -> bool:
    try:
        rows(url, f"select count(*) from {relation}", role=role)
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


@pytest.fixture(scope="module")
def roles(tiny_night: Night) -> Night:
    with psycopg.connect(tiny_night.url) as conn:
        report = ensure_roles(conn)
    assert set(report.created + report.existing) == {"bi_reader", "records_team"}
    assert {"raw_casework", "raw_education", "raw_socialcare", "audit", "staging", "intermediate",
            "restricted"} <= set(report.private_schemas)
    with psycopg.connect(tiny_night.url) as conn:  # idempotent
        assert set(ensure_roles(conn).existing) == {"bi_reader", "records_team"}
    return tiny_night


def test_roles_are_created_nologin(roles: Night) -> None:
    assert rows(roles.url, "select rolname, rolcanlogin from pg_roles where rolname in ('bi_reader', 'records_team')"
                           " order by 1") == [("bi_reader", False), ("records_team", False)]


def test_bi_reader_reads_marts_only(roles: Night) -> None:
    tables = _one_table_per_schema(roles.url)
    assert set(tables) == {"marts", "restricted", "staging", "intermediate", "audit", "raw_casework",
                           "raw_education", "raw_socialcare"}
    for mart in MARTS:
        assert _readable(roles.url, "bi_reader", f"marts.{mart}"), mart
    assert _readable(roles.url, "bi_reader", "marts.dim_person")
    for schema, relation in tables.items():
        if schema != "marts":
            assert not _readable(roles.url, "bi_reader", relation), relation


def test_records_team_reads_marts_and_restricted_only(roles: Night) -> None:
    for schema, relation in _one_table_per_schema(roles.url).items():
        assert _readable(roles.url, "records_team", relation) == (schema in ("marts", "restricted")), relation


def test_public_reads_nothing(roles: Night) -> None:
    """A role with no grants (any other login on the server) is refused everywhere, marts included."""
    nobody = f"marts_test_{uuid.uuid4().hex[:8]}"
    execute(roles.url, f"create role {nobody} nologin")
    try:
        for relation in _one_table_per_schema(roles.url).values():
            assert not _readable(roles.url, nobody, relation), relation
    finally:
        execute(roles.url, f"drop role {nobody}")


def test_grants_survive_dbt_rebuilding_the_marts(roles: Night, tmp_path: Path) -> None:
    """Both mechanisms on their own: the on-run-end hook, then the default privileges."""
    oid = rows(roles.url, "select 'marts.fct_ehc_requests'::regclass::oid")[0][0]
    # 1. Without default privileges, dbt's on-run-end hook grants the rebuilt table.
    execute(roles.url, "alter default privileges in schema marts revoke select on tables from bi_reader, records_team")
    try:
        transform.run_dbt(["run", "--select", "fct_ehc_requests"], roles.url, {"as_of_date": roles.as_of.isoformat()},
                          target_path=tmp_path / "target", log_path=tmp_path / "logs")
    finally:
        with psycopg.connect(roles.url) as conn:
            ensure_roles(conn)
    assert rows(roles.url, "select 'marts.fct_ehc_requests'::regclass::oid")[0][0] != oid  # really replaced
    assert _readable(roles.url, "bi_reader", "marts.fct_ehc_requests")
    assert _readable(roles.url, "records_team", "marts.fct_ehc_requests")
    # 2. A table created in marts by the pipeline's role outside dbt is readable at once.
    execute(roles.url, "create table marts.zz_roles_probe as select 1 as x")
    try:
        assert _readable(roles.url, "bi_reader", "marts.zz_roles_probe")
    finally:
        execute(roles.url, "drop table marts.zz_roles_probe")
    # ... but a new table in a private schema is not.
    execute(roles.url, "create table intermediate.zz_roles_probe as select 1 as x")
    try:
        assert not _readable(roles.url, "bi_reader", "intermediate.zz_roles_probe")
        assert not _readable(roles.url, "records_team", "intermediate.zz_roles_probe")
    finally:
        execute(roles.url, "drop table intermediate.zz_roles_probe")


def test_roles_need_createrole_or_say_what_to_run(roles: Night) -> None:
    """A pipeline role that may not create roles gets the statements a DBA must run, not a stack trace."""
    weak = f"marts_test_{uuid.uuid4().hex[:8]}"
    missing = f"marts_test_missing_{uuid.uuid4().hex[:6]}"
    execute(roles.url, f"create role {weak} nologin")
    try:
        with psycopg.connect(roles.url) as conn:
            conn.execute(f"set role {weak}")
            with pytest.raises(RolesError, match=f"CREATE ROLE {missing} NOLOGIN"):
                ensure_roles(conn, {missing: ("marts",)})
    finally:
        execute(roles.url, f"drop role {weak}")
    assert "restricted" in PRIVATE_SCHEMAS and "marts" not in PRIVATE_SCHEMAS


# --- contracts and documentation -----------------------------------------------------------------

def test_every_mart_has_an_enforced_documented_contract(tiny_night: Night, manifest: dict) -> None:
    for name, key in MARTS.items():
        node = _model(manifest, name)
        assert node["config"]["contract"]["enforced"] is True, name
        assert node["schema"] == "marts" and "marts" in node["tags"], name
        assert node["description"].strip(), name
        columns = node["columns"]
        assert columns, name
        for column, spec in columns.items():
            assert spec.get("data_type"), f"{name}.{column} has no data_type"
            assert spec.get("description", "").strip(), f"{name}.{column} is undocumented"
        in_db = [c for (c,) in rows(tiny_night.url, f"""select column_name from information_schema.columns
                                                       where table_schema = 'marts' and table_name = '{name}'
                                                       order by ordinal_position""")]
        assert in_db == list(columns), name
        assert in_db[:len(CONTRACT.get(name, []))] == CONTRACT.get(name, []), name
        tests = {n["test_metadata"]["name"] for n in manifest["nodes"].values()
                 if n["resource_type"] == "test" and n.get("test_metadata")
                 and f"model.send_warehouse.{name}" in n["depends_on"]["nodes"]
                 and (key is None or n.get("column_name") == key)}
        if key:
            assert {"unique", "not_null"} <= tests, name
        else:
            assert "unique_combination_of_columns" in tests or "unique" in tests, name


def test_marts_reference_dim_person_and_are_exposed(manifest: dict) -> None:
    related = {n["attached_node"].split(".")[-1] for n in manifest["nodes"].values()
               if n["resource_type"] == "test" and n.get("test_metadata", {}).get("name") == "relationships"
               and "model.send_warehouse.dim_person" in n["depends_on"]["nodes"]}
    assert {"fct_ehc_requests", "fct_annual_reviews", "fct_education_gaps", "fct_phase_transfers",
            "fct_transitions_16_25"} <= related
    exposed = {node.split(".")[-1] for e in manifest["exposures"].values() for node in e["depends_on"]["nodes"]}
    assert set(MARTS) <= exposed
    assert {e["name"] for e in manifest["exposures"].values()} >= {
        "send_statutory_timeliness_dashboard", "send_children_out_of_education_dashboard", "sen2_statutory_return",
        "records_team_alerts"}


def test_every_day_count_boundary_has_a_unit_test(manifest: dict) -> None:
    names = [u["name"] for u in manifest["unit_tests"].values()]
    for boundary in BOUNDARY_UNIT_TESTS:
        assert any(boundary in name for name in names), boundary


def test_no_wall_clock_in_the_statutory_models() -> None:
    """Every "today" is as_of_date(): a rerun of an old night must reproduce that night."""
    assert MY_SQL
    for path in MY_SQL:
        text = re.sub(r"\{#.*?#\}", "", path.read_text(), flags=re.S)
        for clock in ("current_date", "current_timestamp", "localtimestamp", "clock_timestamp", "statement_timestamp"):
            assert clock not in text.lower(), f"{path.name} uses {clock}"
        if path.name != "rpt_backlog_daily.sql":  # computed_at, documented as the one non-reproducible column
            assert "now()" not in text.lower(), path.name


# --- the backlog series ------------------------------------------------------------------------

def _backlog(url: str) -> list[tuple]:
    return rows(url, "select as_of_date::text, count(*), count(distinct run_id), min(run_id)"
                     " from marts.rpt_backlog_daily group by 1 order by 1")


def test_backlog_appends_a_night_and_a_rerun_replaces_it(tiny_night: Night, tmp_path: Path) -> None:
    url, night = tiny_night.url, tiny_night.as_of.isoformat()
    dirs = {"target_path": tmp_path / "target", "log_path": tmp_path / "logs"}
    [(first_night, per_night, _, _)] = _backlog(url)  # the nightly run built the first row set
    assert first_night == night and per_night > 0
    all_open = rows(url, f"""select value from marts.rpt_backlog_daily
                             where as_of_date = '{night}' and team = 'All' and measure = 'open_requests'""")
    assert all_open == rows(url, "select count(*) from marts.fct_ehc_requests where is_open and not is_transfer_in")

    def run(as_of: str, run_id: str, *flags: str) -> None:
        transform.run_dbt(["run", "--select", "rpt_backlog_daily", *flags], url,
                          {"as_of_date": as_of, "run_id": run_id}, **dirs)

    run(night, "rerun-1")  # a rerun of the same night replaces its rows
    assert _backlog(url) == [(night, per_night, 1, "rerun-1")]
    run("2026-11-25", "next-night")  # the next night appends
    assert _backlog(url) == [(night, per_night, 1, "rerun-1"), ("2026-11-25", per_night, 1, "next-night")]
    run("2026-11-25", "next-night-again")
    assert _backlog(url) == [(night, per_night, 1, "rerun-1"), ("2026-11-25", per_night, 1, "next-night-again")]
    run("2026-11-25", "full-refresh", "--full-refresh")  # full_refresh: false keeps the history
    assert [r[0] for r in _backlog(url)] == [night, "2026-11-25"]
    assert rows(url, "select count(*) - count(distinct (as_of_date, team, measure)) from marts.rpt_backlog_daily") == [
        (0,)]
