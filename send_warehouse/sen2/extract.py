"""Read a collection's children, requests, plans, placements and reviews out of the warehouse and
code them as SEN2 items.

The warehouse's unified models are the single source: requests and plans keyed by the reconciled
child (`intermediate.int_requests`, `int_plans`, `int_reviews`, `int_placements`) and the child's
surviving identity (`restricted.person_identifiable`). Coding rules (domain.md):

* in scope: requests received in the period or open at any time in it (received by its end and not
  closed before its start), requests decided or concluded in it, and the requests behind plans that ceased in it or
  were maintained on the reference date;
* each event is shown when its recorded date falls by the period's end (later ones are not known
  yet); RequestOutcome `H` when the decision to assess was made before the period (or elsewhere: a
  transfer-in), `A` while undecided at the period's end; AssessmentOutcome `H` when the plan was
  issued before the period or transferred in, `A` while undecided at its end. A request received in
  the period cannot have been decided before it: its recorded dates are then reported as out of
  order rather than coded `H`;
* Week20 = 1 when casework records a statutory exception;
* ActivePlans for a plan maintained on the reference date: the education placements covering that
  day (main registration rank 1, dual registrations after it), needs from the plan (primary rank 1,
  secondary rank 2), the latest review whose meeting fell in the period, and the phase transfer
  whose deadline fell in it (`marts.fct_phase_transfers`: deadline, and the amended plan's date).
"""

from __future__ import annotations

from datetime import date

from psycopg.rows import dict_row

from send_warehouse.sen2.collection import Collection
from send_warehouse.sen2.model import ActivePlan, Assessment, NamedPlan, Person, Request, Setting
from send_warehouse.simulator.identifiers import uln_is_valid
from send_warehouse.warehouse.connection import connect

REQUESTS_SQL = """
with plans as (
    select distinct on (casework_request_id) *
    from intermediate.int_plans
    order by casework_request_id, issued_date desc nulls last, casework_plan_id desc
),

requests as (
    select
        requests.*,
        case when requests.decision in ('N', 'W') then requests.decision_date
             when requests.assessment_outcome is not null then requests.outcome_date end as closed_date,
        plans.casework_plan_id, plans.issued_date, plans.primary_need, plans.secondary_need,
        plans.named_urn, plans.named_setting_code, plans.ceased_date, plans.cease_reason
    from intermediate.int_requests as requests
    left join plans on plans.casework_request_id = requests.casework_request_id
)

select *
from requests
where person_key is not null
  and (
    received_date between %(start)s and %(end)s
    or (received_date <= %(end)s and (closed_date is null or closed_date >= %(start)s))
    or decision_date between %(start)s and %(end)s
    or outcome_date between %(start)s and %(end)s
    or ceased_date between %(start)s and %(end)s
    or (issued_date <= %(reference)s and (ceased_date is null or ceased_date > %(reference)s))
  )
order by person_key, received_date, casework_request_id
"""

PERSONS_SQL = """
select person_key, surname, forename, date_of_birth, sex, ethnicity, postcode, upn, upn_status, uln
from restricted.person_identifiable
where person_key = any(%(keys)s)
"""

PLACEMENTS_SQL = """
select placement_id, person_key, urn, setting_code, start_date, end_date, is_dual_registration
from intermediate.int_placements
where person_key = any(%(keys)s)
  and start_date <= %(reference)s and (end_date is null or end_date >= %(reference)s)
order by person_key, is_dual_registration = 'Y', start_date, placement_id
"""

REVIEWS_SQL = """
select distinct on (casework_plan_id) casework_plan_id, casework_review_id, meeting_date, decision_date, outcome
from intermediate.int_reviews
where casework_plan_id = any(%(plans)s) and meeting_date between %(start)s and %(end)s
order by casework_plan_id, meeting_date desc, casework_review_id desc
"""

PHASE_SQL = """
select distinct on (casework_plan_id) casework_plan_id, deadline_date, final_plan_date
from marts.fct_phase_transfers
where casework_plan_id = any(%(plans)s) and deadline_date between %(start)s and %(end)s
order by casework_plan_id, deadline_date desc
"""

AS_OF_SQL = "select max(as_of_date) from marts.fct_ehc_requests"


def _before(day: date | None, limit: date) -> bool:
    return day is not None and day < limit


def _by(day: date | None, limit: date) -> bool:
    return day is not None and day <= limit


def outcome_code(row: dict, code_column: str, date_column: str, c: Collection) -> str:
    """SEN2 outcome of a request's decision (`decision`, `decision_date`) or of its assessment
    (`assessment_outcome`, `outcome_date`): H for a transfer-in or a step taken before the period on a
    request received before it, A while not taken by the period's end, else the recorded code."""
    code, day = row[code_column], row[date_column]
    if row["transferred_in_from_la_code"] is not None:
        return "H"
    if code is None or day is None or day > c.period_end:
        return "A"
    if _before(day, c.period_start) and _before(row["received_date"], c.period_start):
        return "H"
    return code


def upn_unknown_reason(person: dict, requests: list[dict], placements: list[dict], c: Collection) -> str | None:
    """The UPNunknown reason when neither a UPN nor a ULN is held, where the records show it [U codes]:
    UN10 no plan came of any request, UN1 under 6, UN3 educated at home, UN9 16 or over and not in
    school; None when the records cannot tell (the report asks the caseworker)."""
    if not any(r["casework_plan_id"] is not None for r in requests):
        return "UN10"
    dob = person["date_of_birth"]
    age = None if dob is None else (c.reference_date - dob).days // 365.25
    if age is not None and age < 6:
        return "UN1"
    if any(p["setting_code"] == "EHE" for p in placements):
        return "UN3"
    if age is not None and age >= 16 and not any(p["urn"] for p in placements):
        return "UN9"
    return None


