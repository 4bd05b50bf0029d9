"""Compare a pre-submission report with the problems the simulator injected (tests and bench).

Both sides become sets of (rule_code, object, id): object `cw_request`, `cw_plan`, `cw_review` or
`placements.csv` for a record's problem, `child` (the ground truth's child_id) for the child's own
items. The injected side comes from the simulator's ground truth, limited to the records the
return holds (its module CSVs):

* `date_order` on a request's decision or outcome date, a plan's cease date or a review's decision
  date -> DATE_ORDER (a wrong draft date is no SEN2 item);
* `sen2_setting_missing` / `sen2_setting_conflict` -> ONE_SETTING; `sen2_need_missing` /
  `sen2_need_repeated` on an active plan -> SEN_NEEDS; `sen2_request_source_missing` -> REQUIRED_ITEM;
* `sen2_ethnicity_missing` on every casework record of a child -> REQUIRED_ITEM for the child;
* a child none of whose records (casework, pupils, social care, as the sources hold them) carries a
  valid permanent UPN while one carries a spoilt one (`upn_check_letter`, `upn_format`,
  `upn_temporary`) -> IDENTIFIER.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

from send_warehouse.simulator.identifiers import upn_is_temporary, upn_is_valid, upn_is_well_formed
from send_warehouse.warehouse.connection import connect

OBJECT_OF_MODULE = {"Person": "child", "Requests": "cw_request", "Assessment": "cw_request", "NamedPlan": "cw_plan",
                    "PlanDetail": "cw_plan", "SENneed": "cw_plan", "ActivePlans": "cw_review",
                    "PlacementDetail": "placements.csv"}
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


def _record_upns(sim: Path) -> dict[tuple[str, str], str | None]:
    """(source system, record id) -> UPN as the source holds it on the last night."""
    out: dict[tuple[str, str], str | None] = {}
    con = sqlite3.connect(sim / "casework.sqlite")
    try:
        out.update({("casework", str(pid)): upn for pid, upn in con.execute("select person_id, upn from cw_person")})
    finally:
        con.close()
    last = sorted(p for p in (sim / "education").iterdir() if p.is_dir())[-1]
    # Line by line: a damaged line's stray quote must not swallow the lines after it.
    lines = (last / "pupils.csv").read_bytes().decode("cp1252", errors="replace").split("\r\n")
    header = [h.strip().lower() for h in next(csv.reader([lines[0]]))]
    ref, upn = header.index("pupilref"), header.index("upn")
    for line in lines[1:]:
        fields = next(csv.reader([line]), [])
        if len(fields) == len(header):
            out[("education", fields[ref].strip())] = fields[upn]
    for line in (sim / "socialcare" / "children.jsonl").read_text(encoding="utf-8").splitlines():
        child = json.loads(line)
        out[("socialcare", child["id"])] = child.get("upn")
    return out


def compare(url: str, sim: Path, files: dict[str, str]) -> dict:
    """{'expected', 'reported', 'missing', 'unexpected'} for a return written by `produce`."""
    sim = Path(sim)
    truth = sim / "ground_truth"
    child_of = {(r["source_system"], r["source_record_id"]): r["child_id"] for r in _rows(truth / "persons.csv")}
    records_of: dict[str, list[tuple[str, str]]] = {}
    for record, child in child_of.items():
        records_of.setdefault(child, []).append(record)
    with connect(url) as conn:
        bridge = conn.execute("select person_key, source_system, source_record_id from marts.bridge_person_source")
        children_of_key: dict[str, set[str]] = {}
        for key, system, record in bridge:
            if (system, record) in child_of:
                children_of_key.setdefault(key, set()).add(child_of[(system, record)])

    requests = {r["casework_request_id"] for r in _rows(files["requests"])}
    named = {r["casework_plan_id"]: r for r in _rows(files["namedplan"])}
    detailed = {r["casework_plan_id"] for r in _rows(files["plandetail"])}
    active = {r["casework_plan_id"]: r for r in _rows(files["activeplans"])}
    reviews = {r["casework_review_id"]: r for r in _rows(files["activeplans"]) if r["casework_review_id"]}
    children = {c for r in _rows(files["person"]) for c in children_of_key.get(r["person_key"], ())}

    expected: set[tuple[str, str, str]] = set()
    no_ethnicity: set[str] = set()
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
        elif kind == "sen2_ethnicity_missing":
            no_ethnicity.add(rid)
    upns = _record_upns(sim)
    for child in children:
        records = records_of.get(child, [])
        casework = [r for s, r in records if s == "casework"]
        if casework and all(r in no_ethnicity for r in casework):
            expected.add(("REQUIRED_ITEM", "child", child))
        best = max((UPN_RANK[upn_status(upns.get(r))] for r in records), default=0)
        if 0 < best < UPN_RANK["valid"]:
            expected.add(("IDENTIFIER", "child", child))

    reported: set[tuple[str, str, str]] = set()
    for f in _rows(files["report_csv"]):
        obj = OBJECT_OF_MODULE[f["module"]]
        if obj == "child":
            for child in children_of_key.get(f["person_key"], {f"unknown:{f['person_key']}"}):
                reported.add((f["rule_code"], "child", child))
        else:
            reported.add((f["rule_code"], obj, f["source_record_id"]))
    return {"expected": expected, "reported": reported, "missing": sorted(expected - reported),
            "unexpected": sorted(reported - expected)}
