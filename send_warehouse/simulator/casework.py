"""The EHC casework system: the world projected onto a night, written as a relational database.

Each row appears on the day it was created; a field shows a value only once the event behind it
has happened; `updated_at` is the latest such event on or before the night (plus the "touches"
that casework systems record when a case worker saves a record without changing what we export).
Documents have no `updated_at`: they are filed, soft-deleted, or vanish outright.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from . import sen2_problems
from .dates import NEVER, clock, from_day, iso
from .hashing import hash64, label_key
from .identifiers import make_uln_array, restyle_postcode
from .people import UPN_NONE, postcode_values, upn_values
from .send_history import DOC_TYPES
from .world import World

DOC_TYPE_NAMES = np.array(DOC_TYPES, dtype=object)
_CLOCKS = np.array([clock(s) for s in range(86_400)], dtype=object)

METADATA = sa.MetaData()
CW_PERSON = sa.Table(
    "cw_person", METADATA,
    sa.Column("person_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("upn", sa.String(13)), sa.Column("uln", sa.String(10)),
    sa.Column("forename", sa.String(100), nullable=False), sa.Column("surname", sa.String(100), nullable=False),
    sa.Column("dob", sa.Date, nullable=False), sa.Column("sex", sa.CHAR(1), nullable=False),
    sa.Column("postcode", sa.String(10)), sa.Column("ethnicity", sa.String(4)),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
CW_REQUEST = sa.Table(
    "cw_request", METADATA,
    sa.Column("request_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("person_id", sa.Integer, sa.ForeignKey("cw_person.person_id"), nullable=False),
    sa.Column("received_date", sa.Date, nullable=False), sa.Column("request_source", sa.SmallInteger),
    sa.Column("decision_date", sa.Date), sa.Column("decision", sa.CHAR(1)),
    sa.Column("assessment_outcome", sa.CHAR(1)), sa.Column("outcome_date", sa.Date),
    sa.Column("draft_issued_date", sa.Date), sa.Column("exception_reason", sa.String(20)),
    sa.Column("transferred_in_from", sa.CHAR(3)), sa.Column("team", sa.String(30), nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
CW_PLAN = sa.Table(
    "cw_plan", METADATA,
    sa.Column("plan_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("person_id", sa.Integer, sa.ForeignKey("cw_person.person_id"), nullable=False),
    sa.Column("request_id", sa.Integer, sa.ForeignKey("cw_request.request_id"), nullable=False),
    sa.Column("issued_date", sa.Date, nullable=False), sa.Column("primary_need", sa.String(4)),
    sa.Column("secondary_need", sa.String(4)), sa.Column("named_urn", sa.Integer),
    sa.Column("named_setting_code", sa.String(4)), sa.Column("ceased_date", sa.Date),
    sa.Column("cease_reason", sa.SmallInteger), sa.Column("updated_at", sa.DateTime, nullable=False),
)
CW_REVIEW = sa.Table(
    "cw_review", METADATA,
    sa.Column("review_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("plan_id", sa.Integer, sa.ForeignKey("cw_plan.plan_id"), nullable=False),
    sa.Column("due_date", sa.Date, nullable=False), sa.Column("meeting_date", sa.Date),
    sa.Column("decision_date", sa.Date), sa.Column("outcome", sa.CHAR(1)),
    sa.Column("amended_plan_date", sa.Date), sa.Column("updated_at", sa.DateTime, nullable=False),
)
CW_DOCUMENT = sa.Table(
    "cw_document", METADATA,
    sa.Column("document_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("person_id", sa.Integer, sa.ForeignKey("cw_person.person_id"), nullable=False),
    sa.Column("request_id", sa.Integer, sa.ForeignKey("cw_request.request_id")),
    sa.Column("doc_type", sa.String(20), nullable=False), sa.Column("file_name", sa.String(200), nullable=False),
    sa.Column("filed_at", sa.DateTime, nullable=False), sa.Column("deleted_at", sa.DateTime),
)
TABLES = (CW_PERSON, CW_REQUEST, CW_PLAN, CW_REVIEW, CW_DOCUMENT)
BATCH = 20_000  # rows per executemany
CHUNK = 200_000  # rows projected at a time (bounds memory for a country's casework)


# --- projection ---------------------------------------------------------------------------------

def project(world: World, night: int) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
    """Each casework table as it stands after `night`, column by column (days as ints), a chunk at a time."""
    send = world.send
    tables = (
        ("cw_person", _persons, send.persons.created <= night),
        ("cw_request", _requests, send.requests.created <= night),
        ("cw_plan", _plans, send.plans.issued <= night),
        ("cw_review", _reviews, send.reviews.created <= night),
        ("cw_document", _documents, (send.documents.filed <= night) & (world.document_hard_deleted > night)),
    )
    for name, projector, visible in tables:
        rows = np.flatnonzero(visible)
        for lo in range(0, max(len(rows), 1), CHUNK):
            yield name, projector(world, night, rows[lo:lo + CHUNK])


def _shown(day: np.ndarray, value: np.ndarray, night: int, missing=None) -> np.ndarray:
    return np.where(day <= night, value, missing)


def _updated(world: World, table: str, keys: np.ndarray, events: list[np.ndarray], night: int,
             touch_from: np.ndarray, touch_until: np.ndarray) -> np.ndarray:
    """Latest event on or before the night, as a day number; touches repeat every 30-120 days."""
    latest = np.full(len(keys), -NEVER, dtype=np.int64)
    for ev in events:
        latest = np.maximum(latest, np.where(ev <= night, ev, -NEVER))
    period = 30 + (hash64(label_key(world.seed, "touch", table), keys) % np.uint64(90)).astype(np.int64)
    horizon = np.minimum(night, touch_until)
    last_touch = touch_from + (np.maximum(horizon - touch_from, 0) // period) * period
    return np.maximum(latest, np.where(horizon >= touch_from, last_touch, -NEVER))


def _persons(world: World, night: int, rows: np.ndarray) -> dict[str, np.ndarray]:
    t = world.send.persons.take(rows)
    postcode = postcode_values(world.spec, t.la, np.where(t.pc_day <= night, t.pc2, t.pc1))
    postcode = np.array([restyle_postcode(pc, s) if pc else pc for pc, s in zip(postcode, t.pc_style, strict=True)],
                        dtype=object)
    upn = upn_values(np.where(t.upn_day <= night, t.upn_state, UPN_NONE), t.upn_other, t.upn_la, t.child)
    updated = _updated(world, "cw_person", t.key, [t.created, t.upn_day, t.uln_day, t.pc_day], night, t.created,
                       t.touch_until)
    uln = np.full(len(rows), None, dtype=object)
    has_uln = t.uln_day <= night
    uln[has_uln] = make_uln_array(t.child[has_uln])
    return {"person_id": world.person_id[rows], "upn": upn,
            "uln": uln, "forename": t.forename, "surname": t.surname, "dob": t.dob,
            "sex": t.sex, "postcode": postcode, "ethnicity": t.ethnicity,
            "updated_at": _stamp(world, "cw_person", t.key, updated), "_rows": rows}


def _requests(world: World, night: int, rows: np.ndarray) -> dict[str, np.ndarray]:
    t = world.send.requests.take(rows)
    updated = _updated(world, "cw_request", t.key,
                       [t.created, t.decision_day, t.outcome_day, t.draft_day, t.exception_day], night, t.created,
                       t.closed + 180)
    cols = {"request_id": world.request_id[rows], "person_id": world.person_id[t.person],
            "received_date": t.received, "request_source": t.source,
            "decision_date": _shown(t.decision_day, t.decision_rec, night, NEVER),
            "decision": _shown(t.decision_day, t.decision, night),
            "assessment_outcome": _shown(t.outcome_day, t.outcome, night),
            "outcome_date": _shown(t.outcome_day, t.outcome_rec, night, NEVER),
            "draft_issued_date": _shown(t.draft_day, t.draft_rec, night, NEVER),
            "exception_reason": _shown(t.exception_day, t.exception, night),
            "transferred_in_from": t.transfer_from, "team": t.team,
            "updated_at": _stamp(world, "cw_request", t.key, updated), "_rows": rows}
    sen2_problems.spoil_requests(world, t.key, cols)
    return cols


def named_settings(world: World, night: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(plan row, urn, code, day) of the setting each plan names on the night."""
    s = world.send.settings
    idx = np.flatnonzero(s.day <= night)
    plan = s.plan[idx]
    last = idx[np.r_[plan[1:] != plan[:-1], True]] if len(idx) else idx
    return s.plan[last], s.urn[last], s.code[last], s.day[last]


