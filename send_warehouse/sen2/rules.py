"""The pre-submission checks: every rule failure of a return, per child, with what to fix.

Rules (domain.md): required and conditional items; exactly one of URN / UKPRN / SENSetting for each
PlanDetail and PlacementDetail; at most two needs with distinct ranks (and distinct types, a rank 1
need for every active plan); dates in order; age 0-25; a UPN, ULN or UPNunknown reason for every
child. Each failure names the source record to correct (casework person / request / plan / review,
education placement), so the records team can fix it at source and rebuild the return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from send_warehouse.sen2.collection import Collection
from send_warehouse.sen2.model import Person, Request, Setting
from send_warehouse.sen2.xml import SEN_TYPES, SETTING_CODES

RULES = {
    "REQUIRED_ITEM": "a required item is missing",
    "CONDITIONAL_ITEM": "an item required by another item's value is missing",
    "ONE_SETTING": "exactly one of URN, UKPRN or SENSetting",
    "SEN_NEEDS": "at most two needs, a rank 1 need, distinct ranks and types",
    "DATE_ORDER": "a later step dated before an earlier one",
    "AGE_RANGE": "the child must be aged 0 to 25",
    "IDENTIFIER": "a valid UPN, a ULN or a UPNunknown reason",
}
UPN_PROBLEMS = {
    "check_letter": "the UPN's check letter is wrong (a keying error): find the right UPN in the pupil record",
    "format": "the UPN is not 13 characters of the right shape: correct it from the pupil record",
    "temporary": "only a temporary UPN is held: record the child's permanent UPN",
}


@dataclass(frozen=True)
class Failure:
    person_key: str
    child: str  # "Surname, Forename (dob)": for the records team reading the report
    rule_code: str
    module: str
    item: str
    source_system: str
    source_object: str  # cw_person, cw_request, cw_plan, cw_review (casework) or placements.csv (education)
    source_record_id: str  # the record to correct
    message: str  # what is wrong and what to fix

    def key(self) -> tuple[str, str, str]:
        return self.rule_code, self.source_object, self.source_record_id


def check(persons: list[Person], c: Collection) -> list[Failure]:
    failures: list[Failure] = []
    for p in persons:
        failures += _person(p, c)
    return failures


def _label(p: Person) -> str:
    return f"{p.surname or '?'}, {p.forename or '?'} ({p.birth_date.isoformat() if p.birth_date else 'no DOB'})"


def _person(p: Person, c: Collection) -> list[Failure]:
    out: list[Failure] = []
    person_record = str(p.requests[0].casework_person_id) if p.requests else ""

    def fail(rule: str, module: str, item: str, message: str) -> None:
        out.append(Failure(p.person_key, _label(p), rule, module, item, "casework", "cw_person", person_record,
                           message))

    for item, value in (("Surname", p.surname), ("Forename", p.forename), ("PersonBirthDate", p.birth_date)):
        if not value:
            fail("REQUIRED_ITEM", "Person", item, f"{item} is missing: record it on the child's casework record")
    if p.xml_sex is None:
        fail("REQUIRED_ITEM", "Person", "Sex", f"Sex is {p.sex or 'missing'!r}: SEN2 needs M or F")
    if not p.ethnicity:
        fail("REQUIRED_ITEM", "Person", "Ethnicity",
             "Ethnicity is missing: record the child's ethnicity (REFU if refused, NOBT if not yet obtained)")
    if p.upn_status in UPN_PROBLEMS:
        fail("IDENTIFIER", "Person", "UPN", f"UPN {p.upn}: {UPN_PROBLEMS[p.upn_status]}")
    elif p.upn_status == "missing" and p.uln is None and p.upn_unknown is None:
        fail("IDENTIFIER", "Person", "UPNunknown",
             "no UPN or ULN is held and the records do not show why: record the UPN, or the UPNunknown reason")
    if p.birth_date:
        oldest = max(c.reference_date if r.active_plan else (r.received_date or c.reference_date) for r in p.requests)
        youngest = min((r.received_date for r in p.requests if r.received_date), default=c.reference_date)
        if youngest < p.birth_date or _age(p.birth_date, oldest) > 25:
            fail("AGE_RANGE", "Person", "PersonBirthDate",
                 f"date of birth {p.birth_date} makes the child younger than 0 or older than 25 in the "
                 "return: check the date of birth")
    for r in p.requests:
        out += _request(p, r)
    return out


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _request(p: Person, r: Request) -> list[Failure]:
    out: list[Failure] = []

    def fail(rule: str, module: str, item: str, message: str, obj: str = "cw_request", record: str = "") -> None:
        system = "education" if obj == "placements.csv" else "casework"
        out.append(Failure(p.person_key, _label(p), rule, module, item, system, obj,
                           record or str(r.casework_request_id), message))

    if r.received_date is None:
        fail("REQUIRED_ITEM", "Requests", "ReceivedDate", "the request has no received date: record it")
    if r.request_source is None:
        fail("REQUIRED_ITEM", "Requests", "RequestSource",
             "RequestSource is missing: record who made the request (1 parent/young person, 2 school, 3 health, "
             "4 social care, 5 other)")
    if r.received_date and r.outcome_date and r.outcome_date < r.received_date:
        fail("DATE_ORDER", "Requests", "RequestOutcomeDate",
             f"decision dated {r.outcome_date}, before the request was received on {r.received_date}: correct "
             "the decision date")
    a = r.assessment
    if a:
        if a.outcome_date and r.received_date and a.outcome_date < r.received_date:
            fail("DATE_ORDER", "Assessment", "AssessmentOutcomeDate",
                 f"assessment outcome dated {a.outcome_date}, before the request was received on "
                 f"{r.received_date}: correct the outcome date")
        n = a.named_plan
        if n:
            plan = str(n.casework_plan_id)
            if n.cease_date and n.cease_reason is None:
                fail("CONDITIONAL_ITEM", "NamedPlan", "CeaseReason",
                     "the plan has a cease date but no cease reason: record the reason (1-9)",
                     obj="cw_plan", record=plan)
            if n.cease_date and n.start_date and n.cease_date < n.start_date:
                fail("DATE_ORDER", "NamedPlan", "CeaseDate",
                     f"plan ceased {n.cease_date}, before it was issued on {n.start_date}: correct the cease date",
                     obj="cw_plan", record=plan)
            for detail in n.details:
                problem = _one_setting(detail)
                if problem:
                    fail("ONE_SETTING", "PlanDetail", "URN/UKPRN/SENSetting",
                         f"the setting named in the plan {problem}", obj="cw_plan", record=plan)
    ap = r.active_plan
    if ap:
        plan = str(ap.casework_plan_id)
        types = [t for t, _ in ap.needs if t]
        ranks = [rank for t, rank in ap.needs if t]
        if 1 not in ranks:
            fail("SEN_NEEDS", "SENneed", "SENtype",
                 "the active plan records no primary need: record the SEN type of the primary need",
                 obj="cw_plan", record=plan)
        if len(types) > 2 or len(set(types)) < len(types) or len(set(ranks)) < len(ranks):
            fail("SEN_NEEDS", "SENneed", "SENtype",
                 f"needs {', '.join(types)}: the same need is recorded twice or ranks repeat; record at most two "
                 "different needs, ranked 1 and 2", obj="cw_plan", record=plan)
        bad = [t for t in types if t not in SEN_TYPES]
        if bad:
            fail("SEN_NEEDS", "SENneed", "SENtype", f"unknown SEN type {', '.join(bad)}", obj="cw_plan", record=plan)
        for placement in ap.placements:
            problem = _one_setting(placement)
            if problem:
                fail("ONE_SETTING", "PlacementDetail", "URN/UKPRN/SENSetting", f"the placement {problem}",
                     obj="placements.csv", record=placement.source_id)
            if placement.leaving_date and placement.entry_date and placement.leaving_date < placement.entry_date:
                fail("DATE_ORDER", "PlacementDetail", "LeavingDate",
                     f"placement left {placement.leaving_date}, before entry on {placement.entry_date}",
                     obj="placements.csv", record=placement.source_id)
        if ap.review_meeting and ap.last_review and ap.last_review < ap.review_meeting:
            fail("DATE_ORDER", "ActivePlans", "LastReview",
                 f"review decision dated {ap.last_review}, before the review meeting on {ap.review_meeting}: "
                 "correct the decision date", obj="cw_review", record=str(ap.casework_review_id))
    return out


def _one_setting(s: Setting) -> str | None:
    given = [name for name, value in (("URN", s.urn), ("UKPRN", s.ukprn), ("SENSetting", s.sen_setting)) if value]
    if not given:
        return "has none of URN, UKPRN or SENSetting: record the school's URN or the setting code"
    if len(given) > 1:
        return f"has {' and '.join(given)}: keep exactly one (a URN for a school, else the setting code)"
    if s.sen_setting and s.sen_setting not in SETTING_CODES:
        return f"has setting code {s.sen_setting!r}, not an SEN2 setting code"
    return None
