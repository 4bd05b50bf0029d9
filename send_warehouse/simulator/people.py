"""What is true about a child, and what each system records about one.

`Child` is the truth the ground-truth files describe. The record builders here are shared by the
EHC population and the general population, so a child's social care record is made the same way
whichever population the child came from.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from .columns import I32, OBJECT, Builder
from .dates import NEVER, add_years, day_of
from .identifiers import make_upn_array, nhs_with_bad_check, postcode_from_code
from .messiness import rate, record_identity
from .sizes import SizeSpec

SOCIALCARE_GO_LIVE = day_of(2014, 4, 1)
SCOPE_AFTER_LEAVING = 120  # days a pupil stays in the education snapshot after their last placement ends
NHS_TRUE, NHS_MISSING, NHS_MISTYPED = 0, 1, 2
# A record's UPN: none, the child's own (derived again when written), or another value kept as typed.
UPN_NONE, UPN_TRUE, UPN_OTHER = 0, 1, 2  # involvements ending before this were never migrated
INVOLVEMENT_TYPES = (("EH", 0.35), ("CIN", 0.38), ("CP", 0.12), ("CLA", 0.15))
MEAN_INVOLVEMENT_DAYS = {"EH": 200, "CIN": 330, "CP": 260, "CLA": 900}
INVOLVEMENT_TEAMS = {"EH": ("Early Help Hub", "Early Help North", "Early Help South"),
          "CIN": ("Assessment Team", "Children in Need North", "Children in Need South"),
          "CP": ("Child Protection",), "CLA": ("Children in Care", "Leaving Care")}


@dataclass(slots=True)
class Child:
    """The truth about one child (identity only; histories live in the world's tables)."""

    compact: int  # the child's number; ground truth's child_id is derived from it
    dob: int
    sex: str  # M / F
    group: str  # naming tradition
    ethnicity: str
    forename: str
    surname: str
    la: int
    pc1: int  # postcode codes (see identifiers.postcode_code) within the council's area
    pc2: int  # -1 if the family never moved
    move_day: int  # when the family moved to pc2 (NEVER if it did not)
    arrival: int  # first day in the area
    departure: int  # first day no longer in the area (NEVER if still there)
    upn: str | None
    upn_la: int  # the council whose number the UPN carries
    upn_day: int  # when the UPN was issued
    nhs: str


SOCIALCARE_COLUMNS = {
    "key": np.int64, "child": I32, "created": I32, "first_name": OBJECT, "last_name": OBJECT, "dob": I32,
    "gender": OBJECT, "nhs_state": np.int8, "nhs": OBJECT, "upn_state": np.int8, "upn_other": OBJECT,
    "upn_la": np.int16, "upn_day": I32, "la": np.int16, "pc1": I32, "pc2": I32, "pc_day": I32, "touch_until": I32,
    "is_dup": bool,
}
INVOLVEMENT_COLUMNS = {"record": I32, "type": OBJECT, "start": I32, "end": I32, "team": OBJECT}
ERROR_COLUMNS = {"system": OBJECT, "object": OBJECT, "row": I32, "kind": OBJECT, "detail": OBJECT,
                 "visible": I32}


class SocialCareBuilder:
    """Social care records, their involvements and their injected errors."""

    def __init__(self, spec: SizeSpec, horizon: int):
        self.spec, self.horizon = spec, horizon
        self.records = Builder(SOCIALCARE_COLUMNS, "created", horizon)
        self.involvements = Builder(INVOLVEMENT_COLUMNS, "start", horizon)
        self.errors = Builder(ERROR_COLUMNS, "visible", horizon)

    def flush(self) -> None:
        for b in (self.records, self.involvements, self.errors):
            b.flush()

    def add_child(self, rnd: random.Random, child: Child, key: int, cla_weight: float = 1.0) -> bool:
        """Give a child a social care history; False when nothing of it falls after go-live.

        `key` (and key + 1 for a duplicate record) is the records' stable hashing key."""
        episodes = _episodes(rnd, child, cla_weight)
        episodes = [e for e in episodes if e[2] >= SOCIALCARE_GO_LIVE]
        if not episodes:
            return False
        split = len(episodes)
        if len(episodes) > 1 and rnd.random() < rate("duplicate", self.spec.boost):
            split = rnd.randrange(1, len(episodes))
        main = self._record(rnd, child, key, episodes[:split], duplicate_of=None)
        if split < len(episodes):
            self._record(rnd, child, key + 1, episodes[split:], duplicate_of=main)
        return True

    def _record(self, rnd: random.Random, child: Child, key: int, episodes, duplicate_of: int | None) -> int:
        boost = self.spec.boost
        created = max(SOCIALCARE_GO_LIVE, episodes[0][1])
        families = {f for f in ("name", "dob") if rnd.random() < rate(f, boost)}
        has_upn = child.upn is not None and rnd.random() < 0.35
        if has_upn and rnd.random() < rate("upn", boost):
            families.add("upn")
        if duplicate_of is not None and rnd.random() < 0.5:
            families.add("name")
        rec = record_identity(rnd, child.forename, child.surname, child.dob, child.upn if has_upn else None,
                              child.la, child.group, families, created, upn_optional=True)
        # The NHS number as held: the child's own (state 0, derived again when written), none, or mistyped.
        nhs_state, nhs = NHS_TRUE, None
        errors = list(rec.errors)
        if rnd.random() < min(0.5, (0.04 if duplicate_of is None else 0.5)):
            errors.append(("nhs_missing", f"NHS number {child.nhs} not recorded"))
            nhs_state = NHS_MISSING
        elif rnd.random() < min(0.3, 0.01 * boost):
            nhs, how = nhs_with_bad_check(child.nhs, rnd)
            errors.append(("nhs_check_digit", f"{how}: {nhs} for {child.nhs}"))
            nhs_state = NHS_MISTYPED
        gender = {"M": "male", "F": "female"}[child.sex] if rnd.random() > 0.005 else "unknown"
        pc1 = child.pc1 if rnd.random() > 0.03 else -1
        pc2 = child.pc2 if pc1 >= 0 else -1
        pc_day = child.move_day + rnd.randrange(0, 200) if pc2 >= 0 else NEVER
        upn_day = max(created, child.upn_day) if rec.upn else NEVER
        touch_until = max(e[2] for e in episodes) + 60
        row = self.records.add(key, child.compact, created, rec.forename, rec.surname, rec.dob, gender, nhs_state, nhs,
                               *upn_record(rec.upn, child.upn), child.upn_la, upn_day, child.la, pc1, pc2, pc_day,
                               touch_until, duplicate_of is not None)
        for kind, how in errors:
            self.errors.add("socialcare", "children", row, kind, how, upn_day if kind.startswith("upn") else created)
        if duplicate_of is not None:
            self.errors.add("socialcare", "children", row, "duplicate_person", "second record of the same child",
                            created)
        for type_, start, end, team in episodes:
            self.involvements.add(row, type_, start, end, team)
        return row


def upn_record(recorded: str | None, true: str | None) -> tuple[int, str | None]:
    """(state, value kept only when it differs from the child's own UPN)."""
    if recorded is None:
        return UPN_NONE, None
    return (UPN_TRUE, None) if recorded == true else (UPN_OTHER, recorded)


def upn_values(state: np.ndarray, other: np.ndarray, upn_la: np.ndarray, child: np.ndarray) -> np.ndarray:
    out = np.full(len(state), None, dtype=object)
    true = state == UPN_TRUE
    out[true] = make_upn_array(upn_la[true], child[true])
    typed = state == UPN_OTHER
    out[typed] = other[typed]
    return out


def postcode_values(spec: SizeSpec, la: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Postcode strings from (council, code); None where the code is -1."""
    areas = {int(a): spec.postcode_area(int(a))[0] for a in np.unique(la)}
    return np.array([postcode_from_code(areas[a], c) if c >= 0 else None
                     for a, c in zip(la.tolist(), code.tolist(), strict=True)], dtype=object)


def _episodes(rnd: random.Random, child: Child, cla_weight: float) -> list[tuple[str, int, int, str]]:
    """Involvements one after another from some time in childhood, ending by 18 or on leaving."""
    adult = add_years(child.dob, 18)
    leave = min(adult, child.departure)
    start = max(child.arrival, child.dob + int(rnd.uniform(0, 15.5) * 365.25))
    out = []
    weights = [(t, w * (cla_weight if t == "CLA" else 1.0)) for t, w in INVOLVEMENT_TYPES]
    total = sum(w for _, w in weights)
    for _ in range(1 + (rnd.random() < 0.4) + (rnd.random() < 0.15)):
        if start >= leave:
            break
        x, type_ = rnd.random() * total, weights[-1][0]
        for t, w in weights:
            x -= w
            if x < 0:
                type_ = t
                break
        end = min(start + 30 + int(rnd.expovariate(1 / MEAN_INVOLVEMENT_DAYS[type_])), leave - 1)
        out.append((type_, start, end, rnd.choice(INVOLVEMENT_TEAMS[type_])))
        start = end + 1 + int(rnd.expovariate(1 / 500))
    return out
