"""Kill-and-recover campaign: SIGKILL real nightly runs at random moments, rerun, compare.

    .venv/bin/python bench/kill_recovery.py --points 20 --seed 1 [--size tiny] [--json]

One simulated council, one night. A reference warehouse runs the night uninterrupted. A second
warehouse runs it once whole (so BI has a published night), then, for each of N kill times drawn
from the seed (uniformly over the reference run's duration), starts `send-warehouse run` as its
own process, kills it with SIGKILL after that many seconds, checks that BI still sees exactly
the last published marts (same schema object, same rows), reruns the night and checks that

* the run succeeds and the published marts equal the reference's, table by table (row count and
  md5 of the sorted rows; run-metadata columns `computed_at`/`run_id` left out),
* every raw table holds the reference's rows per night (nothing doubled, nothing lost),
* the run's books (read/loaded/quarantined per source) equal the reference's, and every
  `audit.load_log` row balances.

Prints one line per kill point and a summary table. Runs as the least-privileged owner role.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HOME = Path(os.environ.get("SEND_HOME", ROOT / ".send")) / "kill-recovery"
os.environ["SEND_HOME"] = str(HOME)

from send_warehouse.runner import airflow_env  # noqa: E402

for _key, _value in airflow_env(HOME).items():
    os.environ.setdefault(_key, _value)

import psycopg  # noqa: E402

from send_warehouse.simulator import simulate  # noqa: E402
from send_warehouse.simulator.socialcare_api import start_server  # noqa: E402
from send_warehouse.warehouse import embedded  # noqa: E402
from tests.resilience.nights import TOKEN, Runs, Warehouse  # noqa: E402

NIGHT = date(2026, 11, 24)


def _database(server: str, name: str) -> str:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    return server.rsplit("/", 1)[0] + f"/{name}"


def _phase(warehouse: Warehouse, runs_before: int) -> str:
    """Where the run was when killed: the last of its stages that had finished."""
    run = warehouse.query("select run_id from audit.run order by started_at desc limit 1")
    if warehouse.query("select count(*) from audit.run")[0][0] == runs_before:
        return "before start (Airflow starting)"
    running = [r[0] for r in warehouse.query(
        "select stage from audit.run_stage where run_id = %s and status = 'running' order by started_at",
        (run[0][0],))]
    if running:
        return f"in {running[-1]}"
    done = [r[0] for r in warehouse.query(
        "select stage from audit.run_stage where run_id = %s order by finished_at", (run[0][0],))]
    return f"after {done[-1]}" if done else "after start"


def _activity(warehouse: Warehouse) -> str:
    active = warehouse.query(
        """select count(*) filter (where query like '%%send_warehouse run_id=%%'),
                  count(*) filter (where query ilike 'copy %%' or query ilike '%%raw\\_%%')
           from pg_stat_activity where datname = %s and state <> 'idle' and pid <> pg_backend_pid()""",
        (warehouse.name,))[0]
    return "dbt" if active[0] else ("landing" if active[1] else "other")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--size", default="tiny")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    HOME.mkdir(parents=True, exist_ok=True)
    server = embedded.ensure_running(HOME / "pgdata").rsplit("/", 1)[0] + "/postgres"
    folder = Path(tempfile.mkdtemp(prefix="kill-recovery-sim-"))
    simulate(size=args.size, seed=args.seed, out=folder, nights=1, as_of=NIGHT)
    api = start_server(folder, token=TOKEN)
    runs = Runs({"CASEWORK_DB_URL": f"sqlite:///{folder / 'casework.sqlite'}",
                 "EDUCATION_DROP_DIR": str(folder / "education"), "SOCIALCARE_API_URL": api.url}, HOME)
    try:
        reference = Warehouse.owned(_database(server, "kill_recovery_reference"))
        started = time.monotonic()
        assert runs.run(reference, NIGHT) == 0, runs.outputs[-2:]
        duration = time.monotonic() - started
        expected = (reference.fingerprint(), reference.raw_counts(), reference.books(reference.last_success(NIGHT)))
        battered = Warehouse.owned(_database(server, "kill_recovery_battered"))
        assert runs.run(battered, NIGHT) == 0, runs.outputs[-2:]

        rng = random.Random(args.seed)
        points = sorted(round(rng.uniform(0.5, duration), 2) for _ in range(args.points))
        results = []
        for i, at in enumerate(points, 1):
            before = (battered.fingerprint(), battered.schema_oid("marts"))
            published = battered.query("select count(*) from audit.publish where status = 'published'")[0][0]
            runs_before = battered.query("select count(*) from audit.run")[0][0]
            process = runs.start(battered, "run", "--as-of", NIGHT.isoformat(), "--json", "--quiet")
            deadline = time.monotonic() + at
            while process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            killed = process.poll() is None
            phase = f"{_phase(battered, runs_before)} ({_activity(battered)})" if killed else "finished before the kill"
            if killed:
                os.killpg(process.pid, signal.SIGKILL)
            runs.finish(process)
            now_published = battered.query("select count(*) from audit.publish where status = 'published'")[0][0]
            # BI sees either exactly what it saw, or (if the kill came after the commit) the new publication.
            bi_intact = (battered.fingerprint(), battered.schema_oid("marts")) == before or (
                now_published == published + 1 and battered.fingerprint() == expected[0])
            code = runs.run(battered, NIGHT)
            got = (battered.fingerprint(), battered.raw_counts(), battered.books(battered.last_success(NIGHT)))
            unbalanced = battered.query(
                "select count(*) from audit.load_log where rows_read <> rows_loaded + rows_quarantined")[0][0]
            recovered = code == 0 and got == expected and unbalanced == 0 and bi_intact
            rows_lost = sum(c for *_, c in expected[1]) - sum(c for *_, c in got[1])
            results.append({"point": i, "kill_after_s": at, "killed": killed, "phase": phase,
                            "bi_saw_last_published": bi_intact, "rerun_exit": code,
                            "marts_equal": got[0] == expected[0],
                            "raw_equal": got[1] == expected[1], "books_equal": got[2] == expected[2],
                            "raw_rows_lost": rows_lost, "recovered": recovered})
            print(f"{i:>2} kill at {at:6.2f}s  {phase:<45} recovered={recovered} bi_intact={bi_intact}"
                  f" rows_lost={rows_lost}", file=sys.stderr, flush=True)
    finally:
        api.stop()

    summary = {"seed": args.seed, "size": args.size, "reference_run_s": round(duration, 1),
               "points": len(results), "killed": sum(r["killed"] for r in results),
               "recovered": sum(r["recovered"] for r in results),
               "bi_saw_last_published": sum(r["bi_saw_last_published"] for r in results),
               "raw_rows_lost": sum(r["raw_rows_lost"] for r in results), "results": results}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print("| # | kill after s | where | BI intact | recovered |\n|---|---|---|---|---|")
        for r in results:
            print(f"| {r['point']} | {r['kill_after_s']} | {r['phase']} | {r['bi_saw_last_published']} |"
                  f" {r['recovered']} |")
        print(f"\n{summary['recovered']}/{summary['points']} recovered ({summary['killed']} killed mid-run), "
              f"BI intact {summary['bi_saw_last_published']}/{summary['points']}, "
              f"raw rows lost {summary['raw_rows_lost']}; reference night {summary['reference_run_s']} s")
    return 0 if summary["recovered"] == summary["points"] else 1


if __name__ == "__main__":
    sys.exit(main())
