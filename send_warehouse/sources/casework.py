"""EHC casework system: a relational database reached by a SQLAlchemy URL.

In production a SQL Server read replica; SQLite or PostgreSQL from the simulator and fixtures.
Only portable SQLAlchemy Core is used. Tables are extracted incrementally on `updated_at`
(rows changed since the previous night's high-water mark, less a look-back), except
`cw_document`, which can be hard-deleted and so is extracted whole every night.

Values are read as the driver returns them (no SQLAlchemy type processing), so one malformed
value, e.g. an impossible date stored as text in SQLite, quarantines its row instead of
aborting the extract.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from send_warehouse.landing.night import NightLoad, ObjectLoad
from send_warehouse.landing.tables import CASEWORK, RawTable
from send_warehouse.sources import SourceError

SOURCE = "casework"
FETCH_ROWS = 10_000
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _engine(url: str | None) -> sa.Engine:
    if not url:
        raise SourceError(SOURCE, "CASEWORK_DB_URL is not set",
                          "set CASEWORK_DB_URL to the casework replica's SQLAlchemy URL")
    try:
        return sa.create_engine(url, pool_pre_ping=True)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as e:
        raise SourceError(SOURCE, f"CASEWORK_DB_URL is not a usable SQLAlchemy URL ({e})",
                          "correct CASEWORK_DB_URL (e.g. mssql+pyodbc://…, postgresql+psycopg://…, sqlite:///…)") from e


def _describe(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def _reflect(engine: sa.Engine, url: str) -> dict[str, sa.Table]:
    """Reflect the contract's tables, failing with the missing names if the schema drifted."""
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine, only=[t.name for t in CASEWORK])
    except sa.exc.InvalidRequestError as e:
        raise SourceError(SOURCE, f"casework database at {_describe(url)} lacks expected tables ({e})",
                          "check CASEWORK_DB_URL points at the casework replica") from e
    except sa.exc.OperationalError as e:
        raise SourceError(SOURCE, f"cannot reach the casework database at {_describe(url)}: {e.orig}",
                          "check the replica is up and CASEWORK_DB_URL is right; then rerun the night") from e
    tables = {}
    for raw in CASEWORK:
        reflected = metadata.tables[raw.name]
        missing = [c for c in raw.column_names if c not in reflected.c]
        if missing:
            raise SourceError(SOURCE, f"{raw.name} is missing column(s) {', '.join(missing)}",
                              "the casework schema changed; restore the columns or update the contract")
        tables[raw.name] = reflected
    return tables


def preflight(url: str | None) -> None:
    engine = _engine(url)
    try:
        _reflect(engine, url or "")
    finally:
        engine.dispose()


def _to_date(value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()[:10]
    if not _ISO_DATE.match(text):
        raise ValueError(f"'{value}' is not a date")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{value}' is not a real date") from None


def _to_timestamp(value: object) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        return datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"'{value}' is not a timestamp") from None


def _to_int(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, (float, Decimal)) and value == int(value):
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    raise ValueError(f"'{value}' is not a whole number")


