"""Children's social care: the world projected onto the last night, as the API's JSON items.

The file holds one child per line, sorted by id, exactly as the API returns items; the HTTP
server (`socialcare_api.py`) pages through it. `updated_at` is the latest change on or before the
night (a new involvement, an ended one, an address or UPN update, or a worker's save), at a
daytime local clock time with Europe/London's offset.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .dates import NEVER, clock, from_day, iso, london_offset
from .hashing import hash64, label_key
from .identifiers import make_nhs_number
from .people import NHS_MISSING, NHS_TRUE, UPN_NONE, postcode_values, upn_values
from .world import World


def visible(world: World, night: int) -> np.ndarray:
    return np.flatnonzero(world.socialcare.created <= night)


def project(world: World, night: int) -> Iterator[tuple[str, dict]]:
    """(id, item) for every child the system holds after `night`, in id order (streamed)."""
    rows = visible(world, night)
    s = world.socialcare.take(rows)
    inv = world.involvements
    position = np.full(len(world.socialcare), -1, dtype=np.int64)
    position[rows] = np.arange(len(rows))
    started = (inv.start <= night) & (position[inv.record] >= 0)
    latest = np.maximum(s.created, np.where(s.pc_day <= night, s.pc_day, s.created))
    latest = np.maximum(latest, np.where(s.upn_day <= night, s.upn_day, s.created))
    np.maximum.at(latest, position[inv.record[started]], inv.start[started])
    ended = started & (inv.end <= night)
    np.maximum.at(latest, position[inv.record[ended]], inv.end[ended])
    period = 45 + (hash64(label_key(world.seed, "touch", "children"), s.key) % np.uint64(120)).astype(np.int64)
    horizon = np.minimum(night, s.touch_until)
    touch = s.created + (np.maximum(horizon - s.created, 0) // period) * period
    latest = np.maximum(latest, np.where(horizon >= s.created, touch, latest))
    secs = world.seconds("children", s.key, latest)
    # Involvements grouped by child (in start order), sliced per child while writing.
    idx = np.flatnonzero(started)
    owner = position[inv.record[idx]]
    order = np.lexsort((inv.start[idx], owner))
    idx, owner = idx[order], owner[order]
    bounds = np.searchsorted(owner, np.arange(len(rows) + 1))
    starts = iso(inv.start[idx])
    ends = iso(np.where(inv.end[idx] <= night, inv.end[idx], NEVER))
    types, teams = inv.type[idx], inv.team[idx]
    dob = iso(s.dob)
    upn = upn_values(np.where(s.upn_day <= night, s.upn_state, UPN_NONE), s.upn_other, s.upn_la, s.child)
    postcode = postcode_values(world.spec, s.la, np.where(s.pc_day <= night, s.pc2, s.pc1))
    ids = world.socialcare_ids(rows)
    for k in np.argsort(ids, kind="stable").tolist():
        day = int(latest[k])
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        state = s.nhs_state[k]
        nhs = make_nhs_number(int(s.child[k])) if state == NHS_TRUE else None if state == NHS_MISSING else s.nhs[k]
        yield ids[k], {
            "id": ids[k], "nhs_number": nhs, "upn": upn[k], "first_name": s.first_name[k],
            "last_name": s.last_name[k], "date_of_birth": dob[k], "gender": s.gender[k], "postcode": postcode[k],
            "updated_at": f"{from_day(day).isoformat()}T{clock(int(secs[k]))}{london_offset(day)}",
            "involvements": [{"type": types[j], "start_date": starts[j], "end_date": ends[j], "team": teams[j]}
                             for j in range(lo, hi)],
        }


def write(world: World, night: int, out: Path) -> int:
    """Write `socialcare/children.jsonl` (atomically); returns the number of children."""
    folder = out / "socialcare"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "children.jsonl.tmp"
    count = 0
    with tmp.open("w", encoding="utf-8", newline="\n") as f:
        for _, item in project(world, night):
            f.write(json.dumps(item))
            f.write("\n")
            count += 1
    os.replace(tmp, folder / "children.jsonl")
    return count
