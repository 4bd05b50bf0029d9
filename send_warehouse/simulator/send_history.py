"""The true history of every child who ever had a request for an EHC needs assessment.

Children are generated in blocks of one calendar month of requests, from January 2008 to the
month of the last night; each block draws only from its own random stream, so a block is the same
whatever the horizon. A child's whole life is generated at once (requests, decisions, the plan and
its reviews, documents, school placements, social care), with dates running past the last night;
what a system shows on a night is a projection of this history onto that night (`casework.py`,
`education.py`, `socialcare.py`). Future events are simply not shown yet.

Rates follow DfE's published figures (domain.md); the comments name the figure each one serves.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from .columns import I32, OBJECT, Builder, Table
from .dates import (
    NEVER,
    add_years,
    day_of,
    next_weekday,
    prev_weekday,
    reception_year,
    sep1,
)
from .establishments import Establishments
from .hashing import poisson, py_random, weighted
from .identifiers import make_nhs_number, make_upn, postcode_code
from .messiness import rate, record_identity
from .names import ETHNICITY_GROUP, POOLS, ethnicity_codes
from .people import ERROR_COLUMNS, SCOPE_AFTER_LEAVING, Child, SocialCareBuilder, upn_record
from .placements import Seg, placements
from .sizes import SizeSpec
from .statutory import cease_of_plan, request, request_age, transfer_request

HISTORY_START = (2008, 1)
STALLED_FROM = day_of(2022, 1, 1)  # tiny's stream of stalled requests (so every 20-week status exists)
A_BASE_SHARE = 0.4  # EHC children's numbers start at 40% of the id space (general population below)
REPEAT_SHARE = 0.08  # requests that are a child's second request
TRANSFER_IN_SHARE = 0.06  # children arriving with a plan from another council, per request
P_REVIEW_DECISION_4W = 0.444  # 2024: 44.4% of review decisions within 4 weeks
P_SOCIALCARE = 0.30  # plan holders ever known to children's social care
P_TWIN = 0.02
P_UNKNOWN_TO_EDUCATION = 0.006
NEEDS = (("ASD", 31.5), ("SLCN", 21.3), ("SEMH", 20.7), ("MLD", 10.6), ("SLD", 4.0), ("PD", 3.9),
         ("SPLD", 2.3), ("OTH", 1.4), ("HI", 1.3), ("PMLD", 1.2), ("VI", 0.7), ("DS", 0.4), ("MSI", 0.2))
SPECIAL_PROPENSITY = {"SLD": 0.9, "PMLD": 0.95, "MSI": 0.8, "DS": 0.6, "ASD": 0.5, "SEMH": 0.48, "MLD": 0.35,
                      "PD": 0.4, "HI": 0.25, "VI": 0.25, "SLCN": 0.14, "SPLD": 0.05, "OTH": 0.25}
DOC_TYPES = ("ADVICE_EDPSYCH", "ADVICE_HEALTH", "ADVICE_SOCIAL", "ADVICE_SCHOOL", "DRAFT_PLAN", "FINAL_PLAN",
             "REVIEW_REPORT", "DECISION_LETTER", "OTHER")  # documents hold the index (a byte, not a pointer)
DOC_CODE = {t: i for i, t in enumerate(DOC_TYPES)}
DOC_TYPES_ADVICE = ("ADVICE_EDPSYCH", "ADVICE_HEALTH", "ADVICE_SCHOOL")
MISNAMED_STYLES = 7  # see casework.document_file_name

KIND_REQUEST, KIND_TRANSFER, KIND_STALLED, KIND_TWIN = 0, 1, 2, 3
KEYS_PER_CHILD = 1 << 12  # row keys of a child's story: compact * KEYS_PER_CHILD + its n-th row

PERSON_COLUMNS = {
    "key": np.int64, "child": I32, "created": I32, "forename": OBJECT, "surname": OBJECT, "dob": I32,
    "sex": OBJECT, "upn_state": np.int8, "upn_other": OBJECT, "upn_la": np.int16, "upn_day": I32, "uln_day": I32,
    "la": np.int16, "pc1": I32, "pc2": I32, "pc_day": I32, "pc_style": np.int8, "ethnicity": OBJECT, "touch_until": I32,
    "is_dup": bool,
}
REQUEST_COLUMNS = {
    "key": np.int64, "person": I32, "child": I32, "received": I32, "created": I32, "source": I32,
    "decision": OBJECT, "decision_day": I32, "decision_rec": I32, "outcome": OBJECT,
    "outcome_day": I32, "outcome_rec": I32, "draft_day": I32, "draft_rec": I32,
    "exception": OBJECT, "exception_day": I32, "transfer_from": OBJECT, "team": OBJECT,
    "closed": I32,
}
PLAN_COLUMNS = {
    "key": np.int64, "person": I32, "request": I32, "child": I32, "issued": I32, "primary": OBJECT,
    "secondary": OBJECT, "cease_day": I32, "cease_rec": I32, "cease_reason": I32,
}
SETTING_COLUMNS = {"plan": I32, "day": I32, "urn": I32, "code": OBJECT}
REVIEW_COLUMNS = {
    "key": np.int64, "plan": I32, "due": I32, "created": I32, "meeting_day": I32, "decision_day": I32,
    "decision_rec": I32, "outcome": OBJECT, "amended_day": I32, "amended_rec": I32,
}
DOCUMENT_COLUMNS = {
    "key": np.int64, "person": I32, "request": I32, "doc_type": np.int8, "filed": I32, "soft_deleted": I32,
    "style": np.int8, "misfiled": bool,
}
PUPIL_COLUMNS = {
    "child": I32, "ref": I32, "created": I32, "scope_end": I32, "forename": OBJECT,
    "surname": OBJECT, "dob": I32, "sex": OBJECT, "upn_state": np.int8, "upn_other": OBJECT, "upn_la": np.int16,
    "upn_day": I32, "uln_day": I32, "la": np.int16, "pc1": I32, "pc2": I32, "pc_day": I32, "is_dup": bool,
    "k_start": I32, "k_end": I32, "e_start": I32, "e_end": I32,
}
PLACEMENT_COLUMNS = {
    "pupil": I32, "slot": I32, "start": I32, "end": I32, "reason": OBJECT, "urn": I32,
    "code": OBJECT, "hours": np.float64, "dual": bool,
}


@dataclass
class SendHistory:
    """The EHC population's world tables (rows reference each other by row number)."""

    persons: Table
    requests: Table
    plans: Table
    settings: Table
    reviews: Table
    documents: Table
    pupils: Table
    placements: Table
    errors: Table  # casework and education errors of this population


