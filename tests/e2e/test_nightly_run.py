"""The real nightly DAG, end to end: simulated vendor systems, real Airflow, dbt and PostgreSQL.

Runs through the `send-warehouse run` command, as an operator would. Kept to a few meaningful
scenarios because each night takes seconds.
"""

from __future__ import annotations

import json
import os
from datetime import date

import psycopg
import pytest

from send_warehouse.cli import main
from send_warehouse.simulator import simulate
from send_warehouse.simulator.socialcare_api import start_server
from tests.unpartitioned_layout import fingerprint, layout, rebuild_unpartitioned

pytestmark = pytest.mark.e2e
TOKEN = "e2e-token-not-a-secret"
FIRST, SECOND = date(2026, 11, 23), date(2026, 11, 24)


@pytest.fixture
def sources(tmp_path, monkeypatch):
    """Tiny simulated systems, one night so far; `advance()` lets the vendor systems move on a night."""
    out = tmp_path / "sim"
    simulate(size="tiny", seed=7, out=out, nights=1, as_of=FIRST)
    server = start_server(out, token=TOKEN)
    monkeypatch.setenv("CASEWORK_DB_URL", f"sqlite:///{out / 'casework.sqlite'}")
    monkeypatch.setenv("EDUCATION_DROP_DIR", str(out / "education"))
    monkeypatch.setenv("SOCIALCARE_API_URL", server.url)
    monkeypatch.setenv("SOCIALCARE_API_TOKEN", TOKEN)

    class Sources:
        folder = out

        @staticmethod
        def advance() -> None:
            simulate(size="tiny", seed=7, out=out, nights=2, as_of=SECOND)

    yield Sources
    server.stop()


def run(capsys, as_of: date) -> tuple[int, dict]:
    code = main(["run", "--as-of", as_of.isoformat(), "--json", "--quiet"])
    out = capsys.readouterr().out
    return code, json.loads(out[out.index("{"):])


def books(url: str, run_id: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select source_system, object, rows_read, rows_loaded, rows_quarantined, status from audit.load_log"
            " where run_id = %s order by 1, 2", (run_id,)).fetchall()


def assert_injected_csv_errors_quarantined(folder, url: str, run_id: str) -> None:
    """Every damaged line the simulator wrote is quarantined at its own file and line; every
    duplicated line is quarantined as a duplicate. Nothing is lost and nothing extra is caught."""
    import csv

    with (folder / "ground_truth" / "errors.csv").open() as f:
        injected = [row for row in csv.DictReader(f) if row["source_system"] == "education"]
    damaged = {row["record_id"] for row in injected if row["kind"] in ("malformed_csv_row", "impossible_date")}
    duplicated = sum(1 for row in injected if row["kind"] == "duplicated_csv_row")
    with psycopg.connect(url) as conn:
        caught = conn.execute(
            "select line_or_key, reason from audit.quarantine where run_id = %s and source_system = 'education'",
            (run_id,)).fetchall()
    assert damaged and damaged == {key for key, reason in caught if "duplicate" not in reason}
    assert duplicated == sum(1 for _, reason in caught if reason.startswith("exact duplicate"))


