"""The validation layer against a real PostgreSQL: hand-made raw rows, real suites, real GX.

Great Expectations is imported once for the session (by the first validation); each
validate_source call then costs a second or two.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

import pytest
from psycopg.types.json import Jsonb

from send_warehouse.landing.tables import ALL_TABLES, table
from send_warehouse.validation import ValidationBlocked, ValidationOutcome, validate_source
from send_warehouse.validation import sql as checks
from send_warehouse.validation.suites import SuiteError, build_suite, canonical_json, expectations_dir, load_suites

NIGHT = date(2026, 11, 24)
PREVIOUS = NIGHT - timedelta(days=1)
ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"


# --- independent oracles, straight from shared/domain.md -----------------------------------------

def upn_letter(body: str) -> str:
    total = sum(i * (int(c) if c.isdigit() else ALPHABET.index(c)) for i, c in enumerate(body, start=2))
    return ALPHABET[total % 23]


def make_upn(n: int) -> str:
    body = f"926{n:09d}"
    return upn_letter(body) + body


def nhs_ok(value: str) -> bool:
    if len(value) != 10 or not value.isdigit():
        return False
    check = 11 - sum(int(d) * w for d, w in zip(value[:9], range(10, 1, -1), strict=True)) % 11
    return check != 10 and (0 if check == 11 else check) == int(value[9])


def make_nhs(n: int) -> str:
    for lead in "467":
        nine = f"{lead}{n:08d}"
        for last in "0123456789":
            if nhs_ok(nine + last):
                return nine + last
    raise AssertionError


def uln_ok(value: str) -> bool:
    if len(value) != 10 or not value.isdigit():
        return False
    r = sum(int(d) * w for d, w in zip(value[:9], range(10, 1, -1), strict=True)) % 11
    return r != 0 and 10 - r == int(value[9])


# --- hand-made raw rows ------------------------------------------------------------------------------

LOG_OBJECT = {"casework": "{name}", "education": "{night}/{name}.csv", "socialcare": "/api/v1/children"}


def land(conn, name: str, rows: list[dict], night: date = NIGHT, run_id: str | None = None,
         log_rows: int | None = None) -> None:
    """Insert raw rows for a night as landing would (lineage from the transaction's settings) and
    book them in audit.load_log (`log_rows` overrides the count booked)."""
    raw = next(t for t in ALL_TABLES if t.name == name)
    run_id = run_id or f"run-{night}"
    obj = LOG_OBJECT[raw.source_system].format(name=name, night=night)
    conn.execute("select set_config('send.run_id', %s, true), set_config('send.logical_date', %s, true),"
                 " set_config('send.source_object', %s, true)", (run_id, night.isoformat(), obj))
    for row in rows:
        columns = list(row)
        values = [Jsonb(v) if isinstance(v, dict) else v for v in row.values()]
        conn.execute(f"insert into {raw.qualified_name} ({', '.join(columns)}) values"
                     f" ({', '.join(['%s'] * len(columns))})", values)
    count = len(rows) if log_rows is None else log_rows
    conn.execute(
        """insert into audit.load_log (run_id, source_system, object, logical_date, rows_read, rows_loaded,
                                        rows_quarantined, started_at, finished_at, status)
           values (%s, %s, %s, %s, %s, %s, 0, now(), now(), 'loaded')""",
        (run_id, raw.source_system, obj, night, count, count),
    )
    conn.commit()


def wrong_letter(upn: str) -> str:
    return next(c for c in ALPHABET if c != upn[0]) + upn[1:]


def pupils(n: int = 30, changes: dict[int, dict] | None = None) -> list[dict]:
    rows = [{"pupil_ref": f"P{i:07d}", "upn": make_upn(i), "uln": None, "legal_forename": "Ann",
             "legal_surname": "Smith", "dob": date(2015, 1, 1) + timedelta(days=i), "gender": "MF"[i % 2],
             "postcode": "NR1 1AA", "sen_provision": "EKN"[i % 3]} for i in range(1, n + 1)]
    for i, change in (changes or {}).items():
        rows[i].update(change)
    return rows


def placements(n: int = 30) -> list[dict]:
    return [{"placement_id": str(i), "pupil_ref": f"P{i:07d}", "urn": 100001, "setting_code": None,
             "start_date": date(2020, 9, 1), "end_date": None, "end_reason": None, "hours_per_week": None,
             "is_dual_registration": "N"} for i in range(1, n + 1)]


ESTABLISHMENTS = [{"urn": 100001, "name": "Oak Primary", "type": "MAINSTREAM", "phase": "PRIMARY", "la_code": "926"}]


def education_night(conn, night: date = NIGHT, n: int = 30, pupil_rows: list[dict] | None = None,
                    log_rows: int | None = None) -> None:
    land(conn, "pupils", pupil_rows if pupil_rows is not None else pupils(n), night, log_rows=log_rows)
    land(conn, "placements", placements(n), night, log_rows=log_rows)
    land(conn, "establishments", ESTABLISHMENTS, night)


def validate(url: str, tmp_path, source: str = "education", run_id: str = "run-1") -> ValidationOutcome:
    return validate_source(source, run_id, NIGHT, url, docs_dir=tmp_path / "docs")


def result(outcome: ValidationOutcome, suite: str, rule_or_type: str) -> list[dict]:
    return [r for r in outcome.results if r["suite"] == suite
            and rule_or_type in (r["rule_code"], r["expectation_type"])]


# --- the identifier checks themselves --------------------------------------------------------------

def test_identifier_sql_agrees_with_domain_examples_and_the_algorithms(warehouse):
    def flags(expression_of, values: list[str | None]) -> list[bool]:
        expression = expression_of("v").replace("%", "%%")
        rows = warehouse.execute(
            f"select {expression} from unnest(%s::text[]) with ordinality as t(v, n) order by n", (values,)
        ).fetchall()
        return [bool(r[0]) for r in rows]

    upn_letter_bad = lambda v: checks.upn_has_bad_check_letter(checks.clean_code(v))  # noqa: E731
    upn_format_bad = lambda v: checks.upn_has_bad_format(checks.clean_code(v))  # noqa: E731
    # domain.md: valid A950000178301, H243278544154; wrong letter R247962919251, X428558133462.
    examples = ["A950000178301", "H243278544154", "R247962919251", "X428558133462", " a950000178301 ", None]
    assert flags(upn_letter_bad, examples) == [False, False, True, True, False, False]
    assert flags(upn_format_bad, examples + ["A95000017830", "A9500 0178301", "A95000017830I"]) == [
        False, False, False, False, False, False, True, True, True]
    rnd = random.Random(5)
    bodies = [f"{rnd.randrange(10**11):011d}" + rnd.choice("0123456789" + ALPHABET) for _ in range(300)]
    values = [(upn_letter(b) if rnd.random() < 0.5 else rnd.choice(ALPHABET)) + b for b in bodies]
    assert flags(upn_letter_bad, values) == [v[0] != upn_letter(v[1:]) for v in values]

    nhs_bad = lambda v: checks.nhs_number_bad_check_digit(checks.clean_nhs_number(v))  # noqa: E731
    nhs_format = lambda v: checks.ten_digits_bad_format(checks.clean_nhs_number(v))  # noqa: E731
    # domain.md: valid 9434765870, 9434765919; one digit keyed wrong fails; printed form is cleaned.
    assert flags(nhs_bad, ["9434765870", "9434765919", "9434765871", "943 476 5870", "943476587", None]) == [
        False, False, True, False, False, False]
    assert flags(nhs_format, ["9434765870", "943476587", "94347658700", "943-476-5870"]) == [False, True, True, False]
    numbers = [f"{rnd.randrange(10**10):010d}" for _ in range(300)]
    assert flags(nhs_bad, numbers) == [not nhs_ok(n) for n in numbers]

    uln_bad = lambda v: checks.uln_bad_check_digit(checks.clean_code(v))  # noqa: E731
    assert uln_ok("1234567899") and not uln_ok("1234567890")
    assert flags(uln_bad, numbers) == [not uln_ok(n) for n in numbers]


def test_importing_the_package_does_not_import_great_expectations():
    import subprocess
    import sys

    code = ("import sys, send_warehouse.validation as v; v.validate_source; "
            "sys.exit('great_expectations' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_every_raw_table_has_a_canonical_suite_that_loads_back_into_gx():
    import great_expectations as gx

    import send_warehouse.validation.custom  # noqa: F401

    suites = load_suites()
    assert sorted(s.name for s in suites) == sorted(f"{t.source_system}__{t.name}" for t in ALL_TABLES)
    for suite in suites:
        assert suite.path.read_text(encoding="utf-8") == canonical_json(suite.data), suite.path
        loaded = gx.ExpectationSuite(**json.loads(suite.path.read_text()))
        assert len(loaded.expectations) == len(suite.data["expectations"])
        assert len(build_suite(suite).expectations) == len(suite.data["expectations"])
        for e in suite.data["expectations"]:
            assert e["meta"]["severity"] in ("block", "warn")
            assert e["description"]
            if e["meta"]["severity"] == "warn" and e["type"] != "expect_night_volume_within_band":
                assert e["meta"]["rule_code"], e
        types = {e["type"] for e in suite.data["expectations"]}
        assert "expect_batch_columns_to_match_types" in types
        assert "expect_night_volume_within_band" in types
        # Landing quarantines blank keys everywhere and repeated keys of snapshots before
        # validation runs, so the suites check key uniqueness only where landing does not.
        table = next(t for t in ALL_TABLES if f"{t.source_system}__{t.name}" == suite.name)
        assert ("expect_key_to_be_unique_within_night" in types) == (table.load_mode == "incremental"), suite.name


def test_suites_come_from_send_expectations_dir_and_bad_severities_are_refused(tmp_path, monkeypatch):
    source = expectations_dir() / "education__pupils.json"
    data = json.loads(source.read_text())
    monkeypatch.setenv("SEND_EXPECTATIONS_DIR", str(tmp_path))
    (tmp_path / "education__pupils.json").write_text(canonical_json(data))
    assert [s.name for s in load_suites("education")] == ["education__pupils"]
    data["expectations"][0]["meta"]["severity"] = "fatal"
    (tmp_path / "education__pupils.json").write_text(canonical_json(data))
    with pytest.raises(SuiteError, match="severity"):
        load_suites("education")


# --- whole nights ----------------------------------------------------------------------------------

def test_clean_night_passes_stores_results_and_writes_data_docs(warehouse, warehouse_url, tmp_path):
    education_night(warehouse, PREVIOUS)
    education_night(warehouse, NIGHT)
    outcome = validate(warehouse_url, tmp_path)
    assert not outcome.blocked, outcome.blocking_failures
    assert outcome.warnings == []
    assert outcome.data_docs_index == tmp_path / "docs" / "education" / "index.html"
    assert outcome.data_docs_index.is_file()
    assert set(outcome.suite_seconds) == {"education__pupils", "education__placements", "education__establishments"}
    stored = warehouse.execute(
        "select count(*), bool_and(success), count(distinct suite) from audit.validation_result"
        " where run_id = 'run-1' and source_system = 'education'").fetchone()
    assert stored == (len(outcome.results), True, 3)
    volume = result(outcome, "education__pupils", "expect_night_volume_within_band")[0]
    assert volume["observed_value"]["rows_previous"] == 30 and volume["observed_value"]["rows_tonight"] == 30
    assert warehouse.execute("select blocked from audit.validation_run where run_id = 'run-1'").fetchone() == (False,)


def test_dropped_column_blocks_naming_it(warehouse, warehouse_url, tmp_path):
    education_night(warehouse)
    warehouse.execute("alter table raw_education.pupils drop column sen_provision cascade")
    warehouse.commit()
    outcome = validate(warehouse_url, tmp_path)
    assert outcome.blocked
    assert any("pupils" in m and "column sen_provision is missing" in m for m in outcome.blocking_failures), \
        outcome.blocking_failures
    with pytest.raises(ValidationBlocked, match="sen_provision"):
        outcome.raise_if_blocked()
    # The rules on sen_provision say why they could not run; the suite's other row rules, which
    # share one aggregate with them, still ran.
    gone = [r for r in outcome.results if r["suite"] == "education__pupils" and r["column_name"] == "sen_provision"
            and r["expectation_type"] == "expect_column_values_to_be_in_code_set"]
    assert len(gone) == 2 and all(r["details"]["error"] == "column b.sen_provision does not exist" for r in gone)
    dob = result(outcome, "education__pupils", "expect_column_values_to_be_present")
    assert [(r["success"], r["unexpected_count"], r["element_count"]) for r in dob] == [(True, 0, 30)]


def test_empty_object_blocks(warehouse, warehouse_url, tmp_path):
    land(warehouse, "pupils", pupils())
    land(warehouse, "placements", placements())
    outcome = validate(warehouse_url, tmp_path)
    assert outcome.blocked
    assert outcome.blocking_failures[0] == \
        "education establishments: no rows landed for the night of 2026-11-24 (the object is empty)"
    # ... so every placement's school is unknown too.
    assert outcome.blocking_failures[1].startswith(
        "education placements: urn matches no establishments.urn of tonight's snapshot in 30 of 30 rows (100.0%)")


def test_volume_collapse_against_the_previous_night_blocks(warehouse, warehouse_url, tmp_path):
    education_night(warehouse, PREVIOUS, log_rows=100)
    education_night(warehouse, NIGHT, n=30)
    outcome = validate(warehouse_url, tmp_path)
    assert outcome.blocked
    collapse = [m for m in outcome.blocking_failures if "rows tonight" in m]
    assert collapse == [
        "education placements: 30 rows tonight against 100 on 2026-11-23 (-70.0%); a drop of more than 20% "
        "or a rise of more than 50% is out of bounds",
        "education pupils: 30 rows tonight against 100 on 2026-11-23 (-70.0%); a drop of more than 20% "
        "or a rise of more than 50% is out of bounds",
    ]


def test_bad_upn_letters_and_a_broken_code_set(warehouse, warehouse_url, tmp_path):
    rows = pupils(30, {0: {"upn": wrong_letter(make_upn(1))}, 1: {"upn": wrong_letter(make_upn(2))},
                       2: {"upn": "A95000017830"}, 3: {"gender": " x"}})
    education_night(warehouse, pupil_rows=rows)
    outcome = validate(warehouse_url, tmp_path)
    assert not outcome.blocked, outcome.blocking_failures
    letters = result(outcome, "education__pupils", "UPN_CHECK_LETTER")[0]
    assert (letters["success"], letters["unexpected_count"], letters["element_count"]) == (False, 2, 30)
    assert [r["pupil_ref"] for r in letters["details"]["result"]["sample"]] == ["P0000001", "P0000002"]
    assert result(outcome, "education__pupils", "UPN_FORMAT")[0]["unexpected_count"] == 1
    assert sorted(outcome.warnings) == [
        "education pupils: gender is outside the code set (M, F, U) in 1 of 30 rows (3.3%), e.g. pupil_ref=P0000004"
        " value 'X' [CODE_NOT_IN_SET]",
        "education pupils: upn carries the wrong UPN check letter in 2 of 30 rows (6.7%), e.g. pupil_ref=P0000001;"
        " pupil_ref=P0000002 [UPN_CHECK_LETTER]",
        "education pupils: upn is not a well-formed UPN (13 characters: a letter, then 12 digits or 11 digits and"
        " a letter) in 1 of 30 rows (3.3%), e.g. pupil_ref=P0000003 [UPN_FORMAT]",
    ]
    assert "A95000017830" not in json.dumps(letters["details"])  # samples carry keys, not identifiers

    # The same code broken at scale blocks the source.
    warehouse.execute("update raw_education.pupils set gender = 'X'")
    warehouse.commit()
    outcome = validate(warehouse_url, tmp_path)
    assert outcome.blocked
    assert outcome.blocking_failures == [
        "education pupils: gender is outside the code set (M, F, U) in 30 of 30 rows (100.0%) (blocks above 5% of the"
        " night's rows and 10 rows), e.g. pupil_ref=P0000001 value 'X'; pupil_ref=P0000002 value 'X';"
        " pupil_ref=P0000003 value 'X'"]


def child(n: int, **changes) -> dict:
    payload = {"id": f"LCS-{n:06d}", "nhs_number": make_nhs(n), "upn": None, "first_name": "Ann",
               "last_name": "Smith", "date_of_birth": "2015-01-01", "gender": "female", "postcode": None,
               "updated_at": "2026-11-24T10:00:00+00:00",
               "involvements": [{"type": "CIN", "start_date": "2025-01-01", "end_date": None, "team": "A"}]}
    payload.update(changes)
    return {"id": payload["id"], "updated_at": "2026-11-24T10:00:00+00:00", "payload": payload}


def test_nhs_check_digits_warn_and_a_renamed_json_field_blocks(warehouse, warehouse_url, tmp_path):
    bad = make_nhs(3)[:9] + str((int(make_nhs(3)[9]) + 1) % 10)
    rows = [child(1), child(2), child(3, nhs_number=bad), child(4, nhs_number="943 476 5870"),
            child(5, involvements=[{"type": "CP", "start_date": "2025-02-01", "end_date": "2025-01-01"}])]
    land(warehouse, "children", rows)
    outcome = validate(warehouse_url, tmp_path, "socialcare")
    assert not outcome.blocked, outcome.blocking_failures
    digits = result(outcome, "socialcare__children", "NHS_CHECK_DIGIT")[0]
    assert (digits["unexpected_count"], digits["element_count"]) == (1, 5)
    assert [r["id"] for r in digits["details"]["result"]["sample"]] == ["LCS-000003"]
    assert result(outcome, "socialcare__children", "NHS_FORMAT")[0]["success"]
    assert result(outcome, "socialcare__children", "DATE_ORDER")[0]["unexpected_count"] == 1

    renamed = []
    for n in range(6, 10):
        row = child(n)
        row["payload"]["nhs_no"] = row["payload"].pop("nhs_number")
        renamed.append(row)
    warehouse.execute("delete from raw_socialcare.children")
    warehouse.execute("delete from audit.load_log")
    land(warehouse, "children", renamed)
    outcome = validate(warehouse_url, tmp_path, "socialcare")
    assert outcome.blocked
    assert outcome.blocking_failures == [
        "socialcare children: payload lacks field(s): 'nhs_number' missing from 4 of 4 rows (100.0%)"]


def test_casework_references_are_checked_against_the_current_state(warehouse, warehouse_url, tmp_path):
    persons = [{"person_id": i, "upn": make_upn(i), "dob": date(2015, 1, 1), "sex": "F",
                "updated_at": "2026-11-23 09:00"} for i in range(1, 13)]
    land(warehouse, "cw_person", persons, PREVIOUS)  # persons landed last night, unchanged tonight
    land(warehouse, "cw_person", [{"person_id": 13, "upn": None, "dob": date(2016, 1, 1), "sex": "M",
                                   "updated_at": "2026-11-24 09:00"}])
    requests = [{"request_id": i, "person_id": i, "received_date": date(2026, 1, 5), "request_source": 1,
                 "decision_date": date(2026, 2, 1), "decision": "Y", "team": "North",
                 "updated_at": "2026-11-24 09:00"} for i in range(1, 13)]
    requests[4]["decision_date"] = date(2025, 12, 1)  # decided before it was received
    requests.append({"request_id": 13, "person_id": 999, "received_date": date(2026, 3, 1), "team": "North",
                     "updated_at": "2026-11-24 09:00"})  # a person casework never sent
    land(warehouse, "cw_request", requests)
    land(warehouse, "cw_plan", [{"plan_id": 1, "person_id": 1, "request_id": 1, "issued_date": date(2026, 5, 1),
                                 "primary_need": "asd ", "updated_at": "2026-11-24 09:00"}])
    land(warehouse, "cw_review", [{"review_id": 1, "plan_id": 1, "due_date": date(2027, 5, 1),
                                   "updated_at": "2026-11-24 09:00"}])
    land(warehouse, "cw_document", [{"document_id": 1, "person_id": 2, "doc_type": "FINAL_PLAN",
                                     "file_name": "x.pdf", "filed_at": "2026-05-01 10:00"}])
    outcome = validate(warehouse_url, tmp_path, "casework")
    assert not outcome.blocked, outcome.blocking_failures
    orphans = result(outcome, "casework__cw_request", "ORPHAN_REFERENCE")[0]
    assert (orphans["unexpected_count"], orphans["element_count"]) == (1, 13)
    assert orphans["details"]["result"]["sample"] == [{"request_id": 13, "value": 999}]
    order = [r for r in result(outcome, "casework__cw_request", "DATE_ORDER") if not r["success"]]
    assert [(r["details"]["kwargs"]["earlier"], r["unexpected_count"]) for r in order] == [("received_date", 1)]
    assert [w.split(" [")[-1] for w in outcome.warnings] == ["ORPHAN_REFERENCE]", "DATE_ORDER]"]


def test_a_rerun_replaces_the_stored_results(warehouse, warehouse_url, tmp_path):
    education_night(warehouse)
    first = validate(warehouse_url, tmp_path)
    warehouse.execute("update raw_education.pupils set upn = %s where pupil_ref = 'P0000005'",
                      (wrong_letter(make_upn(5)),))
    warehouse.commit()
    second = validate(warehouse_url, tmp_path)
    count, failed = warehouse.execute(
        "select count(*), count(*) filter (where not success) from audit.validation_result"
        " where run_id = 'run-1' and source_system = 'education'").fetchone()
    assert count == len(first.results) == len(second.results)
    assert failed == 1
    runs = warehouse.execute("select count(*), max(jsonb_array_length(warnings)) from audit.validation_run").fetchone()
    assert runs == (1, 1)
    assert table("education", "pupils").key == ("pupil_ref",)
