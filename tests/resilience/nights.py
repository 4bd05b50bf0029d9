"""Real `send-warehouse` processes for the resilience and security tests (and bench/kill_recovery.py).

A night runs as its own operating-system process, exactly as an operator or cron would start it,
so that a test can `kill -9` it at a chosen moment and start another one at the same time. The
pipeline logs in as the least-privileged owner role with a password, and the social care API
wants a known token: both secrets are then searched for in everything the runs wrote.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg

from send_warehouse.landing.tables import SOURCE_SYSTEMS
from send_warehouse.publish import fingerprint
from send_warehouse.warehouse.roles import PIPELINE_OWNER, create_pipeline_owner

CLI = [sys.executable, "-m", "send_warehouse.cli"]
TOKEN = "resilience-token-7f3c9a1e5b"  # noqa: S105 - a synthetic secret the tests search the logs for
PASSWORD = "resilience-pw-2d8e6b4f0c"  # noqa: S105 - likewise


@dataclass
class Warehouse:
    """A database the pipeline owns as PIPELINE_OWNER; `admin` is the superuser URL for checks."""

    admin: str
    url: str  # the pipeline's own URL, with its password
    name: str

    @classmethod
    def owned(cls, admin_url: str) -> Warehouse:
        name = unquote(urlsplit(admin_url).path.lstrip("/"))
        with psycopg.connect(admin_url) as conn:
            create_pipeline_owner(conn, name, PASSWORD)
        parts = urlsplit(admin_url)
        url = parts._replace(netloc=f"{PIPELINE_OWNER}:{PASSWORD}@{parts.hostname}:{parts.port}").geturl()
        return cls(admin_url, url, name)

    def query(self, statement: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.admin) as conn:
            return conn.execute(statement, params or None).fetchall()

    def fingerprint(self) -> dict[str, tuple[int, str]]:
        with psycopg.connect(self.admin) as conn:
            return fingerprint(conn)

    def schema_oid(self, schema: str) -> int | None:
        found = self.query("select oid::bigint from pg_namespace where nspname = %s", (schema,))
        return found[0][0] if found else None

    def raw_counts(self) -> list[tuple]:
        """Rows per raw table and night: a rerun that doubled anything changes these."""
        counts = []
        for schema, table in self.query(
                "select table_schema, table_name from information_schema.tables"
                " where table_schema like 'raw\\_%' and table_type = 'BASE TABLE' order by 1, 2"):
            counts += [(schema, table, *r) for r in self.query(
                f'select _logical_date::text, count(*) from "{schema}"."{table}" group by 1 order by 1')]
        return counts

    def books(self, run_id: str) -> list[tuple]:
        return self.query("""select source_system, sum(rows_read), sum(rows_loaded), sum(rows_quarantined)
                             from audit.load_log where run_id = %s and status = 'loaded' group by 1 order by 1""",
                          (run_id,))

    def last_success(self, night: date) -> str:
        return self.query("select run_id from audit.run where logical_date = %s and status = 'success'"
                          " order by started_at desc limit 1", (night,))[0][0]


@dataclass
class Runs:
    """Starts `send-warehouse` processes against simulated sources; keeps what they printed."""

    sources: dict[str, str]  # CASEWORK_DB_URL, EDUCATION_DROP_DIR, SOCIALCARE_API_URL
    home: Path  # SEND_HOME of these runs: their logs and dbt files
    outputs: list[str] = field(default_factory=list)

    def env(self, warehouse: Warehouse) -> dict[str, str]:
        return {**os.environ, **self.sources, "SOCIALCARE_API_TOKEN": TOKEN, "WAREHOUSE_URL": warehouse.url,
                "SEND_HOME": str(self.home), "SEND_TASK_RETRIES": "0"}

    def start(self, warehouse: Warehouse, *args: str) -> subprocess.Popen:
        # A session of its own, so that kill -9 reaches the run and anything it started.
        return subprocess.Popen([*CLI, *args], env=self.env(warehouse), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)

    def finish(self, process: subprocess.Popen, timeout: float = 600) -> int:
        out, err = process.communicate(timeout=timeout)
        self.outputs += [out, err]
        return process.returncode

    def run(self, warehouse: Warehouse, night: date) -> int:
        return self.finish(self.start(warehouse, "run", "--as-of", night.isoformat(), "--json", "--quiet"))

    def kill_when(self, warehouse: Warehouse, night: date, moment: Callable[[], bool],
                  timeout: float = 300) -> bool:
        """Start a night and kill -9 it when `moment()` turns true; False if the run ended first."""
        process = self.start(warehouse, "run", "--as-of", night.isoformat(), "--json", "--quiet")
        deadline = time.monotonic() + timeout
        try:
            while process.poll() is None and time.monotonic() < deadline:
                if moment():
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    return True
                time.sleep(0.05)
            return False
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            self.finish(process)


def _lock_key(name: str) -> str:
    # An advisory lock on hashtext(name) shows in pg_locks as objid = its low 32 bits.
    return f"(hashtext('{name}')::bigint & 4294967295)"


def landing(warehouse: Warehouse) -> Callable[[], bool]:
    """True while some source's landing transaction is open (it holds that source's lock)."""
    keys = ", ".join(_lock_key(f"send_warehouse.land.{s}") for s in SOURCE_SYSTEMS)
    statement = ("select count(*) from pg_locks l join pg_database d on d.oid = l.database"
                 f" where l.locktype = 'advisory' and l.granted and d.datname = %s and l.objid::bigint in ({keys})")
    return lambda: warehouse.query(statement, (warehouse.name,))[0][0] > 0


def building(warehouse: Warehouse) -> Callable[[], bool]:
    """True while dbt runs or waits on the night's SQL (its query comment names the run)."""
    # Not our own session: this very query's text matches the pattern.
    statement = ("select count(*) from pg_stat_activity where datname = %s and state = 'active'"
                 " and pid <> pg_backend_pid() and query like '%%send_warehouse run_id=%%'")
    return lambda: warehouse.query(statement, (warehouse.name,))[0][0] > 0


def waiting_on(warehouse: Warehouse, relation: str) -> Callable[[], bool]:
    """True when some session waits for a lock on `relation` (held by the test)."""
    statement = "select count(*) from pg_locks where not granted and relation = %s::regclass"
    return lambda: warehouse.query(statement, (relation,))[0][0] > 0


__all__ = ["PASSWORD", "TOKEN", "Runs", "Warehouse", "building", "landing", "waiting_on"]
