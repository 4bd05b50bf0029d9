"""The general population: every other child in the area, by birth cohort, vectorised.

Nine in ten pupils never have an EHC request, but the education system holds them all and
record linkage must not confuse them with the children who do. A cohort is a birth year;
child `i` of cohort `y` has number `offset(y) + i`, and every attribute is a counter-based hash
of that number, so any subset of any cohort can be recomputed on any night, in any order, with
identical results. Children 2k and 2k+1 may be twins (same surname, birth date, postcode).

The first `SOCIALCARE_SHARE` of each cohort are the children known to children's social care
without ever having an EHC request; a few of them are looked after here by another council and
hold that council's EHC plan (education says `E`, casework has never heard of them).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache

import numpy as np

from .dates import NEVER, day_of
from .establishments import Establishments
from .hashing import label_key, py_random, uniform
from .identifiers import make_nhs_number, make_uln_array, make_upn_array, nhs_with_bad_check
from .messiness import rate, record_identity
from .names import ETHNICITY_GROUP, GROUP_NAMES, ethnicity_codes, pools_as_arrays
from .people import (
    INVOLVEMENT_TEAMS,
    INVOLVEMENT_TYPES,
    MEAN_INVOLVEMENT_DAYS,
    NHS_MISSING,
    NHS_MISTYPED,
    NHS_TRUE,
    SOCIALCARE_GO_LIVE,
    UPN_NONE,
    UPN_TRUE,
    SocialCareBuilder,
    upn_record,
)
from .sizes import SizeSpec

FIRST_COHORT = 1985
SOCIALCARE_SHARE = 0.15
P_TWIN_PAIR = 0.015
P_MIGRANT, P_LEAVER, P_MOVE_HOUSE = 0.14, 0.11, 0.3
P_SEN_SUPPORT = 0.12  # pupils on SEN support (K)
P_FALSE_EHCP_FLAG = 0.0015  # education says E with no plan anywhere (before boost)
P_LOOKED_AFTER_WITH_PLAN = 0.01  # of the social care stratum (before boost)
REASONS = ("", "COMPLETED", "MOVED_SCHOOL", "PERM_EXCLUSION", "BREAKDOWN", "LEFT_AREA", "ELECTIVE_HOME_ED",
           "OTHER")
CODES = ("", "EHE", "OLA", "OPA", "EYP", "NEET", "NIEO", "NIEC", "OTH")
SLOTS = 8
_YEAR = 365.25


@lru_cache(maxsize=512)
def _sep1(year: int) -> int:
    return day_of(year, 9, 1)


def _sep1_array(years: np.ndarray) -> np.ndarray:
    lo = int(years.min()) if len(years) else 2000
    table = np.array([_sep1(y) for y in range(lo, int(years.max()) + 1 if len(years) else lo + 1)])
    return table[years - lo]


@dataclass
class Cohort:
    """Identity and education of (a subset of) one birth cohort, as arrays."""

    year: int
    idx: np.ndarray
    compact: np.ndarray
    dob: np.ndarray
    male: np.ndarray
    group: np.ndarray  # index into GROUP_NAMES
    ethnicity: np.ndarray  # CBDS code (object)
    forename: np.ndarray
    surname: np.ndarray
    la: np.ndarray
    family: np.ndarray  # number of the family (the elder twin's number for twins)
    move_day: np.ndarray
    arrival: np.ndarray
    departure: np.ndarray
    looked_after_here: np.ndarray  # placed here by another council, with that council's plan
    reception_year: np.ndarray  # the school year (its starting calendar year) of reception

    @property
    def reception(self) -> np.ndarray:
        return _sep1_array(self.reception_year)

    def take(self, rows: np.ndarray) -> Cohort:
        return Cohort(**{f.name: self.year if f.name == "year" else getattr(self, f.name)[rows]
                         for f in fields(self)})


class Population:
    """The general population of an area: identities, school careers and social care, on demand."""

    def __init__(self, spec: SizeSpec, seed: int, est: Establishments):
        self.spec, self.seed, self.est = spec, seed, est
        self.eth_codes, self.eth_cum = ethnicity_codes(spec.ethnicity_profile)
        self.eth_group = np.array([GROUP_NAMES.index(ETHNICITY_GROUP[c]) for c in self.eth_codes])
        self.eth_code_array = np.array(self.eth_codes, dtype=object)
        self.pools = pools_as_arrays()
        weights = np.array([spec.la_weight(la) for la in spec.la_codes])
        self.la_cum = np.cumsum(weights) / weights.sum()
        self.la_array = np.array(spec.la_codes, dtype=np.int64)
        self._offsets: dict[int, int] = {}

    def key(self, *label: object) -> int:
        """The hashing stream of one attribute."""
        return label_key(self.seed, self.spec.name, "population", *label)

    # --- numbering ------------------------------------------------------------------------------

    def size(self, year: int) -> int:
        wobble = uniform(self.key("size"), np.array([year]))[0]
        return int(round(self.spec.births_per_year * (0.96 + 0.08 * wobble)))

    def offset(self, year: int) -> int:
        if year not in self._offsets:
            total = 0
            for y in range(FIRST_COHORT, year):
                total += self.size(y)
            self._offsets[year] = total
        return self._offsets[year]

    def socialcare_size(self, year: int) -> int:
        return int(self.size(year) * SOCIALCARE_SHARE)

    # --- who the children are -----------------------------------------------------------------

    def cohort(self, year: int, idx: np.ndarray | None = None) -> Cohort:
        n = self.size(year)
        idx = np.arange(n) if idx is None else np.asarray(idx, dtype=np.int64)
        base = self.offset(year)
        compact = base + idx
        u = lambda label, keys: uniform(self.key(label), keys)  # noqa: E731
        follower = (idx % 2 == 1) & (u("twin", compact - 1) < min(0.2, P_TWIN_PAIR * self.spec.boost))
        family = np.where(follower, compact - 1, compact)
        first = day_of(year, 1, 1)
        dob = first + (u("dob", family) * (day_of(year + 1, 1, 1) - first)).astype(np.int64)
        male = u("sex", compact) < 0.5
        eth = np.searchsorted(self.eth_cum, u("eth", family), side="right")
        group = self.eth_group[eth]
        forename = np.empty(len(idx), dtype=object)
        surname = np.empty(len(idx), dtype=object)
        fore_u, leader_u = u("forename", compact), u("forename", family)
        sur_u = u("surname", family)
        for g in np.unique(group):
            boys, girls, surnames = self.pools[GROUP_NAMES[g]]
            for is_male, pool in ((True, boys), (False, girls)):
                m = (group == g) & (male == is_male)
                pick = (fore_u[m] * len(pool)).astype(np.int64)
                leader_pick = (leader_u[m] * len(pool)).astype(np.int64)
                clash = follower[m] & (pick == leader_pick)
                forename[m] = pool[np.where(clash, (pick + 1) % len(pool), pick)]
            m = group == g
            surname[m] = surnames[(sur_u[m] * len(surnames)).astype(np.int64)]
        la = self.la_array[np.searchsorted(self.la_cum, u("la", family), side="right")]
        move_day = np.where(u("move", family) < P_MOVE_HOUSE, dob + (u("move-day", family) * 18 * _YEAR).astype(
            np.int64), NEVER)
        arrival = np.where(u("migrant", family) < P_MIGRANT,
                           dob + (u("arrival", family) * 15 * _YEAR).astype(np.int64), dob)
        stay = (18 * _YEAR - (arrival - dob)).clip(1)
        departure = np.where(u("leaver", family) < P_LEAVER * min(2.0, self.spec.boost),
                             arrival + 1 + (u("departure", family) * stay).astype(np.int64), NEVER)
        looked_after = (idx < self.socialcare_size(year)) & (
            u("looked-after", compact) < min(0.25, P_LOOKED_AFTER_WITH_PLAN * self.spec.boost ** 2))
        arrival = np.where(looked_after, dob + ((5 + 9 * u("placed", compact)) * _YEAR).astype(np.int64), arrival)
        departure = np.where(looked_after, NEVER, departure)
        months = dob.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1
        reception_year = year + 4 + (months > 8)
        return Cohort(year, idx, compact, dob, male, group, self.eth_code_array[eth], forename, surname, la,
                      family, move_day, arrival, departure, looked_after, reception_year)

    def postcodes(self, c: Cohort, which: str) -> np.ndarray:
        """Postcode codes of the families ('pc1' where they lived first, 'pc2' after a move)."""
        u = lambda label: uniform(self.key(which, label), c.family)  # noqa: E731
        base = np.array([self.spec.postcode_area(int(la))[1] for la in c.la.tolist()], dtype=np.int64)
        return ((base + (u("district") * 30).astype(np.int64)) * 4000 + (u("sector") * 10).astype(np.int64) * 400
                + (u("unit") * 400).astype(np.int64))

    def upn_las(self, c: Cohort) -> np.ndarray:
        """The council whose number a child's UPN carries: where they started school."""
        from_elsewhere = c.arrival > c.reception
        neighbours = np.array(self.spec.neighbour_las, dtype=np.int64)
        other = neighbours[(uniform(self.key("upn-la"), c.compact) * len(neighbours)).astype(np.int64)]
        return np.where(from_elsewhere, other, c.la)

    def upns(self, c: Cohort) -> np.ndarray:
        return make_upn_array(self.upn_las(c), c.compact)

    def ulns(self, c: Cohort) -> np.ndarray:
        return make_uln_array(c.compact)

    # --- education ------------------------------------------------------------------------------

    def placements(self, c: Cohort) -> dict[str, np.ndarray]:
        """Each child's placements as (children x SLOTS) arrays; `valid` marks the ones that exist."""
        est, n = self.est, len(c.idx)
        u = lambda label: uniform(self.key("edu", label), c.compact)  # noqa: E731
        uf = lambda label: uniform(self.key("edu", label), c.family)  # noqa: E731  (twins go to school together)
        start = np.zeros((n, SLOTS), dtype=np.int64)
        end = np.zeros((n, SLOTS), dtype=np.int64)
        reason = np.ones((n, SLOTS), dtype=np.int8)  # COMPLETED
        urn = np.full((n, SLOTS), -1, dtype=np.int64)
        code = np.zeros((n, SLOTS), dtype=np.int8)
        valid = np.zeros((n, SLOTS), dtype=bool)
        ry = c.reception_year
        rec, y7, y12, y14 = _sep1_array(ry), _sep1_array(ry + 7), _sep1_array(ry + 12), _sep1_array(ry + 14)
        # 0: early years
        valid[:, 0] = uf("ey") < 0.7
        start[:, 0] = c.dob + ((2.0 + 1.3 * u("ey-age")) * _YEAR).astype(np.int64)
        end[:, 0] = rec - 1
        ey_school = uf("ey-urn-kind") < 0.7
        urn[:, 0] = np.where(ey_school, est.pick_many("EY", c.la, uf("ey-urn")), -1)
        code[:, 0] = np.where(ey_school, 0, CODES.index("EYP"))
        # 1-2: primary (with an occasional move), 3-4: secondary
        for first, phase, lo, hi, p_move in ((1, "PRI", rec, y7, 0.10), (3, "SEC", y7, y12, 0.07)):
            moves = u(f"move-{phase}") < p_move
            moved_on = lo + 30 + (u(f"move-day-{phase}") * (hi - lo - 60)).astype(np.int64)
            valid[:, first] = True
            start[:, first], end[:, first] = lo, np.where(moves, moved_on - 1, hi - 1)
            reason[:, first] = np.where(moves, REASONS.index("MOVED_SCHOOL"), 1)
            urn[:, first] = est.pick_many(phase, c.la, uf(f"urn-{phase}"))
            valid[:, first + 1] = moves
            start[:, first + 1], end[:, first + 1] = moved_on, hi - 1
            urn[:, first + 1] = est.pick_many(phase, c.la, u(f"urn2-{phase}"))
        # 5: sixth form or college, 6: NEET after year 11
        stays = u("post16") < 0.78
        kind = u("post16-kind")
        last_secondary = np.where(valid[:, 4], urn[:, 4], urn[:, 3])
        valid[:, 5] = stays
        start[:, 5], end[:, 5] = y12, y14 - 1
        urn[:, 5] = np.where(kind < 0.35, est.pick_many("FE", c.la, u("fe")),
                             np.where(kind < 0.85, last_secondary, est.pick_many("P16", c.la, u("p16"))))
        valid[:, 6] = ~stays & (u("neet") < 0.15)
        start[:, 6], end[:, 6] = y12, y12 + 60 + (u("neet-days") * 540).astype(np.int64)
        code[:, 6] = CODES.index("NEET")
        # 7: elective home education for the rest of compulsory schooling
        ehe = u("ehe") < min(0.1, 0.008 * self.spec.boost)
        ehe_day = rec + 365 + (u("ehe-day") * (y12 - 200 - rec - 365)).astype(np.int64)
        covering = ehe[:, None] & (start <= ehe_day[:, None]) & (end >= ehe_day[:, None]) & valid
        covering[:, [0, 5, 6, 7]] = False
        end = np.where(covering, ehe_day[:, None], end)
        reason = np.where(covering, REASONS.index("ELECTIVE_HOME_ED"), reason)
        later = ehe[:, None] & (start > ehe_day[:, None]) & (start < y12[:, None])
        valid &= ~later
        valid[:, 7] = ehe
        start[:, 7], end[:, 7] = ehe_day + 1, y12 - 1
        code[:, 7] = CODES.index("EHE")
        # Children placed here by another council attend special schools.
        special = est.pick_many("SPE", c.la, u("spe"))
        urn = np.where(c.looked_after_here[:, None] & (urn >= 0) & (np.arange(SLOTS) > 0), special[:, None], urn)
        # Only while living here.
        valid &= end >= c.arrival[:, None]
        start = np.maximum(start, c.arrival[:, None])
        valid &= start < c.departure[:, None]
        leaving = valid & (end >= c.departure[:, None])
        end = np.where(leaving, c.departure[:, None] - 1, end)
        reason = np.where(leaving, REASONS.index("LEFT_AREA"), reason)
        valid &= end >= start
        hours = np.full((n, SLOTS), np.nan)
        return {"start": start, "end": end, "reason": reason, "urn": urn, "code": code, "valid": valid,
                "hours": hours}

    def sen_provision(self, c: Cohort) -> tuple[np.ndarray, np.ndarray]:
        """(day SEN support starts, day an EHC flag starts) per child; NEVER when they do not."""
        u = lambda label: uniform(self.key("sen", label), c.compact)  # noqa: E731
        k_start = np.where(u("k") < P_SEN_SUPPORT, c.dob + ((4 + 6 * u("k-age")) * _YEAR).astype(np.int64), NEVER)
        false_flag = u("e") < min(0.05, P_FALSE_EHCP_FLAG * self.spec.boost)
        e_start = np.where(false_flag, np.maximum(c.reception, c.dob + ((5 + 8 * u("e-age")) * _YEAR).astype(
            np.int64)), NEVER)
        e_start = np.where(c.looked_after_here, c.arrival, e_start)
        return k_start, e_start

    def error_families(self, compact: np.ndarray, system: str) -> dict[str, np.ndarray]:
        """Which records carry which family of identity error (hash-selected, so stable every night)."""
        boost = self.spec.boost
        return {f: uniform(self.key("err", system, f), compact) < rate(f, boost) for f in ("upn", "dob", "name")}

    def duplicates(self, compact: np.ndarray) -> np.ndarray:
        return uniform(self.key("dup"), compact) < rate("duplicate", self.spec.boost) * 0.3

    # --- social care ------------------------------------------------------------------------------

    def add_socialcare(self, sc: SocialCareBuilder, last_year: int) -> None:
        """The social care stratum of every cohort that can have involvements since go-live.

        The same story as `SocialCareBuilder.add_child` tells for one child, told for a whole
        cohort at once with arrays (a country has millions of these children); only the records
        that carry keying errors go through the per-record code.
        """
        for year in range(1995, last_year + 1):
            c = self.cohort(year, np.arange(self.socialcare_size(year)))
            if len(c.idx):
                self._socialcare_cohort(sc, c)

    def _socialcare_cohort(self, sc: SocialCareBuilder, c: Cohort) -> None:
        boost = self.spec.boost
        u = lambda label: uniform(self.key("sc", label), c.compact)  # noqa: E731
        n, k_max = len(c.idx), 3
        adult = c.dob + int(18 * _YEAR)
        leave = np.minimum(adult, c.departure)
        count = 1 + (u("n1") < 0.4) + (u("n2") < 0.15)
        types = np.array([t for t, _ in INVOLVEMENT_TYPES], dtype=object)
        weights = np.array([w * (0.8 if t == "CLA" else 1.0) for t, w in INVOLVEMENT_TYPES])
        cumulative = np.cumsum(weights) / weights.sum()
        means = np.array([MEAN_INVOLVEMENT_DAYS[t] for t in types])
        ep_type = np.zeros((n, k_max), dtype=np.int64)
        ep_start = np.zeros((n, k_max), dtype=np.int64)
        ep_end = np.zeros((n, k_max), dtype=np.int64)
        valid = np.zeros((n, k_max), dtype=bool)
        start = np.maximum(c.arrival, c.dob + (u("first") * 15.5 * _YEAR).astype(np.int64))
        for k in range(k_max):
            ep_type[:, k] = np.searchsorted(cumulative, u(f"type{k}"), side="right")
            duration = 30 + (-np.log1p(-u(f"days{k}")) * means[ep_type[:, k]]).astype(np.int64)
            ep_start[:, k] = start
            ep_end[:, k] = np.minimum(start + duration, leave - 1)
            valid[:, k] = (k < count) & (start < leave)
            start = ep_end[:, k] + 1 + (-np.log1p(-u(f"gap{k}")) * 500).astype(np.int64)
        placed = c.looked_after_here  # in care here until 18, placed by another council
        ep_type[placed, 0] = list(types).index("CLA")
        ep_start[placed, 0], ep_end[placed, 0] = c.arrival[placed], adult[placed] - 1
        valid[placed] = [True, False, False]
        keep = valid & (ep_end >= SOCIALCARE_GO_LIVE)
        kept = keep.sum(axis=1)
        first_kept = np.argmax(keep, axis=1)
        has = kept > 0
        dup = has & (kept >= 2) & (u("dup") < rate("duplicate", boost))
        split = first_kept + 1 + (u("dup-at") * (kept - 1)).astype(np.int64)  # first episode of the duplicate
        # Records: every child with an involvement since go-live, then the duplicates; only those that
        # exist by the last night are kept (see columns.Builder).
        rows = np.concatenate([np.flatnonzero(has), np.flatnonzero(dup)])
        is_dup = np.arange(len(rows)) >= int(has.sum())
        lo = np.where(is_dup, split[rows], first_kept[rows])
        hi = np.where(is_dup | ~dup[rows], first_kept[rows] + kept[rows], split[rows])  # exclusive
        created = np.maximum(SOCIALCARE_GO_LIVE, ep_start[rows, lo])
        alive = created <= sc.horizon
        rows, is_dup, lo, hi, created = rows[alive], is_dup[alive], lo[alive], hi[alive], created[alive]
        touch_until = ep_end[rows, hi - 1] + 60
        r = lambda label: uniform(self.key("sc-record", label), c.compact[rows] * 2 + is_dup)  # noqa: E731
        upn_las = self.upn_las(c)[rows]
        child_upn_day = np.maximum(c.reception, c.arrival)[rows]
        has_upn = r("upn-held") < 0.35
        families = {f: r(f) < rate(f, boost) for f in ("name", "dob")}
        families["name"] |= is_dup & (r("dup-name") < 0.5)
        families["upn"] = has_upn & (r("upn") < rate("upn", boost))
        missing = r("nhs") < np.where(is_dup, 0.5, 0.04)
        mistyped = ~missing & (r("nhs-typo") < min(0.3, 0.01 * boost))
        forename, surname, dob = c.forename[rows].copy(), c.surname[rows].copy(), c.dob[rows].copy()
        upn_state = np.where(has_upn, UPN_TRUE, UPN_NONE).astype(np.int8)
        upn_other = np.full(len(rows), None, dtype=object)
        nhs_state = np.where(missing, NHS_MISSING, np.where(mistyped, NHS_MISTYPED, NHS_TRUE)).astype(np.int8)
        nhs_other = np.full(len(rows), None, dtype=object)
        errors: list[tuple[int, str, str, int]] = []  # (record position, kind, detail, visible)
        needs_care = families["name"] | families["dob"] | families["upn"] | mistyped | missing
        for i in np.flatnonzero(needs_care).tolist():
            child = int(c.compact[rows[i]])
            rnd = py_random(self.seed, self.spec.name, "socialcare-record", child, bool(is_dup[i]))
            true_upn = make_upn_array(upn_las[i:i + 1], np.array([child]))[0]
            fams = {f for f, flags in families.items() if flags[i]}
            rec = record_identity(rnd, forename[i], surname[i], int(dob[i]), true_upn if has_upn[i] else None,
                                  int(c.la[rows[i]]), GROUP_NAMES[c.group[rows[i]]], fams, int(created[i]),
                                  upn_optional=True)
            forename[i], surname[i], dob[i] = rec.forename, rec.surname, rec.dob
            if has_upn[i]:
                upn_state[i], upn_other[i] = upn_record(rec.upn, true_upn)
            for kind, how in rec.errors:
                upn_seen = max(int(created[i]), int(child_upn_day[i]))
                errors.append((i, kind, how, upn_seen if kind.startswith("upn") else int(created[i])))
            nhs = make_nhs_number(child)
            if missing[i]:
                errors.append((i, "nhs_missing", f"NHS number {nhs} not recorded", int(created[i])))
            elif mistyped[i]:
                nhs_other[i], how = nhs_with_bad_check(nhs, rnd)
                errors.append((i, "nhs_check_digit", f"{how}: {nhs_other[i]} for {nhs}", int(created[i])))
        pc1 = np.where(r("pc-missing") < 0.03, -1, self.postcodes(c, "pc1")[rows])
        pc2 = np.where((c.move_day[rows] < NEVER) & (pc1 >= 0), self.postcodes(c, "pc2")[rows], -1)
        pc_day = np.where(pc2 >= 0, c.move_day[rows] + (r("pc-lag") * 200).astype(np.int64), NEVER)
        gender = np.where(r("gender") < 0.005, "unknown", np.where(c.male[rows], "male", "female"))
        upn_day = np.where(upn_state != UPN_NONE, np.maximum(created, child_upn_day), NEVER)
        first_row = sc.records.extend({
            "key": c.compact[rows].astype(np.int64) * 2 + is_dup, "child": c.compact[rows], "created": created,
            "first_name": forename, "last_name": surname, "dob": dob,
            "gender": gender.astype(object), "nhs_state": nhs_state, "nhs": nhs_other, "upn_state": upn_state,
            "upn_other": upn_other, "upn_la": upn_las, "upn_day": upn_day, "la": c.la[rows], "pc1": pc1,
            "pc2": pc2, "pc_day": pc_day, "touch_until": touch_until, "is_dup": is_dup})
        for i, kind, how, visible in errors:
            sc.errors.add("socialcare", "children", first_row + i, kind, how, visible)
        for i in np.flatnonzero(is_dup).tolist():
            sc.errors.add("socialcare", "children", first_row + i, "duplicate_person",
                          "second record of the same child", int(created[i]))
        # Involvements: episode k of child row belongs to the record whose [lo, hi) holds k.
        rec_of, ep = [], []
        for k in range(k_max):
            inside = (lo <= k) & (k < hi) & (ep_start[rows, k] <= sc.horizon)
            rec_of.append(np.flatnonzero(inside))
            ep.append(np.full(int(inside.sum()), k))
        rec_of, ep = np.concatenate(rec_of), np.concatenate(ep)
        order = np.lexsort((ep, rec_of))
        rec_of, ep = rec_of[order], ep[order]
        child_rows = rows[rec_of]
        team_u = uniform(self.key("sc", "team"), c.compact[child_rows] * 4 + ep)
        kinds = types[ep_type[child_rows, ep]]
        teams = np.array([INVOLVEMENT_TEAMS[t][int(x * len(INVOLVEMENT_TEAMS[t]))]
                          for t, x in zip(kinds.tolist(), team_u.tolist(), strict=True)], dtype=object)
        sc.involvements.extend({"record": first_row + rec_of, "type": kinds, "start": ep_start[child_rows, ep],
                                "end": ep_end[child_rows, ep], "team": teams})