def load(url: str, c: Collection) -> tuple[list[Person], date | None]:
    """The return's persons in order (by surname, forename, date of birth, key), and the warehouse's as_of_date."""
    params = {"start": c.period_start, "end": c.period_end, "reference": c.reference_date}
    with connect(url) as conn, conn.cursor(row_factory=dict_row) as cur:
        as_of = cur.execute(AS_OF_SQL).fetchone()["max"]
        requests = cur.execute(REQUESTS_SQL, params).fetchall()
        keys = sorted({r["person_key"] for r in requests})
        persons = {p["person_key"]: p for p in cur.execute(PERSONS_SQL, {"keys": keys}).fetchall()}
        active = [r for r in requests if _maintained_on(r, c.reference_date)]
        placements: dict[str, list[dict]] = {}
        for p in cur.execute(PLACEMENTS_SQL, {"keys": sorted({r["person_key"] for r in active}), **params}):
            placements.setdefault(p["person_key"], []).append(p)
        plans = {"plans": [r["casework_plan_id"] for r in active], **params}
        reviews = {r["casework_plan_id"]: r for r in cur.execute(REVIEWS_SQL, plans)}
        phases = {r["casework_plan_id"]: r for r in cur.execute(PHASE_SQL, plans)}
    by_person: dict[str, list[dict]] = {}
    for r in requests:
        by_person.setdefault(r["person_key"], []).append(r)
    out = []
    for key, rows in by_person.items():
        p = persons.get(key) or {"surname": None, "forename": None, "date_of_birth": None, "sex": None,
                                 "ethnicity": None, "postcode": None, "upn": None, "upn_status": "missing",
                                 "uln": None}
        child_placements = placements.get(key, [])
        uln = p["uln"] if p["uln"] and uln_is_valid(p["uln"]) else None
        unknown = None
        if p["upn_status"] == "missing" and uln is None:
            unknown = upn_unknown_reason(p, rows, child_placements, c)
        person = Person(key, p["surname"], p["forename"], p["date_of_birth"], p["sex"], p["ethnicity"],
                        p["postcode"], p["upn"], p["upn_status"], uln, unknown)
        person.requests = [_request(r, c, child_placements, reviews.get(r["casework_plan_id"]),
                                    phases.get(r["casework_plan_id"])) for r in rows]
        out.append(person)
    out.sort(key=lambda p: ((p.surname or "").lower(), (p.forename or "").lower(), p.birth_date or date.min,
                            p.person_key))
    return out, as_of


def _maintained_on(row: dict, day: date) -> bool:
    return (row["issued_date"] is not None and row["issued_date"] <= day
            and (row["ceased_date"] is None or row["ceased_date"] > day))


def _request(row: dict, c: Collection, placements: list[dict], review: dict | None, phase: dict | None) -> Request:
    outcome = outcome_code(row, "decision", "decision_date", c)
    assessment = None
    a_outcome = outcome_code(row, "assessment_outcome", "outcome_date", c)
    # An outcome recorded in the period is shown even under a decision recorded after it: the dates
    # are as the system holds them (the report flags their order), and the counts match the marts'.
    if outcome in ("Y", "H") or a_outcome in ("Y", "N", "W"):
        named = None
        if a_outcome in ("Y", "H") and row["casework_plan_id"] is not None:
            named = NamedPlan(
                row["casework_plan_id"], row["issued_date"],
                [Setting(row["named_urn"], None, row["named_setting_code"], 1, source_id=str(row["casework_plan_id"]))],
                row["ceased_date"] if _by(row["ceased_date"], c.reference_date) else None,
                row["cease_reason"] if _by(row["ceased_date"], c.reference_date) else None)
        week20 = (1 if row["exception_reason"] else 0) if a_outcome in ("Y", "N") else None
        assessment = Assessment(a_outcome, row["outcome_date"] if a_outcome != "A" else None, week20, named)
    active = None
    if outcome in ("Y", "H") and _maintained_on(row, c.reference_date):
        needs = [(row["primary_need"], 1)] if row["primary_need"] or not row["secondary_need"] else []
        if row["secondary_need"]:
            needs.append((row["secondary_need"], 2))
        # As the reference date saw them: a leaving date after it had not happened yet.
        settings = [Setting(p["urn"], None, p["setting_code"], rank, p["start_date"],
                            p["end_date"] if _by(p["end_date"], c.reference_date) else None,
                            source_id=p["placement_id"]) for rank, p in enumerate(placements, start=1)]
        active = ActivePlan(
            row["casework_plan_id"], row["transferred_in_from_la_code"], settings, needs,
            review["meeting_date"] if review else None,
            review["decision_date"] if review and _by(review["decision_date"], c.reference_date) else None,
            review["outcome"] if review and _by(review["decision_date"], c.reference_date) else None,
            review["casework_review_id"] if review else None,
            phase["deadline_date"] if phase else None,
            phase["final_plan_date"] if phase and _by(phase["final_plan_date"], c.period_end) else None)
    return Request(row["casework_request_id"], row["casework_person_id"], row["received_date"],
                   row["request_source"], row["decision_date"] if outcome != "A" else None, outcome,
                   row["transferred_in_from_la_code"] is not None, assessment, active)
