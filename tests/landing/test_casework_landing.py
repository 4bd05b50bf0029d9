"""The casework database: SQLite and PostgreSQL sources, incremental on updated_at, drift and outages."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from send_warehouse.landing.night import land_night
from send_warehouse.sources import SourceError, casework

SCHEMA = """
create table cw_person (person_id integer primary key, upn varchar(13), uln varchar(10), forename varchar(100),
  surname varchar(100), dob date, sex char(1), postcode varchar(10), ethnicity varchar(4), updated_at timestamp);
create table cw_request (request_id integer primary key, person_id integer, received_date date,
  request_source smallint, decision_date date, decision char(1), assessment_outcome char(1), outcome_date date,
  draft_issued_date date, exception_reason varchar(30), transferred_in_from char(3), team varchar(30),
  updated_at timestamp);
create table cw_plan (plan_id integer primary key, person_id integer, request_id integer, issued_date date,
  primary_need varchar(4), secondary_need varchar(4), named_urn integer, named_setting_code varchar(4),
  ceased_date date, cease_reason smallint, updated_at timestamp);
create table cw_review (review_id integer primary key, plan_id integer, due_date date, meeting_date date,
  decision_date date, outcome char(1), amended_plan_date date, updated_at timestamp);
create table cw_document (document_id integer primary key, person_id integer, request_id integer,
  doc_type varchar(20), file_name varchar(200), filed_at timestamp, deleted_at timestamp)
"""


def make_source(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in SCHEMA.split(";"):
            conn.execute(sa.text(statement))
        conn.execute(sa.text(
            "insert into cw_person values (1, 'A950000178301', null, 'Ann', 'Smith', '2015-02-01', 'F', 'NR1 1AA',"
            " 'WBRI', '2026-11-20 10:00:00')"))
        conn.execute(sa.text(
            "insert into cw_request values (10, 1, '2026-01-05', 1, '2026-02-10', 'Y', 'Y', '2026-05-20',"
            " '2026-04-20', null, null, 'North', '2026-11-23 09:00:00')"))
        conn.execute(sa.text(
            "insert into cw_document values (100, 1, 10, 'FINAL_PLAN', 'A950000178301_FINAL_PLAN_20260520.pdf',"
            " '2026-05-20 12:00:00', null)"))
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
def source_url(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'casework.sqlite'}"
    else:
        url = request.getfixturevalue("casework_pg_url")
    make_source(url).dispose()
    return url


def land(conn, url, day, run_id=None, **kwargs):
    with land_night(conn, "casework", run_id or f"run-{day}", day) as night:
        casework.land(night, url, lookback_minutes=0, **kwargs)
    return {r.object: r for r in night.results}


def test_first_night_extracts_everything_with_types(warehouse, source_url):
    results = land(warehouse, source_url, date(2026, 11, 24))
    assert {k: r.rows_loaded for k, r in results.items()} == {
        "cw_person": 1, "cw_request": 1, "cw_plan": 0, "cw_review": 0, "cw_document": 1}
    assert warehouse.execute("select person_id, dob, updated_at from raw_casework.cw_person").fetchall() == [
        (1, date(2015, 2, 1), datetime(2026, 11, 20, 10, 0))]


def test_later_nights_extract_only_changed_rows_but_documents_whole(warehouse, source_url):
    land(warehouse, source_url, date(2026, 11, 24))
    engine = sa.create_engine(source_url)
    with engine.begin() as conn:
        conn.execute(sa.text("update cw_request set decision = 'N', updated_at = '2026-11-24 15:00:00'"))
        conn.execute(sa.text(
            "insert into cw_person values (2, null, null, 'Bo', 'Ng', '2016-03-03', 'M', null, null,"
            " '2026-11-24 16:00:00')"))
    engine.dispose()
    results = land(warehouse, source_url, date(2026, 11, 25))
    assert {k: r.rows_read for k, r in results.items()} == {
        "cw_person": 1, "cw_request": 1, "cw_plan": 0, "cw_review": 0, "cw_document": 1}
    # A rerun of the night reproduces the same extract: the mark comes from the night before.
    results = land(warehouse, source_url, date(2026, 11, 25))
    assert results["cw_person"].rows_read == 1
    assert warehouse.execute(
        "select _logical_date, count(*) from raw_casework.cw_person group by 1 order by 1").fetchall() == [
        (date(2026, 11, 24), 1), (date(2026, 11, 25), 1)]


def test_full_refresh_reads_everything(warehouse, source_url):
    land(warehouse, source_url, date(2026, 11, 24))
    results = land(warehouse, source_url, date(2026, 11, 25), full_refresh=True)
    assert results["cw_person"].rows_read == 1


def test_unreadable_value_quarantines_its_row_only(warehouse, tmp_path):
    url = f"sqlite:///{tmp_path / 'casework.sqlite'}"
    engine = make_source(url)
    with engine.begin() as conn:  # SQLite keeps whatever text it is given
        conn.execute(sa.text(
            "insert into cw_person values (2, null, null, 'Bo', 'Ng', '2016-02-31', 'M', null, null,"
            " '2026-11-24 16:00:00')"))
    engine.dispose()
    results = land(warehouse, url, date(2026, 11, 24))
    assert (results["cw_person"].rows_loaded, results["cw_person"].rows_quarantined) == (1, 1)
    assert warehouse.execute("select line_or_key, reason from audit.quarantine").fetchall() == [
        ("person_id=2", "dob: '2016-02-31' is not a real date")]


def test_missing_column_is_schema_drift_and_fails_naming_it(warehouse, tmp_path):
    url = f"sqlite:///{tmp_path / 'casework.sqlite'}"
    make_source(url).dispose()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("alter table cw_plan drop column primary_need"))
    engine.dispose()
    with pytest.raises(SourceError, match=r"cw_plan is missing column\(s\) primary_need"):
        land(warehouse, url, date(2026, 11, 24))
    assert warehouse.execute("select count(*) from raw_casework.cw_person").fetchone() == (0,)


def test_unreachable_database_fails_loudly_without_the_password(warehouse):
    url = "postgresql+psycopg://reader:s3cret@127.0.0.1:9/casework"
    with pytest.raises(SourceError) as error:
        casework.preflight(url)
    assert "cannot reach the casework database" in str(error.value)
    assert "s3cret" not in str(error.value)
    with pytest.raises(SourceError, match="CASEWORK_DB_URL is not set"):
        casework.preflight(None)
