"""Day arithmetic for the simulator.

Dates are held as integers (days since 1970-01-01, like numpy's datetime64[D]) so that whole
populations can be compared and shifted with numpy. `NEVER` stands for "not (yet) happened":
it is larger than any real day, so `day <= night` tests hide future events for free.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
NEVER = 10**7  # far beyond any date the simulator writes (year ~29000)
LONDON = ZoneInfo("Europe/London")
_TABLE_START = date(1900, 1, 1).toordinal() - EPOCH_ORDINAL
_TABLE_END = date(2100, 12, 31).toordinal() - EPOCH_ORDINAL


def to_day(d: date) -> int:
    return d.toordinal() - EPOCH_ORDINAL


def from_day(day: int) -> date:
    return date.fromordinal(int(day) + EPOCH_ORDINAL)


def day_of(year: int, month: int, dom: int) -> int:
    return date(year, month, dom).toordinal() - EPOCH_ORDINAL


def next_weekday(day: int) -> int:
    wd = (day + 3) % 7
    return day + (7 - wd if wd >= 5 else 0)


def prev_weekday(day: int) -> int:
    wd = (day + 3) % 7
    return day - (wd - 4 if wd >= 5 else 0)


def add_years(day: int, years: int) -> int:
    """The same calendar day `years` later (29 February becomes 28 February)."""
    d = from_day(day)
    try:
        return to_day(d.replace(year=d.year + years))
    except ValueError:
        return to_day(d.replace(year=d.year + years, day=28))


def reception_year(dob: int) -> int:
    """Start year of reception: the school year in which the child is 4 on the 31 August before."""
    d = from_day(dob)
    return d.year + 4 if d.month <= 8 else d.year + 5


def sep1(year: int) -> int:
    return day_of(year, 9, 1)


@lru_cache(maxsize=1)
def _dmy_table() -> np.ndarray:
    start = date(1900, 1, 1)
    return np.array([(start + timedelta(days=i)).strftime("%d/%m/%Y")
                     for i in range(_TABLE_END - _TABLE_START + 1)], dtype=object)


@lru_cache(maxsize=1)
def _iso_table() -> np.ndarray:
    start = date(1900, 1, 1)
    return np.array([(start + timedelta(days=i)).isoformat()
                     for i in range(_TABLE_END - _TABLE_START + 1)], dtype=object)


def dmy(days: np.ndarray) -> np.ndarray:
    """dd/mm/yyyy strings for an array of days ('' where the day is NEVER)."""
    days = np.asarray(days, dtype=np.int64)
    out = _dmy_table()[np.clip(days - _TABLE_START, 0, _TABLE_END - _TABLE_START)]
    return np.where(days >= NEVER, "", out)


def iso(days: np.ndarray) -> np.ndarray:
    """yyyy-mm-dd strings for an array of days (None where the day is NEVER)."""
    days = np.asarray(days, dtype=np.int64)
    out = _iso_table()[np.clip(days - _TABLE_START, 0, _TABLE_END - _TABLE_START)]
    return np.where(days >= NEVER, None, out)


@lru_cache(maxsize=4096)
def london_offset(day: int) -> str:
    """The UTC offset of Europe/London at midday on `day`, as '+00:00' or '+01:00'."""
    d = from_day(day)
    offset = datetime(d.year, d.month, d.day, 12, tzinfo=LONDON).utcoffset() or timedelta(0)
    hours = int(offset.total_seconds() // 3600)
    return f"+{hours:02d}:00"


def clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
