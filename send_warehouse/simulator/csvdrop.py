"""The education system's nightly export format, warts included.

Windows-1252, CRLF, comma-separated, double quotes where a value needs them, dates dd/mm/yyyy, and
a header whose capitalisation and spacing change with the vendor's release. Every data row is one
physical line (no value ever holds a line break), so a malformed row damages exactly one line and
its position (`night/file:line`, the header being line 1) identifies it in `errors.csv`.

Malformed and duplicated rows are *extra* lines, copies of the row before them that the export
garbled or repeated; the genuine row is always present too, so the world's truth is unchanged by
them and a loader that quarantines them loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .hashing import label_key, uniform

HEADERS = {
    "pupils.csv": ("PupilRef", "UPN", "ULN", "LegalForename", "LegalSurname", "DOB", "Gender", "Postcode",
                   "SENProvision"),
    "placements.csv": ("PlacementId", "PupilRef", "URN", "SettingCode", "StartDate", "EndDate", "EndReason",
                       "HoursPerWeek", "IsDualRegistration"),
    "establishments.csv": ("URN", "Name", "Type", "Phase", "LACode"),
}
TEXT_COLUMNS = {"pupils.csv": (3, 4, 7), "placements.csv": (), "establishments.csv": (1,)}
DATE_COLUMNS = {"pupils.csv": (5,), "placements.csv": (4, 5), "establishments.csv": ()}
FILES = tuple(HEADERS)
HEADER_STYLES = 5
IMPOSSIBLE_DATES = ("31/02/2024", "30/02/2023", "29/02/2023", "31/04/2022", "00/05/2019", "32/01/2020",
                    "15/13/2021", "31/06/2021", "31/09/2020", "31/11/2019")
CORRUPTIONS = ("duplicated_csv_row", "field_count", "stray_quote", "impossible_date", "invalid_byte")
RATE_PER_KIND = 1 / 25_000


def header_style(seed: int, night: int) -> int:
    """The vendor release in force on a night: it changes every other night."""
    return (night + seed) // 2 % HEADER_STYLES


def styled(name: str, style: int) -> str:
    return (name, f" {name.lower()} ", name.upper(), f" {name}", name.lower())[style]


def quote(value: str) -> str:
    if "," in value or '"' in value:
        return '"' + value.replace('"', '""') + '"'
    return value


@dataclass
class DropFile:
    """One export file being written; records every line it damaged."""

    folder: Path
    name: str
    night_label: str  # the night folder's name, e.g. 2026-11-24
    seed: int
    night: int
    style: int
    rows: int = 0
    lines: int = 1
    damaged: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, record_id, detail)
    kinds: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self._file = (self.folder / self.name).open("wb")
        header = ",".join(quote(styled(h, self.style)) for h in HEADERS[self.name])
        self._file.write(header.encode("cp1252") + b"\r\n")
        self._text = TEXT_COLUMNS[self.name]
        self._dates = DATE_COLUMNS[self.name]
        self.kinds = tuple(k for k in CORRUPTIONS if (k != "impossible_date" or self._dates) and (
            k != "invalid_byte" or self.name == "pupils.csv"))
        self._key = label_key(self.seed, "csv-damage", self.night, self.name)

    def write(self, columns: list) -> None:
        """Write data rows given column by column (sequences of strings), with the night's damaged copies."""
        n = len(columns[0])
        if not n:
            return
        columns = [[quote(v) for v in col] if i in self._text else col for i, col in enumerate(columns)]
        lines = list(map(",".join, zip(*columns, strict=True)))
        first = self.rows
        numbers = first + np.arange(n)
        roll = uniform(self._key, numbers)
        kind_roll = uniform(self._key + 1, numbers)
        damaged = {}
        for i in np.flatnonzero(roll < RATE_PER_KIND * len(self.kinds)).tolist():
            damaged[i] = self.kinds[int(kind_roll[i] * len(self.kinds))]
        for k, kind in enumerate(self.kinds):  # every kind at least once per file and night
            forced = 3 + 5 * k - first
            if 0 <= forced < n:
                damaged[forced] = kind
        start = 0
        for i in sorted(damaged):
            self._file.write(("\r\n".join(lines[start:i + 1]) + "\r\n").encode("cp1252"))
            self.lines += i + 1 - start
            start = i + 1
            row = [self._unquoted(columns, c, i) for c in range(len(columns))]
            self._file.write(self._damage(row, damaged[i]) + b"\r\n")
            self.lines += 1
        if start < n:
            self._file.write(("\r\n".join(lines[start:]) + "\r\n").encode("cp1252"))
            self.lines += n - start
        self.rows += n

    def _unquoted(self, columns: list, c: int, i: int) -> str:
        value = columns[c][i]
        if c in self._text and value.startswith('"'):
            return value[1:-1].replace('""', '"')
        return value

    def close(self) -> None:
        self._file.close()

    def _line(self, row: list[str]) -> str:
        if self._text:
            row = list(row)
            for c in self._text:
                row[c] = quote(row[c])
        return ",".join(row)

    def _damage(self, row: list[str], kind: str) -> bytes:
        where = f"{self.night_label}/{self.name}:{self.lines + 1}"
        n = len(row)
        if kind == "duplicated_csv_row":
            self.damaged.append(("duplicated_csv_row", where, f"exact copy of line {self.lines}"))
            return self._line(row).encode("cp1252")
        if kind == "field_count":
            short = len(row[0]) % 2 == 0
            fields = row[:-1] if short else [*row, ""]
            self.damaged.append(("malformed_csv_row", where,
                                 f"wrong field count: {len(fields)} fields instead of {n} (copy of line "
                                 f"{self.lines})"))
            return ",".join(quote(f) if i in self._text else f for i, f in enumerate(fields)).encode("cp1252")
        if kind == "stray_quote":
            column = self._text[0] if self._text else 0
            fields = [quote(f) if i in self._text else f for i, f in enumerate(row)]
            fields[column] = '"' + row[column]
            self.damaged.append(("malformed_csv_row", where,
                                 f"stray quote opening field {column + 1} with no closing quote (copy of line "
                                 f"{self.lines})"))
            return ",".join(fields).encode("cp1252")
        if kind == "impossible_date":
            column = self._dates[len(row[0]) % len(self._dates)]
            fields = list(row)
            fields[column] = IMPOSSIBLE_DATES[len(row[0]) % len(IMPOSSIBLE_DATES)]
            self.damaged.append(("impossible_date", where,
                                 f"field {column + 1} ({HEADERS[self.name][column]}) is {fields[column]}, not a "
                                 f"real date (copy of line {self.lines})"))
            return self._line(fields).encode("cp1252")
        line = self._line(row).encode("cp1252")
        cut = line.index(b",", line.index(b",", line.index(b",") + 1) + 1) + 2  # inside field 4, the forename
        self.damaged.append(("malformed_csv_row", where,
                             f"byte 0x81 (not valid in Windows-1252) inside field 4 (copy of line {self.lines})"))
        return line[:cut] + b"\x81" + line[cut:]
