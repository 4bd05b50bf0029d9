"""Determinism and the prefix property: more nights extend history, they never rewrite it.

Same (size, seed, nights, as_of) -> byte-identical output. Same seed and first night with more
nights -> identical education folders for the shared nights, and a casework database and social
care file that equal the shorter run's state plus only changes stamped on the extra nights.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from send_warehouse.simulator import simulate

FIRST = date(2026, 11, 20)
SHORT, LONG = 2, 5  # nights
TABLES = {"cw_person": "person_id", "cw_request": "request_id", "cw_plan": "plan_id", "cw_review": "review_id"}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _db(out: Path) -> dict[str, dict[int, tuple]]:
    con = sqlite3.connect(out / "casework.sqlite")
    tables = {t: {r[0]: r for r in con.execute(f"select * from {t}")} for t in (*TABLES, "cw_document")}
    con.close()
    return tables


def _children(out: Path) -> dict[str, str]:
    lines = (out / "socialcare" / "children.jsonl").read_text(encoding="utf-8").splitlines()
    return {json.loads(line)["id"]: line for line in lines}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    out = {}
    for name, nights in (("short", SHORT), ("long", LONG)):
        out[name] = tmp_path_factory.mktemp(name)
        simulate("tiny", seed=3, out=out[name], nights=nights, as_of=FIRST + timedelta(days=nights - 1))
    return out


def test_same_arguments_give_byte_identical_files(runs, tmp_path):
    again = tmp_path / "again"
    simulate("tiny", seed=3, out=again, nights=SHORT, as_of=FIRST + timedelta(days=SHORT - 1))
    assert _files(again) == _files(runs["short"])


def test_a_different_seed_gives_a_different_world(runs, tmp_path):
    other = tmp_path / "other"
    simulate("tiny", seed=4, out=other, nights=SHORT, as_of=FIRST + timedelta(days=SHORT - 1))
    assert (other / "casework.sqlite").read_bytes() != (runs["short"] / "casework.sqlite").read_bytes()


def test_shared_nights_have_identical_education_folders(runs):
    for i in range(SHORT):
        night = (FIRST + timedelta(days=i)).isoformat()
        assert _files(runs["short"] / "education" / night) == _files(runs["long"] / "education" / night)


def test_casework_after_more_nights_only_adds_changes_stamped_on_those_nights(runs):
    short, long = _db(runs["short"]), _db(runs["long"])
    end_of_short = (FIRST + timedelta(days=SHORT)).isoformat()  # midnight after the short run's last night
    changed = 0
    for table in TABLES:
        for key, row in long[table].items():
            if row[-1] < end_of_short:
                assert short[table].get(key) == row, (table, key)
            else:
                changed += 1
                assert key not in short[table] or short[table][key][-1] < end_of_short
        assert set(short[table]) <= set(long[table])
    assert changed > 0
    errors = list(csv.DictReader((runs["long"] / "ground_truth" / "errors.csv").open(encoding="utf-8")))
    hard_deleted = {int(e["record_id"]) for e in errors if e["kind"] == "document_deleted" and "hard" in e["detail"]}
    short_docs, long_docs = short["cw_document"], long["cw_document"]
    assert set(short_docs) - set(long_docs) <= hard_deleted
    assert set(short_docs) - set(long_docs), "a document vanished between the runs' last nights"
    for key, row in long_docs.items():
        filed_at, deleted_at = row[5], row[6]
        if key not in short_docs:
            assert filed_at >= end_of_short
        elif row != short_docs[key]:  # only a soft delete on a later night
            assert row[:6] == short_docs[key][:6] and deleted_at >= end_of_short


def test_socialcare_after_more_nights_only_adds_changes_stamped_on_those_nights(runs):
    short, long = _children(runs["short"]), _children(runs["long"])
    end_of_short = FIRST + timedelta(days=SHORT)
    assert set(short) <= set(long)
    for key, line in long.items():
        stamp = json.loads(line)["updated_at"]
        if date.fromisoformat(stamp[:10]) < end_of_short:
            assert short.get(key) == line
        else:
            assert key not in short or json.loads(short[key])["updated_at"] < stamp


def test_each_night_changes_some_records_by_day(runs):
    """Rows changed on a night carry that night's date, in office hours."""
    long = _db(runs["long"])
    for i in range(SHORT, LONG):
        night = (FIRST + timedelta(days=i)).isoformat()
        stamped = [row[-1] for table in TABLES for row in long[table].values() if row[-1].startswith(night)]
        assert stamped and all("08:00:00" <= s[11:19] < "18:00:00" for s in stamped)
    latest = max(row[-1] for table in TABLES for row in long[table].values())
    assert latest[:10] == (FIRST + timedelta(days=LONG - 1)).isoformat()
