"""Compare a pre-submission report with the problems the simulator injected (tests and bench).

Both sides become sets of (rule_code, object, id): object `cw_request`, `cw_plan`, `cw_review` or
`placements.csv` for a record's problem, `person.<item>` with the return's person_key for the
child's own items (a child the identity resolution left split is two persons of the return, each
judged on its own records). The injected side comes from the simulator's ground truth, limited to
the records the return holds (its module CSVs):

* `date_order` on a request's decision or outcome date, a plan's cease date or a review's decision
  date -> DATE_ORDER (a wrong draft date is no SEN2 item);
* `sen2_setting_missing` / `sen2_setting_conflict` -> ONE_SETTING; `sen2_need_missing` /
  `sen2_need_repeated` on an active plan -> SEN_NEEDS; `sen2_request_source_missing` -> REQUIRED_ITEM;
* `sen2_ethnicity_missing` / `sen2_sex_unknown` on every casework record of a person (and, for sex,
  no other record holding M or F) -> REQUIRED_ITEM Ethnicity / Sex;
* a person none of whose records (as the sources hold them) carries a valid permanent UPN while one
  carries a spoilt one (`upn_check_letter`, `upn_format`, `upn_temporary`) -> IDENTIFIER UPN; one
  with no UPN, ULN or UPNunknown reason in the return and an injected `upn_missing` -> IDENTIFIER
  UPNunknown;
* a date of birth taken from a record with an injected `dob_*` error that puts the child outside
  0-25 in the return -> AGE_RANGE.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import date
from pathlib import Path

from send_warehouse.simulator.identifiers import upn_is_temporary, upn_is_valid, upn_is_well_formed
from send_warehouse.warehouse.connection import connect

UPN_RANK = {"valid": 4, "temporary": 3, "check_letter": 2, "format": 1, "missing": 0}


def _rows(path: Path) -> list[dict]:
    with Path(path).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def upn_status(value: str | None) -> str:
    upn = (value or "").strip().upper()
    if not upn:
        return "missing"
    if upn_is_valid(upn):
        return "temporary" if upn_is_temporary(upn) else "valid"
    return "check_letter" if upn_is_well_formed(upn) else "format"


def _record_identity(sim: Path) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    """(source system, record id) -> (UPN, sex M/F/U) as the source holds them on the last night."""
    out: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    con = sqlite3.connect(sim / "casework.sqlite")
    try:
        for pid, upn, sex in con.execute("select person_id, upn, sex from cw_person"):
            out[("casework", str(pid))] = (upn, sex)
    finally:
        con.close()
    last = sorted(p for p in (sim / "education").iterdir() if p.is_dir())[-1]
    # Line by line: a damaged line's stray quote must not swallow the lines after it.
    lines = (last / "pupils.csv").read_bytes().decode("cp1252", errors="replace").split("\r\n")
    header = [h.strip().lower() for h in next(csv.reader([lines[0]]))]
    ref, upn, sex = header.index("pupilref"), header.index("upn"), header.index("gender")
    for line in lines[1:]:
        fields = next(csv.reader([line]), [])
        if len(fields) == len(header):
            out[("education", fields[ref].strip())] = (fields[upn], fields[sex].strip().upper())
    genders = {"male": "M", "female": "F"}
    for line in (sim / "socialcare" / "children.jsonl").read_text(encoding="utf-8").splitlines():
        child = json.loads(line)
        out[("socialcare", child["id"])] = (child.get("upn"), genders.get(child.get("gender"), "U"))
    return out


def _out_of_range(born: date, received: list[date], active: bool, reference: date) -> bool:
    def age(on: date) -> int:
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))

    oldest = max([*received, *([reference] if active else [])], default=reference)
    return bool(received) and min(received) < born or age(oldest) > 25


def compare(url: str, sim: Path, files: dict[str, str], reference: date) -> dict:
    """{'expected', 'reported', 'missing', 'unexpected'} for a return written by `produce`."""
    truth = Path(sim) / "ground_truth"
    person_rows = {r["person_key"]: r for r in _rows(files["person"])}
    with connect(url) as conn:
        records: dict[str, list[tuple[str, str]]] = {}
        for key, system, record in conn.execute(
                "select person_key, source_system, source_record_id from marts.bridge_person_source"
                " where person_key = any(%s)", (list(person_rows),)):
            records.setdefault(key, []).append((system, record))
        dob_source = dict(conn.execute(
            "select person_key, field_sources->>'date_of_birth' from restricted.person_identifiable"
            " where person_key = any(%s)", (list(person_rows),)).fetchall())

    requests = {r["casework_request_id"]: r for r in _rows(files["requests"])}
    named = {r["casework_plan_id"]: r for r in _rows(files["namedplan"])}
    detailed = {r["casework_plan_id"] for r in _rows(files["plandetail"])}
    active = {r["casework_plan_id"]: r for r in _rows(files["activeplans"])}
    reviews = {r["casework_review_id"]: r for r in active.values() if r["casework_review_id"]}
    expected: set[tuple[str, str, str]] = set()
    flagged: dict[str, set[tuple[str, str]]] = {}  # person-level kinds -> records
    for e in _rows(truth / "errors.csv"):
        kind, obj, rid = e["kind"], e["object"], e["record_id"]
        if kind == "date_order" and obj == "cw_request" and rid in requests and not e["detail"].startswith("draft"):
            expected.add(("DATE_ORDER", "cw_request", rid))
        elif kind == "date_order" and obj == "cw_plan" and named.get(rid, {}).get("CeaseDate"):
            expected.add(("DATE_ORDER", "cw_plan", rid))
        elif kind == "date_order" and obj == "cw_review" and reviews.get(rid, {}).get("LastReview"):
            expected.add(("DATE_ORDER", "cw_review", rid))
        elif kind in ("sen2_setting_missing", "sen2_setting_conflict") and rid in detailed:
            expected.add(("ONE_SETTING", "cw_plan", rid))
        elif kind in ("sen2_need_missing", "sen2_need_repeated") and rid in active:
            expected.add(("SEN_NEEDS", "cw_plan", rid))
        elif kind == "sen2_request_source_missing" and rid in requests:
            expected.add(("REQUIRED_ITEM", "cw_request", rid))
        elif kind in ("sen2_ethnicity_missing", "sen2_sex_unknown", "upn_missing") or kind.startswith("dob_"):
            flagged.setdefault(kind if not kind.startswith("dob_") else "dob", set()).add((e["source_system"], rid))

    identity = _record_identity(Path(sim))
    received_by_ref: dict[str, list[date]] = {}
    for r in requests.values():
        if r["ReceivedDate"]:
            received_by_ref.setdefault(r["person_ref"], []).append(date.fromisoformat(r["ReceivedDate"]))
    active_refs = {r["person_ref"] for r in active.values()}
    for key, row in person_rows.items():
        own = records.get(key, [])
        casework = [r for r in own if r[0] == "casework"]
        if casework and all(r in flagged.get("sen2_ethnicity_missing", ()) for r in casework):
            expected.add(("REQUIRED_ITEM", "person.Ethnicity", key))
        if casework and all(r in flagged.get("sen2_sex_unknown", ()) for r in casework) and \
                all(identity.get(r, (None, "U"))[1] not in ("M", "F") for r in own if r[0] != "casework"):
            expected.add(("REQUIRED_ITEM", "person.Sex", key))
        best = max((UPN_RANK[upn_status(identity.get(r, (None, None))[0])] for r in own), default=0)
        if 0 < best < UPN_RANK["valid"]:
            expected.add(("IDENTIFIER", "person.UPN", key))
        elif best == 0 and not row["UniqueLearnerNumber"] and not row["UPNunknown"] and \
                any(r in flagged.get("upn_missing", ()) for r in own):
            expected.add(("IDENTIFIER", "person.UPNunknown", key))
        source = tuple((dob_source.get(key) or ":").split(":", 1))
        if source in flagged.get("dob", ()) and row["PersonBirthDate"] and _out_of_range(
                date.fromisoformat(row["PersonBirthDate"]), received_by_ref.get(row["person_ref"], []),
                row["person_ref"] in active_refs, reference):
            expected.add(("AGE_RANGE", "person.PersonBirthDate", key))

    reported: set[tuple[str, str, str]] = set()
    for f in _rows(files["report_csv"]):
        if f["module"] == "Person":
            reported.add((f["rule_code"], f"person.{f['item']}", f["person_key"]))
        else:
            reported.add((f["rule_code"], f["source_object"], f["source_record_id"]))
    return {"expected": expected, "reported": reported, "missing": sorted(expected - reported),
            "unexpected": sorted(reported - expected)}
