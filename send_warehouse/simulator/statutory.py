"""The statutory EHC process for one child: requests, decisions, plans and their endings.

Timings are drawn to reproduce DfE's published figures for the size (decisions within 6 weeks,
plans within 20 weeks excluding exceptions, over 52 weeks, refusals); see sizes.py and domain.md.
Every date of a request's course is drawn when the request arrives, so later nights only reveal it.
"""

from __future__ import annotations

import random

from .dates import NEVER, next_weekday, prev_weekday, reception_year, sep1
from .hashing import weighted
from .people import Child
from .sizes import SizeSpec

P_REQUEST_WITHDRAWN = 0.015
P_PLAN_IF_ASSESSED = 0.95  # new plans / requests ~ 0.7 (Norfolk 2024: 2,031 / 2,562 incl. transfers)
P_NO_PLAN_IF_ASSESSED = 0.035
P_EXCEPTION = 0.06
P_NO_PLAN_16W = 0.341  # 2024: 34.1% of no-plan decisions within 16 weeks
SOURCES = ((1, 0.40), (2, 0.42), (3, 0.08), (4, 0.04), (5, 0.06))
EXCEPTIONS = (("SCHOOL_CLOSURE", 0.55), ("PERSONAL", 0.25), ("ABSENT_FROM_AREA", 0.12), ("EY_CLOSURE", 0.08))
# Early endings: (SEN2 cease reason, yearly hazard).
CEASE_HAZARDS = ((2, 0.010), (5, 0.015), (7, 0.002), (8, 0.001), (9, 0.004))


def request(rnd: random.Random, spec: SizeSpec, received: int, team: str, stalled: bool) -> dict:
    """One request's whole course: decision, assessment, draft and outcome (dates may lie in the future)."""
    r = {"received": received, "created": received, "source": weighted(rnd, SOURCES), "decision": None,
         "decision_day": NEVER, "outcome": None, "outcome_day": NEVER, "draft_day": NEVER,
         "exception": None, "exception_day": NEVER, "transfer_from": None, "team": team}
    roll = rnd.random()
    if stalled:
        decision = "Y"
    elif roll < spec.p_refused:
        decision = "N"
    elif roll < spec.p_refused + P_REQUEST_WITHDRAWN:
        decision = "W"
    else:
        decision = "Y"
    if decision == "W":
        decided = received + rnd.randrange(5, 60)
    elif stalled or rnd.random() < spec.p_decided_6w:
        decided = prev_weekday(received + rnd.randrange(14, 43))
        decided = decided if decided > received else received + 1
    else:
        decided = next_weekday(received + 43 + int(rnd.expovariate(1 / 25)))
    r["decision"], r["decision_day"] = decision, decided
    if decision != "Y":
        return r
    if not stalled and rnd.random() < min(0.5, P_EXCEPTION * spec.boost ** 0.5):
        r["exception"] = weighted(rnd, EXCEPTIONS)
        r["exception_day"] = decided + rnd.randrange(10, 60)
    if stalled:
        outcome, days = ("Y" if rnd.random() < 0.5 else "N"), rnd.randrange(150, 420)
    else:
        roll = rnd.random()
        outcome = "Y" if roll < P_PLAN_IF_ASSESSED else (
            "N" if roll < P_PLAN_IF_ASSESSED + P_NO_PLAN_IF_ASSESSED else "W")
        days = _outcome_days(rnd, spec, outcome, decided - received, r["exception"] is not None)
    outcome_day = next_weekday(received + days) if outcome != "W" else received + days
    if outcome == "Y" and days <= 140 and outcome_day - received > 140:
        outcome_day = prev_weekday(received + 140)
    r["outcome"], r["outcome_day"] = outcome, max(outcome_day, decided + 1)
    if r["exception"] is not None and r["exception_day"] >= r["outcome_day"]:
        r["exception_day"] = decided + 1
    if outcome == "Y":
        r["draft_day"] = prev_weekday(r["outcome_day"] - rnd.randrange(15, 45))
        if r["draft_day"] <= decided:
            r["draft_day"] = decided + 1
    return r

