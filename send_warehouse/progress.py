"""Progress of a night while `send-warehouse run` waits for it: each stage as it finishes.

The DAG runs in-process with its output filed away in a log, so progress cannot come from the
tasks' prints. Each stage records itself in `audit.run_stage` when it ends; a background thread
polls that table and prints what is new to the terminal (the real one, saved before Airflow's
output is redirected). On an interactive terminal a status line also shows the seconds elapsed.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime
from typing import TextIO

from send_warehouse.warehouse.connection import connect

POLL_S = 1.0


class StageProgress:
    def __init__(self, url: str, as_of: date, stream: TextIO) -> None:
        self.url, self.as_of, self.stream = url, as_of, stream
        self.started_at = datetime.now(UTC)
        self._t0 = time.monotonic()
        self._seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="stage-progress", daemon=True)
        self._tty = stream.isatty()

    def __enter__(self) -> StageProgress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._poll()  # the stages that ended between the last poll and the end of the run
        if self._tty:
            self.stream.write("\r\033[K")
        self.stream.flush()

    def _finished_stages(self) -> list[tuple[str, str, float]]:
        try:
            with connect(self.url, autocommit=True) as conn:
                return conn.execute(
                    """select s.stage, s.status, extract(epoch from s.finished_at - s.started_at)::float
                       from audit.run_stage s join audit.run r using (run_id)
                       where r.logical_date = %s and r.started_at >= %s order by s.finished_at""",
                    (self.as_of, self.started_at),
                ).fetchall()
        except Exception:  # noqa: BLE001 - the schema may not exist yet on a new warehouse: try again later
            return []

    def _poll(self) -> None:
        for name, status, seconds in self._finished_stages():
            if name in self._seen:
                continue
            self._seen.add(name)
            mark = "done" if status == "success" else status.upper()
            line = f"  {name:<24}{mark:<8}{seconds:>7.1f} s"
            self.stream.write(("\r\033[K" if self._tty else "") + line + "\n")
        self.stream.flush()

    def _loop(self) -> None:
        while not self._stop.wait(POLL_S):
            self._poll()
            if self._tty:
                self.stream.write(f"\r  … {time.monotonic() - self._t0:.0f} s elapsed, "
                                  f"{len(self._seen)} stages done")
                self.stream.flush()