def test_two_nights_and_a_rerun(sources, warehouse_url, monkeypatch, capsys):
    monkeypatch.setenv("WAREHOUSE_URL", warehouse_url)
    code, first = run(capsys, FIRST)
    assert code == 0, first
    assert set(first["sources"]) == {"casework", "education", "socialcare"}
    assert {s["stage"] for s in first["stages"]} >= {"land_casework", "land_education", "land_socialcare",
                                                       "transform"}
    for _, _, read, loaded, quarantined, status in books(warehouse_url, first["run_id"]):
        assert read == loaded + quarantined and status == "loaded"
    assert_injected_csv_errors_quarantined(sources.folder, warehouse_url, first["run_id"])

    # A warehouse whose raw layer predates the partitioning by night moves to it in place when the
    # next night starts (ensure_schema), keeping every raw row as it was; that night lands and builds.
    landed = fingerprint(warehouse_url)
    rebuild_unpartitioned(warehouse_url)
    assert set(layout(warehouse_url).values()) == {"r"} and fingerprint(warehouse_url) == landed
    sources.advance()
    code, second = run(capsys, SECOND)
    assert code == 0, second
    # Casework is incremental: the second night reads only what changed.
    assert second["sources"]["casework"]["rows_read"] < first["sources"]["casework"]["rows_read"]
    assert set(layout(warehouse_url).values()) == {"p"}
    assert fingerprint(warehouse_url, before=SECOND) == landed

    with psycopg.connect(warehouse_url) as conn:
        staged = conn.execute("select count(*) from staging.stg_casework__persons").fetchone()[0]
        raw_before = conn.execute(
            "select _logical_date, count(*) from raw_casework.cw_person group by 1 order by 1").fetchall()
    code, again = run(capsys, SECOND)
    assert code == 0
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("select count(*) from staging.stg_casework__persons").fetchone()[0] == staged
        assert conn.execute(
            "select _logical_date, count(*) from raw_casework.cw_person group by 1 order by 1").fetchall() == raw_before
        # The persons in staging are exactly the distinct ids landed over both nights, less quarantined ones.
        distinct = conn.execute("select count(distinct person_id) from raw_casework.cw_person").fetchone()[0]
        assert staged == distinct


def test_a_broken_source_fails_the_night_but_the_others_land(sources, warehouse_url, monkeypatch, capsys):
    from tests.alert_receivers import webhook_server

    monkeypatch.setenv("WAREHOUSE_URL", warehouse_url)
    (sources.folder / "education" / FIRST.isoformat() / "_SUCCESS").unlink()
    with webhook_server() as engineers:
        # The listener plugin (plugins/) alerts the data engineers of the failed task.
        monkeypatch.setenv("SEND_ALERT_ENGINEER_WEBHOOK_URL", engineers.url)
        code, summary = run(capsys, FIRST)
    [alert] = [p["body"]["text"] for p in engineers.posts if "education.preflight" in p["body"]["text"]]
    assert "Source: education" in alert and "no complete night folder" in alert
    assert f"send-warehouse run --as-of {FIRST.isoformat()}" in alert
    assert code == 1
    assert set(summary["sources"]) == {"casework", "socialcare"}
    failed = {s["stage"]: s["error"] for s in summary["stages"] if s["status"] == "failed"}
    assert "no complete night folder" in failed["preflight_education"]
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("select count(*) from staging.stg_casework__persons").fetchone()[0] > 0
        assert conn.execute("select status, message from audit.run").fetchone()[0] == "failed"
        # Nothing of a partial night reaches BI: the marts were withheld, and the audit says why.
        status, reasons = conn.execute("select status, reasons from audit.publish").fetchone()
        assert status == "withheld" and "stage preflight_education failed" in reasons
        assert conn.execute("select count(*) from pg_tables where schemaname = 'marts'").fetchone()[0] == 0
        # Digests and report describe the published night: on a withheld one they skip, saying why.
        skipped = dict(conn.execute("select stage, detail->>'skipped' from audit.run_stage"
                                    " where stage in ('alerts', 'report') and status = 'success'").fetchall())
        assert set(skipped) == {"alerts", "report"}
        assert all("not published" in reason for reason in skipped.values()), skipped


def test_wrong_token_names_the_source_and_the_fix(sources, warehouse_url, monkeypatch, capsys):
    monkeypatch.setenv("WAREHOUSE_URL", warehouse_url)
    monkeypatch.setenv("SOCIALCARE_API_TOKEN", "not-the-token")
    code, summary = run(capsys, FIRST)
    assert code == 1
    errors = " ".join(s["error"] or "" for s in summary["stages"])
    assert "SOCIALCARE_API_TOKEN" in errors and "not-the-token" not in errors
    assert set(summary["sources"]) == {"casework", "education"}
    assert os.environ["SOCIALCARE_API_TOKEN"] == "not-the-token"
