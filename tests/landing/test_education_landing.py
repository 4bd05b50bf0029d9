"""The education drop: the right night, every line loaded or quarantined, reruns replace."""

from __future__ import annotations

from datetime import date

import pytest

from send_warehouse.landing.night import land_night
from send_warehouse.sources import SourceError, education
from tests.landing.conftest import write_night

NIGHT = date(2026, 11, 24)
GOOD = [
    "P0000001,A950000178301,,Ann,Smith,01/02/2015,F,nr1 1aa,E",
    "P0000002,,,Bo,O'Neil,29/02/2016,M,,N",
]


def land(conn, drop, logical_date=NIGHT, run_id="run-1"):
    with land_night(conn, "education", run_id, logical_date) as night:
        education.land(night, drop, logical_date)
    return {r.object.split("/")[1]: r for r in night.results}


def books(conn, run_id="run-1"):
    return conn.execute(
        "select object, rows_read, rows_loaded, rows_quarantined from audit.load_log where run_id = %s order by 1",
        (run_id,),
    ).fetchall()


def test_clean_night_loads_every_row_with_lineage(warehouse, tmp_path):
    write_night(tmp_path, NIGHT, GOOD, ["1,P0000001,100001,,01/09/2020,,,,N"])
    results = land(warehouse, tmp_path)
    assert results["pupils.csv"].rows_loaded == 2
    rows = warehouse.execute(
        "select pupil_ref, dob, _run_id, _logical_date, _source_object, length(_row_hash) "
        "from raw_education.pupils order by 1"
    ).fetchall()
    assert rows == [
        ("P0000001", date(2015, 2, 1), "run-1", NIGHT, "2026-11-24/pupils.csv", 32),
        ("P0000002", date(2016, 2, 29), "run-1", NIGHT, "2026-11-24/pupils.csv", 32),
    ]


def test_malformed_lines_are_quarantined_with_reasons_and_books_balance(warehouse, tmp_path):
    bad = [
        'P0000003,,,Cy,"Jones,03/03/2015,M,,K',  # stray quote
        "P0000004,,,Di,Ng,04/04/2015,F,,K,extra",  # wrong field count
        "P0000005,,,Ed,Ek,31/02/2015,M,,N",  # impossible date
        "P0000006,,,Fi,Fox,2015-06-06,F,,N",  # unambiguous ISO: PostgreSQL reads it, on either path
        "",  # blank line
    ]
    write_night(tmp_path, NIGHT, GOOD + bad + [GOOD[0]])  # and an exact duplicate
    results = land(warehouse, tmp_path)
    pupils = results["pupils.csv"]
    assert (pupils.rows_read, pupils.rows_loaded) == (8, 3)
    assert pupils.rows_read == pupils.rows_loaded + pupils.rows_quarantined
    reasons = dict(warehouse.execute(
        "select line_or_key, reason from audit.quarantine where object like '%pupils.csv'").fetchall())
    assert "stray quote" in reasons["2026-11-24/pupils.csv:4"]
    assert reasons["2026-11-24/pupils.csv:5"] == "expected 9 fields, found 10"
    assert reasons["2026-11-24/pupils.csv:6"] == "dob: '31/02/2015' is not a valid date (dd/mm/yyyy)"
    assert reasons["2026-11-24/pupils.csv:8"] == "blank line"
    assert "exact duplicate" in reasons["pupil_ref=P0000001"]
    for _, read, loaded, quarantined in books(warehouse):
        assert read == loaded + quarantined


def test_windows_1252_text_is_decoded_and_invalid_bytes_quarantined(warehouse, tmp_path):
    folder = write_night(tmp_path, NIGHT, [])
    (folder / "pupils.csv").write_bytes(
        b"PupilRef,UPN,ULN,LegalForename,LegalSurname,DOB,Gender,Postcode,SENProvision\r\n"
        b"P0000001,,,Zo\xeb,O\x92Brien,01/02/2015,F,,N\r\n"
        b"P0000002,,,Bad\x81Byte,X,01/02/2015,F,,N\r\n"
    )
    land(warehouse, tmp_path)
    assert warehouse.execute("select legal_forename, legal_surname from raw_education.pupils").fetchall() == [
        ("Zoë", "O\u2019Brien")
    ]
    (reason,) = warehouse.execute("select reason from audit.quarantine").fetchone()
    assert "0x81" in reason


def test_header_case_spaces_and_order_vary_by_release(warehouse, tmp_path):
    header = " pupilref ,LEGALSURNAME,legalforename, UPN,uln,Dob,GENDER,postcode,SenProvision "
    write_night(tmp_path, NIGHT, ["P0000001,Smith,Ann,,,01/02/2015,F,,E"], headers={"pupils.csv": header})
    land(warehouse, tmp_path)
    assert warehouse.execute("select legal_forename, legal_surname from raw_education.pupils").fetchall() == [
        ("Ann", "Smith")
    ]


