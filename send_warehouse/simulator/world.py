"""The world: the whole true history of an area, from which every night's systems are projected.

Determinism rule (what the tests rely on). The world is a pure function of (size, seed, first
night). Every calendar block (a month of requests, a birth cohort, a day of document deletions)
draws from its own random stream, and a night's data is the world *projected onto that night*:
rows created after it are absent, and later events are not shown yet. Hence:

* the same (size, seed, nights, as_of) gives byte-identical files;
* with the same seed and first night, running nights=k then nights=K>k gives identical education
  folders for the first k nights, and the casework database and social care file after night K
  equal the night-k state plus exactly the rows whose `updated_at` falls on nights k+1..K (and
  documents filed or deleted then);
* the first night only anchors what must happen "between nights" (at least one document is
  hard-deleted on every night after the first), so that short test runs always see it.

Identifiers that systems assign in creation order (casework ids, social care ids) are ranks by
creation instant, ties broken by a row key derived from the child's number; clock times hash on
the same keys. Rows that come into existence after the last night are never stored (nothing can
show them), and since later rows rank after earlier ones, that never renumbers or re-times a
stored row: the world a longer run stores is a superset of a shorter run's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .columns import Table, release_freed_memory
from .dates import NEVER, day_of, from_day
from .establishments import Establishments, build_establishments
from .hashing import hash64, label_key, permute, poisson, py_random
from .people import SocialCareBuilder
from .population import Population
from .send_history import DOC_CODE, SendHistory, SendHistoryBuilder
from .sizes import SizeSpec

HARD_DELETE_FROM = day_of(2020, 1, 1)
WORKDAY_START, WORKDAY_SECONDS = 8 * 3600, 10 * 3600
B_DUP_SHARE = 0.6  # general-population duplicate pupil records are numbered from 60% of the id space
HASH_CHUNK = 1 << 20


@dataclass
class World:
    spec: SizeSpec
    seed: int
    first_night: int
    last_night: int
    est: Establishments
    send: SendHistory
    socialcare: Table
    involvements: Table
    socialcare_errors: Table
    population: Population
    # Assigned identifiers and derived facts.
    person_id: np.ndarray
    request_id: np.ndarray
    plan_id: np.ndarray
    review_id: np.ndarray
    document_id: np.ndarray
    document_hard_deleted: np.ndarray  # day each document vanished outright (NEVER if it did not)
    document_misfiled_to: np.ndarray  # person row a misfiled document's name belongs to (-1 if not misfiled)
    socialcare_rank: np.ndarray  # order in which the social care system created each record

    def socialcare_ids(self, rows: np.ndarray) -> np.ndarray:
        return np.array([f"LCS-{n + 1:06d}" for n in self.socialcare_rank[rows].tolist()], dtype=object)

    def seconds(self, table: str, keys: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Time of day (seconds) at which the rows with these stable keys changed on `day`: office hours."""
        key = label_key(self.seed, self.spec.name, "clock", table)
        keys, days = np.asarray(keys), np.asarray(days)
        out = np.empty(len(keys), dtype=np.int32)
        for lo in range(0, len(keys), HASH_CHUNK):  # bounded temporaries for tens of millions of rows
            mixed = keys[lo:lo + HASH_CHUNK].astype(np.int64) * 1_000_003 + days[lo:lo + HASH_CHUNK]
            out[lo:lo + HASH_CHUNK] = WORKDAY_START + hash64(key, mixed) % np.uint64(WORKDAY_SECONDS)
        return out

    def pupil_ref(self, ref_compact: np.ndarray) -> np.ndarray:
        numbers = permute(np.asarray(ref_compact, dtype=np.int64), self.spec.id_space, 7_654_321, 1_234_567)
        width = self.spec.id_digits
        return np.array([f"P{n:0{width}d}" for n in numbers.tolist()], dtype=object)

    def placement_id(self, ref_compact: np.ndarray, slot: np.ndarray) -> np.ndarray:
        space = self.spec.id_space * 100
        numbers = permute(np.asarray(ref_compact, dtype=np.int64) * 32 + slot, space, 479_001_599, 31_337)
        width = self.spec.id_digits + 2
        return np.array([f"PL{n:0{width}d}" for n in numbers.tolist()], dtype=object)

    @staticmethod
    def child_id(compact: np.ndarray) -> np.ndarray:
        return np.array([child_label(n) for n in np.asarray(compact).tolist()], dtype=object)


