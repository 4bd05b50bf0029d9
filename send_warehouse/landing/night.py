"""One source's landing for one night, in one transaction.

A source lands whole or not at all: if any object fails, nothing of that source is written for
the night, and the previous nights stay as they were. Each object's rows go into its raw table's
partition for the night, created in this transaction (landing.partitions). Rerunning a logical
date replaces that date's raw rows (never adds to them): its partitions are dropped and created
again; the audit rows of the same run and object are replaced too, so a retried task leaves one
set of books.

For every object: rows_read = rows_loaded + rows_quarantined, checked here against the table
itself before commit, and enforced again by a CHECK constraint on audit.load_log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import psycopg
from psycopg import sql

from send_warehouse.landing.partitions import create_night_partition, drop_night, index_night
from send_warehouse.landing.tables import RawTable, tables_of

log = logging.getLogger(__name__)

# Big enough to amortise round trips, small enough to keep memory flat.
QUARANTINE_FLUSH = 5_000


@dataclass
class ObjectResult:
    source_system: str
    object: str
    table: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "source_system": self.source_system,
            "object": self.object,
            "table": self.table,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "seconds": round(((self.finished_at or self.started_at) - self.started_at).total_seconds(), 3),
            "messages": self.messages,
        }


class BooksDoNotBalance(RuntimeError):
    pass


class ObjectLoad:
    """Writes one source object (table, file or endpoint) into its raw table for the night."""

    def __init__(self, night: NightLoad, table: RawTable, source_object: str, partition: sql.Identifier) -> None:
        self.night = night
        self.table = table
        # Every statement of the object addresses the night's partition itself.
        self.partition = partition
        self.result = ObjectResult(night.source_system, source_object, table.qualified_name)
        self._quarantine: list[tuple[str, str, str]] = []

    @property
    def conn(self) -> psycopg.Connection:
        return self.night.conn

    def copy_statement(self, columns: Iterable[str] | None = None, options: str = "") -> sql.Composed:
        cols = list(columns) if columns is not None else list(self.table.column_names)
        return sql.SQL("copy {} ({}) from stdin {}").format(
            self.partition,
            sql.SQL(", ").join(sql.Identifier(c) for c in cols),
            sql.SQL(options),
        )

    def copy_rows(self, rows: Iterable[Sequence], types: list[str] | None = None) -> int:
        """COPY already-converted rows (one value per raw column, in catalogue order); in binary
        when `types` names the PostgreSQL type of each column (values exactly of those types).

        Frozen: the partition was created in this (sub)transaction, which is what PostgreSQL
        asks of COPY FREEZE, so the rows need no hint bits set or freezing after commit. (A COPY
        inside a savepoint of its own, as education's are, may not freeze.)"""
        count = 0
        options = "(format binary, freeze)" if types else "(freeze)"
        with self.conn.cursor() as cur, cur.copy(self.copy_statement(options=options)) as copy:
            if types:
                copy.set_types(types)
            for row in rows:
                copy.write_row(row)
                count += 1
        self.result.rows_read += count
        self.result.rows_loaded += count
        return count

    def count_read(self, n: int) -> None:
        """Rows read from the source that were loaded by a bulk path counting them itself."""
        self.result.rows_read += n
        self.result.rows_loaded += n

    def quarantine(self, line_or_key: str, raw_record: str, reason: str) -> None:
        """Reject one source row: it is counted as read and kept, with the reason, in the audit."""
        self.result.rows_read += 1
        self.result.rows_quarantined += 1
        self._quarantine.append((line_or_key, raw_record, reason))
        if len(self._quarantine) >= QUARANTINE_FLUSH:
            self._flush_quarantine()

    def note(self, message: str) -> None:
        log.warning("%s %s: %s", self.night.source_system, self.result.object, message)
        self.result.messages.append(message)

    def _flush_quarantine(self) -> None:
        if not self._quarantine:
            return
        night = self.night
        with self.conn.cursor() as cur, cur.copy(
            "copy audit.quarantine (run_id, source_system, object, logical_date, line_or_key, raw_record, reason)"
            " from stdin"
        ) as copy:
            for line_or_key, raw_record, reason in self._quarantine:
                # PostgreSQL text cannot hold NUL bytes; keep the rest of the record as received.
                copy.write_row((night.run_id, night.source_system, self.result.object, night.logical_date,
                                line_or_key, raw_record.replace("\x00", "\\x00"), reason))
        self._quarantine.clear()

    def _key_label(self, prefix: str = "r.") -> sql.Composable:
        """`key=value` text for quarantine's line_or_key, built in SQL."""
        parts = [
            sql.SQL("{} || '=' || coalesce({}{}::text, '')").format(
                sql.Literal(k), sql.SQL(prefix), sql.Identifier(k)
            )
            for k in self.table.key
        ]
        return sql.SQL(" || ' ' || ").join(parts)

    def _move_to_quarantine(self, where: sql.Composable, reason: sql.Composable) -> int:
        """Delete this night's rows matching `where` from the raw table into the quarantine."""
        night = self.night
        lineage = {"_run_id", "_logical_date", "_source_object", "_loaded_at", "_row_hash"}
        cols = [c for c in self.table.column_names if c not in lineage]
        query = sql.SQL(
            """
            with moved as (
                delete from {table} r
                where r._logical_date = {day} and r._source_object = {obj} and ({where})
                returning r.*
            )
            insert into audit.quarantine
                (run_id, source_system, object, logical_date, line_or_key, raw_record, reason)
            select {run}, {system}, {obj}, {day}, {label}, json_build_object({pairs})::text, {reason}
            from moved r
            """
        ).format(
            table=self.partition,
            day=sql.Literal(night.logical_date),
            obj=sql.Literal(self.result.object),
            where=where,
            run=sql.Literal(night.run_id),
            system=sql.Literal(night.source_system),
            label=self._key_label(),
            pairs=sql.SQL(", ").join(
                sql.SQL("{}, r.{}").format(sql.Literal(c), sql.Identifier(c)) for c in cols
            ),
            reason=reason,
        )
        with self.conn.cursor() as cur:
            cur.execute(query)
            moved = cur.rowcount
        self.result.rows_loaded -= moved
        self.result.rows_quarantined += moved
        return moved

    def reject_duplicates(self) -> None:
        """Exact duplicate rows keep one copy; for snapshot objects a key given twice with
        different values is ambiguous, so every row of that key is quarantined for a person to
        resolve (keeping one would be a guess, and a different guess on a rerun).

        Only rows whose key is blank or given more than once can be any of these (exact
        duplicates share their key), so one hash aggregate over the key finds them, and the
        three checks look at those rows alone rather than sorting the whole night."""
        keys = sql.SQL(", ").join(sql.Identifier(k) for k in self.table.key)
        night = self.night
        this_night = sql.SQL("_logical_date = {} and _source_object = {}").format(
            sql.Literal(night.logical_date), sql.Literal(self.result.object))
        table = self.partition
        # A key of spaces only is as blank as a missing one.
        null_key = sql.SQL(" or ").join(sql.SQL("r.{k} is null or btrim(r.{k}::text) = ''").format(k=sql.Identifier(k))
                                        for k in self.table.key)
        self.conn.execute("drop table if exists pg_temp.landing_suspects")
        # The repeated keys are joined, not tested with `in (…)` beside an `or`: that stays a
        # subplan, and when the planner expects more repeated keys than fit in work_mem (as at
        # England's 12.9 M documents) it is not hashed and every row rescans the list.
        self.conn.execute(sql.SQL(
            "create temp table landing_suspects on commit drop as"
            " select r.ctid as row_ctid from {t} r where {n} and ({null_key})"
            " union all"
            " select r.ctid from {t} r join (select {keys} from {t} where {n} group by {keys} having count(*) > 1)"
            " repeated using ({keys}) where {n} and not ({null_key})"
        ).format(t=table, n=this_night, null_key=null_key, keys=keys))
        if not self.conn.execute("select exists (select from pg_temp.landing_suspects)").fetchone()[0]:
            return
        suspects = sql.SQL("ctid = any (array(select row_ctid from pg_temp.landing_suspects))")
        self._move_to_quarantine(
            sql.SQL(
                "r.ctid in (select ctid from (select ctid, row_number() over (partition by _row_hash order by ctid) n"
                " from {t} where {n} and {s}) x where n > 1)"
            ).format(t=table, n=this_night, s=suspects),
            sql.Literal("exact duplicate of another row in the same extract; one copy kept"),
        )
        self._move_to_quarantine(
            sql.SQL("({}) and r.{}").format(null_key, suspects),
            sql.SQL("{} || ' is blank: every row needs its key'").format(sql.Literal("/".join(self.table.key))),
        )
        if self.table.load_mode == "snapshot":
            self._move_to_quarantine(
                sql.SQL("r.{s} and ({keys}) in (select {keys} from {t} where {n} and {s}"
                        " group by {keys} having count(*) > 1)").format(keys=keys, t=table, n=this_night, s=suspects),
                sql.SQL("{} || ' appears more than once with different values; fix the duplicate in the source'")
                .format(self._key_label()),
            )

    def finish(self) -> ObjectResult:
        self._flush_quarantine()
        # The partition is new: without statistics the planner takes it for empty and the
        # duplicate checks below turn quadratic.
        self.conn.execute(sql.SQL("analyze {}").format(self.partition))
        self.reject_duplicates()
        index_night(self.conn, self.table, self.night.logical_date)
        result = self.result
        night = self.night
        # Verify against the tables rather than trusting the counters.
        landed = self.conn.execute(
            sql.SQL("select count(*) from {} where _logical_date = %s and _source_object = %s").format(
                self.partition),
            (night.logical_date, result.object),
        ).fetchone()[0]
        quarantined = self.conn.execute(
            "select count(*) from audit.quarantine where run_id = %s and source_system = %s and object = %s",
            (night.run_id, night.source_system, result.object),
        ).fetchone()[0]
        if (landed, quarantined) != (result.rows_loaded, result.rows_quarantined) or (
            result.rows_read != landed + quarantined
        ):
            raise BooksDoNotBalance(
                f"{night.source_system} {result.object}: read {result.rows_read}, counted loaded "
                f"{result.rows_loaded}/quarantined {result.rows_quarantined}, but the tables hold "
                f"{landed}/{quarantined}"
            )
        result.finished_at = datetime.now(UTC)
        self.conn.execute(
            """
            insert into audit.load_log (run_id, source_system, object, logical_date, rows_read, rows_loaded,
                                        rows_quarantined, started_at, finished_at, status, message)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'loaded', %s)
            """,
            (night.run_id, night.source_system, result.object, night.logical_date, result.rows_read,
             result.rows_loaded, result.rows_quarantined, result.started_at, result.finished_at,
             "; ".join(result.messages) or None),
        )
        return result


class NightLoad:
    """The landing of one source for one logical date: a single transaction."""

    def __init__(self, conn: psycopg.Connection, source_system: str, run_id: str, logical_date: date) -> None:
        self.conn = conn
        self.source_system = source_system
        self.run_id = run_id
        self.logical_date = logical_date
        self.results: list[ObjectResult] = []
        self.watermarks: dict[str, str | None] = {}

    def _clear_night(self) -> None:
        """Remove what an earlier attempt at this night left: raw rows of the date, and this run's audit."""
        # One loader of a source at a time: a second run of the same source waits here.
        self.conn.execute("select pg_advisory_xact_lock(hashtext('send_warehouse.land.' || %s))", (self.source_system,))
        for table in tables_of(self.source_system):
            drop_night(self.conn, table, self.logical_date)
        for audit_table in ("audit.quarantine", "audit.load_log"):
            self.conn.execute(
                sql.SQL("delete from {} where run_id = %s and source_system = %s").format(sql.SQL(audit_table)),
                (self.run_id, self.source_system),
            )
        self.conn.execute(
            "delete from audit.watermark where source_system = %s and logical_date = %s",
            (self.source_system, self.logical_date),
        )

    @contextmanager
    def object(self, table: RawTable, source_object: str) -> Iterator[ObjectLoad]:
        """Land one object into its table's partition for the night, created here with the
        night's lineage as constant defaults (`_loaded_at`: the transaction's time, as now()
        would give every row of it)."""
        loaded_at = self.conn.execute("select now()").fetchone()[0]
        partition = create_night_partition(self.conn, table, self.logical_date, {
            "_run_id": self.run_id, "_logical_date": self.logical_date, "_source_object": source_object,
            "_loaded_at": loaded_at})
        load = ObjectLoad(self, table, source_object, partition)
        yield load
        self.results.append(load.finish())

    def previous_watermark(self, object_name: str) -> str | None:
        """The high-water mark left by the latest night before this one (None: extract everything)."""
        row = self.conn.execute(
            """select high_watermark from audit.watermark
               where source_system = %s and object = %s and logical_date < %s
               order by logical_date desc limit 1""",
            (self.source_system, object_name, self.logical_date),
        ).fetchone()
        return row[0] if row else None

    def set_watermark(self, object_name: str, high_watermark: str | None) -> None:
        self.watermarks[object_name] = high_watermark

    def _write_watermarks(self) -> None:
        for object_name, mark in self.watermarks.items():
            self.conn.execute(
                """insert into audit.watermark (source_system, object, logical_date, high_watermark, run_id)
                   values (%s, %s, %s, %s, %s)""",
                (self.source_system, object_name, self.logical_date, mark, self.run_id),
            )


@contextmanager
def land_night(conn: psycopg.Connection, source_system: str, run_id: str, logical_date: date) -> Iterator[NightLoad]:
    """Open the night's transaction for one source; commit only if every object landed."""
    with conn.transaction():
        night = NightLoad(conn, source_system, run_id, logical_date)
        night._clear_night()
        yield night
        night._write_watermarks()


def record_failure(conn: psycopg.Connection, source_system: str, run_id: str, logical_date: date,
                   error: BaseException) -> None:
    """After a rolled-back landing, say so in the audit (outside the failed transaction)."""
    now = datetime.now(UTC)
    with conn.transaction():
        conn.execute(
            "delete from audit.load_log where run_id = %s and source_system = %s and object = '*'",
            (run_id, source_system),
        )
        conn.execute(
            """insert into audit.load_log (run_id, source_system, object, logical_date, rows_read, rows_loaded,
                                           rows_quarantined, started_at, finished_at, status, message)
               values (%s, %s, '*', %s, 0, 0, 0, %s, %s, 'failed', %s)""",
            (run_id, source_system, logical_date, now, now, str(error)[:2000]),
        )
