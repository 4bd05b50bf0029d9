"""A corpus of malformed input, one kind per case, across the three sources.

Each case lands a small, otherwise clean night with one kind of damage through the real
extractor into a real warehouse. The night must end in exactly one of three ways, decided in
advance per kind:

* `quarantine`: the damaged record is in audit.quarantine with a reason, the rest loads;
* `block`: the source fails loudly with a SourceError naming it, and lands nothing;
* `load`: the input is legal after all (a byte-order mark, an added column, a quoted newline)
  and every record loads;

never an unexpected exception, and in every landed case the books balance against the tables.
Value-level faults that are well-formed (unknown codes, future dates, nulls where the business
forbids them) land and are flagged by validation: see tests/validation and tests/dbt.

Kinds already covered elsewhere are not repeated here: education stray quotes, field count,
impossible dates, blank lines, cp1252 invalid bytes, header case/order, an extra column, a missing
column, exact duplicates (tests/landing/test_education_landing.py); casework unreadable date and a
dropped column (test_casework_landing.py); social care blank id (test_socialcare_landing.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from send_warehouse import pipeline
from send_warehouse.config import Settings
from send_warehouse.landing.tables import tables_of
from send_warehouse.simulator.socialcare_api import start_server
from send_warehouse.sources import SourceError
from tests.landing import conftest as landing
from tests.landing.conftest import PLACEMENTS_HEADER, PUPILS_HEADER, write_night
from tests.landing.test_casework_landing import make_source

warehouse = landing.warehouse  # the landing tests' fixture: a connection to a fresh warehouse
NIGHT = date(2026, 11, 24)
TOKEN = "corpus-token-not-a-secret"
PUPILS = ["P0000001,A950000178301,,Ann,Smith,01/02/2015,F,nr1 1aa,E",
          "P0000002,,,Bo,Ng,29/02/2016,M,,N"]
PLACEMENT = "1,P0000001,100001,,01/09/2020,,,,N"


@dataclass(frozen=True)
class Case:
    kind: str
    source: str
    outcome: str  # quarantine | block | load
    make: Callable[[Path], None]  # writes the damaged source under the folder


# --- education: bytes on disk ----------------------------------------------------------------------

def _pupils_bytes(body: bytes, name: str = "pupils.csv") -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        night = write_night(folder / "education", NIGHT, PUPILS, [PLACEMENT])
        (night / name).write_bytes(body)
    return make


def _pupil_lines(*lines: str, header: str = PUPILS_HEADER) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        write_night(folder / "education", NIGHT, [*PUPILS, *lines], [PLACEMENT],
                    headers={"pupils.csv": header})
    return make


def _placement_lines(*lines: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        write_night(folder / "education", NIGHT, PUPILS, [PLACEMENT, *lines])
    return make


def _crlf(*lines: str) -> bytes:
    return "".join(f"{line}\r\n" for line in lines).encode("cp1252")


EDUCATION = [
    Case("utf8_byte_order_mark", "education", "load",
         _pupils_bytes(b"\xef\xbb\xbf" + _crlf(PUPILS_HEADER, *PUPILS))),
    Case("utf16_file", "education", "block",
         _pupils_bytes("\r\n".join([PUPILS_HEADER, *PUPILS]).encode("utf-16"))),
    Case("utf8_text_in_cp1252_file", "education", "load",
         _pupils_bytes(_crlf(PUPILS_HEADER, *PUPILS) + "P0000009,,,Zoë,Brontë,01/01/2015,F,,N\r\n".encode())),
    Case("semicolon_delimiter", "education", "block",
         _pupils_bytes(_crlf(*(line.replace(",", ";") for line in [PUPILS_HEADER, *PUPILS])))),
    Case("tab_delimiter", "education", "block",
         _pupils_bytes(_crlf(*(line.replace(",", "\t") for line in [PUPILS_HEADER, *PUPILS])))),
    Case("too_few_fields", "education", "quarantine", _pupil_lines("P0000003,,,Cy,Jones")),
    Case("blank_key", "education", "quarantine", _pupil_lines(",,,Cy,Jones,03/03/2015,M,,K")),
    # A key of spaces is blank too, though COPY reads it as text.
    Case("whitespace_key", "education", "quarantine", _pupil_lines("   ,,,Cy,Jones,03/03/2015,M,,K")),
    Case("duplicate_key_different_values", "education", "quarantine",
         _pupil_lines("P0000001,A950000178301,,Ann,Smyth,01/02/2015,F,nr1 1aa,E")),
    Case("enormous_field", "education", "load", _pupil_lines("P0000003,,,Cy," + "J" * 1_000_000 + ",03/03/2015,M,,K")),
    Case("nul_byte_in_line", "education", "quarantine", _pupil_lines("P0000003,,,C\x00y,Jones,03/03/2015,M,,K")),
    # Legal CSV, but the vendor's files are one record per line: refused with its reason, not guessed.
    Case("quoted_newline_in_field", "education", "quarantine",
         _pupil_lines('P0000003,,,"Cy\r\nAnn",Jones,03/03/2015,M,,K')),
    Case("date_in_wrong_format", "education", "quarantine", _pupil_lines("P0000003,,,Cy,Jones,2015/13/45,M,,K")),
    Case("american_date", "education", "quarantine", _pupil_lines("P0000003,,,Cy,Jones,12/31/2015,M,,K")),
    Case("text_in_numeric_column", "education", "quarantine",
         _placement_lines("2,P0000002,100001,,01/09/2020,,,lots,N")),
    # Ids land as text, as received; staging decides what an id may look like.
    Case("numeric_overflow", "education", "load",
         _placement_lines("99999999999999999999999,P0000002,100001,,01/09/2020,,,,N")),
    Case("truncated_last_line", "education", "quarantine",
         _pupils_bytes(_crlf(PUPILS_HEADER, *PUPILS) + b"P0000003,,,Cy,Jon")),
    Case("empty_file", "education", "block", _pupils_bytes(b"")),
    Case("header_only", "education", "load", _pupils_bytes(_crlf(PUPILS_HEADER))),
    Case("renamed_column", "education", "block",
         _pupil_lines(header=PUPILS_HEADER.replace("LegalSurname", "Surname"))),
    Case("duplicated_header_line", "education", "quarantine", _pupil_lines(PUPILS_HEADER)),
    Case("placements_missing_column", "education", "block",
         lambda folder: write_night(folder / "education", NIGHT, PUPILS, [PLACEMENT.rsplit(",", 1)[0]],
                                    headers={"placements.csv": PLACEMENTS_HEADER.rsplit(",", 1)[0]})),
]


# --- social care: what the API serves ------------------------------------------------------------

def _child(n: int, **extra) -> dict:
    return {"id": f"LCS-{n:06d}", "nhs_number": None, "upn": None, "first_name": f"Child{n}", "last_name": "Test",
            "date_of_birth": "2014-05-06", "gender": "female", "postcode": None,
            "updated_at": f"2026-11-2{n % 4}T10:00:00+00:00",
            "involvements": [{"type": "CIN", "start_date": "2025-01-01", "end_date": None, "team": "East"}], **extra}


def _children(*damaged: dict, raw_lines: tuple[str, ...] = ()) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        (folder / "socialcare").mkdir(parents=True, exist_ok=True)
        lines = [json.dumps(c) for c in [_child(1), _child(2), *damaged]] + list(raw_lines)
        (folder / "socialcare" / "children.jsonl").write_text("\n".join(lines) + "\n")
    return make


SOCIALCARE = [
    Case("json_id_missing", "socialcare", "quarantine", _children({k: v for k, v in _child(3).items() if k != "id"})),
    Case("json_id_is_a_number", "socialcare", "quarantine", _children({**_child(3), "id": 3})),
    # JSON that PostgreSQL's jsonb cannot store costs its own child, not the source.
    Case("json_nul_escape_in_text", "socialcare", "quarantine", _children({**_child(3), "last_name": "Te\u0000st"})),
    Case("json_lone_surrogate", "socialcare", "quarantine",
         _children(raw_lines=(json.dumps(_child(3)).replace('"Child3"', '"Child\\ud800"'),))),
    Case("json_enormous_field", "socialcare", "load", _children({**_child(3), "last_name": "T" * 1_000_000})),
    Case("json_unknown_field", "socialcare", "load", _children({**_child(3), "shoe_size": 4})),
    Case("json_involvements_not_a_list", "socialcare", "load", _children({**_child(3), "involvements": "CIN"})),
    Case("json_duplicate_id_different_values", "socialcare", "load",
         _children({**_child(2), "last_name": "Other", "updated_at": "2026-11-23T11:00:00+00:00"})),
    # The payload lands as the API sent it; staging's safe_iso_date reads an impossible date as null.
    Case("json_impossible_date_of_birth", "socialcare", "load",
         _children({**_child(3), "date_of_birth": "2014-02-30"})),
]


# --- casework: what the replica holds --------------------------------------------------------------

def _casework(*statements: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        engine = make_source(f"sqlite:///{folder / 'casework.sqlite'}")
        with engine.begin() as conn:  # SQLite keeps whatever it is given, as a lax replica might
            for statement in statements:
                conn.execute(sa.text(statement))
        engine.dispose()
    return make


PERSON = "insert into cw_person values (2, null, null, 'Bo', 'Ng', {dob}, 'M', null, null, {updated})"
CASEWORK = [
    Case("text_in_integer_column", "casework", "quarantine",
         _casework("insert into cw_request values (11, 'one', '2026-01-05', 1, null, null, null, null, null, null,"
                   " null, 'North', '2026-11-23 09:00:00')")),
    Case("text_in_date_column", "casework", "quarantine",
         _casework(PERSON.format(dob="'yesterday'", updated="'2026-11-24 10:00:00'"))),
    Case("unreadable_timestamp", "casework", "quarantine",
         _casework(PERSON.format(dob="'2016-02-01'", updated="'2026-13-45 99:00:00'"))),
    Case("invalid_utf8_bytes_in_text", "casework", "block",
         _casework("insert into cw_person values (2, null, null, cast(x'42ff6f' as text), 'Ng', '2016-02-01', 'M',"
                   " null, null, '2026-11-24 10:00:00')")),
    Case("column_added", "casework", "load", _casework("alter table cw_person add column nickname text")),
    Case("column_renamed", "casework", "block",
         _casework("alter table cw_person rename column surname to family_name")),
    Case("column_retyped", "casework", "quarantine",
         _casework("alter table cw_review drop column due_date", "alter table cw_review add column due_date text",
                   "insert into cw_review (review_id, plan_id, due_date, updated_at)"
                   " values (5, 1, 'next spring', '2026-11-24 10:00:00')")),
    Case("table_missing", "casework", "block", _casework("drop table cw_review")),
]

CASES = EDUCATION + SOCIALCARE + CASEWORK


def _land(url: str, case: Case, folder: Path) -> None:
    """The pipeline's own landing stage (pipeline.land_source), as the DAG's land task runs it."""
    settings = replace(Settings.from_env(), warehouse_url=url,
                       casework_db_url=f"sqlite:///{folder / 'casework.sqlite'}",
                       education_drop_dir=folder / "education", socialcare_page_size=2, socialcare_max_retries=1,
                       socialcare_timeout_s=5, incremental_lookback_minutes=0)
    if case.source != "socialcare":
        pipeline.land_source(case.source, f"corpus-{case.kind}", NIGHT, settings)
        return
    with start_server(folder, token=TOKEN) as server:
        settings = replace(settings, socialcare_api_url=server.url, socialcare_api_token=TOKEN)
        pipeline.land_source(case.source, f"corpus-{case.kind}", NIGHT, settings)


@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_malformed_input_is_contained(warehouse, warehouse_url: str, tmp_path: Path, case: Case) -> None:
    case.make(tmp_path)
    if case.outcome == "block":
        with pytest.raises(SourceError) as error:
            _land(warehouse_url, case, tmp_path)
        assert error.value.source_system == case.source
        assert "mid-extract" not in str(error.value), "damaged input must not read as a lost connection"
        # Nothing of the source landed; the audit says it failed and why.
        assert warehouse.execute("select object, status from audit.load_log").fetchall() == [("*", "failed")]
        for table in tables_of(case.source):
            assert warehouse.execute(f"select count(*) from {table.qualified_name}").fetchone() == (0,)
        return
    _land(warehouse_url, case, tmp_path)
    books = warehouse.execute("select object, rows_read, rows_loaded, rows_quarantined, status"
                              " from audit.load_log").fetchall()
    assert books and all(read == loaded + quarantined and status == "loaded"
                         for _, read, loaded, quarantined, status in books)
    reasons = [r for (r,) in warehouse.execute("select reason from audit.quarantine").fetchall()]
    assert all(reason.strip() for reason in reasons)
    if case.outcome == "quarantine":
        assert reasons, "expected the damaged record in quarantine"
    else:
        assert not [r for r in reasons if "exact duplicate" not in r], reasons


def test_the_corpus_holds_at_least_thirty_kinds() -> None:
    assert len({c.kind for c in CASES}) == len(CASES) >= 30
