"""The collection a return is for: year, period of activity and the January reference date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

FIRST_PERSON_LEVEL_YEAR = 2023  # SEN2 has been person-level since 2023


@dataclass(frozen=True)
class Collection:
    year: int  # the collection year YYYY (submitted in January YYYY)
    la: str  # the council's three-digit LA number
    period_start: date  # 1 January YYYY-1: activity is counted from here...
    period_end: date  # ...to 31 December YYYY-1
    reference_date: date  # plans maintained on this January day are the active plans


def third_thursday_of_january(year: int) -> date:
    """SEN2's reference date: the third Thursday of January (18 Jan 2024, 16 Jan 2025) [U]."""
    first = date(year, 1, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(days=14)


def collection(year: int, la: str) -> Collection:
    if year < FIRST_PERSON_LEVEL_YEAR:
        raise ValueError(f"SEN2 is person-level from {FIRST_PERSON_LEVEL_YEAR}; {year} is not supported")
    if len(la) != 3 or not la.isdigit():
        raise ValueError(f"LA number must be three digits, got {la!r}")
    return Collection(year, la, date(year - 1, 1, 1), date(year - 1, 12, 31), third_thursday_of_january(year))