def _outcome_days(rnd: random.Random, spec: SizeSpec, outcome: str, decision_days: int, exception: bool) -> int:
    """Days from request to outcome, drawn to match the size's 20-week and 52-week figures."""
    floor = decision_days + 40
    if outcome == "W":
        return decision_days + rnd.randrange(20, 200)
    if outcome == "N":
        if rnd.random() < P_NO_PLAN_16W:
            return max(floor, rnd.randrange(70, 113))
        return max(floor, 113 + int(rnd.expovariate(1 / 80)))
    if exception:
        return max(floor, rnd.randrange(120, 300))
    if rnd.random() < spec.p_issued_20w:
        return max(floor, rnd.randrange(90, 141))
    if rnd.random() < spec.p_over_52w_if_late:
        return max(floor, 365 + int(rnd.expovariate(1 / 110)))
    return max(floor, int(rnd.triangular(141, 364, 150)))

def transfer_request(rnd: random.Random, spec: SizeSpec, c: Child, arrival: int, team: str) -> dict:
    """A plan that arrives from another council: its request is history, decided elsewhere."""
    received = max(c.dob + 200, arrival - rnd.randrange(150, 2500))
    decided = next_weekday(received + rnd.randrange(20, 60))
    outcome = next_weekday(decided + rnd.randrange(60, 200))
    if outcome >= arrival:
        received, decided, outcome = arrival - 150, arrival - 120, arrival - 10
    return {"received": received, "created": arrival, "source": weighted(rnd, SOURCES), "decision": "Y",
            "decision_day": decided, "outcome": "Y", "outcome_day": outcome, "draft_day": outcome - 30,
            "exception": None, "exception_day": NEVER,
            "transfer_from": f"{rnd.choice([la for la in spec.neighbour_las if la != c.la]):03d}",
            "team": team}


def request_age(rnd: random.Random) -> float:
    """Age at a first request: most under 11 (SEN2's age bands of new plans)."""
    roll = rnd.random()
    if roll < 0.25:
        return rnd.uniform(0.6, 5)
    if roll < 0.65:
        return rnd.uniform(5, 11)
    if roll < 0.90:
        return rnd.uniform(11, 16)
    if roll < 0.98:
        return rnd.uniform(16, 19)
    return rnd.uniform(19, 24)


def cease_of_plan(rnd: random.Random, dob: int, issued: int) -> tuple[int, int]:
    """When and why the plan ends: leaving education, reaching 25, or an early ending."""
    ry = reception_year(dob)
    max_end = sep1(ry + 21) - 1  # end of the academic year in which the young person turns 25
    roll = rnd.random()
    if roll < 0.05:
        natural, why = sep1(ry + 12) - 1, 16
    elif roll < 0.23:
        natural, why = sep1(ry + 14) - 1, 18
    elif roll < 0.45:
        natural, why = sep1(ry + 15) - 1, 19
    elif roll < 0.83:
        natural, why = sep1(ry + rnd.randrange(16, 20)) - 1, 21
    else:
        natural, why = max_end, 25
    if why != 25:
        natural += rnd.randrange(0, 90)
    if natural < issued + 365:
        natural = max(issued + 90, min(max_end, issued + 365 + rnd.randrange(0, 400)))
        why = 25 if natural == max_end else 21
    cease, reason = natural, 1 if why == 25 else weighted(
        rnd, ((2, 0.15), (3, 0.10), (4, 0.25), (6, 0.2), (9, 0.3)) if why > 16 else ((2, 0.3), (4, 0.2), (6, 0.2),
                                                                                     (9, 0.3)))
    for early_reason, hazard in CEASE_HAZARDS:
        at = issued + 60 + int(rnd.expovariate(hazard) * 365.25)
        if at < cease:
            cease, reason = at, early_reason
    return next_weekday(cease) if reason != 1 else cease, reason
