"""The school career of a child known to the EHC system, as a track of placements.

A track is a list of placements `[start, end, end_reason, urn (-1 none), setting_code, hours]`
that never overlap: early years, primary, secondary, sixth form or college and, for young people
whose plans continue, post-19 provision. Plans change it: a move to a special school, and the
events the marts must detect - breakdowns and exclusions followed by weeks or months with no
(or no suitable) education, part-time timetables, elective home education, dual registration
with alternative provision, a notice to cease. Only days in the area are kept.
"""

from __future__ import annotations

import random

from .dates import NEVER, reception_year, sep1
from .establishments import Establishments
from .people import Child
from .sizes import SizeSpec

# A placement being built: [start, end, end_reason, urn (-1 none), setting_code, hours (None = full time)]
Seg = list


def placements(rnd: random.Random, spec: SizeSpec, est: Establishments, c: Child, issued: int, cease: int,
               reason: int, special_from: int) -> tuple[list[Seg], list[Seg]]:
    """The child's placements: the main track (never overlapping) and dual registrations."""
    la = c.la
    ry = reception_year(c.dob)
    reception, y7, y12, y14 = sep1(ry), sep1(ry + 7), sep1(ry + 12), sep1(ry + 14)
    has_plan = issued < NEVER
    # Plan holders leave education when the plan ends after year 11; others after year 11 or 13.
    staying = has_plan and y12 <= cease < NEVER
    leave = cease - 1 if staying else (y12 - 1 if rnd.random() < 0.22 else y14 - 1)
    track: list[Seg] = []
    if issued < reception or rnd.random() < 0.72:
        ey_start = c.dob + int(rnd.uniform(2.0, 3.3) * 365.25)
        if issued < reception:
            ey_start = min(ey_start, max(c.dob + 120, issued - rnd.randrange(0, 60)))
        ey = est.pick("EY", la, rnd.random()) if rnd.random() < 0.7 else -1
        track.append([ey_start, reception - 1, "COMPLETED", ey, None if ey >= 0 else "EYP", None])
    special_urn = -1
    if special_from < NEVER:
        if rnd.random() < 0.8:
            special_urn = est.pick("SPE", la, rnd.random())
        else:
            isp_la = la if len(spec.la_codes) > 1 or rnd.random() < 0.6 else rnd.choice(spec.neighbour_las)
            special_urn = est.pick("ISP", isp_la, rnd.random())
    for start, end, phase in ((reception, y7 - 1, "PRI"), (y7, y12 - 1, "SEC")):
        if special_from <= start:
            track.append([start, end, "COMPLETED", special_urn, None, None])
            continue
        urn = est.pick(phase, la, rnd.random())
        track.append([start, end, "COMPLETED", urn, None, None])
        if start < special_from <= end:
            _split(track, special_from, "MOVED_SCHOOL")
            track[-1][3] = special_urn
        elif rnd.random() < 0.08:
            _split(track, start + rnd.randrange(30, end - start - 30), "MOVED_SCHOOL")
            track[-1][3] = est.pick(phase, la, rnd.random())
    roll = rnd.random()
    if special_from <= y12:
        sixth = (special_urn, None) if roll < 0.55 else (
            (est.pick("FE", la, rnd.random()), None) if roll < 0.85 else (est.pick("ISP", la, rnd.random()),
                                                                          None))
    elif has_plan and issued < y14:
        sixth = ((est.pick("FE", la, rnd.random()), None) if roll < 0.5 else
                 (track[-1][3], None) if roll < 0.75 else
                 (est.pick("P16", la, rnd.random()), None) if roll < 0.92 else (-1, "NEET"))
    else:
        sixth = ((est.pick("FE", la, rnd.random()), None) if roll < 0.4 else
                 (track[-1][3], None) if roll < 0.9 else (est.pick("P16", la, rnd.random()), None))
    track.append([y12, y14 - 1, "COMPLETED", sixth[0], sixth[1], None])
    roll = rnd.random()
    after = ((est.pick("FE", la, rnd.random()), None) if roll < 0.6 else
             (est.pick("ISP", la, rnd.random()), None) if roll < 0.88 else (-1, "NEET"))
    track.append([y14, NEVER - 1, "COMPLETED", after[0], after[1], None])
    _merge_same(track)
    _cut(track, leave + 1, NEVER)
    extras: list[Seg] = []
    if has_plan:
        _plan_events(rnd, spec, est, c, track, extras, issued, cease, reason, reception, y12, leave)
    # The child is only on this council's books while living here.
    _cut(track, -NEVER, c.arrival - 1)
    if c.departure < NEVER:
        for seg in track:
            if seg[0] < c.departure <= seg[1]:
                seg[1], seg[2] = c.departure - 1, "LEFT_AREA"
        _cut(track, c.departure, NEVER)
        extras = [e for e in extras if e[1] < c.departure]
    extras = [e for e in extras if e[0] >= c.arrival]
    return track, extras