def child_label(compact: int) -> str:
    """Ground truth's child_id for a child's number."""
    return f"C{compact:09d}"


def build_world(spec: SizeSpec, seed: int, first_night: int, last_night: int,
                progress=lambda message: None) -> World:
    est = build_establishments(spec, seed)
    sc = SocialCareBuilder(spec, last_night)
    last = from_day(last_night)
    progress("generating the EHC population's history")
    send = SendHistoryBuilder(spec, seed, est, sc, last_night).build(last.year, last.month)
    release_freed_memory()
    population = Population(spec, seed, est)
    progress("generating the general population's social care histories")
    population.add_socialcare(sc, last.year)
    socialcare, involvements, sc_errors = sc.records.finish(), sc.involvements.finish(), sc.errors.finish()
    del sc
    release_freed_memory()
    world = World(spec, seed, first_night, last_night, est, send, socialcare, involvements, sc_errors, population,
                  *(np.empty(0, dtype=np.int64),) * 8)
    s = send
    world.person_id = 100_000 + _creation_rank(world, "cw_person", s.persons.created, s.persons.key)
    world.request_id = 1 + _creation_rank(world, "cw_request", s.requests.created, s.requests.key)
    world.plan_id = 1 + _creation_rank(world, "cw_plan", s.plans.issued, s.plans.key)
    world.review_id = 1 + _creation_rank(world, "cw_review", s.reviews.created, s.reviews.key)
    world.document_id = 1 + _creation_rank(world, "cw_document", s.documents.filed, s.documents.key)
    world.socialcare_rank = _creation_rank(world, "children", socialcare.created, socialcare.key)
    world.document_misfiled_to = _misfile_targets(world)
    world.document_hard_deleted = _hard_deletions(world)
    release_freed_memory()
    return world


def _creation_rank(world: World, table: str, created: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Rank of each row by creation instant (day, time of day, then key): how a system numbers rows."""
    instant = created.astype(np.int64) * 86_400 + world.seconds(table, keys, created)
    order = np.lexsort((keys, instant))
    del instant
    rank = np.empty(len(created), dtype=np.int32)
    rank[order] = np.arange(len(created), dtype=np.int32)
    return rank


def _misfile_targets(world: World) -> np.ndarray:
    """For each misfiled document, the other person whose identifier its file name carries."""
    persons, docs = world.send.persons, world.send.documents
    target = np.full(len(docs), -1, dtype=np.int32)
    flagged = np.flatnonzero(docs.misfiled)
    if not len(flagged):
        return target
    order = np.argsort(persons.created, kind="stable")
    created_sorted = persons.created[order]
    available = np.searchsorted(created_sorted, docs.filed[flagged], side="right")
    pick = hash64(label_key(world.seed, "misfile"), docs.key[flagged])
    own_child = persons.child[docs.person[flagged]]
    for step in range(3):
        choice = order[((pick + np.uint64(step)) % np.maximum(available, 1).astype(np.uint64)).astype(np.int64)]
        ok = (available > 1) & (persons.child[choice] != own_child) & (target[flagged] < 0)
        target[flagged[ok]] = choice[ok]
    return target


def _hard_deletions(world: World) -> np.ndarray:
    """Documents that vanish outright: a few a day (recent, never a final plan), and at least one on
    every night after the first, so that consecutive nights always differ by a deletion."""
    docs = world.send.documents
    deleted = np.full(len(docs), NEVER, dtype=np.int32)
    candidates = np.flatnonzero(docs.doc_type != DOC_CODE["FINAL_PLAN"])
    candidates = candidates[np.argsort(docs.filed[candidates], kind="stable")]
    filed = docs.filed[candidates]
    for day in range(HARD_DELETE_FROM, world.last_night + 1):
        rnd = py_random(world.seed, world.spec.name, "hard-delete", day)
        count = poisson(rnd, world.spec.hard_deletes_per_day)
        if world.first_night < day <= world.last_night:
            count = max(1, count)
        lo, hi = np.searchsorted(filed, np.array([day - 60, day], dtype=filed.dtype))  # same dtype: no copy
        for _ in range(count):
            for _attempt in range(5):
                if hi <= lo:
                    break
                doc = candidates[lo + rnd.randrange(hi - lo)]
                if deleted[doc] == NEVER and docs.soft_deleted[doc] >= day:
                    deleted[doc] = day
                    break
    return deleted