def _to_text(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


_CONVERTERS = {"date": _to_date, "timestamp": _to_timestamp, "bigint": _to_int, "smallint": _to_int, "text": _to_text}
# The converted values are of exactly these types, so COPY can send them binary: the server
# then parses no text, and psycopg's binary dumpers are as cheap as its text ones.
_COPY_TYPES = {"date": "date", "timestamp": "timestamp", "bigint": "int8", "smallint": "int2", "text": "text"}


def _convert_row(raw: RawTable, values: tuple) -> tuple:
    out = []
    for (name, kind), value in zip(raw.columns, values, strict=True):
        try:
            out.append(_CONVERTERS[kind](value))
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None
    return tuple(out)


def _row_converter(raw: RawTable) -> Callable[[Sequence], list]:
    """`_convert_row` with fewer calls per value, for the values drivers usually return: text as
    str, whole numbers as int, dates and timestamps as ISO text (SQLite) or as date/datetime
    (SQL Server, PostgreSQL). Anything else, and any value that does not convert, goes through
    `_convert_row`, so the result and the wording of a bad value's error are the same."""
    kinds = [kind for _, kind in raw.columns]
    dates = [i for i, k in enumerate(kinds) if k == "date"]
    stamps = [i for i, k in enumerate(kinds) if k == "timestamp"]
    ints = [i for i, k in enumerate(kinds) if k in ("bigint", "smallint")]
    texts = [i for i, k in enumerate(kinds) if k == "text"]
    from_date, from_stamp, iso_date = date.fromisoformat, datetime.fromisoformat, _ISO_DATE.match

    def convert(values: Sequence) -> list:
        row = list(values)
        try:
            for i in dates:
                value = row[i]
                if type(value) is str and len(value) == 10 and iso_date(value):
                    row[i] = from_date(value)
                elif type(value) is datetime:
                    row[i] = value.date()
                elif value is not None and type(value) is not date:
                    raise ValueError
            for i in stamps:
                value = row[i]
                if type(value) is str and len(value) >= 10:
                    row[i] = from_stamp(value)
                elif value is not None and type(value) is not datetime:
                    raise ValueError
        except ValueError:
            return list(_convert_row(raw, values))
        for i in ints:
            value = row[i]
            if value is not None and type(value) is not int:
                return list(_convert_row(raw, values))
        for i in texts:
            value = row[i]
            if value is not None and type(value) is not str:
                return list(_convert_row(raw, values))
        return row

    return convert


def _lower_bound(night: NightLoad, raw: RawTable, full_refresh: bool, lookback: timedelta) -> datetime | None:
    if full_refresh or raw.load_mode == "snapshot":
        return None
    mark = night.previous_watermark(raw.name)
    return datetime.fromisoformat(mark) - lookback if mark else None


def _rows(conn: sa.Connection, reflected: sa.Table, raw: RawTable, since: datetime | None) -> Iterator[tuple]:
    # Untyped columns: the driver's own values, so a bad value is quarantined, not fatal.
    columns = [sa.column(name) for name in raw.column_names]
    query = sa.select(*columns).select_from(reflected)
    if since is not None:
        query = query.where(reflected.c.updated_at > since)
    query = query.order_by(*(reflected.c[k] for k in raw.key))
    result = conn.execution_options(stream_results=True, yield_per=FETCH_ROWS).execute(query)
    # A batch at a time: one fetch call per batch, not one per row.
    for batch in result.partitions():
        yield from batch


def _land_table(load: ObjectLoad, source: sa.Connection, reflected: sa.Table, raw: RawTable,
                since: datetime | None) -> datetime | None:
    """COPY one table's rows, quarantining unconvertible ones; returns the newest updated_at seen."""
    stamp_at = raw.column_names.index("updated_at") if "updated_at" in raw.column_names else None
    high: datetime | None = None
    convert = _row_converter(raw)

    def converted() -> Iterator[tuple]:
        nonlocal high
        for values in _rows(source, reflected, raw, since):
            try:
                row = convert(values)
            except ValueError as e:
                key = " ".join(f"{k}={values[raw.column_names.index(k)]}" for k in raw.key)
                record = json.dumps(dict(zip(raw.column_names, values, strict=True)), default=str)
                load.quarantine(key, record, str(e))
                continue
            if stamp_at is not None and row[stamp_at] is not None and (high is None or row[stamp_at] > high):
                high = row[stamp_at]
            yield row

    load.copy_rows(converted(), types=[_COPY_TYPES[kind] for _, kind in raw.columns])
    return high


def land(night: NightLoad, url: str | None, *, full_refresh: bool = False, lookback_minutes: int = 60) -> None:
    """Land all five casework tables for the night (inside the caller's transaction)."""
    engine = _engine(url)
    lookback = timedelta(minutes=lookback_minutes)
    reading: str | None = None  # the table being read, for the error message
    try:
        tables = _reflect(engine, url or "")
        with engine.connect() as source:
            for raw in CASEWORK:
                reading = raw.name
                since = _lower_bound(night, raw, full_refresh, lookback)
                with night.object(raw, raw.name) as load:
                    if since is not None:
                        load.note(f"incremental: rows updated after {since.isoformat(sep=' ')}")
                    high = _land_table(load, source, tables[raw.name], raw, since)
                if raw.load_mode == "incremental":
                    # No changed rows: the mark stays where it was.
                    mark = high.isoformat() if high else night.previous_watermark(raw.name)
                    night.set_watermark(raw.name, mark)
    except sa.exc.OperationalError as e:
        if "decode" in str(e.orig).lower():
            # The driver cannot read a stored value (e.g. SQLite text that is not UTF-8): the stream
            # dies before the row reaches us, so it cannot be quarantined on its own.
            raise SourceError(SOURCE, f"{reading} holds text the database driver cannot decode: {e.orig}",
                              f"fix the value's encoding in {reading}; rerun the night (nothing of it was kept)") \
                from e
        raise SourceError(SOURCE, f"lost the casework database at {_describe(url or '')} mid-extract"
                          f"{f' (reading {reading})' if reading else ''}: {e.orig}",
                          "check the replica; rerun the night (nothing of it was kept)") from e
    finally:
        engine.dispose()