def _plans(world: World, night: int, rows: np.ndarray) -> dict[str, np.ndarray]:
    p = world.send.plans
    t = p.take(rows)
    urn = np.full(len(p), -1, dtype=np.int64)
    code = np.full(len(p), None, dtype=object)
    setting_day = np.full(len(p), NEVER, dtype=np.int64)
    plan_rows, urns, codes, days = named_settings(world, night)
    urn[plan_rows], code[plan_rows], setting_day[plan_rows] = urns, codes, days
    updated = _updated(world, "cw_plan", t.key, [t.issued, setting_day[rows], t.cease_day], night, t.issued,
                       t.cease_day)
    cols = {"plan_id": world.plan_id[rows], "person_id": world.person_id[t.person],
            "request_id": world.request_id[t.request], "issued_date": t.issued, "primary_need": t.primary,
            "secondary_need": t.secondary, "named_urn": np.where(urn[rows] >= 0, urn[rows], None),
            "named_setting_code": code[rows], "ceased_date": _shown(t.cease_day, t.cease_rec, night, NEVER),
            "cease_reason": _shown(t.cease_day, t.cease_reason, night),
            "updated_at": _stamp(world, "cw_plan", t.key, updated), "_rows": rows}
    sen2_problems.spoil_plans(world, t.key, cols)
    return cols


