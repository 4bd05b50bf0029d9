"""Social care: children land as the API sent them, incrementally, all or nothing."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest

from send_warehouse.config import Settings
from send_warehouse.landing.night import land_night
from send_warehouse.simulator.socialcare_api import Fault, start_server
from send_warehouse.sources import SourceError, socialcare

TOKEN = "test-token-not-a-secret"


def child(n: int, updated_at: str, **extra) -> dict:
    return {"id": f"LCS-{n:06d}", "nhs_number": None, "upn": None, "first_name": f"Child{n}", "last_name": "Test",
            "date_of_birth": "2014-05-06", "gender": "female", "postcode": None, "updated_at": updated_at,
            "involvements": [{"type": "CIN", "start_date": "2025-01-01", "end_date": None, "team": "East"}], **extra}


def write_children(folder, children) -> None:
    (folder / "socialcare").mkdir(exist_ok=True)
    lines = [json.dumps(c) for c in sorted(children, key=lambda c: str(c.get("id")))]
    (folder / "socialcare" / "children.jsonl").write_text("\n".join(lines) + "\n")


def settings_for(server) -> Settings:
    return replace(Settings.from_env(), socialcare_api_url=server.url, socialcare_api_token=TOKEN,
                   socialcare_page_size=2, socialcare_max_retries=1, socialcare_timeout_s=2,
                   incremental_lookback_minutes=0)


def land(conn, settings, day, run_id=None):
    with land_night(conn, "socialcare", run_id or f"run-{day}", day) as night:
        socialcare.land(night, settings)
    return night.results[0]


def test_children_land_as_received_and_bad_ones_are_quarantined(warehouse, tmp_path):
    children = [child(n, f"2026-11-2{n}T10:00:00+00:00") for n in range(1, 5)]
    blank = child(9, "2026-11-23T12:00:00+00:00")
    blank["id"] = "  "
    children.append(blank)
    write_children(tmp_path, children)
    with start_server(tmp_path, token=TOKEN) as server:
        result = land(warehouse, settings_for(server), date(2026, 11, 24))
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (5, 4, 1)
    payload = warehouse.execute(
        "select payload from raw_socialcare.children where id = 'LCS-000002'").fetchone()[0]
    assert payload["involvements"][0]["type"] == "CIN"
    assert warehouse.execute("select reason from audit.quarantine").fetchall() == [("child has no id",)]


def test_second_night_reads_only_children_changed_since_the_mark(warehouse, tmp_path):
    write_children(tmp_path, [child(1, "2026-11-20T10:00:00+00:00"), child(2, "2026-11-21T10:00:00+00:00")])
    with start_server(tmp_path, token=TOKEN) as server:
        settings = settings_for(server)
        land(warehouse, settings, date(2026, 11, 24))
        write_children(tmp_path, [child(1, "2026-11-20T10:00:00+00:00"), child(2, "2026-11-24T09:00:00+00:00"),
                                  child(3, "2026-11-24T11:00:00+00:00")])
        result = land(warehouse, settings, date(2026, 11, 25))
    assert result.rows_read == 2
    ids = warehouse.execute(
        "select id from raw_socialcare.children where _logical_date = '2026-11-25' order by id").fetchall()
    assert ids == [("LCS-000002",), ("LCS-000003",)]


def test_api_failing_mid_extract_lands_nothing(warehouse, tmp_path):
    write_children(tmp_path, [child(n, f"2026-11-2{n}T10:00:00+00:00") for n in range(1, 6)])
    faults = [Fault("status", page=2, status=503, times=None)]
    with start_server(tmp_path, token=TOKEN, faults=faults) as server, pytest.raises(SourceError, match="socialcare"):
        land(warehouse, settings_for(server), date(2026, 11, 24))
    assert warehouse.execute("select count(*) from raw_socialcare.children").fetchone() == (0,)
    assert warehouse.execute("select count(*) from audit.load_log").fetchone() == (0,)


def test_wrong_token_fails_at_once_without_revealing_it(warehouse, tmp_path):
    write_children(tmp_path, [child(1, "2026-11-20T10:00:00+00:00")])
    with start_server(tmp_path, token=TOKEN) as server:
        settings = replace(settings_for(server), socialcare_api_token="wrong-token-value")
        with pytest.raises(SourceError) as error:
            land(warehouse, settings, date(2026, 11, 24))
    assert "SOCIALCARE_API_TOKEN" in str(error.value)
    assert "wrong-token-value" not in str(error.value)
