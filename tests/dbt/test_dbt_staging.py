"""dbt staging end to end: raw rows of two nights in an embedded PostgreSQL, built through
send_warehouse.transform, read back as of each night.

Night 2026-11-23 lands first, then 2026-11-24, then night 23 is rerun (replacing its rows, now
with a later _loaded_at than night 24's): the staging state as of 24 must not change because of it.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path

import pytest

from send_warehouse import transform
from send_warehouse.warehouse.connection import connect
from send_warehouse.warehouse.schema import ensure_schema
from tests.raw_rows import land_rows, query

NIGHT_1 = "2026-11-23"
NIGHT_2 = "2026-11-24"
TS = datetime(2026, 11, 22, 10, 0)


def child(child_id: str, updated_at: str, involvements: list[dict] | None, **fields: object) -> tuple:
    payload = {"id": child_id, "updated_at": updated_at, **fields}
    if involvements is not None:
        payload["involvements"] = involvements
    return (child_id, updated_at, json.dumps(payload))


# Rows per night, in the raw tables' source column order (send_warehouse.landing.tables).
NIGHTS: dict[str, dict[tuple[str, str], list[tuple]]] = {
    NIGHT_1: {
        ("casework", "cw_person"): [
            (1, " a950000178301 ", None, "  amy  ", "o'neil", date(2015, 3, 1), "f", "sw1a1aa", " wbri", TS),
            (2, None, None, "Ben", "Ng", date(2014, 5, 6), "M", "M11AE", None, TS),
        ],
        ("casework", "cw_request"): [
            (10, 1, date(2026, 6, 1), 1, date(2026, 7, 1), "y", None, None, None, None, None, " North ", TS),
        ],
        ("casework", "cw_plan"): [
            (100, 1, 10, date(2026, 10, 1), "asd", None, 100001, None, None, None, TS),
        ],
        ("casework", "cw_review"): [
            (1000, 100, date(2027, 10, 1), None, None, None, None, TS),
        ],
        ("casework", "cw_document"): [
            (5000, 1, 10, "FINAL_PLAN", "A950000178301_FINAL_PLAN_20261001.pdf", TS, None),
            (5001, 2, None, "other", "x.pdf", TS, None),
        ],
        ("education", "pupils"): [
            ("P1", "A950000178301", None, "Amy", "O'Neil", date(2015, 3, 1), "F", "SW1A 1AA", "E"),
            ("P2", None, None, "Cal", "Roe", date(2013, 1, 2), "M", "b338th", "k"),
        ],
        ("education", "placements"): [
            ("PL1", "P1", 100001, None, date(2019, 9, 1), None, None, None, "N"),
            ("PL2", "P2", None, "nieo", date(2025, 9, 1), None, None, None, "N"),
        ],
        ("education", "establishments"): [
            (100001, "Oak   Primary", "mainstream", "primary", "926"),
        ],
        ("socialcare", "children"): [
            child("LCS-1", "2026-11-22T10:00:00+00:00",
                  [{"type": "CIN", "start_date": "2025-01-10", "end_date": None, "team": "North"}],
                  nhs_number="943 476 5870", first_name="Amy", last_name="O'Neil",
                  date_of_birth="2015-03-01", gender="female", postcode="sw1a 1aa"),
            child("LCS-2", "2026-11-22T11:00:00+00:00", [],
                  first_name="Dan", last_name="Poe", date_of_birth="2012-02-30", gender="male"),
        ],
    },
    NIGHT_2: {
        # Incremental: person 1 changed, person 2 re-read unchanged, person 3 new.
        ("casework", "cw_person"): [
            (1, "A950000178301", None, "Amy", "O'Neil-Smith", date(2015, 3, 1), "F", "SW1A 1AA", "WBRI",
             datetime(2026, 11, 23, 15, 0)),
            (2, None, None, "Ben", "Ng", date(2014, 5, 6), "M", "M11AE", None, TS),
            (3, None, None, "Eve", "Ash", date(2016, 8, 9), "U", None, None, datetime(2026, 11, 23, 16, 0)),
        ],
        ("casework", "cw_request"): [
            (10, 1, date(2026, 6, 1), 1, date(2026, 7, 1), "Y", "y", date(2026, 10, 1), None, None, None, "North",
             datetime(2026, 11, 23, 15, 0)),
        ],
        ("casework", "cw_plan"): [],
        ("casework", "cw_review"): [],
        # Snapshot: document 5001 vanished, 5002 appeared.
        ("casework", "cw_document"): [
            (5000, 1, 10, "FINAL_PLAN", "A950000178301_FINAL_PLAN_20261001.pdf", TS, None),
            (5002, 3, None, "OTHER", "y.pdf", TS, None),
        ],
        # Snapshot: pupil P2 and placement PL2 vanished, P3 appeared, PL1 ended.
        ("education", "pupils"): [
            ("P1", "A950000178301", None, "Amy", "O'Neil-Smith", date(2015, 3, 1), "F", "SW1A 1AA", "E"),
            ("P3", None, None, "Fay", "Lee", date(2017, 4, 4), "F", None, "N"),
        ],
        ("education", "placements"): [
            ("PL1", "P1", 100001, None, date(2019, 9, 1), date(2026, 11, 20), "breakdown", None, "N"),
        ],
        ("education", "establishments"): [
            (100001, "Oak Primary", "MAINSTREAM", "PRIMARY", "926"),
        ],
        ("socialcare", "children"): [
            child("LCS-1", "2026-11-23T12:00:00+00:00",
                  [{"type": "CIN", "start_date": "2025-01-10", "end_date": "2026-11-20", "team": "North"},
                   {"type": "cla", "start_date": "2026-11-21", "end_date": None, "team": " Looked  After "}],
                  nhs_number="9434765870", first_name="Amy", last_name="O'Neil-Smith",
                  date_of_birth="2015-03-01", gender="female", postcode="SW1A1AA"),
            child("LCS-3", "2026-11-23T13:00:00+00:00", None, first_name="Gus", gender="unknown"),
        ],
    },
}


def land(url: str, logical_date: str, run_id: str) -> None:
    land_rows(url, logical_date, run_id, NIGHTS[logical_date])


rows = query


@pytest.fixture(scope="module")
def warehouse(new_database) -> str:
    url = new_database("dbt")
    with connect(url) as conn:
        ensure_schema(conn)
    land(url, NIGHT_1, "r1")
    land(url, NIGHT_2, "r2")
    land(url, NIGHT_1, "r1-rerun")  # rerun of the older night, loaded after night 2
    return url


@pytest.fixture(scope="module")
def dbt_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("dbt")
    return {"target_path": base / "target", "log_path": base / "logs"}


SELECT = ["tag:casework", "tag:education", "tag:socialcare"]


DBT_ENV = ("DBT_HOST", "DBT_PORT", "DBT_USER", "DBT_PASSWORD", "DBT_DBNAME", "DBT_THREADS")


def test_parse(warehouse: str, dbt_dirs: dict[str, Path]) -> None:
    before = {key: os.environ.get(key) for key in DBT_ENV}
    outcome = transform.run_dbt(["parse"], warehouse, {"as_of_date": NIGHT_2, "run_id": "t"}, **dbt_dirs)
    assert outcome.success
    assert (dbt_dirs["target_path"] / "manifest.json").exists()
    assert {key: os.environ.get(key) for key in DBT_ENV} == before  # connection settings not left behind


def test_staging_as_of_the_first_night(warehouse: str, dbt_dirs: dict[str, Path]) -> None:
    outcome = transform.build(SELECT, date(2026, 11, 23), "t1", warehouse, threads=4, **dbt_dirs)
    assert outcome.success and not outcome.failed
    assert {r.resource_type for r in outcome.results} >= {"model", "test", "unit_test"}
    assert outcome.by_name("stg_casework__persons").status == "success"

    # Casework: night 2 is invisible; names, codes and postcodes normalised.
    assert rows(warehouse, """select casework_person_id, upn, forename, surname, sex, postcode, ethnicity,
                                     source_logical_date::text
                              from staging.stg_casework__persons order by 1""") == [
        (1, "A950000178301", "amy", "o'neil", "F", "SW1A 1AA", "WBRI", NIGHT_1),
        (2, None, "Ben", "Ng", "M", "M1 1AE", None, NIGHT_1),
    ]
    assert rows(warehouse, "select decision, assessment_outcome, team from staging.stg_casework__requests") == [
        ("Y", None, "North")
    ]
    assert rows(warehouse, "select primary_need from staging.stg_casework__plans") == [("ASD",)]
    assert rows(warehouse, "select casework_document_id, doc_type from staging.stg_casework__documents order by 1") == [
        (5000, "FINAL_PLAN"), (5001, "OTHER"),
    ]
    # Education: night 1's snapshot.
    pupils = "select pupil_ref, postcode, sen_provision from staging.stg_education__pupils order by 1"
    assert rows(warehouse, pupils) == [
        ("P1", "SW1A 1AA", "E"), ("P2", "B33 8TH", "K"),
    ]
    assert rows(warehouse, "select placement_id, setting_code from staging.stg_education__placements order by 1") == [
        ("PL1", None), ("PL2", "NIEO"),
    ]
    establishments = "select establishment_name, establishment_type from staging.stg_education__establishments"
    assert rows(warehouse, establishments) == [
        ("Oak Primary", "MAINSTREAM")
    ]
    # Social care: payload flattened; an impossible date of birth becomes null; no involvements, no rows.
    assert rows(warehouse, """select socialcare_child_id, nhs_number, sex, date_of_birth::text, postcode
                              from staging.stg_socialcare__children order by 1""") == [
        ("LCS-1", "9434765870", "F", "2015-03-01", "SW1A 1AA"),
        ("LCS-2", None, "M", None, None),
    ]
    assert rows(warehouse, """select socialcare_child_id, involvement_number, involvement_type, end_date
                              from staging.stg_socialcare__involvements order by 1, 2""") == [
        ("LCS-1", 1, "CIN", None),
    ]


def test_staging_as_of_the_second_night(warehouse: str, dbt_dirs: dict[str, Path]) -> None:
    outcome = transform.build(SELECT, NIGHT_2, "t2", warehouse, threads=4, **dbt_dirs)
    assert outcome.success and not outcome.failed

    # Latest version per key: person 1 changed, person 2's re-read keeps its (unchanged) version,
    # person 3 is new; night 1's rerun (loaded last) does not override night 2.
    assert rows(warehouse, """select casework_person_id, surname, source_logical_date::text
                              from staging.stg_casework__persons order by 1""") == [
        (1, "O'Neil-Smith", NIGHT_2), (2, "Ng", NIGHT_2), (3, "Ash", NIGHT_2),
    ]
    # Incremental tables with no change on night 2 keep night 1's version.
    assert rows(warehouse, "select casework_plan_id, source_logical_date::text from staging.stg_casework__plans") == [
        (100, NIGHT_1)
    ]
    assert rows(warehouse, "select assessment_outcome, outcome_date::text from staging.stg_casework__requests") == [
        ("Y", "2026-10-01")
    ]
    # Snapshots: rows missing from the newest night disappear.
    assert rows(warehouse, "select casework_document_id from staging.stg_casework__documents order by 1") == [
        (5000,), (5002,),
    ]
    assert rows(warehouse, "select pupil_ref from staging.stg_education__pupils order by 1") == [("P1",), ("P3",)]
    assert rows(warehouse, """select placement_id, end_date::text, end_reason
                              from staging.stg_education__placements""") == [("PL1", "2026-11-20", "BREAKDOWN")]
    # Involvements: one row each from the child's latest version, open end date kept null.
    assert rows(warehouse, """select socialcare_child_id, involvement_number, involvement_type,
                                     start_date::text, end_date::text, team
                              from staging.stg_socialcare__involvements order by 1, 2""") == [
        ("LCS-1", 1, "CIN", "2025-01-10", "2026-11-20", "North"),
        ("LCS-1", 2, "CLA", "2026-11-21", None, "Looked After"),
    ]
    assert rows(warehouse, "select socialcare_child_id, sex from staging.stg_socialcare__children order by 1") == [
        ("LCS-1", "F"), ("LCS-2", "M"), ("LCS-3", "U"),
    ]


def test_failures_raise_transform_error(warehouse: str, dbt_dirs: dict[str, Path]) -> None:
    # A broken staging relation makes a downstream data test error: dbt reports it, we raise naming it.
    with connect(warehouse) as conn:
        conn.execute("alter table staging.stg_education__establishments rename to establishments_moved")
        conn.commit()
    try:
        with pytest.raises(transform.TransformError) as caught:
            transform.run_dbt(
                ["test", "--select", "stg_education__placements"],
                warehouse,
                {"as_of_date": NIGHT_2, "run_id": "t3"},
                **dbt_dirs,
            )
    finally:
        with connect(warehouse) as conn:
            conn.execute("alter table staging.establishments_moved rename to stg_education__establishments")
            conn.commit()
    message = str(caught.value)
    assert "relationships_stg_education__placements_urn" in message
    assert str(dbt_dirs["log_path"]) in message
    assert caught.value.outcome is not None and caught.value.outcome.failed


def test_bad_as_of_date_is_refused(warehouse: str) -> None:
    with pytest.raises(ValueError, match="as_of_date"):
        transform.build(["tag:casework"], "24/11/2026", "t", warehouse)
    with pytest.raises(ValueError, match="not a datetime"):
        transform.build(["tag:casework"], datetime(2026, 11, 24, 1, 0), "t", warehouse)


def test_unreachable_warehouse_raises(dbt_dirs: dict[str, Path]) -> None:
    with pytest.raises(transform.TransformError, match="dbt logs"):
        transform.run_dbt(
            ["run", "--select", "stg_education__establishments"],
            "postgresql://nobody@127.0.0.1:1/none",
            {"as_of_date": NIGHT_2},
            **dbt_dirs,
        )
