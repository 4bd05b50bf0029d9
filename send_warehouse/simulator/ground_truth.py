"""The answers: what is really true after the last night, for tests to measure the pipeline against.

* `persons.csv` maps every source person record to the true child (twins are two children;
  a system's duplicate records share one).
* `requests.csv` holds each request's *true* statutory facts in the marts' vocabulary. Where a
  casework date was keyed wrongly (kind `date_order` in errors.csv) the row holds the true date,
  so a test comparing the mart with it should leave those requests out. Transfers-in are outside
  every timeliness measure (blank `decided_within_6_weeks`, `issued_within_20_weeks`, `open_days`;
  status `not_applicable`); a request not yet decided has assessment outcome `pending`.
* `errors.csv` lists every injected error that is present in the data after the last night
  (damaged CSV lines: on every night), plus the cross-system findings the marts must raise.
* `education_gaps.csv` lists the periods a child with an active plan had no suitable education,
  computed as `fct_education_gaps` defines them from the last night's placements (all of the
  child's pupil records together). A plan is active from its issue date up to the day before it
  ceased; `NIEO`/`NIEC`/`NEET` placements are no education; a placement under 25 hours a week is a
  part-time timetable (they only occur in compulsory school age); gaps are maximal runs of days of
  one type. Children with no pupil record in the last snapshot have no gap rows (they are
  `plan_without_education_record` findings instead).
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from . import sen2_problems
from .casework import file_names
from .dates import NEVER, from_day
from .education import EducationNight
from .world import World, child_label

NO_EDUCATION_CODES = ("NIEO", "NIEC", "NEET")
CHUNK = 100_000
GAP_TYPES = {0: "no_placement", 1: "not_in_education", 2: "part_time_timetable"}


def write(world: World, night: int, education: EducationNight, damaged: list[tuple[str, str, str]],
          out: Path) -> dict[str, int]:
    folder = out / "ground_truth"
    folder.mkdir(parents=True, exist_ok=True)
    counts = {"persons": _persons(world, night, education, folder / "persons.csv"),
              "requests": _requests(world, night, folder / "requests.csv"),
              "education_gaps": _gaps(world, night, education, folder / "education_gaps.csv")}
    kinds: Counter = Counter()

    def counted(rows):
        for row in rows:
            kinds[row[0]] += 1
            yield row

    counts["errors"] = _write(folder / "errors.csv", ("kind", "source_system", "object", "record_id", "detail"),
                              counted(_errors(world, night, education, damaged)))
    counts["errors_by_kind"] = dict(sorted(kinds.items()))
    return counts


def _write(path: Path, header: tuple[str, ...], rows) -> int:
    n = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for row in rows:
            w.writerow(row)
            n += 1
    return n


def _persons(world: World, night: int, education: EducationNight, path: Path) -> int:
    p = world.send.persons
    rows = np.flatnonzero(p.created <= night)
    sc_rows = np.flatnonzero(world.socialcare.created <= night)

    def records():
        for lo in range(0, len(rows), CHUNK):
            part = rows[lo:lo + CHUNK]
            yield from zip(world.child_id(p.child[part]), ["casework"] * len(part), world.person_id[part].tolist(),
                           strict=True)
        for child, ref in zip(education.child, education.ref, strict=True):
            for lo in range(0, len(child), CHUNK):
                yield from zip(world.child_id(child[lo:lo + CHUNK]), ["education"] * len(child[lo:lo + CHUNK]),
                               world.pupil_ref(ref[lo:lo + CHUNK]), strict=True)
        for lo in range(0, len(sc_rows), CHUNK):
            part = sc_rows[lo:lo + CHUNK]
            yield from zip(world.child_id(world.socialcare.child[part]), ["socialcare"] * len(part),
                           world.socialcare_ids(part), strict=True)

    return _write(path, ("child_id", "source_system", "source_record_id"), records())


def request_facts(world: World, night: int) -> Iterator[dict]:
    """Each request's true statutory facts after `night`, in the marts' vocabulary, by request_id."""
    r = world.send.requests
    rows = np.flatnonzero(r.created <= night)
    rows = rows[np.argsort(world.request_id[rows], kind="stable")]
    child_ids = world.child_id(r.child[rows])
    for k, i in enumerate(rows.tolist()):
        received = int(r.received[i])
        decided = int(r.decision_day[i]) if r.decision_day[i] <= night else None
        concluded = int(r.outcome_day[i]) if r.outcome_day[i] <= night else None
        decision = {"Y": "assess", "N": "not_assess", "W": "withdrawn"}[r.decision[i]] if decided else "pending"
        if decision in ("not_assess", "withdrawn"):
            outcome = "not_applicable"
        elif concluded is not None:
            outcome = {"Y": "plan_issued", "N": "no_plan", "W": "withdrawn"}[r.outcome[i]]
        else:
            outcome = "pending"
        transfer = r.transfer_from[i] is not None
        is_open = outcome == "pending"
        days = concluded - received if concluded is not None else None
        if transfer:
            status = "not_applicable"
        elif outcome == "plan_issued":
            status = "met" if days <= 140 else "missed"
        elif is_open:
            open_days = night - received
            status = "open_on_track" if open_days <= 98 else "open_at_risk" if open_days <= 140 else "open_breached"
        else:
            status = "not_applicable"
        yield {
            "request_id": int(world.request_id[i]), "child_id": child_ids[k],
            "received_date": from_day(received).isoformat(),
            "decision_date": from_day(decided).isoformat() if decided else "", "decision": decision,
            "assessment_outcome": outcome, "outcome_date": from_day(concluded).isoformat() if concluded else "",
            "exception_applies": _bool(r.exception_day[i] <= night),
            "is_transfer_in": _bool(transfer), "days_to_outcome": "" if days is None else days,
            "issued_within_20_weeks": _bool(days <= 140) if outcome == "plan_issued" and not transfer else "",
            "decided_within_6_weeks": (_bool(decided - received <= 42)
                                       if decision in ("assess", "not_assess") and not transfer else ""),
            "open_days": night - received if is_open and not transfer else "",
            "status_20_week": status,
        }


def _bool(value) -> str:
    return "true" if value else "false"


def _requests(world: World, night: int, path: Path) -> int:
    facts = request_facts(world, night)
    header = ("request_id", "child_id", "received_date", "decision_date", "decision", "assessment_outcome",
              "outcome_date", "exception_applies", "is_transfer_in", "days_to_outcome", "issued_within_20_weeks",
              "decided_within_6_weeks", "open_days", "status_20_week")
    return _write(path, header, ([row[h] for h in header] for row in facts))


def education_gaps(world: World, night: int, education: EducationNight) -> Iterator[tuple]:
    """(child compact, plan row, gap type, first day, last day or None while open), plan by plan.

    Each day of a plan's active life gets the best education any of the child's placements gives
    it (3 full time, 2 part-time timetable, 1 a not-in-education setting, 0 nothing); gaps are the
    maximal runs of days below 3 of one kind.
    """
    send = world.send
    pupils, placements, plans = send.pupils, send.placements, send.plans
    known = education.send_pupils if education.send_pupils is not None else np.empty(0, dtype=np.int64)
    visible = np.zeros(len(pupils), dtype=bool)
    visible[known] = True
    shown = np.flatnonzero(visible[placements.pupil] & (placements.start <= night))
    # Placements are stored child by child, so each child's are one slice of these arrays.
    child_of = pupils.child[placements.pupil[shown]].astype(np.int64)  # searched with Python ints below
    starts, ends = placements.start[shown], np.where(placements.end[shown] <= night, placements.end[shown], NEVER)
    no_education = np.isin(placements.code[shown], NO_EDUCATION_CODES)
    part_time = placements.hours[shown] < 25  # NaN (full time) compares False
    ranks = np.where(no_education, 1, np.where(part_time, 2, 3))
    for plan in np.flatnonzero(plans.issued <= night).tolist():
        child = int(plans.child[plan])
        lo, hi = np.searchsorted(child_of, [child, child + 1])
        first, last = int(plans.issued[plan]), min(int(plans.cease_day[plan]) - 1, night)
        if lo == hi or last < first:
            continue
        intervals = list(zip(starts[lo:hi].tolist(), ends[lo:hi].tolist(), ranks[lo:hi].tolist(), strict=True))
        points = sorted({first, last + 1} | {p for s, e, _ in intervals for p in (s, e + 1) if first < p <= last})
        current = None  # (type, start)
        for a in points[:-1]:
            status = max((rank for s, e, rank in intervals if s <= a <= e), default=0)
            if current is not None and current[0] != status:
                if current[0] < 3:
                    yield child, plan, current[0], current[1], a - 1
                current = None
            if current is None:
                current = (status, a)
        if current is not None and current[0] < 3:
            yield child, plan, current[0], current[1], None if last == night else last


def _gaps(world: World, night: int, education: EducationNight, path: Path) -> int:
    rows = ((child_label(child), int(world.plan_id[plan]), GAP_TYPES[kind], from_day(a).isoformat(),
             "" if b is None else from_day(b).isoformat())
            for child, plan, kind, a, b in education_gaps(world, night, education))
    return _write(path, ("child_id", "plan_id", "gap_type", "gap_start", "gap_end"), rows)


def _errors(world: World, night: int, education: EducationNight,
            damaged: list[tuple[str, str, str]]) -> Iterator[tuple[str, str, str, str, str]]:
    """Every injected error present after `night` (streamed: a country has millions)."""
    send = world.send
    ids = {"cw_person": (world.person_id, send.persons.created),
           "cw_request": (world.request_id, send.requests.created),
           "cw_plan": (world.plan_id, send.plans.issued), "cw_review": (world.review_id, send.reviews.created)}
    e = send.errors
    shown = e.visible <= night
    pupil_error = shown & (e.object == "pupils.csv")
    present_pupils = np.zeros(len(send.pupils), dtype=bool)
    if education.send_pupils is not None:
        present_pupils[education.send_pupils] = True
    rows = np.flatnonzero(pupil_error)
    rows = rows[present_pupils[e.row[rows]]]
    for i, ref in zip(rows.tolist(), world.pupil_ref(send.pupils.ref[e.row[rows]]), strict=True):
        yield (e.kind[i], e.system[i], e.object[i], ref, e.detail[i])
    for i in np.flatnonzero(shown & ~pupil_error).tolist():
        id_array, created = ids[e.object[i]]
        if created[e.row[i]] <= night:
            yield (e.kind[i], e.system[i], e.object[i], str(id_array[e.row[i]]), e.detail[i])
    yield from ((kind, "education", "pupils.csv", ref, detail) for kind, ref, detail in education.record_errors)
    yield from _document_errors(world, night)
    s = world.socialcare_errors
    for row, kind, detail, visible in zip(s.row.tolist(), s.kind, s.detail, s.visible.tolist(), strict=True):
        if visible <= night and world.socialcare.created[row] <= night:
            yield (kind, "socialcare", "children", world.socialcare_ids([row])[0], detail)
    for kind, where, detail in damaged:
        yield (kind, "education", where.split("/", 1)[1].split(":")[0], where, detail)
    yield from _cross_system(world, night, education)
    yield from sen2_problems.errors(world, night)


def _document_errors(world: World, night: int) -> Iterator[tuple[str, str, str, str, str]]:
    d = world.send.documents
    flagged = (d.style > 0) | (world.document_misfiled_to >= 0) | (d.soft_deleted <= night)
    present = np.flatnonzero((d.filed <= night) & (world.document_hard_deleted > night) & flagged)
    names = file_names(world, present)
    persons = world.send.persons
    for i, name in zip(present.tolist(), names, strict=True):
        doc = str(world.document_id[i])
        if d.style[i]:
            yield ("document_misnamed", "casework", "cw_document", doc, f"file name {name!r} breaks the convention")
        target = world.document_misfiled_to[i]
        if target >= 0:
            yield ("document_misfiled", "casework", "cw_document", doc,
                   f"{name!r} names person_id {world.person_id[target]} (child "
                   f"{world.child_id([persons.child[target]])[0]}) but is filed under person_id "
                   f"{world.person_id[d.person[i]]}")
        if d.soft_deleted[i] <= night:
            yield ("document_deleted", "casework", "cw_document", doc,
                   f"soft-deleted on {from_day(d.soft_deleted[i]).isoformat()}")
    gone = np.flatnonzero((world.document_hard_deleted > world.first_night) & (world.document_hard_deleted <= night))
    for i in gone.tolist():
        yield ("document_deleted", "casework", "cw_document", str(world.document_id[i]),
               f"hard-deleted on {from_day(world.document_hard_deleted[i]).isoformat()} (present the night "
               f"before, absent since)")


def _cross_system(world: World, night: int, education: EducationNight) -> Iterator[tuple[str, str, str, str, str]]:
    """Findings one system's knowledge implies about another's: the marts must raise them."""
    send = world.send
    plans, persons = send.plans, send.persons
    active = (plans.issued <= night) & (night < plans.cease_day)
    active_children = np.unique(plans.child[active])
    child = np.concatenate(education.child) if education.child else np.empty(0, dtype=np.int64)
    ref = np.concatenate(education.ref) if education.ref else np.empty(0, dtype=np.int64)
    sen = np.concatenate(education.sen) if education.sen else np.empty(0, dtype=object)
    unknown = np.flatnonzero(active & ~np.isin(plans.child, child))
    for plan in unknown.tolist():
        yield ("plan_without_education_record", "casework", "cw_person", str(world.person_id[plans.person[plan]]),
               f"active plan {world.plan_id[plan]}; the child has no pupil record")
    flagged = np.flatnonzero((sen == "E") & ~np.isin(child, active_children))
    refs = world.pupil_ref(ref[flagged])
    for k, i in enumerate(flagged.tolist()):
        yield ("ehcp_flag_without_plan", "education", "pupils.csv", refs[k],
               f"SENProvision E but child {world.child_id([child[i]])[0]} has no active casework plan")
    in_casework = set(persons.child[persons.created <= night].tolist())
    flagged_children = set(child[sen == "E"].tolist())
    inv, sc = world.involvements, world.socialcare
    in_care = (inv.type == "CLA") & (inv.start <= night) & (inv.end > night)
    for row in np.unique(inv.record[in_care]).tolist():
        c = sc.child[row]
        if sc.created[row] <= night and c in flagged_children and c not in in_casework:
            yield ("looked_after_with_plan_unknown_to_casework", "socialcare", "children",
                   world.socialcare_ids([row])[0],
                   "looked after, education records an EHC plan, casework has no record of the child")
