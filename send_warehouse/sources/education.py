"""Education and placements system: the nightly CSV drop.

The drop folder holds one sub-folder per night (`YYYY-MM-DD`) with full snapshots of three
files and an empty `_SUCCESS` marker written when the export finished. For logical date D we
load the newest folder dated on or before D that has its marker.

Files are Windows-1252, CRLF, comma-separated, double-quote quoting, dates dd/mm/yyyy, header
capitalisation and spacing varying by release. The exporter writes one record per physical
line, so each line is a record: a stray quote spoils one line, not the rest of the file.

Speed: the file's bytes go to PostgreSQL's COPY in blocks, unparsed by Python, with the server
decoding Windows-1252 and parsing dd/mm/yyyy (DateStyle DMY). A block that COPY rejects (or
that loads fewer rows than it has lines) is rolled back to its savepoint and redone line by line
in Python, which quarantines each bad line with its reason and loads the rest.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psycopg

from send_warehouse.landing.night import NightLoad, ObjectLoad
from send_warehouse.landing.tables import RawTable, table
from send_warehouse.sources import SourceError

SOURCE = "education"
SUCCESS_MARKER = "_SUCCESS"
BLOCK_BYTES = 4 << 20

# The vendor's header names, normalised (lower case, letters and digits only), to raw columns.
FILES: dict[str, dict[str, str]] = {
    "pupils.csv": {
        "pupilref": "pupil_ref", "upn": "upn", "uln": "uln", "legalforename": "legal_forename",
        "legalsurname": "legal_surname", "dob": "dob", "gender": "gender", "postcode": "postcode",
        "senprovision": "sen_provision",
    },
    "placements.csv": {
        "placementid": "placement_id", "pupilref": "pupil_ref", "urn": "urn", "settingcode": "setting_code",
        "startdate": "start_date", "enddate": "end_date", "endreason": "end_reason",
        "hoursperweek": "hours_per_week", "isdualregistration": "is_dual_registration",
    },
    "establishments.csv": {
        "urn": "urn", "name": "name", "type": "type", "phase": "phase", "lacode": "la_code",
    },
}
RAW_TABLE = {"pupils.csv": "pupils", "placements.csv": "placements", "establishments.csv": "establishments"}
_FOLDER_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# PostgreSQL names the refused line in the error's context: "COPY pupils, line 1234, column dob: …".
_COPY_LINE = re.compile(r"\bline (\d+)\b")
# With ON_ERROR ignore and LOG_VERBOSITY verbose, COPY names each line it skipped in a notice.
_SKIPPED_LINE = re.compile(r"skipping row due to data type incompatibility at line (\d+)\b")
# Bytes Windows-1252 leaves undefined, and NUL, which PostgreSQL text cannot hold.
_NOT_WINDOWS_1252 = re.compile(rb"[\x00\x81\x8d\x8f\x90\x9d]")


def normalise_header(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.strip().lower())


def find_night(drop_dir: Path | None, logical_date: date) -> tuple[Path, list[str]]:
    """The newest complete night folder dated on or before `logical_date`, and notes on skipped ones."""
    if drop_dir is None:
        raise SourceError(SOURCE, "EDUCATION_DROP_DIR is not set", "set EDUCATION_DROP_DIR to the nightly drop folder")
    if not drop_dir.is_dir():
        raise SourceError(SOURCE, f"the drop folder {drop_dir} does not exist or is not a folder",
                          "check EDUCATION_DROP_DIR and that the share is mounted")
    notes = []
    nights = sorted((p for p in drop_dir.iterdir() if p.is_dir() and _FOLDER_NAME.match(p.name)), reverse=True)
    for night in nights:
        try:
            night_date = date.fromisoformat(night.name)
        except ValueError:
            continue
        if night_date > logical_date:
            continue
        if (night / SUCCESS_MARKER).exists():
            # The export of the evening before is the normal case; older than that is stale.
            if night_date < logical_date - timedelta(days=1):
                notes.append(f"newest complete night is {night.name}, before the logical date {logical_date}")
            return night, notes
        notes.append(f"{night.name} has no {SUCCESS_MARKER} marker (export unfinished): not loaded")
    raise SourceError(
        SOURCE,
        f"no complete night folder (with {SUCCESS_MARKER}) dated on or before {logical_date} in {drop_dir}"
        + (f" ({'; '.join(notes)})" if notes else ""),
        "check the education system's export job finished; rerun this night once _SUCCESS is present",
    )


@dataclass
class Header:
    columns: list[str]  # raw column per field position (None-free: unknown fields map to "")
    unknown: list[str]

    @property
    def copyable(self) -> bool:
        return not self.unknown


def read_header(path: Path, raw: RawTable, expected: dict[str, str]) -> tuple[Header, int]:
    """Map the header row onto raw columns; returns the header and its length in bytes."""
    with path.open("rb") as f:
        first = f.readline()
    if not first.strip():
        raise SourceError(SOURCE, f"{path.name} is empty (no header row)",
                          "check the export; rerun the night when the file is complete")
    text = first.decode("cp1252", errors="replace").lstrip("\ufeff").lstrip("ï»¿")
    fields = next(csv.reader([text.rstrip("\r\n")]))
    columns, unknown = [], []
    for name in fields:
        key = normalise_header(name)
        if key in expected:
            columns.append(expected[key])
        else:
            columns.append("")
            unknown.append(name.strip())
    missing = [vendor for vendor, col in expected.items() if col not in columns]
    if missing:
        raise SourceError(
            SOURCE,
            f"{path.parent.name}/{path.name} is missing column(s) {', '.join(missing)} (header: {fields})",
            "the education system's export layout changed; restore the columns or update the contract",
        )
    duplicated = {c for c in columns if c and columns.count(c) > 1}
    if duplicated:
        raise SourceError(SOURCE, f"{path.name} names column(s) {sorted(duplicated)} twice",
                          "fix the export header")
    return Header(columns, unknown), len(first)


_KIND_WORDS = {"date": "a valid date (dd/mm/yyyy)", "bigint": "a whole number", "numeric": "a number"}


class CsvLoader:
    """Loads one education file into its raw table."""

    def __init__(self, load: ObjectLoad, path: Path, header: Header, header_bytes: int) -> None:
        self.load = load
        self.path = path
        self.header = header
        self.header_bytes = header_bytes
        kinds = dict(load.table.columns)
        self.known = [(i, c) for i, c in enumerate(header.columns) if c]
        self.known_kinds = [(c, kinds[c]) for _, c in self.known]

    def run(self) -> None:
        line_no = 2  # physical line number of the next record (the header is line 1)
        with self.path.open("rb") as f:
            f.seek(self.header_bytes)
            carry = b""
            while True:
                chunk = f.read(BLOCK_BYTES)
                data = carry + chunk
                if not chunk:
                    if data:
                        line_no = self._block(data, line_no)
                    break
                cut = data.rfind(b"\n")
                if cut < 0:
                    carry = data
                    continue
                block, carry = data[: cut + 1], data[cut + 1 :]
                line_no = self._block(block, line_no)

    def _block(self, block: bytes, first_line: int) -> int:
        lines = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
        if not self.header.copyable:
            self._line_by_line(block, first_line)
            return first_line + lines
        # Lines COPY would refuse for their shape go to Python at once, and the runs between
        # them to COPY: each would otherwise cost a failed COPY of its run (a stray quote even
        # makes COPY read on into the next lines, and a bad byte fails it without naming the
        # line). Every other line is parsed by COPY on its own, whichever run it is in.
        start, line = 0, first_line
        for begin, end in _suspect_lines(block, len(self.header.columns)):
            if begin > start:
                run = block[start:begin]
                run_lines = run.count(b"\n")
                self._copy_segment(run, line, run_lines)
                line += run_lines
            self._line_by_line(block[begin:end], line)
            start, line = end, line + 1
        if start < len(block):
            self._copy_segment(block[start:], line, first_line + lines - line)
        return first_line + lines

    def _copy_segment(self, segment: bytes, first_line: int, lines: int) -> None:
        """COPY a run of whole lines; when COPY names the line it refused, COPY the lines before it,
        redo that one line in Python and go on after it, so one bad line costs one re-send of
        the lines before it rather than the whole block in Python."""
        failed_at, skipped = self._try_copy(segment, lines)
        if failed_at is None:
            # COPY loaded the segment but for values it could not read (ON_ERROR ignore): judge
            # those lines in Python, which quarantines each with its reason.
            self.load.count_read(lines - len(skipped))
            if skipped:
                parts = segment.split(b"\n")
                for number in skipped:
                    self._line_by_line(parts[number - 1] + b"\n", first_line + number - 1)
            return
        if failed_at == 0 or failed_at > lines:
            # A stray quote makes COPY read on to the end of the segment, and an undecodable byte
            # may be reported without a line: look for the line itself.
            failed_at = _first_suspect_line(segment)
        if failed_at == 0:
            self._line_by_line(segment, first_line)  # nothing to go on: the slow, sure path
            return
        starts = [0]  # byte offsets where lines 1 .. failed_at + 1 begin
        for _ in range(failed_at):
            newline = segment.find(b"\n", starts[-1])
            starts.append(len(segment) if newline < 0 else newline + 1)
        before, bad, after = segment[: starts[-2]], segment[starts[-2] : starts[-1]], segment[starts[-1] :]
        if before:
            self._copy_segment(before, first_line, failed_at - 1)
        self._line_by_line(bad, first_line + failed_at - 1)
        if after:
            self._copy_segment(after, first_line + failed_at, lines - failed_at)

    def _try_copy(self, segment: bytes, lines: int) -> tuple[int | None, list[int]]:
        """(None, lines COPY skipped for an unreadable value) when the segment loaded; else
        (the 1-based line COPY refused, or 0 when it named none, []).

        Values a column cannot read (a date that does not exist, a number that is not one) are
        skipped by COPY itself (ON_ERROR ignore), which names each skipped line in a notice, so
        they cost no failed COPY; the shape of a line (its fields, its bytes) still fails it."""
        conn = self.load.conn
        statement = self.load.copy_statement(
            self.header.columns, "(format csv, encoding 'WIN1252', on_error ignore, log_verbosity verbose)")
        skipped: list[int] = []

        def notice(diag: psycopg.errors.Diagnostic) -> None:
            match = _SKIPPED_LINE.match(diag.message_primary or "")
            if match:
                skipped.append(int(match.group(1)))

        conn.add_notice_handler(notice)
        try:
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy(statement) as copy:
                    copy.write(segment)
                if cur.rowcount + len(skipped) != lines:
                    # A stray quote joined lines into one record without an error: find it line by line.
                    raise _Redo()
        except _Redo:
            return 0, []
        # Class 22 covers every way COPY refuses data: field counts, encoding, dates, numbers.
        except (psycopg.errors.DataError, psycopg.errors.ProgramLimitExceeded) as e:
            match = _COPY_LINE.search(e.diag.context or "")
            return (int(match.group(1)) if match else 0), []
        finally:
            conn.remove_notice_handler(notice)
        return None, sorted(skipped)

    def _line_by_line(self, block: bytes, first_line: int) -> None:
        good: list[tuple[int, str, list]] = []
        expected_fields = len(self.header.columns)
        label = f"{self.path.parent.name}/{self.path.name}"
        lines = block.split(b"\n")
        if not lines[-1]:
            lines.pop()  # the empty tail after the block's last newline
        for offset, raw_line in enumerate(lines):
            line_no = first_line + offset
            where = f"{label}:{line_no}"
            line = raw_line.rstrip(b"\r")
            printable = line.decode("cp1252", errors="replace")
            if not line.strip():
                self.load.quarantine(where, printable, "blank line")
                continue
            try:
                text = line.decode("cp1252")
            except UnicodeDecodeError as e:
                self.load.quarantine(where, printable, f"byte 0x{line[e.start]:02x} is not valid Windows-1252")
                continue
            if "\x00" in text:
                self.load.quarantine(where, text, "contains a NUL byte")
                continue
            try:
                fields = next(csv.reader([text], strict=True))
            except csv.Error as e:
                self.load.quarantine(where, text, f"malformed CSV ({e}); check for a stray quote")
                continue
            if len(fields) != expected_fields:
                self.load.quarantine(where, text, f"expected {expected_fields} fields, found {len(fields)}")
                continue
            good.append((line_no, text, [fields[i] or None for i, _ in self.known]))
        self._copy_checked(self._valid_rows(good, label), label)

    def _valid_rows(self, rows: list[tuple[int, str, list]], label: str) -> list[tuple[int, tuple]]:
        """Quarantine rows with values the warehouse cannot read.

        PostgreSQL judges every value, exactly as COPY does on the fast path (same parser, same
        DateStyle), so a line's fate never depends on which path its block took.
        """
        verdicts: dict[tuple[str, str], bool] = {}
        for kind in {k for _, k in self.known_kinds if k != "text"}:
            values = sorted({row[i] for _, _, row in rows for i, (_, k) in enumerate(self.known_kinds)
                             if k == kind and row[i] is not None})
            if values:
                checked = self.load.conn.execute(
                    "select v, pg_input_is_valid(v, %s) from unnest(%s::text[]) v", (kind, values)
                ).fetchall()
                verdicts.update({(kind, v): ok for v, ok in checked})
        valid = []
        for line_no, text, row in rows:
            problems = [
                f"{column}: '{value}' is not {_KIND_WORDS.get(kind, kind)}"
                for (column, kind), value in zip(self.known_kinds, row, strict=True)
                if kind != "text" and value is not None and not verdicts[(kind, value)]
            ]
            if problems:
                self.load.quarantine(f"{label}:{line_no}", text, "; ".join(problems))
            else:
                valid.append((line_no, tuple(row)))
        return valid

    def _copy_checked(self, good: list[tuple[int, tuple]], label: str) -> None:
        """COPY the converted rows; if the server still refuses, find the culprits one by one."""
        if not good:
            return
        conn = self.load.conn
        statement = self.load.copy_statement([c for _, c in self.known])
        try:
            with conn.transaction(), conn.cursor() as cur, cur.copy(statement) as copy:
                for _, row in good:
                    copy.write_row(row)
            self.load.count_read(len(good))
            return
        except psycopg.errors.DataError:
            pass
        for line_no, row in good:
            try:
                with conn.transaction(), conn.cursor() as cur, cur.copy(statement) as copy:
                    copy.write_row(row)
                self.load.count_read(1)
            except psycopg.errors.DataError as e:
                reason = f"refused by the warehouse: {e.diag.message_primary}"
                self.load.quarantine(f"{label}:{line_no}", repr(row), reason)


def _first_suspect_line(segment: bytes) -> int:
    """1-based number of the first line with an odd number of quotes or a byte that is not
    Windows-1252 (or NUL); 0 when there is none."""
    suspects = []
    bad_byte = _NOT_WINDOWS_1252.search(segment)
    if bad_byte:
        suspects.append(segment.count(b"\n", 0, bad_byte.start()) + 1)
    for number, line in enumerate(segment.split(b"\n"), start=1):
        if suspects and number >= suspects[0]:
            break
        if line.count(b'"') % 2:
            suspects.append(number)
            break
    return min(suspects, default=0)


def _suspect_lines(block: bytes, fields: int) -> list[tuple[int, int]]:
    """(start, end) byte spans, in order, of the lines COPY would refuse for their shape: a
    byte that is not Windows-1252 (or NUL), an odd number of quotes, or, in a line without
    quotes, a number of commas that does not give `fields` fields."""
    spans = set()
    for match in _NOT_WINDOWS_1252.finditer(block):
        spans.add(_line_span(block, match.start()))
    position = block.find(b'"')
    while position >= 0:
        start, end = _line_span(block, position)
        if block.count(b'"', start, end) % 2:
            spans.add((start, end))
        position = block.find(b'"', end)
    commas = fields - 1
    start = 0
    for line in block.split(b"\n"):
        end = start + len(line) + 1
        if line.count(b",") != commas and b'"' not in line and start < len(block):
            spans.add((start, min(end, len(block))))
        start = end
    return sorted(spans)


def _line_span(block: bytes, position: int) -> tuple[int, int]:
    """The bytes of the line holding `position`, with its newline."""
    start = block.rfind(b"\n", 0, position) + 1
    end = block.find(b"\n", position)
    return start, len(block) if end < 0 else end + 1


class _Redo(Exception):
    pass


def preflight(drop_dir: Path | None, logical_date: date) -> Path:
    """Fail fast, naming the problem, before the night's transaction opens."""
    night, _ = find_night(drop_dir, logical_date)
    for name, expected in FILES.items():
        path = night / name
        if not path.is_file():
            raise SourceError(SOURCE, f"{night.name}/{name} is missing", "check the export; rerun when it is present")
        read_header(path, table(SOURCE, RAW_TABLE[name]), expected)
    return night


