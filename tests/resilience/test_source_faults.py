"""Source faults the other suites do not reach, done for real through the landing stage:

* the casework database goes away in the middle of an extract (its server ends our session
  while we wait to read the last table, after the first tables were copied);
* the education export is replaced while it is being read.

Either way the source fails loudly, naming itself, and lands nothing: the night's earlier
tables of that source are rolled back with it. (The social care API's 401/429/5xx/slow/
truncated/repeated pages are in tests/sources; a missing _SUCCESS in tests/landing and tests/e2e.)
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import psycopg
import pytest

from send_warehouse import pipeline
from send_warehouse.config import Settings
from send_warehouse.landing.tables import tables_of
from send_warehouse.sources import SourceError
from tests.landing import conftest as landing
from tests.landing.conftest import write_night
from tests.landing.test_casework_landing import make_source

warehouse = landing.warehouse  # a connection to a fresh warehouse with the pipeline's schemas
NIGHT = date(2026, 11, 24)


def _when(check, action, timeout: float = 60) -> threading.Thread:
    """In the background: poll `check()` and run `action()` once it is true."""
    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                action()
                return
            time.sleep(0.005)
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _nothing_landed(conn, source: str) -> None:
    for table in tables_of(source):
        assert conn.execute(f"select count(*) from {table.qualified_name}").fetchone() == (0,), table.name
    [(obj, status, message)] = conn.execute("select object, status, message from audit.load_log").fetchall()
    assert (obj, status) == ("*", "failed") and source in message


def test_casework_database_lost_mid_extract(warehouse, warehouse_url: str, casework_pg_url: str) -> None:
    make_source(casework_pg_url).dispose()
    source = "postgresql://" + casework_pg_url.partition("://")[2]
    settings = replace(Settings.from_env(), warehouse_url=warehouse_url, casework_db_url=casework_pg_url,
                       incremental_lookback_minutes=0)
    with psycopg.connect(source) as admin, psycopg.connect(source, autocommit=True) as watcher:
        # The last table is locked: the extract copies the first ones, then waits to read it.
        admin.execute("lock table cw_document in access exclusive mode")
        waiting = "select pid from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'"
        killed = []

        def terminate() -> None:
            for (pid,) in watcher.execute(waiting).fetchall():
                watcher.execute("select pg_terminate_backend(%s)", (pid,))
                killed.append(pid)

        thread = _when(lambda: bool(watcher.execute(waiting).fetchall()), terminate)
        with pytest.raises(SourceError, match=r"\[casework\] lost the casework database .* mid-extract") as error:
            pipeline.land_source("casework", "fault-run", NIGHT, settings)
        thread.join()
    assert killed
    assert "rerun the night" in str(error.value)
    _nothing_landed(warehouse, "casework")


def test_education_file_replaced_while_it_is_being_read(warehouse, warehouse_url: str, tmp_path: Path) -> None:
    pupils = [f"P{n:07d},,,Ann,Smith,01/02/2015,F,nr1 1aa,E" for n in range(300_000)]
    night = write_night(tmp_path, NIGHT, pupils, ["1,P0000001,100001,,01/09/2020,,,,N"])
    newer = night / "pupils.csv.new"
    newer.write_bytes((night / "pupils.csv").read_bytes().replace(b"Smith", b"Jones"))
    settings = replace(Settings.from_env(), warehouse_url=warehouse_url, education_drop_dir=tmp_path)
    copying = ("select count(*) from pg_stat_activity where datname = current_database()"
               " and query ilike 'copy%raw_education%pupils%'")
    with psycopg.connect(warehouse_url, autocommit=True) as watcher:
        # As the vendor's job would publish a new export: write aside, then rename over the old one.
        thread = _when(lambda: watcher.execute(copying).fetchone()[0] > 0,
                       lambda: os.replace(newer, night / "pupils.csv"))
        with pytest.raises(SourceError, match=r"\[education\] .*pupils.csv changed while it was being read"):
            pipeline.land_source("education", "fault-run", NIGHT, settings)
        thread.join()
    assert not newer.exists()  # it really was replaced mid-read
    _nothing_landed(warehouse, "education")
