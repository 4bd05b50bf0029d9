"""Per-rule recall of fct_data_quality_exceptions against the simulator's ground truth.

`ground_truth/errors.csv` lists every error the simulator injected that is present after the
last night. Each kind a records-team rule should catch maps to one rule code (KIND_TO_RULE);
the other kinds are handled elsewhere (landing quarantines damaged CSV lines, identity
resolution absorbs name and date-of-birth variants) or are not errors of a record (a missing
UPN). Recall per rule = injected errors of its kinds raised tonight on the same record /
injected errors; a false positive is an exception raised tonight on a record for which the
ground truth lists no error of the rule's kinds (every firing of a rule no kind maps to).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from send_warehouse.warehouse.connection import connect

KIND_TO_RULE = {
    "upn_format": "UPN_FORMAT",
    "upn_check_letter": "UPN_CHECK_LETTER",
    "nhs_check_digit": "NHS_CHECK_DIGIT",
    "document_misfiled": "DOCUMENT_MISFILED",
    "document_misnamed": "DOCUMENT_MISNAMED",
    "final_plan_document_missing": "FINAL_PLAN_DOCUMENT_MISSING",
    "date_order": "DATE_ORDER",
    "duplicate_person": "DUPLICATE_PERSON",
    "plan_without_education_record": "UNLINKED_PERSON",
    "ehcp_flag_without_plan": "EHCP_FLAG_WITHOUT_PLAN",
    "looked_after_with_plan_unknown_to_casework": "LOOKED_AFTER_UNKNOWN_TO_CASEWORK",
}

# Where each unmapped kind is handled instead (printed under the table).
HANDLED_ELSEWHERE = {
    "name_variant": "identity resolution (names are compared as variants)",
    "dob_day_month_swap": "identity resolution (day/month swaps are compared)",
    "dob_digit_typo": "identity resolution (one-digit differences are compared)",
    "upn_missing": "not an error of the record (UPN optional); identity links on other fields",
    "upn_temporary": "not an error (a valid temporary UPN)",
    "nhs_missing": "not an error of the record (NHS number optional)",
    "document_deleted": "landing (cw_document is read whole; deletions are the source's truth)",
    "duplicated_csv_row": "landing (exact duplicate lines keep one copy)",
    "malformed_csv_row": "landing quarantine (audit.quarantine)",
    "impossible_date": "landing quarantine (audit.quarantine)",
    "field_count": "landing quarantine (audit.quarantine)",
    "stray_quote": "landing quarantine (audit.quarantine)",
    # Items the statutory return needs: checked by its pre-submission report (docs/sen2.md).
    "sen2_ethnicity_missing": "the SEN2 pre-submission report (REQUIRED_ITEM)",
    "sen2_sex_unknown": "the SEN2 pre-submission report (REQUIRED_ITEM)",
    "sen2_request_source_missing": "the SEN2 pre-submission report (REQUIRED_ITEM)",
    "sen2_need_missing": "the SEN2 pre-submission report (SEN_NEEDS)",
    "sen2_need_repeated": "the SEN2 pre-submission report (SEN_NEEDS)",
    "sen2_setting_missing": "the SEN2 pre-submission report (ONE_SETTING)",
    "sen2_setting_conflict": "the SEN2 pre-submission report (ONE_SETTING)",
}


def _injected(ground_truth: Path) -> dict[str, set[tuple[str, str]]]:
    """rule_code -> {(source_system, record_id)} of the injected errors the rule should catch."""
    expected: dict[str, set[tuple[str, str]]] = defaultdict(set)
    with (ground_truth / "errors.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            rule = KIND_TO_RULE.get(row["kind"])
            if rule:
                expected[rule].add((row["source_system"], row["record_id"]))
    return expected


def unmapped_kinds(ground_truth: Path) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    with (ground_truth / "errors.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["kind"] not in KIND_TO_RULE:
                counts[row["kind"]] += 1
    return dict(sorted(counts.items()))


def measure(url: str, ground_truth: Path, as_of: date) -> list[dict[str, Any]]:
    """One row per rule: injected, caught, recall, false positives (raised tonight in the mart)."""
    expected = _injected(ground_truth)
    raised: dict[str, set[tuple[str, str]]] = defaultdict(set)
    with connect(url) as conn:
        for rule, system, record in conn.execute(
            """select rule_code, source_system, source_record_id from marts.fct_data_quality_exceptions
               where last_seen = %s""",
            (as_of,),
        ).fetchall():
            raised[rule].add((system, record))
    rows = []
    for rule in sorted(set(expected) | set(raised)):
        injected, found = expected.get(rule, set()), raised.get(rule, set())
        caught = len(injected & found)
        rows.append({
            "rule_code": rule,
            "kinds": ", ".join(k for k, r in KIND_TO_RULE.items() if r == rule) or "(none injected)",
            "injected": len(injected),
            "caught": caught,
            "recall": round(caught / len(injected), 4) if injected else None,
            "false_positives": len(found - injected),
            "missed_examples": sorted(injected - found)[:5],
            "false_positive_examples": sorted(found - injected)[:5],
        })
    return rows


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| rule_code | ground-truth kind(s) | injected | caught | recall | false positives |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        recall = "—" if r["recall"] is None else f"{100 * r['recall']:.1f} %"
        lines.append(f"| `{r['rule_code']}` | {r['kinds']} | {r['injected']:,} | {r['caught']:,} | {recall} "
                     f"| {r['false_positives']:,} |")
    return "\n".join(lines)
