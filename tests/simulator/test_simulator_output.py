"""What `simulate` writes: the layout, the vendors' formats, and ground truth that matches the data.

One tiny run (three nights) is shared by the whole module; every check reads the files as a
pipeline would, never the simulator's internals.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from send_warehouse.simulator import SIZES, simulate
from send_warehouse.simulator.identifiers import nhs_is_valid, upn_is_temporary, upn_is_valid, upn_is_well_formed

AS_OF = date(2026, 11, 24)
NIGHTS = 3
FILES = {
    "pupils.csv": ["PupilRef", "UPN", "ULN", "LegalForename", "LegalSurname", "DOB", "Gender", "Postcode",
                   "SENProvision"],
    "placements.csv": ["PlacementId", "PupilRef", "URN", "SettingCode", "StartDate", "EndDate", "EndReason",
                       "HoursPerWeek", "IsDualRegistration"],
    "establishments.csv": ["URN", "Name", "Type", "Phase", "LACode"],
}
CASEWORK_COLUMNS = {
    "cw_person": ["person_id", "upn", "uln", "forename", "surname", "dob", "sex", "postcode", "ethnicity",
                  "updated_at"],
    "cw_request": ["request_id", "person_id", "received_date", "request_source", "decision_date", "decision",
                   "assessment_outcome", "outcome_date", "draft_issued_date", "exception_reason",
                   "transferred_in_from", "team", "updated_at"],
    "cw_plan": ["plan_id", "person_id", "request_id", "issued_date", "primary_need", "secondary_need", "named_urn",
                "named_setting_code", "ceased_date", "cease_reason", "updated_at"],
    "cw_review": ["review_id", "plan_id", "due_date", "meeting_date", "decision_date", "outcome",
                  "amended_plan_date", "updated_at"],
    "cw_document": ["document_id", "person_id", "request_id", "doc_type", "file_name", "filed_at", "deleted_at"],
}
CONVENTION = re.compile(r"^(?P<ident>[A-Za-z0-9 ]+)_(?P<type>ADVICE_EDPSYCH|ADVICE_HEALTH|ADVICE_SOCIAL|ADVICE_SCHOOL|"
                        r"DRAFT_PLAN|FINAL_PLAN|REVIEW_REPORT|DECISION_LETTER|OTHER)_(?P<date>\d{8})\.pdf$")
ERROR_KINDS = {
    "upn_check_letter", "upn_format", "upn_missing", "upn_temporary", "nhs_check_digit", "nhs_missing",
    "name_variant", "dob_day_month_swap", "dob_digit_typo", "duplicate_person", "document_misfiled",
    "document_misnamed", "final_plan_document_missing", "date_order", "malformed_csv_row", "duplicated_csv_row",
    "impossible_date", "document_deleted", "plan_without_education_record", "ehcp_flag_without_plan",
    "looked_after_with_plan_unknown_to_casework",
}


class Sim:
    """A simulated folder, read back the way the pipeline reads it."""

    def __init__(self, out: Path):
        self.out = out
        self.manifest = json.loads((out / "manifest.json").read_text())
        self.nights = self.manifest["nights"]
        self.last = self.nights[-1]
        self.errors = _csv(out / "ground_truth" / "errors.csv")
        self.damaged = {e["record_id"] for e in self.errors
                        if e["kind"] in ("malformed_csv_row", "duplicated_csv_row", "impossible_date")}
        con = sqlite3.connect(out / "casework.sqlite")
        con.row_factory = sqlite3.Row
        self.db = {t: {r[0]: dict(r) for r in con.execute(f"select * from {t}")} for t in CASEWORK_COLUMNS}
        con.close()
        self.pupils = {r["PupilRef"]: r for r in self.rows(self.last, "pupils.csv")}
        self.placements = self.rows(self.last, "placements.csv")
        lines = (out / "socialcare" / "children.jsonl").read_text(encoding="utf-8").splitlines()
        self.children = [json.loads(line) for line in lines]
        self.persons = _csv(out / "ground_truth" / "persons.csv")
        self.requests = _csv(out / "ground_truth" / "requests.csv")
        self.gaps = _csv(out / "ground_truth" / "education_gaps.csv")
        self.child_of = {(p["source_system"], p["source_record_id"]): p["child_id"] for p in self.persons}

    def lines(self, night: str, name: str) -> list[bytes]:
        data = (self.out / "education" / night / name).read_bytes()
        assert data.endswith(b"\r\n")
        return data.split(b"\r\n")[:-1]

    def rows(self, night: str, name: str) -> list[dict]:
        """Genuine data rows (damaged lines, listed in errors.csv, left out), keyed by canonical header."""
        out = []
        for number, raw in enumerate(self.lines(night, name)[1:], start=2):
            if f"{night}/{name}:{number}" in self.damaged:
                continue
            out.append(dict(zip(FILES[name], next(csv.reader([raw.decode("cp1252")])), strict=True)))
        return out


def _csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Sim:
    out = tmp_path_factory.mktemp("tiny")
    simulate("tiny", seed=11, out=out, nights=NIGHTS, as_of=AS_OF)
    return Sim(out)


# --- layout and formats ---------------------------------------------------------------------------

def test_layout(sim):
    names = {p.relative_to(sim.out).as_posix() for p in sim.out.rglob("*") if p.is_file()}
    nights = [(AS_OF - timedelta(days=NIGHTS - 1 - i)).isoformat() for i in range(NIGHTS)]
    expected = {"casework.sqlite", "socialcare/children.jsonl", "manifest.json"}
    expected |= {f"ground_truth/{n}.csv" for n in ("persons", "requests", "errors", "education_gaps")}
    expected |= {f"education/{d}/{f}" for d in nights for f in (*FILES, "_SUCCESS")}
    assert names == expected
    assert sim.nights == nights and sim.manifest["as_of"] == AS_OF.isoformat()
    assert sim.manifest["la_code"] == "926" and sim.manifest["socialcare_children"] == len(sim.children)


def test_success_marker_is_empty_and_written_last(sim):
    for night in sim.nights:
        folder = sim.out / "education" / night
        marker = folder / "_SUCCESS"
        assert marker.stat().st_size == 0
        assert all(marker.stat().st_mtime_ns >= (folder / f).stat().st_mtime_ns for f in FILES)


def test_education_files_are_windows_exports(sim):
    styles = set()
    for night in sim.nights:
        for name, canonical in FILES.items():
            data = (sim.out / "education" / night / name).read_bytes()
            assert b"\n" not in data.replace(b"\r\n", b""), "every line ends CRLF"
            lines = sim.lines(night, name)
            header = lines[0].decode("cp1252").split(",")
            assert [h.strip().lower() for h in header] == [c.lower() for c in canonical]
            styles.add(lines[0])
            for number, raw in enumerate(lines[1:], start=2):
                if f"{night}/{name}:{number}" in sim.damaged:
                    continue
                fields = next(csv.reader([raw.decode("cp1252")]))
                assert len(fields) == len(canonical), (night, name, number)
            counts = sim.manifest["counts"]["education"][night][name]
            assert counts["lines"] == len(lines)
            assert counts["rows"] + counts["malformed_lines"] + counts["duplicated_lines"] == len(lines) - 1
    assert len(styles) > len(FILES), "header capitalisation and spacing change between releases"
    assert any("\u00e9".encode("cp1252") in (sim.out / "education" / n / "pupils.csv").read_bytes()
               or b"\xeb" in (sim.out / "education" / n / "pupils.csv").read_bytes() for n in sim.nights)


def test_dates_are_dd_mm_yyyy_and_never_after_the_night(sim):
    for night in sim.nights:
        day = date.fromisoformat(night)
        for row in sim.rows(night, "pupils.csv"):
            assert datetime.strptime(row["DOB"], "%d/%m/%Y").date() <= day
        for row in sim.rows(night, "placements.csv"):
            assert datetime.strptime(row["StartDate"], "%d/%m/%Y").date() <= day
            if row["EndDate"]:
                assert datetime.strptime(row["EndDate"], "%d/%m/%Y").date() <= day
                assert row["EndReason"]
            else:
                assert not row["EndReason"]


def test_damaged_lines_are_what_errors_csv_says(sim):
    by_kind = Counter()
    for e in sim.errors:
        if e["kind"] not in ("malformed_csv_row", "duplicated_csv_row", "impossible_date"):
            continue
        by_kind[e["kind"]] += 1
        where, line = e["record_id"].rsplit(":", 1)
        night, name = where.split("/")
        assert e["object"] == name
        lines = sim.lines(night, name)
        raw, before = lines[int(line) - 1], lines[int(line) - 2]
        expected = len(FILES[name])
        if e["kind"] == "duplicated_csv_row":
            assert raw == before
            continue
        try:
            fields = next(csv.reader([raw.decode("cp1252")], strict=True))
        except (UnicodeDecodeError, csv.Error):
            continue  # a byte Windows-1252 lacks, or a stray quote
        if e["kind"] == "impossible_date":
            assert any(re.fullmatch(r"\d\d/\d\d/\d{4}", f) and not _is_date(f) for f in fields)
        else:
            assert len(fields) != expected or raw.count(b'"') % 2 == 1, e
    assert set(by_kind) == {"malformed_csv_row", "duplicated_csv_row", "impossible_date"}


def _is_date(text: str) -> bool:
    try:
        datetime.strptime(text, "%d/%m/%Y")
        return True
    except ValueError:
        return False


def test_casework_tables_match_the_contract(sim):
    con = sqlite3.connect(sim.out / "casework.sqlite")
    for table, columns in CASEWORK_COLUMNS.items():
        info = con.execute(f"pragma table_info({table})").fetchall()
        assert [c[1] for c in info] == columns
        assert [c[1] for c in info if c[5]] == [columns[0]], "the first column is the primary key"
    last = sim.last
    for table, rows in sim.db.items():
        for row in rows.values():
            for column, value in row.items():
                if value and (column.endswith("_date") or column in ("dob",)):
                    assert column == "due_date" or value <= last, (table, column, value)
                if value and column in ("updated_at", "filed_at", "deleted_at"):
                    assert value[:10] <= last and "08:00:00" <= value[11:19] < "18:00:00"
    requests = sim.db["cw_request"]
    assert all(r["person_id"] in sim.db["cw_person"] for r in requests.values())
    assert all(p["request_id"] in requests for p in sim.db["cw_plan"].values())


def test_socialcare_items_have_the_api_shape(sim):
    keys = ["id", "nhs_number", "upn", "first_name", "last_name", "date_of_birth", "gender", "postcode",
            "updated_at", "involvements"]
    ids = [c["id"] for c in sim.children]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for child in sim.children:
        assert list(child) == keys
        assert re.fullmatch(r"LCS-\d{6,}", child["id"]) and child["gender"] in ("male", "female", "unknown")
        stamp = datetime.fromisoformat(child["updated_at"])
        assert stamp.utcoffset() in (timedelta(0), timedelta(hours=1)) and stamp.date().isoformat() <= sim.last
        assert child["date_of_birth"] <= sim.last
        for inv in child["involvements"]:
            assert list(inv) == ["type", "start_date", "end_date", "team"]
            assert inv["type"] in ("CIN", "CP", "CLA", "EH") and inv["start_date"] <= sim.last
            assert inv["end_date"] is None or inv["start_date"] <= inv["end_date"] <= sim.last


# --- ground truth ----------------------------------------------------------------------------------

def test_every_source_person_record_is_in_persons_csv_once(sim):
    keys = Counter((p["source_system"], p["source_record_id"]) for p in sim.persons)
    assert max(keys.values()) == 1
    assert {k for s, k in keys if s == "casework"} == {str(i) for i in sim.db["cw_person"]}
    assert {k for s, k in keys if s == "education"} == set(sim.pupils)
    assert {k for s, k in keys if s == "socialcare"} == {c["id"] for c in sim.children}
    assert {p["PupilRef"] for p in sim.placements} <= set(sim.pupils)


def test_every_kind_of_error_and_situation_is_present(sim):
    kinds = Counter(e["kind"] for e in sim.errors)
    assert set(kinds) >= ERROR_KINDS, ERROR_KINDS - set(kinds)
    statuses = Counter(r["status_20_week"] for r in sim.requests)
    assert {"met", "missed", "open_on_track", "open_at_risk", "open_breached", "not_applicable"} <= set(statuses)
    assert any(r["is_transfer_in"] == "true" for r in sim.requests)
    assert any(r["exception_applies"] == "true" for r in sim.requests)
    assert {"no_placement", "not_in_education", "part_time_timetable"} <= {g["gap_type"] for g in sim.gaps}
    assert any(g["gap_end"] == "" for g in sim.gaps)
    reasons = Counter(p["EndReason"] for p in sim.placements)
    assert {"BREAKDOWN", "PERM_EXCLUSION", "MOVED_SCHOOL", "LEFT_AREA", "ELECTIVE_HOME_ED"} <= set(reasons)
    codes = {p["SettingCode"] for p in sim.placements}
    assert {"NIEO", "NEET", "EHE", "EYP"} <= codes
    assert any(p["IsDualRegistration"] == "Y" for p in sim.placements)
    assert any(p["HoursPerWeek"] and float(p["HoursPerWeek"]) < 25 for p in sim.placements)
    assert {c["involvements"][0]["type"] for c in sim.children if c["involvements"]} >= {"CIN", "CLA", "EH"}
    assert any(p["ceased_date"] for p in sim.db["cw_plan"].values())


def test_twins_are_different_children_with_the_same_surname_birth_date_and_postcode(sim):
    families = defaultdict(set)
    for ref, p in sim.pupils.items():
        families[(p["LegalSurname"], p["DOB"], p["Postcode"])].add(sim.child_of[("education", ref)])
    assert any(len(children) == 2 for children in families.values())


def test_identifier_errors_are_real_and_listed_exhaustively(sim):
    listed = defaultdict(set)
    for e in sim.errors:
        listed[(e["source_system"], e["record_id"])].add(e["kind"])
    upns = [("casework", str(k), r["upn"]) for k, r in sim.db["cw_person"].items()]
    upns += [("education", k, r["UPN"]) for k, r in sim.pupils.items()]
    upns += [("socialcare", c["id"], c["upn"]) for c in sim.children]
    for system, key, upn in upns:
        kinds = listed[(system, key)]
        if upn and not upn_is_well_formed(upn):
            assert "upn_format" in kinds, (system, key, upn)
        elif upn and not upn_is_valid(upn):
            assert "upn_check_letter" in kinds, (system, key, upn)
        elif upn and upn_is_temporary(upn):
            assert "upn_temporary" in kinds
        if "upn_check_letter" in kinds:
            assert upn and upn_is_well_formed(upn) and not upn_is_valid(upn)
        if "upn_format" in kinds:
            assert upn and not upn_is_well_formed(upn)
        if "upn_missing" in kinds:
            assert not upn
    for child in sim.children:
        kinds = listed[("socialcare", child["id"])]
        assert (child["nhs_number"] is not None and not nhs_is_valid(child["nhs_number"])) == (
            "nhs_check_digit" in kinds)
        assert (child["nhs_number"] is None) == ("nhs_missing" in kinds)


def test_recorded_birth_dates_match_the_errors(sim):
    dob = {("casework", str(k)): r["dob"] for k, r in sim.db["cw_person"].items()}
    dob |= {("education", k): datetime.strptime(r["DOB"], "%d/%m/%Y").date().isoformat()
            for k, r in sim.pupils.items()}
    dob |= {("socialcare", c["id"]): c["date_of_birth"] for c in sim.children}
    for e in sim.errors:
        if e["kind"].startswith("dob_"):
            recorded = re.search(r"recorded (\S+), true (\S+)", e["detail"])
            assert dob[(e["source_system"], e["record_id"])] == recorded.group(1) != recorded.group(2)


def test_duplicates_share_a_child_and_are_all_listed(sim):
    per_child = Counter((p["source_system"], p["child_id"]) for p in sim.persons)
    duplicated = {k for k, n in per_child.items() if n > 1}
    listed = Counter((e["source_system"], sim.child_of[(e["source_system"], e["record_id"])])
                     for e in sim.errors if e["kind"] == "duplicate_person")
    assert set(listed) == duplicated
    assert all(listed[k] == per_child[k] - 1 for k in duplicated)


def test_document_errors_are_real_and_exhaustive(sim):
    people, docs = sim.db["cw_person"], sim.db["cw_document"]
    idents = defaultdict(set)
    for pid, p in people.items():
        child = sim.child_of[("casework", str(pid))]
        idents[str(pid)].add(child)
        if p["upn"]:
            idents[p["upn"]].add(child)
    listed = defaultdict(set)
    for e in sim.errors:
        if e["object"] == "cw_document":
            listed[int(e["record_id"])].add(e["kind"])
    for doc_id, d in docs.items():
        m = CONVENTION.match(d["file_name"])
        assert (m is None) == ("document_misnamed" in listed[doc_id]), d
        own = sim.child_of[("casework", str(d["person_id"]))]
        if m is not None and own not in idents[m["ident"]]:
            assert "document_misfiled" in listed[doc_id], d
        if "document_misfiled" in listed[doc_id]:
            assert m is not None and idents[m["ident"]] and own not in idents[m["ident"]]
        assert (d["deleted_at"] is not None) == ("document_deleted" in listed[doc_id])
    hard = [e for e in sim.errors if e["kind"] == "document_deleted" and "hard" in e["detail"]]
    assert len(hard) >= NIGHTS - 1, "at least one document vanishes on every night after the first"
    assert all(int(e["record_id"]) not in docs for e in hard)
    final = {d["request_id"] for d in docs.values() if d["doc_type"] == "FINAL_PLAN"}
    missing = {str(p["plan_id"]) for p in sim.db["cw_plan"].values() if p["request_id"] not in final}
    assert missing == {e["record_id"] for e in sim.errors if e["kind"] == "final_plan_document_missing"}


def test_date_order_errors_are_real_and_exhaustive(sim):
    found = set()
    for r in sim.db["cw_request"].values():
        if any(r[c] and r[c] < r["received_date"] for c in ("decision_date", "outcome_date", "draft_issued_date")):
            found.add(("cw_request", str(r["request_id"])))
    for p in sim.db["cw_plan"].values():
        if p["ceased_date"] and p["ceased_date"] < p["issued_date"]:
            found.add(("cw_plan", str(p["plan_id"])))
    for r in sim.db["cw_review"].values():
        if r["decision_date"] and r["meeting_date"] and r["decision_date"] < r["meeting_date"]:
            found.add(("cw_review", str(r["review_id"])))
    assert found == {(e["object"], e["record_id"]) for e in sim.errors if e["kind"] == "date_order"}


def test_requests_csv_agrees_with_casework(sim):
    wrong = {e["record_id"] for e in sim.errors if e["kind"] == "date_order" and e["object"] == "cw_request"}
    assert {int(r["request_id"]) for r in sim.requests} == set(sim.db["cw_request"])
    decisions = {"Y": "assess", "N": "not_assess", "W": "withdrawn", None: "pending"}
    for r in sim.requests:
        db = sim.db["cw_request"][int(r["request_id"])]
        assert r["child_id"] == sim.child_of[("casework", str(db["person_id"]))]
        assert r["received_date"] == db["received_date"] and r["decision"] == decisions[db["decision"]]
        assert r["is_transfer_in"] == ("true" if db["transferred_in_from"] else "false")
        assert r["exception_applies"] == ("true" if db["exception_reason"] else "false")
        if r["request_id"] not in wrong:
            assert r["decision_date"] == (db["decision_date"] or "")
            assert r["outcome_date"] == (db["outcome_date"] or "")
        if r["days_to_outcome"]:
            days = (date.fromisoformat(r["outcome_date"]) - date.fromisoformat(r["received_date"])).days
            assert int(r["days_to_outcome"]) == days
        if r["issued_within_20_weeks"]:
            assert r["issued_within_20_weeks"] == ("true" if int(r["days_to_outcome"]) <= 140 else "false")
        if r["is_transfer_in"] == "true":  # outside every timeliness measure
            assert r["decided_within_6_weeks"] == r["issued_within_20_weeks"] == r["open_days"] == ""
            assert r["status_20_week"] == "not_applicable"


def test_cross_system_findings_hold(sim):
    last = sim.last
    active = {sim.child_of[("casework", str(p["person_id"]))] for p in sim.db["cw_plan"].values()
              if p["issued_date"] <= last and not p["ceased_date"]}
    in_education = {p["child_id"] for p in sim.persons if p["source_system"] == "education"}
    for e in sim.errors:
        if e["kind"] == "plan_without_education_record":
            assert sim.child_of[("casework", e["record_id"])] not in in_education
        if e["kind"] == "ehcp_flag_without_plan":
            assert sim.pupils[e["record_id"]]["SENProvision"] == "E"
        if e["kind"] == "looked_after_with_plan_unknown_to_casework":
            child = next(c for c in sim.children if c["id"] == e["record_id"])
            assert any(i["type"] == "CLA" and i["end_date"] is None for i in child["involvements"])
    flagged = {e["record_id"] for e in sim.errors if e["kind"] == "ehcp_flag_without_plan"}
    for ref, p in sim.pupils.items():
        if p["SENProvision"] == "E" and sim.child_of[("education", ref)] not in active:
            assert ref in flagged


def test_gaps_lie_within_plans_and_outside_education(sim):
    plans = {str(p["plan_id"]): p for p in sim.db["cw_plan"].values()}
    by_child = defaultdict(list)
    for p in sim.placements:
        start = datetime.strptime(p["StartDate"], "%d/%m/%Y").date()
        end = datetime.strptime(p["EndDate"], "%d/%m/%Y").date() if p["EndDate"] else date.max
        by_child[sim.child_of[("education", p["PupilRef"])]].append((start, end, p))
    for g in sim.gaps:
        plan = plans[g["plan_id"]]
        start = date.fromisoformat(g["gap_start"])
        end = date.fromisoformat(g["gap_end"]) if g["gap_end"] else date.fromisoformat(sim.last)
        assert date.fromisoformat(plan["issued_date"]) <= start <= end <= date.fromisoformat(sim.last)
        covering = [p for s, e, p in by_child[g["child_id"]] if s <= start <= e]
        if g["gap_type"] == "no_placement":
            assert not covering
        elif g["gap_type"] == "not_in_education":
            assert covering and all(p["SettingCode"] in ("NIEO", "NIEC", "NEET") for p in covering)
        else:
            assert any(p["HoursPerWeek"] and float(p["HoursPerWeek"]) < 25 for p in covering)


def test_sizes_are_exported():
    assert set(SIZES) == {"tiny", "council", "large-county", "england"}


@pytest.mark.parametrize("kwargs", [{"size": "city"}, {"size": "tiny", "nights": 0}])
def test_bad_arguments_are_refused_before_anything_is_written(tmp_path, kwargs):
    with pytest.raises(ValueError):
        simulate(**{"seed": 1, "out": tmp_path / "out", "nights": 1, **kwargs})
    assert not (tmp_path / "out").exists()