def land(night_load: NightLoad, drop_dir: Path | None, logical_date: date) -> None:
    """Land the three files of the newest complete night on or before `logical_date`."""
    night, notes = find_night(drop_dir, logical_date)
    night_load.conn.execute("set local datestyle = 'ISO, DMY'")
    for name, expected in FILES.items():
        path = night / name
        if not path.is_file():
            raise SourceError(SOURCE, f"{night.name}/{name} is missing", "check the export; rerun when it is present")
        raw = table(SOURCE, RAW_TABLE[name])
        before = _identity(path)
        header, header_bytes = read_header(path, raw, expected)
        with night_load.object(raw, f"{night.name}/{name}") as load:
            for note in notes:
                load.note(note)
            if header.unknown:
                load.note(f"unexpected column(s) ignored: {', '.join(header.unknown)}")
            CsvLoader(load, path, header, header_bytes).run()
            # The header and the body are read through separate opens: a file the vendor's job
            # replaced or rewrote meanwhile would land half of one export and half of another.
            if _identity(path) != before:
                raise SourceError(SOURCE, f"{night.name}/{name} changed while it was being read",
                                  "the export was still being written or was replaced; rerun the night")


def _identity(path: Path) -> tuple[int, int, int, int]:
    """What tells one version of a file from another: device, inode, size, modification time."""
    st = path.stat()
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


__all__ = ["find_night", "land", "preflight", "normalise_header"]
