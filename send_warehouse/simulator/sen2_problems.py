"""Problems a SEN2 return must catch before submission, injected into the casework system.

Kept apart from the world's history: which plans and requests are spoilt is a pure hash of the
row's stable key under its own stream label, applied when casework is projected onto a night, so
no existing random stream shifts and every night shows the same spoilt rows. The ground truth
(`errors.csv`) lists each one, plus the casework people whose ethnicity the history left
unrecorded or whose sex it recorded as U (required SEN2 items: `sen2_ethnicity_missing`,
`sen2_sex_unknown`).

Kinds (per plan, at most one):
  sen2_setting_missing   the plan names neither a school (URN) nor a setting code
  sen2_setting_conflict  the plan names a school and a setting code (`OTH`) at once
  sen2_need_missing      no primary (nor secondary) need recorded
  sen2_need_repeated     the secondary need repeats the primary
and per request: sen2_request_source_missing (who made the request not recorded).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .hashing import label_key, uniform

RATE = 0.003  # per plan or request and kind, before the size's boost
PLAN_KINDS = ("sen2_setting_missing", "sen2_setting_conflict", "sen2_need_missing", "sen2_need_repeated")
REQUEST_KINDS = ("sen2_request_source_missing",)


def _kinds(world, table: str, keys: np.ndarray, count: int) -> np.ndarray:
    """Index of the kind each row is spoilt with, -1 for none."""
    rate = min(0.05, RATE * world.spec.boost)
    u = uniform(label_key(world.seed, world.spec.name, "sen2", table), np.asarray(keys))
    kind = (u // rate).astype(np.int64)
    kind[kind >= count] = -1
    return kind


def spoil_plans(world, keys: np.ndarray, cols: dict[str, np.ndarray]) -> None:
    """Apply the plan kinds to projected cw_plan columns (in place)."""
    kind = _kinds(world, "cw_plan", keys, len(PLAN_KINDS))
    urn, code = cols["named_urn"], cols["named_setting_code"]
    primary, secondary = cols["primary_need"], cols["secondary_need"]
    missing = kind == 0
    urn[missing] = None
    code[missing] = None
    conflict = (kind == 1) & np.array([u is not None for u in urn.tolist()], dtype=bool)
    code[conflict] = "OTH"
    no_need = kind == 2
    primary[no_need] = None
    secondary[no_need] = None
    repeated = kind == 3
    secondary[repeated] = primary[repeated]


def spoil_requests(world, keys: np.ndarray, cols: dict[str, np.ndarray]) -> None:
    kind = _kinds(world, "cw_request", keys, len(REQUEST_KINDS))
    source = cols["request_source"].astype(object)
    source[kind == 0] = None
    cols["request_source"] = source


def errors(world, night: int) -> Iterator[tuple[str, str, str, str, str]]:
    """Ground-truth rows (kind, system, object, record id, detail) of the problems shown on `night`."""
    from .casework import named_settings

    send = world.send
    plans = np.flatnonzero(send.plans.issued <= night)
    kind = _kinds(world, "cw_plan", send.plans.key[plans], len(PLAN_KINDS))
    has_urn = np.zeros(len(send.plans), dtype=bool)
    plan_rows, urns, _, _ = named_settings(world, night)
    has_urn[plan_rows[urns >= 0]] = True
    for row, k in zip(plans.tolist(), kind.tolist(), strict=True):
        if k < 0 or (k == 1 and not has_urn[row]):
            continue
        yield (PLAN_KINDS[k], "casework", "cw_plan", str(world.plan_id[row]), PLAN_KINDS[k].replace("_", " "))
    requests = np.flatnonzero(send.requests.created <= night)
    kind = _kinds(world, "cw_request", send.requests.key[requests], len(REQUEST_KINDS))
    for row in requests[kind == 0].tolist():
        yield (REQUEST_KINDS[0], "casework", "cw_request", str(world.request_id[row]), "request source not recorded")
    persons = np.flatnonzero((send.persons.created <= night) & (send.persons.ethnicity == None))  # noqa: E711
    for row in persons.tolist():
        yield ("sen2_ethnicity_missing", "casework", "cw_person", str(world.person_id[row]), "ethnicity not recorded")
    persons = np.flatnonzero((send.persons.created <= night) & (send.persons.sex == "U"))
    for row in persons.tolist():
        yield ("sen2_sex_unknown", "casework", "cw_person", str(world.person_id[row]), "sex recorded as U")