def _reviews(world: World, night: int, rows: np.ndarray) -> dict[str, np.ndarray]:
    t = world.send.reviews.take(rows)
    settled = np.maximum(np.where(t.decision_day < NEVER, t.decision_day, t.due + 400),
                         np.where(t.amended_day < NEVER, t.amended_day, 0))
    updated = _updated(world, "cw_review", t.key, [t.created, t.meeting_day, t.decision_day, t.amended_day], night,
                       t.created, settled + 180)
    return {"review_id": world.review_id[rows], "plan_id": world.plan_id[t.plan], "due_date": t.due,
            "meeting_date": _shown(t.meeting_day, t.meeting_day, night, NEVER),
            "decision_date": _shown(t.decision_day, t.decision_rec, night, NEVER),
            "outcome": _shown(t.decision_day, t.outcome, night),
            "amended_plan_date": _shown(t.amended_day, t.amended_rec, night, NEVER),
            "updated_at": _stamp(world, "cw_review", t.key, updated), "_rows": rows}


def _documents(world: World, night: int, rows: np.ndarray) -> dict[str, np.ndarray]:
    t = world.send.documents.take(rows)
    request = np.where(t.request >= 0, world.request_id[np.maximum(t.request, 0)], None)
    deleted = np.where(t.soft_deleted <= night, t.soft_deleted, NEVER)
    return {"document_id": world.document_id[rows], "person_id": world.person_id[t.person], "request_id": request,
            "doc_type": DOC_TYPE_NAMES[t.doc_type], "file_name": file_names(world, rows),
            "filed_at": _stamp(world, "cw_document", t.key, t.filed),
            "deleted_at": _stamp(world, "cw_document-deleted", t.key, deleted), "_rows": rows}


def file_names(world: World, rows: np.ndarray) -> np.ndarray:
    """`{UPN or person_id}_{DOC_TYPE}_{yyyymmdd}.pdf` - or what a hurried officer typed instead."""
    d, p = world.send.documents, world.send.persons
    named_for = np.where(world.document_misfiled_to[rows] >= 0, world.document_misfiled_to[rows], d.person[rows])
    filed = d.filed[rows]
    state = np.where(p.upn_day[named_for] <= filed, p.upn_state[named_for], UPN_NONE)
    upns = upn_values(state, p.upn_other[named_for], p.upn_la[named_for], p.child[named_for])
    idents = np.where(upns == None, world.person_id[named_for].astype(str), upns)  # noqa: E711
    ymd = np.char.replace(iso(filed).astype(str), "-", "").tolist()
    types = DOC_TYPE_NAMES[d.doc_type[rows]].tolist()
    out = np.array([f"{i}_{t}_{y}.pdf" for i, t, y in zip(idents.tolist(), types, ymd, strict=True)], dtype=object)
    for i in np.flatnonzero(d.style[rows]).tolist():  # the few that break the convention
        person = named_for[i]
        out[i] = document_file_name(idents[i], types[i], from_day(filed[i]), int(d.style[rows[i]]),
                                    p.surname[person], p.forename[person])
    return out