def test_unknown_extra_column_is_ignored_and_noted(warehouse, tmp_path):
    header = "PupilRef,UPN,ULN,LegalForename,LegalSurname,DOB,Gender,Postcode,SENProvision,FavouriteColour"
    write_night(tmp_path, NIGHT, ["P0000001,,,Ann,Smith,01/02/2015,F,,E,blue"], headers={"pupils.csv": header})
    results = land(warehouse, tmp_path)
    assert results["pupils.csv"].rows_loaded == 1
    assert any("FavouriteColour" in m for m in results["pupils.csv"].messages)


def test_missing_column_fails_the_source_naming_file_and_column(warehouse, tmp_path):
    header = "PupilRef,UPN,ULN,LegalForename,LegalSurname,Gender,Postcode,SENProvision"
    write_night(tmp_path, NIGHT, ["P0000001,,,Ann,Smith,F,,E"], headers={"pupils.csv": header})
    with pytest.raises(SourceError, match=r"pupils.csv is missing column\(s\) dob"):
        land(warehouse, tmp_path)
    assert warehouse.execute("select count(*) from raw_education.pupils").fetchone() == (0,)


def test_newest_complete_night_on_or_before_the_logical_date_is_loaded(warehouse, tmp_path):
    write_night(tmp_path, date(2026, 11, 22), ["P0000022,,,Old,Night,01/02/2015,F,,N"])
    write_night(tmp_path, date(2026, 11, 23), ["P0000023,,,Good,Night,01/02/2015,F,,N"])
    write_night(tmp_path, date(2026, 11, 24), ["P0000024,,,Half,Written,01/02/2015,F,,N"], success=False)
    write_night(tmp_path, date(2026, 11, 26), ["P0000026,,,Future,Night,01/02/2015,F,,N"])
    results = land(warehouse, tmp_path, logical_date=date(2026, 11, 25))
    assert warehouse.execute("select pupil_ref from raw_education.pupils").fetchall() == [("P0000023",)]
    assert any("2026-11-24 has no _SUCCESS" in m for m in results["pupils.csv"].messages)


def test_no_complete_night_fails_loudly(warehouse, tmp_path):
    write_night(tmp_path, NIGHT, GOOD, success=False)
    with pytest.raises(SourceError, match="no complete night folder"):
        land(warehouse, tmp_path)
    with pytest.raises(SourceError, match="does not exist"):
        land(warehouse, tmp_path / "nowhere")


def test_rerunning_a_night_replaces_it_and_keeps_other_nights(warehouse, tmp_path):
    write_night(tmp_path, date(2026, 11, 23), GOOD)
    write_night(tmp_path, NIGHT, GOOD + ["P0000009,,,New,Pupil,01/02/2015,F,,N"])
    land(warehouse, tmp_path, date(2026, 11, 23), run_id="run-23")
    for _attempt in range(3):
        land(warehouse, tmp_path, NIGHT, run_id="run-24")
    counts = warehouse.execute(
        "select _logical_date, count(*) from raw_education.pupils group by 1 order by 1").fetchall()
    assert counts == [(date(2026, 11, 23), 2), (NIGHT, 3)]
    assert len(books(warehouse, "run-24")) == 3  # one row per object, not one per attempt


def test_a_block_with_a_bad_line_loads_its_good_lines(warehouse, tmp_path, monkeypatch):
    # Small blocks so that the file spans several; the bad line sits in the middle of one.
    monkeypatch.setattr(education, "BLOCK_BYTES", 256)
    lines = [f"P{n:07d},,,Name{n},Surname,01/02/2015,F,,N" for n in range(200)]
    lines[101] = "P0000101,,,Broken,Line,99/99/2015,F,,N"
    write_night(tmp_path, NIGHT, lines)
    results = land(warehouse, tmp_path)
    assert results["pupils.csv"].rows_loaded == 199
    assert warehouse.execute("select line_or_key from audit.quarantine").fetchall() == [
        ("2026-11-24/pupils.csv:103",)
    ]


def test_several_bad_lines_in_one_block_cost_only_themselves(warehouse, tmp_path):
    lines = [f"P{n:07d},,,Name{n},Surname,01/02/2015,F,,N" for n in range(3000)]
    lines[0] = "P0000000,,,Too,Many,01/02/2015,F,,N,extra"
    lines[1500] = 'P0001500,,,"Stray,Quote,01/02/2015,F,,N'
    lines[2998] = "P0002998,,,Bad,Date,30/02/2015,F,,N"
    lines.append("P0003000,,,Last,Line,01/02/2015,F,,N")
    write_night(tmp_path, NIGHT, lines)
    folder = tmp_path / NIGHT.isoformat()
    body = (folder / "pupils.csv").read_bytes()
    (folder / "pupils.csv").write_bytes(body.rstrip(b"\r\n"))  # and no newline after the last line
    results = land(warehouse, tmp_path)
    assert (results["pupils.csv"].rows_loaded, results["pupils.csv"].rows_quarantined) == (2998, 3)
    assert sorted(r[0] for r in warehouse.execute("select line_or_key from audit.quarantine").fetchall()) == [
        "2026-11-24/pupils.csv:1502", "2026-11-24/pupils.csv:2", "2026-11-24/pupils.csv:3000"]