class SendHistoryBuilder:
    """Generates the EHC population month by month into column stores (see the module docstring)."""

    def __init__(self, spec: SizeSpec, seed: int, est: Establishments, socialcare: SocialCareBuilder, horizon: int):
        self.spec, self.seed, self.est, self.sc = spec, seed, est, socialcare
        self.boost = spec.boost
        self.eth_codes, self.eth_cum = ethnicity_codes(spec.ethnicity_profile)
        weights = np.array([spec.la_weight(la) for la in spec.la_codes])
        self.la_cum = np.cumsum(weights) / weights.sum()
        self.next_compact = int(spec.id_space * A_BASE_SHARE)
        # Rows that come into existence after the last night are never stored (see columns.Builder).
        self.persons = Builder(PERSON_COLUMNS, "created", horizon)
        self.requests = Builder(REQUEST_COLUMNS, "created", horizon)
        self.plans = Builder(PLAN_COLUMNS, "issued", horizon)
        self.settings = Builder(SETTING_COLUMNS, "day", horizon)
        self.reviews = Builder(REVIEW_COLUMNS, "created", horizon)
        self.documents = Builder(DOCUMENT_COLUMNS, "filed", horizon)
        self.pupils = Builder(PUPIL_COLUMNS, "created", horizon)
        self.placements = Builder(PLACEMENT_COLUMNS, "start", horizon)
        self.errors = Builder(ERROR_COLUMNS, "visible", horizon)
        self._builders = (self.persons, self.requests, self.plans, self.settings, self.reviews,
                          self.documents, self.pupils, self.placements, self.errors)

    # --- the blocks -----------------------------------------------------------------------------

    def build(self, last_year: int, last_month: int) -> SendHistory:
        year, month = HISTORY_START
        while (year, month) <= (last_year, last_month):
            self._block(year, month)
            for b in self._builders:
                b.flush()
            self.sc.flush()
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return SendHistory(*(b.finish() for b in self._builders))

    def _block(self, year: int, month: int) -> None:
        rnd = py_random(self.seed, self.spec.name, "send", year, month)
        first = day_of(year, month, 1)
        days = (day_of(year + (month == 12), month % 12 + 1, 1)) - first
        expected = self.spec.requests_in_month(year, month)
        anchors: list[tuple[int, int]] = []
        for _ in range(poisson(rnd, expected * (1 - REPEAT_SHARE))):
            day = first + rnd.randrange(days)
            anchors.append((KIND_REQUEST, next_weekday(day) if rnd.random() < 0.9 else day))
        for _ in range(poisson(rnd, expected * TRANSFER_IN_SHARE)):
            anchors.append((KIND_TRANSFER, next_weekday(first + rnd.randrange(days))))
        if self.spec.stalled_every_days:
            period = self.spec.stalled_every_days
            anchors += [(KIND_STALLED, d) for d in range(max(first, STALLED_FROM), first + days) if d % period == 0]
        anchors.sort(key=lambda a: a[1])
        for kind, anchor in anchors:
            child = self._new_child(rnd, kind, anchor)
            twin = None
            if kind == KIND_REQUEST and rnd.random() < min(0.3, P_TWIN * self.boost):
                twin = self._twin_of(rnd, child)
            self._life(rnd, child, kind, anchor)
            if twin is not None:
                send = rnd.random() < 0.4
                self._life(rnd, twin, KIND_REQUEST if send else KIND_TWIN, next_weekday(anchor + rnd.randrange(0, 60)))

    # --- who the child is -------------------------------------------------------------------------

    def _new_child(self, rnd: random.Random, kind: int, anchor: int) -> Child:
        age_years = rnd.uniform(2, 18) if kind == KIND_TRANSFER else request_age(rnd)
        dob = anchor - int(age_years * 365.25) - rnd.randrange(0, 30)
        sex = "M" if rnd.random() < 0.72 else "F"  # about 72% of plan holders are boys
        eth = self.eth_codes[int(np.searchsorted(self.eth_cum, rnd.random(), side="right"))]
        group = ETHNICITY_GROUP[eth]
        boys, girls, surnames = POOLS[group]
        la = self.spec.la_codes[int(np.searchsorted(self.la_cum, rnd.random(), side="right"))]
        pc1 = self._postcode(rnd, la)
        move = rnd.random() < 0.3
        move_day = dob + rnd.randrange(0, 20 * 365) if move else NEVER
        if kind == KIND_TRANSFER:
            arrival = anchor
        elif rnd.random() < 0.1:
            arrival = dob + rnd.randrange(0, max(1, anchor - dob))
        else:
            arrival = dob
        compact = self._compact()
        reception = sep1(reception_year(dob))
        upn_la = la if arrival <= reception else rnd.choice(self.spec.neighbour_las)
        return Child(compact=compact, dob=dob, sex=sex, group=group, ethnicity=eth,
                     forename=rnd.choice(boys if sex == "M" else girls), surname=rnd.choice(surnames), la=la,
                     pc1=pc1, pc2=self._postcode(rnd, la) if move else -1, move_day=move_day,
                     arrival=arrival, departure=NEVER, upn=make_upn(upn_la, compact), upn_la=upn_la,
                     upn_day=max(reception, arrival), nhs=make_nhs_number(compact))

    def _twin_of(self, rnd: random.Random, child: Child) -> Child:
        sex = "M" if rnd.random() < 0.5 else "F"
        boys, girls, _ = POOLS[child.group]
        names = [n for n in (boys if sex == "M" else girls) if n != child.forename]
        compact = self._compact()
        return Child(compact=compact, dob=child.dob, sex=sex, group=child.group, ethnicity=child.ethnicity,
                     forename=rnd.choice(names), surname=child.surname, la=child.la, pc1=child.pc1,
                     pc2=child.pc2, move_day=child.move_day, arrival=child.arrival, departure=child.departure,
                     upn=make_upn(child.upn_la, compact), upn_la=child.upn_la, upn_day=child.upn_day,
                     nhs=make_nhs_number(compact))

    def _compact(self) -> int:
        self.next_compact += 1
        return self.next_compact - 1

    def _postcode(self, rnd: random.Random, la: int) -> int:
        _, base = self.spec.postcode_area(la)
        return postcode_code(base + rnd.randrange(30), rnd.randrange(10), rnd.randrange(400))

    # --- the child's life -------------------------------------------------------------------------

    def _key(self) -> int:
        """A stable key for the next row of this child's story (its clock times hash on it, and ties in
        creation order break on it): unlike a row number, the same whatever the horizon."""
        self._key_next += 1
        return self._key_next - 1

    def _life(self, rnd: random.Random, c: Child, kind: int, anchor: int) -> None:
        self._key_next = c.compact * KEYS_PER_CHILD
        team = "Post-16" if anchor - c.dob >= 14 * 365 else rnd.choice(self.spec.teams)
        requests: list[dict] = []
        plan_request = None
        if kind == KIND_TRANSFER:
            requests.append(transfer_request(rnd, self.spec, c, anchor, team))
            plan_request = requests[0]
        elif kind in (KIND_REQUEST, KIND_STALLED):
            first = request(rnd, self.spec, anchor, team, stalled=kind == KIND_STALLED)
            requests.append(first)
            if first["outcome"] == "Y":
                plan_request = first
            elif kind == KIND_REQUEST and rnd.random() < 0.3:
                again = max(first["decision_day"], first["outcome_day"] if first["outcome_day"] < NEVER else 0)
                received = next_weekday(again + rnd.randrange(120, 900))
                if received < add_years(c.dob, 24):
                    second = request(rnd, self.spec, received, team, stalled=False)
                    requests.append(second)
                    if second["outcome"] == "Y":
                        plan_request = second
        issued = NEVER
        cease, reason = NEVER, 0
        if plan_request is not None:
            issued = anchor if kind == KIND_TRANSFER else plan_request["outcome_day"]
            cease, reason = cease_of_plan(rnd, c.dob, issued)
            if reason in (5, 7):
                c.departure = cease
        elif requests and rnd.random() < 0.08:
            c.departure = requests[-1]["received"] + rnd.randrange(200, 2500)
        need = weighted(rnd, NEEDS)
        if need == "DS" and issued < day_of(2025, 1, 1):
            need = "OTH"  # DS became a SEN type in 2025
        special = plan_request is not None and rnd.random() < SPECIAL_PROPENSITY[need]
        special_from = issued + rnd.randrange(0, 300) if special else NEVER
        track, extras = placements(rnd, self.spec, self.est, c, issued, cease, reason, special_from)
        self._education(rnd, c, track, extras, requests, issued, cease, kind)
        if requests:
            self._casework(rnd, c, requests, plan_request, issued, cease, reason, need, track)
        if rnd.random() < (P_SOCIALCARE if kind != KIND_TWIN else 0.15):
            self.sc.add_child(rnd, c, c.compact * KEYS_PER_CHILD + KEYS_PER_CHILD - 2, cla_weight=1.6)

    # --- placements -----------------------------------------------------------------------------

    # --- education records ----------------------------------------------------------------------

    def _education(self, rnd: random.Random, c: Child, track: list[Seg], extras: list[Seg],
                   requests: list[dict], issued: int, cease: int, kind: int) -> None:
        if not track or (kind != KIND_TWIN and rnd.random() < min(0.2, P_UNKNOWN_TO_EDUCATION * self.boost ** 1.5)):
            return  # a child the education system never heard of
        boost = self.boost
        placements = sorted(track + [e + ["dual"] for e in extras], key=lambda s: (s[0], len(s)))
        scope_end = max(s[1] for s in placements) + SCOPE_AFTER_LEAVING
        if requests:
            first_request = requests[0]["received"]
            k_start = first_request - rnd.randrange(0, 700)
        else:
            k_start = NEVER if rnd.random() < 0.6 else c.dob + rnd.randrange(4 * 365, 10 * 365)
        k_end = NEVER
        e_start = e_end = NEVER
        if issued < NEVER:
            e_start = issued + (rnd.randrange(0, 4) if rnd.random() < 0.6 else rnd.randrange(4, 31))
            e_end = cease + (0 if rnd.random() < 0.6 else rnd.randrange(1, 61)) if cease < NEVER else NEVER
            k_start = min(k_start, issued)
            if rnd.random() < 0.5:
                k_end = e_end
        split = len(placements)
        if len(placements) > 2 and rnd.random() < rate("duplicate", boost):
            split = rnd.randrange(1, len(placements))
        main = self._pupil_record(rnd, c, placements[:split], scope_end, (k_start, k_end, e_start, e_end),
                                  None)
        if split < len(placements):
            self._pupil_record(rnd, c, placements[split:], scope_end,
                               (k_start, k_end, e_start, e_end), main)

    def _pupil_record(self, rnd: random.Random, c: Child, placements: list[Seg], scope_end: int,
                      sen: tuple[int, int, int, int], duplicate_of: int | None) -> int:
        created = placements[0][0]
        families = {f for f in ("upn", "dob", "name") if rnd.random() < rate(f, self.boost)}
        if duplicate_of is not None:
            families |= {"upn"} if rnd.random() < 0.7 else {"name"}
        rec = record_identity(rnd, c.forename, c.surname, c.dob, c.upn, c.la, c.group, families, created)
        upn_day = max(created, c.upn_day) if rec.upn else NEVER
        sex = c.sex if rnd.random() > 0.002 else "U"
        ref = c.compact + (int(0.1 * self.spec.id_space) if duplicate_of is not None else 0)
        uln_day = add_years(c.dob, 14)
        pc_day = c.move_day + rnd.randrange(0, 120) if c.pc2 >= 0 else NEVER
        row = self.pupils.add(c.compact, ref, created, scope_end, rec.forename, rec.surname, rec.dob, sex,
                              *upn_record(rec.upn, c.upn), c.upn_la, upn_day, uln_day, c.la, c.pc1, c.pc2, pc_day,
                              duplicate_of is not None, *sen)
        for kind, how in rec.errors:
            self.errors.add("education", "pupils.csv", row, kind, how,
                            max(created, c.upn_day) if kind.startswith("upn") else created)
        if duplicate_of is not None:
            self.errors.add("education", "pupils.csv", row, "duplicate_person",
                            "second pupil record of the same child", created)
        for slot, seg in enumerate(placements):
            start, end, why, urn, code, hours = seg[:6]
            dual = len(seg) > 6
            self.placements.add(row, slot, start, end, why, urn, code, np.nan if hours is None else hours, dual)
        return row

    # --- casework -------------------------------------------------------------------------------

    def _casework(self, rnd: random.Random, c: Child, requests: list[dict], plan_request: dict | None,
                  issued: int, cease: int, reason: int, need: str, track: list[Seg]) -> None:
        boost = self.boost
        last_activity = max(r["outcome_day"] if r["outcome_day"] < NEVER else r["decision_day"] for r in requests)
        touch_until = (cease if issued < NEVER else last_activity) + 90
        person = self._person(rnd, c, requests[0]["created"], touch_until, duplicate_of=None)
        persons = [(requests[0]["created"], person)]
        if rnd.random() < rate("duplicate", boost):
            dup_day = requests[0]["created"] + rnd.randrange(30, 1500)
            persons.append((dup_day, self._person(rnd, c, dup_day, touch_until, duplicate_of=person)))
        for r in requests:
            owner = persons[-1][1] if len(persons) > 1 and r["created"] >= persons[-1][0] and rnd.random() < 0.5 \
                else person
            row = self._request_row(rnd, owner, c, r)
            self._request_documents(rnd, persons, r, row)
            if r is plan_request:
                plan_row, filed = self._plan(rnd, owner, row, c, issued, cease, reason, need, track)
                self._reviews(rnd, plan_row, row if filed else -2, persons, issued, cease, reason,
                              r["transfer_from"] is not None)

    def _person(self, rnd: random.Random, c: Child, created: int, touch_until: int,
                duplicate_of: int | None) -> int:
        families = {f for f in ("upn", "dob", "name") if rnd.random() < rate(f, self.boost)}
        if duplicate_of is not None:
            families |= {"upn"} if rnd.random() < 0.6 else {"name"}
        rec = record_identity(rnd, c.forename, c.surname, c.dob, c.upn, c.la, c.group, families, created)
        if duplicate_of is not None and rec.upn == c.upn and rnd.random() < 0.5:
            rec.upn = None  # a second record is usually opened without looking the UPN up
            rec.errors.append(("upn_missing", f"UPN {c.upn} not recorded"))
        upn_day = max(created, c.upn_day) if rec.upn else NEVER
        has_uln = rnd.random() < 0.7
        uln_day = max(created, add_years(c.dob, 14)) if has_uln else NEVER
        pc_day = c.move_day + rnd.randrange(0, 240) if c.pc2 >= 0 else NEVER
        style = rnd.choice((0, 0, 0, 0, 0, 0, 1, 2, 3))
        ethnicity = c.ethnicity if rnd.random() > 0.05 else None
        sex = c.sex if rnd.random() > 0.003 else "U"
        row = self.persons.add(self._key(), c.compact, created, rec.forename, rec.surname, rec.dob, sex,
                               *upn_record(rec.upn, c.upn), c.upn_la, upn_day, uln_day, c.la, c.pc1, c.pc2, pc_day,
                               style, ethnicity, touch_until, duplicate_of is not None)
        for kind, how in rec.errors:
            visible = max(created, c.upn_day) if kind.startswith("upn") else created
            self.errors.add("casework", "cw_person", row, kind, how, visible)
        if duplicate_of is not None:
            self.errors.add("casework", "cw_person", row, "duplicate_person",
                            "second casework record of the same child", created)
        return row

    def _request_row(self, rnd: random.Random, person: int, c: Child, r: dict) -> int:
        dates = {"decision": r["decision_day"], "outcome": r["outcome_day"], "draft": r["draft_day"]}
        recorded = dict(dates)
        wrong = None
        present = [k for k, v in dates.items() if v < NEVER]
        if present and r["transfer_from"] is None and rnd.random() < min(0.3, 0.01 * self.boost):
            wrong = rnd.choice(present)
            recorded[wrong] = r["received"] - rnd.choice((365, 366, rnd.randrange(1, 40)))
        closed = max(v for v in (r["created"], r["decision_day"], r["outcome_day"]) if v < NEVER)
        row = self.requests.add(self._key(), person, c.compact, r["received"], r["created"], r["source"], r["decision"],
                                r["decision_day"], recorded["decision"], r["outcome"], r["outcome_day"],
                                recorded["outcome"], r["draft_day"], recorded["draft"], r["exception"],
                                r["exception_day"], r["transfer_from"], r["team"], closed)
        if wrong is not None:
            self.errors.add("casework", "cw_request", row, "date_order",
                            f"{wrong} date recorded before the request was received", dates[wrong])
        return row

    def _request_documents(self, rnd: random.Random, persons, r: dict, request_row: int) -> None:
        if r["transfer_from"] is not None:  # the plan itself is filed with the plan (see _plan)
            self._document(rnd, persons, request_row, "OTHER", r["created"] + rnd.randrange(0, 30))
            return
        if r["decision_day"] < NEVER:
            self._document(rnd, persons, request_row, "DECISION_LETTER", r["decision_day"])
        if r["decision"] == "Y":
            until = min(r["draft_day"], r["outcome_day"], r["decision_day"] + 120) - 1
            types = DOC_TYPES_ADVICE + (("ADVICE_SOCIAL",) if rnd.random() < 0.5 else ())
            for doc_type in types:
                filed = r["decision_day"] + rnd.randrange(14, 61)
                self._document(rnd, persons, request_row, doc_type, min(filed, max(until, r["decision_day"])))
            if r["draft_day"] < NEVER:
                self._document(rnd, persons, request_row, "DRAFT_PLAN", r["draft_day"])
            if r["outcome"] == "N":
                self._document(rnd, persons, request_row, "DECISION_LETTER", r["outcome_day"])
        if rnd.random() < 0.3:
            self._document(rnd, persons, -1, "OTHER", r["received"] + rnd.randrange(0, 200))

    def _document(self, rnd: random.Random, persons, request_row: int, doc_type: str, filed: int) -> None:
        boost = self.boost
        person = persons[0][1]
        if len(persons) > 1 and filed >= persons[1][0] and doc_type != "FINAL_PLAN" and rnd.random() < 0.4:
            person = persons[1][1]
        style = 0
        if rnd.random() < min(0.3, 0.02 * boost):
            style = 1 + rnd.randrange(MISNAMED_STYLES)
        risky = doc_type != "FINAL_PLAN"
        misfiled = risky and style == 0 and rnd.random() < min(0.3, 0.01 * boost)
        soft = filed + rnd.randrange(1, 500) if risky and rnd.random() < min(0.3, 0.012 * boost) else NEVER
        self.documents.add(self._key(), person, request_row, DOC_CODE[doc_type], filed, soft, style, misfiled)

    def _plan(self, rnd: random.Random, person: int, request_row: int, c: Child, issued: int, cease: int,
              reason: int, need: str, track: list[Seg]) -> tuple[int, bool]:
        """The plan row and its named settings; False when its plan document was never filed."""
        boost = self.boost
        secondary = None
        if rnd.random() < 0.45:
            secondary = weighted(rnd, [(n, w) for n, w in NEEDS if n not in (need, "DS")])
        wrong_cease = cease < NEVER and rnd.random() < min(0.3, 0.01 * boost)
        cease_rec = issued - rnd.randrange(1, 60) if wrong_cease else cease
        row = self.plans.add(self._key(), person, request_row, c.compact, issued, need, secondary, cease, cease_rec,
                             reason)
        if wrong_cease:
            self.errors.add("casework", "cw_plan", row, "date_order", "ceased date recorded before the issue date",
                            cease)
        filed = rnd.random() >= min(0.3, 0.02 * boost)
        if filed:
            self._document(rnd, [(0, person)], request_row, "FINAL_PLAN", issued)
        else:  # nor, later, any amended version of it
            self.errors.add("casework", "cw_plan", row, "final_plan_document_missing",
                            "plan issued but no FINAL_PLAN document filed", issued)
        previous: tuple[int, str | None] | None = None
        before: tuple[int, str | None] | None = None
        for seg in track:
            if seg[1] < issued:
                before = (seg[3], seg[4])
                continue
            if seg[0] >= cease:
                break
            setting = (seg[3], seg[4])
            if setting != previous:
                day = max(seg[0], issued)
                if previous is None and day > issued:
                    self.settings.add(row, issued, *(before or (-1, "OTH")))
                self.settings.add(row, day, *setting)
                previous = setting
        if previous is None:
            self.settings.add(row, issued, *(before or (-1, "OTH")))
        return row, filed

    def _reviews(self, rnd: random.Random, plan_row: int, request_row: int, persons, issued: int, cease: int,
                 reason: int, transferred: bool) -> None:
        """Annual review cycles; `request_row` -2 means the plan's documents are missing altogether."""
        boost = self.boost
        due = issued + (rnd.randrange(60, 366) if transferred else 365)
        cycles = []
        while due < cease and len(cycles) < 30:
            roll = rnd.random()
            if roll < 0.5:
                meeting = prev_weekday(due - rnd.randrange(0, 45))
            elif roll < 0.87:
                meeting = next_weekday(due + 1 + int(rnd.expovariate(1 / 35)))
            else:  # reviews that simply are not held for months
                meeting = next_weekday(due + rnd.randrange(60, 420))
            if meeting >= cease:
                cycles.append([due, NEVER, NEVER, None, NEVER])
                break
            if rnd.random() < P_REVIEW_DECISION_4W:
                decided = meeting + rnd.randrange(3, 29)
            else:
                decided = meeting + 29 + int(rnd.expovariate(1 / 30))
            outcome = "A" if rnd.random() < 0.4 else "M"
            amended = NEVER
            if outcome == "A":
                amended = meeting + (rnd.randrange(30, 85) if rnd.random() < 0.4 else
                                     85 + int(rnd.expovariate(1 / 60)))
            cycles.append([due, meeting, decided, outcome, amended])
            due = add_years(meeting, 1)
        if reason in (1, 2, 3, 4, 6, 9):
            for cycle in reversed(cycles):
                if cycle[2] < cease - 7:
                    cycle[3], cycle[4] = "C", NEVER
                    break
        for due, meeting, decided, outcome, amended in cycles:
            wrong = decided < NEVER and rnd.random() < min(0.3, 0.008 * boost)
            decided_rec = meeting - rnd.randrange(1, 20) if wrong else decided
            row = self.reviews.add(self._key(), plan_row, due, min(due, meeting), meeting, decided, decided_rec,
                                   outcome, amended, amended)
            if wrong:
                self.errors.add("casework", "cw_review", row, "date_order",
                                "review decision dated before the review meeting", decided)
            if meeting < NEVER:
                self._document(rnd, persons, -1, "REVIEW_REPORT", meeting + rnd.randrange(0, 10))
            if amended < NEVER and request_row != -2:
                self._document(rnd, persons, request_row, "FINAL_PLAN", amended)