def document_file_name(ident: str, doc_type: str, filed: date, style: int, surname: str, forename: str) -> str:
    ymd = filed.strftime("%Y%m%d")
    if style == 0:
        return f"{ident}_{doc_type}_{ymd}.pdf"
    words = doc_type.replace("_", " ").lower()
    return {
        1: f"Scan_{filed.strftime('%Y-%m-%d')}_{filed.day:02d}{filed.month:02d}.pdf",
        2: f"{ident} {doc_type} {ymd}.pdf",
        3: f"{ident}_{doc_type}_{filed.strftime('%d-%m-%Y')}.pdf",
        4: f"{ident}_{words}_{ymd}.pdf",
        5: f"{ident}_{doc_type}_{ymd}.docx",
        6: f"{doc_type}_{ymd}.pdf",
        7: f"{surname} {forename} - {words}.pdf",
    }[style]


def _stamp(world: World, table: str, keys: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Naive local timestamps (None where the day is NEVER) as (day, seconds) pairs packed in int64."""
    days = np.asarray(days, dtype=np.int64)
    secs = world.seconds(table, keys, days)
    return np.where((days < NEVER) & (days > -NEVER), days * 86_400 + secs, -1)


# --- writing ------------------------------------------------------------------------------------

def write(world: World, night: int, out: Path, url: str | None) -> dict[str, int]:
    """Write the casework tables after `night` to SQLite at `out` (atomically) or to `url`.

    Tables are created with SQLAlchemy Core (dropped first when they exist). Rows go in through
    the driver in batches, with dates and timestamps already as the ISO text SQLAlchemy itself
    stores in SQLite, so no per-value Python date objects are built: a country's casework is
    tens of millions of rows. PostgreSQL gets the same text through COPY, several times faster
    than executemany.
    """
    counts: dict[str, int] = {}
    if url:
        engine = sa.create_engine(url)
        target = None
    else:
        target = out / "casework.sqlite"
        tmp = out / "casework.sqlite.tmp"
        tmp.unlink(missing_ok=True)
        engine = sa.create_engine(f"sqlite:///{tmp}")
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA journal_mode=OFF")
                conn.exec_driver_sql("PRAGMA synchronous=OFF")
            METADATA.drop_all(conn)
            METADATA.create_all(conn)
            for name, cols in project(world, night):
                table = METADATA.tables[name]
                if engine.dialect.name == "postgresql":
                    _copy_postgres(conn, table, cols)
                else:
                    _insert(conn, table, cols)
                counts[name] = counts.get(name, 0) + len(cols["_rows"])
    finally:
        engine.dispose()
    if target is not None:
        os.replace(tmp, target)
    return counts


def _values(table: sa.Table, cols: dict[str, np.ndarray], lo: int, hi: int) -> list[list]:
    """Column slices as driver values: dates and timestamps as ISO text, numbers as int, else str/None."""
    out = []
    for column in table.columns:
        values = cols[column.name][lo:hi]
        if isinstance(column.type, sa.DateTime):
            out.append(_timestamps(values))
        elif isinstance(column.type, sa.Date):
            out.append(iso(values).tolist())
        elif values.dtype == object:
            out.append([v if v is None or isinstance(v, str) else int(v) for v in values.tolist()])
        else:
            out.append(values.tolist())
    return out


def _timestamps(packed: np.ndarray) -> list[str | None]:
    """'YYYY-MM-DD HH:MM:SS.000000' (SQLAlchemy's SQLite format) from day*86400+seconds; None for -1."""
    packed = np.asarray(packed, dtype=np.int64)
    days, secs = np.divmod(np.maximum(packed, 0), 86_400)
    dates, clocks = iso(days).tolist(), _CLOCKS[secs].tolist()
    return [None if p < 0 else f"{d} {c}.000000" for p, d, c in zip(packed.tolist(), dates, clocks, strict=True)]


def _insert(conn: sa.Connection, table: sa.Table, cols: dict[str, np.ndarray]) -> None:
    names = [c.name for c in table.columns]
    statement = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    n = len(cols["_rows"])
    for lo in range(0, n, BATCH):
        conn.exec_driver_sql(statement, list(zip(*_values(table, cols, lo, min(n, lo + BATCH)), strict=True)))


def _copy_postgres(conn: sa.Connection, table: sa.Table, cols: dict[str, np.ndarray]) -> None:
    raw = conn.connection.driver_connection
    names = [c.name for c in table.columns]
    n = len(cols["_rows"])
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for lo in range(0, n, BATCH):
            for row in zip(*_values(table, cols, lo, min(n, lo + BATCH)), strict=True):
                copy.write_row(row)
