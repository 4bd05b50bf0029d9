"""`send-warehouse backfill`'s manners: bad ranges and missing sources are refused before any night runs."""

from __future__ import annotations

from send_warehouse.cli import main


def test_a_range_that_ends_before_it_starts_is_refused(capsys):
    assert main(["backfill", "--from", "2026-11-24", "--to", "2026-11-20"]) == 2
    assert "before --from" in capsys.readouterr().err


def test_backfill_without_sources_says_what_to_set(capsys):
    assert main(["backfill", "--from", "2026-11-20", "--to", "2026-11-24"]) == 2
    assert "CASEWORK_DB_URL" in capsys.readouterr().err