def _plan_events(rnd: random.Random, spec: SizeSpec, est: Establishments, c: Child, track: list[Seg],
                 extras: list[Seg], issued: int, cease: int, reason: int, reception: int, y12: int,
                 leave: int) -> None:
    """The things that go wrong for children with plans: breakdowns, part-time timetables..."""
    boost, la = spec.boost, c.la
    school_from = max(issued, reception + 30, c.dob + 6 * 365)
    school_to = min(cease, y12 - 60, leave - 60)
    if school_to - school_from > 120 and rnd.random() < min(0.6, 0.09 * boost):
        day = school_from + rnd.randrange(school_to - school_from - 60)
        seg = _at(track, day)
        if seg is not None and seg[3] >= 0:
            why = "PERM_EXCLUSION" if rnd.random() < 0.35 else "BREAKDOWN"
            gap = 7 + min(250, int(rnd.expovariate(1 / 55)))
            _split(track, day + 1, why)
            seg[2] = why
            nxt = _at(track, day + 1)
            if nxt is not None:
                roll = rnd.random()
                if why == "PERM_EXCLUSION" or roll < 0.3:
                    nxt[3], nxt[4] = est.pick("AP", la, rnd.random()), None
                elif roll < 0.5:
                    nxt[3], nxt[4] = -1, rnd.choice(("OLA", "OLA", "OPA", "OTH"))
                else:
                    nxt[3], nxt[4] = est.pick("SPE", la, rnd.random()), None
            _cut(track, day + 1, day + gap)
            if rnd.random() < 0.25:
                _insert(track, [day + 1, min(day + gap, leave), "OTHER", -1, "NIEO", None])
    school_to = min(cease, y12 - 90, leave - 60)
    if school_to - school_from > 150 and rnd.random() < min(0.6, 0.07 * boost):
        start = school_from + rnd.randrange(school_to - school_from - 120)
        seg = _at(track, start)
        if seg is not None and seg[3] >= 0 and seg[4] is None and seg[5] is None and seg[1] - start > 40:
            length = min(rnd.randrange(21, 141), seg[1] - start - 14)
            _split(track, start, "OTHER")
            _split(track, start + length + 1, "OTHER")
            part = _at(track, start)
            part[5] = rnd.choice((5.0, 10.0, 12.5, 15.0, 20.0))
    if school_to - school_from > 200 and rnd.random() < min(0.3, 0.02 * boost):
        day = school_from + rnd.randrange(school_to - school_from - 100)
        seg = _at(track, day)
        if seg is not None and seg[3] >= 0 and seg[5] is None:
            _split(track, day + 1, "ELECTIVE_HOME_ED")
            seg[2] = "ELECTIVE_HOME_ED"
            end = min(y12 - 1, leave)
            _cut(track, day + 1, end)
            _insert(track, [day + 1, end, "COMPLETED", -1, "EHE", None])
    if school_to - school_from > 200 and rnd.random() < min(0.4, 0.03 * boost):
        day = school_from + rnd.randrange(school_to - school_from - 150)
        end = min(day + rnd.randrange(42, 180), leave)
        extras.append([day, end, "OTHER", est.pick("AP", la, rnd.random()), None, None])
    if reason in (2, 3, 4, 6, 9) and y12 <= cease < NEVER and rnd.random() < min(0.9, 0.1 * boost ** 2):
        start = cease - rnd.randrange(30, 90)
        seg = _at(track, start)
        if seg is not None and seg[0] < start:
            _split(track, start, "OTHER")
            last = _at(track, start)
            last[3], last[4], last[5] = -1, "NIEC", None


def _at(track: list[Seg], day: int) -> Seg | None:
    for seg in track:
        if seg[0] <= day <= seg[1]:
            return seg
    return None


def _split(track: list[Seg], day: int, reason_first: str) -> None:
    """Start a new placement on `day` inside the one covering it (the first part ends with `reason_first`)."""
    for i, seg in enumerate(track):
        if seg[0] < day <= seg[1]:
            track.insert(i + 1, [day, seg[1], seg[2], seg[3], seg[4], seg[5]])
            seg[1], seg[2] = day - 1, reason_first
            return


def _cut(track: list[Seg], first: int, last: int) -> None:
    """Remove all coverage of the days first..last."""
    out: list[Seg] = []
    for seg in track:
        if seg[1] < first or seg[0] > last:
            out.append(seg)
        elif seg[0] < first and seg[1] > last:
            out.append([seg[0], first - 1, seg[2], seg[3], seg[4], seg[5]])
            out.append([last + 1, seg[1], seg[2], seg[3], seg[4], seg[5]])
        elif seg[0] < first:
            seg[1] = first - 1
            out.append(seg)
        elif seg[1] > last:
            seg[0] = last + 1
            out.append(seg)
    track[:] = out


def _insert(track: list[Seg], seg: Seg) -> None:
    if seg[1] >= seg[0]:
        track.append(seg)
        track.sort(key=lambda s: s[0])


def _merge_same(track: list[Seg]) -> None:
    """Adjacent placements at the same setting are one placement (a special school is all-through)."""
    out: list[Seg] = []
    for seg in track:
        if out and out[-1][3] == seg[3] and out[-1][3] >= 0 and out[-1][1] + 1 == seg[0] and out[-1][5] == seg[5]:
            out[-1][1], out[-1][2] = seg[1], seg[2]
        else:
            out.append(seg)
    track[:] = out
