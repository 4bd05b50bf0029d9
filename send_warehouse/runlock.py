"""One night at a time per warehouse: a run-level advisory lock held for a whole run.

`send-warehouse run` and `backfill` hold a session-level PostgreSQL advisory lock on their own
connection for the whole night. A second run against the same warehouse refuses at once, naming
the run that holds it, instead of interleaving its stages with the first. The lock belongs to
the session, so it goes when the process goes, even after `kill -9`: a crashed run never leaves
a stale lock behind (the server sees the socket close).

Inside a night the stages keep their own locks (landing per source, dbt build and publish), which
also serialise the scheduled Airflow DAG's tasks (max_active_runs=1) against a manual run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from send_warehouse.warehouse.connection import connect

RUN_LOCK = "send_warehouse.run"


class RunInProgress(RuntimeError):
    """Another run holds the warehouse."""


@contextmanager
def night_lock(url: str, logical_date: date) -> Iterator[None]:
    """Hold the warehouse's run lock for the block, or raise RunInProgress naming the holder."""
    with connect(url, autocommit=True) as conn:
        conn.execute("select set_config('application_name', %s, false)",
                     (f"send-warehouse run {logical_date.isoformat()} pid {os.getpid()}",))
        if not conn.execute("select pg_try_advisory_lock(hashtext(%s))", (RUN_LOCK,)).fetchone()[0]:
            holder = conn.execute(
                """select a.application_name, a.backend_start from pg_locks l
                   join pg_stat_activity a on a.pid = l.pid
                   where l.locktype = 'advisory' and l.granted
                     and l.objid::bigint = (hashtext(%s)::bigint & 4294967295)
                     and a.datname = current_database() limit 1""",
                (RUN_LOCK,)).fetchone()
            who = f"{holder[0]} (since {holder[1]:%Y-%m-%d %H:%M:%S %Z})" if holder else "another run"
            raise RunInProgress(
                f"{who} is running against this warehouse; night {logical_date} was not started. "
                "Wait for it to finish (or end that process) and run the night again.")
        try:
            yield
        finally:
            conn.execute("select pg_advisory_unlock(hashtext(%s))", (RUN_LOCK,))
