"""The module-per-file CSVs councils use to check a return before submitting: one file per SEN2
module, one row per occurrence, carrying exactly the values the XML carries plus the warehouse ids
(person_ref is the Person's position in the XML, from 1)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from send_warehouse.sen2.model import Person

MODULES: dict[str, tuple[str, ...]] = {
    "person": ("person_ref", "person_key", "Surname", "Forename", "PersonBirthDate", "Sex", "Ethnicity", "PostCode",
               "UPN", "UniqueLearnerNumber", "UPNunknown"),
    "requests": ("person_ref", "casework_request_id", "ReceivedDate", "RequestSource", "RequestOutcomeDate",
                 "RequestOutcome"),
    "assessment": ("person_ref", "casework_request_id", "AssessmentOutcome", "AssessmentOutcomeDate", "Week20"),
    "namedplan": ("person_ref", "casework_request_id", "casework_plan_id", "StartDate", "CeaseDate", "CeaseReason"),
    "plandetail": ("person_ref", "casework_plan_id", "URN", "UKPRN", "SENSetting", "PlacementRank"),
    "activeplans": ("person_ref", "casework_request_id", "casework_plan_id", "TransferLA", "ReviewMeeting",
                    "LastReview", "ReviewOutcome", "casework_review_id", "PhaseTransferDueDate",
                    "PhaseTransferFinalDate"),
    "placementdetail": ("person_ref", "casework_plan_id", "placement_id", "URN", "UKPRN", "SENSetting",
                        "PlacementRank", "EntryDate", "LeavingDate"),
    "senneed": ("person_ref", "casework_plan_id", "SENtype", "SENtypeRank"),
}


def module_rows(persons: list[Person]) -> Iterator[tuple[str, tuple]]:
    """(module, row) for every occurrence of every module, in XML order."""
    for ref, p in enumerate(persons, start=1):
        yield "person", (ref, p.person_key, p.surname, p.forename, p.birth_date, p.xml_sex, p.ethnicity, p.postcode,
                         p.xml_upn, p.uln, p.upn_unknown)
        for r in p.requests:
            rid = r.casework_request_id
            yield "requests", (ref, rid, r.received_date, r.request_source, r.outcome_date, r.outcome)
            a = r.assessment
            if a:
                yield "assessment", (ref, rid, a.outcome, a.outcome_date, a.week20)
                n = a.named_plan
                if n:
                    yield "namedplan", (ref, rid, n.casework_plan_id, n.start_date, n.cease_date, n.cease_reason)
                    for d in n.details:
                        yield "plandetail", (ref, n.casework_plan_id, d.urn, d.ukprn, d.sen_setting, d.rank)
            ap = r.active_plan
            if ap:
                yield "activeplans", (ref, rid, ap.casework_plan_id, ap.transfer_la, ap.review_meeting,
                                      ap.last_review, ap.review_outcome, ap.casework_review_id,
                                      ap.phase_transfer_due, ap.phase_transfer_final)
                for s in ap.placements:
                    yield "placementdetail", (ref, ap.casework_plan_id, s.source_id, s.urn, s.ukprn, s.sen_setting,
                                              s.rank, s.entry_date, s.leaving_date)
                for sen_type, rank in ap.needs:
                    yield "senneed", (ref, ap.casework_plan_id, sen_type, rank)


def write_modules(persons: list[Person], prefix: Path) -> dict[str, Path]:
    """Write `<prefix>_<module>.csv` for every module; return the paths by module."""
    paths = {m: prefix.with_name(f"{prefix.name}_{m}.csv") for m in MODULES}
    handles = {m: path.open("w", encoding="utf-8", newline="") for m, path in paths.items()}
    try:
        writers = {m: csv.writer(f) for m, f in handles.items()}
        for m, header in MODULES.items():
            writers[m].writerow(header)
        for m, row in module_rows(persons):
            writers[m].writerow(["" if v is None else v for v in row])
    finally:
        for f in handles.values():
            f.close()
    return paths
