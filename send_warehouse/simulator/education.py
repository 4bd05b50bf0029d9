"""The education system: each night's full snapshot of every pupil and placement, as CSV files.

The general population is projected cohort by cohort (so a country's nine million pupils are never
all in memory), then the EHC population. A pupil is in the snapshot from their first placement
until 120 days after their last one ends; a placement appears once it has started and shows its end
only once that day has come.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .csvdrop import FILES, DropFile, header_style
from .dates import NEVER, dmy, from_day
from .hashing import py_random, uniform
from .identifiers import make_uln_array
from .messiness import record_identity
from .names import GROUP_NAMES
from .people import SCOPE_AFTER_LEAVING, postcode_values, upn_values
from .population import CODES, REASONS, SLOTS, Cohort
from .world import B_DUP_SHARE, World

FOURTEEN_YEARS = 5113  # days; ULNs are issued at 14
CHUNK = 50_000  # children (or pupil records) projected at a time: bounds memory for a country


@dataclass
class EducationNight:
    """What was written for one night, and the facts the ground truth needs from the last one."""

    counts: dict[str, dict[str, int]]
    damaged: list[tuple[str, str, str]]  # (kind, record_id, detail) for damaged lines
    record_errors: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, PupilRef, detail)
    child: list[np.ndarray] = field(default_factory=list)  # per pupil record written: the child's number
    ref: list[np.ndarray] = field(default_factory=list)  # the record's number (PupilRef before permutation)
    sen: list[np.ndarray] = field(default_factory=list)  # its SENProvision
    send_pupils: np.ndarray | None = None  # rows of the EHC population's pupil table in the snapshot


def write_night(world: World, night: int, out: Path) -> EducationNight:
    label = from_day(night).isoformat()
    folder = out / "education" / label
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_SUCCESS").unlink(missing_ok=True)
    style = header_style(world.seed, night)
    files = {name: DropFile(folder, name, label, world.seed, night, style) for name in FILES}
    result = EducationNight({}, [])
    try:
        _establishments(world, files["establishments.csv"])
        year = from_day(night).year
        for cohort_year in range(year - 21, year):
            size = world.population.size(cohort_year)
            for lo in range(0, size, CHUNK):
                _cohort(world, night, cohort_year, np.arange(lo, min(size, lo + CHUNK)), files, result)
        _send_population(world, night, files, result)
    finally:
        for f in files.values():
            f.close()
    (folder / "_SUCCESS").touch()
    for name, f in files.items():
        kinds = [k for k, _, _ in f.damaged]
        result.counts[name] = {"rows": f.rows, "lines": f.lines,
                               "malformed_lines": sum(k in ("malformed_csv_row", "impossible_date") for k in kinds),
                               "duplicated_lines": kinds.count("duplicated_csv_row")}
        result.damaged += f.damaged
    return result


def _establishments(world: World, f: DropFile) -> None:
    e = world.est
    f.write([e.urn.astype(str).tolist(), e.name.tolist(), e.type.tolist(), e.phase.tolist(),
             [f"{la:03d}" for la in e.la.tolist()]])


def _cohort(world: World, night: int, year: int, idx: np.ndarray, files: dict[str, DropFile],
            result: EducationNight) -> None:
    """Part of one birth cohort of the general population: main records, then any duplicate records."""
    pop = world.population
    c = pop.cohort(year, idx)
    if not len(c.idx):
        return
    p = pop.placements(c)
    valid = p["valid"]
    leave = np.where(valid, p["end"], -NEVER).max(axis=1)
    slot = np.arange(SLOTS)[None, :]
    early, late = valid & (slot < 3), valid & (slot >= 3)
    dup = pop.duplicates(c.compact) & early.any(axis=1) & late.any(axis=1)
    k_start, e_start = pop.sen_provision(c)
    space = world.spec.id_space
    for is_dup, mask in ((False, valid & ~(dup[:, None] & (slot >= 3))), (True, late & dup[:, None])):
        first = np.where(mask, p["start"], NEVER).min(axis=1)
        rows = np.flatnonzero((first <= night) & (night <= leave + SCOPE_AFTER_LEAVING))
        if not len(rows):
            continue
        part = c.take(rows)
        ref = part.compact + (int(B_DUP_SHARE * space) if is_dup else 0)
        refs = world.pupil_ref(ref)
        sen = np.where(e_start[rows] <= night, "E", np.where(k_start[rows] <= night, "K", "N"))
        _general_pupils(world, night, part, first[rows], refs, sen, is_dup, files["pupils.csv"], result)
        result.child.append(part.compact.astype(np.int32))
        result.ref.append(ref.astype(np.int32))
        result.sen.append(sen)
        # Placements of these records.
        m = mask[rows] & (p["start"][rows] <= night)
        r, s = np.nonzero(m)
        start, end = p["start"][rows][r, s], p["end"][rows][r, s]
        ended = end <= night
        urn = p["urn"][rows][r, s]
        files["placements.csv"].write(_placement_rows(
            world.placement_id(ref[r], s), refs[r], urn, np.array(CODES, dtype=object)[p["code"][rows][r, s]],
            start, np.where(ended, end, NEVER), np.where(ended, np.array(REASONS, dtype=object)[
                p["reason"][rows][r, s]], ""), p["hours"][rows][r, s], np.zeros(len(r), dtype=bool)))


def _general_pupils(world: World, night: int, part: Cohort, created: np.ndarray, refs: np.ndarray,
                    sen: np.ndarray, is_dup: bool, f: DropFile, result: EducationNight) -> None:
    pop = world.population
    upn_day = np.maximum(part.reception, part.arrival)
    true_upns = pop.upns(part)
    upn = np.where(upn_day <= night, true_upns, None)
    uln = np.where(part.dob + FOURTEEN_YEARS <= night, pop.ulns(part), "")
    lag = (uniform(pop.key("pc-lag"), part.family) * 120).astype(np.int64)
    moved = part.move_day + lag <= night
    codes = np.where(moved, pop.postcodes(part, "pc2"), pop.postcodes(part, "pc1"))
    postcode = postcode_values(world.spec, part.la, codes)
    gender = np.where(uniform(pop.key("gender-u"), part.compact) < 0.001, "U", np.where(part.male, "M", "F"))
    forename, surname, dob = part.forename.copy(), part.surname.copy(), part.dob.copy()
    families = pop.error_families(part.compact + (1 << 40 if is_dup else 0), "education")
    chosen = families["upn"] | families["dob"] | families["name"]
    if is_dup:
        chosen[:] = True
    for i in np.flatnonzero(chosen).tolist():
        rnd = py_random(world.seed, world.spec.name, "education-record", int(part.compact[i]), is_dup)
        fams = {name for name, flags in families.items() if flags[i]}
        if is_dup:
            fams |= {"upn"} if rnd.random() < 0.7 else {"name"}
        rec = record_identity(rnd, forename[i], surname[i], int(dob[i]), true_upns[i], int(part.la[i]),
                              GROUP_NAMES[part.group[i]], fams, int(created[i]))
        forename[i], surname[i], dob[i] = rec.forename, rec.surname, rec.dob
        if upn[i] is not None:
            upn[i] = rec.upn
        for kind, how in rec.errors:
            if not kind.startswith("upn") or upn_day[i] <= night:
                result.record_errors.append((kind, refs[i], how))
        if is_dup:
            result.record_errors.append(("duplicate_person", refs[i], "second pupil record of the same child"))
    f.write([refs.tolist(), np.where(upn == None, "", upn).tolist(), uln.tolist(),  # noqa: E711
             forename.tolist(), surname.tolist(), dmy(dob).tolist(), gender.tolist(), postcode.tolist(),
             sen.tolist()])


def _placement_rows(ids, refs, urn, code, start, end, reason, hours, dual) -> list[list[str]]:
    """The columns of placements.csv, as lists of strings."""
    urn_text = np.where(urn >= 0, urn.astype(str), "").tolist()
    hours_text = ["" if h != h else f"{h:g}" for h in hours.tolist()]
    code = np.where(code == None, "", code).tolist()  # noqa: E711
    return [ids.tolist(), refs.tolist(), urn_text, code, dmy(start).tolist(), dmy(end).tolist(),
            np.asarray(reason, dtype=object).tolist(), hours_text, np.where(dual, "Y", "N").tolist()]


def _send_population(world: World, night: int, files: dict[str, DropFile], result: EducationNight) -> None:
    """The EHC population's pupil records and placements (placements are stored in pupil order)."""
    pupils, placements = world.send.pupils, world.send.placements
    rows = np.flatnonzero((pupils.created <= night) & (night <= pupils.scope_end))
    result.send_pupils = rows
    for lo in range(0, len(rows), CHUNK):
        chunk = rows[lo:lo + CHUNK]
        t = pupils.take(chunk)
        refs = world.pupil_ref(t.ref)
        sen = np.where((t.e_start <= night) & (night < t.e_end), "E",
                       np.where((t.k_start <= night) & (night < t.k_end), "K", "N"))
        upn = upn_values(np.where(t.upn_day <= night, t.upn_state, 0), t.upn_other, t.upn_la, t.child)
        uln = np.full(len(chunk), "", dtype=object)
        has_uln = t.uln_day <= night
        uln[has_uln] = make_uln_array(t.child[has_uln])
        postcode = postcode_values(world.spec, t.la, np.where(t.pc_day <= night, t.pc2, t.pc1))
        files["pupils.csv"].write([refs.tolist(), np.where(upn == None, "", upn).tolist(),  # noqa: E711
                                   uln.tolist(), t.forename.tolist(), t.surname.tolist(), dmy(t.dob).tolist(),
                                   t.sex.tolist(), postcode.tolist(), sen.tolist()])
        result.child.append(t.child)
        result.ref.append(t.ref)
        result.sen.append(sen)
        # (the needle in the haystack's dtype: otherwise numpy converts the whole haystack each call)
        first, last = np.searchsorted(placements.pupil, np.array([chunk[0], chunk[-1] + 1], placements.pupil.dtype))
        pl = placements.take(np.arange(first, last))
        position = np.searchsorted(chunk, pl.pupil)
        keep = (position < len(chunk)) & (chunk[np.minimum(position, len(chunk) - 1)] == pl.pupil) & (
            pl.start <= night)
        pl, owner = pl.take(np.flatnonzero(keep)), position[keep]
        ended = pl.end <= night
        files["placements.csv"].write(_placement_rows(
            world.placement_id(t.ref[owner], pl.slot), refs[owner], pl.urn, pl.code, pl.start,
            np.where(ended, pl.end, NEVER), np.where(ended, pl.reason, ""), pl.hours, pl.dual))
